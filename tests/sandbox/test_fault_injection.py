"""Each fault kind served over a real socket, and how the client copes with it."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from komet_async import (
    Customer,
    CustomerUpdate,
    KometClient,
    KometError,
    RateLimitedError,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from komet_async.sandbox import FAULT_KINDS, FaultPlan, KometSandbox
from komet_async.testing import FakeClock

from .conftest import FAST_RETRY

TINY: dict[str, Any] = {"seed": 5, "customers": 60, "products": 20, "standing_orders": 10}


@asynccontextmanager
async def pair(
    plan: FaultPlan, *, retry: RetryPolicy = FAST_RETRY, timeout: float | None = None
) -> AsyncIterator[tuple[KometSandbox, KometClient]]:
    async with (
        KometSandbox(faults=plan, **TINY) as box,
        KometClient(box.token, base_url=box.base_url, retry=retry, timeout=timeout) as komet,
    ):
        yield box, komet


def expected_active(box: KometSandbox) -> list[Customer]:
    return [c for c in box.data.customers if c.active]


@pytest.mark.parametrize("kind", ["http_500", "http_502", "http_503", "http_504"])
async def test_server_errors_are_retried(kind: str) -> None:
    """A 5xx on the first attempt is retried and the call returns the records."""
    async with pair(FaultPlan(first_n=1, first_n_kind=kind)) as (box, komet):
        assert await komet.customers.list() == expected_active(box)
        assert komet.stats.retries == 1
        assert box.stats.faults == {kind: 1}
        assert box.stats.requests == {"customer.list": 2}


@pytest.mark.parametrize(("kind", "status"), [("http_500", 500), ("http_502", 502)])
async def test_server_errors_without_retries_raise_server_error(kind: str, status: int) -> None:
    """With retries off, a 5xx fault surfaces as ServerError with its status."""
    async with pair(FaultPlan(first_n=1, first_n_kind=kind), retry=RetryPolicy.disabled()) as (
        _,
        komet,
    ):
        with pytest.raises(ServerError) as info:
            await komet.customers.list()
    assert info.value.status == status


async def test_429_with_retry_after_seconds_is_honoured() -> None:
    """429 with Retry-After: 1 makes the client wait about a second, then succeed."""
    async with pair(FaultPlan(first_n=1, first_n_kind="429_seconds")) as (box, komet):
        started = time.monotonic()
        assert await komet.customers.list() == expected_active(box)
        assert time.monotonic() - started >= 0.9
        assert box.stats.faults == {"429_seconds": 1}


async def test_429_with_retry_after_date_is_honoured() -> None:
    """429 with Retry-After as an HTTP date 1-2 s ahead is waited out, then succeeds."""
    async with pair(FaultPlan(first_n=1, first_n_kind="429_date")) as (box, komet):
        started = time.monotonic()
        assert await komet.customers.list() == expected_active(box)
        assert 0.5 <= time.monotonic() - started <= 3.0
        assert box.stats.faults == {"429_date": 1}


async def test_429_details_without_retries() -> None:
    """The 429 kinds carry Retry-After 1, an HTTP date, or nothing with "Limit exceeded"."""
    seen = {}
    for kind in ("429_seconds", "429_date", "429_none"):
        plan = FaultPlan(first_n=1, first_n_kind=kind)
        async with pair(plan, retry=RetryPolicy.disabled()) as (_, komet):
            with pytest.raises(RateLimitedError) as info:
                await komet.customers.list()
        seen[kind] = info.value
    assert seen["429_seconds"].retry_after == 1.0
    assert seen["429_seconds"].headers["Retry-After"] == "1"
    date_wait = seen["429_date"].retry_after
    assert date_wait is not None
    assert 0.0 < date_wait <= 2.0
    assert seen["429_date"].headers["Retry-After"].endswith(" GMT")
    assert seen["429_none"].retry_after is None
    assert "Retry-After" not in seen["429_none"].headers
    assert seen["429_none"].body_excerpt == "Limit exceeded"


async def test_429_without_retry_after_uses_the_client_backoff() -> None:
    """429 without Retry-After is retried after the client's own backoff."""
    async with pair(FaultPlan(first_n=2, first_n_kind="429_none")) as (box, komet):
        assert await komet.customers.list() == expected_active(box)
        assert komet.stats.retries == 2
        assert box.stats.faults == {"429_none": 2}


async def test_reset_connections_are_retried() -> None:
    """Two resets in a row: the retry policy resends twice, every attempt counted."""
    async with pair(FaultPlan(first_n=2, first_n_kind="reset")) as (box, komet):
        assert await komet.customers.list() == expected_active(box)
        assert box.stats.faults == {"reset": 2}
        assert box.stats.requests == {"customer.list": 3}
        assert komet.stats.retries == 2
        assert komet.stats.requests == 3


async def test_reset_without_retries_is_a_transport_error() -> None:
    """With retries off a reset POST is a TransportError that says it was sent."""
    plan = FaultPlan(first_n=1, first_n_kind="reset")
    async with pair(plan, retry=RetryPolicy.disabled()) as (box, komet):
        target = expected_active(box)[0]
        with pytest.raises(TransportError) as info:
            await komet.customers.update(CustomerUpdate(customer_id=target.id, name="Reset"))
    assert info.value.request_sent


async def test_reset_update_is_retried_and_applied_once() -> None:
    """A reset customer.update is sent again; the faulted attempt changed nothing."""
    async with pair(FaultPlan(first_n=1, first_n_kind="reset")) as (box, komet):
        target = box.data.customers[0]
        await komet.customers.update(CustomerUpdate(customer_id=target.id, name="Reset & Retry"))
        assert komet.stats.retries == 1
        [found] = await komet.customers.list(id=target.id, include_inactive=True)
    assert found.name == "Reset & Retry"
    # One update ticked the sandbox clock once: the faulted attempt did nothing.
    assert found.updated_on is not None
    assert found.updated_on.time().second == 1


async def test_cutoff_body_is_retried() -> None:
    """A body cut short of its Content-Length is a transport error the client retries."""
    async with pair(FaultPlan(first_n=1, first_n_kind="cutoff")) as (box, komet):
        assert await komet.products.list() == box.data.products
        assert komet.stats.retries == 1
        assert box.stats.faults == {"cutoff": 1}


async def test_cutoff_without_retries_is_a_transport_error() -> None:
    """With retries off a cut-off body raises TransportError (a payload error)."""
    plan = FaultPlan(first_n=1, first_n_kind="cutoff")
    async with pair(plan, retry=RetryPolicy.disabled()) as (_, komet):
        with pytest.raises(TransportError, match=r"[Pp]ayload"):
            await komet.products.list()


async def test_cutoff_is_a_payload_error_on_the_wire() -> None:
    """The cut-off answer announces more bytes than it sends, then closes."""
    plan = FaultPlan(first_n=1, first_n_kind="cutoff")
    async with KometSandbox(faults=plan, **TINY) as box, aiohttp.ClientSession() as session:
        url = f"{box.base_url}/product.list"
        async with session.get(url, params={"authenticationToken": box.token}) as response:
            assert response.status == 200
            assert response.content_length is not None
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()


async def test_slow_answer_times_out_then_succeeds() -> None:
    """A slow answer past the client timeout is retried; the next attempt is on time."""
    plan = FaultPlan(first_n=1, first_n_kind="slow", slow_delay=2.0)
    async with pair(plan, timeout=0.5) as (box, komet):
        started = time.monotonic()
        assert await komet.customers.list() == expected_active(box)
        assert 0.4 <= time.monotonic() - started < 1.5
        assert komet.stats.retries == 1
        assert box.stats.faults == {"slow": 1}


async def test_slow_answer_within_the_timeout_is_just_late() -> None:
    """A slow answer shorter than the timeout arrives normally, late."""
    plan = FaultPlan(first_n=1, first_n_kind="slow", slow_delay=0.3)
    async with pair(plan) as (box, komet):
        started = time.monotonic()
        assert await komet.customers.list() == expected_active(box)
        assert time.monotonic() - started >= 0.3
        assert komet.stats.retries == 0


async def test_slow_without_retries_is_a_timeout() -> None:
    """With retries off, a slow answer past the timeout raises TransportError (timed out)."""
    plan = FaultPlan(first_n=1, first_n_kind="slow", slow_delay=2.0)
    async with pair(plan, retry=RetryPolicy.disabled(), timeout=0.3) as (_, komet):
        with pytest.raises(TransportError, match="timed out"):
            await komet.customers.list()


async def test_slow_update_is_applied_after_the_client_gave_up() -> None:
    """A customer.update held past the client's timeout is still carried out by the server."""
    plan = FaultPlan(first_n=1, first_n_kind="slow", slow_delay=0.4)
    async with pair(plan, retry=RetryPolicy.disabled(), timeout=0.1) as (box, komet):
        target = box.data.customers[0]
        with pytest.raises(TransportError) as info:
            await komet.customers.update(CustomerUpdate(customer_id=target.id, name="Held Back"))
        assert info.value.timed_out
        await asyncio.sleep(0.6)
        assert box.data.customer_records[target.id].wire["name"] == "Held Back"


async def test_html_page_is_a_response_format_error_not_retried() -> None:
    """A 200 HTML page is a ResponseFormatError and is not retried."""
    async with pair(FaultPlan(first_n=1, first_n_kind="html")) as (box, komet):
        with pytest.raises(ResponseFormatError, match="not JSON") as info:
            await komet.customers.list()
        assert "maintenance" in info.value.body_excerpt
        assert box.stats.requests == {"customer.list": 1}
        assert komet.stats.retries == 0


async def test_faults_follow_the_plan_per_method() -> None:
    """per_method rate 1 breaks that method on every attempt; other methods are untouched."""
    plan = FaultPlan(per_method={"product.list": 1.0}, weights={"http_503": 1.0})
    async with pair(plan) as (box, komet):
        assert await komet.customers.list() == expected_active(box)
        with pytest.raises(ServerError):
            await komet.products.list()
        assert box.stats.faults == {"http_503": FAST_RETRY.attempts}
        assert box.stats.requests == {"customer.list": 1, "product.list": FAST_RETRY.attempts}


async def test_daily_quota_raises_rate_limited_at_once() -> None:
    """After daily_quota requests, a 429 whose Retry-After reaches midnight ends the call."""
    retry = RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.05, max_retry_after=0.5)
    async with pair(FaultPlan(daily_quota=3), retry=retry) as (box, komet):
        for _ in range(3):
            assert await komet.products.list() == box.data.products
        with pytest.raises(RateLimitedError, match="quota") as info:
            await komet.products.list()
        assert info.value.retry_after is not None
        assert info.value.retry_after >= 1
        assert box.stats.faults == {"quota": 1}
        assert komet.stats.retries == 0
        # The client keeps the cool-down the server asked for: it does not ask again.
        with pytest.raises(RateLimitedError):
            await komet.customers.list()
        assert box.stats.total == 4


async def test_429_date_is_reckoned_from_the_sandbox_clock() -> None:
    """429_date's HTTP date is two retry_after seconds past the sandbox clock's time."""
    clock = FakeClock(wall_start=1_748_822_400.0)  # 2025-06-02 00:00:00 UTC
    plan = FaultPlan(first_n=1, first_n_kind="429_date")
    async with (
        KometSandbox(faults=plan, clock=clock, **TINY) as box,
        aiohttp.ClientSession() as session,
        session.get(
            f"{box.base_url}/product.list", params={"authenticationToken": box.token}
        ) as response,
    ):
        assert response.status == 429
        assert response.headers["Retry-After"] == "Mon, 02 Jun 2025 00:00:02 GMT"


async def test_faulted_request_changes_nothing() -> None:
    """A faulted customer.update (non-retried) leaves the data as it was."""
    plan = FaultPlan(first_n=1, first_n_kind="http_500")
    async with pair(plan, retry=RetryPolicy.disabled()) as (box, komet):
        before = box.data.customers
        with pytest.raises(ServerError):
            await komet.customers.update(CustomerUpdate(customer_id=before[0].id, name="Nope"))
        assert box.data.customers == before


@pytest.mark.parametrize("kind", [*FAULT_KINDS, "quota"])
async def test_fault_errors_never_show_the_token(kind: str) -> None:
    """Whatever the fault, the error's text, repr and traceback leave the token out."""
    if kind == "quota":
        plan = FaultPlan(daily_quota=0)
    else:
        plan = FaultPlan(first_n=2, first_n_kind=kind, slow_delay=1.0)
    async with pair(plan, retry=RetryPolicy.disabled(), timeout=0.3) as (box, komet):
        with pytest.raises(KometError) as info:
            await komet.customers.list()
    text = "".join(traceback.format_exception(info.value)) + repr(info.value)
    assert box.token not in text
