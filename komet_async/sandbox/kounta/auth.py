"""The Kounta sandbox's credentials, OAuth2 tokens and rate-limit window.

Tokens are derived from the seed and a counter (SHA-256), so a run is
reproducible, and they are recognisable in leak checks. Expiry runs on the
monotonic clock: a token issued at ``t`` is expired once
``t + lifetime < now``, or at once after :meth:`TokenStore.expire_all`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
from collections.abc import Callable
from typing import Final

import attrs

__all__ = ["RateWindow", "RateWindowState", "TokenStore", "derive"]

#: The ``token_type`` a refresh answers with.
TOKEN_TYPE: Final = "bearer"  # noqa: S105 - a token type name, not a secret


def derive(seed: int, what: str, length: int = 32) -> str:
    """A deterministic secret-looking string for ``seed`` and ``what``."""
    return hashlib.sha256(f"kounta-sandbox:{seed}:{what}".encode()).hexdigest()[:length]


class TokenStore:
    """The app's client credentials and every OAuth2 token issued so far.

    Access tokens map to the monotonic time they were issued; refresh tokens
    are single-use (rotated on every refresh).
    """

    def __init__(
        self,
        *,
        seed: int,
        lifetime: float,
        client_id: str | None = None,
        client_secret: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not lifetime > 0:
            raise ValueError(f"token_lifetime must be > 0, got {lifetime!r}")
        self.seed = seed
        self.lifetime = lifetime
        self.client_id = client_id or f"sbx-app-{derive(seed, 'client-id', 12)}"
        self.client_secret = client_secret or f"sbx-cs-{derive(seed, 'client-secret')}"
        self._clock = clock
        self._issued: dict[str, float] = {}
        self._refresh: set[str] = set()
        self._serial = 0
        self.refreshes = 0
        self.access_token, self.refresh_token = self._issue()

    def __repr__(self) -> str:
        return f"<TokenStore client_id={self.client_id!r} tokens=*** refreshes={self.refreshes}>"

    def _issue(self) -> tuple[str, str]:
        serial = self._serial
        self._serial += 1
        access = f"sbx-at-{derive(self.seed, f'access:{serial}')}"
        refresh = f"sbx-rt-{derive(self.seed, f'refresh:{serial}')}"
        self._issued[access] = self._clock()
        self._refresh.add(refresh)
        self.access_token, self.refresh_token = access, refresh
        return access, refresh

    # --- checks ---------------------------------------------------------------

    def basic_ok(self, header: str) -> bool:
        """Whether ``header`` is ``Basic base64(client_id:client_secret)``."""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _, secret = decoded.partition(":")
        return self.client_ok(client_id, secret)

    def client_ok(self, client_id: str, secret: str) -> bool:
        """Whether the pair is the app's client id and secret (constant-time)."""
        return hmac.compare_digest(
            client_id.encode(), self.client_id.encode()
        ) & hmac.compare_digest(secret.encode(), self.client_secret.encode())

    def bearer_ok(self, token: str) -> bool:
        """Whether ``token`` is an access token that has not expired."""
        issued = self._issued.get(token)
        return issued is not None and issued + self.lifetime >= self._clock()

    def authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header grants access (Basic or a live bearer token)."""
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return self.bearer_ok(value.strip())
        return self.basic_ok(header)

    # --- changes --------------------------------------------------------------

    def refresh(self, refresh_token: str) -> tuple[str, str] | None:
        """Spend ``refresh_token`` for a new pair (``None`` if it is not valid)."""
        if refresh_token not in self._refresh:
            return None
        self._refresh.discard(refresh_token)  # rotated: the old one is spent
        self.refreshes += 1
        return self._issue()

    def expire_all(self) -> None:
        """Make every access token issued so far expired."""
        for token in self._issued:
            self._issued[token] = -math.inf

    def revoke_refresh_tokens(self) -> None:
        """Invalidate every refresh token (the next refresh fails with ``invalid_grant``)."""
        self._refresh.clear()


@attrs.frozen
class RateWindowState:
    """The ``X-Ratelimit-*`` values of one answer."""

    limit: int
    remaining: int
    #: Unix seconds when the window resets (rounded up to a whole second).
    reset: int

    def headers(self) -> dict[str, str]:
        """The response headers."""
        return {
            "X-Ratelimit-Limit": str(self.limit),
            "X-Ratelimit-Remaining": str(self.remaining),
            "X-Ratelimit-Reset": str(self.reset),
        }


class RateWindow:
    """A fixed window: ``limit`` requests per ``window`` seconds, counted from the first.

    The window is wall-clock based because ``X-Ratelimit-Reset`` is a Unix time.
    """

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"rate_limit_per_minute must be a positive integer, got {limit!r}")
        if not window > 0:
            raise ValueError(f"rate_limit_window must be > 0, got {window!r}")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._reset_at = 0.0
        self._used = 0

    def _roll(self) -> None:
        now = self._clock()
        if now >= self._reset_at:
            self._reset_at = now + self.window
            self._used = 0

    def take(self) -> tuple[bool, RateWindowState]:
        """Count one request; return whether it is within the limit, and the state to send."""
        self._roll()
        allowed = self._used < self.limit
        if allowed:
            self._used += 1
        return allowed, self.state()

    def state(self) -> RateWindowState:
        """The current state, without counting a request."""
        self._roll()
        return RateWindowState(
            limit=self.limit,
            remaining=max(0, self.limit - self._used),
            reset=math.ceil(self._reset_at),
        )
