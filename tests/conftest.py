"""Shared fixtures: an aioresponses mock, a fake clock, a recognisable token, a tiny server."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, cast
from unittest import mock

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses
from aioresponses import core as aioresponses_core

from komet_async import KometClient, RetryPolicy
from komet_async.testing import FakeClock

#: A token nobody could mistake for anything else, so leak checks are exact.
TOKEN = "tok-SECRET-5f3a9c"
BASE = "https://api.kometsales.com/api"


class _CompatClientResponse(aiohttp.ClientResponse):
    """aioresponses 0.7.9 predates aiohttp 3.14's required ``stream_writer`` argument.

    Upstream: pnuckowski/aioresponses#289 (fix in PR #288, unreleased). aiohttp
    only reads ``stream_writer.output_size``; remove this shim once a fixed
    aioresponses is released.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if _NEEDS_STREAM_WRITER and "stream_writer" not in kwargs:
            kwargs["stream_writer"] = mock.Mock(output_size=0)
        super().__init__(*args, **kwargs)


_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(aiohttp.ClientResponse).parameters


class RecordingMock(aioresponses):
    """aioresponses that also keeps each request's URL as sent, query order included.

    aioresponses keys its record by a normalised URL (query sorted), and the
    client sends its query inside the URL, so the order the parameters went
    out in is only in ``sent``: ``(HTTP method, URL)`` per request, in order.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: list[tuple[str, str]] = []

    async def _request_mock(
        self, orig_self: aiohttp.ClientSession, method: str, url: Any, *args: Any, **kwargs: Any
    ) -> aiohttp.ClientResponse:
        built = orig_self._build_url(url)
        params = kwargs.get("params")
        self.sent.append((method, str(built.extend_query(params) if params else built)))
        response: aiohttp.ClientResponse = await super()._request_mock(
            orig_self, method, url, *args, **kwargs
        )
        return response


@pytest.fixture
def mocked() -> Iterator[RecordingMock]:
    """An aioresponses mock that works on every supported aiohttp and records URLs as sent."""
    with (
        mock.patch.object(aioresponses_core, "ClientResponse", _CompatClientResponse),
        RecordingMock() as m,
    ):
        yield cast(RecordingMock, m)  # __enter__ returns self, typed as aioresponses


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock: sleeps are recorded and return at once."""
    return FakeClock()


@pytest.fixture
async def komet(clock: FakeClock) -> AsyncIterator[KometClient]:
    """A client with the default retry policy's attempts but no real waiting."""
    async with KometClient(TOKEN, retry=RetryPolicy.no_wait(), clock=clock) as client:
        yield client


@asynccontextmanager
async def komet_server(
    answer: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """Serve ``answer`` for every Komet method on 127.0.0.1; yield the base URL."""
    app = web.Application()
    app.router.add_route("*", "/api/{method}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/api"
    finally:
        await runner.cleanup()
