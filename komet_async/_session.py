"""The session manager: lifecycle, limiter -> retry -> send, and statistics.

It owns policy, not endpoints: it knows nothing of Komet or Kounta beyond a
:class:`RequestSpec`. aiohttp is touched in exactly one coroutine,
:meth:`SessionManager._attempt`, where its exceptions become ours (with secrets
scrubbed from the chained cause).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final, TypeVar

import aiohttp
import attrs
from yarl import URL

from ._clock import SYSTEM_CLOCK, Clock
from ._ratelimit import RateBudget, RateLimit, RateLimiter, RateLimitState
from ._redact import Redactor, redacted_params, redacted_url
from ._retry import Retrier, RetryPolicy
from ._sansio import Response, error_for_status
from ._version import __version__
from .errors import KometError, RateLimitedError, ResponseTooLargeError, TransportError

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "ClientBase",
    "ClientStats",
    "RequestSpec",
    "SessionManager",
    "without_hidden_resends",
]

#: Total time one attempt may take, connection and body included.
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(total=30.0)
#: Default cap on requests in flight at once for one client.
DEFAULT_MAX_CONCURRENCY: Final = 8
#: Default cap on one response body (decompressed): far above any real page
#: (5,000 customers are about 1 MB), far below what would hurt a service.
DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024

USER_AGENT: Final = f"komet-async/{__version__} aiohttp/{aiohttp.__version__}"

logger = logging.getLogger("komet_async")

# Failures that prove the request never reached the server (safe to resend
# even when the call is not idempotent). ConnectionTimeoutError is aiohttp >= 3.10.
_NOT_SENT_ERRORS: Final[tuple[type[BaseException], ...]] = (
    aiohttp.ClientConnectorError,
    *((aiohttp.ConnectionTimeoutError,) if hasattr(aiohttp, "ConnectionTimeoutError") else ()),
)


@attrs.define
class ClientStats:
    """Counters for one client, updated as it works.

    - ``requests``: attempts the client made (each retry counts). On the
      session the client makes this is every request the server receives;
      on a caller's own ``session``, aiohttp itself may resend an idempotent
      request once, invisibly, after a connection error (RFC 9112 section
      9.3.1), and the server then sees one request more than this count.
    - ``retries``: attempts made again after a failure.
    - ``rate_limit_waits``: times a request waited for the rate limiter or a cool-down.
    - ``failures``: calls that ended in an error (after retries).
    """

    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    failures: int = 0


@attrs.frozen(slots=True)
class RequestSpec:
    """One API call, ready to send (built by pure functions)."""

    http_method: str
    #: Shown without userinfo and query in the repr (see ``redacted_url``).
    url: str = attrs.field(repr=redacted_url)
    #: The API method or route, for logs and errors (``customer.list``).
    name: str
    #: Query parameters; a secret one (the Komet token) shows as ``***`` in the repr.
    params: Mapping[str, str] | None = attrs.field(default=None, repr=redacted_params)
    body: bytes | None = attrs.field(default=None, repr=False)
    headers: Mapping[str, str] | None = attrs.field(default=None, repr=False)
    #: Whether sending twice is harmless; non-idempotent calls are retried only
    #: when the server cannot have acted on them.
    idempotent: bool = True
    #: The most attempts for this call, below the policy's (``None``: the
    #: policy's): a caller running its own retry loop passes 1.
    attempts: int | None = None
    #: Statuses besides 429 that show a non-idempotent call was not acted on,
    #: so it may be resent (a token grant answered 503).
    unsent_statuses: frozenset[int] = frozenset()
    #: ``url`` with ``params`` encoded, built once per spec: given the mapping,
    #: aiohttp encodes it again on every send (yarl's ``extend_query``: 27k of
    #: the 546k instructions of a ``customers.list()`` call, by callgrind), and
    #: a spec is sent again by every retry, and the specs of calls without
    #: filters are built once per client.
    target: URL = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        url = URL(self.url)
        object.__setattr__(self, "target", url.extend_query(self.params) if self.params else url)


def as_timeout(timeout: float | aiohttp.ClientTimeout | None) -> aiohttp.ClientTimeout:
    """Accept seconds or an ``aiohttp.ClientTimeout``; ``None`` means the default."""
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, aiohttp.ClientTimeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return aiohttp.ClientTimeout(total=float(timeout))


def without_hidden_resends(session: aiohttp.ClientSession) -> aiohttp.ClientSession:
    """``session``, set not to resend a request on its own; returned for chaining.

    aiohttp resends an idempotent request once after a connection error
    (reset, server disconnect), fresh connections included, behind the retry
    policy, the rate limiter and the stats: a resend nobody counted could pass
    the rate limit. Our retry policy does that job, counted. aiohttp has no
    public switch; its own test client turns off this attribute the same way.
    """
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False
    return session


class SessionManager:
    """Sends :class:`RequestSpec` s with rate limiting and retries over one aiohttp session.

    ``session`` is an optional caller-owned ``aiohttp.ClientSession``: it is
    used as is and never closed. Without it, a session is created on first use
    (inside the running event loop) and closed by :meth:`aclose`.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | RateBudget | None = None,
        timeout: float | aiohttp.ClientTimeout | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        redactor: Redactor | None = None,
        clock: Clock | None = None,
        headers: Mapping[str, str] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise ValueError(
                f"max_response_bytes must be a positive integer, got {max_response_bytes!r}"
            )
        self.max_response_bytes = max_response_bytes
        self.retry_policy = retry if retry is not None else RetryPolicy()
        self.timeout = as_timeout(timeout)
        self.redactor = redactor or Redactor()
        self.clock = clock or SYSTEM_CLOCK
        self.stats = ClientStats()
        self.limiter = RateLimiter(
            rate_limit,
            max_concurrency=max_concurrency,
            max_wait=self.retry_policy.max_retry_after,
            clock=self.clock,
        )
        self._budget_learns = bool(getattr(self.limiter.budget, "learns_from_responses", False))
        self._retrier = Retrier(self.retry_policy, self.clock, on_retry=self._count_retry)
        self._session = session
        self._owns_session = session is None
        self._headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has run."""
        return self._closed

    async def aclose(self) -> None:
        """Close the session if this manager created it; idempotent."""
        if self._owns_session and self._session is not None:
            # From another event loop aiohttp could not close it, and dropping
            # it here would leave it to leak: refuse before changing anything.
            self._bind_loop()
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()

    async def __aenter__(self) -> SessionManager:
        self._check_usable()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _count_retry(self) -> None:
        self.stats.retries += 1

    def _check_usable(self) -> None:
        if self._closed:
            raise RuntimeError("this client is closed; create a new one")

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError(
                "this client belongs to another event loop; create one client per event loop"
            )

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            # The client's headers are the session's defaults here; a caller's
            # session gets them with each request instead (see _attempt).
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.limiter.max_concurrency),
                headers=self._headers,
            )
            self._session = without_hidden_resends(session)
        return self._session

    async def request(self, spec: RequestSpec, *, count_failure: bool = True) -> Response:
        """Send ``spec`` under the rate limiter and retry policy; return a non-error response.

        HTTP statuses >= 400 raise their typed error (after retries); 1xx-3xx
        are returned for the caller to interpret. ``count_failure=False`` leaves
        ``stats.failures`` to a caller that may still recover (a 401 answered
        by a token refresh); it calls :meth:`count_failure` if it cannot.
        """
        self._check_usable()
        if asyncio.get_running_loop() is not self._loop:
            self._bind_loop()  # the first request, or the wrong loop
        try:
            # Attempt 1 is made here, the rest by the retrier: a request that
            # succeeds (nearly all) passes through one coroutine less.
            try:
                return await self._attempt(spec, 1)
            except KometError as exc:
                first = exc
            return await self._retrier.after_failure(
                self._attempt,
                spec,
                first,
                name=spec.name,
                idempotent=spec.idempotent,
                unsent_statuses=spec.unsent_statuses,
                attempts=spec.attempts,
            )
        except Exception:  # a cancellation is not a failure
            if count_failure:
                self.stats.failures += 1
            raise

    def count_failure(self) -> None:
        """Count a call that ended in an error (see ``count_failure`` of :meth:`request`)."""
        self.stats.failures += 1

    async def _attempt(self, spec: RequestSpec, number: int) -> Response:
        """Make attempt ``number`` of ``spec``: limiter, one HTTP exchange, the verdict.

        The only place aiohttp is called. One coroutine for the whole attempt:
        a separate one for the exchange was one frame more, resumed at every
        step of every request.
        """
        limiter = self.limiter
        # A slot and a token at hand (the common case) cost no coroutine.
        if not limiter.try_acquire(spec.name) and await limiter.acquire(spec.name):
            self.stats.rate_limit_waits += 1
        debug = logger.isEnabledFor(logging.DEBUG)
        try:
            self._check_usable()  # closed while waiting for a slot
            self.stats.requests += 1
            started = self.clock.monotonic() if debug else 0.0
            session = self._ensure_session()
            headers: Any
            if self._owns_session:
                # The session carries the client's headers itself: merging them
                # into every request cost aiohttp a header dict a call.
                headers = spec.headers
            elif spec.headers is None:
                headers = self._headers
            else:
                headers = {**self._headers, **spec.headers}
            try:
                async with session.request(
                    spec.http_method,
                    spec.target,
                    data=spec.body,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                ) as resp:
                    length = resp.content_length
                    # An uncompressed body of a declared, acceptable length is
                    # read in one go, here (the common case: no per-chunk work,
                    # no extra coroutine); the others are counted as they arrive.
                    if (
                        length is not None
                        and length <= self.max_response_bytes
                        and "Content-Encoding" not in resp.headers
                    ):
                        body = await resp.read()
                    else:
                        body = await self._read_body(spec, resp)
                    response = Response(resp.status, resp.headers, body, resp.url)
            except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
                raise self._transport_error(spec, exc) from self.redactor.exception(exc)
        finally:
            limiter.release()
        if debug:
            logger.debug(
                "%s %s -> %d in %.1f ms (%d bytes, attempt %d)",
                spec.http_method,
                spec.name,
                response.status,
                (self.clock.monotonic() - started) * 1000,
                len(body),
                number,
            )
        status = response.status
        error = (
            error_for_status(
                response, method=spec.name, redactor=self.redactor, now=self.clock.time()
            )
            if status >= 400
            else None
        )
        headers = response.headers
        state = (
            RateLimitState.from_headers(headers)
            if "X-Ratelimit-Remaining" in headers or "X-Ratelimit-Reset" in headers
            else None
        )
        cool_down = None
        if isinstance(error, RateLimitedError):
            # One cool-down for the whole client (or every process sharing the
            # budget) instead of every task hammering the server on its own.
            cool_down = (
                error.retry_after if error.retry_after is not None else self.retry_policy.backoff(1)
            )
        # The common case (a plain success, a budget that does not learn) costs nothing.
        if cool_down is not None or state is not None or self._budget_learns:
            await limiter.record(status=status, cool_down=cool_down, state=state)
        if error is not None:
            raise error
        return response

    async def _read_body(self, spec: RequestSpec, resp: aiohttp.ClientResponse) -> bytes:
        """The whole body, or :class:`ResponseTooLargeError` once it passes the limit.

        The slow path of :meth:`_attempt` (which reads a body of a declared,
        acceptable length itself): compressed bodies are counted as they
        decompress, since their Content-Length says nothing of their size, and
        bodies of no declared length as they arrive.
        """
        limit = self.max_response_bytes
        length = resp.content_length
        if length is not None and length > limit and "Content-Encoding" not in resp.headers:
            raise self._too_large(spec)
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_any():
            size += len(chunk)
            if size > limit:
                # Closing (not releasing) drops the connection with the rest unread.
                resp.close()
                raise self._too_large(spec)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, spec: RequestSpec) -> ResponseTooLargeError:
        limit = self.max_response_bytes
        return ResponseTooLargeError(
            f"{spec.name}: the response body exceeds max_response_bytes ({limit:,} bytes)",
            limit=limit,
            method=spec.name,
            url=self.redactor.url(spec.url),
        )

    def _transport_error(self, spec: RequestSpec, exc: BaseException) -> TransportError:
        url = self.redactor.url(spec.url)
        if isinstance(exc, asyncio.TimeoutError):
            total = self.timeout.total
            limit = f" after {total:g} s" if total else ""
            what = f"timed out{limit}"
        else:
            what = self.redactor.text(f"{type(exc).__name__}: {exc}")
        sent = not isinstance(exc, _NOT_SENT_ERRORS)
        logger.debug("%s %s failed: %s", spec.http_method, spec.name, what)
        return TransportError(
            f"{spec.name}: {what}",
            request_sent=sent,
            timed_out=isinstance(exc, asyncio.TimeoutError),
            method=spec.name,
            url=url,
        )


_C = TypeVar("_C", bound="ClientBase")


class ClientBase:
    """What every API client shares: one :class:`SessionManager` and its lifecycle."""

    _core: SessionManager

    @property
    def stats(self) -> ClientStats:
        """Counters: requests sent, retries, rate-limit waits, failures."""
        return self._core.stats

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._core.retry_policy

    @property
    def closed(self) -> bool:
        """Whether the client has been closed."""
        return self._core.closed

    async def aclose(self) -> None:
        """Close the client (and the aiohttp session, if the client created it)."""
        await self._core.aclose()

    async def __aenter__(self: _C) -> _C:
        await self._core.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
