"""KometSandbox: a local fake Komet Sales server, started and stopped with ``async with``."""

from __future__ import annotations

import datetime as dt
import hashlib
from types import TracebackType
from typing import Final

from aiohttp import web

from .app import SandboxState, SandboxStats, make_app
from .data import SandboxData
from .faults import FaultPlan
from .generate import DEFAULT_DATE_SPAN, generate

__all__ = ["KometSandbox", "token_for_seed"]

#: How long stopping waits for answers already being written.
SHUTDOWN_TIMEOUT: Final = 2.0


def token_for_seed(seed: int) -> str:
    """The sandbox token for ``seed`` (deterministic, 40 characters)."""
    digest = hashlib.sha256(f"komet-sandbox:{seed}:token".encode()).hexdigest()
    return f"sbx-{digest[:36]}"


class KometSandbox:
    """A fake Komet Sales API with generated data and optional fault injection.

    ::

        async with KometSandbox(seed=7, customers=500) as sandbox:
            async with KometClient(sandbox.token, base_url=sandbox.base_url) as komet:
                customers = await komet.customers.list()
            assert customers == [c for c in sandbox.data.customers if c.active]

    - ``seed``: the data (and the default token) are a pure function of it.
    - ``customers``, ``products``, ``standing_orders``: how many records to generate.
    - ``faults``: a :class:`~komet_async.sandbox.FaultPlan`, or ``None`` for none.
    - ``latency``: seconds every request waits before it is answered.
    - ``throttle_per_second``: refuse requests beyond this many in any rolling
      second with 429 and ``Retry-After: 1`` (counted as ``stats.faults["throttled"]``);
      ``None`` (the default) for no limit.
    - ``record_arrivals``: note each request's arrival time in ``stats.arrivals``.
    - ``host``, ``port``: where to listen; ``port=0`` picks a free port.
    - ``token``: the valid token (default: derived from the seed).
    - ``date_span``: the dates generated records fall in.

    ``data`` holds the records (see :class:`~komet_async.sandbox.data.SandboxData`),
    ``stats`` counts requests and faults. The data is generated when the
    sandbox is created, so it can be inspected before :meth:`start`.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        customers: int = 1000,
        products: int = 500,
        standing_orders: int = 200,
        faults: FaultPlan | None = None,
        latency: float = 0.0,
        throttle_per_second: int | None = None,
        record_arrivals: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        date_span: tuple[dt.date, dt.date] = DEFAULT_DATE_SPAN,
    ) -> None:
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise ValueError("token must be a non-empty string")
        self.seed = seed
        self.host = host
        self._port = port
        data = generate(
            seed,
            customers=customers,
            products=products,
            standing_orders=standing_orders,
            date_span=date_span,
        )
        self._state = SandboxState(
            data,
            token=token if token is not None else token_for_seed(seed),
            faults=faults,
            latency=latency,
            throttle_per_second=throttle_per_second,
            record_arrivals=record_arrivals,
        )
        self._app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None

    def __repr__(self) -> str:
        where = self.base_url if self._bound_port is not None else "not running"
        return f"<KometSandbox seed={self.seed} {where}>"

    # --- what tests look at -------------------------------------------------

    @property
    def token(self) -> str:
        """The token the sandbox accepts."""
        return self._state.token

    @property
    def data(self) -> SandboxData:
        """The records, as wire dicts and as the library's models."""
        return self._state.data

    @property
    def stats(self) -> SandboxStats:
        """Requests received per method and faults injected per kind."""
        return self._state.stats

    @property
    def faults(self) -> FaultPlan | None:
        """The fault plan in force."""
        return self._state.faults

    @property
    def latency(self) -> float:
        """Seconds each request waits before it is answered."""
        return self._state.latency

    @property
    def throttle_per_second(self) -> int | None:
        """Requests let through per rolling second (``None``: no limit)."""
        return self._state.throttle_per_second

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._bound_port is not None

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        if self._bound_port is None:
            raise RuntimeError("the sandbox is not running; start it first")
        return self._bound_port

    @property
    def url(self) -> str:
        """``http://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL to give a client: ``http://host:port/api``."""
        return f"{self.url}/api"

    # --- the application ----------------------------------------------------

    @property
    def app(self) -> web.Application:
        """The application :meth:`start` serves (created on first use, anew after :meth:`stop`)."""
        if self._app is None:
            self._app = make_app(self._state)
        return self._app

    def make_app(self) -> web.Application:
        """A new application sharing this sandbox's data, faults and stats, to embed elsewhere."""
        return make_app(self._state)

    # --- lifecycle ----------------------------------------------------------

    async def start(self) -> None:
        """Start listening; idempotent."""
        if self._runner is not None:
            return
        # No access log: GET URLs carry the token in their query string.
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._port)
            await site.start()
            address = runner.addresses[0]
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._bound_port = int(address[1])

    async def stop(self) -> None:
        """Stop listening and close every connection; idempotent.

        Pending ``latency`` and ``slow`` delays end at once (with a 503).
        """
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._state.stopping().set()
        self._bound_port = None
        try:
            await runner.cleanup()
        finally:
            # A restarted sandbox delays requests again, with an application
            # of its own (aiohttp applications are not meant to be run twice).
            self._state.stopping().clear()
            self._app = None

    async def __aenter__(self) -> KometSandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
