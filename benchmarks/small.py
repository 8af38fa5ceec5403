"""``small``: many one-customer requests; the full client against raw aiohttp (and httpx).

The issue's target 1: the client (limiter, retry machinery, envelope check,
decode, structure) reaches at least 0.90x raw ``aiohttp`` + ``resp.json()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp

from komet_async import KometClient, RateLimit

from ._harness import (
    INSTALL_HINT,
    Row,
    Stopwatch,
    interleave,
    optional,
    ratio_row,
    server_process,
)

NAME = "small"
TARGET = "ours/raw >= 0.90"

#: Requests kept in flight at once (the issue's measurement).
CONCURRENCY = 64
#: Requests before the clock starts: connections opened, code paths warmed.
WARMUP = 2 * CONCURRENCY
#: Requests httpx sends per round (see the note in :func:`run`).
HTTPX_COUNT = 300


async def _drive(one: Callable[[], Awaitable[object]], count: int) -> float:
    """Send ``count`` requests ``CONCURRENCY`` at a time; return requests per second."""
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def limited() -> None:
        async with semaphore:
            await one()

    await asyncio.gather(*(limited() for _ in range(WARMUP)))
    with Stopwatch() as watch:
        await asyncio.gather(*(limited() for _ in range(count)))
    return count / watch.seconds


async def _raw(base: str, count: int) -> float:
    url = f"{base}/customer.list"
    params = {"authenticationToken": "bench-token"}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> object:
            async with session.get(url, params=params) as response:
                return await response.json()

        return await _drive(one, count)


async def _ours(base: str, count: int) -> float:
    # A bucket that never runs dry: its arithmetic runs on every request, as it
    # would for a user with a rate limit, but it never makes anyone wait.
    rate_limit = RateLimit(per_second=1_000_000, burst=1_000)
    async with KometClient(
        "bench-token", base_url=base, max_concurrency=CONCURRENCY, rate_limit=rate_limit
    ) as komet:
        return await _drive(komet.customers.list, count)


async def _httpx(base: str, count: int) -> float:
    import httpx

    url = f"{base}/customer.list"
    params = {"authenticationToken": "bench-token"}
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits) as client:

        async def one() -> object:
            response = await client.get(url, params=params)
            return response.json()

        return await _drive(one, count)


def run(rounds: int, quick: bool) -> list[Row]:
    """Requests per second of each contender, ``rounds`` interleaved rounds."""
    count = 1_000 if quick else 5_000
    have_httpx = optional("httpx") is not None
    with server_process("small") as port:
        base = f"http://127.0.0.1:{port}/api"
        # One event loop per run: nothing a contender leaves behind (idle
        # connections, callbacks) runs during another's measurement.
        contenders = {
            "raw aiohttp get + json()": lambda: asyncio.run(_raw(base, count)),
            "KometClient.customers.list()": lambda: asyncio.run(_ours(base, count)),
        }
        if have_httpx:
            # httpx is an order of magnitude slower at this concurrency (encode/httpx#3215):
            # fewer requests keep the run short; a rate is a rate.
            contenders["httpx.AsyncClient get + json()"] = lambda: asyncio.run(
                _httpx(base, HTTPX_COUNT)
            )
        samples = interleave(contenders, rounds)
    note = f"{count:,} requests, {CONCURRENCY} concurrent, server in a subprocess"
    raw = samples["raw aiohttp get + json()"]
    ours = samples["KometClient.customers.list()"]
    rows = [
        Row(
            NAME,
            "raw aiohttp get + json()",
            "req/s",
            raw,
            baseline=True,
            note=note,
        ),
        Row(
            NAME,
            "KometClient.customers.list()",
            "req/s",
            ours,
            target=TARGET,
        ),
        # The ratio of medians above compares rates taken minutes apart; this
        # one divides the two rates of each round (taken back to back), so a
        # drift of the shared machine between rounds cancels out of it.
        ratio_row(
            NAME,
            "ours / raw, the same round",
            ours,
            raw,
            target=TARGET,
            note="median of per-round ratios",
        ),
    ]
    if have_httpx:
        rows.append(
            Row(
                NAME,
                "httpx.AsyncClient get + json()",
                "req/s",
                samples["httpx.AsyncClient get + json()"],
                note=f"reference; {HTTPX_COUNT} requests (encode/httpx#3215)",
            )
        )
    else:
        rows.append(Row(NAME, "httpx.AsyncClient get + json()", "req/s", note=INSTALL_HINT))
    return rows
