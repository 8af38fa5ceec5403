"""The Kounta sandbox's aiohttp.web application: ``/v1/...`` like the real API.

Every request goes through the same steps, in this order:

1. it is numbered (0, 1, 2 ... per sandbox) and counted under its route name
   (``customers.list``, ``customers.find``, ``customers.find_by_reference``,
   ``customers.get``, ``customers.create``, ``customers.update``,
   ``customers.delete``, ``token``, ``webhooks.list``, ``webhooks.create``,
   ``webhooks.get``, ``webhooks.update``, ``webhooks.delete``);
2. its body is read, then it waits ``latency`` seconds (reading first, as a
   real server does, means a write held back by ``latency`` or a ``slow``
   fault is still carried out after the client has given up on it);
3. with a rate limit, it is counted against the sandbox's one window (all
   credentials together; ``/token`` is not counted):
   over the limit, 429 with the plain-text body ``Limit exceeded`` and no
   ``Retry-After``; every answer carries ``X-Ratelimit-Limit/-Remaining/-Reset``;
4. the :class:`~komet_async.sandbox.FaultPlan` may break it, exactly as the
   Komet sandbox does (same decisions, same :func:`~komet_async.sandbox.inject.fault_response`),
   before the credentials are checked and before any data is touched;
5. the credentials are checked (everything but ``/token``): HTTP Basic with
   the app's client id and secret, or a live bearer token; otherwise 401
   ``{"error": "invalid_token"}``;
6. the route runs. Writes (create, update, delete, webhook changes) store
   their change, start webhook deliveries, and only then consult the
   ``after_store`` plan, which can lose the answer of a change that was kept.

Errors are JSON ``{"error": ..., "error_description": ...}``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final

import attrs
from aiohttp import web

from ..app import SandboxStats
from ..faults import SLOW, FaultPlan, RequestCounter
from ..inject import fault_response
from .auth import RateWindow, RateWindowState, TokenStore
from .data import KountaAPIError, KountaData
from .routes import API_PREFIX, Routes, json_response
from .webhooks import Deliverer, WebhookStore

__all__ = [
    "API_PREFIX",
    "NEXT_PAGE_STYLES",
    "KountaOptions",
    "KountaState",
    "KountaStats",
    "make_app",
]

#: How ``X-Next-Page`` is spelled: ``absolute`` (Kounta's way), ``relative``,
#: ``other_host`` (an absolute URL on another host) or ``repeat`` (page 2
#: points at itself: a pagination loop).
NEXT_PAGE_STYLES: Final = ("absolute", "relative", "other_host", "repeat")
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.define
class KountaStats(SandboxStats):
    """What a Kounta sandbox has seen: the Komet sandbox's counters, plus OAuth2 and limits.

    - ``requests``: route name -> requests received (faulted and refused ones included).
    - ``faults``: fault kind -> faults injected (``after_store`` ones included).
    - ``refreshes``: token refreshes served.
    - ``rate_limited``: requests refused with 429 by the rate limit.
    """

    refreshes: int = 0
    rate_limited: int = 0


def _check_style(_: object, __: attrs.Attribute[str], value: str) -> None:
    if value not in NEXT_PAGE_STYLES:
        raise ValueError(f"next_page must be one of {NEXT_PAGE_STYLES}, got {value!r}")


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive integer, got {value!r}")


@attrs.frozen
class KountaOptions:
    """How the sandbox spells its answers (see :class:`.KountaSandbox`)."""

    page_size: int = attrs.field(default=25, validator=_positive)
    relative_locations: bool = False
    next_page: str = attrs.field(default="absolute", validator=_check_style)
    empty_create_body: bool = False


class KountaState(RequestCounter):
    """Everything the handlers share: data, tokens, webhooks, plans, options, counters."""

    def __init__(
        self,
        data: KountaData,
        tokens: TokenStore,
        deliverer: Deliverer,
        *,
        options: KountaOptions | None = None,
        faults: FaultPlan | None = None,
        after_store: FaultPlan | None = None,
        latency: float = 0.0,
        rate_window: RateWindow | None = None,
    ) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0, got {latency!r}")
        self.data = data
        self.tokens = tokens
        self.deliverer = deliverer
        self.webhooks: WebhookStore = deliverer.store
        self.options = options or KountaOptions()
        self.faults = faults
        self.after_store = after_store
        self.latency = latency
        self.rate_window = rate_window
        self.stats = KountaStats()
        super().__init__()
        self._write_seq = 0
        self._stopping: asyncio.Event | None = None

    def __repr__(self) -> str:
        return f"<KountaState company={self.data.company_id} requests={self.stats.total}>"

    def next_write_seq(self) -> int:
        """Number the next stored write (0-based), for the ``after_store`` plan."""
        seq, self._write_seq = self._write_seq, self._write_seq + 1
        return seq

    def stopping(self) -> asyncio.Event:
        """The event set when the sandbox stops (wakes every pending delay)."""
        if self._stopping is None:
            self._stopping = asyncio.Event()
        return self._stopping

    async def pause(self, seconds: float) -> None:
        """Sleep ``seconds``, unless the sandbox stops first (then answer 503 at once)."""
        try:
            await asyncio.wait_for(self.stopping().wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return
        raise web.HTTPServiceUnavailable(text="The sandbox is shutting down.")

    def count_fault(self, kind: str) -> None:
        """Count one injected fault of ``kind``."""
        self.stats.faults[kind] = self.stats.faults.get(kind, 0) + 1


STATE_KEY: Final = web.AppKey("kounta_sandbox_state", KountaState)


def make_app(state: KountaState) -> web.Application:
    """A new ``aiohttp.web.Application`` serving ``state`` under ``/v1``."""
    app = web.Application()
    app[STATE_KEY] = state
    routes = Routes(state)
    gate = Gate(state)
    company = f"{API_PREFIX}/companies/{{cid:\\d+}}"
    add = app.router.add_route
    add("GET", f"{company}/customers", gate.wrap(routes.collection_name, routes.collection))
    add("POST", f"{company}/customers", gate.wrap("customers.create", routes.create))
    add("GET", f"{company}/customers/{{id:\\d+}}", gate.wrap("customers.get", routes.get))
    add("PUT", f"{company}/customers/{{id:\\d+}}", gate.wrap("customers.update", routes.update))
    add("DELETE", f"{company}/customers/{{id:\\d+}}", gate.wrap("customers.delete", routes.delete))
    add("GET", f"{company}/webhooks", gate.wrap("webhooks.list", routes.webhooks_list))
    add("POST", f"{company}/webhooks", gate.wrap("webhooks.create", routes.webhooks_create))
    hook = f"{company}/webhooks/{{id:\\d+}}"
    add("GET", hook, gate.wrap("webhooks.get", routes.webhooks_get))
    add("PUT", hook, gate.wrap("webhooks.update", routes.webhooks_update))
    add("DELETE", hook, gate.wrap("webhooks.delete", routes.webhooks_delete))
    add("POST", f"{API_PREFIX}/token", gate.wrap("token", routes.token, authenticate=False))
    return app


class Gate:
    """Steps 1-5 of every request: number, count, delay, limit, maybe break, authenticate."""

    def __init__(self, state: KountaState) -> None:
        self.state = state

    def wrap(
        self,
        name: str | Callable[[web.Request], str],
        run: Route,
        *,
        authenticate: bool = True,
    ) -> Route:
        """The aiohttp handler for a route called ``name`` (or named per request)."""

        async def handle(request: web.Request) -> web.StreamResponse:
            stats = self.state.stats
            stats.in_flight += 1
            stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
            try:
                route = name if isinstance(name, str) else name(request)
                return await self._handle(request, route, run, authenticate)
            finally:
                stats.in_flight -= 1

        return handle

    async def _handle(
        self, request: web.Request, name: str, run: Route, authenticate: bool
    ) -> web.StreamResponse:
        state = self.state
        seq = state.next_seq()
        arrived = time.time()
        day_seq = state.next_day_seq(arrived)
        requests = state.stats.requests
        requests[name] = requests.get(name, 0) + 1
        if request.can_read_body:
            # Read before any delay, as a real server does: a slow answer then
            # still carries out a write the client has given up waiting for.
            await request.read()
        if state.latency > 0:
            await state.pause(state.latency)
        limit: RateWindowState | None = None
        if state.rate_window is not None and name == "token":
            limit = state.rate_window.state()  # shown, not spent
        elif state.rate_window is not None:
            allowed, limit = state.rate_window.take()
            if not allowed:
                state.stats.rate_limited += 1
                # Kounta's 429: plain text, no Retry-After; only X-Ratelimit-Reset says when.
                return _with_limit(web.Response(status=429, text="Limit exceeded"), limit)
        plan = state.faults
        kind = plan.decide(seq, name, day_seq=day_seq) if plan is not None else None
        if kind is not None and plan is not None:
            state.count_fault(kind)
            if kind == SLOW:
                await state.pause(plan.slow_delay)
            else:
                return _with_limit(await fault_response(kind, request, plan, now=arrived), limit)
        if authenticate and not state.tokens.authorized(request.headers.get("Authorization")):
            response: web.StreamResponse = json_response(
                {
                    "error": "invalid_token",
                    "error_description": "The access token is missing, invalid or expired.",
                },
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="kounta", error="invalid_token"'},
            )
            return _with_limit(response, limit)
        try:
            if "cid" in request.match_info:
                _check_company(state, request)
            response = await run(request)
        except KountaAPIError as exc:
            response = json_response(exc.body(), status=exc.status)
        return _with_limit(response, limit)


def _check_company(state: KountaState, request: web.Request) -> None:
    if int(request.match_info["cid"]) != state.data.company_id:
        raise KountaAPIError(403, "forbidden", "These credentials are for another company.")


def _with_limit(response: web.StreamResponse, limit: RateWindowState | None) -> web.StreamResponse:
    if limit is not None and not response.prepared:
        response.headers.update(limit.headers())
    return response
