"""Kounta authentication: HTTP Basic (own company) or OAuth2 bearer tokens with refresh.

:class:`OAuth2` tokens live an hour. On a 401 the client refreshes once
(form-encoded ``POST /v1/token``, ``grant_type=refresh_token``) and replays
the request; requests that hit 401 together share a single refresh. A
rotated refresh token is kept, and ``on_token_refresh`` hears about every new
pair so the caller can persist it.

A refresh that fails, for whatever reason, raises
:class:`~komet_async.errors.AuthenticationError` with ``status`` 401 (the
call that needed it stays unauthorized), a message that says why, and the
underlying error as ``__cause__``: a refusal (HTTP 400 ``invalid_grant``,
401 ``invalid_client``), a server failure or 429, a connection failure, or an
answer without a usable ``access_token``. Catch that one type to know that
the caller must authenticate again (or try later: the cause tells which).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import inspect
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, Final

import attrs

from ..errors import (
    AuthenticationError,
    HTTPStatusError,
    KometError,
    RateLimitedError,
    ResponseFormatError,
)

__all__ = ["BasicAuth", "OAuth2", "TokenPair"]

#: The route name of the token endpoint, in errors and logs.
TOKEN_ROUTE: Final = "token"  # noqa: S105 - a route name, not a credential


@attrs.frozen
class TokenPair:
    """A fresh access token and the refresh token to use next time."""

    access_token: str = attrs.field(repr=False)
    refresh_token: str = attrs.field(repr=False)
    #: Seconds the access token lives, when the server said.
    expires_in: float | None = None


def _non_empty(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{attribute.name} must be a non-empty string")


@attrs.frozen(repr=False)
class BasicAuth:
    """HTTP Basic with your app's client id and secret (your own company only)."""

    client_id: str = attrs.field(validator=_non_empty)
    client_secret: str = attrs.field(validator=_non_empty)

    def __repr__(self) -> str:
        return f"BasicAuth(client_id={self.client_id!r}, client_secret=***)"

    def secrets(self) -> tuple[str, ...]:
        """The values to keep out of logs and errors.

        The base64 credentials on their own as well: a server may repeat them
        without the ``Basic`` scheme, and they decode to the secret.
        """
        return (self.client_secret, self._credentials())

    def _credentials(self) -> str:
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return base64.b64encode(raw).decode("ascii")

    def _header_value(self) -> str:
        return "Basic " + self._credentials()


TokenCallback = Callable[[TokenPair], Awaitable[None] | None]


class OAuth2:
    """OAuth2 bearer tokens that the client refreshes on expiry.

    ``access_token`` and ``refresh_token`` are updated in place after each
    refresh; ``on_token_refresh`` (sync or async) receives the new
    :class:`TokenPair` so you can store it. A refresh that fails raises
    :class:`~komet_async.errors.AuthenticationError` (see the module docstring).
    """

    def __init__(
        self,
        access_token: str,
        refresh_token: str,
        client_id: str,
        client_secret: str,
        on_token_refresh: TokenCallback | None = None,
    ) -> None:
        for name, value in (
            ("access_token", access_token),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string")
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.on_token_refresh = on_token_refresh
        self._lock: asyncio.Lock | None = None
        # The refresh under way, by the stale header it is for: every task that
        # saw that header fail shares its outcome, success or failure, so a
        # token endpoint that is down gets one refresh, not one per task.
        self._flights: dict[str, asyncio.Future[TokenPair | None]] = {}
        # A refused refresh, by the stale header it was for: later tasks fail
        # the same way instead of resending a dead refresh token. Only
        # refusals are kept: after a 503 or a lost connection, the next call
        # tries again.
        self._refused: tuple[str, AuthenticationError] | None = None
        #: How many refreshes this object has done.
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"OAuth2(client_id={self.client_id!r}, tokens=***, refreshes={self.refreshes})"

    def secrets(self) -> tuple[str, ...]:
        """The values to keep out of logs and errors."""
        return (self.access_token, self.refresh_token, self.client_secret)

    def refresh_form(self) -> dict[str, str]:
        """The form body of a refresh request."""
        return {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    async def refresh(
        self,
        stale_header: str,
        send: Callable[[bytes], Awaitable[Any]],
    ) -> TokenPair | None:
        """Refresh the tokens once for everyone who saw ``stale_header`` fail.

        ``send`` posts the form body and returns the decoded JSON answer,
        raising a :class:`~komet_async.errors.KometError` (already redacted)
        when it cannot. Returns the new pair (the same one to every task that
        shared the refresh), or ``None`` when the tokens had been refreshed
        already (they are then in place). Raises
        :class:`~komet_async.errors.AuthenticationError` when the refresh
        fails, the failure as its ``__cause__``.

        The refresh runs to its end even when the caller is cancelled: the
        server rotates the refresh token as it answers, and an answer dropped
        half-way would leave only a dead refresh token behind.
        """
        flight = self._flights.get(stale_header)
        if flight is None:
            flight = asyncio.ensure_future(self._refresh(stale_header, send))
            self._flights[stale_header] = flight
            flight.add_done_callback(functools.partial(self._landed, stale_header))
        return await asyncio.shield(flight)

    def _landed(self, stale_header: str, flight: asyncio.Future[Any]) -> None:
        """Forget a finished refresh: a call that fails later starts its own."""
        if self._flights.get(stale_header) is flight:
            del self._flights[stale_header]
        _retrieve(flight)

    async def _refresh(
        self, stale_header: str, send: Callable[[bytes], Awaitable[Any]]
    ) -> TokenPair | None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if _bearer(self.access_token) != stale_header:
                return None  # single flight: someone refreshed while we waited
            if self._refused is not None and self._refused[0] == stale_header:
                refused = self._refused[1]
                raise _again(refused) from refused.__cause__
            try:
                answer = await send(urllib.parse.urlencode(self.refresh_form()).encode())
                pair = parse_token_answer(answer, previous_refresh_token=self.refresh_token)
            except KometError as exc:
                failure = _refresh_failure(exc)
                if _is_refusal(exc):
                    self._refused = (stale_header, failure)
                raise failure from exc
            self._refused = None
            self.access_token, self.refresh_token = pair.access_token, pair.refresh_token
            self.refreshes += 1
            if self.on_token_refresh is not None:
                result = self.on_token_refresh(pair)
                if inspect.isawaitable(result):
                    await result
            return pair


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a shielded refresh's outcome seen (its caller may be gone)."""
    if not task.cancelled():
        task.exception()


def _bearer(token: str) -> str:
    return f"Bearer {token}"


def authorization_header(auth: BasicAuth | OAuth2) -> str:
    """The ``Authorization`` header value for ``auth`` as it is now."""
    if isinstance(auth, OAuth2):
        return _bearer(auth.access_token)
    return auth._header_value()


def parse_token_answer(answer: Any, *, previous_refresh_token: str) -> TokenPair:
    """Read a token endpoint's JSON answer; a refresh token that was not rotated is kept.

    An answer that is not a JSON object, or has no non-empty string
    ``access_token``, is a :class:`ResponseFormatError` (its message never
    quotes the answer: it may hold the new tokens).
    """
    if not isinstance(answer, dict):
        raise ResponseFormatError(
            f"{TOKEN_ROUTE}: the answer is not a JSON object but {type(answer).__name__}",
            method=TOKEN_ROUTE,
        )
    access = answer.get("access_token")
    if not isinstance(access, str) or not access:
        raise ResponseFormatError(
            f"{TOKEN_ROUTE}: the answer has no access_token",
            path="access_token",
            method=TOKEN_ROUTE,
        )
    refresh = answer.get("refresh_token")
    expires = answer.get("expires_in")
    return TokenPair(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else previous_refresh_token,
        expires_in=float(expires)
        if isinstance(expires, (int, float)) and not isinstance(expires, bool)
        else None,
    )


# --- failed refreshes -------------------------------------------------------------


#: The statuses a token endpoint refuses a grant with (RFC 6749 section 5.2:
#: 400 ``invalid_grant`` and the like, 401 ``invalid_client``; 403 from some).
_REFUSAL_STATUSES: Final = frozenset({400, 401, 403})


def _is_refusal(exc: KometError) -> bool:
    """Whether the token endpoint refused the grant itself.

    That is final for this refresh token; a 5xx, a 429, a lost connection or
    an unreadable answer may pass.
    """
    return isinstance(exc, HTTPStatusError) and exc.status in _REFUSAL_STATUSES


def _why(exc: KometError) -> str:
    """What went wrong, in a few words, from an already redacted error."""
    if isinstance(exc, RateLimitedError):
        wait = f", retry after {exc.retry_after:g} s" if exc.retry_after is not None else ""
        return f"HTTP {exc.status} (rate limited{wait})"
    if isinstance(exc, HTTPStatusError):
        return f"HTTP {exc.status}"
    # Our messages start with the route name: said once, in front.
    message = exc.message
    prefix = f"{TOKEN_ROUTE}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def _refresh_failure(exc: KometError) -> AuthenticationError:
    """The :class:`AuthenticationError` a refresh that failed with ``exc`` raises.

    ``status`` is 401 whatever the token endpoint answered: the call that
    needed the refresh is unauthorized, and a 503 or 429 on it would have
    retry loops (the create's, a caller's) take it for a server hiccup of
    that call. The token endpoint's own answer stays on the cause (raise it
    ``from exc``), and its headers and body excerpt (redacted) are kept here too.
    """
    if _is_refusal(exc):
        message = f"{TOKEN_ROUTE}: the token refresh was refused ({_why(exc)})"
    else:
        message = f"{TOKEN_ROUTE}: the token refresh failed: {_why(exc)}"
    http = exc if isinstance(exc, HTTPStatusError) else None
    return AuthenticationError(
        message,
        status=401,
        method=TOKEN_ROUTE,
        url=exc.url,
        headers=http.headers if http is not None else None,
        body_excerpt=http.body_excerpt if http is not None else "",
        # When the token endpoint said when to come back (a 429 or 503), so does this.
        retry_after=http.retry_after if http is not None else None,
    )


def _again(exc: AuthenticationError) -> AuthenticationError:
    """A fresh copy of a refusal, for a later task that would resend the dead token."""
    return AuthenticationError(
        exc.message,
        status=exc.status,
        method=exc.method,
        url=exc.url,
        headers=exc.headers,
        body_excerpt=exc.body_excerpt,
        retry_after=exc.retry_after,
    )
