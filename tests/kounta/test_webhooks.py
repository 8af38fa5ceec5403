"""Kounta webhook receiving: signatures, event parsing, the neutral core, the aiohttp handler."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from komet_async.errors import KometError, ResponseFormatError
from komet_async.kounta.models import CUSTOMER_TOPICS, Address, Customer, CustomerEvent
from komet_async.kounta.webhooks import (
    MAX_WEBHOOK_BYTES,
    InvalidSignatureError,
    PayloadTooLargeError,
    UnknownTopicError,
    WebhookError,
    WebhookPayloadError,
    handle_delivery,
    parse_event,
    read_body,
    verify_signature,
    webhook_handler,
)

#: A secret nobody could mistake for anything else, so leak checks are exact.
SECRET = "whsec-SECRET-7d2e1b"
AEST = dt.timezone(dt.timedelta(hours=11))


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode()


CREATED = {
    "id": 389427,
    "company_id": 5678,
    "first_name": "Jamie",
    "last_name": "McDonald",
    "email": "jmcdonald@kounta.kom",
    "primary_email_address": "jmcdonald@kounta.kom",
    "phone": "02 8765 4321",
    "mobile": "0412345678",
    "fax": None,
    "reference_id": "ABC123",
    "tags": ["vip"],
    "image": "https://cdn.kounta.kom/customers/389427.png",
    "primary_address": {
        "lines": ["Level 3", "12 Example Street"],
        "city": "Sydney",
        "zone": "NSW",
        "postal_code": "2000",
        "country": "AU",
    },
    "shipping_address": None,
    "accepts_marketing": True,
    "points": 120,
    "created_at": "2024-03-01T10:00:00+11:00",
    "updated_at": "2024-03-01T10:00:00+11:00",
    "some_future_field": {"kounta": "adds fields"},
}
CREATED_CUSTOMER = Customer(
    id=389427,
    company_id=5678,
    first_name="Jamie",
    last_name="McDonald",
    email="jmcdonald@kounta.kom",
    primary_email_address="jmcdonald@kounta.kom",
    phone="02 8765 4321",
    mobile="0412345678",
    fax=None,
    reference_id="ABC123",
    tags=("vip",),
    image="https://cdn.kounta.kom/customers/389427.png",
    primary_address=Address(
        lines=("Level 3", "12 Example Street"),
        city="Sydney",
        zone="NSW",
        postal_code="2000",
        country="AU",
    ),
    shipping_address=None,
    accepts_marketing=True,
    points=120,
    created_at=dt.datetime(2024, 3, 1, 10, 0, 0, tzinfo=AEST),
    updated_at=dt.datetime(2024, 3, 1, 10, 0, 0, tzinfo=AEST),
)
UPDATED = {
    **CREATED,
    "mobile": "0498765432",
    "tags": ["vip", "wholesale"],
    "shipping_address": {
        "lines": ["Dock 7"],
        "city": "Botany",
        "zone": "NSW",
        "postal_code": "2019",
        "country": "AU",
    },
    "accepts_marketing": False,
    "updated_at": "2024-03-02T09:30:15Z",
}
UPDATED_CUSTOMER = Customer(
    id=389427,
    company_id=5678,
    first_name="Jamie",
    last_name="McDonald",
    email="jmcdonald@kounta.kom",
    primary_email_address="jmcdonald@kounta.kom",
    phone="02 8765 4321",
    mobile="0498765432",
    fax=None,
    reference_id="ABC123",
    tags=("vip", "wholesale"),
    image="https://cdn.kounta.kom/customers/389427.png",
    primary_address=Address(
        lines=("Level 3", "12 Example Street"),
        city="Sydney",
        zone="NSW",
        postal_code="2000",
        country="AU",
    ),
    shipping_address=Address(
        lines=("Dock 7",), city="Botany", zone="NSW", postal_code="2019", country="AU"
    ),
    accepts_marketing=False,
    points=120,
    created_at=dt.datetime(2024, 3, 1, 10, 0, 0, tzinfo=AEST),
    updated_at=dt.datetime(2024, 3, 2, 9, 30, 15, tzinfo=dt.timezone.utc),
)
DELETED = {
    "id": 1002,
    "company_id": 5678,
    "first_name": "Alex",
    "last_name": None,
    "email": "alex@example.kom",
    "primary_email_address": "alex@example.kom",
    "phone": None,
    "mobile": None,
    "fax": "02 9999 0000",
    "reference_id": "",
    "tags": [],
    "image": None,
    "primary_address": {"lines": [], "city": None, "zone": None, "postal_code": None},
    "shipping_address": None,
    "accepts_marketing": False,
    "points": 0,
    "created_at": "2023-12-24T08:15:00-05:00",
    "updated_at": "2024-01-05T17:45:30.250000+10:00",
}
DELETED_CUSTOMER = Customer(
    id=1002,
    company_id=5678,
    first_name="Alex",
    last_name=None,
    email="alex@example.kom",
    primary_email_address="alex@example.kom",
    phone=None,
    mobile=None,
    fax="02 9999 0000",
    reference_id=None,
    tags=(),
    image=None,
    primary_address=Address(lines=(), city=None, zone=None, postal_code=None, country=None),
    shipping_address=None,
    accepts_marketing=False,
    points=0,
    created_at=dt.datetime(2023, 12, 24, 8, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    updated_at=dt.datetime(
        2024, 1, 5, 17, 45, 30, 250000, tzinfo=dt.timezone(dt.timedelta(hours=10))
    ),
)
BODY = encode(CREATED)


def delivery_headers(body: bytes = BODY, topic: str = "customers/created") -> dict[str, str]:
    return {"X-Kounta-Topic": topic, "X-Kounta-Signature": sign(body)}


# --- verify_signature ----------------------------------------------------------------


def test_good_signature_is_accepted() -> None:
    """The lowercase hex HMAC-SHA256 of the raw body under the secret verifies."""
    assert verify_signature(BODY, sign(BODY), SECRET) is True


def test_tampered_body_is_rejected() -> None:
    """Changing one byte of the body breaks the signature."""
    tampered = BODY.replace(b"Jamie", b"Jamey")
    assert verify_signature(tampered, sign(BODY), SECRET) is False


def test_tampered_signature_is_rejected() -> None:
    """Changing one hex digit of the signature breaks it."""
    good = sign(BODY)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert verify_signature(BODY, bad, SECRET) is False


def test_wrong_secret_is_rejected() -> None:
    """A signature made with another secret does not verify."""
    assert verify_signature(BODY, sign(BODY, "another-secret"), SECRET) is False


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "sha256=",
        "garbage",
        "z" * 64,
        "é" * 64,
        "0" * 63,
        "0" * 65,
        "sha1=" + "0" * 64,
        "\x00" * 64,
    ],
    ids=lambda h: repr(h)[:12],
)
def test_missing_or_malformed_header_is_false_not_an_error(header: str | None) -> None:
    """Missing, empty, non-hex, non-ASCII or wrong-length headers are simply False."""
    assert verify_signature(BODY, header, SECRET) is False


def test_a_hex_signature_of_another_digest_length_is_false() -> None:
    """A SHA-1 hex digest (40 digits) is refused, never compared."""
    # S324: SHA-1 on purpose, as the wrong digest a sender might use.
    assert verify_signature(BODY, hashlib.sha1(BODY).hexdigest(), SECRET) is False  # noqa: S324


@pytest.mark.parametrize(
    "shape",
    [
        str.upper,
        lambda s: f"  {s}\t\r\n",
        lambda s: f"sha256={s}",
        lambda s: f" SHA256={s.upper()} ",
        lambda s: f"sha256= {s}",
    ],
    ids=["upper", "whitespace", "prefix", "upper-prefix-whitespace", "space-after-prefix"],
)
def test_case_whitespace_and_prefix_are_tolerated(shape: Callable[[str], str]) -> None:
    """Upper-case hex, surrounding whitespace and a sha256= prefix still verify."""
    assert verify_signature(BODY, shape(sign(BODY)), SECRET) is True


def test_empty_secret_is_misuse() -> None:
    """An empty secret raises ValueError instead of verifying anything."""
    with pytest.raises(ValueError, match="secret"):
        verify_signature(BODY, sign(BODY, "x"), "")


# --- parse_event ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "record", "customer"),
    [
        ("customers/created", CREATED, CREATED_CUSTOMER),
        ("customers/updated", UPDATED, UPDATED_CUSTOMER),
        ("customers/deleted", DELETED, DELETED_CUSTOMER),
    ],
)
def test_each_customer_topic_parses_the_complete_customer(
    topic: str, record: dict[str, Any], customer: Customer
) -> None:
    """Each customer topic's body becomes the exact Customer, addresses and offsets included."""
    event = parse_event(topic, encode(record))
    assert event == CustomerEvent(topic, customer)
    # Aware datetimes compare by instant: check the offsets were kept as sent.
    assert offsets(event.customer) == offsets(customer)


def offsets(customer: Customer) -> tuple[dt.timedelta | None, ...]:
    return tuple(t.utcoffset() if t else None for t in (customer.created_at, customer.updated_at))


def test_the_three_topics_are_the_customer_topics() -> None:
    """The parametrised topics above are exactly the customer topics."""
    assert set(CUSTOMER_TOPICS) == {"customers/created", "customers/updated", "customers/deleted"}


@pytest.mark.parametrize("topic", ["orders/created", "customers/merged", "", "CUSTOMERS/CREATED"])
def test_unknown_topic_is_refused(topic: str) -> None:
    """A topic other than the three customer topics is UnknownTopicError (400)."""
    with pytest.raises(UnknownTopicError) as info:
        parse_event(topic, BODY)
    assert info.value.topic == topic
    assert info.value.http_status == 400


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "not JSON"),
        (b"not json at all", "not JSON"),
        (b'{"id": 1', "not JSON"),
        (b"[1, 2, 3]", "not a JSON object but list"),
        (b'"a string"', "not a JSON object but str"),
        (b"null", "not a JSON object but NoneType"),
        (b'{"id": 1, "first_name": "J\xffmie"}', "not UTF-8"),
        (b"\xff\xfe{\x00}\x00", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    ],
    ids=["empty", "text", "truncated", "list", "string", "null", "bad-utf8", "utf16", "deep"],
)
def test_body_that_is_not_a_json_object_is_a_payload_error(body: bytes, words: str) -> None:
    """Not JSON, not an object, invalid UTF-8 or absurd nesting: WebhookPayloadError, no path."""
    with pytest.raises(WebhookPayloadError, match=words) as info:
        parse_event("customers/created", body)
    assert info.value.path is None
    assert info.value.http_status == 400


@pytest.mark.parametrize(
    ("changes", "path", "value"),
    [
        ({"id": "abc"}, "id", "abc"),
        ({"id": None}, "id", None),
        ({"id": True}, "id", True),
        ({"company_id": [5678]}, "company_id", [5678]),
        ({"accepts_marketing": "maybe"}, "accepts_marketing", "maybe"),
        ({"created_at": "yesterday"}, "created_at", "yesterday"),
        ({"tags": {"vip": True}}, "tags", {"vip": True}),
        (
            {"primary_address": {"lines": ["Level 3", {"no": 1}]}},
            "primary_address.lines",
            ["Level 3", {"no": 1}],
        ),
        ({"primary_address": "12 Example Street"}, "primary_address", "12 Example Street"),
    ],
)
def test_field_that_cannot_convert_is_named_by_its_path(
    changes: dict[str, Any], path: str, value: Any
) -> None:
    """A bad field is a WebhookPayloadError (a ResponseFormatError too) naming path and value."""
    with pytest.raises(WebhookPayloadError) as info:
        parse_event("customers/updated", encode({**CREATED, **changes}))
    error = info.value
    assert isinstance(error, ResponseFormatError)
    assert error.path == path
    assert error.value == value
    assert error.method == "customers/updated"
    assert path in str(error)


def test_missing_id_is_named() -> None:
    """A body without the required id names the missing field."""
    record = {k: v for k, v in CREATED.items() if k != "id"}
    with pytest.raises(WebhookPayloadError, match="id: required field is missing") as info:
        parse_event("customers/created", encode(record))
    assert info.value.path == "id"


def test_lenient_scalars_are_accepted() -> None:
    """Ids as strings and flags as "1"/"0" read as they do from the API."""
    event = parse_event("customers/created", encode({"id": "42", "accepts_marketing": "1"}))
    assert event == CustomerEvent("customers/created", Customer(id=42, accepts_marketing=True))


# --- the error family ----------------------------------------------------------------


def test_error_family_and_statuses() -> None:
    """Every webhook error is a WebhookError and a KometError, with the status to answer."""
    assert {
        cls: (cls.http_status, issubclass(cls, WebhookError), issubclass(cls, KometError))
        for cls in (
            WebhookError,
            InvalidSignatureError,
            UnknownTopicError,
            WebhookPayloadError,
            PayloadTooLargeError,
        )
    } == {
        WebhookError: (400, True, True),
        InvalidSignatureError: (401, True, True),
        UnknownTopicError: (400, True, True),
        WebhookPayloadError: (400, True, True),
        PayloadTooLargeError: (413, True, True),
    }
    assert MAX_WEBHOOK_BYTES == 1024 * 1024


def test_errors_survive_pickling() -> None:
    """Webhook errors keep their fields across process boundaries."""
    with pytest.raises(WebhookPayloadError) as payload:
        parse_event("customers/created", encode({**CREATED, "id": "abc"}))
    with pytest.raises(UnknownTopicError) as topic:
        parse_event("orders/created", BODY)
    for error in (payload.value, topic.value, InvalidSignatureError("no")):
        copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
        assert type(copy) is type(error)
        assert copy.__dict__ == error.__dict__
        assert str(copy) == str(error)


def test_unknown_topic_message_is_kept_short() -> None:
    """An absurd topic from the unsigned header does not bloat messages."""
    with pytest.raises(UnknownTopicError) as info:
        parse_event("x" * 10_000, BODY)
    assert len(str(info.value)) < 120


# --- handle_delivery -----------------------------------------------------------------


def test_a_good_delivery_gives_the_event() -> None:
    """A signed delivery with a topic header gives the parsed event."""
    assert handle_delivery(delivery_headers(), BODY, SECRET) == CustomerEvent(
        "customers/created", CREATED_CUSTOMER
    )


def test_signature_is_checked_before_the_body_is_parsed() -> None:
    """A malformed body with a bad signature is InvalidSignatureError, not a payload error."""
    headers = {"X-Kounta-Topic": "customers/created", "X-Kounta-Signature": sign(b"other")}
    with pytest.raises(InvalidSignatureError) as info:
        handle_delivery(headers, b"\xff not json", SECRET)
    assert info.value.http_status == 401


def test_signature_is_checked_before_the_topic() -> None:
    """An unknown or missing topic with a bad signature is InvalidSignatureError."""
    with pytest.raises(InvalidSignatureError):
        handle_delivery({"X-Kounta-Topic": "orders/created"}, BODY, SECRET)
    with pytest.raises(InvalidSignatureError):
        handle_delivery({"X-Kounta-Signature": "nope"}, BODY, SECRET)


def test_signed_malformed_body_is_a_payload_error() -> None:
    """Once the signature holds, a body that is not a customer is WebhookPayloadError."""
    body = b"[]"
    with pytest.raises(WebhookPayloadError):
        handle_delivery(delivery_headers(body), body, SECRET)


@pytest.mark.parametrize(
    "names",
    [
        ("x-kounta-topic", "x-kounta-signature"),
        ("X-KOUNTA-TOPIC", "X-KOUNTA-SIGNATURE"),
        ("x-Kounta-topic", "X-kounta-Signature"),
    ],
)
def test_header_names_match_without_case_in_a_plain_dict(names: tuple[str, str]) -> None:
    """Header lookup ignores case even in a plain, case-sensitive dict."""
    topic_name, signature_name = names
    headers = {topic_name: "customers/updated", signature_name: sign(BODY)}
    assert handle_delivery(headers, BODY, SECRET).topic == "customers/updated"


def test_topic_query_parameter_is_the_fallback() -> None:
    """Without the topic header, the topic query parameter names the topic."""
    headers = {"X-Kounta-Signature": sign(BODY)}
    event = handle_delivery(headers, BODY, SECRET, query={"topic": "customers/deleted"})
    assert event.topic == "customers/deleted"


def test_topic_header_wins_over_the_query() -> None:
    """When both are present the header names the topic."""
    event = handle_delivery(delivery_headers(), BODY, SECRET, query={"topic": "customers/deleted"})
    assert event.topic == "customers/created"


def test_missing_topic_is_unknown_topic() -> None:
    """No topic header and no query parameter is UnknownTopicError."""
    headers = {"X-Kounta-Signature": sign(BODY)}
    with pytest.raises(UnknownTopicError):
        handle_delivery(headers, BODY, SECRET)
    with pytest.raises(UnknownTopicError):
        handle_delivery(headers, BODY, SECRET, query={"other": "customers/created"})


def test_topic_header_whitespace_is_ignored() -> None:
    """Surrounding whitespace in the topic header does not make it unknown."""
    headers = {"X-Kounta-Topic": " customers/updated ", "X-Kounta-Signature": sign(BODY)}
    assert handle_delivery(headers, BODY, SECRET).topic == "customers/updated"


def test_conflicting_duplicate_signatures_are_refused() -> None:
    """Two different signature headers are refused, even if one of them is right."""
    headers = CIMultiDict(
        [
            ("X-Kounta-Topic", "customers/created"),
            ("X-Kounta-Signature", "0" * 64),
            ("X-Kounta-Signature", sign(BODY)),
        ]
    )
    with pytest.raises(InvalidSignatureError):
        handle_delivery(headers, BODY, SECRET)
    mixed_case = {"x-kounta-signature": "0" * 64, "X-Kounta-Signature": sign(BODY)}
    with pytest.raises(InvalidSignatureError):
        handle_delivery({**mixed_case, "X-Kounta-Topic": "customers/created"}, BODY, SECRET)


def test_repeated_identical_headers_are_one_value() -> None:
    """The same signature twice (a proxy duplicating headers) is still one value."""
    headers = CIMultiDict(
        [
            ("X-Kounta-Topic", "customers/created"),
            ("X-Kounta-Signature", sign(BODY)),
            ("x-kounta-signature", sign(BODY)),
        ]
    )
    assert handle_delivery(headers, BODY, SECRET).customer == CREATED_CUSTOMER


def test_oversize_body_is_refused_even_when_signed() -> None:
    """A body over the cap is PayloadTooLargeError (413) before any other check."""
    body = b" " * (MAX_WEBHOOK_BYTES + 1)
    with pytest.raises(PayloadTooLargeError) as info:
        handle_delivery(delivery_headers(body), body, SECRET)
    assert info.value.http_status == 413
    with pytest.raises(PayloadTooLargeError):
        handle_delivery(delivery_headers(BODY), BODY, SECRET, max_bytes=len(BODY) - 1)
    assert handle_delivery(delivery_headers(BODY), BODY, SECRET, max_bytes=len(BODY)).customer


def test_handle_delivery_refuses_an_empty_secret() -> None:
    """An empty secret is misuse (ValueError), not a 401."""
    with pytest.raises(ValueError, match="secret"):
        handle_delivery(delivery_headers(), BODY, "")


def test_error_texts_are_generic() -> None:
    """What may be sent back names the problem only, never the body."""
    assert {
        cls.response_text
        for cls in (
            InvalidSignatureError,
            UnknownTopicError,
            WebhookPayloadError,
            PayloadTooLargeError,
        )
    } == {"invalid signature", "unknown topic", "malformed body", "payload too large"}


# --- read_body -----------------------------------------------------------------------


async def chunks_of(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_read_body_joins_chunks_up_to_the_cap() -> None:
    """A streamed body at the cap is read whole."""
    assert await read_body(chunks_of([b"ab", b"", b"cd"]), max_bytes=4) == b"abcd"


async def test_read_body_stops_past_the_cap() -> None:
    """A streamed body past the cap is PayloadTooLargeError, and reading stops there."""
    seen: list[bytes] = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            seen.append(b"x" * 10)
            yield seen[-1]

    with pytest.raises(PayloadTooLargeError):
        await read_body(endless(), max_bytes=25)
    assert len(seen) == 3


# --- webhook_handler through a real aiohttp.web app -----------------------------------------


class Recorder:
    """Collects events; optionally fails or waits."""

    def __init__(self) -> None:
        self.events: list[CustomerEvent] = []

    async def async_cb(self, event: CustomerEvent) -> None:
        await asyncio.sleep(0)
        self.events.append(event)

    def sync_cb(self, event: CustomerEvent) -> None:
        self.events.append(event)


@asynccontextmanager
async def serving(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/kounta/webhooks", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}/kounta/webhooks"
    finally:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


async def post(
    http: aiohttp.ClientSession,
    url: str,
    body: Any,
    headers: dict[str, str],
    **kwargs: Any,
) -> tuple[int, str]:
    async with http.post(url, data=body, headers=headers, **kwargs) as response:
        return response.status, await response.text()


def assert_no_secret(
    texts: Iterable[str], logs: pytest.LogCaptureFixture, signature: str | None = None
) -> None:
    everything = [*texts, *(r.getMessage() for r in logs.records), logs.text]
    for text in everything:
        assert SECRET not in text
        if signature:
            assert signature not in text
            assert signature.upper() not in text


async def test_handler_answers_200_after_an_async_on_event(
    http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    """A good delivery reaches an async on_event and then answers {"ok": true}."""
    async with (
        serving(webhook_handler(SECRET, recorder.async_cb)) as url,
        http.post(url, data=BODY, headers=delivery_headers()) as response,
    ):
        assert response.status == 200
        assert await response.json() == {"ok": True}
    assert recorder.events == [CustomerEvent("customers/created", CREATED_CUSTOMER)]


async def test_handler_accepts_a_sync_on_event(
    http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    """A plain function works as on_event too, and the query topic is honoured."""
    body = encode(DELETED)
    headers = {"X-Kounta-Signature": sign(body), "Content-Type": "application/json"}
    async with serving(webhook_handler(SECRET, recorder.sync_cb)) as url:
        status, _ = await post(http, url, body, headers, params={"topic": "customers/deleted"})
    assert status == 200
    assert recorder.events == [CustomerEvent("customers/deleted", DELETED_CUSTOMER)]


async def test_handler_answers_only_once_on_event_returned(http: aiohttp.ClientSession) -> None:
    """The 200 is not sent while on_event is still running."""
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(event: CustomerEvent) -> None:
        entered.set()
        await release.wait()

    async with serving(webhook_handler(SECRET, slow)) as url:
        request = asyncio.create_task(post(http, url, BODY, delivery_headers()))
        await asyncio.wait_for(entered.wait(), 5)
        await asyncio.sleep(0.05)
        assert not request.done()
        release.set()
        assert (await asyncio.wait_for(request, 5))[0] == 200


@pytest.mark.parametrize(
    "signature",
    [None, "", "0" * 64, sign(BODY, "wrong-secret"), "not hex"],
    ids=["missing", "empty", "zeros", "wrong-secret", "garbage"],
)
async def test_handler_answers_401_to_a_bad_signature(
    http: aiohttp.ClientSession,
    recorder: Recorder,
    logs: pytest.LogCaptureFixture,
    signature: str | None,
) -> None:
    """A missing or wrong signature is 401 and on_event is never called."""
    headers = {"X-Kounta-Topic": "customers/created"}
    if signature is not None:
        headers["X-Kounta-Signature"] = signature
    async with serving(webhook_handler(SECRET, recorder.async_cb)) as url:
        status, text = await post(http, url, BODY, headers)
    assert (status, text) == (401, "invalid signature")
    assert recorder.events == []
    assert any(
        r.levelno == logging.WARNING and "InvalidSignatureError" in r.getMessage()
        for r in logs.records
    )


@pytest.mark.parametrize(
    ("body", "topic", "text"),
    [
        (b"not json", "customers/created", "malformed body"),
        (encode({**CREATED, "id": "abc"}), "customers/updated", "malformed body"),
        (b"[]", "customers/deleted", "malformed body"),
        (BODY, "orders/created", "unknown topic"),
    ],
    ids=["not-json", "bad-field", "list", "unknown-topic"],
)
async def test_handler_answers_400_to_a_signed_bad_delivery(
    http: aiohttp.ClientSession,
    recorder: Recorder,
    logs: pytest.LogCaptureFixture,
    body: bytes,
    topic: str,
    text: str,
) -> None:
    """A signed but malformed body, or an unknown topic, is 400 with a generic text."""
    async with serving(webhook_handler(SECRET, recorder.async_cb)) as url:
        status, answer = await post(http, url, body, delivery_headers(body, topic))
    assert (status, answer) == (400, text)
    assert recorder.events == []
    assert "Jamie" not in logs.text


async def test_handler_answers_413_by_content_length(recorder: Recorder) -> None:
    """A Content-Length over the default cap is 413 with Connection: close, even when signed."""
    body = b" " * (MAX_WEBHOOK_BYTES + 1)
    # Its own session, closed before the server stops: aiohttp.web lingers up to
    # 10 s draining an unread body while the client keeps the connection open.
    # BytesIO: aiohttp warns about large raw bytes bodies; the length is still sent.
    async with (
        serving(webhook_handler(SECRET, recorder.async_cb)) as url,
        aiohttp.ClientSession() as http,
        http.post(url, data=io.BytesIO(body), headers=delivery_headers(body)) as response,
    ):
        assert response.status == 413
        assert response.headers["Connection"] == "close"
        assert await response.text() == "payload too large"
    assert recorder.events == []


async def test_handler_caps_a_chunked_body_without_content_length(
    http: aiohttp.ClientSession, recorder: Recorder
) -> None:
    """A chunked body (no Content-Length) is cut off at the cap: 413."""
    body = BODY + b" " * 200

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64):
            yield body[start : start + 64]

    async with serving(webhook_handler(SECRET, recorder.async_cb, max_bytes=len(BODY))) as url:
        status, _ = await post(http, url, stream(), delivery_headers(body))
        ok_status, _ = await post(http, url, chunks_of([BODY]), delivery_headers(BODY))
    assert status == 413
    assert ok_status == 200
    assert recorder.events == [CustomerEvent("customers/created", CREATED_CUSTOMER)]


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_handler_answers_500_when_on_event_raises(
    http: aiohttp.ClientSession, logs: pytest.LogCaptureFixture, kind: str
) -> None:
    """on_event failing is 500 (so Kounta redelivers), logged by type without the body."""

    class SyncFailedError(Exception):
        pass

    def failing_sync(event: CustomerEvent) -> None:
        raise SyncFailedError(f"cannot store {event.customer.email} {SECRET}")

    async def failing_async(event: CustomerEvent) -> None:
        failing_sync(event)

    on_event = failing_async if kind == "async" else failing_sync
    async with serving(webhook_handler(SECRET, on_event)) as url:
        status, text = await post(http, url, BODY, delivery_headers())
    assert (status, text) == (500, "event handler failed")
    errors = [r for r in logs.records if r.name == "komet_async" and r.levelno == logging.ERROR]
    assert len(errors) == 1
    message = errors[0].getMessage()
    assert "SyncFailedError" in message
    assert "customers/created" in message
    assert errors[0].exc_info is None
    for leaked in ("jmcdonald@kounta.kom", "Jamie", "McDonald", "Sydney", SECRET):
        assert leaked not in logs.text


async def test_secret_and_signature_never_appear_in_answers_or_logs(
    http: aiohttp.ClientSession, recorder: Recorder, logs: pytest.LogCaptureFixture
) -> None:
    """Across good and refused deliveries, no answer or log record shows the secret or signature."""
    good = sign(BODY)
    texts: list[str] = []

    def boom(event: CustomerEvent) -> None:
        raise RuntimeError("boom")

    async with (
        serving(webhook_handler(SECRET, recorder.async_cb)) as url,
        serving(webhook_handler(SECRET, boom)) as failing_url,
    ):
        for body, headers in [
            (BODY, delivery_headers()),
            (BODY, {**delivery_headers(), "X-Kounta-Signature": good.upper()}),
            (b"x" + BODY, {"X-Kounta-Topic": "customers/created", "X-Kounta-Signature": good}),
            (b"[]", delivery_headers(b"[]")),
            (BODY, delivery_headers(BODY, "orders/created")),
        ]:
            texts.append((await post(http, url, body, headers))[1])
        texts.append((await post(http, failing_url, BODY, delivery_headers()))[1])
    assert texts[:2] == ['{"ok": true}'] * 2
    assert_no_secret(texts, logs, good)


def test_webhook_handler_refuses_an_empty_secret(recorder: Recorder) -> None:
    """Building a handler with an empty secret is misuse, caught before serving."""
    with pytest.raises(ValueError, match="secret"):
        webhook_handler("", recorder.async_cb)


def test_handler_repr_does_not_show_the_secret(recorder: Recorder) -> None:
    """The handler is a closure: its repr and str name no secret."""
    handler = webhook_handler(SECRET, recorder.async_cb)
    assert SECRET not in repr(handler)
    assert SECRET not in str(handler)
