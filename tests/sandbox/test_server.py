"""The sandbox server: lifecycle, ports, the token, the envelope and wire quirks."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from komet_async import APIError, KometClient, RetryPolicy, ServerError, TransportError
from komet_async.sandbox import FaultPlan, KometSandbox, token_for_seed

from .conftest import FAST_RETRY

TINY: dict[str, Any] = {"seed": 2, "customers": 40, "products": 15, "standing_orders": 8}


async def get(
    session: aiohttp.ClientSession, box: KometSandbox, method: str, **params: str
) -> tuple[int, Any]:
    async with session.get(f"{box.base_url}/{method}", params=params) as response:
        return response.status, await response.json(content_type=None)


async def post(
    session: aiohttp.ClientSession, box: KometSandbox, method: str, data: bytes
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    async with session.post(f"{box.base_url}/{method}", data=data, headers=headers) as response:
        return response.status, await response.json(content_type=None)


# --- lifecycle ---------------------------------------------------------------


async def test_ephemeral_port_and_base_url() -> None:
    """port=0 binds a free port on 127.0.0.1; base_url ends in /api."""
    async with KometSandbox(**TINY) as box:
        assert box.running
        assert box.port > 0
        assert box.base_url == f"http://127.0.0.1:{box.port}/api"
    assert not box.running


async def test_two_sandboxes_at_once() -> None:
    """Two sandboxes run side by side on different ports with their own data."""
    async with KometSandbox(**TINY) as one, KometSandbox(**{**TINY, "seed": 9}) as two:
        assert one.port != two.port
        async with (
            KometClient(one.token, base_url=one.base_url) as a,
            KometClient(two.token, base_url=two.base_url) as b,
        ):
            first, second = await asyncio.gather(a.products.list(), b.products.list())
        assert first == one.data.products
        assert second == two.data.products
        assert first != second
        assert one.stats.requests == two.stats.requests == {"product.list": 1}


async def test_start_and_stop_are_idempotent_and_restartable() -> None:
    """start/stop twice is harmless; a stopped sandbox starts again with the same data."""
    box = KometSandbox(**TINY)
    with pytest.raises(RuntimeError):
        _ = box.port
    await box.start()
    await box.start()
    first_port = box.port
    await box.stop()
    await box.stop()
    with pytest.raises(RuntimeError):
        _ = box.base_url
    await box.start()
    try:
        async with KometClient(box.token, base_url=box.base_url) as komet:
            assert await komet.products.list() == box.data.products
    finally:
        await box.stop()
    assert first_port > 0


async def test_stopped_sandbox_refuses_connections() -> None:
    """After stop the port is closed: the client reports a request that was never sent."""
    async with KometSandbox(**TINY) as box:
        url = box.base_url
        token = box.token
    async with KometClient(token, base_url=url, retry=RetryPolicy.disabled()) as komet:
        with pytest.raises(TransportError) as info:
            await komet.products.list()
    assert info.value.request_sent is False


async def test_stop_ends_pending_slow_answers_at_once() -> None:
    """Stopping does not wait for a slow fault's delay: the pending request ends quickly."""
    plan = FaultPlan(rate=1.0, weights={"slow": 1.0}, slow_delay=30.0)
    box = KometSandbox(faults=plan, **TINY)
    await box.start()
    async with KometClient(box.token, base_url=box.base_url, retry=RetryPolicy.disabled()) as komet:
        pending = asyncio.ensure_future(komet.products.list())
        for _ in range(500):  # until the server holds the request
            if box.stats.requests:
                break
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await box.stop()
        with pytest.raises((ServerError, TransportError)):
            await pending
    assert time.monotonic() - started < 2.0


async def test_latency_delays_every_answer() -> None:
    """latency makes each request wait that long before it is answered."""
    async with (
        KometSandbox(latency=0.2, **TINY) as box,
        KometClient(box.token, base_url=box.base_url) as komet,
    ):
        started = time.monotonic()
        await komet.products.list()
        assert time.monotonic() - started >= 0.2
        assert box.latency == 0.2


async def test_make_app_embeds_the_sandbox() -> None:
    """make_app() gives an aiohttp app sharing the sandbox's data and stats."""
    box = KometSandbox(**TINY)
    runner = web.AppRunner(box.make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        async with KometClient(box.token, base_url=f"http://127.0.0.1:{port}/api") as komet:
            assert await komet.products.list() == box.data.products
    finally:
        await runner.cleanup()
    assert box.stats.requests == {"product.list": 1}
    assert isinstance(box.app, web.Application)


# --- the token -----------------------------------------------------------------


def test_token_is_derived_from_the_seed() -> None:
    """The default token is a pure function of the seed; a given token is used as is."""
    assert KometSandbox(**TINY).token == token_for_seed(2) == KometSandbox(**TINY).token
    assert token_for_seed(2) != token_for_seed(3)
    assert len(token_for_seed(2)) <= 50
    assert KometSandbox(token="my-token", **TINY).token == "my-token"
    with pytest.raises(ValueError, match="token"):
        KometSandbox(token=" ", **TINY)


async def test_wrong_token_is_refused_for_get_and_post(sandbox: KometSandbox) -> None:
    """A wrong token is HTTP 200, status 0, "Invalid authentication token." (never "not found")."""
    async with KometClient("not-the-token", base_url=sandbox.base_url) as komet:
        with pytest.raises(APIError) as listing:
            await komet.customers.list()
        with pytest.raises(APIError) as updating:
            await komet.call("customer.update", json={"customerId": 1, "name": "x"})
    for info in (listing, updating):
        assert info.value.message == "Invalid authentication token."
        assert not info.value.is_not_found
    assert sandbox.stats.requests == {"customer.list": 1, "customer.update": 1}


async def test_missing_token_is_refused(sandbox: KometSandbox) -> None:
    """No token at all is refused the same way, over raw HTTP."""
    async with aiohttp.ClientSession() as session:
        status, body = await get(session, sandbox, "product.list")
        post_status, post_body = await post(session, sandbox, "customer.update", b'{"name":"x"}')
    assert (status, body) == (200, {"status": "0", "message": "Invalid authentication token."})
    assert (post_status, post_body) == (status, body)


async def test_token_in_the_query_does_not_authorise_a_post(sandbox: KometSandbox) -> None:
    """POST methods read the token from the JSON body only."""
    async with aiohttp.ClientSession() as session:
        url = f"{sandbox.base_url}/customer.update"
        async with session.post(
            url, params={"authenticationToken": sandbox.token}, json={"customerId": 1, "name": "x"}
        ) as response:
            body = await response.json()
    assert body["message"] == "Invalid authentication token."


async def test_token_never_logged(sandbox: KometSandbox, caplog: pytest.LogCaptureFixture) -> None:
    """Nothing the sandbox logs (no access log) contains the token."""
    caplog.set_level(logging.DEBUG)
    async with KometClient(sandbox.token, base_url=sandbox.base_url, retry=FAST_RETRY) as komet:
        await komet.products.list()
        await komet.customers.list(name="x")
    assert sandbox.token not in caplog.text
    assert sandbox.token not in repr(sandbox)
    assert "aiohttp.access" not in {r.name for r in caplog.records}


# --- the protocol --------------------------------------------------------------


async def test_unknown_method_is_status_0(client: KometClient) -> None:
    """A method the sandbox does not know is HTTP 200, status 0, "Unknown method"."""
    with pytest.raises(APIError) as info:
        await client.call("order.list", params={})
    assert info.value.message == "Unknown method"
    assert not info.value.is_not_found


async def test_wrong_verb_is_status_0(client: KometClient) -> None:
    """GET on a POST method (and the reverse) is status 0 naming the verb."""
    with pytest.raises(APIError, match="must be called with POST"):
        await client.call("customer.update", params={"customerId": 1})
    with pytest.raises(APIError, match="must be called with GET"):
        await client.call("customer.list", json={})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "Invalid JSON in the request body."),
        (b"", "Invalid JSON in the request body."),
        (b'["a list"]', "The request body must be a JSON object."),
    ],
)
async def test_bad_json_body_is_status_0(sandbox: KometSandbox, data: bytes, message: str) -> None:
    """A POST body that is not a JSON object is status 0 with a message."""
    async with aiohttp.ClientSession() as session:
        status, body = await post(session, sandbox, "customer.update", data)
    assert (status, body) == (200, {"status": "0", "message": message})


async def test_body_over_64_kb_is_refused(sandbox: KometSandbox) -> None:
    """Like Komet, the sandbox refuses request bodies over 64 KB (HTTP 413)."""
    big = b'{"name":"' + b"x" * (70 * 1024) + b'"}'
    async with aiohttp.ClientSession() as session:
        url = f"{sandbox.base_url}/customer.update"
        async with session.post(url, data=big) as response:
            assert response.status == 413


async def test_wire_quirks_are_kept(sandbox: KometSandbox) -> None:
    """Ids and flags are strings, salesPersonId a number, status "1", some keys absent."""
    async with aiohttp.ClientSession() as session:
        token = sandbox.token
        status, customers = await get(
            session, sandbox, "customer.list", authenticationToken=token, includeInactive="true"
        )
        _, products = await get(session, sandbox, "product.list", authenticationToken=token)
        span = sandbox.data.date_span
        _, orders = await get(
            session,
            sandbox,
            "standing.order.list",
            authenticationToken=token,
            dateFrom=span[0].isoformat(),
            dateTo=span[1].isoformat(),
            status="All",
        )
    assert status == 200
    for envelope in (customers, products, orders):
        assert envelope["status"] == "1"
        assert envelope["message"] == "OK"
    rows = customers["customers"]
    assert all(isinstance(c["id"], str) and c["active"] in ("1", "0") for c in rows)
    assert all(type(c["salesPersonId"]) is int for c in rows if "salesPersonId" in c)
    assert any("accountingCode" not in c for c in rows)
    assert any("salesPerson" not in c and "salesPersonId" in c for c in rows)
    assert any(c["customerType"] == "" for c in rows)
    assert all(len(c["updatedOn"]) == 19 and c["updatedOn"][10] == "T" for c in rows)
    assert all(isinstance(p["divisionId"], str) for p in products["products"])
    assert any("tags" not in p for p in products["products"])
    assert any(p.get("tags") == "" for p in products["products"])
    details = [d for o in orders["standingOrders"] for d in o["details"]]
    assert all(isinstance(o["number"], int) for o in orders["standingOrders"])
    assert all(isinstance(d["unitPrice"], str) and d["unitPrice"][-3] == "." for d in details)
    assert all(isinstance(d["totalPrice"], (int, float)) for d in details)


async def test_peak_in_flight_shows_the_client_concurrency_cap() -> None:
    """stats.peak_in_flight counts concurrent requests: a client capped at 3 never exceeds 3."""
    async with (
        KometSandbox(latency=0.05, **TINY) as box,
        KometClient(box.token, base_url=box.base_url, max_concurrency=3) as komet,
    ):
        await asyncio.gather(*(komet.products.list() for _ in range(12)))
        assert box.stats.peak_in_flight == 3
        assert box.stats.in_flight == 0
        assert box.stats.requests == {"product.list": 12}
