"""KountaClient customers against the sandbox: lookups, get, update, create, lost creates."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import aiohttp
import attrs
import pytest

from komet_async import (
    HTTPStatusError,
    NotFoundError,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationError,
)
from komet_async.kounta import (
    CustomerChanges,
    KountaClient,
    NewAddress,
    NewCustomer,
    OAuth2,
)
from komet_async.sandbox import FaultPlan
from komet_async.sandbox.kounta import KountaSandbox

FAST = RetryPolicy(attempts=4, wait_initial=0.0, wait_max=0.0)
JAMIE = 389427


@asynccontextmanager
async def pair(
    *, session: aiohttp.ClientSession | None = None, timeout: float | None = None, **kwargs: Any
) -> AsyncIterator[tuple[KountaSandbox, KountaClient]]:
    async with KountaSandbox(**{"seed": 7, "customers": 120, **kwargs}) as box:
        auth = OAuth2(box.access_token, box.refresh_token, box.client_id, box.client_secret)
        async with KountaClient(
            box.company_id,
            auth=auth,
            base_url=box.base_url,
            retry=FAST,
            rate_limit=None,
            session=session,
            timeout=timeout,
        ) as kounta:
            yield box, kounta


def new_customer(**kwargs: Any) -> NewCustomer:
    fields: dict[str, Any] = {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann.lee@example.com.au",
        "tags": ("vip", "newsletter"),
        "primary_address": NewAddress(
            lines=("1 King Street",), city="Sydney", zone="NSW", postal_code="2000", country="AU"
        ),
        "accepts_marketing": True,
        **kwargs,
    }
    return NewCustomer(**fields)


# --- lookups ----------------------------------------------------------------------------


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
@pytest.mark.parametrize(
    "query",
    [
        {"email": "jmcdonald@kounta.kom"},
        {"mobile": "0412345678"},
        {"first_name": "Jamie", "last_name": "McDonald", "phone": "02 8765 4321"},
    ],
    ids=["email", "mobile", "name-phone"],
)
async def test_find_follows_the_redirect_to_the_exact_record(
    relative: bool, query: dict[str, str]
) -> None:
    """find() follows the 302 (absolute or relative Location) to the full record."""
    async with pair(relative_locations=relative) as (box, kounta):
        assert await kounta.customers.find(**query) == box.data.customer(JAMIE)
        assert box.stats.requests == {"customers.find": 1, "customers.get": 1}


async def test_find_without_a_match_is_none() -> None:
    """A 404 lookup answers None."""
    async with pair() as (box, kounta):
        assert await kounta.customers.find(email="nobody@example.com") is None
        assert await kounta.customers.find(mobile="0400000000") is None
        assert box.stats.requests == {"customers.find": 2}


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"first_name": "Jamie"},
        {"first_name": "Jamie", "last_name": "McDonald"},
        {"email": "jmcdonald@kounta.kom", "mobile": "0412345678"},
        {"email": "  "},
    ],
)
async def test_invalid_lookups_are_refused_before_sending(query: dict[str, str]) -> None:
    """find() with no, partial or mixed criteria raises ValidationError and sends nothing."""
    async with pair() as (box, kounta):
        with pytest.raises(ValidationError):
            await kounta.customers.find(**query)
        assert box.stats.total == 0


async def test_find_by_reference_returns_every_sharer_or_nothing() -> None:
    """find_by_reference('ABC123') returns both customers; an unknown reference returns []."""
    async with pair() as (box, kounta):
        found = await kounta.customers.find_by_reference("ABC123")
        assert found == [box.data.customer(389427), box.data.customer(389428)]
        assert await kounta.customers.find_by_reference("CRM-999999") == []
        assert box.stats.requests == {"customers.find_by_reference": 2}


# --- get and update ---------------------------------------------------------------------


async def test_get_returns_the_full_record_or_raises_not_found() -> None:
    """get() returns the full record; an unknown id raises NotFoundError (not retried)."""
    async with pair() as (box, kounta):
        assert await kounta.customers.get(JAMIE) == box.data.customer(JAMIE)
        with pytest.raises(NotFoundError):
            await kounta.customers.get(1)
        assert box.stats.requests == {"customers.get": 2}


async def test_update_sends_only_the_given_fields_and_returns_the_record() -> None:
    """update() PUTs only the set fields; the answer is the stored record, updated_at bumped."""
    bodies: list[bytes] = []

    async def on_chunk(_: Any, __: SimpleNamespace, params: Any) -> None:
        bodies.append(params.chunk)

    trace = aiohttp.TraceConfig()
    trace.on_request_chunk_sent.append(on_chunk)
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as session,
        pair(session=session) as (box, kounta),
    ):
        before = box.data.customer(JAMIE)
        assert before is not None
        assert before.primary_address is not None
        changes = CustomerChanges(
            last_name="MacDonald",
            tags=("vip",),
            primary_address=NewAddress(city="Parramatta", postal_code="2150"),
            accepts_marketing=False,
        )
        updated = await kounta.customers.update(JAMIE, changes)
        assert json.loads(b"".join(bodies)) == {
            "last_name": "MacDonald",
            "tags": ["vip"],
            "primary_address": {"city": "Parramatta", "postal_code": "2150"},
            "accepts_marketing": False,
        }
        assert updated == box.data.customer(JAMIE)
        assert updated.updated_at is not None
        assert before.updated_at is not None
        assert updated.updated_at > before.updated_at
        address = attrs.evolve(before.primary_address, city="Parramatta", postal_code="2150")
        assert updated == attrs.evolve(
            before,
            last_name="MacDonald",
            tags=("vip",),
            primary_address=address,
            accepts_marketing=False,
            updated_at=updated.updated_at,
        )


async def test_update_of_a_taken_mobile_is_a_400() -> None:
    """The sandbox's unique-mobile rule surfaces as HTTPStatusError 400, sent once."""
    async with pair() as (box, kounta):
        with pytest.raises(HTTPStatusError) as info:
            await kounta.customers.update(389428, CustomerChanges(mobile="0412345678"))
        assert info.value.status == 400
        assert box.stats.requests == {"customers.update": 1}


# --- create -------------------------------------------------------------------------------


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
async def test_create_returns_the_stored_record_from_the_201_body(relative: bool) -> None:
    """create() answers the record the 201 carried, equal to what the sandbox stored."""
    async with pair(relative_locations=relative) as (box, kounta):
        created = await kounta.customers.create(new_customer(reference_id="CRM-NEW-1"))
        assert created == box.data.customer(created.id)
        assert (created.first_name, created.reference_id, created.tags) == (
            "Ann",
            "CRM-NEW-1",
            ("vip", "newsletter"),
        )
        assert box.stats.requests == {"customers.create": 1}


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
async def test_create_with_an_empty_201_follows_the_location(relative: bool) -> None:
    """A 201 with no body makes create() fetch the record its Location names."""
    async with pair(empty_create_body=True, relative_locations=relative) as (box, kounta):
        created = await kounta.customers.create(new_customer())
        assert created == box.data.customer(created.id)
        assert box.stats.requests == {"customers.create": 1, "customers.get": 1}


@pytest.mark.parametrize(
    ("customer", "fragment"),
    [
        (NewCustomer(first_name="Ann"), "email, phone or mobile"),
        (new_customer(primary_address=NewAddress(country="AUS")), "country"),
        (new_customer(shipping_address=NewAddress(country="XX")), "country"),
        (new_customer(first_name=""), "first_name"),
    ],
)
async def test_invalid_new_customers_are_refused_before_sending(
    customer: NewCustomer, fragment: str
) -> None:
    """No contact, a bad country code or an empty first name: ValidationError, nothing sent."""
    async with pair() as (box, kounta):
        with pytest.raises(ValidationError, match=fragment):
            await kounta.customers.create(customer)
        assert box.stats.total == 0


# --- creates whose answer is lost after the server stored them ------------------------

LOST = ["reset", "cutoff", "http_503", "slow"]


@asynccontextmanager
async def losing_first_write(kind: str) -> AsyncIterator[tuple[KountaSandbox, KountaClient]]:
    plan = FaultPlan(first_n=1, first_n_kind=kind, slow_delay=2.0)
    # Below slow_delay: the client gives up on a create the server has stored.
    async with pair(after_store=plan, timeout=0.5) as (box, kounta):
        # A request first, so the create goes out on a reused keep-alive connection.
        await kounta.customers.get(JAMIE)
        yield box, kounta


@pytest.mark.parametrize("kind", LOST)
async def test_lost_create_without_reference_raises_and_is_not_resent(kind: str) -> None:
    """A create stored then lost (reset, cut-off, 503, timeout) raises; exactly 1 record exists."""
    async with losing_first_write(kind) as (box, kounta):
        with pytest.raises((TransportError, HTTPStatusError)):
            await kounta.customers.create(new_customer())
        assert len(box.data) == 121
        assert box.stats.requests == {"customers.get": 1, "customers.create": 1}
        assert box.stats.faults == {kind: 1}


@pytest.mark.parametrize("kind", LOST)
async def test_lost_create_with_reference_finds_the_stored_record(kind: str) -> None:
    """With a reference_id the client looks the lost create up and returns it: 1 record."""
    async with losing_first_write(kind) as (box, kounta):
        created = await kounta.customers.create(new_customer(reference_id="CRM-LOST-1"))
        assert created == box.data.customer(created.id)
        assert created.reference_id == "CRM-LOST-1"
        assert len(box.data) == 121
        assert box.stats.requests == {
            "customers.get": 1,
            "customers.create": 1,
            "customers.find_by_reference": 1,
        }


@pytest.mark.parametrize("blank", ["", "  "], ids=["empty", "spaces"])
@pytest.mark.parametrize("kind", LOST)
async def test_lost_create_with_blank_reference_is_not_resent(kind: str, blank: str) -> None:
    """A blank reference is no reference: a lost create raises its own error, 1 record stored."""
    async with losing_first_write(kind) as (box, kounta):
        with pytest.raises((ServerError, TransportError)) as info:
            await kounta.customers.create(new_customer(reference_id=blank))
        assert type(info.value) is (ServerError if kind == "http_503" else TransportError)
        assert len(box.data) == 121
        stored = box.data.customers[-1]
        assert (stored.first_name, stored.reference_id) == ("Ann", None)
        assert box.stats.requests == {"customers.get": 1, "customers.create": 1}


async def test_create_refused_before_storing_is_resent_once_with_reference() -> None:
    """A 503 before the create is stored: the lookup finds nothing, the resend stores it once."""
    async with pair(faults=FaultPlan(first_n=1, first_n_kind="http_503")) as (box, kounta):
        created = await kounta.customers.create(new_customer(reference_id="CRM-RETRY-1"))
        assert created == box.data.customer(created.id)
        assert len(box.data) == 121
        assert box.stats.requests == {"customers.create": 2, "customers.find_by_reference": 1}


async def test_create_timing_out_before_a_slow_store_makes_no_duplicate() -> None:
    """A create the server holds back past the client timeout is not stored twice."""
    # The server stores it 0.3 s in; the client gives up at 0.2 s and waits its
    # timeout again before looking the reference up, so it finds the record.
    plan = FaultPlan(first_n=1, first_n_kind="slow", slow_delay=0.3)
    async with pair(faults=plan, timeout=0.2) as (box, kounta):
        created = await kounta.customers.create(new_customer(reference_id="CRM-SLOW-1"))
        assert created.reference_id == "CRM-SLOW-1"
        await asyncio.sleep(0.5)  # anything still held back has been served by now
        assert len(box.data.customers) == 121
        assert box.stats.requests["customers.create"] == 1
