"""The concurrency cap (Slots) and the limiter's synchronous fast path."""

from __future__ import annotations

import asyncio

import pytest

from komet_async import RateLimit
from komet_async._clock import SYSTEM_CLOCK
from komet_async._ratelimit import RateLimiter, Slots


def test_try_take_takes_free_slots_and_refuses_when_none() -> None:
    """try_take hands out exactly ``size`` slots, then refuses without waiting."""
    slots = Slots(2)
    assert [slots.try_take(), slots.try_take(), slots.try_take()] == [True, True, False]
    slots.give()
    assert slots.free == 1
    assert slots.try_take() is True


async def test_waiters_are_served_first_come_first_served() -> None:
    """A released slot goes to the longest waiter, not to a newcomer."""
    slots = Slots(1)
    assert slots.try_take()
    order: list[int] = []

    async def wait(n: int) -> None:
        await slots.take()
        order.append(n)

    tasks = [asyncio.create_task(wait(n)) for n in range(3)]
    await asyncio.sleep(0)
    slots.give()
    assert slots.try_take() is False  # handed to waiter 0, not free
    await asyncio.sleep(0)
    slots.give()
    await asyncio.sleep(0)
    slots.give()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]
    assert slots.free == 0
    slots.give()
    assert slots.free == 1


async def test_a_cancelled_waiter_passes_its_slot_on() -> None:
    """A waiter cancelled after being handed a slot gives it to the next one."""
    slots = Slots(1)
    assert slots.try_take()
    first = asyncio.create_task(slots.take())
    second = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    slots.give()  # handed to ``first``, which is cancelled before it runs
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)
    assert slots.free == 0


async def test_a_cancelled_waiter_in_line_is_skipped() -> None:
    """A waiter cancelled while in line does not swallow a released slot."""
    slots = Slots(1)
    assert slots.try_take()
    gone = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    slots.give()
    assert slots.free == 1


async def test_limiter_try_acquire_takes_nothing_when_the_bucket_is_empty() -> None:
    """try_acquire gives the slot back when the token bucket is dry."""
    limiter = RateLimiter(
        RateLimit(per_second=1.0, burst=1), max_concurrency=2, max_wait=60.0, clock=SYSTEM_CLOCK
    )
    assert limiter.try_acquire("m") is True
    assert limiter.try_acquire("m") is False
    assert limiter._slots.free == 1
    limiter.release()
    assert limiter._slots.free == 2
