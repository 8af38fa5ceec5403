"""One client shared by 200 tasks of one loop; a client taken to a second loop is refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import pytest

from komet_async import KometClient
from komet_async.kounta import BasicAuth, KountaClient
from komet_async.sandbox import KometSandbox
from komet_async.sandbox.kounta import KountaSandbox

from ._support import ResourceProbe

TASKS = 200
OTHER_LOOP = "this client belongs to another event loop; create one client per event loop"

Client = KometClient | KountaClient
Use = Callable[[Any], Coroutine[Any, Any, object]]
Runner = Callable[[Coroutine[Any, Any, object]], object]


async def test_two_hundred_tasks_share_one_komet_client() -> None:
    """200 concurrent customers.list(id=...) get their own records; at most 8 in flight."""
    async with (
        KometSandbox(seed=31, customers=TASKS, products=5, standing_orders=5, latency=0.002) as box,
        ResourceProbe() as probe,
    ):
        expected = {c.id: [c] for c in box.data.customers}
        ids = sorted(expected)
        assert len(ids) == TASKS
        async with KometClient(box.token, base_url=box.base_url, max_concurrency=8) as komet:
            tasks = [
                asyncio.create_task(komet.customers.list(id=i, include_inactive=True)) for i in ids
            ]
            results = await asyncio.gather(*tasks)
            assert komet.stats.requests == TASKS
        assert results == [expected[i] for i in ids]
        assert box.stats.requests == {"customer.list": TASKS}
        assert box.stats.peak_in_flight == 8  # the cap was reached and never passed
        await probe.check()


async def test_two_hundred_tasks_share_one_kounta_client() -> None:
    """200 concurrent customers.get(id) get their own full records; at most 5 in flight."""
    async with (
        KountaSandbox(seed=32, customers=TASKS, latency=0.002) as box,
        ResourceProbe() as probe,
    ):
        expected = box.data.customers
        async with KountaClient(
            box.company_id,
            auth=BasicAuth(box.client_id, box.client_secret),
            base_url=box.base_url,
            rate_limit=None,
            max_concurrency=5,
        ) as kounta:
            results = await asyncio.gather(
                *(asyncio.create_task(kounta.customers.get(c.id)) for c in expected)
            )
            assert kounta.stats.requests == TASKS
        assert results == expected
        assert box.stats.peak_in_flight == 5
        await probe.check()


# --- a second event loop ---------------------------------------------------------


def komet_client(box: KometSandbox, session: aiohttp.ClientSession | None = None) -> KometClient:
    return KometClient(box.token, base_url=box.base_url, session=session)


def kounta_client(box: KountaSandbox, session: aiohttp.ClientSession | None = None) -> KountaClient:
    return KountaClient(
        box.company_id,
        auth=BasicAuth(box.client_id, box.client_secret),
        base_url=box.base_url,
        rate_limit=None,
        session=session,
    )


KINDS = ["komet", "kounta"]


def make_sandbox(kind: str) -> KometSandbox | KountaSandbox:
    if kind == "komet":
        return KometSandbox(seed=33, customers=30, products=5, standing_orders=20)
    return KountaSandbox(seed=33, customers=30)


def make_client(kind: str, box: Any, session: aiohttp.ClientSession | None = None) -> Client:
    return komet_client(box, session) if kind == "komet" else kounta_client(box, session)


def uses(kind: str) -> list[Use]:
    """Each way of using a client of ``kind`` (each must be refused on another loop)."""
    if kind == "komet":
        return [
            lambda c: c.customers.list(include_inactive=True),
            lambda c: c.standing_orders.iter(
                date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 6, 30), status="All"
            ).collect(),
        ]
    return [
        lambda c: c.customers.get(389427),
        lambda c: c.customers.list().collect(),
    ]


def refused_on(loop_runner: Runner, client: Client, kind: str) -> None:
    """Every use of ``client`` run by ``loop_runner`` raises the one-client-per-loop error."""
    for use in uses(kind):
        with pytest.raises(RuntimeError) as caught:
            loop_runner(use(client))
        assert str(caught.value) == OTHER_LOOP


@pytest.mark.parametrize("kind", KINDS)
async def test_a_client_used_from_a_thread_with_its_own_loop_is_refused(kind: str) -> None:
    """A thread running its own loop gets a clear RuntimeError; the client still works at home."""
    async with make_sandbox(kind) as box, ResourceProbe() as probe:
        client = make_client(kind, box)
        async with client:
            before = await uses(kind)[0](client)
            failures: list[BaseException] = []

            def other_thread() -> None:
                try:
                    refused_on(asyncio.run, client, kind)
                except BaseException as exc:  # reported to the test's thread
                    failures.append(exc)

            thread = threading.Thread(target=other_thread)
            thread.start()
            await asyncio.get_running_loop().run_in_executor(None, thread.join)
            assert failures == []
            assert await uses(kind)[0](client) == before
        await probe.check()


@pytest.mark.parametrize("kind", KINDS)
def test_a_client_from_one_asyncio_run_is_refused_in_the_next(kind: str) -> None:
    """First used in asyncio.run(), then in a second asyncio.run(): a clear RuntimeError."""
    box = make_sandbox(kind)
    holder: list[Client] = []

    async def first() -> None:
        # The caller's session, closed with the first loop: nothing is left behind.
        async with box, aiohttp.ClientSession() as session:
            client = make_client(kind, box, session)
            await uses(kind)[0](client)
            holder.append(client)

    asyncio.run(first())
    refused_on(asyncio.run, holder[0], kind)


@pytest.mark.parametrize("kind", KINDS)
def test_a_client_owning_its_session_is_refused_on_a_second_loop(kind: str) -> None:
    """A client owning its session is refused on a second loop, and closes on its own."""
    box = make_sandbox(kind)
    home = asyncio.new_event_loop()
    away = asyncio.new_event_loop()
    try:
        home.run_until_complete(box.start())
        client = make_client(kind, box)
        before = home.run_until_complete(uses(kind)[0](client))
        refused_on(away.run_until_complete, client, kind)
        assert home.run_until_complete(uses(kind)[0](client)) == before
        home.run_until_complete(client.aclose())
        assert client.closed
        home.run_until_complete(box.stop())
    finally:
        away.close()
        home.close()


def test_closing_a_client_from_a_second_loop_is_refused_and_keeps_it_closable() -> None:
    """aclose() on a second loop raises the one-client-per-loop error; home can still close it."""
    box = make_sandbox("komet")
    home = asyncio.new_event_loop()
    away = asyncio.new_event_loop()
    session = None
    try:
        home.run_until_complete(box.start())
        client = make_client("komet", box)
        home.run_until_complete(uses("komet")[0](client))
        session = client._core._session
        with pytest.raises(RuntimeError) as caught:
            away.run_until_complete(client.aclose())
        assert str(caught.value) == OTHER_LOOP
        assert not client.closed
        home.run_until_complete(client.aclose())
        assert session is not None
        assert session.closed
    finally:
        if session is not None and not session.closed:  # the session the client dropped
            home.run_until_complete(session.close())
        home.run_until_complete(box.stop())
        away.close()
        home.close()
