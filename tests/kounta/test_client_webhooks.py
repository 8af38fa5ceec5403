"""Webhook subscriptions through KountaClient, and the sandbox's signed deliveries to a receiver."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from komet_async import NotFoundError, RetryPolicy, ValidationError
from komet_async.kounta import (
    CustomerChanges,
    CustomerEvent,
    KountaClient,
    NewCustomer,
    OAuth2,
    Webhook,
)
from komet_async.sandbox.kounta import Delivery, KountaSandbox

FAST = RetryPolicy(attempts=4, wait_initial=0.0, wait_max=0.0)
JAMIE = 389427


class Receiver:
    """A tiny aiohttp.web app on 127.0.0.1 that keeps what it is sent."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.status, self.delay = status, delay
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.got.append((dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.status, text="ok")


@asynccontextmanager
async def serving(handler: Any) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/hooks", handler)
    # A short shutdown: a receiver held back on purpose must not hold the test up.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def receiving(
    receiver: Receiver, **kwargs: Any
) -> AsyncIterator[tuple[KountaSandbox, KountaClient]]:
    async with (
        serving(receiver.handle) as url,
        KountaSandbox(**{"seed": 7, "customers": 30, **kwargs}) as box,
    ):
        receiver.url = url
        auth = OAuth2(box.access_token, box.refresh_token, box.client_id, box.client_secret)
        async with KountaClient(
            box.company_id, auth=auth, base_url=box.base_url, retry=FAST, rate_limit=None
        ) as kounta:
            yield box, kounta


def expected_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- subscriptions ----------------------------------------------------------------------


async def test_subscriptions_can_be_created_listed_updated_and_deleted() -> None:
    """create/list/update/delete round-trip through the sandbox's webhook routes."""
    async with receiving(Receiver()) as (box, kounta):
        hook = Webhook(
            topic="customers/updated",
            address="https://example.com.au/kounta",
            headers={"X-Shop": "sydney"},
            filter=("email",),
        )
        created = await kounta.webhooks.create(hook)
        assert created.id is not None
        assert created == Webhook(
            topic=hook.topic,
            address=hook.address,
            id=created.id,
            headers={"X-Shop": "sydney"},
            filter=("email",),
        )
        assert await kounta.webhooks.list() == [created]
        moved = Webhook(topic="customers/deleted", address="https://example.com.au/gone")
        updated = await kounta.webhooks.update(created.id, moved)
        assert updated == Webhook(topic=moved.topic, address=moved.address, id=created.id)
        assert await kounta.webhooks.list() == [updated]
        await kounta.webhooks.delete(created.id)
        assert await kounta.webhooks.list() == []
        with pytest.raises(NotFoundError):
            await kounta.webhooks.delete(created.id)
        assert box.stats.requests["webhooks.create"] == 1


async def test_bad_subscriptions_are_refused_before_sending() -> None:
    """A topic without a slash or a non-http address is a ValidationError; nothing is sent."""
    async with receiving(Receiver()) as (box, kounta):
        for hook in (
            Webhook(topic="customers", address="https://example.com"),
            Webhook(topic="customers/updated", address="ftp://example.com"),
        ):
            with pytest.raises(ValidationError):
                await kounta.webhooks.create(hook)
        assert box.stats.total == 0


# --- deliveries -------------------------------------------------------------------------


async def test_update_delivers_the_full_record_signed_with_the_secret() -> None:
    """After an update the receiver gets the complete customer, its topic and a valid HMAC."""
    receiver = Receiver()
    async with receiving(receiver, webhook_secret="whsec-test-1") as (box, kounta):
        await kounta.webhooks.create(
            Webhook(topic="customers/updated", address=receiver.url, headers={"X-Shop": "syd"})
        )
        updated = await kounta.customers.update(JAMIE, CustomerChanges(last_name="MacDonald"))
        assert await box.wait_for_deliveries(1) == [
            Delivery("customers/updated", receiver.url, 200)
        ]
        assert box.webhook_secret == "whsec-test-1"
    [(headers, body)] = receiver.got
    assert headers["X-Kounta-Topic"] == "customers/updated"
    assert headers["X-Kounta-Signature"] == expected_signature("whsec-test-1", body)
    assert headers["X-Shop"] == "syd"
    assert headers["Content-Type"] == "application/json"
    assert box.data.model(json.loads(body)) == updated == box.data.customer(JAMIE)


async def test_create_and_delete_deliver_their_topics() -> None:
    """customers/created carries the new record; customers/deleted the record as it was."""
    receiver = Receiver()
    async with receiving(receiver) as (box, kounta):
        for topic in ("customers/created", "customers/deleted", "customers/updated"):
            await kounta.webhooks.create(Webhook(topic=topic, address=receiver.url))
        created = await kounta.customers.create(NewCustomer(first_name="Ann", phone="1"))
        await box.wait_for_deliveries(1)
        jamie = box.data.customer(JAMIE)
        async with aiohttp.ClientSession() as session:
            url = f"{box.base_url}/companies/{box.company_id}/customers/{JAMIE}"
            headers = {"Authorization": f"Bearer {box.access_token}"}
            async with session.delete(url, headers=headers) as response:
                assert response.status == 204
        await box.wait_for_deliveries(2)
    topics = [h["X-Kounta-Topic"] for h, _ in receiver.got]
    assert topics == ["customers/created", "customers/deleted"]
    assert box.data.model(json.loads(receiver.got[0][1])) == created
    assert box.data.model(json.loads(receiver.got[1][1])) == jamie


async def test_update_filters_pick_which_changes_are_delivered() -> None:
    """A subscription filtered on email hears about an email change, not a last-name change."""
    receiver = Receiver()
    async with receiving(receiver) as (box, kounta):
        await kounta.webhooks.create(
            Webhook(topic="customers/updated", address=receiver.url, filter=("email",))
        )
        await kounta.customers.update(JAMIE, CustomerChanges(last_name="MacDonald"))
        await kounta.customers.update(JAMIE, CustomerChanges(email="jamie@example.com.au"))
        await box.wait_for_deliveries(1)
        await asyncio.sleep(0.05)
        assert len(box.deliveries) == 1
    assert json.loads(receiver.got[0][1])["email"] == "jamie@example.com.au"


async def test_unreachable_or_failing_receivers_are_recorded() -> None:
    """A receiver answering 500 is recorded with 500; one that is down with status None."""
    receiver = Receiver(status=500)
    async with receiving(receiver) as (box, kounta):
        await kounta.webhooks.create(Webhook(topic="customers/updated", address=receiver.url))
        down = "http://127.0.0.1:9/hooks"  # the discard port: nobody listens
        await kounta.webhooks.create(Webhook(topic="customers/updated", address=down))
        await kounta.customers.update(JAMIE, CustomerChanges(tags=("vip",)))
        found = await box.wait_for_deliveries(2)
    assert sorted(found, key=str) == sorted(
        [
            Delivery("customers/updated", receiver.url, 500),
            Delivery("customers/updated", down, None),
        ],
        key=str,
    )


async def test_wait_for_deliveries_times_out() -> None:
    """wait_for_deliveries raises TimeoutError when too few deliveries come."""
    async with KountaSandbox(seed=1, customers=2) as box:
        with pytest.raises(asyncio.TimeoutError):
            await box.wait_for_deliveries(1, timeout=0.05)


async def test_stop_cancels_deliveries_stuck_on_a_slow_receiver() -> None:
    """Stopping gives pending deliveries a short grace, then cancels them: nothing is left over."""
    receiver = Receiver(delay=30)
    async with receiving(receiver) as (box, kounta):
        await kounta.webhooks.create(Webhook(topic="customers/updated", address=receiver.url))
        await kounta.customers.update(JAMIE, CustomerChanges(tags=("vip",)))
        for _ in range(200):
            if receiver.got:
                break
            await asyncio.sleep(0.01)
        assert box.pending_deliveries == 1
        started = time.monotonic()
        await box.stop()
        assert time.monotonic() - started < 3
        assert box.pending_deliveries == 0
        assert box.deliveries == []


# --- end to end with the library's receiver -------------------------------------------------


async def test_sandbox_deliveries_pass_the_librarys_webhook_handler() -> None:
    """webhook_handler verifies the sandbox's signature and hands on_event the exact customer."""
    hooks = pytest.importorskip("komet_async.kounta.webhooks")
    events: list[CustomerEvent] = []
    async with KountaSandbox(seed=7, customers=30) as box:
        good = hooks.webhook_handler(box.webhook_secret, events.append)
        bad = hooks.webhook_handler("not-the-secret", events.append)
        async with serving(good) as good_url, serving(bad) as bad_url:
            auth = OAuth2(box.access_token, box.refresh_token, box.client_id, box.client_secret)
            async with KountaClient(
                box.company_id, auth=auth, base_url=box.base_url, retry=FAST, rate_limit=None
            ) as kounta:
                for url in (good_url, bad_url):
                    await kounta.webhooks.create(Webhook(topic="customers/updated", address=url))
                updated = await kounta.customers.update(JAMIE, CustomerChanges(first_name="Jim"))
            found = await box.wait_for_deliveries(2)
    assert sorted(d.status or 0 for d in found) == [200, 401]
    assert events == [CustomerEvent("customers/updated", updated)]
    assert hooks.verify_signature(b"{}", hmac.new(b"k", b"{}", "sha256").hexdigest(), "k")
