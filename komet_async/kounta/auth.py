"""Kounta authentication: HTTP Basic (own company) or OAuth2 bearer tokens with refresh.

:class:`OAuth2` tokens live an hour. On a 401 the client refreshes once
(form-encoded ``POST /v1/token``, ``grant_type=refresh_token``) and replays
the request; requests that hit 401 together share a single refresh. A
rotated refresh token is kept, and ``on_token_refresh`` hears about every new
pair so the caller can persist it.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ..errors import AuthenticationError, ResponseFormatError

__all__ = ["BasicAuth", "OAuth2", "TokenPair"]


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
    :class:`TokenPair` so you can store it.
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
        # A refused refresh, by the stale header it was for: the tasks that
        # waited behind it fail the same way instead of resending a dead token.
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

        ``send`` posts the form body and returns the decoded JSON answer.
        Returns the new pair, or ``None`` when another task already refreshed
        (its tokens are then in place).

        The refresh runs to its end even when the caller is cancelled: the
        server rotates the refresh token as it answers, and an answer dropped
        half-way would leave only a dead refresh token behind.
        """
        task = asyncio.ensure_future(self._refresh(stale_header, send))
        task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

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
                raise AuthenticationError(
                    refused.message, status=refused.status, method=refused.method, url=refused.url
                )
            try:
                answer = await send(urllib.parse.urlencode(self.refresh_form()).encode())
                pair = parse_token_answer(answer, previous_refresh_token=self.refresh_token)
            except AuthenticationError as exc:
                self._refused = (stale_header, exc)
                raise
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
    """Read a token endpoint's JSON answer; a refresh token that was not rotated is kept."""
    if not isinstance(answer, dict):
        raise ResponseFormatError("token: the answer is not a JSON object", method="token")
    access = answer.get("access_token")
    if not isinstance(access, str) or not access:
        raise AuthenticationError(
            "token: the refresh answer has no access_token", status=401, method="token"
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
