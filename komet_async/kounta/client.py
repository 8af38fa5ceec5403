"""KountaClient: the Kounta customers API on the same core as the Komet client.

Same session manager, retry policy, rate limiter, converters and error tree;
what is Kounta's lives here: company-scoped URLs, Basic or OAuth2
authentication (refresh on 401, replay once), redirects followed by hand
(credentials only to the API's own origin), and JSON bodies in snake_case.
"""

from __future__ import annotations

import enum
import urllib.parse
from collections.abc import Mapping
from typing import Any, Final, TypeVar

import aiohttp

from .._clock import Clock
from .._converters import Decoder
from .._gc import gc_paused
from .._ratelimit import RateBudget, RateLimit
from .._redact import Redactor
from .._retry import RetryPolicy
from .._sansio import Response, body_excerpt, check_base_url, decode_json, encode_json_body
from .._session import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RESPONSE_BYTES,
    ClientBase,
    RequestSpec,
    SessionManager,
)
from ..errors import (
    AuthenticationError,
    HTTPStatusError,
    RateLimitedError,
    ResponseFormatError,
    TransportError,
    ValidationError,
)
from ..pagination import origin
from .auth import TOKEN_ROUTE, BasicAuth, OAuth2, authorization_header
from .endpoints import Customers, Webhooks

__all__ = ["DEFAULT", "DEFAULT_KOUNTA_BASE_URL", "KountaClient", "default_rate_limit"]

T = TypeVar("T")

#: Where the real Kounta API lives.
DEFAULT_KOUNTA_BASE_URL: Final = "https://api.kounta.com/v1"
#: Redirect hops followed before giving up (a loop, or a misbehaving proxy).
MAX_REDIRECTS: Final = 3


class _Default(enum.Enum):
    DEFAULT = "default"


#: ``rate_limit=DEFAULT`` (the default) applies Kounta's documented limit for the auth kind.
DEFAULT: Final = _Default.DEFAULT

_JSON: Final = {"Accept": "application/json", "Content-Type": "application/json"}
_ACCEPT: Final = {"Accept": "application/json"}


def default_rate_limit(auth: BasicAuth | OAuth2) -> RateLimit:
    """Kounta's documented limits: 60 requests/min with Basic, 180/min with OAuth2."""
    if isinstance(auth, OAuth2):
        return RateLimit.per_minute(180, burst=10)
    return RateLimit.per_minute(60, burst=5)


class KountaClient(ClientBase):
    """An asyncio client for the Kounta (Lightspeed O-Series) customers API.

    Takes the same options, with the same meaning, as
    :class:`~komet_async.KometClient`; ``auth`` is :class:`BasicAuth` or
    :class:`OAuth2`. Without ``rate_limit`` the client applies Kounta's
    documented limit for the auth kind; ``rate_limit=None`` turns client-side
    limiting off.
    """

    def __init__(
        self,
        company_id: int,
        *,
        auth: BasicAuth | OAuth2,
        base_url: str = DEFAULT_KOUNTA_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | RateBudget | _Default | None = DEFAULT,
        timeout: float | aiohttp.ClientTimeout | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(company_id, bool) or not isinstance(company_id, int) or company_id < 1:
            raise ValidationError(
                [f"company_id: a positive integer is required, got {company_id!r}"]
            )
        if not isinstance(auth, (BasicAuth, OAuth2)):
            raise ValidationError(
                [f"auth: expected BasicAuth or OAuth2, got {type(auth).__name__}"]
            )
        self.company_id = company_id
        self.auth = auth
        redactor = Redactor.of(*auth.secrets())
        self.base_url = check_base_url(base_url, redactor=redactor)
        self.company_url = f"{self.base_url}/companies/{company_id}"
        self._core = SessionManager(
            session=session,
            retry=retry,
            rate_limit=default_rate_limit(auth) if rate_limit is DEFAULT else rate_limit,
            timeout=timeout,
            max_concurrency=max_concurrency,
            redactor=redactor,
            clock=clock,
            max_response_bytes=max_response_bytes,
        )
        self._decoder = Decoder(naming="snake", redactor=redactor)
        #: ``/companies/{id}/customers``: list, get, find, create, update.
        self.customers = Customers(self)
        #: ``/companies/{id}/webhooks``: subscriptions.
        self.webhooks = Webhooks(self)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<KountaClient {self.company_url} auth={type(self.auth).__name__} {state}>"

    # --- transport, used by the endpoints ------------------------------------------

    def url(self, path: str) -> str:
        """An absolute URL under the company (``path`` like ``/customers``)."""
        return f"{self.company_url}{path}"

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` is on the API's own scheme, host and port."""
        return origin(url) == origin(self.base_url)

    async def send(
        self,
        http_method: str,
        url: str,
        *,
        name: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool = True,
        authenticate: bool = True,
        attempts: int | None = None,
        count_failure: bool = True,
    ) -> Response:
        """Send one call: authenticated, rate limited, retried; refresh and replay once on 401.

        ``attempts`` caps the retry policy's attempts for this call, and
        ``count_failure=False`` leaves ``stats.failures`` to the caller: both
        for a caller with its own retry loop.
        """
        body = None if json is None else encode_json_body(json)
        base_headers = _ACCEPT if body is None else _JSON

        def spec(auth_header: str | None) -> RequestSpec:
            headers = (
                {**base_headers, "Authorization": auth_header} if auth_header else base_headers
            )
            return RequestSpec(
                http_method,
                url,
                name,
                params=params,
                body=body,
                headers=headers,
                idempotent=idempotent,
                attempts=attempts,
            )

        auth_header = authorization_header(self.auth) if authenticate else None
        auth = self.auth
        if auth_header is None or not isinstance(auth, OAuth2):
            return await self._core.request(spec(auth_header), count_failure=count_failure)
        # A 401 answered by a refresh and a replay is not a failed call:
        # count a failure only when this one cannot recover.
        try:
            return await self._core.request(spec(auth_header), count_failure=False)
        except AuthenticationError as exc:
            if exc.status != 401:
                self._count_failure(count_failure)
                raise
        except Exception:
            self._count_failure(count_failure)
            raise
        try:
            await self._refresh(auth, auth_header)
        except Exception:
            self._count_failure(count_failure)
            raise
        # Replayed once with the fresh token; a second 401 is final.
        return await self._core.request(
            spec(authorization_header(self.auth)), count_failure=count_failure
        )

    def _count_failure(self, count: bool = True) -> None:
        if count:
            self._core.count_failure()

    def count_failure(self) -> None:
        """Count a call that ended in an error (for loops sending with ``count_failure=False``)."""
        self._core.count_failure()

    def resolve(self, base: str, location: str) -> str | None:
        """``location`` made absolute against ``base``; ``None`` when it is not a usable URL."""
        try:
            target = urllib.parse.urljoin(base, location)
            origin(target)  # urlsplit refuses some URLs ("http://[::1")
        except ValueError:
            return None
        return target

    async def follow(self, response: Response, *, name: str) -> Response:
        """Follow redirects by hand: credentials go only to the API's own origin."""
        hops = 0
        while 300 <= response.status < 400:
            hops += 1
            location = response.headers.get("Location")
            target = self.resolve(response.url, location) if location else None
            if target is None or hops > MAX_REDIRECTS:
                problem = (
                    f"more than {MAX_REDIRECTS} redirects"
                    if hops > MAX_REDIRECTS
                    else "without a usable Location"
                )
                raise HTTPStatusError(
                    f"{name}: HTTP {response.status} {problem}",
                    status=response.status,
                    method=name,
                    url=self._core.redactor.url(response.url),
                )
            response = await self.send(
                "GET", target, name=name, authenticate=self.same_origin(target)
            )
        return response

    def read(self, response: Response, tp: Any, *, name: str, path: str = "") -> Any:
        """Decode a JSON body and structure it as ``tp`` (errors name the field path)."""
        # The decoded tree is freed before the collector runs again (see _gc.py).
        with gc_paused(len(response.body)):
            return self.structure(self.read_json(response, name=name), tp, name=name, path=path)

    def structure(self, data: Any, tp: Any, *, name: str, path: str = "") -> Any:
        """Structure decoded JSON as ``tp``; a failure is a ResponseFormatError naming the path."""
        return self._decoder.structure(data, tp, path=path, method=name)

    def read_json(self, response: Response, *, name: str) -> Any:
        """Decode a JSON body; a body that is not JSON is a ResponseFormatError.

        A redirect not followed (only lookups follow them) is an HTTPStatusError:
        its body, even JSON, is not the answer asked for.
        """
        if 300 <= response.status < 400:
            raise HTTPStatusError(
                f"{name}: unexpected HTTP {response.status}",
                status=response.status,
                method=name,
                url=self._core.redactor.url(response.url),
                headers=self._core.redactor.headers(response.headers.items()),
                body_excerpt=body_excerpt(response.body, self._core.redactor),
            )
        data = _decoded(response.body)
        if data is _NOT_JSON:
            # Raised outside the except: not even ``__context__`` holds the
            # decoder's error, whose ``doc`` is the whole unredacted body.
            excerpt = body_excerpt(response.body, self._core.redactor)
            raise ResponseFormatError(
                f"{name}: the response is not JSON: {excerpt!r}",
                method=name,
                url=self._core.redactor.url(response.url),
                body_excerpt=excerpt,
            )
        return data

    async def retry_wait(self, error: BaseException, attempt: int) -> None:
        """Wait before resending a call its own loop retries, as the retry policy would.

        A 429's ``Retry-After`` already paused the whole client (the rate
        limiter sits it out before the next send); otherwise the backoff.
        """
        self._core.stats.retries += 1
        if isinstance(error, RateLimitedError):
            return
        delay = self._core.retry_policy.backoff(attempt)
        if delay > 0:
            await self._core.clock.sleep(delay)

    async def settle(self, error: BaseException, attempt: int) -> None:
        """Wait before checking whether a failed write was stored after all.

        After a timeout the server may still be working on the request: wait
        as long as the request was given. Otherwise the retry backoff.
        """
        policy = self._core.retry_policy
        delay = policy.backoff(attempt)
        if isinstance(error, TransportError) and error.timed_out:
            timeout = self._core.timeout
            delay = max(delay, timeout.total or timeout.sock_read or 0.0)
        if delay > 0:
            await self._core.clock.sleep(delay)

    async def _refresh(self, auth: OAuth2, stale_header: str) -> None:
        """Refresh ``auth`` after ``stale_header`` got a 401; AuthenticationError if it fails."""

        async def post_form(form: bytes) -> Any:
            spec = RequestSpec(
                "POST",
                f"{self.base_url}/token",
                TOKEN_ROUTE,
                body=form,
                headers={**_ACCEPT, "Content-Type": "application/x-www-form-urlencoded"},
                # A rotating refresh token is spent once the server has seen it:
                # resent only when the server provably did not act on it (a
                # connection never made, a 429 or a 503). After a 500, a
                # timeout or a reset it may have rotated the token, and resending
                # the spent one would only be refused (or, on a server that
                # detects reuse, revoke the whole grant).
                idempotent=False,
                unsent_statuses=_GRANT_NOT_ACTED_ON,
            )
            # A failed refresh fails the call that needed it: counted there, once.
            return self._read_grant(await self._core.request(spec, count_failure=False))

        await auth.refresh(stale_header, post_form)

    def _read_grant(self, response: Response) -> Any:
        """Decode a token answer, hiding the tokens it carries before anything else reads it.

        No body excerpt in the errors: a token answer that is not the JSON we
        expect (a form-encoded one, say) may still hold the new tokens.
        """
        redactor = self._core.redactor
        url = redactor.url(response.url)
        if not 200 <= response.status < 300:
            raise HTTPStatusError(
                f"{TOKEN_ROUTE}: unexpected HTTP {response.status}",
                status=response.status,
                method=TOKEN_ROUTE,
                url=url,
            )
        answer = _decoded(response.body)
        if answer is _NOT_JSON:
            kind = redactor.text(response.headers.get("Content-Type", "no Content-Type"))
            raise ResponseFormatError(
                f"{TOKEN_ROUTE}: the answer is not JSON ({len(response.body):,} bytes, {kind})",
                method=TOKEN_ROUTE,
                url=url,
            )
        if isinstance(answer, dict):
            # Here, inside the shielded refresh: a caller cancelled meanwhile
            # must not leave rotated tokens unknown to the redactor.
            tokens = (answer.get("access_token"), answer.get("refresh_token"))
            self._hide(*(token for token in tokens if isinstance(token, str)))
        return answer

    def _hide(self, *secrets: str) -> None:
        """Keep ``secrets`` (rotated tokens) out of errors and logs too; old ones stay hidden."""
        redactor = self._core.redactor.with_secrets(*secrets)
        self._core.redactor = redactor
        self._decoder.redactor = redactor


#: What :func:`_decoded` returns for a body that is not JSON.
_NOT_JSON: Final = object()


def _decoded(body: bytes) -> Any:
    """The decoded JSON body, or :data:`_NOT_JSON`.

    The caller raises its error outside any ``except``, so the decoder's error
    (its ``doc`` is the raw body, secrets and all) is not kept as ``__context__``.
    """
    try:
        return decode_json(body)
    except ValueError:
        return _NOT_JSON


#: A token endpoint's 503 says the grant was not acted on, so the refresh token
#: was not spent (RFC 9110 section 15.6.4: the server "is currently unable to
#: handle the request"); 429 says so for every request already.
_GRANT_NOT_ACTED_ON: Final = frozenset({503})
