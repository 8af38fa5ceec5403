"""KometClient against hostile answers: each ends fast, with its typed error, in bounded memory."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any, TypeVar
from unittest import mock

import pytest

from komet_async import (
    HTTPStatusError,
    KometClient,
    RateLimitedError,
    ResponseFormatError,
    ResponseTooLargeError,
    RetryPolicy,
    TransportError,
)
from komet_async import _sansio as sansio

from .conftest import MB, Servers, elapsed, peak_memory

TOKEN = "tok-HOSTILE-7c1d9e2a"
NO_WAIT = RetryPolicy.no_wait(attempts=2)
TOO_LARGE = "the response body exceeds max_response_bytes (1,048,576 bytes)"
#: No case may take longer than this, whatever the server does.
GUARD = 20.0

T = TypeVar("T")


def client(servers: Servers, **kwargs: Any) -> KometClient:
    return KometClient(TOKEN, base_url=f"{servers.api}/api", retry=NO_WAIT, **kwargs)


async def bounded(call: Awaitable[T]) -> T:
    return await asyncio.wait_for(call, GUARD)


@pytest.mark.parametrize("case", ["big.declared", "big.chunked"])
async def test_50_mb_body_stops_at_the_limit(servers: Servers, case: str) -> None:
    """A 50 MB body (declared or chunked) raises ResponseTooLargeError holding ~1 MiB, not 50."""
    with elapsed() as took, peak_memory() as peak:
        async with client(servers, max_response_bytes=MB) as komet:
            with pytest.raises(ResponseTooLargeError) as info:
                await bounded(komet.call(case))
    assert (
        str(info.value) == f"{case}: the response body exceeds max_response_bytes (1,048,576 bytes)"
    )
    assert info.value.limit == MB
    assert len(servers.hits()) == 1  # not retried
    assert peak[0] < MB + 3 * MB
    assert took[0] < 5


async def test_50_mb_garbage_under_the_default_limit_is_a_format_error(servers: Servers) -> None:
    """Under the default 64 MiB limit a 50 MB non-JSON body is read once, then refused typed."""
    # The stdlib parser: orjson's error path reserves ~12x the body in address
    # space (tracemalloc counts it; resident memory grows by ~1x), which would
    # measure orjson rather than the client.
    with mock.patch.object(sansio, "_loads", json.loads), peak_memory() as peak:
        async with client(servers) as komet:
            with pytest.raises(ResponseFormatError) as info:
                await bounded(komet.call("big.declared"))
    assert type(info.value) is ResponseFormatError
    assert str(info.value) == f"big.declared: the response is not JSON: {'x' * 200 + '…'!r}"
    # The body once, plus aiohttp's read buffers: bounded by the limit, not the stream.
    assert peak[0] < 2 * 50 * MB + 8 * MB


@pytest.mark.parametrize("case", ["bomb.gzip", "bomb.deflate"])
async def test_compression_bomb_stops_at_the_limit(servers: Servers, case: str) -> None:
    """256 MiB of zeros in a ~256 KB gzip/deflate body stops at max_response_bytes, decompressed."""
    with elapsed() as took, peak_memory() as peak:
        async with client(servers, max_response_bytes=MB) as komet:
            with pytest.raises(ResponseTooLargeError) as info:
                await bounded(komet.call(case))
    assert (
        str(info.value) == f"{case}: the response body exceeds max_response_bytes (1,048,576 bytes)"
    )
    assert len(servers.hits()) == 1
    assert peak[0] < MB + 3 * MB
    assert took[0] < 5


async def test_compression_bomb_under_the_default_limit(servers: Servers) -> None:
    """With the default limit a bomb costs at most 64 MiB (plus buffers), never 256 MiB."""
    with peak_memory() as peak:
        async with client(servers) as komet:
            with pytest.raises(ResponseTooLargeError) as info:
                await bounded(komet.call("bomb.gzip"))
    assert info.value.limit == 64 * MB
    assert peak[0] < 64 * MB + 8 * MB


@pytest.mark.parametrize("parser", ["orjson", "json"])
async def test_100k_levels_of_nesting_is_not_json(servers: Servers, parser: str) -> None:
    """100,000 nested '[' is "not JSON" with orjson or the stdlib parser, never RecursionError."""
    loads = {"orjson": sansio._loads, "json": json.loads}[parser]
    with mock.patch.object(sansio, "_loads", loads):
        async with client(servers) as komet:
            with pytest.raises(ResponseFormatError) as info:
                await bounded(komet.call("deep"))
    assert str(info.value) == f"deep: the response is not JSON: {'[' * 200 + '…'!r}"
    assert info.value.path is None


async def test_1000_levels_in_a_record_name_the_record(servers: Servers) -> None:
    """A record nested 1,000 levels (orjson parses it) is a ResponseFormatError at that record."""
    async with KometClient(TOKEN, base_url=f"{servers.api}/deep", retry=NO_WAIT) as komet:
        with pytest.raises(ResponseFormatError) as info:
            await bounded(komet.customers.list())
    assert str(info.value) == (
        "customer.list: cannot read customers[0] = [[[[[...]]]]]: expected an object, got list"
    )
    assert info.value.path == "customers[0]"


async def test_invalid_utf8_is_not_json(servers: Servers) -> None:
    """A body that is not UTF-8 is "not JSON", the bad bytes shown as U+FFFD."""
    async with client(servers) as komet:
        with pytest.raises(ResponseFormatError) as info:
            await bounded(komet.call("utf8"))
    assert str(info.value).startswith("utf8: the response is not JSON: ")
    assert "Flores \ufffd\ufffd SAS" in info.value.body_excerpt
    assert len(servers.hits()) == 1


@pytest.mark.parametrize("case", ["drip", "drip.chunked"])
async def test_endless_drip_ends_at_the_timeout(servers: Servers, case: str) -> None:
    """A body trickling forever ends at the total timeout of each attempt: TransportError."""
    with elapsed() as took:
        async with client(servers, timeout=0.5) as komet:
            with pytest.raises(TransportError) as info:
                await bounded(komet.call(case))
    assert str(info.value) == f"{case}: timed out after 0.5 s"
    assert info.value.timed_out
    assert len(servers.hits()) == 2  # both attempts of the policy
    assert took[0] < 2 * 0.5 + 1.5


async def test_redirect_loop_is_not_followed(servers: Servers) -> None:
    """Komet never redirects: a 302 (even to itself) is an HTTPStatusError after one request."""
    async with client(servers) as komet:
        with pytest.raises(HTTPStatusError) as info:
            await bounded(komet.call("loop"))
    assert str(info.value) == "loop: unexpected HTTP 302"
    assert info.value.status == 302
    assert len(servers.hits()) == 1


async def test_redirect_to_another_host_sends_nothing_there(servers: Servers) -> None:
    """A 302 to another host is refused: the token (in the query) never reaches it."""
    async with client(servers) as komet:
        with pytest.raises(HTTPStatusError) as info:
            await bounded(komet.call("elsewhere"))
    assert str(info.value) == "elsewhere: unexpected HTTP 302"
    assert servers.other_hits() == []
    assert TOKEN not in repr(info.value.headers)


async def test_retry_after_99999999_fails_at_once(servers: Servers) -> None:
    """Retry-After: 99999999 raises RateLimitedError at once, and so does the next call."""
    with elapsed() as took:
        async with client(servers) as komet:
            with pytest.raises(RateLimitedError) as info:
                await bounded(komet.call("retry.after"))
            with pytest.raises(RateLimitedError) as again:
                await bounded(komet.call("retry.after"))
    assert str(info.value) == "HTTP 429 from retry.after (retry after 1e+08 s): slow down"
    assert info.value.retry_after == 99999999
    assert str(again.value).startswith("retry.after: the server asked every request to wait 99999")
    assert str(again.value).endswith(" s, longer than max_retry_after (60 s)")
    assert len(servers.hits()) == 1  # the second call never went out
    assert took[0] < 2
