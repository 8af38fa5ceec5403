"""The sandbox's opt-in server-side throttle and its arrival-time log."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from komet_async import KometClient, RateLimitedError, RetryPolicy
from komet_async.sandbox import KometSandbox
from komet_async.testing import FakeClock

TINY: dict[str, Any] = {"seed": 4, "customers": 20, "products": 10, "standing_orders": 5}


async def get_status(session: aiohttp.ClientSession, box: KometSandbox) -> tuple[int, str | None]:
    params = {"authenticationToken": box.token}
    async with session.get(f"{box.base_url}/product.list", params=params) as response:
        await response.read()
        return response.status, response.headers.get("Retry-After")


async def test_requests_over_the_limit_get_429_with_retry_after() -> None:
    """With throttle_per_second=5, six in a row: five answered, the sixth 429 + Retry-After 1."""
    async with KometSandbox(**TINY, throttle_per_second=5) as box, aiohttp.ClientSession() as s:
        answers = [await get_status(s, box) for _ in range(6)]
    assert answers[:5] == [(200, None)] * 5
    assert answers[5] == (429, "1")
    assert box.stats.faults == {"throttled": 1}
    assert box.stats.total == 6
    assert box.throttle_per_second == 5


async def test_window_rolls_after_one_second() -> None:
    """A second after the first admitted request its place in the window frees up."""
    async with KometSandbox(**TINY, throttle_per_second=2) as box, aiohttp.ClientSession() as s:
        assert [(await get_status(s, box))[0] for _ in range(3)] == [200, 200, 429]
        await asyncio.sleep(1.05)
        assert [(await get_status(s, box))[0] for _ in range(3)] == [200, 200, 429]
    assert box.stats.faults["throttled"] == 2


def test_refused_requests_do_not_take_a_place_in_the_window() -> None:
    """Only admitted requests hold a place in the window; refused ones do not."""
    box = KometSandbox(**TINY, throttle_per_second=2)
    state = box._state
    assert [state.throttles(t) for t in (0.0, 0.1, 0.2, 0.3, 0.95)] == [
        False,
        False,
        True,
        True,
        True,
    ]
    # Each admission's place frees up one second later; the refusals at 0.2,
    # 0.3 and 0.95 never held one, so 1.1 gets in.
    assert [state.throttles(t) for t in (1.0, 1.05, 1.1)] == [False, True, False]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_throttle_must_be_a_positive_integer(bad: Any) -> None:
    """A throttle of zero, a negative, a fraction, a bool or a string is refused."""
    with pytest.raises(ValueError, match="throttle_per_second"):
        KometSandbox(**TINY, throttle_per_second=bad)


async def test_no_throttle_and_no_arrivals_by_default() -> None:
    """Without the options nothing is refused and no arrival times are kept."""
    async with KometSandbox(**TINY) as box, aiohttp.ClientSession() as s:
        assert {(await get_status(s, box))[0] for _ in range(30)} == {200}
    assert box.stats.faults == {}
    assert box.stats.arrivals is None
    assert box.throttle_per_second is None


async def test_arrivals_record_every_request_in_order() -> None:
    """record_arrivals notes a monotonic time per request, refused ones included."""
    before = time.monotonic()
    async with (
        KometSandbox(**TINY, throttle_per_second=3, record_arrivals=True) as box,
        aiohttp.ClientSession() as s,
    ):
        for _ in range(5):
            await get_status(s, box)
    arrivals = box.stats.arrivals
    assert arrivals is not None
    assert len(arrivals) == 5
    assert arrivals == sorted(arrivals)
    assert before <= arrivals[0] <= arrivals[-1] <= time.monotonic()


async def test_throttle_and_arrivals_follow_the_sandbox_clock() -> None:
    """With a fake clock the window moves only when the clock does, and arrivals are its times."""
    clock = FakeClock(start=50.0)
    async with (
        KometSandbox(**TINY, throttle_per_second=2, record_arrivals=True, clock=clock) as box,
        aiohttp.ClientSession() as s,
    ):
        assert [(await get_status(s, box))[0] for _ in range(3)] == [200, 200, 429]
        clock.advance(1.0)
        assert [(await get_status(s, box))[0] for _ in range(3)] == [200, 200, 429]
    assert box.stats.arrivals == [50.0] * 3 + [51.0] * 3


async def test_client_rides_out_the_throttle_with_retries() -> None:
    """A client that bursts past the throttle gets every answer thanks to Retry-After retries."""
    policy = RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.05)
    async with (
        KometSandbox(**TINY, throttle_per_second=4) as box,
        KometClient(box.token, base_url=box.base_url, retry=policy) as komet,
    ):
        results = await asyncio.gather(*(komet.products.list() for _ in range(6)))
    assert all(r == box.data.products for r in results)
    assert box.stats.faults["throttled"] >= 2
    assert komet.stats.retries >= 2


async def test_throttled_answer_is_a_rate_limited_error() -> None:
    """Without retries a throttled call raises RateLimitedError with retry_after=1."""
    async with (
        KometSandbox(**TINY, throttle_per_second=1) as box,
        KometClient(box.token, base_url=box.base_url, retry=RetryPolicy.disabled()) as komet,
    ):
        await komet.products.list()
        with pytest.raises(RateLimitedError) as info:
            await komet.products.list()
    assert info.value.retry_after == 1.0
