"""KometSandbox: a local fake Komet Sales server, started and stopped with ``async with``."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

from aiohttp import web

from .._clock import Clock
from ._runner import SandboxServer
from .app import SandboxState, SandboxStats, make_app
from .data import SandboxData
from .faults import FaultPlan
from .generate import DEFAULT_DATE_SPAN, generate

__all__ = ["KometSandbox", "token_for_seed"]


def token_for_seed(seed: int) -> str:
    """The sandbox token for ``seed`` (deterministic, 40 characters)."""
    digest = hashlib.sha256(f"komet-sandbox:{seed}:token".encode()).hexdigest()
    return f"sbx-{digest[:36]}"


class KometSandbox(SandboxServer):
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
    - ``clock``: where the sandbox reads the time (the quota day, the throttle's
      second, ``stats.arrivals``, dates in 429s); tests pass
      :class:`komet_async.testing.FakeClock` to move time, the same one as
      the client's to move both. Delays stay real. Default: the system clock.

    ``data`` holds the records (see :class:`~komet_async.sandbox.data.SandboxData`),
    ``stats`` counts requests and faults. The data is generated when the
    sandbox is created, so it can be inspected before :meth:`start`.
    """

    api_path = "/api"

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
        clock: Clock | None = None,
    ) -> None:
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise ValueError("token must be a non-empty string")
        super().__init__(host=host, port=port)
        self.seed = seed
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
            clock=clock,
        )

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
    def clock(self) -> Clock:
        """The clock the sandbox reads the time from."""
        return self._state.clock

    @property
    def latency(self) -> float:
        """Seconds each request waits before it is answered."""
        return self._state.latency

    @property
    def throttle_per_second(self) -> int | None:
        """Requests let through per rolling second (``None``: no limit)."""
        return self._state.throttle_per_second

    # --- the application ----------------------------------------------------

    def make_app(self) -> web.Application:
        """A new application sharing this sandbox's data, faults and stats, to embed elsewhere."""
        return make_app(self._state)

    def _stopping(self) -> asyncio.Event:
        return self._state.stopping()
