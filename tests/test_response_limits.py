"""max_response_bytes: oversized, chunked and compressed bodies stop at the limit."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from komet_async import KometClient, ResponseFormatError, ResponseTooLargeError
from komet_async.kounta import BasicAuth, KountaClient

TOKEN = "tok-LIMITS-0123456789"

HITS = web.AppKey("hits", list[str])

#: A valid envelope of exactly ``len(ENVELOPE)`` bytes.
ENVELOPE = json.dumps({"status": "1", "message": "OK", "customers": []}).encode()


async def handler(request: web.Request) -> web.StreamResponse:
    request.app[HITS].append(request.path)
    kind = request.match_info["kind"]
    if kind == "exact":
        return web.Response(body=ENVELOPE, content_type="application/json")
    if kind == "declared":
        # A Content-Length over the limit: refused before any body is read.
        return web.Response(body=ENVELOPE + b" " * 5000, content_type="application/json")
    if kind == "chunked":
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"status": "1", "pad": "')
        for _ in range(100):
            await response.write(b"x" * 1000)
        await response.write(b'"}')
        return response
    if kind == "bomb":
        # 1 MB of zeros compresses to about 1 KB: the Content-Length says nothing.
        body = gzip.compress(b'{"status": "1", "pad": "' + b"0" * 1_000_000 + b'"}')
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )
    if kind == "small.gzip":
        return web.Response(
            body=gzip.compress(ENVELOPE),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    raise web.HTTPNotFound()


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, web.Application]]:
    app = web.Application()
    app[HITS] = []
    app.router.add_route("*", "/api/{kind}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/api", app
    await runner.cleanup()


async def test_body_of_exactly_the_limit_is_read(server: tuple[str, web.Application]) -> None:
    """A body of exactly max_response_bytes is accepted."""
    base, _ = server
    async with KometClient(TOKEN, base_url=base, max_response_bytes=len(ENVELOPE)) as komet:
        assert await komet.call("exact") == {"status": "1", "message": "OK", "customers": []}


@pytest.mark.parametrize("kind", ["declared", "chunked", "bomb"])
async def test_oversized_body_raises_once_without_retry(
    server: tuple[str, web.Application], kind: str
) -> None:
    """A declared, chunked or decompressed body over the limit raises ResponseTooLargeError once."""
    base, app = server
    async with KometClient(TOKEN, base_url=base, max_response_bytes=4096) as komet:
        with pytest.raises(ResponseTooLargeError) as caught:
            await komet.call(kind)
        assert komet.stats.requests == 1
        assert komet.stats.failures == 1
    assert app[HITS] == [f"/api/{kind}"]
    assert caught.value.limit == 4096
    assert caught.value.method == kind
    assert isinstance(caught.value, ResponseFormatError)
    assert (
        str(caught.value) == f"{kind}: the response body exceeds max_response_bytes (4,096 bytes)"
    )
    assert TOKEN not in repr(caught.value)
    assert TOKEN not in (caught.value.url or "")


async def test_body_one_byte_over_the_limit_raises(server: tuple[str, web.Application]) -> None:
    """The limit is inclusive: one byte more raises."""
    base, _ = server
    async with KometClient(TOKEN, base_url=base, max_response_bytes=len(ENVELOPE) - 1) as komet:
        with pytest.raises(ResponseTooLargeError):
            await komet.call("exact")


async def test_small_compressed_body_is_decompressed(server: tuple[str, web.Application]) -> None:
    """A gzip body under the limit is read through the counting path and decoded."""
    base, _ = server
    async with KometClient(TOKEN, base_url=base, max_response_bytes=len(ENVELOPE)) as komet:
        assert await komet.call("small.gzip") == {"status": "1", "message": "OK", "customers": []}


async def test_client_still_works_after_an_oversized_body(
    server: tuple[str, web.Application],
) -> None:
    """The connection left mid-body is dropped, so the next call reads a clean response."""
    base, _ = server
    async with KometClient(TOKEN, base_url=base, max_response_bytes=4096) as komet:
        with pytest.raises(ResponseTooLargeError):
            await komet.call("chunked")
        assert await komet.call("exact") == {"status": "1", "message": "OK", "customers": []}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "64"])
def test_max_response_bytes_must_be_a_positive_int(bad: object) -> None:
    """A limit that is not a positive integer is refused when the client is made."""
    with pytest.raises(ValueError, match="max_response_bytes must be a positive integer"):
        KometClient(TOKEN, max_response_bytes=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_response_bytes must be a positive integer"):
        KountaClient(1, auth=BasicAuth("id", "secret"), max_response_bytes=bad)  # type: ignore[arg-type]
