"""The daily quota: counted per UTC day on the sandbox's clock, reset at midnight."""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiohttp
import pytest

from komet_async import KometClient, RateLimitedError, RetryPolicy
from komet_async.sandbox import FaultPlan, KometSandbox
from komet_async.sandbox.app import SandboxState
from komet_async.sandbox.faults import QUOTA_TIMEZONE, quota_day
from komet_async.sandbox.generate import generate
from komet_async.testing import FakeClock

TINY: dict[str, Any] = {"seed": 4, "customers": 30, "products": 12, "standing_orders": 6}
UTC = dt.timezone.utc
#: 2025-06-02 00:00:00 UTC, the midnight the tests cross.
MIDNIGHT = dt.datetime(2025, 6, 2, tzinfo=UTC).timestamp()


def clock_at(unix: float) -> FakeClock:
    """A fake clock whose wall time is ``unix``."""
    return FakeClock(start=1_000.0, wall_start=unix)


async def get_products(session: aiohttp.ClientSession, box: KometSandbox) -> tuple[int, Any, Any]:
    """GET product.list with the sandbox token: status, Retry-After, body (decoded if JSON)."""
    url = f"{box.base_url}/product.list"
    async with session.get(url, params={"authenticationToken": box.token}) as response:
        json_body = response.content_type == "application/json"
        body = await response.json() if json_body else await response.text()
        return response.status, response.headers.get("Retry-After"), body


# --- quota days (pure) ------------------------------------------------------------------------


def test_quota_day_is_the_utc_day_holding_now() -> None:
    """quota_day gives the UTC midnights around a time; a midnight starts its own day."""
    assert QUOTA_TIMEZONE is UTC
    day = 86_400.0
    assert quota_day(MIDNIGHT - 1) == (MIDNIGHT - day, MIDNIGHT)
    assert quota_day(MIDNIGHT - 0.001) == (MIDNIGHT - day, MIDNIGHT)
    assert quota_day(MIDNIGHT) == (MIDNIGHT, MIDNIGHT + day)
    assert quota_day(MIDNIGHT + 12 * 3600) == (MIDNIGHT, MIDNIGHT + day)


def test_state_numbers_requests_within_their_day() -> None:
    """next_day_seq counts 0, 1, 2 ... per UTC day, afresh on a new day or a clock set back."""
    state = SandboxState(generate(1, customers=0, products=0, standing_orders=0), token="t")
    assert [state.next_day_seq(MIDNIGHT - 10 + i) for i in range(3)] == [0, 1, 2]
    assert [state.next_day_seq(MIDNIGHT + i) for i in range(2)] == [0, 1]
    assert state.next_day_seq(MIDNIGHT + 86_399.5) == 2
    assert state.next_day_seq(MIDNIGHT - 5) == 0
    assert state.next_seq() == 0  # the sandbox-wide number is separate


# --- over a socket ------------------------------------------------------------------------------


async def test_spent_quota_is_429_until_the_next_utc_midnight() -> None:
    """Past the quota, 429 with a Retry-After reaching UTC midnight exactly; then it is fresh."""
    clock = clock_at(MIDNIGHT - 3600)  # 23:00 UTC
    async with (
        KometSandbox(faults=FaultPlan(daily_quota=2), clock=clock, **TINY) as box,
        aiohttp.ClientSession() as session,
    ):
        assert box.clock is clock
        for _ in range(2):
            status, _, body = await get_products(session, box)
            assert (status, body["status"]) == (200, "1")
        assert await get_products(session, box) == (
            429,
            "3600",
            {"status": "0", "message": "Daily API quota exceeded (2 requests per day)."},
        )
        clock.advance(3599.5)  # 23:59:59.5: still that day, rounded up to a whole second
        status, retry_after, _ = await get_products(session, box)
        assert (status, retry_after) == (429, "1")
        clock.advance(0.5)  # midnight: a new day, a new quota
        for _ in range(2):
            status, retry_after, body = await get_products(session, box)
            assert (status, retry_after, body["status"]) == (200, None, "1")
        status, retry_after, _ = await get_products(session, box)
        assert (status, retry_after) == (429, "86400")
        assert box.stats.faults == {"quota": 3}
        assert box.stats.total == 7


async def test_client_sharing_the_clock_waits_out_the_quota_day() -> None:
    """A client on the same fake clock gives up until midnight, then the next day's call works."""
    clock = clock_at(MIDNIGHT - 90)
    retry = RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.05, max_retry_after=5.0)
    async with (
        KometSandbox(faults=FaultPlan(daily_quota=1), clock=clock, **TINY) as box,
        KometClient(box.token, base_url=box.base_url, retry=retry, clock=clock) as komet,
    ):
        assert await komet.products.list() == box.data.products
        with pytest.raises(RateLimitedError, match="quota") as info:
            await komet.products.list()
        assert info.value.retry_after == 90
        clock.advance(90)
        assert await komet.products.list() == box.data.products
        assert box.stats.faults == {"quota": 1}
        assert box.stats.requests == {"product.list": 3}


@pytest.mark.parametrize("quota", [None, 4])
async def test_new_day_keeps_the_seeded_faults(quota: int | None) -> None:
    """Crossing midnight resets only the quota: every other fault still follows seq and seed."""
    plan = FaultPlan(rate=0.5, seed=7, weights={"http_500": 1.0}, daily_quota=quota)
    drawn = FaultPlan(rate=0.5, seed=7, weights={"http_500": 1.0})
    clock = clock_at(MIDNIGHT - 60)
    statuses = []
    async with (
        KometSandbox(faults=plan, clock=clock, **TINY) as box,
        aiohttp.ClientSession() as session,
    ):
        for seq in range(12):
            if seq == 6:
                clock.advance(60)
            statuses.append((await get_products(session, box))[0])
    expected = [500 if drawn.decide(seq, "product.list") else 200 for seq in range(12)]
    if quota is not None:
        # Four requests a day: seq 4-5 on the first day, 10-11 on the second.
        expected = [429 if seq % 6 >= quota else status for seq, status in enumerate(expected)]
    assert statuses == expected
    # The second day has both outcomes: its draws did not all fall one way.
    assert {500, 200} <= set(statuses[6:])
