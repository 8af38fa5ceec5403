"""The chaos soak: ``python -m benchmarks.chaos [--requests 50000] [--seed 7]``.

One :class:`~komet_async.KometClient` and one :class:`~komet_async.kounta.KountaClient`
send about ``--requests`` requests between them (60% Komet, 40% Kounta) to a
:class:`~komet_async.sandbox.KometSandbox` and a
:class:`~komet_async.sandbox.kounta.KountaSandbox` that break about 20% of them
with every fault kind the sandbox has (5xx, 429 with ``Retry-After`` seconds,
with an HTTP date and without, resets, cut-off bodies, slow answers, HTML
bodies), from one seeded :class:`~komet_async.sandbox.FaultPlan`. Kounta creates
also lose about 20% of their answers after the server stored them
(``after_store``: 5xx, resets, cut-off bodies, slow answers, HTML bodies).

The work: point lookups, whole listings, date-window pulls and paginated
listings resumed from their cursor after an error, Komet updates and Kounta
creates with a ``reference_id``. What is checked (each failure is a
"violation"; :func:`soak` returns them with the figures, ``tests/chaos``
asserts there are none):

- every logical call returns exactly the records the sandbox holds, or raises
  a documented :class:`~komet_async.KometError` subclass;
- bulk pulls (resumed as often as needed) lose no record and double none;
- no Kounta customer is created twice, and a create that returned a record
  created exactly that one;
- no call makes more attempts than the :class:`~komet_async.RetryPolicy`
  allows (counted per call and URL with an aiohttp trace: each call is tagged
  by a context variable, and the tag travels in a header the sandboxes log);
- no client sends more than its :class:`~komet_async.RateLimit` in any
  one-second window (``per_second + burst``, from the sandboxes' arrival times);
- the soak ends within a bound computed from the faults injected (pacing at
  the rate limit, every 429 cool-down in a row, slow answers and backoffs
  spread over the concurrency), with slack for the CPU.

The script prints the figures as a table; the exit status is 1 when a
criterion failed.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import contextvars
import datetime as dt
import functools
import itertools
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import aiohttp
from aiohttp import web

from komet_async import (
    CustomerUpdate,
    KometClient,
    KometError,
    RateLimit,
    RetryPolicy,
    StandingOrder,
    errors,
)
from komet_async._session import without_hidden_resends
from komet_async.bulk import gather
from komet_async.kounta import BasicAuth, KountaClient, NewCustomer
from komet_async.kounta import Customer as KountaCustomer
from komet_async.pagination import AsyncPaginator
from komet_async.sandbox import FAULT_KINDS, FaultPlan, KometSandbox
from komet_async.sandbox.kounta import KountaSandbox

T = TypeVar("T")

#: The header carrying a call's tag from the client to the sandbox's log.
CALL_HEADER: Final = "X-Chaos-Call"
#: Errors a caller may see, as documented in ``komet_async.errors``.
DOCUMENTED_ERRORS: Final = frozenset(getattr(errors, name) for name in errors.__all__)
#: Every kind the sandbox can inject at random (the daily quota is not random).
KINDS: Final = tuple(FAULT_KINDS)
#: What an ``after_store`` fault may do to a create the server kept. Not a 429:
#: a 429 says the request was not processed, which would be a lie after storing.
LOST_ANSWER_KINDS: Final = ("http_500", "http_502", "http_503", "http_504", "reset", "cutoff")

#: The criteria, as the categories violations are filed under.
RECORDS: Final = "records"  # a call returned something else than the sandbox holds
ERRORS: Final = "errors"  # a call raised something else than a documented KometError
PULLS: Final = "pulls"  # a bulk pull lost or doubled a record
CREATES: Final = "creates"  # a Kounta customer created twice, or a create not kept
ATTEMPTS: Final = "attempts"  # a call made more attempts than the policy allows
RATE: Final = "rate"  # a client sent more than its rate limit in one second
TIME: Final = "time"  # the soak outlasted its bound
HARNESS: Final = "harness"  # the soak's own bookkeeping does not add up
CRITERIA: Final = (RECORDS, ERRORS, PULLS, CREATES, ATTEMPTS, RATE, TIME, HARNESS)

_call: contextvars.ContextVar[str] = contextvars.ContextVar("chaos_call", default="-")


@dataclass(frozen=True)
class SoakConfig:
    """How big and how hostile the soak is."""

    requests: int = 10_000
    seed: int = 7
    fault_rate: float = 0.2
    #: Relative weight of ``html`` against 1.0 for every other kind: an HTML
    #: body is not retried, so it ends the call it hits.
    html_weight: float = 0.5
    komet_share: float = 0.6
    #: Seconds a ``slow`` fault holds the answer; above ``timeout``, so it times out.
    slow_delay: float = 0.65
    #: Per-attempt timeout. A Kounta create that timed out is looked up after
    #: another ``timeout``: ``2 * timeout`` must exceed ``slow_delay`` with room
    #: to spare, or the lookup could miss a create the server still holds (a
    #: 0.2 s margin, 0.3 s against 0.4 s, let one create in 1,500 through twice
    #: on a busy machine; this is 0.55 s).
    timeout: float = 0.6
    #: The Retry-After the 429 faults send (the sandbox's own default is 1 s).
    retry_after: float = 0.05
    attempts: int = 4
    wait_initial: float = 0.01
    wait_max: float = 0.05
    #: Requests per second each client may send, and its burst.
    per_second: float = 250.0
    burst: int = 10
    #: Requests in flight per client, and logical calls under way per client.
    max_concurrency: int = 16
    calls_in_flight: int = 24
    #: Resumes a bulk pull may need before it gives up (raising its last error).
    max_resumes: int = 50

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy both clients use."""
        return RetryPolicy(
            attempts=self.attempts,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
            max_retry_after=5.0,
        )

    @property
    def rate_limit(self) -> RateLimit:
        """The rate limit each client is given."""
        return RateLimit(per_second=self.per_second, burst=self.burst)

    def plan(self, salt: int) -> FaultPlan:
        """The fault plan for one sandbox (``salt`` keeps the two sandboxes' draws apart)."""
        weights = {kind: self.html_weight if kind == "html" else 1.0 for kind in KINDS}
        return FaultPlan(
            rate=self.fault_rate,
            seed=self.seed * 1000 + salt,
            weights=weights,
            slow_delay=self.slow_delay,
            retry_after=self.retry_after,
        )

    def after_store(self) -> FaultPlan:
        """The plan that loses answers of Kounta creates the server stored."""
        return FaultPlan(
            rate=self.fault_rate,
            seed=self.seed * 1000 + 3,
            weights=dict.fromkeys((*LOST_ANSWER_KINDS, "slow", "html"), 1.0),
            slow_delay=self.slow_delay,
            retry_after=self.retry_after,
        )


# --- what the clients send and the sandboxes see ------------------------------------


def _key(call: str, method: str, url: str) -> tuple[str, str, str]:
    """One call's requests to one URL (the token left out of the query)."""
    parts = urllib.parse.urlsplit(url)
    query = sorted(
        (k, v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if k != "authenticationToken"
    )
    return call, method, f"{parts.path}?{urllib.parse.urlencode(query)}"


@dataclass
class Wiretap:
    """Client-side attempts and server-side arrivals, both keyed by call and URL."""

    attempts: collections.Counter[tuple[str, str, str]] = field(default_factory=collections.Counter)
    arrivals: collections.Counter[tuple[str, str, str]] = field(default_factory=collections.Counter)
    arrival_times: dict[str, list[float]] = field(default_factory=dict)
    #: When each request went on the wire, per API (aiohttp's resends included).
    send_times: dict[str, list[float]] = field(default_factory=dict)

    def session(self, connections: int) -> aiohttp.ClientSession:
        """A session that tags each request with its call and counts attempts."""
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._on_request_start)
        trace.on_request_headers_sent.append(self._on_headers_sent)
        # The soak's session only tags requests: it must send what the client's
        # own session would, so no resend behind the retry policy either.
        return without_hidden_resends(
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=connections),
                trace_configs=[trace],
                middlewares=(self._tag,),
            )
        )

    async def _on_request_start(
        self,
        session: aiohttp.ClientSession,
        context: Any,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        # Once per session.request(): one attempt of the library, whatever
        # aiohttp itself resends on a broken keep-alive connection.
        self.attempts[_key(_call.get(), params.method, str(params.url))] += 1

    async def _on_headers_sent(
        self,
        session: aiohttp.ClientSession,
        context: Any,
        params: aiohttp.TraceRequestHeadersSentParams,
    ) -> None:
        # Once per request on the wire, aiohttp's own resends included.
        api = _call.get().partition(":")[0]
        self.send_times.setdefault(api, []).append(time.monotonic())

    @staticmethod
    async def _tag(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        request.headers[CALL_HEADER] = _call.get()
        return await handler(request)

    def listen(self, app: web.Application, api: str) -> None:
        """Log each request ``app`` receives (call tag, URL, arrival time)."""
        times = self.arrival_times.setdefault(api, [])

        @web.middleware
        async def log(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            times.append(time.monotonic())
            call = request.headers.get(CALL_HEADER, "-")
            self.arrivals[_key(call, request.method, str(request.rel_url))] += 1
            return await handler(request)

        app.middlewares.append(log)


def busiest_second(times: Sequence[float]) -> int:
    """The most arrivals in any one-second window (sliding, ``[t, t + 1)``)."""
    ordered = sorted(times)
    return max((bisect.bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0)


# --- the figures ----------------------------------------------------------------------


@dataclass
class Figures:
    """What one soak did and found."""

    config: SoakConfig
    requests: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    faults: dict[str, collections.Counter[str]] = field(default_factory=dict)
    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    records_verified: int = 0
    resumes: int = 0
    creates: int = 0
    customers_created: int = 0
    max_attempts: dict[str, int] = field(default_factory=dict)
    max_create_posts: int = 0
    #: The most reference lookups (GETs, retries included) one create sent.
    max_create_lookups: int = 0
    max_arrivals: dict[str, int] = field(default_factory=dict)
    hidden_resends: dict[str, int] = field(default_factory=dict)
    busiest_second: dict[str, int] = field(default_factory=dict)
    busiest_arrivals: dict[str, int] = field(default_factory=dict)
    wall_time: float = 0.0
    time_bound: float = 0.0
    bound_parts: dict[str, float] = field(default_factory=dict)
    #: Criterion -> what failed it (see :data:`CRITERIA`); empty lists when all held.
    violations: dict[str, list[str]] = field(
        default_factory=lambda: {criterion: [] for criterion in CRITERIA}
    )
    #: One message per kind of error surfaced (for ``--verbose``).
    samples: dict[str, str] = field(default_factory=dict)

    def violation(self, criterion: str, message: str) -> None:
        """Record a failed criterion (the first 20 messages of each are kept)."""
        found = self.violations[criterion]
        if len(found) < 20:
            found.append(message)
        elif len(found) == 20:
            found.append("... more left out")

    @property
    def failed(self) -> list[str]:
        """The criteria that failed."""
        return [criterion for criterion, found in self.violations.items() if found]

    @property
    def total_requests(self) -> int:
        """Requests the sandboxes received, both together."""
        return sum(self.requests.values())

    @property
    def total_faults(self) -> collections.Counter[str]:
        """Faults injected per kind, both sandboxes together."""
        total: collections.Counter[str] = collections.Counter()
        for counts in self.faults.values():
            total.update(counts)
        return total

    def rows(self) -> list[tuple[str, str]]:
        """The figures as (name, value) rows."""
        total = self.total_faults
        injected = sum(total.values())
        rows = [
            ("requests received", _per_api(self.requests)),
            ("attempts sent (client stats)", _per_api(self.attempts)),
            ("retries", _per_api(self.retries)),
            ("aiohttp's own resends", _per_api(self.hidden_resends)),
            (
                "faults injected",
                f"{injected:,} ({injected / max(1, self.total_requests):.1%} of requests)",
            ),
        ]
        rows += [(f"  {kind}", f"{total.get(kind, 0):,}") for kind in (*KINDS,)]
        rows += [
            ("logical calls", f"{sum(self.calls.values()):,} ({_counts(self.calls)})"),
            ("errors surfaced", _counts(self.errors) or "none"),
            ("bulk-pull resumes", f"{self.resumes:,}"),
            ("records verified", f"{self.records_verified:,}"),
            ("Kounta creates", f"{self.creates:,} calls, {self.customers_created:,} customers"),
            (
                "most attempts for one call",
                f"{_per_api(self.max_attempts)} (a create: {self.max_create_posts} POSTs, "
                f"{self.max_create_lookups} lookup GETs; policy {self.config.attempts})",
            ),
            ("most requests seen for one call", _per_api(self.max_arrivals)),
            (
                "busiest second, sent",
                f"{_per_api(self.busiest_second)} (limit "
                f"{self.config.per_second:g}/s + burst {self.config.burst})",
            ),
            ("busiest second, arrived", _per_api(self.busiest_arrivals)),
            (
                "wall time",
                f"{self.wall_time:.1f} s (bound {self.time_bound:.1f} s: "
                + ", ".join(f"{k} {v:.1f}" for k, v in self.bound_parts.items())
                + ")",
            ),
            ("criteria failed", ", ".join(self.failed) or "none"),
        ]
        return rows

    def table(self) -> str:
        """The figures as an aligned two-column table."""
        rows = self.rows()
        width = max(len(name) for name, _ in rows)
        lines = [f"chaos soak, seed {self.config.seed}"]
        lines += [f"{name.ljust(width)}  {value}" for name, value in rows]
        lines += [f"  ! {c}: {v}" for c, found in self.violations.items() for v in found]
        return "\n".join(lines)


def _per_api(values: dict[str, int]) -> str:
    return ", ".join(f"{api} {n:,}" for api, n in values.items())


def _counts(counter: collections.Counter[str]) -> str:
    return ", ".join(f"{k} {n:,}" for k, n in sorted(counter.items()))


# --- running logical calls ----------------------------------------------------------


class Calls:
    """Runs logical calls: each tagged, its outcome classified and counted."""

    def __init__(self, figures: Figures, api: str) -> None:
        self.figures = figures
        self.api = api
        self._ids = itertools.count()

    async def run(self, kind: str, call: Callable[[], Awaitable[int]]) -> bool:
        """Run ``call`` (returning the records it verified); whether it returned."""
        figures = self.figures
        tag = _call.set(f"{self.api}:{kind}:{next(self._ids)}")
        figures.calls[f"{self.api} {kind}"] += 1
        try:
            verified = await call()
        except KometError as exc:
            self.surfaced(kind, exc)
            return False
        except Exception as exc:  # the very thing the soak looks for
            figures.violation(ERRORS, f"{self.api} {kind}: {type(exc).__name__}: {exc}")
            return False
        finally:
            _call.reset(tag)
        # Not ``+= await call()``: that reads the total before awaiting.
        figures.records_verified += verified
        return True

    def surfaced(self, kind: str, exc: KometError) -> None:
        """Count an error the caller saw; one not in ``komet_async.errors`` is a violation."""
        self.figures.errors[type(exc).__name__] += 1
        self.figures.samples.setdefault(f"{self.api} {kind} {type(exc).__name__}", str(exc))
        if type(exc) not in DOCUMENTED_ERRORS:
            self.figures.violation(ERRORS, f"{self.api} {kind}: undocumented {type(exc).__name__}")

    async def all(
        self, kind: str, calls: Iterable[Callable[[], Awaitable[int]]], concurrency: int
    ) -> list[bool]:
        """Run ``calls`` ``concurrency`` at a time; whether each returned."""
        results = await gather(
            [functools.partial(self.run, kind, call) for call in calls], concurrency=concurrency
        )
        return [bool(r.unwrap()) for r in results]

    def check(self, ok: bool, criterion: str, message: str) -> None:
        """A violation of ``criterion`` unless ``ok``."""
        if not ok:
            self.figures.violation(criterion, f"{self.api}: {message}")

    async def pull(self, make: Callable[[str | None], AsyncPaginator[T]]) -> list[T]:
        """Every item of a paginated pull, resumed from its cursor after each error."""
        items: list[T] = []
        cursor: str | None = None
        errors_seen = 0
        call = _call.get()
        while True:
            # Each resume is a call of its own: it fetches the failed page again.
            tag = _call.set(f"{call}/resume{errors_seen}" if errors_seen else call)
            paginator = make(cursor)
            try:
                async with paginator:
                    async for page in paginator.pages():
                        items.extend(page.items)
                return items
            except KometError as exc:
                # Surfaced to the caller, who resumes: counted, then carry on.
                self.surfaced("pull", exc)
                errors_seen += 1
                cursor = paginator.next_cursor
                if cursor is None or errors_seen > self.figures.config.max_resumes:
                    raise
                self.figures.resumes += 1
            finally:
                _call.reset(tag)


def exactly(calls: Calls, what: str, got: Sequence[Any], want: Sequence[Any]) -> int:
    """Check a pull returned ``want``: same records, none lost, none doubled."""
    ids: collections.Counter[Any] = collections.Counter(getattr(item, "id", None) for item in got)
    doubled = sorted(k for k, n in ids.items() if n > 1)
    calls.check(not doubled, PULLS, f"{what}: records doubled: {doubled[:10]}")
    missing = {w.id for w in want} - set(ids)
    calls.check(not missing, PULLS, f"{what}: records lost: {sorted(missing)[:10]}")
    calls.check(
        sorted(got, key=lambda r: r.id) == sorted(want, key=lambda r: r.id),
        RECORDS,
        f"{what}: records differ from the sandbox's",
    )
    return len(got)


# --- the Komet side -------------------------------------------------------------------


async def komet_track(
    config: SoakConfig, box: KometSandbox, komet: KometClient, figures: Figures, budget: int
) -> None:
    """Reads (lookups, listings, date-window pulls), then updates, through ``komet``."""
    calls = Calls(figures, "komet")
    data = box.data
    customers = {c.id: c for c in data.customers}
    products = {p.id: p for p in data.products}
    orders = data.standing_orders
    status_of = {o.id: o.status for o in data.standing_order_records.values()}
    first, last = data.date_span
    locations = [loc.id for loc in data.locations]

    def orders_with(status: str) -> list[StandingOrder]:
        return [o for o in orders if status in ("All", status_of[o.id])]

    def lookup_customer(i: int) -> Callable[[], Awaitable[int]]:
        async def call() -> int:
            found = await komet.customers.list(id=i, include_inactive=True)
            calls.check(found == [customers[i]], RECORDS, f"customer {i}: {found!r}")
            return len(found)

        return call

    def lookup_product(i: int) -> Callable[[], Awaitable[int]]:
        async def call() -> int:
            found = await komet.products.list(id=i)
            calls.check(found == [products[i]], RECORDS, f"product {i}: {found!r}")
            return len(found)

        return call

    def location(i: int) -> Callable[[], Awaitable[int]]:
        async def call() -> int:
            found = await komet.customers.list(location_id=i, include_inactive=True)
            want = [c for c in data.customers if data.customer_records[c.id].location_id == i]
            return exactly(calls, f"location {i}", found, want)

        return call

    async def everyone() -> int:
        return exactly(
            calls, "customers", await komet.customers.list(include_inactive=True), data.customers
        )

    async def catalogue() -> int:
        found = await komet.products.list()
        calls.check(
            found == data.products, RECORDS, "products: the list differs from the sandbox's"
        )
        return len(found)

    def order_pull(status: str, days: int) -> Callable[[], Awaitable[int]]:
        async def call() -> int:
            found = await calls.pull(
                lambda cursor: komet.standing_orders.iter(
                    date_from=first,
                    date_to=last,
                    window=dt.timedelta(days=days),
                    status=status,
                    concurrency=4,
                    cursor=cursor,
                )
            )
            return exactly(calls, f"orders {status}/{days}d", found, orders_with(status))

        return call

    pulls = [
        order_pull(status, days)
        for status, days in itertools.islice(
            itertools.cycle(itertools.product(("All", "Active", "Cancelled"), (30, 45, 61))),
            max(6, budget // 1200),
        )
    ]
    updates = max(20, budget // 50)
    # What the fixed work costs, roughly, in requests; lookups fill the rest.
    fixed = len(pulls) * 30 + len(locations) + 2 + updates
    lookups = max(0, int((budget / 1.25) - fixed))
    ids, pids = sorted(customers), sorted(products)
    reads: list[Callable[[], Awaitable[int]]] = [everyone, catalogue]
    reads += [location(i) for i in locations]
    reads += pulls
    reads += [
        lookup_customer(ids[n // 2 % len(ids)])
        if n % 2 == 0
        else lookup_product(pids[n // 2 % len(pids)])
        for n in range(lookups)
    ]
    await calls.all("read", reads, config.calls_in_flight)

    # Updates: a new name for each customer, checked on the sandbox's records.
    targets = [ids[n % len(ids)] for n in range(updates)]
    names = {i: f"{customers[i].name[:180]} (chaos {n})" for n, i in enumerate(targets)}

    def update(i: int) -> Callable[[], Awaitable[int]]:
        async def call() -> int:
            got = await komet.customers.update(CustomerUpdate(customer_id=i, name=names[i]))
            calls.check(got == i, RECORDS, f"update {i} returned {got}")
            return 1

        return call

    done = await calls.all("update", [update(i) for i in targets], config.calls_in_flight)
    await asyncio.sleep(config.slow_delay)  # updates still held back land first
    for i, ok in zip(targets, done, strict=True):
        name = data.customer_records[i].wire["name"]
        if ok:
            calls.check(name == names[i], RECORDS, f"update {i} returned but the name is {name!r}")
        else:
            # Failed: applied or not, but nothing else.
            calls.check(name in (names[i], customers[i].name), RECORDS, f"update {i} left {name!r}")


# --- the Kounta side ------------------------------------------------------------------


async def kounta_track(
    config: SoakConfig, box: KountaSandbox, kounta: KountaClient, figures: Figures, budget: int
) -> None:
    """Reads (gets, lookups, listings), then creates, then a last listing, through ``kounta``."""
    calls = Calls(figures, "kounta")
    data = box.data
    full = {c.id: c for c in data.customers}
    listed = data.listed

    def get(i: int) -> Callable[[], Awaitable[int]]:
        async def call() -> int:
            found = await kounta.customers.get(i)
            calls.check(found == full[i], RECORDS, f"customer {i}: {found!r}")
            return 1

        return call

    def find(email: str) -> Callable[[], Awaitable[int]]:
        want = data.lookup({"email": email})

        async def call() -> int:
            found = await kounta.customers.find(email=email)
            calls.check(
                want is not None and found == full[want], RECORDS, f"find {email}: {found!r}"
            )
            return 1

        return call

    async def listing(want: list[KountaCustomer]) -> int:
        found = await calls.pull(lambda cursor: kounta.customers.list(cursor=cursor))
        return exactly(calls, "listing", found, want)

    pages = -(-len(listed) // box.options.page_size)
    creates = max(10, budget * 3 // 40)  # 7.5% of the budget: 300 at CI size
    emails = [c.email for c in full.values() if c.email]
    finds = budget // 20
    gets = max(0, int(budget / 1.25) - 2 * pages - 2 * finds - 2 * creates)
    ids = sorted(full)
    reads: list[Callable[[], Awaitable[int]]] = [lambda: listing(listed)]
    reads += [find(emails[n % len(emails)]) for n in range(finds)]
    reads += [get(ids[n % len(ids)]) for n in range(gets)]
    await calls.all("read", reads, config.calls_in_flight)

    # Creates, each with its own reference id: a lost answer is looked up, not resent.
    references = [f"chaos-{config.seed}-{n}" for n in range(creates)]
    returned: dict[str, KountaCustomer] = {}

    def create(n: int, reference: str) -> Callable[[], Awaitable[int]]:
        async def call() -> int:
            created = await kounta.customers.create(
                NewCustomer(
                    first_name=f"Chaos{n}",
                    last_name="Soak",
                    email=f"chaos{n}@example.com",
                    reference_id=reference,
                )
            )
            returned[reference] = created
            return 1

        return call

    before = len(data)
    await calls.all(
        "create", [create(n, r) for n, r in enumerate(references)], config.calls_in_flight
    )
    await asyncio.sleep(2 * config.slow_delay)  # creates still held back land first
    figures.creates = creates
    figures.customers_created = len(data) - before
    stored = collections.Counter(c.reference_id for c in data.customers)
    for reference in references:
        copies = stored.get(reference, 0)
        calls.check(copies <= 1, CREATES, f"create {reference}: {copies} customers")
        if reference in returned:
            got = returned[reference]
            calls.check(copies == 1, CREATES, f"create {reference} returned, {copies} stored")
            calls.check(got == data.customer(got.id), RECORDS, f"create {reference}: {got!r}")
            calls.check(got.reference_id == reference, RECORDS, f"create {reference}: {got!r}")
    figures.records_verified += len(returned)
    await calls.run("listing", lambda: listing(data.listed))


# --- the soak -------------------------------------------------------------------------


async def soak(config: SoakConfig | None = None) -> Figures:
    """Run the soak; return its figures (``figures.violations`` lists what failed)."""
    config = config or SoakConfig()
    figures = Figures(config)
    tap = Wiretap()
    komet_box = KometSandbox(
        seed=config.seed,
        customers=1000,
        products=500,
        standing_orders=300,
        faults=config.plan(1),
        record_arrivals=True,
    )
    kounta_box = KountaSandbox(
        seed=config.seed, customers=1003, faults=config.plan(2), after_store=config.after_store()
    )
    tap.listen(komet_box.app, "komet")
    tap.listen(kounta_box.app, "kounta")
    komet_budget = int(config.requests * config.komet_share)
    kounta_budget = config.requests - komet_budget
    common: dict[str, Any] = {
        "retry": config.policy,
        "rate_limit": config.rate_limit,
        "timeout": config.timeout,
        "max_concurrency": config.max_concurrency,
    }
    async with komet_box, kounta_box:
        komet_session = tap.session(config.max_concurrency)
        kounta_session = tap.session(config.max_concurrency)
        async with (
            komet_session,
            kounta_session,
            KometClient(
                komet_box.token, base_url=komet_box.base_url, session=komet_session, **common
            ) as komet,
            KountaClient(
                kounta_box.company_id,
                auth=BasicAuth(kounta_box.client_id, kounta_box.client_secret),
                base_url=kounta_box.base_url,
                session=kounta_session,
                **common,
            ) as kounta,
        ):
            started = time.monotonic()
            await asyncio.gather(
                komet_track(config, komet_box, komet, figures, komet_budget),
                kounta_track(config, kounta_box, kounta, figures, kounta_budget),
            )
            figures.wall_time = time.monotonic() - started
        figures.requests = {"komet": komet_box.stats.total, "kounta": kounta_box.stats.total}
        figures.faults = {
            "komet": collections.Counter(komet_box.stats.faults),
            "kounta": collections.Counter(kounta_box.stats.faults),
        }
        figures.attempts = {"komet": komet.stats.requests, "kounta": kounta.stats.requests}
        figures.retries = {"komet": komet.stats.retries, "kounta": kounta.stats.retries}
        komet_arrivals = komet_box.stats.arrivals or []
    judge(config, figures, tap, komet_arrivals)
    return figures


def judge(config: SoakConfig, figures: Figures, tap: Wiretap, komet_arrivals: list[float]) -> None:
    """Check the criteria that look at the whole run: attempts, rate, time."""
    attempts = config.attempts
    for api in ("komet", "kounta"):
        mine = {k: n for k, n in tap.attempts.items() if k[0].startswith(f"{api}:")}
        plain = [n for k, n in mine.items() if not k[0].startswith("kounta:create")]
        figures.max_attempts[api] = max(plain, default=0)
        for (call, method, url), n in mine.items():
            limit = attempts
            if call.startswith("kounta:create"):
                # The create's loop is its only retry loop: each send is one
                # attempt, so at most ``attempts`` POSTs in all, whatever
                # mixture of 429s, resends and lookups (see
                # tests/chaos/test_findings.py). Before each resend of a POST
                # that may have been stored it looks the reference up: at most
                # ``attempts - 1`` lookups, each a GET of its own retried up to
                # ``attempts`` times.
                if method == "POST":
                    figures.max_create_posts = max(figures.max_create_posts, n)
                elif "reference_id=" in url:
                    figures.max_create_lookups = max(figures.max_create_lookups, n)
                    limit = (attempts - 1) * attempts
            if n > limit:
                figures.violation(
                    ATTEMPTS, f"{call} {method} {url}: {n} attempts, the policy allows {limit}"
                )
        figures.max_arrivals[api] = max(
            (n for k, n in tap.arrivals.items() if k[0].startswith(f"{api}:")), default=0
        )
        figures.hidden_resends[api] = figures.requests[api] - figures.attempts[api]
        figures.busiest_second[api] = busiest_second(tap.send_times.get(api, []))
        figures.busiest_arrivals[api] = busiest_second(tap.arrival_times[api])
        allowed = config.per_second + config.burst
        if figures.busiest_second[api] > allowed:
            figures.violation(
                RATE,
                f"{api}: {figures.busiest_second[api]} requests sent in one second; "
                f"the limit is {config.per_second:g}/s with a burst of {config.burst}",
            )
    if len(komet_arrivals) != len(tap.arrival_times["komet"]):
        figures.violation(HARNESS, "komet: the sandbox's arrivals and the soak's log disagree")
    untagged = sum(n for k, n in tap.arrivals.items() if k[0] == "-")
    if untagged:
        figures.violation(HARNESS, f"{untagged} requests arrived without a call tag")
    figures.time_bound, figures.bound_parts = time_bound(config, figures)
    if figures.wall_time > figures.time_bound:
        figures.violation(
            TIME,
            f"the soak took {figures.wall_time:.1f} s, over its bound of "
            f"{figures.time_bound:.1f} s",
        )


def time_bound(config: SoakConfig, figures: Figures) -> tuple[float, dict[str, float]]:
    """How long the soak may take, from what was injected.

    Both clients run at once, so the slower one sets the pace:

    - pacing: its requests at ``per_second``;
    - cool-downs: a 429 pauses the whole client, so every 429 of the client
      counted in full, one after another (``Retry-After`` seconds, twice that
      for the HTTP date, the first backoff without one);
    - slow answers and after-store losses hold one slot each for the timeout
      (a create's lookup then waits the timeout again), retries back off at
      most ``wait_max``: all spread over the client's concurrency;
    - slack: 1.5x the above plus 10 s for CPU on a busy two-core machine.
    """
    parts: dict[str, float] = {}
    worst = 0.0
    for api, faults in figures.faults.items():
        pacing = figures.requests[api] / config.per_second
        cooling = (
            faults.get("429_seconds", 0) * config.retry_after
            + faults.get("429_date", 0) * 2 * config.retry_after
            + faults.get("429_none", 0) * config.wait_initial
        )
        held = (
            faults.get("slow", 0) * 2 * config.timeout
            + figures.retries.get(api, 0) * config.wait_max
            + (figures.creates if api == "kounta" else 0) * 0.2 * 2 * config.timeout
        ) / config.max_concurrency
        total = pacing + cooling + held
        if total >= worst:
            worst = total
            parts = {"pacing": pacing, "429 cool-downs": cooling, "slow and backoff": held}
    bound = 1.5 * worst + 10.0
    return bound, parts


def run(argv: Sequence[str] | None = None) -> Figures:
    """Run the soak as the command line asks; print the figures and return them."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000, help="requests in all")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument(
        "--verbose", action="store_true", help="also print one message per error kind"
    )
    args = parser.parse_args(argv)
    config = SoakConfig(requests=args.requests, seed=args.seed, fault_rate=args.fault_rate)
    figures = asyncio.run(soak(config))
    print(figures.table())
    if args.verbose:
        for where, message in sorted(figures.samples.items()):
            print(f"{where}: {message}")
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: 0 when every criterion held, 1 otherwise."""
    return 1 if run(argv).failed else 0


if __name__ == "__main__":
    sys.exit(main())
