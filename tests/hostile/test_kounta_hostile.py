"""KountaClient against hostile answers: typed errors, bounded time and memory, no leaked auth."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any, TypeVar
from unittest import mock

import pytest

from komet_async import (
    HTTPStatusError,
    RateLimitedError,
    ResponseFormatError,
    ResponseTooLargeError,
    RetryPolicy,
    TransportError,
)
from komet_async import _sansio as sansio
from komet_async.kounta import BasicAuth, Customer, KountaClient, NewCustomer

from .conftest import COMPANY, MB, Servers, elapsed, peak_memory

SECRET = "kounta-SECRET-4e5f6a7b"
NO_WAIT = RetryPolicy.no_wait(attempts=2)
GUARD = 20.0
CUSTOMERS = f"/v1/companies/{COMPANY}/customers"

T = TypeVar("T")


def client(servers: Servers, **kwargs: Any) -> KountaClient:
    options: dict[str, Any] = {"retry": NO_WAIT, "rate_limit": None, **kwargs}
    return KountaClient(
        COMPANY, auth=BasicAuth("client-id", SECRET), base_url=f"{servers.api}/v1", **options
    )


def listing(kounta: KountaClient, servers: Servers, case: str) -> Awaitable[list[Customer]]:
    """customers.list from a cursor on the hostile server (same origin: credentials go along)."""
    return kounta.customers.list(cursor=f"{servers.api}{CUSTOMERS}/{case}").collect()


async def bounded(call: Awaitable[T]) -> T:
    return await asyncio.wait_for(call, GUARD)


async def test_50_mb_body_stops_at_the_limit(servers: Servers) -> None:
    """A 50 MB chunked listing page raises ResponseTooLargeError after ~1 MiB, once."""
    with elapsed() as took, peak_memory() as peak:
        async with client(servers, max_response_bytes=MB) as kounta:
            with pytest.raises(ResponseTooLargeError) as info:
                await bounded(listing(kounta, servers, "big"))
    assert str(info.value) == (
        "customers.list: the response body exceeds max_response_bytes (1,048,576 bytes)"
    )
    assert len(servers.hits()) == 1
    assert peak[0] < MB + 3 * MB
    assert took[0] < 5


async def test_gzip_bomb_stops_at_the_limit(servers: Servers) -> None:
    """256 MiB of zeros gzip-compressed stops at max_response_bytes, counted decompressed."""
    with peak_memory() as peak:
        async with client(servers, max_response_bytes=MB) as kounta:
            with pytest.raises(ResponseTooLargeError) as info:
                await bounded(listing(kounta, servers, "bomb"))
    assert info.value.limit == MB
    assert peak[0] < MB + 3 * MB


@pytest.mark.parametrize("parser", ["orjson", "json"])
async def test_100k_levels_of_nesting_is_not_json(servers: Servers, parser: str) -> None:
    """100,000 nested '[' is "not JSON" with either parser, never a RecursionError."""
    loads = {"orjson": sansio._loads, "json": json.loads}[parser]
    with mock.patch.object(sansio, "_loads", loads):
        async with client(servers) as kounta:
            with pytest.raises(ResponseFormatError) as info:
                await bounded(listing(kounta, servers, "deep"))
    assert str(info.value) == f"customers.list: the response is not JSON: {'[' * 200 + '…'!r}"


async def test_invalid_utf8_is_not_json(servers: Servers) -> None:
    """A listing page that is not UTF-8 is "not JSON", the bad byte shown as U+FFFD."""
    async with client(servers) as kounta:
        with pytest.raises(ResponseFormatError) as info:
            await bounded(listing(kounta, servers, "utf8"))
    assert str(info.value) == (
        """customers.list: the response is not JSON: '[{"id": 1, "first_name": "J\ufffd("}]'"""
    )


async def test_endless_drip_ends_at_the_timeout(servers: Servers) -> None:
    """A page trickling forever ends at the total timeout of each attempt: TransportError."""
    with elapsed() as took:
        async with client(servers, timeout=0.5) as kounta:
            with pytest.raises(TransportError) as info:
                await bounded(listing(kounta, servers, "drip"))
    assert str(info.value) == "customers.list: timed out after 0.5 s"
    assert info.value.timed_out
    assert len(servers.hits()) == 2
    assert took[0] < 2 * 0.5 + 1.5


async def test_redirect_loop_stops_after_three_hops(servers: Servers) -> None:
    """A lookup redirecting in a loop stops after MAX_REDIRECTS hops with an HTTPStatusError."""
    async with client(servers) as kounta:
        with pytest.raises(HTTPStatusError) as info:
            await bounded(kounta.customers.find(email="loop@example.com"))
    assert str(info.value) == "customers.find: HTTP 302 more than 3 redirects"
    assert info.value.status == 302
    assert len(servers.hits()) == 1 + 3


async def test_redirect_to_another_host_never_carries_the_authorization(servers: Servers) -> None:
    """A lookup redirected to another host is fetched there without the Authorization header."""
    async with client(servers) as kounta:
        found = await bounded(kounta.customers.find(email="elsewhere@example.com"))
    assert found == Customer(id=389427, first_name="Jamie", last_name="McDonald")
    assert [h.authorization for h in servers.other_hits()] == [None]
    assert all(h.authorization and h.authorization.startswith("Basic ") for h in servers.hits())


async def test_redirect_to_an_unparsable_url_is_a_status_error(servers: Servers) -> None:
    """A Location urlsplit refuses ("http://[::1...") is an HTTPStatusError, not a ValueError."""
    async with client(servers) as kounta:
        with pytest.raises(HTTPStatusError) as info:
            await bounded(kounta.customers.find(email="badurl@example.com"))
    assert str(info.value) == "customers.find: HTTP 302 without a usable Location"
    assert len(servers.hits()) == 1


async def test_redirect_where_none_is_followed_is_a_status_error(servers: Servers) -> None:
    """A 302 answering a listing (only lookups follow redirects) is not read as data."""
    async with client(servers) as kounta:
        with pytest.raises(HTTPStatusError) as info:
            await bounded(listing(kounta, servers, "loop"))
    assert str(info.value) == "customers.list: unexpected HTTP 302"
    assert info.value.status == 302
    assert len(servers.hits()) == 1


async def test_retry_after_99999999_fails_at_once(servers: Servers) -> None:
    """Retry-After: 99999999 raises RateLimitedError at once; the next call is not even sent."""
    with elapsed() as took:
        async with client(servers) as kounta:
            with pytest.raises(RateLimitedError) as info:
                await bounded(listing(kounta, servers, "retry.after"))
            with pytest.raises(RateLimitedError) as again:
                await bounded(listing(kounta, servers, "retry.after"))
    assert str(info.value) == "HTTP 429 from customers.list (retry after 1e+08 s): slow down"
    assert info.value.retry_after == 99999999
    assert str(again.value).startswith("customers.list: the server asked every request to wait ")
    assert str(again.value).endswith(" s, longer than max_retry_after (60 s)")
    assert len(servers.hits()) == 1
    assert took[0] < 2


@pytest.mark.parametrize("reset", ["nan", "-1", "1e999", "", "soon", "99999999999999999999999"])
async def test_garbage_rate_limit_headers_on_success_are_ignored(
    servers: Servers, reset: str
) -> None:
    """X-RateLimit-Limit 'lots', Remaining -5 and any Reset on a 200 cause no wait and no error."""
    with elapsed() as took:
        async with client(servers, rate_limit=None) as kounta:
            for _ in range(3):
                page = kounta.customers.list(
                    cursor=f"{servers.api}{CUSTOMERS}/garbage.limits?reset={reset}"
                )
                assert await bounded(page.collect(max_items=1)) == [
                    Customer(id=1, first_name="Jamie", last_name="McDonald")
                ]
            assert kounta.stats.rate_limit_waits == 0
    assert took[0] < 2


@pytest.mark.parametrize("retry", ["soon", "-5", "nan", "1e999"])
async def test_garbage_retry_after_on_429_falls_back_to_backoff(
    servers: Servers, retry: str
) -> None:
    """A 429 with a garbage or negative Retry-After and Reset is retried on the policy's backoff."""
    async with client(servers) as kounta:
        with pytest.raises(RateLimitedError) as info:
            await bounded(listing(kounta, servers, f"garbage.429?retry={retry}"))
        assert kounta.stats.retries == 1
    assert str(info.value) == "HTTP 429 from customers.list: slow down"
    assert info.value.retry_after is None
    assert len(servers.hits()) == 2


async def test_exhausted_quota_with_a_far_reset_fails_the_next_call_at_once(
    servers: Servers,
) -> None:
    """Remaining 0 and a reset 99999999 s away: this call returns, the next fails unsent."""
    with elapsed() as took:
        async with client(servers) as kounta:
            page = kounta.customers.list(cursor=f"{servers.api}{CUSTOMERS}/exhausted")
            assert len(await bounded(page.collect(max_items=1))) == 1
            with pytest.raises(RateLimitedError) as info:
                await bounded(listing(kounta, servers, "exhausted"))
    assert str(info.value).startswith("customers.list: the server asked every request to wait ")
    assert len(servers.hits()) == 1
    assert took[0] < 2


async def test_next_page_on_another_host_is_never_fetched(servers: Servers) -> None:
    """An X-Next-Page on another host raises ResponseFormatError; that host sees no request."""
    async with client(servers) as kounta:
        with pytest.raises(ResponseFormatError) as info:
            await bounded(
                kounta.customers.list(cursor=f"{servers.api}{CUSTOMERS}?page=elsewhere").collect()
            )
    port = servers.other.rsplit(":", 1)[1]
    assert str(info.value) == (
        "customers.list: refusing to follow a next-page URL to another host "
        f"(127.0.0.1:{port}): it would carry our credentials"
    )
    assert info.value.path == "X-Next-Page"
    assert servers.other_hits() == []


async def test_next_page_loop_stops(servers: Servers) -> None:
    """An X-Next-Page that repeats raises ResponseFormatError after fetching it once."""
    async with client(servers) as kounta:
        with pytest.raises(ResponseFormatError) as info:
            await bounded(
                kounta.customers.list(cursor=f"{servers.api}{CUSTOMERS}?page=same").collect()
            )
    assert str(info.value) == (
        "customers.list: the server sent the same next-page URL twice (a pagination loop)"
    )
    assert len(servers.hits()) == 2


async def test_next_page_that_is_no_url_is_a_format_error(servers: Servers) -> None:
    """An X-Next-Page urlsplit refuses ("http://[::1...") is a ResponseFormatError."""
    async with client(servers) as kounta:
        with pytest.raises(ResponseFormatError) as info:
            await bounded(
                kounta.customers.list(cursor=f"{servers.api}{CUSTOMERS}?page=badurl").collect()
            )
    assert str(info.value) == "customers.list: the next-page URL is not a valid URL"
    assert info.value.path == "X-Next-Page"
    assert len(servers.hits()) == 1


async def test_created_location_that_is_no_url_is_a_format_error(servers: Servers) -> None:
    """A 201 with no body and a Location urlsplit refuses is a ResponseFormatError, once."""
    async with client(servers) as kounta:
        with pytest.raises(ResponseFormatError) as info:
            await bounded(kounta.customers.create(NewCustomer(first_name="Ann", email="a@b.au")))
    assert str(info.value) == (
        "customers.create: HTTP 201 with neither a body nor a usable Location"
    )
    assert len(servers.hits()) == 1
