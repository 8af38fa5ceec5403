"""KountaClient listing customers from the sandbox: X-Next-Page pages, limits, resume, guards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from komet_async import ResponseFormatError, RetryPolicy
from komet_async.kounta import Customer, KountaClient, OAuth2
from komet_async.sandbox import FaultPlan
from komet_async.sandbox.kounta import KountaSandbox

FAST = RetryPolicy(attempts=4, wait_initial=0.0, wait_max=0.0)


@asynccontextmanager
async def pair(**kwargs: Any) -> AsyncIterator[tuple[KountaSandbox, KountaClient]]:
    async with KountaSandbox(**{"seed": 7, "customers": 1003, **kwargs}) as box:
        auth = OAuth2(box.access_token, box.refresh_token, box.client_id, box.client_secret)
        async with KountaClient(
            box.company_id, auth=auth, base_url=box.base_url, retry=FAST, rate_limit=None
        ) as kounta:
            yield box, kounta


def ids(customers: list[Customer]) -> list[int]:
    return [c.id for c in customers]


async def test_async_for_yields_every_customer_exactly_once_over_41_pages() -> None:
    """async for over 1,003 customers sees each once, in order, in 41 page requests."""
    async with pair() as (box, kounta):
        seen = [c async for c in kounta.customers.list()]
        assert seen == box.data.listed
        assert len(set(ids(seen))) == 1003
        assert box.stats.requests == {"customers.list": 41}


async def test_pages_yields_41_pages_of_25_then_3() -> None:
    """pages() hands out 40 full pages and a last page of 3; the cursor ends as None."""
    async with pair() as (_, kounta):
        paginator = kounta.customers.list()
        sizes = [len(page.items) async for page in paginator.pages()]
        assert sizes == [25] * 40 + [3]
        assert paginator.next_cursor is None
        assert paginator.exhausted


async def test_collect_returns_everything() -> None:
    """collect() returns the same 1,003 customers as the sandbox's listing."""
    async with pair() as (box, kounta):
        assert await kounta.customers.list().collect() == box.data.listed


async def test_full_records_when_lists_are_not_abridged() -> None:
    """With abridged_lists=False the pages carry full records, equal to the sandbox's models."""
    async with pair(customers=60, abridged_lists=False) as (box, kounta):
        assert await kounta.customers.list().collect() == box.data.customers


async def test_collect_max_items_stops_early() -> None:
    """collect(max_items=100) returns the first 100 and fetches only 4 pages."""
    async with pair() as (box, kounta):
        first = await kounta.customers.list().collect(max_items=100)
        assert first == box.data.listed[:100]
        assert box.stats.requests == {"customers.list": 4}


async def test_resume_from_next_cursor_gets_exactly_the_rest() -> None:
    """Stopping after 3 whole pages and resuming from next_cursor yields the other 928 once."""
    async with pair() as (box, kounta):
        paginator = kounta.customers.list()
        head = await paginator.collect(max_items=75)
        cursor = paginator.next_cursor
        assert cursor is not None
        assert cursor.endswith("page=4")
        tail = await kounta.customers.list(cursor=cursor).collect()
        assert head + tail == box.data.listed
        assert len(tail) == 928
        assert box.stats.requests == {"customers.list": 41}


async def test_breaking_out_of_pages_resumes_at_the_last_page_handed_out() -> None:
    """After a break inside pages(), next_cursor still names that page: resuming repeats it."""
    async with pair() as (box, kounta):
        paginator = kounta.customers.list()
        head: list[Customer] = []
        async for page in paginator.pages():
            head.extend(page.items)
            if len(head) == 75:
                break
        cursor = paginator.next_cursor
        assert cursor is not None
        assert cursor.endswith("page=3")
        tail = await kounta.customers.list(cursor=cursor).collect()
        assert head[:50] + tail == box.data.listed
        assert tail[:25] == head[50:]


async def test_token_expiring_mid_listing_is_refreshed_and_the_listing_continues() -> None:
    """An access token that expires between pages is refreshed once; no customer is lost."""
    async with pair(customers=100) as (box, kounta):
        seen: list[Customer] = []
        async for customer in kounta.customers.list():
            seen.append(customer)
            if len(seen) == 30:
                box.expire_tokens()
        assert seen == box.data.listed
        assert box.stats.refreshes == 1
        assert box.stats.requests == {"customers.list": 5, "token": 1}


async def test_relative_next_page_urls_are_followed() -> None:
    """A relative X-Next-Page is resolved against the page's URL."""
    async with pair(customers=60, next_page="relative") as (box, kounta):
        assert await kounta.customers.list().collect() == box.data.listed


async def test_next_page_on_another_host_is_refused() -> None:
    """An X-Next-Page on another host raises ResponseFormatError before it is fetched."""
    async with pair(customers=60, next_page="other_host") as (box, kounta):
        with pytest.raises(ResponseFormatError, match="another host"):
            await kounta.customers.list().collect()
        assert box.stats.requests == {"customers.list": 1}


async def test_repeating_next_page_is_detected() -> None:
    """A next-page URL seen before (page 2 pointing at itself) raises ResponseFormatError."""
    async with pair(customers=60, next_page="repeat") as (box, kounta):
        paginator = kounta.customers.list()
        with pytest.raises(ResponseFormatError, match="loop"):
            await paginator.collect()
        assert box.stats.requests == {"customers.list": 2}


async def test_listing_rides_out_faults() -> None:
    """Under 5xx, resets and cut-off bodies the listing still returns every customer once."""
    plan = FaultPlan(
        rate=0.3,
        seed=11,
        weights={"http_500": 1, "http_502": 1, "http_503": 1, "reset": 1, "cutoff": 1},
    )
    retry = RetryPolicy(attempts=8, wait_initial=0.0, wait_max=0.0)
    async with KountaSandbox(seed=7, customers=1003, faults=plan) as box:
        async with KountaClient(
            box.company_id,
            auth=OAuth2(box.access_token, box.refresh_token, box.client_id, box.client_secret),
            base_url=box.base_url,
            retry=retry,
            rate_limit=None,
        ) as kounta:
            assert await kounta.customers.list().collect() == box.data.listed
        assert box.stats.total_faults > 5
        # Each fault cost one request more; aiohttp resends a GET reset on a
        # reused keep-alive connection by itself, so the client counts fewer retries.
        assert box.stats.total == 41 + box.stats.total_faults
        assert kounta.stats.retries <= box.stats.total_faults
