"""Adaptive throttling: the CUBIC-like curve on fake time, convergence on a real sandbox."""

from __future__ import annotations

import asyncio
import itertools
import re
import time

import pytest
from aioresponses import aioresponses

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


# --- convergence on a real sandbox -----------------------------------------------

#: The sandbox's limit, the client's ceiling (5x too high) and how long to run.
SERVER_LIMIT = 40
CEILING = 200.0
DURATION = 6.0


async def test_converges_on_the_servers_limit() -> None:
    """Starting 5x too fast, 8 tasks settle near the sandbox's 40 req/s with few 429s."""
    async with (
        KometSandbox(
            seed=5, customers=20, products=5, standing_orders=2, throttle_per_second=SERVER_LIMIT
        ) as box,
        KometClient(
            box.token,
            base_url=box.base_url,
            rate_limit=RateLimit(per_second=CEILING, burst=5, adaptive=True),
            retry=RetryPolicy(attempts=6),
        ) as komet,
    ):
        done: list[float] = []
        failures = 0
        start = time.monotonic()
        deadline = start + DURATION

        async def worker() -> None:
            nonlocal failures
            while time.monotonic() < deadline:
                try:
                    await komet.products.list(id=1)
                except RateLimitedError:
                    failures += 1
                else:
                    done.append(time.monotonic() - start)

        await asyncio.gather(*(worker() for _ in range(8)))

    second_half = sum(1 for t in done if t >= DURATION / 2) / (DURATION / 2)
    throttled = box.stats.faults.get("throttled", 0)
    share = throttled / box.stats.total
    summary = f"second half {second_half:.1f} req/s, {throttled} 429s ({share:.1%})"
    assert 0.6 * SERVER_LIMIT <= second_half <= 1.1 * SERVER_LIMIT, summary
    assert share < 0.10, summary
    assert failures == 0, summary
