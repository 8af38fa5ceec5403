"""KometClient: the Komet Sales API on top of the session manager.

The client adds what is Komet's: the base URL and method names, the token in
the query string (GET) or JSON body (POST), the ``{"status": ...}`` envelope,
and the camelCase converter. Resources live in :mod:`komet_async.endpoints`.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any, Final, TypeVar

import aiohttp

from ._clock import Clock
from ._converters import Decoder
from ._gc import GC_PAUSE_MIN_BYTES, gc_paused
from ._ratelimit import RateBudget, RateLimit
from ._redact import Redactor
from ._requests import encode, problems
from ._retry import RetryPolicy
from ._sansio import (
    RecordPick,
    Response,
    body_excerpt,
    build_query,
    check_base_url,
    decipher_envelope,
    decode_json,
    decode_picked,
    encode_json_body,
    envelope_ok,
)
from ._session import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RESPONSE_BYTES,
    ClientBase,
    RequestSpec,
    SessionManager,
)
from .endpoints.customers import Customers
from .endpoints.products import Products
from .endpoints.standing_orders import StandingOrders
from .errors import APIError, HTTPStatusError, ResponseFormatError, ValidationError

__all__ = ["DEFAULT_BASE_URL", "MAX_REQUEST_BYTES", "KometClient"]

T = TypeVar("T")

#: Where the real Komet Sales API lives.
DEFAULT_BASE_URL: Final = "https://api.kometsales.com/api"
#: Komet refuses requests larger than 64 KB.
MAX_REQUEST_BYTES: Final = 64 * 1024
#: The query/body parameter that carries the token.
TOKEN_PARAMETER: Final = "authenticationToken"  # noqa: S105 - a parameter name, not a secret

_METHOD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")
_JSON_HEADERS: Final = {"Content-Type": "application/json"}


def _url_size(base_url: str, method: str, query: Mapping[str, str]) -> int:
    """The length of the GET URL, or a bound on it that is known to be under the limit.

    Percent-encoding turns a character into at most 12 (4 UTF-8 bytes, ``%XX``
    each): when even that bound fits, the exact length is not needed. Encoding
    the query only to measure it was a fifth of the client's own CPU per call.
    """
    raw = len(base_url) + len(method) + 2
    # A plain loop: the queries are short, and a generator or map() over them
    # cost more than the arithmetic.
    for key, value in query.items():
        raw += len(key) + len(value) + 2
    if raw * 12 <= MAX_REQUEST_BYTES:
        return raw
    return len(urllib.parse.urlencode(query)) + len(base_url) + len(method) + 2


def _refuse_token_override(values: Mapping[str, Any], where: str, method: str) -> None:
    """The client owns the token parameter; a caller's value would silently replace it."""
    if TOKEN_PARAMETER in values:
        raise ValidationError(
            [f"{where}: {TOKEN_PARAMETER} is added by the client; do not pass it"], method=method
        )


class KometClient(ClientBase):
    """An asyncio client for the Komet Sales API.

    Use it as an async context manager (or call :meth:`aclose`)::

        async with KometClient(token) as komet:
            customers = await komet.customers.list(name="flores")

    - ``session``: an ``aiohttp.ClientSession`` you own and close yourself;
      by default the client makes one and closes it.
    - ``retry``: a :class:`RetryPolicy` (default: 4 attempts, backoff from
      0.5 s to 8 s with full jitter); ``RetryPolicy.disabled()`` turns it off.
    - ``rate_limit``: a :class:`RateLimit`, or a :class:`RateBudget` shared with
      other clients or processes (default: none; Komet allows 1,000 requests
      per user per day, ``RateLimit(per_day=1000)`` enforces it).
    - ``timeout``: seconds or an ``aiohttp.ClientTimeout`` per attempt (default 30 s).
    - ``max_concurrency``: requests in flight at once (default 8).
    - ``max_response_bytes``: the largest response body (decompressed) the
      client reads (default 64 MiB); a larger one raises
      :class:`~komet_async.errors.ResponseTooLargeError` without being held.
    - ``clock``: where time comes from; tests pass
      :class:`komet_async.testing.FakeClock`.

    TLS certificates are always verified on the session the client makes;
    to turn verification off (a test proxy), pass your own ``session`` built
    with ``aiohttp.TCPConnector(ssl=False)``: there is no flag for it.

    One client may be shared by any number of tasks of one event loop.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | RateBudget | None = None,
        timeout: float | aiohttp.ClientTimeout | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ValidationError(["token: a non-empty string is required"])
        self._token = token
        redactor = Redactor.of(token)
        self.base_url = check_base_url(base_url, redactor=redactor)
        self._core = SessionManager(
            session=session,
            retry=retry,
            rate_limit=rate_limit,
            timeout=timeout,
            max_concurrency=max_concurrency,
            redactor=redactor,
            clock=clock,
            max_response_bytes=max_response_bytes,
        )
        self._decoder = Decoder(naming="camel", redactor=redactor)
        self._list_types: dict[type[Any], Any] = {}
        self._unfiltered: dict[str, RequestSpec] = {}
        #: ``customer.list`` and ``customer.update``.
        self.customers = Customers(self)
        #: ``product.list``.
        self.products = Products(self)
        #: ``standing.order.list``.
        self.standing_orders = StandingOrders(self)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<KometClient {self.base_url} token=*** {state}>"

    # --- any method ---------------------------------------------------------

    async def call(
        self,
        method: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Call any Komet method and return its envelope after the status check.

        GET with ``params`` in the query string when ``json`` is ``None``;
        otherwise POST with ``json`` as the body. The token is added for you.
        Status 0 raises :class:`APIError` (check ``.is_not_found`` for empty
        results). POSTs are not retried once they may have reached the server
        unless ``idempotent=True``.
        """
        if not isinstance(method, str) or not _METHOD_NAME.fullmatch(method):
            raise ValidationError([f"method: not a Komet method name: {method!r}"])
        if json is None:
            return await self._get(method, params or {})
        return await self._post(
            method,
            json,
            params=params,
            idempotent=bool(idempotent),
        )

    # --- used by the endpoint modules --------------------------------------

    async def _get(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return await self._envelope(self._get_spec(method, params))

    def _get_spec(self, method: str, params: Mapping[str, Any]) -> RequestSpec:
        if params:
            _refuse_token_override(params, "params", method)
            query = {TOKEN_PARAMETER: self._token, **build_query(params)}
        else:
            query = {TOKEN_PARAMETER: self._token}
        size = _url_size(self.base_url, method, query)
        if size > MAX_REQUEST_BYTES:
            raise ValidationError(
                [f"params: the URL is {size:,} bytes; Komet accepts at most {MAX_REQUEST_BYTES:,}"],
                method=method,
            )
        return RequestSpec("GET", f"{self.base_url}/{method}", method, params=query)

    async def _post(
        self,
        method: str,
        fields: Mapping[str, Any],
        *,
        params: Mapping[str, Any] | None = None,
        idempotent: bool,
    ) -> dict[str, Any]:
        _refuse_token_override(fields, "json", method)
        if params:
            _refuse_token_override(params, "params", method)
        try:
            body = encode_json_body({TOKEN_PARAMETER: self._token, **fields})
        except (TypeError, ValueError) as exc:
            raise ValidationError([f"json: {exc}"], method=method) from None
        if len(body) > MAX_REQUEST_BYTES:
            raise ValidationError(
                [f"body: {len(body):,} bytes; Komet accepts at most {MAX_REQUEST_BYTES:,}"],
                method=method,
            )
        spec = RequestSpec(
            "POST",
            f"{self.base_url}/{method}",
            method,
            params=build_query(params) if params else None,
            body=body,
            headers=_JSON_HEADERS,
            idempotent=idempotent,
        )
        return await self._envelope(spec)

    def _list_response(
        self, method: str, query: Any, extra_problems: Iterable[str] = ()
    ) -> Awaitable[Response]:
        """The I/O half of a list call: validate and encode ``query``, then send it.

        ``query`` is the method's query model, or ``None`` for a call without
        filters. Not a coroutine itself: a problem with ``query`` raises here,
        and the send is the session's own coroutine (one frame less a call).
        The endpoints await it, then hand the response to :meth:`_list_records`
        themselves: a ``_list`` coroutine around both was one frame more a call.
        """
        if query is None:
            return self._core.request(self._unfiltered_spec(method))
        self._validate(query, method, extra_problems)
        return self._core.request(self._get_spec(method, encode(query, flags="bool")))

    def _unfiltered_spec(self, method: str) -> RequestSpec:
        """The request of ``method`` with no filters: the same every time, so built once.

        A spec is immutable and nothing in it changes between calls (the token
        is the client's). Building it, with an all-``None`` query model to
        validate and encode, was a third of the client's own work per call.
        """
        spec = self._unfiltered.get(method)
        if spec is None:
            spec = self._unfiltered[method] = self._get_spec(method, {})
        return spec

    def _list_records(
        self,
        response: Response,
        method: str,
        *,
        key: str,
        model: type[T],
        keep: RecordPick | None = None,
    ) -> list[T]:
        """The CPU half of a list call: check the envelope, structure ``key`` as ``model`` s.

        ``keep`` picks the records worth structuring by one field (a date
        window keeps the orders it owns): the others are dropped before any
        work, undecoded where msgspec is installed (see ``decode_picked``).
        """
        if len(response.body) < GC_PAUSE_MIN_BYTES:  # no pause to make: no context manager
            return self._records(response, method, key, model, keep)
        # The decoded tree lives only inside _records: it is freed before the
        # collector runs again (see _gc.py).
        with gc_paused(len(response.body)):
            return self._records(response, method, key, model, keep)

    def _records(
        self,
        response: Response,
        method: str,
        key: str,
        model: type[T],
        keep: RecordPick | None,
    ) -> list[T]:
        envelope = None
        if keep is not None and 200 <= response.status < 300:
            envelope = decode_picked(response.body, key, keep)  # None: decode it all
        if envelope is None:
            try:
                envelope = self._decipher(response, method)
            except APIError as exc:
                if exc.is_not_found:  # Komet answers an empty result with status 0
                    return []
                raise
            if keep is not None and isinstance(envelope.get(key), list):
                envelope = {**envelope, key: [raw for raw in envelope[key] if keep(raw)]}
        # The sequence hook reads null as [], so a null list is simply empty.
        # ``list[model]`` made once per model: a new alias a call is one more
        # object to build and hash for the converter's dispatch.
        list_type = self._list_types.get(model)
        if list_type is None:
            list_type = self._list_types[model] = list[model]  # type: ignore[valid-type]
        found: list[T] = self._payload(envelope, key, list_type, method)
        return found

    async def _update(self, method: str, request: Any, *, key: str) -> int:
        """POST a request model; return the id under ``key``."""
        self._validate(request, method, ())
        envelope = await self._post(method, encode(request, flags="int"), idempotent=True)
        result: int = self._payload(envelope, key, int, method)
        return result

    def _payload(self, envelope: dict[str, Any], key: str, tp: Any, method: str) -> Any:
        """Structure ``envelope[key]`` as ``tp``; a missing key is a format error."""
        if key not in envelope:
            raise ResponseFormatError(
                f"{method}: the response has no {key!r} field",
                path=key,
                method=method,
                url=f"{self.base_url}/{method}",
            )
        return self._decoder.structure(envelope[key], tp, path=key, method=method)

    def _validate(self, request: Any, method: str, extra: Iterable[str]) -> None:
        found = problems(request)
        found.extend(extra)
        if found:
            raise ValidationError(found, method=method)

    async def _envelope(self, spec: RequestSpec) -> dict[str, Any]:
        response = await self._core.request(spec)
        return self._decipher(response, spec.name)

    def _decipher(self, response: Response, method: str) -> dict[str, Any]:
        if 200 <= response.status < 300:
            try:
                data = decode_json(response.body)
            except ValueError:
                data = None
            if envelope_ok(data):
                # The common case needs no redacted URL: errors build one below.
                return data
        redactor = self._core.redactor
        url = redactor.url(response.url)
        if not 200 <= response.status < 300:
            # Komet does not redirect; following one would carry the token elsewhere.
            raise HTTPStatusError(
                f"{method}: unexpected HTTP {response.status}",
                status=response.status,
                method=method,
                url=url,
                headers=redactor.headers(response.headers.items()),
                body_excerpt=body_excerpt(response.body, redactor),
            )
        try:
            data = decode_json(response.body)
        except ValueError:
            excerpt = body_excerpt(response.body, redactor)
            raise ResponseFormatError(
                f"{method}: the response is not JSON: {excerpt!r}",
                method=method,
                url=url,
                body_excerpt=excerpt,
            ) from None
        return decipher_envelope(data, method=method, url=url, redactor=redactor)
