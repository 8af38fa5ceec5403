"""KountaSandbox: a local fake Kounta customers API, started and stopped with ``async with``."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .._runner import SandboxServer
from ..faults import FaultPlan
from .app import KountaOptions, KountaState, KountaStats, make_app
from .auth import RateWindow, TokenStore, derive
from .data import KountaData
from .webhooks import Deliverer, Delivery, WebhookStore

__all__ = ["KountaSandbox"]

#: How long stopping waits for answers already being written.


class KountaSandbox(SandboxServer):
    """A fake Kounta (Lightspeed O-Series) customers API with fault injection.

    ::

        async with KountaSandbox(seed=7, customers=1003) as sandbox:
            auth = OAuth2(sandbox.access_token, sandbox.refresh_token,
                          sandbox.client_id, sandbox.client_secret)
            async with KountaClient(sandbox.company_id, auth=auth,
                                    base_url=sandbox.base_url) as kounta:
                customers = await kounta.customers.list().collect()
            assert customers == sandbox.data.listed

    Data and behaviour:

    - ``seed``, ``customers``, ``company_id``: the generated customers (the
      documented examples 389427 "Jamie McDonald" and 389428, both with
      reference id ``ABC123``, come first).
    - ``page_size``: customers per listing page; ``abridged_lists``: whether
      listing pages show only :data:`~komet_async.sandbox.kounta.data.ABRIDGED_FIELDS`
      (the default) or full records. Every other answer has full records.
    - ``token_lifetime``: seconds an access token lives (monotonic clock).
    - ``rate_limit_per_minute``: requests per ``rate_limit_window`` seconds
      (60 by default) before 429s; ``None`` for no limit.
    - ``faults``: a :class:`~komet_async.sandbox.FaultPlan` applied before a
      request is handled (nothing is stored); ``after_store``: a plan applied
      to writes after their change was stored, numbered over writes only,
      so a client loses the answer to a change the server kept.
    - ``latency``: seconds every request waits before it is answered.
    - ``relative_locations``: ``Location`` headers (302 lookups, 201 creates)
      as paths instead of absolute URLs; ``next_page``: how ``X-Next-Page``
      is spelled (see :data:`~komet_async.sandbox.kounta.app.NEXT_PAGE_STYLES`);
      ``empty_create_body``: answer creates with 201 and an empty body.
    - ``webhook_secret``: the key deliveries are signed with (default: from the seed).
    - ``client_id``, ``client_secret``: the app's credentials (default: from the seed).
    - ``host``, ``port``: where to listen; ``port=0`` picks a free port.

    The data is generated when the sandbox is created, so it can be inspected
    before :meth:`start`.
    """

    api_path = "/v1"

    def __init__(
        self,
        *,
        seed: int = 0,
        customers: int = 1003,
        company_id: int = 5678,
        faults: FaultPlan | None = None,
        after_store: FaultPlan | None = None,
        latency: float = 0.0,
        page_size: int = 25,
        abridged_lists: bool = True,
        token_lifetime: float = 3600.0,
        rate_limit_per_minute: int | None = None,
        rate_limit_window: float = 60.0,
        relative_locations: bool = False,
        next_page: str = "absolute",
        empty_create_body: bool = False,
        webhook_secret: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if isinstance(company_id, bool) or not isinstance(company_id, int) or company_id < 1:
            raise ValueError(f"company_id must be a positive integer, got {company_id!r}")
        self.seed = seed
        super().__init__(host=host, port=port)
        data = KountaData(
            seed=seed, customers=customers, company_id=company_id, abridged_lists=abridged_lists
        )
        tokens = TokenStore(
            seed=seed, lifetime=token_lifetime, client_id=client_id, client_secret=client_secret
        )
        secret = webhook_secret if webhook_secret is not None else f"whsec-{derive(seed, 'wh')}"
        if not secret:
            raise ValueError("webhook_secret must be a non-empty string")
        self._state = KountaState(
            data,
            tokens,
            Deliverer(WebhookStore(), secret),
            options=KountaOptions(
                page_size=page_size,
                relative_locations=relative_locations,
                next_page=next_page,
                empty_create_body=empty_create_body,
            ),
            faults=faults,
            after_store=after_store,
            latency=latency,
            rate_window=(
                RateWindow(rate_limit_per_minute, rate_limit_window)
                if rate_limit_per_minute is not None
                else None
            ),
        )

    def __repr__(self) -> str:
        where = self.base_url if self._bound_port is not None else "not running"
        return f"<KountaSandbox seed={self.seed} company={self.company_id} {where}>"

    # --- what tests look at -------------------------------------------------

    @property
    def company_id(self) -> int:
        """The company whose customers the sandbox serves."""
        return self._state.data.company_id

    @property
    def client_id(self) -> str:
        """The app's client id (Basic auth, token refresh)."""
        return self._state.tokens.client_id

    @property
    def client_secret(self) -> str:
        """The app's client secret (Basic auth, token refresh)."""
        return self._state.tokens.client_secret

    @property
    def access_token(self) -> str:
        """The access token issued last (the initial one until a refresh)."""
        return self._state.tokens.access_token

    @property
    def refresh_token(self) -> str:
        """The refresh token issued last: the one valid refresh token after a rotation."""
        return self._state.tokens.refresh_token

    @property
    def webhook_secret(self) -> str:
        """The key webhook deliveries are signed with."""
        return self._state.deliverer.secret

    @property
    def data(self) -> KountaData:
        """The customers, as wire dicts and as the library's models."""
        return self._state.data

    @property
    def stats(self) -> KountaStats:
        """Requests per route, faults per kind, token refreshes, rate-limit refusals."""
        return self._state.stats

    @property
    def deliveries(self) -> list[Delivery]:
        """Webhook deliveries made: ``(topic, address, status)``, in completion order."""
        return self._state.deliverer.deliveries

    @property
    def pending_deliveries(self) -> int:
        """Webhook deliveries still under way."""
        return self._state.deliverer.pending

    @property
    def faults(self) -> FaultPlan | None:
        """The fault plan applied before requests are handled."""
        return self._state.faults

    @property
    def options(self) -> KountaOptions:
        """How answers are spelled (page size, Location and X-Next-Page styles)."""
        return self._state.options

    def expire_tokens(self) -> None:
        """Make every access token issued so far expire now."""
        self._state.tokens.expire_all()

    def revoke_refresh_tokens(self) -> None:
        """Invalidate every refresh token (the next refresh gets ``invalid_grant``)."""
        self._state.tokens.revoke_refresh_tokens()

    async def wait_for_deliveries(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """Wait until ``count`` webhook deliveries were made; ``TimeoutError`` after ``timeout``."""
        return await self._state.deliverer.wait_for(count, timeout)

    # --- the application ----------------------------------------------------

    def make_app(self) -> web.Application:
        """A new application sharing this sandbox's data, tokens and stats, to embed elsewhere."""
        return make_app(self._state)

    def _stopping(self) -> asyncio.Event:
        return self._state.stopping()

    async def _started(self) -> None:
        """Open the webhook delivery session."""
        self._state.deliverer.open()

    async def _stopped(self) -> None:
        """Finish or cancel webhook deliveries and close their session."""
        await self._state.deliverer.close()
