"""Secret-leak audit: every error path of both clients, with recognisable secrets.

One harness runs each path (a named case) and then looks for the secrets, and
for the forms they take on the wire (URL-encoded as urllib and yarl spell
them, JSON-escaped, the base64 of a Basic header, a webhook signature an
attacker could reuse), everywhere text comes out of the library:

- every log record captured at DEBUG, on every logger but the local test
  server's own ``aiohttp.access`` / ``aiohttp.server`` loggers;
- ``str``, ``repr`` and attributes of every exception raised, and of every
  exception chained to it (``__cause__`` / ``__context__``);
- the formatted traceback (``traceback.format_exception`` walks the chain,
  so aiohttp's own exceptions, which print request URLs, are in it);
- ``str`` / ``repr`` of the clients, their auth and config objects, every
  ``RequestSpec`` they built, and the sandboxes;
- the command line's stdout and stderr.

Servers echo everything they receive (query string, body, ``Authorization``)
into bodies, headers, redirects and next-page links: the worst case a
careless or hostile server can produce.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import io
import json
import logging
import os
import runpy
import socket
import subprocess
import sys
import threading
import traceback
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
import yarl
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from click.testing import CliRunner

from komet_async import (
    APIError,
    AuthenticationError,
    CustomerUpdate,
    HTTPStatusError,
    KometClient,
    KometError,
    NotFoundError,
    RateLimit,
    RateLimitedError,
    ResponseFormatError,
    ResponseTooLargeError,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationError,
)
from komet_async.cli import main as cli_main
from komet_async.kounta import BasicAuth, CustomerChanges, KountaClient, NewCustomer, OAuth2
from komet_async.kounta.auth import TokenPair
from komet_async.kounta.models import Webhook
from komet_async.kounta.webhooks import (
    InvalidSignatureError,
    PayloadTooLargeError,
    UnknownTopicError,
    WebhookError,
    WebhookPayloadError,
    handle_delivery,
    parse_event,
    verify_signature,
    webhook_handler,
)
from komet_async.sandbox import FaultPlan, KometSandbox
from komet_async.sandbox.inject import fault_response
from komet_async.sandbox.kounta import KountaSandbox
from komet_async.testing import FakeClock

# --- the secrets -----------------------------------------------------------------

#: Every secret carries this marker, so a fragment of one (a cut-off excerpt) is caught too.
MARKER: Final = "sEcReT"
# "+", "/" and "=" make each wire spelling differ: urllib and yarl encode them
# differently in query strings, and a Basic header hides them in base64.
KOMET_TOKEN: Final = "kmt-sEcReT+tok/5f3a=9c"
WRONG_KOMET_TOKEN: Final = "kmt-sEcReT+wrong/77e1=0a"
CLIENT_ID: Final = "app-client-7c1d"
CLIENT_SECRET: Final = "kcs-sEcReT+cs/8e2b=4a"
WRONG_CLIENT_SECRET: Final = "kcs-sEcReT+bad/91aa=3e"
ACCESS_TOKEN: Final = "oat-sEcReT+at/1f6c=0d"
REFRESH_TOKEN: Final = "ort-sEcReT+rt/3b9e=7f"
#: What the local token endpoint rotates to.
NEW_ACCESS_TOKEN: Final = "oat-sEcReT+new/42d0=8b"
NEW_REFRESH_TOKEN: Final = "ort-sEcReT+new/c5e7=1a"
WEBHOOK_SECRET: Final = "whs-sEcReT+wh/6d4a=2c"
OTHER_WEBHOOK_SECRET: Final = "whs-sEcReT+other/0b3f=5d"

SECRETS: Final = (
    KOMET_TOKEN,
    WRONG_KOMET_TOKEN,
    CLIENT_SECRET,
    WRONG_CLIENT_SECRET,
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    NEW_ACCESS_TOKEN,
    NEW_REFRESH_TOKEN,
    WEBHOOK_SECRET,
    OTHER_WEBHOOK_SECRET,
)

#: Loggers that belong to the local test servers, not to the library.
SERVER_LOGGERS: Final = ("aiohttp.access", "aiohttp.server")


def wire_forms(secret: str) -> set[str]:
    """The secret and the spellings it takes in URLs, form bodies and JSON."""
    yarl_query = yarl.URL.build(query={"k": secret}).raw_query_string.partition("=")[2]
    return {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret, safe=""),
        urllib.parse.quote_plus(secret),
        yarl_query,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


def basic_credentials(client_id: str, secret: str) -> str:
    """The base64 half of a Basic ``Authorization`` header."""
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")


def signature(secret: str, body: bytes) -> str:
    """The valid webhook signature of ``body``: whoever reads it can replay the delivery."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_secret_forms_differ() -> None:
    """The chosen secrets really do take several spellings on the wire (else the audit is weak)."""
    forms = wire_forms(KOMET_TOKEN)
    assert len(forms) >= 3
    assert "kmt-sEcReT%2Btok/5f3a%3D9c" in forms  # how yarl puts it in a query string
    assert MARKER not in basic_credentials(CLIENT_ID, CLIENT_SECRET)


# --- where text comes out ----------------------------------------------------------


def exception_texts(exc: BaseException) -> list[str]:
    """The traceback, and str/repr (attributes too, for ours) of every exception in the chain."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        if isinstance(current, KometError):
            texts.append(repr(vars(current)))
        # Follow the chain as tracebacks do: ``raise ... from`` hides the context.
        chained = [current.__cause__]
        if not current.__suppress_context__:
            chained.append(current.__context__)
        todo += [e for e in chained if e is not None]
    return texts


_FORMAT = logging.Formatter("%(name)s %(levelname)s %(message)s")


def log_texts(records: list[logging.LogRecord]) -> list[str]:
    """Each record as a handler would write it (traceback included), and its raw args."""
    ours = [r for r in records if not r.name.startswith(SERVER_LOGGERS)]
    return [text for r in ours for text in (_FORMAT.format(r), repr(r.args))]


class Audit:
    """What one case produced: errors, objects and output to search for secrets."""

    def __init__(self, root: str = "", other: str = "") -> None:
        #: The echo server, and the same server on a second port (another origin).
        self.root = root
        self.other = other
        self.clock = FakeClock()
        self.secrets: set[str] = set()
        self.errors: list[BaseException] = []
        self.objects: list[object] = [
            RetryPolicy(),
            RateLimit(per_second=5, burst=5, per_day=1000),
        ]
        self.outputs: list[str] = []
        for secret in SECRETS:
            self.add_secret(secret)
        for secret in (CLIENT_SECRET, WRONG_CLIENT_SECRET):
            self.secrets.add(basic_credentials(CLIENT_ID, secret))

    def add_secret(self, secret: str) -> None:
        """Search for ``secret`` (and its wire forms) as well."""
        self.secrets |= wire_forms(secret)

    async def expect(self, error: type[BaseException], call: Awaitable[Any]) -> BaseException:
        """Await ``call``, which must raise ``error``; keep the exception for the audit."""
        with pytest.raises(error) as info:
            await call
        self.errors.append(info.value)
        return info.value

    def raises(self, error: type[BaseException], call: Callable[[], Any]) -> BaseException:
        """Call ``call``, which must raise ``error``; keep the exception for the audit."""
        with pytest.raises(error) as info:
            call()
        self.errors.append(info.value)
        return info.value

    def watch(self, client: KometClient | KountaClient) -> None:
        """Audit the client, its auth, and every RequestSpec it sends."""
        self.objects.append(client)
        if isinstance(client, KountaClient):
            self.objects.append(client.auth)
        core = client._core
        send = core.request

        async def spy(spec: Any, **options: Any) -> Any:
            self.objects.append(spec)
            return await send(spec, **options)

        core.request = spy  # type: ignore[method-assign]

    # --- clients on the echo server --------------------------------------------

    def komet(self, mode: str, **options: Any) -> KometClient:
        """A Komet client whose base URL makes the echo server act out ``mode``."""
        options.setdefault("base_url", f"{self.root}/{mode}/api")
        options.setdefault("retry", RetryPolicy(attempts=2, wait_initial=0, wait_max=0))
        options.setdefault("timeout", 0.3)
        options.setdefault("clock", self.clock)
        client = KometClient(KOMET_TOKEN, **options)
        self.watch(client)
        return client

    def kounta(self, mode: str, auth_kind: str, **options: Any) -> KountaClient:
        """A Kounta client (``basic`` or ``oauth2``) on the echo server acting out ``mode``."""
        options.setdefault("base_url", f"{self.root}/{mode}/v1")
        options.setdefault("retry", RetryPolicy(attempts=2, wait_initial=0, wait_max=0))
        options.setdefault("timeout", 0.3)
        options.setdefault("clock", self.clock)
        options.setdefault("rate_limit", None)
        client = KountaClient(1, auth=make_auth(auth_kind), **options)
        self.watch(client)
        return client


def make_auth(kind: str) -> BasicAuth | OAuth2:
    """Fresh credentials of ``kind``, holding the recognisable secrets."""
    if kind == "basic":
        return BasicAuth(CLIENT_ID, CLIENT_SECRET)
    pairs: list[TokenPair] = []
    return OAuth2(ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET, pairs.append)


def find_leaks(audit: Audit, records: list[logging.LogRecord]) -> list[str]:
    """Every place a secret (or the marker) shows up, as ``where: what``."""
    places: list[tuple[str, str]] = []
    for exc in audit.errors:
        places += [(f"exception {type(exc).__name__}", t) for t in exception_texts(exc)]
    for obj in audit.objects:
        places += [(f"object {type(obj).__name__}", t) for t in (str(obj), repr(obj))]
    places += [("log", t) for t in log_texts(records)]
    places += [("output", t) for t in audit.outputs]
    found = []
    for where, text in places:
        hits = sorted(s for s in audit.secrets | {MARKER} if s in text)
        if hits:
            found.append(f"{where}: {hits} in {text[:300]!r}")
    return found


# --- the echo server -----------------------------------------------------------------

OTHER: Final = web.AppKey("other", list[str])


async def echo_of(request: web.Request) -> str:
    """Everything a careless server might repeat back: path, query, credentials, body."""
    body = (await request.read()).decode("utf-8", "replace")
    auth = request.headers.get("Authorization", "")
    credentials = auth.partition(" ")[2]  # without the scheme, as some servers log it
    return (
        f"path={request.raw_path} query={request.query_string} auth={auth} "
        f"credentials={credentials} body={body}"
    )


async def token_answer(mode: str, echo: str) -> web.StreamResponse:
    """``POST /v1/token``: rotate the tokens, or fail the way ``mode`` says."""
    _, _, how = mode.partition("+")
    if how == "refused":
        return web.json_response({"error": "invalid_grant", "echo": echo}, status=400)
    if how == "t500":
        return web.Response(status=500, text=f"token store down: {echo}")
    if how == "thtml":
        return web.Response(text=f"<html>{echo}</html>", content_type="text/html")
    if how == "tnoaccess":
        return web.json_response({"token_type": "bearer", "echo": echo})
    return web.json_response(
        {"access_token": NEW_ACCESS_TOKEN, "refresh_token": NEW_REFRESH_TOKEN, "expires_in": 3600}
    )


async def echo_handler(request: web.Request) -> web.StreamResponse:
    """Act out the mode named by the first path segment, echoing the request everywhere."""
    mode = request.match_info["mode"]
    tail = request.match_info["tail"]
    echo = await echo_of(request)
    if tail == "v1/token":
        return await token_answer(mode, echo)
    behaviour = mode.partition("+")[0]
    auth = request.headers.get("Authorization", "")
    quoted = urllib.parse.quote(echo, safe="")
    other = request.app[OTHER][0]
    if behaviour == "401":
        return web.json_response(
            {"error": "invalid_token", "echo": echo},
            status=401,
            headers={"WWW-Authenticate": f'Bearer error="invalid_token", echo="{auth}"'},
        )
    if behaviour in ("403", "404", "500", "502", "503"):
        return web.Response(status=int(behaviour), text=f"refused: {echo}")
    if behaviour == "503html":
        return web.Response(status=503, text=f"<html>{echo}</html>", content_type="text/html")
    if behaviour == "429":
        return web.Response(status=429, text=f"slow down {echo}", headers={"Retry-After": "600"})
    if behaviour == "429none":
        return web.Response(status=429, text=f"Limit exceeded {echo}")
    if behaviour == "reset":
        return await fault_response("reset", request, FaultPlan())
    if behaviour == "cutoff":
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(f'{{"status": "1", "echo": "{echo}'.encode())
        assert request.transport is not None
        request.transport.close()
        return response
    if behaviour == "slow":
        await asyncio.sleep(1)
        return web.json_response({"status": "1"})
    if behaviour == "html":
        return web.Response(text=f"<html>{echo}</html>", content_type="text/html")
    if behaviour == "badjson":  # malformed JSON that repeats the request
        return web.Response(
            text=f'{{"status": "1", "echo": "{echo}', content_type="application/json"
        )
    if behaviour == "status0":
        return web.json_response({"status": "0", "message": f"Invalid token {echo}", "e": echo})
    if behaviour == "badfield":  # a record whose id echoes the request
        if tail.startswith("api/"):
            return web.json_response({"status": "1", "customers": [{"id": f"x{echo}"}]})
        return web.json_response({"id": f"x{echo}", "first_name": echo})
    if behaviour == "big":
        return web.Response(text=f"{echo} " * 400, content_type="application/json")
    if behaviour == "redirect":  # to another origin, the request in the URL
        raise web.HTTPFound(f"{other}/elsewhere/x?stolen={quoted}")
    if behaviour == "redirectloop":  # back to itself, the credentials in the URL
        raise web.HTTPFound(f"{request.path}?again={urllib.parse.quote(auth, safe='')}")
    if behaviour == "elsewhere":  # the other origin: repeats whatever it was sent
        return web.Response(status=500, text=f"elsewhere got {echo}")
    if behaviour == "nextforeign":  # a next page on another host, credentials in its userinfo
        user = urllib.parse.quote(auth, safe="")
        host = urllib.parse.urlsplit(other).netloc
        return web.json_response(
            [{"id": 1, "first_name": "Jamie"}],
            headers={"X-Next-Page": f"http://{user}:{quoted}@{host}/x?{request.query_string}"},
        )
    if behaviour == "nextloop":
        return web.json_response(
            [{"id": 1, "first_name": "Jamie"}], headers={"X-Next-Page": str(request.rel_url)}
        )
    if behaviour == "createdforeign":
        return web.Response(status=201, headers={"Location": f"{other}/x?{quoted}"})
    raise web.HTTPNotFound(text=f"no mode {mode}: {echo}")


@contextlib.asynccontextmanager
async def echo_servers() -> AsyncIterator[tuple[str, str]]:
    """The echo server on two ports of 127.0.0.1 (two origins): ``(root, other)``."""
    app = web.Application()
    app[OTHER] = [""]
    app.router.add_route("*", "/{mode}/{tail:.*}", echo_handler)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    for _ in range(2):
        await web.TCPSite(runner, "127.0.0.1", 0).start()
    root, other = (f"http://127.0.0.1:{address[1]}" for address in runner.addresses)
    app[OTHER][0] = other
    try:
        yield root, other
    finally:
        await runner.cleanup()


def free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NeverResolves(AbstractResolver):
    """A resolver that never answers: the connection attempt times out."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        await asyncio.sleep(30)
        raise OSError("unreachable")

    async def close(self) -> None:
        """Nothing to close."""


# --- the cases ---------------------------------------------------------------------

Case = Callable[[Audit], Awaitable[None]]
CASES: dict[str, Case] = {}


def case(name: str, fn: Case) -> None:
    """Register one error path under its name."""
    assert name not in CASES, name
    CASES[name] = fn


# Komet on the echo server: (mode, how it is called, the error).
KOMET_ECHO = [
    ("401", "get", AuthenticationError),
    ("403", "get", AuthenticationError),
    ("404", "get", NotFoundError),
    ("429", "get", RateLimitedError),
    ("429none", "get", RateLimitedError),
    ("500", "get", ServerError),
    ("502", "post", ServerError),
    ("503html", "update", ServerError),
    ("reset", "get", TransportError),
    ("reset", "update", TransportError),
    ("cutoff", "get", TransportError),
    ("slow", "get", TransportError),
    ("slow", "post", TransportError),
    ("html", "get", ResponseFormatError),
    ("badjson", "get", ResponseFormatError),
    ("badjson", "update", ResponseFormatError),
    ("status0", "get", APIError),
    ("status0", "update", APIError),
    ("badfield", "list", ResponseFormatError),
    ("big", "get", ResponseTooLargeError),
    ("redirect", "get", HTTPStatusError),
    ("redirect", "post", HTTPStatusError),
]


async def komet_echo(audit: Audit, *, mode: str, how: str, error: type[BaseException]) -> None:
    async with audit.komet(mode, max_response_bytes=1024) as komet:
        call: Awaitable[Any]
        if how == "get":
            call = komet.call("customer.list", params={"note": "rose"})
        elif how == "post":
            call = komet.call("customer.update", json={"note": "rose"}, idempotent=True)
        elif how == "update":
            call = komet.customers.update(CustomerUpdate(customer_id=1, name="Rosa"))
        else:
            call = komet.customers.list(name="rose")
        await audit.expect(error, call)


for _mode, _how, _error in KOMET_ECHO:
    case(f"komet-{_how}-{_mode}", functools.partial(komet_echo, mode=_mode, how=_how, error=_error))


async def komet_refused(audit: Audit) -> None:
    async with audit.komet("x", base_url=f"http://127.0.0.1:{free_port()}/api") as komet:
        await audit.expect(TransportError, komet.customers.list(name="rose"))


async def komet_connect_timeout(audit: Audit) -> None:
    # aiohttp's ConnectionTimeoutError prints the whole request URL, token included.
    connector = aiohttp.TCPConnector(resolver=NeverResolves())
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        audit.komet(
            "x",
            base_url="http://komet.invalid/api",
            session=session,
            timeout=aiohttp.ClientTimeout(total=5, connect=0.1),
        ) as komet,
    ):
        error = await audit.expect(TransportError, komet.customers.list())
    assert error.__cause__ is not None  # the chained aiohttp error is there, redacted


async def komet_invalid_url(audit: Audit) -> None:
    # Refused when the client is built: aiohttp would print the whole URL.
    audit.raises(ValidationError, lambda: audit.komet("x", base_url="http:///api"))
    audit.raises(
        ValidationError, lambda: audit.komet("x", base_url=f"http://u:{KOMET_TOKEN}@[::1/api")
    )


async def komet_validation(audit: Audit) -> None:
    async with audit.komet("x") as komet:
        await audit.expect(
            ValidationError,
            komet.call("customer.list", params={"authenticationToken": KOMET_TOKEN}),
        )
        await audit.expect(
            ValidationError, komet.call("customer.update", json={"authenticationToken": "x"})
        )
        await audit.expect(ValidationError, komet.call(f"bad name {KOMET_TOKEN[:3]}"))
        await audit.expect(
            ValidationError, komet.customers.update(CustomerUpdate(customer_id=1, name=""))
        )
        await audit.expect(ValidationError, komet.call("customer.list", params={"q": "x" * 70_000}))
    audit.raises(ValidationError, lambda: KometClient("  "))
    audit.raises(ValueError, lambda: KometClient(KOMET_TOKEN, max_response_bytes=0))


async def komet_closed(audit: Audit) -> None:
    komet = audit.komet("500")
    async with komet:
        pass
    await audit.expect(RuntimeError, komet.customers.list())


async def komet_daily_quota(audit: Audit) -> None:
    async with audit.komet("404", rate_limit=RateLimit(per_day=1)) as komet:
        await audit.expect(NotFoundError, komet.products.list())
        await audit.expect(RateLimitedError, komet.products.list())


case("komet-refused", komet_refused)
case("komet-connect-timeout", komet_connect_timeout)
case("komet-invalid-url", komet_invalid_url)
case("komet-validation", komet_validation)
case("komet-closed", komet_closed)
case("komet-client-daily-quota", komet_daily_quota)


# Kounta on the echo server: (mode, auth kinds, operation, the error).
BOTH = ("basic", "oauth2")
KOUNTA_ECHO = [
    ("401", BOTH, "get", AuthenticationError),
    ("401+refused", ("oauth2",), "get", AuthenticationError),
    # A failed refresh is an AuthenticationError, the token endpoint's error its cause.
    ("401+t500", ("oauth2",), "get", AuthenticationError),
    ("401+thtml", ("oauth2",), "get", AuthenticationError),
    ("401+tnoaccess", ("oauth2",), "get", AuthenticationError),
    ("401+refused", ("oauth2",), "list", AuthenticationError),
    ("403", BOTH, "get", AuthenticationError),
    ("404", BOTH, "get", NotFoundError),
    ("429", BOTH, "get", RateLimitedError),
    ("429none", BOTH, "get", RateLimitedError),
    ("500", BOTH, "create", ServerError),
    ("502", BOTH, "update", ServerError),
    ("503html", BOTH, "get", ServerError),
    ("reset", BOTH, "get", TransportError),
    ("reset", BOTH, "create", TransportError),
    ("cutoff", BOTH, "get", TransportError),
    ("slow", BOTH, "get", TransportError),
    ("html", BOTH, "get", ResponseFormatError),
    ("badjson", BOTH, "get", ResponseFormatError),
    ("badjson", BOTH, "find", ResponseFormatError),
    ("badfield", BOTH, "get", ResponseFormatError),
    ("badfield", BOTH, "update", ResponseFormatError),
    ("big", BOTH, "get", ResponseTooLargeError),
    ("redirect", BOTH, "find", ServerError),
    ("redirectloop", BOTH, "find", HTTPStatusError),
    ("nextforeign", BOTH, "list", ResponseFormatError),
    ("nextloop", BOTH, "list", ResponseFormatError),
    ("createdforeign", BOTH, "create", ResponseFormatError),
]


async def kounta_echo(
    audit: Audit, *, mode: str, auth_kind: str, how: str, error: type[BaseException]
) -> None:
    async with audit.kounta(mode, auth_kind, max_response_bytes=1024) as kounta:
        if how == "get":
            call: Awaitable[Any] = kounta.customers.get(1)
        elif how == "find":
            call = kounta.customers.find(email=f"{CLIENT_ID}@example.test")
        elif how == "list":
            call = kounta.customers.list().collect()
        elif how == "create":
            call = kounta.customers.create(NewCustomer(first_name="Jamie", email="j@example.test"))
        else:
            call = kounta.customers.update(1, CustomerChanges(first_name="Jamie"))
        await audit.expect(error, call)


for _mode, _kinds, _how, _error in KOUNTA_ECHO:
    for _kind in _kinds:
        case(
            f"kounta-{_kind}-{_how}-{_mode}",
            functools.partial(kounta_echo, mode=_mode, auth_kind=_kind, how=_how, error=_error),
        )


async def kounta_refused(audit: Audit, *, auth_kind: str) -> None:
    base = f"http://127.0.0.1:{free_port()}/v1"
    async with audit.kounta("x", auth_kind, base_url=base) as kounta:
        await audit.expect(TransportError, kounta.customers.get(1))


async def kounta_connect_timeout(audit: Audit, *, auth_kind: str) -> None:
    connector = aiohttp.TCPConnector(resolver=NeverResolves())
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        audit.kounta(
            "x",
            auth_kind,
            base_url="http://kounta.invalid/v1",
            session=session,
            timeout=aiohttp.ClientTimeout(total=5, connect=0.1),
        ) as kounta,
    ):
        await audit.expect(TransportError, kounta.customers.find(email="j@example.test"))


async def kounta_validation(audit: Audit, *, auth_kind: str) -> None:
    async with audit.kounta("x", auth_kind) as kounta:
        await audit.expect(ValidationError, kounta.customers.find(first_name="Jamie"))
        await audit.expect(ValidationError, kounta.customers.get(0))
        await audit.expect(
            ValidationError, kounta.customers.create(NewCustomer(first_name="Jamie"))
        )
        await audit.expect(ValidationError, kounta.customers.update(1, CustomerChanges()))
        await audit.expect(ValidationError, kounta.customers.find_by_reference(" "))
        await audit.expect(
            ValidationError, kounta.webhooks.create(Webhook(topic="nope", address="x"))
        )
        await audit.expect(
            ValidationError,
            kounta.customers.changed_since(dt.datetime(2025, 1, 1)),
        )
    audit.raises(ValidationError, lambda: KountaClient(0, auth=make_auth(auth_kind)))
    audit.raises(ValidationError, lambda: KountaClient(1, auth=CLIENT_SECRET))  # type: ignore[arg-type]
    audit.raises(ValueError, lambda: BasicAuth(CLIENT_ID, ""))
    audit.raises(ValueError, lambda: OAuth2(ACCESS_TOKEN, "", CLIENT_ID, CLIENT_SECRET))


async def kounta_closed(audit: Audit, *, auth_kind: str) -> None:
    kounta = audit.kounta("500", auth_kind)
    await kounta.aclose()
    await audit.expect(RuntimeError, kounta.customers.get(1))


for _kind in BOTH:
    case(f"kounta-{_kind}-refused", functools.partial(kounta_refused, auth_kind=_kind))
    case(
        f"kounta-{_kind}-connect-timeout",
        functools.partial(kounta_connect_timeout, auth_kind=_kind),
    )
    case(f"kounta-{_kind}-validation", functools.partial(kounta_validation, auth_kind=_kind))
    case(f"kounta-{_kind}-closed", functools.partial(kounta_closed, auth_kind=_kind))


# --- the sandboxes ----------------------------------------------------------------------

SANDBOX_RETRY: Final = RetryPolicy(attempts=2, wait_initial=0, wait_max=0, max_retry_after=60)

KOMET_FAULTS = [
    ("http_500", ServerError),
    ("http_502", ServerError),
    ("http_503", ServerError),
    ("http_504", ServerError),
    ("429_seconds", RateLimitedError),
    ("429_date", RateLimitedError),
    ("429_none", RateLimitedError),
    ("reset", TransportError),
    ("cutoff", TransportError),
    ("slow", TransportError),
    ("html", ResponseFormatError),
]


async def komet_sandbox_fault(audit: Audit, *, kind: str, error: type[BaseException]) -> None:
    plan = FaultPlan(rate=1.0, seed=7, weights={kind: 1.0}, slow_delay=1.0)
    async with KometSandbox(seed=7, customers=20, token=KOMET_TOKEN, faults=plan) as sandbox:
        audit.objects += [sandbox, plan]
        client = KometClient(
            sandbox.token,
            base_url=sandbox.base_url,
            retry=SANDBOX_RETRY,
            clock=audit.clock,
            timeout=0.3,
        )
        audit.watch(client)
        async with client:
            await audit.expect(error, client.customers.list(name="rose"))
            await audit.expect(
                error, client.customers.update(CustomerUpdate(customer_id=1, name="Rosa"))
            )


for _fault, _error in KOMET_FAULTS:
    case(
        f"komet-sandbox-{_fault}",
        functools.partial(komet_sandbox_fault, kind=_fault, error=_error),
    )


async def komet_sandbox_bad_token(audit: Audit) -> None:
    async with KometSandbox(seed=7, customers=20, token=KOMET_TOKEN) as sandbox:
        audit.objects.append(sandbox)
        client = KometClient(WRONG_KOMET_TOKEN, base_url=sandbox.base_url, retry=SANDBOX_RETRY)
        audit.watch(client)
        async with client:
            await audit.expect(APIError, client.products.list())
            orders = client.standing_orders.iter(
                date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 1, 31)
            )
            await audit.expect(APIError, orders.collect())


async def komet_sandbox_quota(audit: Audit) -> None:
    plan = FaultPlan(daily_quota=1)
    async with KometSandbox(seed=7, customers=20, token=KOMET_TOKEN, faults=plan) as sandbox:
        audit.objects.append(sandbox)
        client = KometClient(sandbox.token, base_url=sandbox.base_url, retry=SANDBOX_RETRY)
        audit.watch(client)
        async with client:
            await client.products.list()
            await audit.expect(RateLimitedError, client.products.list())


case("komet-sandbox-bad-token", komet_sandbox_bad_token)
case("komet-sandbox-daily-quota", komet_sandbox_quota)


@contextlib.asynccontextmanager
async def kounta_sandbox(audit: Audit, **options: Any) -> AsyncIterator[KountaSandbox]:
    sandbox = KountaSandbox(
        seed=7,
        customers=30,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        **options,
    )
    async with sandbox:
        audit.objects += [sandbox, sandbox.options, sandbox.stats]
        audit.add_secret(sandbox.access_token)
        audit.add_secret(sandbox.refresh_token)
        yield sandbox
        # Tokens issued while the case ran (a rotation) are secrets too.
        audit.add_secret(sandbox.access_token)
        audit.add_secret(sandbox.refresh_token)


def sandbox_client(
    audit: Audit, sandbox: KountaSandbox, auth_kind: str, **options: Any
) -> KountaClient:
    auth: BasicAuth | OAuth2
    if auth_kind == "basic":
        auth = BasicAuth(sandbox.client_id, sandbox.client_secret)
    else:
        auth = OAuth2(
            sandbox.access_token, sandbox.refresh_token, sandbox.client_id, sandbox.client_secret
        )
    options.setdefault("retry", SANDBOX_RETRY)
    options.setdefault("clock", audit.clock)
    options.setdefault("rate_limit", None)
    options.setdefault("timeout", 0.3)
    client = KountaClient(sandbox.company_id, auth=auth, base_url=sandbox.base_url, **options)
    audit.watch(client)
    return client


KOUNTA_FAULTS = [
    ("http_500", ServerError),
    ("http_503", ServerError),
    ("429_none", RateLimitedError),
    ("reset", TransportError),
    ("cutoff", TransportError),
    ("slow", TransportError),
    ("html", ResponseFormatError),
]


async def kounta_sandbox_fault(
    audit: Audit, *, kind: str, error: type[BaseException], auth_kind: str
) -> None:
    plan = FaultPlan(rate=1.0, seed=7, weights={kind: 1.0}, slow_delay=1.0)
    async with (
        kounta_sandbox(audit, faults=plan) as sandbox,
        sandbox_client(audit, sandbox, auth_kind) as kounta,
    ):
        await audit.expect(error, kounta.customers.list().collect())
        await audit.expect(error, kounta.customers.find(email="jmcdonald@kounta.kom"))


for _fault, _error in KOUNTA_FAULTS:
    for _kind in BOTH:
        case(
            f"kounta-sandbox-{_kind}-{_fault}",
            functools.partial(kounta_sandbox_fault, kind=_fault, error=_error, auth_kind=_kind),
        )


async def kounta_sandbox_wrong_secret(audit: Audit) -> None:
    async with kounta_sandbox(audit) as sandbox:
        client = KountaClient(
            sandbox.company_id,
            auth=BasicAuth(CLIENT_ID, WRONG_CLIENT_SECRET),
            base_url=sandbox.base_url,
            retry=SANDBOX_RETRY,
        )
        audit.watch(client)
        async with client:
            await audit.expect(AuthenticationError, client.customers.get(389427))


async def kounta_sandbox_expired_refreshed(audit: Audit) -> None:
    async with (
        kounta_sandbox(audit) as sandbox,
        sandbox_client(audit, sandbox, "oauth2") as kounta,
    ):
        sandbox.expire_tokens()
        await kounta.customers.get(389427)  # refreshed and replayed
        assert sandbox.stats.refreshes == 1
        audit.add_secret(sandbox.access_token)
        audit.add_secret(sandbox.refresh_token)
        await audit.expect(NotFoundError, kounta.customers.get(99_999_999))


async def kounta_sandbox_revoked(audit: Audit) -> None:
    async with (
        kounta_sandbox(audit) as sandbox,
        sandbox_client(audit, sandbox, "oauth2") as kounta,
    ):
        sandbox.expire_tokens()
        sandbox.revoke_refresh_tokens()
        await audit.expect(AuthenticationError, kounta.customers.get(389427))
        # Calls behind the refused refresh fail the same way.
        await audit.expect(AuthenticationError, kounta.customers.list().collect())


async def kounta_sandbox_lost_create(audit: Audit, *, auth_kind: str) -> None:
    plan = FaultPlan(rate=1.0, seed=3, weights={"reset": 1.0})
    async with (
        kounta_sandbox(audit, after_store=plan) as sandbox,
        sandbox_client(audit, sandbox, auth_kind) as kounta,
    ):
        await audit.expect(
            TransportError,
            kounta.customers.create(NewCustomer(first_name="Jamie", email="j@example.test")),
        )


case("kounta-sandbox-basic-wrong-secret", kounta_sandbox_wrong_secret)
case("kounta-sandbox-oauth2-expired-refreshed", kounta_sandbox_expired_refreshed)
case("kounta-sandbox-oauth2-refresh-revoked", kounta_sandbox_revoked)
for _kind in BOTH:
    case(
        f"kounta-sandbox-{_kind}-lost-create",
        functools.partial(kounta_sandbox_lost_create, auth_kind=_kind),
    )


# --- webhooks ---------------------------------------------------------------------------

CUSTOMER_BODY: Final = json.dumps({"id": 389427, "first_name": "Jamie"}).encode()


async def webhook_deliveries(audit: Audit) -> None:
    body = CUSTOMER_BODY
    # A valid signature for a body is as good as the secret for that body.
    audit.secrets.add(signature(WEBHOOK_SECRET, body))
    audit.secrets.add(signature(WEBHOOK_SECRET, b"not json"))
    forged = signature(OTHER_WEBHOOK_SECRET, body)
    topic = {"X-Kounta-Topic": "customers/updated"}
    good = {**topic, "X-Kounta-Signature": signature(WEBHOOK_SECRET, body)}
    cases: list[tuple[type[WebhookError], dict[str, str], bytes]] = [
        (InvalidSignatureError, {**topic, "X-Kounta-Signature": forged}, body),
        (InvalidSignatureError, {**topic, "X-Kounta-Signature": WEBHOOK_SECRET}, body),
        (InvalidSignatureError, topic, body),
        (UnknownTopicError, {**good, "X-Kounta-Topic": "orders/created"}, body),
        (UnknownTopicError, {"X-Kounta-Signature": good["X-Kounta-Signature"]}, body),
        (
            WebhookPayloadError,
            {**topic, "X-Kounta-Signature": signature(WEBHOOK_SECRET, b"not json")},
            b"not json",
        ),
        (PayloadTooLargeError, good, body + b" " * 2_000_000),
    ]
    for error, headers, raw in cases:
        audit.raises(error, functools.partial(handle_delivery, headers, raw, WEBHOOK_SECRET))
    audit.raises(WebhookPayloadError, lambda: parse_event("customers/created", b"\xff"))
    audit.raises(WebhookPayloadError, lambda: parse_event("customers/created", b'{"id": "x"}'))
    audit.raises(ValueError, lambda: verify_signature(body, forged, ""))
    assert not verify_signature(body, forged, WEBHOOK_SECRET)


async def webhook_handler_refusals(audit: Audit) -> None:
    async def on_event(event: Any) -> None:
        raise RuntimeError(f"downstream failed for {WEBHOOK_SECRET}")

    app = web.Application()
    app.router.add_post("/hook", webhook_handler(WEBHOOK_SECRET, on_event))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    good = signature(WEBHOOK_SECRET, CUSTOMER_BODY)
    audit.secrets.add(good)
    attempts = [
        ({"X-Kounta-Signature": signature(OTHER_WEBHOOK_SECRET, CUSTOMER_BODY)}, CUSTOMER_BODY),
        ({"X-Kounta-Signature": WEBHOOK_SECRET}, CUSTOMER_BODY),
        ({"X-Kounta-Signature": good, "X-Kounta-Topic": "orders/created"}, CUSTOMER_BODY),
        ({"X-Kounta-Signature": good, "X-Kounta-Topic": "customers/updated"}, CUSTOMER_BODY),
        ({"X-Kounta-Signature": good}, b"x" * 2_000_000),
    ]
    try:
        async with aiohttp.ClientSession() as session:
            for headers, body in attempts:
                data = io.BytesIO(body)
                async with session.post(url, data=data, headers=headers) as response:
                    audit.outputs.append(f"{response.status} {await response.text()}")
                    audit.outputs.append(repr(dict(response.headers)))
    finally:
        await runner.cleanup()
    assert [o.split()[0] for o in audit.outputs[::2]] == ["401", "401", "400", "500", "413"]


async def webhook_sandbox_delivery_refused(audit: Audit) -> None:
    """The sandbox signs with one secret, the receiver expects another: 401, nothing leaks."""
    signatures: list[str] = []

    @web.middleware
    async def note_signature(request: web.Request, handler: Any) -> web.StreamResponse:
        # The sandbox's signature is valid for its body: a secret in its own right.
        signatures.append(request.headers.get("X-Kounta-Signature", ""))
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[note_signature])
    app.router.add_post("/hook", webhook_handler(OTHER_WEBHOOK_SECRET, lambda event: None))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    address = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        async with (
            kounta_sandbox(audit) as sandbox,
            sandbox_client(audit, sandbox, "basic") as kounta,
        ):
            hook = await kounta.webhooks.create(Webhook(topic="customers/updated", address=address))
            audit.objects.append(hook)
            await kounta.customers.update(389427, CustomerChanges(first_name="Jay"))
            (delivery,) = await sandbox.wait_for_deliveries(1)
            audit.objects.append(delivery)
    finally:
        await runner.cleanup()
    assert delivery.status == 401
    assert len(signatures) == 1
    audit.secrets.update(signatures)
    audit.outputs.append(f"delivery answered {delivery.status}")


case("webhook-deliveries", webhook_deliveries)
case("webhook-handler-refusals", webhook_handler_refusals)
case("webhook-sandbox-delivery-refused", webhook_sandbox_delivery_refused)


# --- the harness ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
async def test_error_path_keeps_secrets(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """The named error path leaks no secret into logs, exceptions, tracebacks or reprs."""
    caplog.set_level(logging.DEBUG)
    async with echo_servers() as (root, other):
        audit = Audit(root, other)
        await CASES[name](audit)
    assert audit.errors or audit.outputs, "the case exercised nothing"
    assert find_leaks(audit, caplog.records) == []


class _Leaky:
    def __repr__(self) -> str:
        return f"<Leaky {REFRESH_TOKEN[:10]}>"  # a fragment: caught by the marker


def test_harness_finds_a_planted_leak(caplog: pytest.LogCaptureFixture) -> None:
    """The audit is not vacuous: a secret planted in each place it searches is found there."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("komet_async").debug("sent %s", KOMET_TOKEN)
    wrapper = RuntimeError("wrapper")
    # Only in the chained cause's text, in the spelling yarl gives it in a URL.
    wrapper.__cause__ = OSError(yarl.URL.build(query={"t": ACCESS_TOKEN}).raw_query_string)
    audit = Audit()
    audit.errors += [ValueError(f"x {basic_credentials(CLIENT_ID, CLIENT_SECRET)}"), wrapper]
    audit.objects.append(_Leaky())
    audit.outputs.append("hook " + urllib.parse.quote_plus(WEBHOOK_SECRET))
    found = find_leaks(audit, caplog.records)
    assert {place.split(":")[0] for place in found} == {
        "exception ValueError",
        "exception RuntimeError",
        "object _Leaky",
        "log",
        "output",
    }


# --- the command line --------------------------------------------------------------------


@contextlib.contextmanager
def sandbox_in_thread(**options: Any) -> Iterator[str]:
    """A KometSandbox served from its own event loop in a thread; yields its base URL."""
    loop = asyncio.new_event_loop()
    sandbox = KometSandbox(seed=7, customers=20, token=KOMET_TOKEN, **options)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(sandbox.start(), loop).result(10)
        yield sandbox.base_url
    finally:
        asyncio.run_coroutine_threadsafe(sandbox.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


FAULTY: Final = {"faults": FaultPlan(rate=1.0, seed=7, weights={"http_503": 1.0})}
RESETS: Final = {"faults": FaultPlan(rate=1.0, seed=7, weights={"reset": 1.0})}

# name -> (sandbox options or None for no server, token, arguments, exit code)
CLI_CASES: dict[str, tuple[dict[str, Any] | None, str, list[str], int]] = {
    "bad-token": ({}, WRONG_KOMET_TOKEN, ["customers", "list"], 1),
    "bad-token-debug": ({}, WRONG_KOMET_TOKEN, ["products", "list", "--debug"], 1),
    "faulty-sandbox-debug": (FAULTY, KOMET_TOKEN, ["customers", "list", "--debug"], 1),
    "resets-debug": (RESETS, KOMET_TOKEN, ["products", "list", "--debug"], 1),
    "update-faulty-debug": (
        FAULTY,
        KOMET_TOKEN,
        ["customers", "update", "--id", "1", "--name", "Rosa", "--debug"],
        1,
    ),
    "update-invalid": (
        {},
        KOMET_TOKEN,
        ["customers", "update", "--id", "1", "--name", "", "--debug"],
        2,
    ),
    "refused-debug": (None, KOMET_TOKEN, ["products", "list", "--debug"], 1),
    "ok-output": ({}, KOMET_TOKEN, ["products", "list", "--format", "json"], 0),
}


def run_cli(options: dict[str, Any] | None, token: str, args: list[str], flag: bool) -> Any:
    """Run one command, the token from the environment or from ``--token``."""
    env = {"KOMET_TOKEN": token} if not flag else {}
    extra = ["--token", token] if flag else []

    def invoke(base_url: str) -> Any:
        return CliRunner().invoke(cli_main, [*args, "--base-url", base_url, *extra], env=env)

    if options is None:
        return invoke(f"http://127.0.0.1:{free_port()}/api")
    with sandbox_in_thread(**options) as base_url:
        return invoke(base_url)


@pytest.mark.parametrize("flag", [False, True], ids=["env-token", "flag-token"])
@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_cli_keeps_secrets(name: str, flag: bool, caplog: pytest.LogCaptureFixture) -> None:
    """The named command prints no secret on stdout or stderr (nor logs one), --debug included."""
    caplog.set_level(logging.DEBUG)
    options, token, args, code = CLI_CASES[name]
    result = run_cli(options, token, args, flag)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if "--debug" in args and code == 1:
        assert "Traceback (most recent call last)" in result.stderr
    audit = Audit()
    audit.outputs += [result.stdout, result.stderr]
    assert find_leaks(audit, caplog.records) == []


def test_python_dash_m_keeps_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m komet_async`` against a faulty sandbox prints a redacted traceback only."""
    monkeypatch.setenv("KOMET_TOKEN", KOMET_TOKEN)
    with sandbox_in_thread(**FAULTY) as base_url:
        argv = ["komet_async", "customers", "list", "--debug", "--base-url", base_url]
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_module("komet_async", run_name="__main__", alter_sys=True)
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert "ServerError" in err
    audit = Audit()
    audit.outputs += [out, err]
    assert find_leaks(audit, []) == []


def test_komet_async_command_keeps_secrets() -> None:
    """The ``komet-async`` command in a subprocess, with a bad token: one clean line."""
    script = Path(sys.executable).with_name("komet-async")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "komet_async"]
    with sandbox_in_thread() as base_url:
        env = {**os.environ, "KOMET_TOKEN": WRONG_KOMET_TOKEN}
        done = subprocess.run(  # noqa: S603 - our own interpreter or script, a local sandbox URL
            [*command, "customers", "list", "--base-url", base_url],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr == "error: customer.list: Invalid authentication token.\n"
    audit = Audit()
    audit.outputs += [done.stdout, done.stderr]
    assert find_leaks(audit, []) == []
