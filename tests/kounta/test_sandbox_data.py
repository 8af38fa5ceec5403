"""Kounta sandbox data: deterministic generation, the documented examples, validation rules."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from komet_async.kounta import Address, Customer
from komet_async.sandbox.kounta import ABRIDGED_FIELDS, EXAMPLE_CUSTOMERS, KountaData
from komet_async.sandbox.kounta.data import KountaAPIError


def make(**kwargs: Any) -> KountaData:
    return KountaData(**{"seed": 7, "customers": 300, "company_id": 5678, **kwargs})


def test_same_seed_same_customers_other_seed_others() -> None:
    """The customers are a pure function of the seed."""
    assert make().customers == make().customers
    assert make().customers != make(seed=8).customers


def test_documented_example_customer_is_there() -> None:
    """Customer 389427 is the documentation's Jamie McDonald, with every documented field."""
    jamie = make().customer(389427)
    assert jamie is not None
    assert (jamie.first_name, jamie.last_name) == ("Jamie", "McDonald")
    assert (jamie.email, jamie.mobile, jamie.phone) == (
        "jmcdonald@kounta.kom",
        "0412345678",
        "02 8765 4321",
    )
    assert jamie.reference_id == "ABC123"
    assert jamie.company_id == 5678


def test_reference_id_abc123_is_shared_by_two_customers() -> None:
    """Two customers carry reference id ABC123 (reference ids may be shared)."""
    found = make().by_reference("ABC123")
    assert [r["id"] for r in found] == [389427, 389428]
    assert make().by_reference("nobody") == []


def test_emails_and_mobiles_are_unique_and_australian() -> None:
    """Emails and 04xxxxxxxx mobiles are unique; phones look like '02 8765 4321'."""
    customers = make(customers=1003).customers
    assert len(customers) == 1003
    assert len({c.email for c in customers}) == 1003
    assert len({c.mobile for c in customers}) == 1003
    assert all(re.fullmatch(r"04\d{8}", c.mobile or "") for c in customers)
    phones = [c.phone for c in customers if c.phone]
    assert phones
    assert all(re.fullmatch(r"0[2378] \d{4} \d{4}", p) for p in phones)
    assert any(c.phone is None for c in customers)


def test_references_tags_and_addresses_vary() -> None:
    """Some customers have CRM references, tags and shipping addresses; all live in AU."""
    customers = make(customers=1003).customers
    refs = [c.reference_id for c in customers if c.reference_id not in (None, "ABC123")]
    assert refs
    assert all(re.fullmatch(r"CRM-\d{6}", r) for r in refs)
    assert any(c.reference_id is None for c in customers)
    assert any(c.tags for c in customers)
    assert any(not c.tags for c in customers)
    assert any(c.shipping_address for c in customers)
    addresses = [c.primary_address for c in customers]
    assert all(isinstance(a, Address) and a.country == "AU" and a.lines for a in addresses)


def test_timestamps_are_fixed_in_2024_to_2026_with_sydney_offsets() -> None:
    """created_at/updated_at fall in 2024-2026 (never today) with +10:00/+11:00 offsets."""
    for c in make(customers=1003).customers:
        assert c.created_at is not None
        assert c.updated_at is not None
        assert c.created_at < c.updated_at
        assert c.created_at.year >= 2024
        assert c.updated_at.year <= 2026
        assert c.created_at.utcoffset() in (dt.timedelta(hours=10), dt.timedelta(hours=11))


def test_customers_are_sorted_by_id_and_examples_come_even_in_tiny_sets() -> None:
    """Ids ascend; a sandbox of 1 or 2 customers holds the documented examples."""
    ids = [c.id for c in make(customers=1003).customers]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert [c.id for c in make(customers=1).customers] == [EXAMPLE_CUSTOMERS[0]["id"]]
    assert make(customers=0).customers == []


def test_listed_view_is_abridged_unless_turned_off() -> None:
    """Listing pages show only the abridged fields by default, full records otherwise."""
    data = make(customers=5)
    page, more = data.page(1, 25)
    assert not more
    assert all(set(r) == set(ABRIDGED_FIELDS) for r in page)
    assert data.listed[0] == Customer(
        id=data.customers[0].id,
        first_name=data.customers[0].first_name,
        last_name=data.customers[0].last_name,
        email=data.customers[0].email,
        reference_id=data.customers[0].reference_id,
        updated_at=data.customers[0].updated_at,
    )
    assert make(customers=5, abridged_lists=False).listed == data.customers


def test_pages_split_the_listing() -> None:
    """Pages of 25 cover every customer once; the last page says nothing follows."""
    data = make(customers=60)
    first, more1 = data.page(1, 25)
    last, more3 = data.page(3, 25)
    assert (len(first), more1, len(last), more3) == (25, True, 10, False)
    assert data.page(4, 25) == ([], False)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"email": "JMcDonald@Kounta.kom"}, 389427),
        ({"mobile": "0412345678"}, 389427),
        ({"first_name": "jamie", "last_name": "mcdonald", "phone": "02 8765 4321"}, 389427),
        ({"email": "nobody@example.com"}, None),
    ],
)
def test_lookups(query: dict[str, str], expected: int | None) -> None:
    """Email (any case), mobile, and name plus phone find the record; no match is None."""
    assert make().lookup(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        {"first_name": "Jamie", "last_name": "McDonald"},
        {"email": "jmcdonald@kounta.kom", "mobile": "0412345678"},
    ],
)
def test_lookups_need_exactly_one_complete_kind(query: dict[str, str]) -> None:
    """A partial name lookup or two kinds at once is a 400."""
    with pytest.raises(KountaAPIError) as info:
        make().lookup(query)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"email": "a@b.c"}, "first_name"),
        ({"first_name": "Ann"}, "email, phone or mobile"),
        ({"first_name": "Ann", "email": "a@b.c", "points": 5}, "cannot be set: points"),
        (
            {"first_name": "Ann", "email": "a@b.c", "primary_address": {"country": "AUS"}},
            "two-letter",
        ),
        ({"first_name": "Ann", "mobile": "0412345678"}, "mobile must be unique"),
        ({"first_name": "Ann", "email": "a@b.c", "tags": "vip"}, "tags"),
        ([1, 2], "JSON object"),
    ],
)
def test_create_validation(body: Any, fragment: str) -> None:
    """Creates need first_name and a contact, known fields, 2-letter countries, unique mobiles."""
    data = make()
    with pytest.raises(KountaAPIError, match=fragment) as info:
        data.create(body)
    assert info.value.status == 400
    assert len(data) == 300


def test_create_assigns_id_and_write_clock_stamps() -> None:
    """A create gets a new id and deterministic 2026 timestamps; updates move updated_at on."""
    data = make()
    record = data.create({"first_name": "Ann", "email": "ann@example.com.au"})
    assert record["id"] == max(c.id for c in data.customers)
    assert record["created_at"] == record["updated_at"] == "2026-07-01T09:01:00+10:00"
    before, after = data.update(record["id"], {"primary_address": {"city": "Hobart"}})
    assert before["updated_at"] == "2026-07-01T09:01:00+10:00"
    assert after["updated_at"] == "2026-07-01T09:02:00+10:00"
    assert after["primary_address"]["city"] == "Hobart"
    assert after["primary_address"]["lines"] == []


def test_update_merges_addresses_and_refuses_unknown_fields() -> None:
    """An update changes only given address fields; unmodifiable fields are a 400."""
    data = make()
    _, after = data.update(389427, {"primary_address": {"postal_code": "2010"}})
    assert after["primary_address"]["city"] == "Sydney"
    assert after["primary_address"]["postal_code"] == "2010"
    with pytest.raises(KountaAPIError, match="points"):
        data.update(389427, {"points": 1})
    with pytest.raises(KountaAPIError, match="Nothing to update"):
        data.update(389427, {})
    with pytest.raises(KountaAPIError) as info:
        data.update(1, {"first_name": "X"})
    assert info.value.status == 404


def test_update_keeps_own_mobile_but_refuses_anothers() -> None:
    """A customer may resend its own mobile; another customer's mobile is a 400."""
    data = make()
    data.update(389427, {"mobile": "0412345678"})
    with pytest.raises(KountaAPIError, match="unique"):
        data.update(389428, {"mobile": "0412345678"})
