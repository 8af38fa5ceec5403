"""Rate limiting on fake time: token bucket, concurrency cap, shared cool-down, daily quota."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest
from aioresponses import aioresponses

from benchmarks.limiter import _max_in_window  # the benchmark's own count, the same rule
from komet_async import KometClient, RateLimit, RateLimitedError, RateLimitState, RetryPolicy
from komet_async._ratelimit import LocalBudget, RateBudget, RateLimiter
from komet_async.testing import FakeClock

from .conftest import TOKEN

CUSTOMERS = re.compile(r"^https://api\.kometsales\.com/api/customer\.list\?.*$")
OK = {"status": "1", "message": "OK", "customers": [{"id": "1", "name": "Flores SAS"}]}


def limiter(
    clock: FakeClock,
    rate_limit: RateLimit | None = None,
    *,
    max_concurrency: int = 100,
    max_wait: float = 60.0,
) -> RateLimiter:
    return RateLimiter(rate_limit, max_concurrency=max_concurrency, max_wait=max_wait, clock=clock)


def local(lim: RateLimiter) -> LocalBudget:
    assert isinstance(lim.budget, LocalBudget)
    return lim.budget


async def acquire_at(lim: RateLimiter, clock: FakeClock) -> float:
    await lim.acquire("test")
    lim.release()
    return clock.monotonic()


# --- configuration -------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_second": 0},
        {"per_second": -1},
        {"per_second": float("inf")},
        {"burst": 0},
        {"per_day": 0},
    ],
)
def test_rate_limit_rejects_nonsense(kwargs: dict[str, float]) -> None:
    """A zero, negative or infinite rate, a burst below 1 or an empty quota is refused."""
    with pytest.raises(ValueError, match=r"per_second|burst|per_day"):
        RateLimit(**kwargs)  # type: ignore[arg-type]


def test_per_minute_is_a_steady_rate() -> None:
    """RateLimit.per_minute(60, burst=5) is one request per second with a burst of 5."""
    assert RateLimit.per_minute(60, burst=5) == RateLimit(per_second=1.0, burst=5)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        (
            {
                "X-Ratelimit-Limit": "60",
                "X-Ratelimit-Remaining": "12",
                "X-Ratelimit-Reset": "1700000000",
            },
            RateLimitState(limit=60, remaining=12, reset=1700000000.0),
        ),
        ({"X-Ratelimit-Remaining": "-3", "X-Ratelimit-Limit": "lots"}, None),
        ({"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "nan"}, RateLimitState(remaining=0)),
    ],
)
def test_state_from_headers(headers: dict[str, str], expected: RateLimitState | None) -> None:
    """Server rate-limit headers parse into a state; garbage and negatives count as absent."""
    assert RateLimitState.from_headers(headers) == expected


# --- token bucket ------------------------------------------------------------


async def test_bucket_lets_burst_through_then_paces() -> None:
    """With 10/s and burst 3, three go at once and the rest exactly 0.1 s apart."""
    clock = FakeClock(start=0.0)
    lim = limiter(clock, RateLimit(per_second=10, burst=3))
    times = [await acquire_at(lim, clock) for _ in range(7)]
    assert times == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2, 0.3, 0.4])


async def test_bucket_holds_the_rate_under_concurrency() -> None:
    """Fifty concurrent acquirers at 20/s burst 1 finish over 49/20 s, never faster."""
    clock = FakeClock(start=0.0)
    lim = limiter(clock, RateLimit(per_second=20, burst=1))
    times = await asyncio.gather(*(acquire_at(lim, clock) for _ in range(50)))
    assert sorted(times)[-1] == pytest.approx(49 / 20)
    # No window of one second ever holds more than rate + burst grants.
    ordered = sorted(times)
    for i, start in enumerate(ordered):
        in_window = sum(1 for t in ordered[i:] if t < start + 1.0)
        assert in_window <= 21


async def test_bucket_refills_after_idle_up_to_burst() -> None:
    """After a long idle period only `burst` requests go at once, not the idle time's worth."""
    clock = FakeClock(start=0.0)
    lim = limiter(clock, RateLimit(per_second=5, burst=2))
    await acquire_at(lim, clock)
    clock.advance(100)
    times = [await acquire_at(lim, clock) for _ in range(4)]
    assert times == pytest.approx([100.0, 100.0, 100.2, 100.4])


async def test_cancelled_wait_gives_its_token_back() -> None:
    """Cancelling a task waiting for a token returns the reservation to the bucket."""
    lim = RateLimiter(
        RateLimit(per_second=1, burst=1), max_concurrency=10, max_wait=60, clock=_RealishClock()
    )
    await lim.acquire()
    lim.release()
    waiter = asyncio.create_task(lim.acquire())
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert local(lim)._tokens == pytest.approx(0.0, abs=0.05)


class _RealishClock(FakeClock):
    """A fake clock whose sleeps block until cancelled (to test cancellation)."""

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.Event().wait()


# --- concurrency cap ---------------------------------------------------------


async def test_concurrency_cap_blocks_the_extra_request() -> None:
    """With max_concurrency=2 a third acquire waits until a slot is released."""
    clock = FakeClock()
    lim = limiter(clock, max_concurrency=2)
    await lim.acquire()
    await lim.acquire()
    third = asyncio.create_task(lim.acquire())
    await asyncio.sleep(0)
    assert not third.done()
    lim.release()
    await asyncio.wait_for(third, 1)
    lim.release()
    lim.release()


def test_max_concurrency_must_be_positive() -> None:
    """A concurrency cap below 1 is refused."""
    with pytest.raises(ValueError, match="max_concurrency"):
        limiter(FakeClock(), max_concurrency=0)


# --- cool-down ---------------------------------------------------------------


async def test_one_cool_down_pauses_every_request() -> None:
    """After cool_down(2), five concurrent acquirers all wait until the same moment."""
    clock = FakeClock(start=0.0)
    lim = limiter(clock)
    local(lim).cool_down(2.0)
    times = await asyncio.gather(*(acquire_at(lim, clock) for _ in range(5)))
    assert times == pytest.approx([2.0] * 5)
    assert clock.sleeps == pytest.approx([2.0] * 5)
    assert local(lim).cooldown_remaining == 0.0


async def test_cool_down_longer_than_max_wait_fails_fast() -> None:
    """A cool-down beyond max_wait raises RateLimitedError carrying the remaining time."""
    clock = FakeClock(start=0.0)
    lim = limiter(clock, max_wait=60)
    local(lim).cool_down(600)
    with pytest.raises(RateLimitedError) as info:
        await lim.acquire("customer.list")
    assert info.value.retry_after == pytest.approx(600)
    assert clock.sleeps == []
    # The slot was given back: a full set of acquires still fits after the cool-down.
    clock.advance(600)
    for _ in range(100):
        await lim.acquire()


async def test_server_saying_nothing_remains_pauses_until_reset() -> None:
    """A state with remaining=0 pauses requests until the server's reset time."""
    clock = FakeClock(start=0.0)
    lim = limiter(clock)
    state = RateLimitState(limit=60, remaining=0, reset=clock.time() + 7)
    local(lim).observe(state)
    assert await acquire_at(lim, clock) == pytest.approx(7.0)
    assert local(lim).server_state is state


async def test_a_429_pauses_the_next_call_of_the_client(mocked: aioresponses) -> None:
    """One 429 with Retry-After: 30 makes the client's next call wait 30 s before sending."""
    clock = FakeClock()
    mocked.get(CUSTOMERS, status=429, headers={"Retry-After": "30"})
    mocked.get(CUSTOMERS, payload=OK)
    async with KometClient(TOKEN, retry=RetryPolicy.disabled(), clock=clock) as k:
        with pytest.raises(RateLimitedError):
            await k.customers.list()
        started = clock.monotonic()
        await k.customers.list()
        assert clock.monotonic() - started == pytest.approx(30.0)
        assert k.stats.rate_limit_waits == 1


async def test_a_long_429_fails_the_clients_other_calls_without_sending(
    mocked: aioresponses,
) -> None:
    """After a 429 asking for 600 s, the next call fails fast and sends nothing."""
    clock = FakeClock()
    mocked.get(CUSTOMERS, status=429, headers={"Retry-After": "600"})
    async with KometClient(TOKEN, clock=clock) as k:
        with pytest.raises(RateLimitedError):
            await k.customers.list()
        with pytest.raises(RateLimitedError, match="longer than max_retry_after"):
            await k.customers.list()
    assert sum(len(v) for v in mocked.requests.values()) == 1


# --- daily quota -------------------------------------------------------------


async def test_daily_quota_refuses_before_sending(mocked: aioresponses) -> None:
    """With per_day=3 the fourth call raises RateLimitedError and sends nothing."""
    midnight = dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc).timestamp()
    clock = FakeClock(start=0.0, wall_start=midnight + 23 * 3600)  # 23:00 UTC
    mocked.get(CUSTOMERS, payload=OK, repeat=True)
    async with KometClient(TOKEN, rate_limit=RateLimit(per_day=3), clock=clock) as k:
        for _ in range(3):
            await k.customers.list()
        with pytest.raises(RateLimitedError, match="daily quota of 3 requests") as info:
            await k.customers.list()
        assert info.value.retry_after == pytest.approx(3600)
        assert sum(len(v) for v in mocked.requests.values()) == 3
        clock.advance(3600)  # a new day
        await k.customers.list()
    assert sum(len(v) for v in mocked.requests.values()) == 4


async def test_daily_quota_day_follows_the_configured_timezone() -> None:
    """The quota day starts at midnight of day_timezone, not UTC."""
    tz = dt.timezone(dt.timedelta(hours=-5))
    start = dt.datetime(2026, 11, 25, 23, 30, tzinfo=tz).timestamp()
    clock = FakeClock(start=0.0, wall_start=start)
    lim = limiter(clock, RateLimit(per_day=1, day_timezone=tz))
    await acquire_at(lim, clock)
    with pytest.raises(RateLimitedError) as info:
        await lim.acquire()
    assert info.value.retry_after == pytest.approx(1800)


class CountingBudget:
    """A stand-in shared budget: counts acquires and records what it is told."""

    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.recorded: list[tuple[int, float | None]] = []

    async def acquire(self, method: str) -> bool:
        self.acquired.append(method)
        return False

    async def record(
        self, *, status: int, cool_down: float | None, state: RateLimitState | None
    ) -> None:
        self.recorded.append((status, cool_down))


async def test_clients_accept_any_rate_budget(mocked: aioresponses) -> None:
    """A RateBudget object replaces the local bucket and hears about 429s with their pause."""
    budget = CountingBudget()
    assert isinstance(budget, RateBudget)
    mocked.get(CUSTOMERS, status=429, headers={"Retry-After": "3"})
    mocked.get(CUSTOMERS, payload=OK)
    async with KometClient(TOKEN, rate_limit=budget, clock=FakeClock()) as k:
        await k.customers.list()
        assert k._core.limiter.rate_limit is None
    assert budget.acquired == ["customer.list", "customer.list"]
    assert budget.recorded == [(429, 3.0)]


async def test_plain_successes_are_not_recorded(mocked: aioresponses) -> None:
    """A success without rate-limit headers costs the budget nothing (no record call)."""
    budget = CountingBudget()
    mocked.get(CUSTOMERS, payload=OK, repeat=True)
    async with KometClient(TOKEN, rate_limit=budget) as k:
        for _ in range(3):
            await k.customers.list()
    assert budget.recorded == []


# --- the synchronous fast path ---------------------------------------------------


def test_try_acquire_takes_a_token_at_hand_and_refuses_when_none_is() -> None:
    """try_acquire lets the burst go at once, then answers False (changing nothing)."""
    clock = FakeClock(start=0.0)
    budget = LocalBudget(RateLimit(per_second=10, burst=2), max_wait=60, clock=clock)
    assert [budget.try_acquire("m") for _ in range(3)] == [True, True, False]
    assert budget._tokens == pytest.approx(0.0)
    clock.advance(0.1)  # one token's worth
    assert budget.try_acquire("m") is True
    assert budget.try_acquire("m") is False


def test_try_acquire_leaves_a_cool_down_to_acquire() -> None:
    """During a cool-down try_acquire answers False and spends neither token nor quota."""
    clock = FakeClock(start=0.0)
    budget = LocalBudget(RateLimit(per_second=10, burst=2, per_day=5), max_wait=60, clock=clock)
    budget.cool_down(1.0)
    assert budget.try_acquire("m") is False
    assert (budget._tokens, budget._day_count) == (2.0, 0)


def test_try_acquire_refused_by_the_daily_quota_gives_its_token_back() -> None:
    """A spent quota raises RateLimitedError from try_acquire; the token is not spent."""
    clock = FakeClock(start=0.0)
    budget = LocalBudget(RateLimit(per_second=10, burst=2, per_day=1), max_wait=60, clock=clock)
    assert budget.try_acquire("m") is True
    with pytest.raises(RateLimitedError, match="daily quota of 1 requests"):
        budget.try_acquire("m")
    assert budget._tokens == pytest.approx(1.0)


async def test_try_acquire_defers_to_a_waiter_holding_a_cancelled_slot() -> None:
    """A cancelled waiter's slot still due goes to acquire's queue, not to a newcomer now."""
    clock = FakeClock(start=0.0)
    budget = LocalBudget(RateLimit(per_second=10, burst=1), max_wait=60, clock=clock)
    budget._holes.append(0.5)
    budget._tokens = 1.0
    assert budget.try_acquire("m") is False


async def test_limiter_uses_the_fast_path_only_for_a_local_budget() -> None:
    """A shared budget is always asked through its coroutine; a local one answers at once."""
    shared = CountingBudget()
    lim = RateLimiter(shared, max_concurrency=2, max_wait=60, clock=FakeClock())
    assert await lim.acquire("m") is False
    lim.release()
    assert shared.acquired == ["m"]
    clock = FakeClock(start=0.0)
    fast = limiter(clock, RateLimit(per_second=1, burst=1))
    assert await fast.acquire("m") is False  # the token at hand
    fast.release()
    assert await fast.acquire("m") is True  # the next waits a second
    fast.release()
    assert clock.monotonic() == pytest.approx(1.0)


# --- the hard cap of any 1 s window ------------------------------------------------


async def test_waiters_resuming_after_a_stall_keep_every_second_within_rate_plus_burst() -> None:
    """After the loop stalls, waiters whose slots passed go at most R + burst to a second."""
    clock = FakeClock(start=0.0)
    budget = LocalBudget(RateLimit(per_second=10, burst=2), max_wait=60, clock=clock)
    granted: list[float] = []

    async def one() -> None:
        await budget.acquire("m")
        granted.append(clock.monotonic())

    tasks = [asyncio.ensure_future(one()) for _ in range(30)]
    await asyncio.sleep(0)  # the burst goes at 0; the others hold slots 0.1 s apart
    assert granted == [0.0, 0.0]
    clock.advance(1.5)  # a stall: the slots up to 1.5 s passed while nobody ran
    await asyncio.gather(*tasks)
    assert len(granted) == 30
    # Without the cap, the 15 waiters whose slots passed went together at 1.5 s,
    # and the second after it held them and the next 9: 24 grants.
    assert _max_in_window(sorted(granted)) == 12
    # 12 go at the end of the stall; the rest wait for those to leave the window.
    assert granted == pytest.approx(
        [0.0] * 2 + [1.5] * 12 + [2.5, 2.6, 2.7] + [2.8] * 9 + [3.5, 3.6, 3.7, 3.8]
    )


def test_try_acquire_refuses_a_token_at_hand_when_the_last_second_is_full() -> None:
    """The fast path defers to acquire() once R + burst grants fall in the last second."""
    clock = FakeClock(start=0.0)
    budget = LocalBudget(RateLimit(per_second=10, burst=2), max_wait=60, clock=clock)
    budget._granted.extend([0.5] * 12)  # a stall's bunch, half a second ago
    clock.advance(1.0)
    budget._tokens, budget._refilled_at = 2.0, clock.monotonic()
    assert budget.try_acquire("m") is False
    assert budget._tokens == 2.0  # nothing spent
    clock.advance(0.5)  # the bunch leaves the window
    assert budget.try_acquire("m") is True
    assert list(budget._granted) == [1.5]
