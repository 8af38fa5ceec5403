"""Adaptive throttling: the CUBIC-like curve on fake time; convergence on virtual time and real."""

from __future__ import annotations

import asyncio
import collections
import itertools
import re
import selectors
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from komet_async import KometClient, RateLimit, RateLimitedError, RetryPolicy
from komet_async._ratelimit import (
    ADAPTIVE_BETA,
    ADAPTIVE_MIN_RATE,
    ADAPTIVE_SCALE,
    AdaptiveBudget,
    LocalBudget,
    RateLimiter,
)
from komet_async.sandbox import KometSandbox
from komet_async.testing import FakeClock

from .conftest import TOKEN

CUSTOMERS = re.compile(r"^https://api\.kometsales\.com/api/customer\.list\?.*$")
OK = {"status": "1", "message": "OK", "customers": [{"id": "1", "name": "Flores SAS"}]}


def adaptive(clock: FakeClock, per_second: float = 200.0, burst: int = 1) -> AdaptiveBudget:
    limiter = RateLimiter(
        RateLimit(per_second=per_second, burst=burst, adaptive=True),
        max_concurrency=100,
        max_wait=60.0,
        clock=clock,
    )
    assert isinstance(limiter.budget, AdaptiveBudget)
    return limiter.budget


async def succeed(
    budget: AdaptiveBudget, clock: FakeClock, *, per_second: float, seconds: float
) -> None:
    """Feed the budget successes at a steady rate for ``seconds``."""
    for _ in range(round(per_second * seconds)):
        clock.advance(1.0 / per_second)
        await budget.record(status=200, cool_down=None, state=None)


async def throttle(budget: AdaptiveBudget, cool_down: float | None = None) -> None:
    await budget.record(status=429, cool_down=cool_down, state=None)


def curve(last_max: float, t: float) -> float:
    """The reference W(t) = C (t - K)^3 + last_max."""
    k = (last_max * (1 - ADAPTIVE_BETA) / ADAPTIVE_SCALE) ** (1 / 3)
    return float(ADAPTIVE_SCALE * (t - k) ** 3 + last_max)


# --- configuration -------------------------------------------------------------


def test_adaptive_needs_a_ceiling() -> None:
    """RateLimit(adaptive=True) without per_second is refused."""
    with pytest.raises(ValueError, match="adaptive=True needs per_second"):
        RateLimit(adaptive=True)


def test_limiter_picks_the_adaptive_budget_only_when_asked() -> None:
    """adaptive=True gives an AdaptiveBudget that hears every response; the default does not."""
    clock = FakeClock()
    budget = adaptive(clock)
    assert budget.learns_from_responses is True
    assert budget.rate == 200.0
    plain = RateLimiter(RateLimit(per_second=5), max_concurrency=1, max_wait=1, clock=clock)
    assert type(plain.budget) is LocalBudget
    assert not getattr(plain.budget, "learns_from_responses", False)
    assert "AdaptiveBudget(" in repr(budget)


# --- the curve -----------------------------------------------------------------


async def test_starts_at_the_ceiling_and_stays_there_on_success() -> None:
    """Before any 429 the rate is the ceiling, and successes never push it above."""
    clock = FakeClock(start=0.0)
    budget = adaptive(clock, per_second=100)
    await succeed(budget, clock, per_second=100, seconds=3)
    assert budget.rate == 100.0


async def test_measured_rate_counts_successes_of_the_last_second() -> None:
    """Thirty successes a second measure as about 30/s; two idle seconds measure as 0."""
    clock = FakeClock(start=0.0)
    budget = adaptive(clock)
    await succeed(budget, clock, per_second=30, seconds=2.5)
    assert budget.measured_rate() == pytest.approx(30, rel=0.1)
    clock.advance(2.0)
    assert budget.measured_rate() == 0.0


async def test_a_429_cuts_to_beta_times_the_rate_the_server_let_through() -> None:
    """At 50 successes/s under a 200/s ceiling, a 429 sets last_max ~50 and the rate to 0.7x."""
    clock = FakeClock(start=0.0)
    budget = adaptive(clock, per_second=200)
    await succeed(budget, clock, per_second=50, seconds=2)
    await throttle(budget)
    assert budget.last_max == pytest.approx(50, rel=0.05)
    assert budget.rate == pytest.approx(ADAPTIVE_BETA * budget.last_max)


async def test_a_429_with_nothing_measured_is_a_plain_decrease() -> None:
    """With no recent success to go by, a 429 multiplies the current rate by 0.7."""
    clock = FakeClock(start=0.0)
    budget = adaptive(clock, per_second=100)
    await throttle(budget)
    assert budget.last_max == 100.0
    assert budget.rate == pytest.approx(70.0)


async def test_rate_recovers_along_the_cubic_curve_up_to_the_ceiling() -> None:
    """After a cut the rate follows W(t): back to last_max at t=K, then above it, capped."""
    clock = FakeClock(start=0.0)
    budget = adaptive(clock, per_second=100)
    await succeed(budget, clock, per_second=40, seconds=2)
    await throttle(budget)
    last_max, cut_at = budget.last_max, clock.monotonic()
    k = (last_max * (1 - ADAPTIVE_BETA) / ADAPTIVE_SCALE) ** (1 / 3)
    seen = []
    for t in (0.5, 1.0, 2.0, k, k + 1.0, k + 3.0, k + 5.0, k + 8.0, k + 20.0):
        clock.advance(cut_at + t - clock.monotonic())
        await budget.record(status=200, cool_down=None, state=None)
        seen.append(budget.rate)
        assert budget.rate == pytest.approx(min(100.0, curve(last_max, t)))
    assert seen == sorted(seen)  # never decreasing on success
    assert seen[3] == pytest.approx(last_max)  # back to last_max at K
    assert seen[-1] == 100.0  # capped at the ceiling, never above


async def test_in_flight_429s_count_as_one_throttling_event() -> None:
    """Eight 429s arriving together cut the rate once, not 0.7 ** 8."""
    clock = FakeClock(start=0.0)
    budget = adaptive(clock, per_second=100)
    for _ in range(8):
        await throttle(budget, cool_down=1.0)
    assert budget.rate == pytest.approx(70.0)
    clock.advance(0.9)  # still inside the cool-down: the same event
    await throttle(budget, cool_down=1.0)
    assert budget.rate == pytest.approx(70.0)


async def test_a_later_429_cuts_again_and_the_floor_holds() -> None:
    """429s after the reaction time keep cutting by 0.7, never below the 0.5/s floor."""
    clock = FakeClock(start=0.0)
    budget = adaptive(clock, per_second=10)
    rates = []
    for _ in range(20):
        await throttle(budget)
        rates.append(budget.rate)
        clock.advance(0.6)
    assert rates[:3] == pytest.approx([7.0, 4.9, 3.43])
    assert min(rates) == ADAPTIVE_MIN_RATE
    assert rates[-1] == ADAPTIVE_MIN_RATE


async def test_curve_starts_when_the_cool_down_ends() -> None:
    """With a 2 s cool-down, t counts from its end: at resume the rate is still 0.7 * last_max."""
    clock = FakeClock(start=0.0)
    budget = adaptive(clock, per_second=100)
    await throttle(budget, cool_down=2.0)
    assert budget.cooldown_remaining == pytest.approx(2.0)
    clock.advance(2.0)
    await budget.record(status=200, cool_down=None, state=None)
    assert budget.rate == pytest.approx(70.0)
    clock.advance(1.0)
    await budget.record(status=200, cool_down=None, state=None)
    assert budget.rate == pytest.approx(curve(100.0, 1.0))


async def test_bucket_paces_at_the_learned_rate() -> None:
    """After a cut from 10/s to 7/s, acquires are spaced 1/7 s apart."""
    clock = FakeClock(start=0.0)
    budget = adaptive(clock, per_second=10, burst=1)
    await throttle(budget)
    times = []
    for _ in range(4):
        await budget.acquire("test")
        times.append(clock.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([1 / 7] * 3)


async def test_a_token_waiter_sits_out_a_cool_down_that_began_while_it_slept() -> None:
    """A request sleeping on its token does not send into a cool-down started meanwhile."""
    clock = FakeClock(start=0.0)
    budget = LocalBudget(RateLimit(per_second=1, burst=1), max_wait=60, clock=clock)
    await budget.acquire("first")
    waiter = asyncio.create_task(budget.acquire("second"))
    await asyncio.sleep(0)  # the waiter is now sleeping on its token (due at t=1)
    budget.cool_down(5.0)
    assert await waiter is True
    assert clock.monotonic() == pytest.approx(5.0)


async def test_client_feeds_every_response_to_the_adaptive_budget(mocked: aioresponses) -> None:
    """Through a client, successes are recorded and a 429 cuts the learned rate."""
    clock = FakeClock()
    mocked.get(CUSTOMERS, payload=OK)
    mocked.get(CUSTOMERS, status=429, headers={"Retry-After": "1"})
    mocked.get(CUSTOMERS, payload=OK)
    rate_limit = RateLimit(per_second=50, burst=5, adaptive=True)
    async with KometClient(TOKEN, rate_limit=rate_limit, clock=clock) as k:
        budget = k._core.limiter.budget
        assert isinstance(budget, AdaptiveBudget)
        await k.customers.list()
        assert budget.rate == 50.0
        await k.customers.list()  # a 429, retried after the 1 s cool-down
        assert budget.rate < 50.0
        assert budget.measured_rate() > 0


# --- convergence on the server's limit ------------------------------------------
#
# The sandbox's throttle (throttle_per_second=N) refuses a request once N were
# let through in the last rolling second, with "Retry-After: 1"; the client
# honours that with one cool-down for all its tasks, then climbs back along the
# curve. So the achieved rate is a sawtooth: after each throttle, RETRY_AFTER
# seconds of nothing, CLIMB seconds rising from beta * N back to N (averaging
# (1 - (1 - beta) / 4) * N), some time near N, and a probe above it that is
# throttled once more. The rate it guarantees over whole periods, with no time
# near N at all, is DESIGN_FLOOR * N; spending time near N only raises it.

#: The server's limit, the client's ceiling (5x too high) and the sandbox's Retry-After.
SERVER_LIMIT = 40
CEILING = 200.0
RETRY_AFTER = 1.0
#: Seconds the curve takes to climb from beta * N back to N (K; 3.1 s at 40/s).
CLIMB = (SERVER_LIMIT * (1 - ADAPTIVE_BETA) / ADAPTIVE_SCALE) ** (1 / 3)
#: The achieved rate, as a share of N, the sawtooth keeps at the least (0.70).
DESIGN_FLOOR = (1 - (1 - ADAPTIVE_BETA) / 4) * CLIMB / (RETRY_AFTER + CLIMB)
#: Tasks sending at once.
TASKS = 8


@dataclass
class Convergence:
    """What one run against a throttling server saw, in seconds from its start."""

    duration: float
    #: When it started, on the clock it ran on.
    started: float
    #: When each call returned, and how many failed.
    successes: list[float] = field(default_factory=list)
    failures: int = 0
    #: When the server answered 429, and how many requests it saw.
    throttles: list[float] = field(default_factory=list)
    requests: int = 0
    #: (time, learned rate) samples, every 0.1 s.
    rates: list[tuple[float, float]] = field(default_factory=list)

    @property
    def events(self) -> list[float]:
        """The first 429 of each throttling event (those of one cool-down are one event)."""
        events: list[float] = []
        for t in self.throttles:
            if not events or t > events[-1] + RETRY_AFTER:
                events.append(t)
        return events

    @property
    def settled(self) -> float:
        """When the first event's cool-down ended: the sawtooth starts there."""
        return self.events[0] + RETRY_AFTER

    @property
    def achieved(self) -> float:
        """Successes per second from :attr:`settled` to the end."""
        since = self.settled
        return sum(1 for t in self.successes if t >= since) / (self.duration - since)

    @property
    def share(self) -> float:
        """429s among the requests the server saw."""
        return len(self.throttles) / self.requests

    def learned(self) -> list[float]:
        """The learned rates sampled after the first event."""
        return [rate for t, rate in self.rates if t > self.events[0]]

    def __str__(self) -> str:
        gaps = [round(b - a, 1) for a, b in itertools.pairwise(self.events)]
        learned = self.learned()
        return (
            f"{self.achieved:.1f} req/s from {self.settled:.1f} s to {self.duration:g} s "
            f"({self.achieved / SERVER_LIMIT:.0%} of {SERVER_LIMIT}), "
            f"{len(self.throttles)} 429s of {self.requests} requests ({self.share:.2%}), "
            f"{len(self.events)} events {gaps} s apart, "
            f"learned rate {min(learned):.1f}-{max(learned):.1f}, {self.failures} failures"
        )


async def converge(
    komet: KometClient,
    call: Callable[[], Awaitable[object]],
    now: Callable[[], float],
    duration: float,
) -> Convergence:
    """Run TASKS tasks doing ``call`` through ``komet`` for ``duration`` seconds of ``now``."""
    budget = komet._core.limiter.budget
    assert isinstance(budget, AdaptiveBudget)
    start = now()
    run = Convergence(duration, start)
    deadline = start + duration

    async def task() -> None:
        while now() < deadline:
            try:
                await call()
            except RateLimitedError:
                run.failures += 1
            else:
                run.successes.append(now() - start)

    async def sample() -> None:
        while now() < deadline:
            run.rates.append((now() - start, budget.rate))
            await asyncio.sleep(0.1)

    await asyncio.gather(sample(), *(task() for _ in range(TASKS)))
    return run


def check_convergence(run: Convergence, *, floor: float) -> None:
    """The achieved rate is near N (at least ``floor * N``), with few 429s."""
    assert run.throttles, "the server never throttled: nothing was learned"
    summary = str(run)
    span = run.duration - run.settled
    # The server lets N through in any second: N * (span + 1) in span seconds at most.
    assert floor * SERVER_LIMIT <= run.achieved <= SERVER_LIMIT * (1 + 1 / span), summary
    assert run.failures == 0, summary  # every 429 was absorbed by a retry
    assert run.share < 0.02, summary
    # One 429 (two at most) per event: the cool-down stops every task at the first.
    assert len(run.throttles) <= 2 * len(run.events), summary
    # Learned from the first 429 on: near N, one cut per event (never beta ** 2 N),
    # never back at the 5x ceiling.
    learned = run.learned()
    assert min(learned) >= ADAPTIVE_BETA**2 * SERVER_LIMIT, summary
    assert max(learned) <= 1.1 * SERVER_LIMIT, summary


class _InstantSelector(selectors.DefaultSelector):
    """Never blocks: when nothing is ready it moves :attr:`now` to the loop's next timer."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if not ready:
            if timeout is None:
                raise RuntimeError(
                    "virtual time: every task waits and no timer is set (a deadlock)"
                )
            self.now += timeout
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: a sleep takes no real time, and tasks wake in order.

    Only for code that does no real I/O (here aioresponses stands in for the
    server): the loop jumps to its next timer whenever nothing is ready.
    """

    def __init__(self) -> None:
        self._instant = _InstantSelector()
        super().__init__(selector=self._instant)

    def time(self) -> float:
        """The virtual time."""
        return self._instant.now


class LoopClock:
    """The library's :class:`~komet_async._clock.Clock` on the running loop's time."""

    def monotonic(self) -> float:
        """The loop's time."""
        return asyncio.get_running_loop().time()

    def time(self) -> float:
        """A Unix time moving with the loop's."""
        return 1_750_000_000.0 + self.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the loop."""
        await asyncio.sleep(seconds)


def test_virtual_time_loop_wakes_sleepers_in_deadline_order() -> None:
    """VirtualTimeLoop: sleeps take no real time, wake in deadline order at their deadline."""
    loop = VirtualTimeLoop()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        woke.append((name, loop.time()))

    async def main() -> None:
        await asyncio.gather(sleeper("b", 2.5), sleeper("a", 1.0), sleeper("c", 600.0))

    started = time.monotonic()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert woke == [("a", 1.0), ("b", 2.5), ("c", 600.0)]
    assert time.monotonic() - started < 5.0


#: Virtual seconds the long run lasts: about ten periods of the sawtooth.
VIRTUAL_DURATION = 60.0


def test_converges_on_the_servers_limit_in_virtual_time(mocked: aioresponses) -> None:
    """On virtual time, 60 s against a 40 req/s throttle: ~32 req/s, about one 429 in 160."""
    loop = VirtualTimeLoop()
    throttles: list[float] = []
    admitted: collections.deque[float] = collections.deque()
    seen = 0

    async def server(url: URL, **kwargs: object) -> CallbackResult:
        # The sandbox's throttle (see SandboxState.throttles), on the loop's clock.
        nonlocal seen
        seen += 1
        now = loop.time()
        while admitted and admitted[0] <= now - 1.0:
            admitted.popleft()
        if len(admitted) >= SERVER_LIMIT:
            throttles.append(now)
            return CallbackResult(status=429, headers={"Retry-After": "1"}, payload={})
        admitted.append(now)
        await asyncio.sleep(0.003)  # the time the server takes to answer
        return CallbackResult(payload=OK)

    async def main() -> Convergence:
        mocked.get(CUSTOMERS, callback=server, repeat=True)
        async with KometClient(
            TOKEN,
            rate_limit=RateLimit(per_second=CEILING, burst=5, adaptive=True),
            retry=RetryPolicy(attempts=6),
            clock=LoopClock(),
        ) as komet:
            return await converge(komet, komet.customers.list, loop.time, VIRTUAL_DURATION)

    try:
        run = loop.run_until_complete(main())
    finally:
        loop.close()
    run.throttles = [t - run.started for t in throttles]
    run.requests = seen
    check_convergence(run, floor=DESIGN_FLOOR)
    # Deterministic, so pinned closer: the sawtooth of this curve (beta 0.7, C 0.4)
    # under a 1 s Retry-After gives 0.8 N (31.9 req/s) and one 429 per event.
    assert 0.75 * SERVER_LIMIT <= run.achieved <= 0.85 * SERVER_LIMIT, run
    assert len(run.throttles) == len(run.events), run
    assert run.share < 0.01, run
    # The cool-down and the climb back to last_max pass without a 429 ...
    gaps = [b - a for a, b in itertools.pairwise(run.events)]
    assert min(gaps) >= RETRY_AFTER + CLIMB, run
    # ... and each cut is to beta times the rate the server let through (~N).
    assert min(run.learned()) >= ADAPTIVE_BETA * 0.95 * SERVER_LIMIT, run


#: How long the run on the real sandbox lasts (wall clock): more than a period
#: of the sawtooth after the first cool-down.
DURATION = 10.0


async def test_converges_on_the_servers_limit() -> None:
    """On a real sandbox, 8 tasks starting 5x too fast settle near its 40 req/s, few 429s."""
    box = KometSandbox(
        seed=5, customers=20, products=5, standing_orders=2, throttle_per_second=SERVER_LIMIT
    )
    throttles: list[float] = []

    @web.middleware
    async def watch(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        if response.status == 429:
            throttles.append(time.monotonic())
        return response

    box.app.middlewares.append(watch)
    async with (
        box,
        KometClient(
            box.token,
            base_url=box.base_url,
            rate_limit=RateLimit(per_second=CEILING, burst=5, adaptive=True),
            retry=RetryPolicy(attempts=6),
        ) as komet,
    ):
        run = await converge(komet, lambda: komet.products.list(id=1), time.monotonic, DURATION)
    run.throttles = [t - run.started for t in throttles]
    run.requests = box.stats.total
    assert len(run.throttles) == box.stats.faults.get("throttled", 0)
    # The design floor less 0.05 N, for a wall clock on a busy machine.
    check_convergence(run, floor=DESIGN_FLOOR - 0.05)
