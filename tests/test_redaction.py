"""The token never leaks: every error path, against a real local server that echoes it back."""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable

import pytest
from aiohttp import web

from komet_async import (
    APIError,
    HTTPStatusError,
    KometClient,
    KometError,
    RateLimitedError,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from komet_async._redact import Redactor

from .conftest import TOKEN


async def _echo(request: web.Request) -> str:
    """What a careless server does: repeat the request, token included."""
    if request.method == "POST":
        return (await request.read()).decode()
    return request.query_string


async def handler(request: web.Request) -> web.StreamResponse:
    kind = request.match_info["kind"]
    echo = await _echo(request)
    if kind == "fail.500":
        return web.Response(status=500, text=f"internal error for {echo}")
    if kind == "fail.429":
        return web.Response(status=429, text=f"slow down {echo}", headers={"Retry-After": "600"})
    if kind == "status.zero":
        return web.json_response({"status": "0", "message": f"Invalid token {echo}"})
    if kind == "bad.json":
        return web.Response(text=f"<html>oops {echo}</html>", content_type="text/html")
    if kind == "customer.list":  # a record whose id echoes the request
        return web.json_response({"status": "1", "customers": [{"id": f"x{echo}", "name": "n"}]})
    if kind == "redirect":
        raise web.HTTPFound(f"http://elsewhere.invalid/steal?{echo}")
    if kind == "slow":
        await asyncio.sleep(1)
        return web.json_response({"status": "1"})
    if kind == "cutoff":
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(f'{{"status": "1", "echo": "{echo}'.encode())
        assert request.transport is not None
        request.transport.close()
        return response
    raise web.HTTPNotFound(text=echo)


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/api/{kind}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/api"
    await runner.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _assert_clean(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    # The local test server's access log is the server's business, not the client's.
    ours = [
        r for r in caplog.records if not r.name.startswith(("aiohttp.access", "aiohttp.server"))
    ]
    texts = [
        str(exc),
        repr(exc),
        "".join(traceback.format_exception(exc)),
        *(str(getattr(exc, name, "")) for name in ("url", "body_excerpt", "headers", "value")),
        *(r.getMessage() for r in ours),
        *(str(r.args) for r in ours),
    ]
    for text in texts:
        assert TOKEN not in text
        assert "SECRET" not in text


CASES = [
    ("fail.500", ServerError),
    ("fail.429", RateLimitedError),
    ("status.zero", APIError),
    ("bad.json", ResponseFormatError),
    ("customer.list", ResponseFormatError),
    ("redirect", HTTPStatusError),
    ("slow", TransportError),
    ("cutoff", TransportError),
    ("missing", HTTPStatusError),
]


@pytest.mark.parametrize(("kind", "error"), CASES)
@pytest.mark.parametrize("http", ["GET", "POST"])
async def test_no_error_path_leaks_the_token(
    server: str,
    kind: str,
    error: type[KometError],
    http: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each error path raises its typed error without the token in text, logs or traceback."""
    caplog.set_level(logging.DEBUG)
    policy = RetryPolicy(attempts=2, wait_initial=0.0, wait_max=0.0)
    async with KometClient(TOKEN, base_url=server, retry=policy, timeout=0.3) as komet:
        call: Awaitable[object]
        if kind == "customer.list":
            call = komet.customers.list(name=TOKEN)
        elif http == "GET":
            call = komet.call(kind, params={"echo": TOKEN})
        else:
            call = komet.call(kind, json={"echo": TOKEN}, idempotent=True)
        with pytest.raises(error) as info:
            await call
    _assert_clean(info.value, caplog)
    assert caplog.records, "the failure was logged"


async def test_connection_refused_does_not_leak(caplog: pytest.LogCaptureFixture) -> None:
    """A refused connection raises TransportError(request_sent=False) without the token."""
    caplog.set_level(logging.DEBUG)
    base = f"http://127.0.0.1:{_free_port()}/api"
    async with KometClient(TOKEN, base_url=base, retry=RetryPolicy.no_wait(2)) as komet:
        with pytest.raises(TransportError) as info:
            await komet.customers.list()
    assert info.value.request_sent is False
    _assert_clean(info.value, caplog)


async def test_error_keeps_a_redacted_url_and_excerpt(server: str) -> None:
    """Errors carry the URL and body excerpt with the token replaced by ***."""
    async with KometClient(TOKEN, base_url=server, retry=RetryPolicy.disabled()) as komet:
        with pytest.raises(ServerError) as info:
            await komet.call("fail.500", params={"code": "T1"})
    assert info.value.url == f"{server}/fail.500?authenticationToken=***&code=T1"
    assert info.value.body_excerpt == "internal error for authenticationToken=***&code=T1"
    assert info.value.status == 500


def test_errors_survive_pickling_without_the_token() -> None:
    """Errors pickle (for worker pools) and keep their typed attributes."""
    exc = RateLimitedError("slow down", retry_after=3.0, method="customer.list", url="u")
    copy = pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes
    assert type(copy) is RateLimitedError
    assert (copy.retry_after, copy.method, copy.url, copy.status) == (
        3.0,
        "customer.list",
        "u",
        429,
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"https://h/api/x?authenticationToken={TOKEN}&a=1",
            "https://h/api/x?authenticationToken=***&a=1",
        ),
        ("https://user:pw@h:8443/p?q=1", "https://***@h:8443/p?q=1"),
        (f"https://h/p?note=before-{TOKEN}-after", "https://h/p?note=before-***-after"),
        (
            "https://h/p?access_token=abc&refresh_token=def",
            "https://h/p?access_token=***&refresh_token=***",
        ),
    ],
)
def test_redactor_url(url: str, expected: str) -> None:
    """URLs lose secret parameters, credentials and any known secret value."""
    assert Redactor.of(TOKEN).url(url) == expected


def test_redactor_hides_encoded_forms_and_headers() -> None:
    """URL-encoded forms of a secret and Authorization headers are hidden too."""
    secret = "a b/c+d"
    redactor = Redactor.of(secret)
    assert redactor.text("x a%20b%2Fc%2Bd y a+b%2Fc%2Bd z") == "x *** y *** z"
    assert redactor.headers([("Authorization", "Bearer q"), ("X-Other", f"v {secret}")]) == {
        "Authorization": "***",
        "X-Other": "v ***",
    }
    assert repr(redactor) == "Redactor(<11 secrets>)"
