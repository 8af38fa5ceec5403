"""The framework-neutral webhook core (receive_delivery) and the README's Starlette route."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from multidict import CIMultiDict

from komet_async.kounta.models import CustomerEvent
from komet_async.kounta.webhooks import MAX_WEBHOOK_BYTES, WebhookReply, receive_delivery

from .test_webhooks import (
    BODY,
    CREATED_CUSTOMER,
    DELETED,
    DELETED_CUSTOMER,
    SECRET,
    delivery_headers,
    encode,
    sign,
)

OK = WebhookReply(200, '{"ok": true}', "application/json")


class Events:
    """Collects the events on_event receives."""

    def __init__(self) -> None:
        self.seen: list[CustomerEvent] = []

    async def async_cb(self, event: CustomerEvent) -> None:
        self.seen.append(event)

    def sync_cb(self, event: CustomerEvent) -> None:
        self.seen.append(event)


async def chunks(body: bytes, size: int = 100) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


# --- receive_delivery -----------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["bytes", "stream"])
async def test_a_good_delivery_reaches_on_event_then_replies_ok(streamed: bool) -> None:
    """Bytes or a stream of chunks: on_event gets the event, the reply is 200 {"ok": true}."""
    events = Events()
    body: Any = chunks(BODY) if streamed else BODY
    reply = await receive_delivery(delivery_headers(), body, SECRET, events.async_cb)
    assert reply == OK
    assert reply.headers == {}
    assert events.seen == [CustomerEvent("customers/created", CREATED_CUSTOMER)]


async def test_a_sync_on_event_and_the_query_topic_work() -> None:
    """A plain function as on_event; the topic from the query when no header names it."""
    events = Events()
    body = encode(DELETED)
    reply = await receive_delivery(
        {"x-kounta-signature": sign(body)},
        body,
        SECRET,
        events.sync_cb,
        query={"topic": "customers/deleted"},
    )
    assert reply == OK
    assert events.seen == [CustomerEvent("customers/deleted", DELETED_CUSTOMER)]


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"X-Kounta-Topic": "customers/created"}, BODY, WebhookReply(401, "invalid signature")),
        (
            {**delivery_headers(), "X-Kounta-Signature": sign(BODY, "other")},
            BODY,
            WebhookReply(401, "invalid signature"),
        ),
        (delivery_headers(b"[]"), b"[]", WebhookReply(400, "malformed body")),
        (
            delivery_headers(BODY, "orders/created"),
            BODY,
            WebhookReply(400, "unknown topic"),
        ),
        ({"X-Kounta-Signature": sign(BODY)}, BODY, WebhookReply(400, "unknown topic")),
    ],
    ids=["no-signature", "wrong-signature", "not-an-object", "unknown-topic", "no-topic"],
)
async def test_refused_deliveries_get_their_reply_and_never_reach_on_event(
    headers: dict[str, str],
    body: bytes,
    expected: WebhookReply,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """401 for a bad signature, 400 for a bad body or topic, logged at WARNING by type."""
    caplog.set_level(logging.WARNING, logger="komet_async")
    events = Events()
    assert await receive_delivery(headers, body, SECRET, events.async_cb) == expected
    assert events.seen == []
    (record,) = caplog.records
    assert record.getMessage().startswith(f"Kounta webhook refused ({expected.status} ")
    assert "Jamie" not in caplog.text


async def test_a_declared_length_over_the_cap_is_413_before_reading() -> None:
    """A Content-Length over max_bytes replies 413 with Connection: close; nothing is read."""
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        read.append(BODY)
        yield BODY

    headers = {**delivery_headers(), "Content-Length": str(MAX_WEBHOOK_BYTES + 1)}
    reply = await receive_delivery(headers, body(), SECRET, Events().async_cb)
    assert reply == WebhookReply(413, "payload too large", close=True)
    assert reply.headers == {"Connection": "close"}
    assert read == []


async def test_a_stream_past_the_cap_is_413_however_it_was_declared() -> None:
    """A body longer than max_bytes is cut off at the cap, whatever Content-Length said."""
    headers = {**delivery_headers(), "Content-Length": "10"}
    reply = await receive_delivery(
        headers, chunks(BODY + b" " * 50), SECRET, Events().async_cb, max_bytes=len(BODY)
    )
    assert (reply.status, reply.close) == (413, True)


@pytest.mark.parametrize("length", ["", "abc", "-5", "1e9"])
async def test_an_unreadable_content_length_falls_back_to_the_read_cap(length: str) -> None:
    """A Content-Length that is not a number is ignored: the body is read (capped) and checked."""
    headers = {**delivery_headers(), "Content-Length": length}
    assert await receive_delivery(headers, BODY, SECRET, Events().async_cb) == OK


async def test_headers_as_a_multidict_match_without_case() -> None:
    """aiohttp-style CIMultiDict headers work like a plain dict."""
    headers = CIMultiDict(delivery_headers())
    assert await receive_delivery(headers, BODY, SECRET, Events().async_cb) == OK


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_on_event_raising_replies_500_logged_by_type_only(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An on_event failure is 500 (Kounta redelivers); the log names its type, not its text."""
    caplog.set_level(logging.ERROR, logger="komet_async")

    def failing(event: CustomerEvent) -> None:
        raise LookupError(f"no room for {event.customer.email}")

    async def failing_async(event: CustomerEvent) -> None:
        failing(event)

    on_event = failing_async if kind == "async" else failing
    reply = await receive_delivery(delivery_headers(), BODY, SECRET, on_event)
    assert reply == WebhookReply(500, "event handler failed")
    (record,) = caplog.records
    assert record.getMessage() == (
        "Kounta webhook on_event failed with LookupError for customers/created "
        "of customer 389427; answering 500"
    )
    assert "jmcdonald" not in caplog.text


async def test_an_empty_secret_is_misuse() -> None:
    """An empty secret raises ValueError instead of replying: it would accept forgeries."""
    with pytest.raises(ValueError, match="secret"):
        await receive_delivery(delivery_headers(), BODY, "", Events().async_cb)


# --- the README's Starlette route -----------------------------------------------------


@pytest.fixture
def readme_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, Events]]:
    pytest.importorskip(
        "starlette.testclient",
        reason="starlette is not installed (not a dependency of komet-async): "
        "the README's Starlette route is not run",
    )
    monkeypatch.setenv("KOUNTA_WEBHOOK_SECRET", SECRET)
    sys.modules.pop("tests.kounta.readme_starlette", None)
    module = importlib.import_module("tests.kounta.readme_starlette")
    events = Events()
    monkeypatch.setattr(module, "on_event", events.async_cb)
    yield module, events
    sys.modules.pop("tests.kounta.readme_starlette", None)


def test_readme_starlette_route_answers_like_the_aiohttp_handler(
    readme_app: tuple[ModuleType, Events],
) -> None:
    """The README's three-line Starlette route: 200 after on_event, 401, 400 and 413 refusals."""
    from starlette.testclient import TestClient

    module, events = readme_app
    url = "/kounta/webhooks"
    with TestClient(module.app) as client:
        ok = client.post(url, content=BODY, headers=delivery_headers())
        by_query = client.post(
            url,
            content=encode(DELETED),
            headers={"X-Kounta-Signature": sign(encode(DELETED))},
            params={"topic": "customers/deleted"},
        )
        forged = client.post(url, content=BODY, headers={"X-Kounta-Topic": "customers/created"})
        unknown = client.post(url, content=BODY, headers=delivery_headers(BODY, "orders/x"))
        big = b" " * (MAX_WEBHOOK_BYTES + 1)
        too_big = client.post(url, content=big, headers=delivery_headers(big))
    assert (ok.status_code, ok.json(), ok.headers["content-type"]) == (
        200,
        {"ok": True},
        "application/json",
    )
    assert by_query.status_code == 200
    assert (forged.status_code, forged.text) == (401, "invalid signature")
    assert (unknown.status_code, unknown.text) == (400, "unknown topic")
    assert (too_big.status_code, too_big.text) == (413, "payload too large")
    assert too_big.headers["connection"] == "close"
    assert events.seen == [
        CustomerEvent("customers/created", CREATED_CUSTOMER),
        CustomerEvent("customers/deleted", DELETED_CUSTOMER),
    ]


def test_readme_starlette_route_answers_500_when_on_event_raises(
    readme_app: tuple[ModuleType, Events], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the route's on_event raises, Starlette answers 500 so Kounta delivers again."""
    from starlette.testclient import TestClient

    module, _ = readme_app

    async def failing(event: CustomerEvent) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(module, "on_event", failing)
    with TestClient(module.app) as client:
        answer = client.post("/kounta/webhooks", content=BODY, headers=delivery_headers())
    assert (answer.status_code, answer.text) == (500, "event handler failed")


def test_readme_shows_the_starlette_route_verbatim() -> None:
    """The Starlette app these tests run is the one the README shows, character for character."""
    root = Path(__file__).resolve().parents[2]
    code = (Path(__file__).parent / "readme_starlette.py").read_text().split('"""', 2)[2]
    assert code.strip() in (root / "README.md").read_text()
