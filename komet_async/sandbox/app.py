"""The sandbox's aiohttp.web application: ``/api/<method>`` like the real Komet Sales API.

Every request goes through the same steps, in this order:

1. it is numbered (0, 1, 2 ... per sandbox, and 0, 1, 2 ... within its quota
   day, for ``daily_quota``) and counted under its method name (and its
   arrival time noted, when ``record_arrivals`` is on);
2. with ``throttle_per_second=N``, once N requests were let through in the
   last second it is refused at once: 429 with ``Retry-After: 1``, counted
   under :data:`THROTTLED` in ``stats.faults`` (refused requests do not count
   towards N);
3. it waits ``latency`` seconds;
4. the :class:`~komet_async.sandbox.FaultPlan` may break it (before the token
   check and before any data is touched, so a faulted request changes nothing;
   ``slow`` only delays the normal answer);
5. the token is checked (query string for GET, JSON body for POST);
6. the method runs.

The time is read from the sandbox's clock (``clock``, a
:class:`~komet_async._clock.Clock`; the system clock by default), so a test
can move time: the quota day, the throttle's second, ``arrivals`` and the
dates in 429s follow it. Delays (``latency``, ``slow``) are real waits: they
are what a client's timeouts are measured against.

Refusals come back the way Komet sends them: HTTP 200 with
``{"status": "0", "message": "..."}``; an empty list is status 0 with a
"... not found." message.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import attrs
from aiohttp import web

from .._clock import SYSTEM_CLOCK, Clock
from .data import ORDER_STATUSES, SandboxAPIError, SandboxData, dumps
from .faults import SLOW, FaultPlan, RequestCounter
from .inject import fault_response

__all__ = ["MAX_BODY_BYTES", "THROTTLED", "SandboxState", "SandboxStats", "make_app"]

#: Komet refuses request bodies over 64 KB; aiohttp answers 413 beyond this.
MAX_BODY_BYTES: Final = 64 * 1024
#: The query/body parameter carrying the token.
TOKEN_PARAMETER: Final = "authenticationToken"  # noqa: S105 - a parameter name
#: The ``stats.faults`` key counting requests refused by ``throttle_per_second``.
THROTTLED: Final = "throttled"

_loads: Callable[[bytes], Any]
try:
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover - exercised in environments without orjson
    _loads = json.loads

_STATUS_FILTER: Final = {
    "all": ORDER_STATUSES,
    **{status.lower(): (status,) for status in ORDER_STATUSES},
}

Params = Mapping[str, str]


@attrs.define
class SandboxStats:
    """What a sandbox has seen.

    - ``requests``: method name -> requests received (faulted ones included).
    - ``faults``: fault kind -> faults injected (``quota`` for the daily quota).
    - ``in_flight``: requests being handled right now; ``peak_in_flight``: the
      most at once so far (to check a client's concurrency cap).
    - ``arrivals``: with ``record_arrivals``, the monotonic time (of the
      sandbox's clock) each request arrived, in order (to check a client's
      rate); else ``None``.
    """

    requests: dict[str, int] = attrs.field(factory=dict)
    faults: dict[str, int] = attrs.field(factory=dict)
    in_flight: int = 0
    peak_in_flight: int = 0
    arrivals: list[float] | None = None

    @property
    def total(self) -> int:
        """Requests received, all methods together."""
        return sum(self.requests.values())

    @property
    def total_faults(self) -> int:
        """Faults injected, all kinds together."""
        return sum(self.faults.values())


class SandboxState(RequestCounter):
    """Everything the handlers share: the data, the token, the fault plan, the clock, counters."""

    def __init__(
        self,
        data: SandboxData,
        *,
        token: str,
        faults: FaultPlan | None = None,
        latency: float = 0.0,
        throttle_per_second: int | None = None,
        record_arrivals: bool = False,
        clock: Clock | None = None,
    ) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0, got {latency!r}")
        if throttle_per_second is not None and (
            isinstance(throttle_per_second, bool)
            or not isinstance(throttle_per_second, int)
            or throttle_per_second < 1
        ):
            raise ValueError(
                "throttle_per_second must be a positive integer or None, "
                f"got {throttle_per_second!r}"
            )
        self.data = data
        self.token = token
        self.faults = faults
        self.latency = latency
        self.throttle_per_second = throttle_per_second
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self.stats = SandboxStats(arrivals=[] if record_arrivals else None)
        # When the requests let through in the last second arrived (oldest first).
        self._admitted: collections.deque[float] = collections.deque()
        super().__init__()
        self._stopping: asyncio.Event | None = None

    def __repr__(self) -> str:
        return f"<SandboxState token=*** requests={self.stats.total}>"

    def throttles(self, now: float) -> bool:
        """Whether a request arriving at ``now`` is over ``throttle_per_second``.

        A rolling one-second window of the requests let through; a request
        that is not refused takes a place in it.
        """
        limit = self.throttle_per_second
        if limit is None:
            return False
        admitted = self._admitted
        while admitted and admitted[0] <= now - 1.0:
            admitted.popleft()
        if len(admitted) >= limit:
            return True
        admitted.append(now)
        return False

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


STATE_KEY: Final = web.AppKey("komet_sandbox_state", SandboxState)


def make_app(state: SandboxState) -> web.Application:
    """A new ``aiohttp.web.Application`` serving ``state`` under ``/api/<method>``."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE_KEY] = state
    handler = _Handler(state)
    app.router.add_route("GET", "/api/{method}", handler.handle)
    app.router.add_route("POST", "/api/{method}", handler.handle)
    return app


class _Handler:
    """The one request handler; dispatches on the method name in the path."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.methods: dict[str, tuple[str, Callable[[Any], Awaitable[bytes]]]] = {
            "customer.list": ("GET", self.customer_list),
            "product.list": ("GET", self.product_list),
            "standing.order.list": ("GET", self.standing_order_list),
            "customer.update": ("POST", self.customer_update),
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Number, count, delay, maybe break, then answer one request."""
        stats = self.state.stats
        stats.in_flight += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
        try:
            return await self._handle(request)
        finally:
            stats.in_flight -= 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        state = self.state
        method = request.match_info["method"]
        # Both numbers at arrival: on a single day they are equal, so a plan
        # decides exactly as it did before quota days existed.
        arrived = state.clock.time()
        seq = state.next_seq()
        day_seq = state.next_day_seq(arrived)
        requests = state.stats.requests
        requests[method] = requests.get(method, 0) + 1
        if state.throttle_per_second is not None or state.stats.arrivals is not None:
            now = state.clock.monotonic()
            if state.stats.arrivals is not None:
                state.stats.arrivals.append(now)
            if state.throttles(now):
                faults = state.stats.faults
                faults[THROTTLED] = faults.get(THROTTLED, 0) + 1
                return web.Response(
                    status=429,
                    body=_THROTTLED_BODY,
                    content_type="application/json",
                    headers={"Retry-After": "1"},
                )
        if request.method == "POST":
            # Read the body before any pause: a slow answer still carries out the
            # write after the client gave up, as a real slow server would.
            await request.read()
        if state.latency > 0:
            await state.pause(state.latency)
        plan = state.faults
        kind = plan.decide(seq, method, day_seq=day_seq) if plan is not None else None
        if kind is not None and plan is not None:
            faults = state.stats.faults
            faults[kind] = faults.get(kind, 0) + 1
            if kind == SLOW:
                await state.pause(plan.slow_delay)
            else:
                return await fault_response(kind, request, plan, now=arrived)
        try:
            body = await self.answer(request, method)
        except SandboxAPIError as exc:
            body = dumps({"status": "0", "message": exc.message})
        return web.Response(body=body, content_type="application/json")

    async def answer(self, request: web.Request, method: str) -> bytes:
        """The body of a non-faulted answer; refusals raise :class:`SandboxAPIError`."""
        args: Any
        if request.method == "POST":
            args = await _json_body(request)
            token = args.pop(TOKEN_PARAMETER, None)
        else:
            args = {k: v for k, v in request.query.items() if v != ""}
            token = args.pop(TOKEN_PARAMETER, None)
        if not isinstance(token, str) or not hmac.compare_digest(
            token.encode("utf-8"), self.state.token.encode("utf-8")
        ):
            raise SandboxAPIError("Invalid authentication token.")
        found = self.methods.get(method)
        if found is None:
            raise SandboxAPIError("Unknown method")
        verb, run = found
        if request.method != verb:
            raise SandboxAPIError(f"{method} must be called with {verb}.")
        return await run(args)

    async def customer_list(self, params: Params) -> bytes:
        """GET customer.list."""
        found = self.state.data.find_customers(
            id=_int(params, "id"),
            name=params.get("name"),
            code=params.get("code"),
            sales_person_id=_int(params, "salesPersonId"),
            include_inactive=params.get("includeInactive", "").lower() in ("true", "1"),
            location_id=_int(params, "locationId"),
            update_as_of=_date(params, "updateAsOf"),
        )
        if not found:
            raise SandboxAPIError("Customers not found.")
        return _ok("customers", [c.wire for c in found])

    async def product_list(self, params: Params) -> bytes:
        """GET product.list."""
        found = self.state.data.find_products(
            id=_int(params, "id"),
            description=params.get("description"),
            legacy_code=params.get("legacyCode"),
        )
        if not found:
            raise SandboxAPIError("Products not found.")
        return _ok("products", [p.wire for p in found])

    async def standing_order_list(self, params: Params) -> bytes:
        """GET standing.order.list."""
        date_from = _required_date(params, "dateFrom")
        date_to = _required_date(params, "dateTo")
        if date_from > date_to:
            raise SandboxAPIError("The dateFrom must not be after the dateTo.")
        status = params.get("status", "Active")
        statuses = _STATUS_FILTER.get(status.lower())
        if statuses is None:
            raise SandboxAPIError(
                f"Invalid status {status!r}. Valid values: All, Active, Cancelled."
            )
        found = self.state.data.find_standing_orders(
            date_from=date_from,
            date_to=date_to,
            customer=params.get("customer"),
            customer_id=_int(params, "customerId"),
            number=params.get("number"),
            location_id=_int(params, "locationId"),
            statuses=statuses,
        )
        if not found:
            raise SandboxAPIError("Orders not found.")
        return _ok_encoded("standingOrders", [o.encoded for o in found])

    async def customer_update(self, fields: dict[str, Any]) -> bytes:
        """POST customer.update."""
        record = self.state.data.update_customer(fields)
        # A string, like Komet's own answer ("customerId": "25475"), though the
        # document calls it an integer: clients must read either.
        return dumps({"status": "1", "message": "OK", "customerId": str(record.id)})


_THROTTLED_BODY: Final = dumps({"status": "0", "message": "Too many requests, slow down."})


def _ok(key: str, items: list[dict[str, Any]]) -> bytes:
    return dumps({"status": "1", "message": "OK", key: items})


def _ok_encoded(key: str, items: list[bytes]) -> bytes:
    """The bytes ``_ok`` gives, from records already encoded (see ``StandingOrderRecord``)."""
    return b'{"status":"1","message":"OK","' + key.encode() + b'":[' + b",".join(items) + b"]}"


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = _loads(raw)
    except ValueError:
        raise SandboxAPIError("Invalid JSON in the request body.") from None
    if not isinstance(body, dict):
        raise SandboxAPIError("The request body must be a JSON object.")
    return body


def _int(params: Params, name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit()):
        raise SandboxAPIError(f"Invalid {name}: {raw!r} is not a number.")
    return int(text)


def _required_date(params: Params, name: str) -> dt.date:
    found = _date(params, name)
    if found is None:
        raise SandboxAPIError(f"The {name} parameter is required (format YYYY-MM-DD).")
    return found


def _date(params: Params, name: str) -> dt.date | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise SandboxAPIError(
            f"Invalid {name}: {raw!r} is not a date in the format YYYY-MM-DD."
        ) from None
