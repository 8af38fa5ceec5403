"""Client lifecycle: session ownership, closing, event-loop binding, timeouts, repr."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import cast

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses

from komet_async import KometClient, RetryPolicy, ValidationError
from komet_async._session import DEFAULT_TIMEOUT, USER_AGENT, as_timeout

from .conftest import TOKEN, komet_server

CUSTOMERS = re.compile(r"^https://api\.kometsales\.com/api/customer\.list\?.*$")
OK = {"status": "1", "message": "OK", "customers": []}


async def test_client_closes_the_session_it_created(mocked: aioresponses) -> None:
    """A client-created aiohttp session is closed when the context exits."""
    mocked.get(CUSTOMERS, payload=OK)
    async with KometClient(TOKEN) as komet:
        await komet.customers.list()
        session = komet._core._session
        assert session is not None
        assert not session.closed
    # The exit closed it; mypy would keep `closed` narrowed to False from inside the block.
    assert cast(bool, session.closed)
    assert komet.closed


async def test_caller_session_is_never_closed(mocked: aioresponses) -> None:
    """A caller-owned session stays open after the client is closed, and is the one used."""
    mocked.get(CUSTOMERS, payload=OK)
    async with aiohttp.ClientSession() as session:
        async with KometClient(TOKEN, session=session) as komet:
            await komet.customers.list()
            assert komet._core._session is session
        assert not session.closed
        await komet.aclose()  # idempotent, still does not touch the caller's session
        assert not session.closed


async def test_no_session_is_created_until_first_request() -> None:
    """Constructing and closing a client without requests opens no connection."""
    komet = KometClient(TOKEN)
    assert komet._core._session is None
    await komet.aclose()
    assert komet._core._session is None


async def test_use_after_close_is_a_runtime_error(mocked: aioresponses) -> None:
    """Calling a closed client raises RuntimeError and sends nothing."""
    komet = KometClient(TOKEN)
    await komet.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await komet.customers.list()
    with pytest.raises(RuntimeError, match="closed"):
        async with komet:
            pass
    assert mocked.requests == {}


async def test_client_created_outside_a_loop_works_inside_one(mocked: aioresponses) -> None:
    """A client constructed in synchronous code (app start-up) works once a loop runs."""
    komet = await asyncio.to_thread(KometClient, TOKEN)
    mocked.get(CUSTOMERS, payload=OK)
    async with komet:
        assert await komet.customers.list() == []


async def test_second_event_loop_is_refused(mocked: aioresponses) -> None:
    """Using one client from a second event loop raises a clear RuntimeError."""
    mocked.get(CUSTOMERS, payload=OK, repeat=True)
    async with KometClient(TOKEN, retry=RetryPolicy.disabled()) as komet:
        await komet.customers.list()
        errors: list[BaseException] = []

        def other_loop() -> None:
            try:
                asyncio.run(komet.customers.list())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=other_loop)
        thread.start()
        thread.join()
        assert len(errors) == 1
        assert isinstance(errors[0], RuntimeError)
        assert "another event loop" in str(errors[0])


async def test_many_tasks_share_one_client(mocked: aioresponses) -> None:
    """Two hundred concurrent tasks share one client; every call is answered."""
    mocked.get(CUSTOMERS, payload=OK, repeat=True)
    async with KometClient(TOKEN, max_concurrency=4) as komet:
        results = await asyncio.gather(*(komet.customers.list() for _ in range(200)))
    assert results == [[]] * 200
    assert komet.stats.requests == 200


def test_timeout_accepts_seconds_and_client_timeout() -> None:
    """A float becomes a total timeout; a ClientTimeout passes through; None is 30 s."""
    assert as_timeout(None) is DEFAULT_TIMEOUT
    assert DEFAULT_TIMEOUT.total == 30.0
    assert as_timeout(2.5) == aiohttp.ClientTimeout(total=2.5)
    custom = aiohttp.ClientTimeout(total=None, sock_read=5)
    assert as_timeout(custom) is custom


@pytest.mark.parametrize("bad", [0, -1, True, "5"])
def test_timeout_rejects_nonsense(bad: object) -> None:
    """Zero, negative, boolean or string timeouts are refused."""
    with pytest.raises(ValueError, match="timeout"):
        as_timeout(bad)  # type: ignore[arg-type]


async def test_timeout_is_sent_per_attempt(mocked: aioresponses) -> None:
    """The configured timeout is passed to aiohttp with each attempt."""
    mocked.get(CUSTOMERS, payload=OK)
    async with KometClient(TOKEN, timeout=4.0) as komet:
        await komet.customers.list()
    (call,) = next(iter(mocked.requests.values()))
    assert call.kwargs["timeout"] == aiohttp.ClientTimeout(total=4.0)
    assert call.kwargs["allow_redirects"] is False


@pytest.mark.parametrize("token", ["", "   ", None, 123])
def test_token_is_required(token: object) -> None:
    """An empty or non-string token is refused before anything else."""
    with pytest.raises(ValidationError, match="token"):
        KometClient(token)  # type: ignore[arg-type]


async def test_repr_names_the_url_but_not_the_token() -> None:
    """repr(client) shows base URL and state and hides the token."""
    komet = KometClient(TOKEN, base_url="http://127.0.0.1:9/api/")
    assert repr(komet) == "<KometClient http://127.0.0.1:9/api token=*** open>"
    await komet.aclose()
    assert repr(komet) == "<KometClient http://127.0.0.1:9/api token=*** closed>"


@pytest.mark.parametrize("own_session", [True, False])
async def test_user_agent_is_sent_on_either_kind_of_session(own_session: bool) -> None:
    """The client's User-Agent reaches the server once, on its own session and on a caller's."""
    seen: list[list[str]] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.headers.getall("User-Agent"))
        return web.json_response(OK)

    async with komet_server(answer) as base:
        if own_session:
            async with KometClient(TOKEN, base_url=base) as komet:
                await komet.customers.list()
        else:
            async with (
                aiohttp.ClientSession() as session,
                KometClient(TOKEN, base_url=base, session=session) as komet,
            ):
                await komet.customers.list()
    assert seen == [[USER_AGENT]]
