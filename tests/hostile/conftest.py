"""Hostile servers on 127.0.0.1: one app that misbehaves per route, and a second "other host".

Routes (``/api/<case>`` for Komet, ``/v1/companies/5678/customers...`` for Kounta):
see :func:`komet_route` and :func:`kounta_route`. Every request is noted in
``app[HITS]`` (path and Authorization header), so tests can check what went
where, and a route that streams forever stops when the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import pytest
from aiohttp import web


#: What a request looked like: its path and query, and its Authorization header.
@attrs.frozen
class Hit:
    path: str
    authorization: str | None


HITS = web.AppKey("hits", list[Hit])
#: The base URL of the *other* server, for routes that point there.
OTHER = web.AppKey("other", str)

MB = 1024 * 1024
#: A 64 KiB block the streaming routes write again and again (no big allocation).
BLOCK = b"x" * (64 * 1024)
COMPANY = 5678


@attrs.frozen
class Servers:
    """The hostile API server and a second server on another port (another origin)."""

    api: str
    other: str
    app: web.Application
    other_app: web.Application

    def hits(self) -> list[Hit]:
        return self.app[HITS]

    def other_hits(self) -> list[Hit]:
        return self.other_app[HITS]


def _note(request: web.Request) -> None:
    request.app[HITS].append(Hit(request.path_qs, request.headers.get("Authorization")))


async def stream(
    request: web.Request,
    total: int,
    *,
    length: int | None = None,
    headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    """Write ``total`` bytes of ``BLOCK`` (declaring ``length`` when given; chunked otherwise)."""
    response = web.StreamResponse(headers={"Content-Type": "application/json", **(headers or {})})
    if length is not None:
        response.content_length = length
    else:
        response.enable_chunked_encoding()
    await response.prepare(request)
    sent = 0
    with contextlib.suppress(ConnectionError):
        while sent < total:
            chunk = BLOCK[: total - sent]
            await response.write(chunk)
            sent += len(chunk)
    return response


async def drip(request: web.Request, *, chunked: bool) -> web.StreamResponse:
    """Headers at once, then one byte every 50 ms, forever (until the client leaves)."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    if chunked:
        response.enable_chunked_encoding()
    else:
        response.content_length = 10 * MB
    await response.prepare(request)
    with contextlib.suppress(ConnectionError):
        while True:
            await response.write(b" ")
            await asyncio.sleep(0.05)
    return response


_BOMBS: dict[str, bytes] = {}


def bomb(encoding: str, size: int = 256 * MB) -> bytes:
    """``size`` bytes of zeros, gzip- or deflate-compressed: a thousandth of that on the wire."""
    if encoding not in _BOMBS:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
        zeros = bytes(MB)
        parts = [packer.compress(zeros) for _ in range(size // MB)]
        _BOMBS[encoding] = b"".join([*parts, packer.flush()])
    return _BOMBS[encoding]


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


async def komet_route(request: web.Request) -> web.StreamResponse:
    _note(request)
    case = request.match_info["case"]
    other = request.app[OTHER]
    if case == "big.declared":
        return await stream(request, 50 * MB, length=50 * MB)
    if case == "big.chunked":
        return await stream(request, 50 * MB)
    if case in ("bomb.gzip", "bomb.deflate"):
        encoding = case.split(".")[1]
        return web.Response(
            body=bomb(encoding),
            headers={"Content-Encoding": encoding, "Content-Type": "application/json"},
        )
    if case == "deep":
        return web.Response(body=nested(100_000), content_type="application/json")
    if case == "utf8":
        body = b'{"status": "1", "customers": [{"id": "1", "name": "Flores \xff\xfe SAS"}]}'
        return web.Response(body=body, content_type="application/json")
    if case == "drip":
        return await drip(request, chunked=False)
    if case == "drip.chunked":
        return await drip(request, chunked=True)
    if case == "loop":
        raise web.HTTPFound(request.path_qs)
    if case == "elsewhere":
        raise web.HTTPFound(f"{other}/api/customer.list?{request.query_string}")
    if case == "retry.after":
        return web.Response(status=429, text="slow down", headers={"Retry-After": "99999999"})
    return web.Response(status=404)


async def deep_records(request: web.Request) -> web.StreamResponse:
    """Any Komet list method: a valid envelope whose first record is 1,000 nested lists."""
    _note(request)
    body = b'{"status": "1", "message": "OK", "customers": [' + nested(1000) + b"]}"
    return web.Response(body=body, content_type="application/json")


def kounta_customer(customer_id: int) -> dict[str, Any]:
    return {"id": customer_id, "first_name": "Jamie", "last_name": "McDonald"}


async def kounta_route(request: web.Request) -> web.StreamResponse:
    """``/v1/companies/5678/customers`` and ``.../customers/{case}``: one case per path."""
    _note(request)
    case = request.match_info.get("case") or request.query.get("case", "")
    other = request.app[OTHER]
    base = f"/v1/companies/{COMPANY}/customers"
    if case == "big":
        return await stream(request, 50 * MB)
    if case == "bomb":
        return web.Response(
            body=bomb("gzip"),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    if case == "deep":
        return web.Response(body=nested(100_000), content_type="application/json")
    if case == "utf8":
        return web.Response(
            body=b'[{"id": 1, "first_name": "J\xc3\x28"}]', content_type="application/json"
        )
    if case == "drip":
        return await drip(request, chunked=True)
    if request.method == "POST":
        # A create answered with no body and a Location urlsplit refuses.
        return web.Response(status=201, headers={"Location": "http://[::1/customers/1"})
    if request.query.get("email") == "loop@example.com" or case == "loop":
        raise web.HTTPFound(f"{base}/loop")
    if request.query.get("email") == "elsewhere@example.com":
        raise web.HTTPFound(f"{other}{base}/389427")
    if request.query.get("email") == "badurl@example.com":
        return web.Response(status=302, headers={"Location": "http://[::1/customers/1"})
    if case == "389427":
        return web.json_response(kounta_customer(389427))
    if case == "retry.after":
        return web.Response(status=429, text="slow down", headers={"Retry-After": "99999999"})
    if case == "garbage.limits":
        return web.json_response(
            [kounta_customer(1)],
            headers={
                "X-RateLimit-Limit": "lots",
                "X-RateLimit-Remaining": "-5",
                "X-RateLimit-Reset": request.query.get("reset", "nan"),
            },
        )
    if case == "garbage.429":
        return web.Response(
            status=429,
            text="slow down",
            headers={
                "Retry-After": request.query.get("retry", "soon"),
                "X-RateLimit-Remaining": "-1",
                "X-RateLimit-Reset": "-1e9",
            },
        )
    if case == "exhausted":
        reset = f"{time.time() + 99999999:.0f}"
        return web.json_response(
            [kounta_customer(1)],
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        )
    page = request.query.get("page")
    if page is not None:
        # The listing: the next page goes where the query says.
        nxt = {
            "elsewhere": f"{other}{base}?page=2",
            "same": f"{base}?page=again",
            "again": f"{base}?page=again",
            "badurl": "http://[::1/customers?page=2",
        }.get(page)
        headers = {"X-Next-Page": nxt} if nxt else {}
        return web.json_response([kounta_customer(1)], headers=headers)
    return web.Response(status=404)


def make_app(other: str) -> web.Application:
    app = web.Application()
    app[HITS] = []
    app[OTHER] = other
    app.router.add_route("*", "/api/{case}", komet_route)
    app.router.add_route("*", "/deep/{method}", deep_records)
    app.router.add_route("*", f"/v1/companies/{COMPANY}/customers", kounta_route)
    app.router.add_route("*", f"/v1/companies/{COMPANY}/customers/{{case}}", kounta_route)
    return app


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    # Streaming routes end when the client leaves; nothing is left to wait for.
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    """The hostile API server and the other host, both on 127.0.0.1 (different ports)."""
    other_app = make_app("")
    async with serving(other_app) as other:
        app = make_app(other)
        async with serving(app) as api:
            yield Servers(api, other, app, other_app)


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Trace Python allocations inside the block; the list gets the peak in bytes."""
    found: list[int] = []
    tracemalloc.start()
    try:
        yield found
    finally:
        found.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


@contextlib.contextmanager
def elapsed() -> Iterator[list[float]]:
    """Time the block; the list gets the seconds it took."""
    found: list[float] = []
    started = time.monotonic()
    try:
        yield found
    finally:
        found.append(time.monotonic() - started)
