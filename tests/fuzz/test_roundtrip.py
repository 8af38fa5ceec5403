"""Request models round-trip: a valid instance, sent through the client to the sandbox, reads back.

``CustomerUpdate`` (Komet) goes through ``customers.update`` and is read back
with ``customers.list`` (the fields a customer record shows) and from the
fields the sandbox stored, structured as a ``CustomerUpdate`` again (the rest).
``NewCustomer`` and ``CustomerChanges`` (Kounta) go through ``customers.create``
and ``customers.update``; the answer and a fresh ``customers.get`` must carry
exactly what was sent.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
import pytest_asyncio
from hypothesis import assume, given
from hypothesis import strategies as st

from komet_async import CustomerUpdate, KometClient, RetryPolicy
from komet_async._converters import Decoder
from komet_async._requests import request_fields
from komet_async._wire import wire_name
from komet_async.kounta import CustomerChanges, KountaClient, NewAddress, NewCustomer, OAuth2
from komet_async.kounta import models as kounta
from komet_async.sandbox import KometSandbox
from komet_async.sandbox._vocab import CUSTOMER_TYPES
from komet_async.sandbox.data import EXTRA_UPDATE_FIELDS
from komet_async.sandbox.kounta import KountaSandbox

from .conftest import FUZZ

pytestmark = pytest.mark.asyncio(loop_scope="module")

NO_RETRY = RetryPolicy.disabled()

#: Printable text without surrogates (they cannot be sent as UTF-8).
_chars = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))


def text(max_len: int | None, *, blank: bool = True, sep: str | None = None) -> Any:
    """Text within ``max_len``; ``blank=False`` needs a non-blank character."""
    chars = (
        _chars
        if sep is None
        else st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters=sep)
    )
    found = st.text(chars, max_size=max_len or 60)
    return found if blank else found.filter(lambda t: bool(t.strip()))


def decimals(digits: int | None, places: int | None) -> Any:
    """Decimals within ``digits`` in total, ``places`` of them after the point (4 if unsaid)."""
    shown = 4 if places is None else places
    whole = (digits or 12) - (places or 0)
    bound = Decimal(10) ** whole - 1
    return st.decimals(
        min_value=-bound, max_value=bound, places=shown, allow_nan=False, allow_infinity=False
    )


def field_strategy(cls: type[Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A strategy per field of a request model, from its declared kind and wire limits."""
    out: dict[str, Any] = {}
    for a, kind, _optional, spec in request_fields(cls):
        if a.name in overrides:
            out[a.name] = overrides[a.name]
            continue
        if kind == "str":
            value: Any = (
                st.sampled_from(sorted(spec.choices))
                if spec.choices
                else text(spec.max_len, blank=not spec.required)
            )
        elif kind == "bool":
            value = st.booleans()
        elif kind == "int":
            value = (
                st.sampled_from(sorted(spec.choices))
                if spec.choices
                else st.integers(0, 10 ** (spec.max_digits or 9) - 1)
            )
        elif kind == "decimal":
            value = decimals(spec.digits, spec.places)
        elif kind == "date":
            value = st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31))
        elif kind == "strs":
            item = (
                st.sampled_from(sorted(spec.choices))
                if spec.choices
                else text(12, blank=False, sep=spec.sep)
            )
            value = st.lists(item, min_size=1, max_size=4, unique=bool(spec.choices)).map(tuple)
            if spec.max_len is not None:
                value = value.filter(lambda t, n=spec.max_len, s=spec.sep: len(s.join(t)) <= n)
        else:
            continue  # nested models: given in overrides
        out[a.name] = value if spec.required else st.none() | value
    return out


# --- Komet: CustomerUpdate ------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def komet_box() -> AsyncIterator[KometSandbox]:
    """One small Komet sandbox for the whole module."""
    async with KometSandbox(seed=5, customers=20, products=0, standing_orders=0) as box:
        yield box


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def komet(komet_box: KometSandbox) -> AsyncIterator[KometClient]:
    """A client of ``komet_box`` shared by every example."""
    async with KometClient(komet_box.token, base_url=komet_box.base_url, retry=NO_RETRY) as client:
        yield client


#: One customer takes every update: a code is unique per customer, so updates never collide.
KOMET_CUSTOMER = 1

TYPE_NAMES = dict(CUSTOMER_TYPES)
KOMET_DECODER = Decoder(naming="camel")


def customer_updates(customer_id: int, location_codes: list[str]) -> Any:
    return st.builds(
        CustomerUpdate,
        **field_strategy(
            CustomerUpdate,
            {
                "customer_id": st.just(customer_id),
                # Codes start with '~': no generated customer's code does, so none is taken.
                "code": st.none() | text(9).map(lambda t: f"~{t}"),
                "type": st.none() | st.sampled_from(sorted(TYPE_NAMES)),
                "main_location_code": st.none() | st.sampled_from(location_codes),
            },
        ),
    )


@FUZZ
@given(data=st.data())
async def test_customer_update_round_trips(
    komet_box: KometSandbox, komet: KometClient, data: Any
) -> None:
    """A valid CustomerUpdate sent to the sandbox reads back field for field."""
    record = next(iter(komet_box.data.customer_records.values()))
    codes = [loc.code for loc in komet_box.data.locations]
    update = data.draw(customer_updates(record.id, codes))
    assert await komet.customers.update(update) == record.id
    (found,) = await komet.customers.list(id=record.id, include_inactive=True)
    if update.main_location_code is not None:
        location = next(
            loc for loc in komet_box.data.locations if loc.code == update.main_location_code
        )
        assert await komet.customers.list(
            id=record.id, location_id=location.id, include_inactive=True
        ) == [found]
    assert found.name == update.name
    if update.code is not None:
        assert found.code == (update.code or None)
    if update.accounting_code is not None:
        assert found.accounting_code == (update.accounting_code or None)
    if update.active is not None:
        assert found.active is update.active
    if update.type is not None:
        assert found.customer_type == TYPE_NAMES[update.type]
    # The documented fields customer.list does not show: what the sandbox stored, read back.
    stored = {**record.extra, "customerId": record.id, "name": record.wire["name"]}
    back = KOMET_DECODER.structure(stored, CustomerUpdate)
    for a in attrs.fields(CustomerUpdate):
        sent = getattr(update, a.name)
        if sent is not None and wire_name(a) in EXTRA_UPDATE_FIELDS:
            assert getattr(back, a.name) == expected_komet(sent), a.name


def expected_komet(sent: Any) -> Any:
    """What a sent value reads back as: "" is absent, items of a joined list are trimmed."""
    if sent == "":
        return None
    if isinstance(sent, tuple):
        return tuple(item.strip() for item in sent)
    return sent


# --- Kounta: NewCustomer and CustomerChanges ------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kounta_box() -> AsyncIterator[KountaSandbox]:
    """One small Kounta sandbox for the whole module."""
    async with KountaSandbox(seed=5, customers=5) as box:
        yield box


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kounta_client(kounta_box: KountaSandbox) -> AsyncIterator[KountaClient]:
    """A client of ``kounta_box`` shared by every example."""
    box = kounta_box
    auth = OAuth2(box.access_token, box.refresh_token, box.client_id, box.client_secret)
    async with KountaClient(
        box.company_id, auth=auth, base_url=box.base_url, retry=NO_RETRY, rate_limit=None
    ) as client:
        yield client


ADDRESSES = st.builds(NewAddress, **field_strategy(NewAddress, {}))
#: Contact fields the sandbox checks for "a way to reach the customer" must not be blank.
CONTACT = st.none() | text(40, blank=False)
KOUNTA_OVERRIDES = {
    "primary_address": st.none() | ADDRESSES,
    "shipping_address": st.none() | ADDRESSES,
    "email": CONTACT,
    "phone": CONTACT,
    "mobile": CONTACT,
}

_unique = itertools.count(1)


def uniquely(request: Any) -> Any:
    """``request`` with a mobile no other customer has (Kounta wants them unique)."""
    if request.mobile is None:
        return request
    return attrs.evolve(request, mobile=f"{next(_unique)}-{request.mobile}")


def address_after(before: kounta.Address | None, sent: NewAddress | None) -> kounta.Address | None:
    """An address after a change: the fields sent replace, the others stay."""
    if sent is None:
        return before
    base: dict[str, Any] = (
        attrs.asdict(before)
        if before is not None
        else {f.name: None for f in attrs.fields(kounta.Address)}
    )
    base.update({k: v for k, v in attrs.asdict(sent).items() if v is not None})
    base["lines"] = tuple(base["lines"] or ())
    fields: dict[str, Any] = {k: (v or None) if k != "lines" else v for k, v in base.items()}
    return kounta.Address(**fields)


def customer_after(before: kounta.Customer, sent: Any) -> dict[str, Any]:
    """The fields of ``before`` with every non-None field of ``sent`` applied, as read back."""
    expected = attrs.asdict(before, recurse=False)
    for a in attrs.fields(type(sent)):
        value = getattr(sent, a.name)
        if value is None:
            continue
        if a.name in ("primary_address", "shipping_address"):
            expected[a.name] = address_after(getattr(before, a.name), value)
        elif a.name == "tags":
            expected[a.name] = tuple(value)
        elif isinstance(value, str):
            expected[a.name] = value or None
        else:
            expected[a.name] = value
    expected.pop("updated_at")
    return expected


def fields_of(customer: kounta.Customer) -> dict[str, Any]:
    found = attrs.asdict(customer, recurse=False)
    found.pop("updated_at")
    return found


BLANK = kounta.Customer(id=0, accepts_marketing=False, points=0)


@FUZZ
@given(new=st.builds(NewCustomer, **field_strategy(NewCustomer, KOUNTA_OVERRIDES)))
async def test_new_customer_round_trips(
    kounta_box: KountaSandbox, kounta_client: KountaClient, new: NewCustomer
) -> None:
    """A valid NewCustomer created in the sandbox comes back, and reads back, as sent."""
    assume(new.contact_problems() == [])
    new = uniquely(new)
    created = await kounta_client.customers.create(new)
    fetched = await kounta_client.customers.get(created.id)
    assert fetched == created
    expected = customer_after(
        attrs.evolve(
            BLANK, id=created.id, company_id=kounta_box.company_id, created_at=created.created_at
        ),
        new,
    )
    assert fields_of(created) == expected


@FUZZ
@given(
    changes=st.builds(
        CustomerChanges,
        **field_strategy(
            CustomerChanges, {**KOUNTA_OVERRIDES, "first_name": st.none() | text(100, blank=False)}
        ),
    ),
    which=st.integers(0, 4),
)
async def test_customer_changes_round_trip(
    kounta_client: KountaClient, changes: CustomerChanges, which: int
) -> None:
    """Valid CustomerChanges applied in the sandbox change exactly the fields sent."""
    assume(changes.empty_problems() == [])
    changes = uniquely(changes)
    client = kounta_client
    before = (await client.customers.list().collect(max_items=5))[which]
    before = await client.customers.get(before.id)
    updated = await client.customers.update(before.id, changes)
    fetched = await client.customers.get(before.id)
    assert fetched == updated
    assert fields_of(updated) == customer_after(before, changes)
