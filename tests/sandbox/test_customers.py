"""customer.list and customer.update against the sandbox, over a real socket."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from komet_async import APIError, Customer, CustomerUpdate, KometClient
from komet_async.sandbox import KometSandbox

SAMPLES = Path(__file__).parent.parent / "samples"


def active(customers: list[Customer]) -> list[Customer]:
    return [c for c in customers if c.active]


async def test_list_hides_inactive_by_default(sandbox: KometSandbox, client: KometClient) -> None:
    """customer.list without includeInactive returns exactly the active customers."""
    everyone = sandbox.data.customers
    assert any(not c.active for c in everyone)
    assert await client.customers.list() == active(everyone)


async def test_include_inactive_returns_everyone(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """includeInactive=true returns every customer, in id order."""
    found = await client.customers.list(include_inactive=True)
    assert found == sandbox.data.customers
    assert [c.id for c in found] == sorted(c.id for c in found)


async def test_include_inactive_false_is_the_default(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """includeInactive=false hides inactive customers like leaving it out does."""
    assert await client.customers.list(include_inactive=False) == active(sandbox.data.customers)


async def test_name_is_a_case_insensitive_contains(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """name matches anywhere in the name, whatever the case (SQL LIKE '%name%')."""
    expected = [c for c in active(sandbox.data.customers) if "flower" in c.name.lower()]
    assert len(expected) > 3
    assert await client.customers.list(name="fLOWer") == expected


async def test_name_matches_the_middle_of_a_name(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """A fragment from the middle of one customer's name finds that customer."""
    target = next(c for c in active(sandbox.data.customers) if len(c.name) > 8)
    fragment = target.name[2:7].upper()
    found = await client.customers.list(name=fragment)
    assert target in found
    assert found == [
        c for c in active(sandbox.data.customers) if fragment.lower() in c.name.lower()
    ]


async def test_code_is_exact_and_case_insensitive(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """code matches the whole code in any case, and a prefix matches nothing."""
    target = active(sandbox.data.customers)[5]
    assert target.code is not None
    assert await client.customers.list(code=target.code.lower()) == [target]
    assert await client.customers.list(code=target.code[:-1]) == []


async def test_id_is_exact(sandbox: KometSandbox, client: KometClient) -> None:
    """id returns that one customer."""
    target = active(sandbox.data.customers)[10]
    assert await client.customers.list(id=target.id) == [target]
    assert await client.customers.list(id=target.id + 100_000) == []


async def test_inactive_customer_by_id_needs_include_inactive(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """Looking up an inactive customer by id finds it only with includeInactive."""
    target = next(c for c in sandbox.data.customers if not c.active)
    assert await client.customers.list(id=target.id) == []
    assert await client.customers.list(id=target.id, include_inactive=True) == [target]


async def test_sales_person_id_is_exact(sandbox: KometSandbox, client: KometClient) -> None:
    """salesPersonId returns the customers of that salesperson only."""
    counts = Counter(c.sales_person_id for c in active(sandbox.data.customers) if c.sales_person_id)
    person_id, _ = counts.most_common(1)[0]
    expected = [c for c in active(sandbox.data.customers) if c.sales_person_id == person_id]
    assert await client.customers.list(sales_person_id=person_id) == expected


async def test_location_id_filters_on_the_unsent_location(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """locationId filters on each customer's location, which customer.list does not send."""
    records = sandbox.data.customer_records
    for location in sandbox.data.locations:
        expected = [c for c in sandbox.data.customers if records[c.id].location_id == location.id]
        found = await client.customers.list(location_id=location.id, include_inactive=True)
        assert found == expected
        assert found


async def test_updated_as_of_keeps_customers_updated_on_or_after_the_day(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """updateAsOf keeps customers whose updatedOn date is on or after that date."""
    days = sorted(c.updated_on.date() for c in sandbox.data.customers if c.updated_on)
    since = days[len(days) // 2]
    expected = [
        c
        for c in active(sandbox.data.customers)
        if c.updated_on is not None and c.updated_on.date() >= since
    ]
    found = await client.customers.list(updated_as_of=since)
    assert found == expected
    assert any(c.updated_on is not None and c.updated_on.date() == since for c in found)


async def test_filters_combine_with_and(sandbox: KometSandbox, client: KometClient) -> None:
    """Several filters together keep only the customers matching all of them."""
    location = sandbox.data.locations[0]
    records = sandbox.data.customer_records
    expected = [
        c
        for c in sandbox.data.customers
        if "o" in c.name.lower() and records[c.id].location_id == location.id
    ]
    found = await client.customers.list(name="O", location_id=location.id, include_inactive=True)
    assert found == expected
    assert 0 < len(found) < len(sandbox.data.customers)


async def test_no_match_is_an_empty_list(client: KometClient) -> None:
    """A filter matching nothing gives [] (the server's "Customers not found.")."""
    assert await client.customers.list(name="no such florist anywhere") == []


async def test_no_match_is_status_0_customers_not_found(client: KometClient) -> None:
    """On the wire an empty result is status 0 with "Customers not found."."""
    with pytest.raises(APIError) as info:
        await client.call("customer.list", params={"name": "zzz-nothing-zzz"})
    assert info.value.message == "Customers not found."
    assert info.value.is_not_found


async def test_malformed_update_as_of_is_refused(client: KometClient) -> None:
    """A malformed updateAsOf is status 0 with a message naming it."""
    with pytest.raises(APIError, match="updateAsOf") as info:
        await client.call("customer.list", params={"updateAsOf": "01/02/2025"})
    assert not info.value.is_not_found


# --- customer.update ---------------------------------------------------------


async def test_update_shows_in_the_next_list(sandbox: KometSandbox, client: KometClient) -> None:
    """customer.update changes name, code and accountingCode, and bumps updatedOn."""
    target = active(sandbox.data.customers)[0]
    update = CustomerUpdate(
        customer_id=target.id, name="Petal Pushers LLC", code="PP001", accounting_code="ACC-NEW"
    )
    assert await client.customers.update(update) == target.id
    [found] = await client.customers.list(id=target.id)
    first_tick = dt.datetime.combine(sandbox.data.date_span[1], dt.time()) + dt.timedelta(
        days=1, seconds=1
    )
    assert found == Customer(
        id=target.id,
        name="Petal Pushers LLC",
        code="PP001",
        accounting_code="ACC-NEW",
        active=True,
        sales_person=target.sales_person,
        sales_person_id=target.sales_person_id,
        customer_type=target.customer_type,
        updated_on=first_tick,
    )
    assert found in sandbox.data.customers


async def test_updates_tick_the_sandbox_clock_one_second_each(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """Each update sets updatedOn one second after the previous one, past the date span."""
    first, second = active(sandbox.data.customers)[:2]
    await client.customers.update(CustomerUpdate(customer_id=first.id, name=first.name))
    await client.customers.update(CustomerUpdate(customer_id=second.id, name=second.name))
    [a] = await client.customers.list(id=first.id)
    [b] = await client.customers.list(id=second.id)
    assert a.updated_on is not None
    assert b.updated_on is not None
    assert b.updated_on - a.updated_on == dt.timedelta(seconds=1)
    after_span = sandbox.data.date_span[1] + dt.timedelta(days=1)
    assert await client.customers.list(updated_as_of=after_span) == [a, b]


async def test_deactivating_hides_the_customer(sandbox: KometSandbox, client: KometClient) -> None:
    """active=0 hides the customer from the default list; includeInactive shows it."""
    target = active(sandbox.data.customers)[3]
    await client.customers.update(
        CustomerUpdate(customer_id=target.id, name=target.name, active=False)
    )
    assert await client.customers.list(id=target.id) == []
    [found] = await client.customers.list(id=target.id, include_inactive=True)
    assert found.active is False
    assert found not in await client.customers.list()


async def test_update_type_and_main_location(sandbox: KometSandbox, client: KometClient) -> None:
    """type sets customerType by id; mainLocationCode moves the customer's location."""
    target = active(sandbox.data.customers)[4]
    location = next(
        loc
        for loc in sandbox.data.locations
        if loc.id != sandbox.data.customer_records[target.id].location_id
    )
    update = CustomerUpdate(
        customer_id=target.id, name=target.name, type=4, main_location_code=location.code.lower()
    )
    await client.customers.update(update)
    [found] = await client.customers.list(id=target.id, location_id=location.id)
    assert found.customer_type == "Supermarket"


async def test_documented_extra_fields_are_stored(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """Documented fields customer.list does not show are kept in the record's extra."""
    target = active(sandbox.data.customers)[6]
    update = CustomerUpdate(
        customer_id=target.id,
        name=target.name,
        phone="305-555-0100",
        email_for_invoices=("ap@example.com", "boss@example.com"),
        credit_hold=True,
    )
    await client.customers.update(update)
    assert sandbox.data.customer_records[target.id].extra == {
        "phone": "305-555-0100",
        "emailForInvoices": "ap@example.com;boss@example.com",
        "creditHold": 1,
    }


async def test_update_unknown_customer_is_an_api_error(client: KometClient) -> None:
    """Updating a customer id that does not exist is status 0 (APIError)."""
    with pytest.raises(APIError, match="does not exist"):
        await client.customers.update(CustomerUpdate(customer_id=1, name="Nobody"))


#: Stands for the id of a real customer in the bodies below.
REAL = object()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "No id"}, "customerId is required"),
        ({"customerId": "abc", "name": "Bad id"}, "Invalid customerId"),
        ({"customerId": REAL}, "name of the customer is required"),
        ({"customerId": REAL, "name": "  "}, "name of the customer is required"),
        ({"customerId": REAL, "name": "x" * 201}, "name of the customer is too long"),
        ({"customerId": REAL, "name": "ok", "active": 2}, "active"),
        ({"customerId": REAL, "name": "ok", "code": "C" * 11}, "code is too long"),
        ({"customerId": REAL, "name": "ok", "type": 99}, "Invalid customer type"),
        ({"customerId": REAL, "name": "ok", "mainLocationCode": "XXX"}, "mainLocationCode"),
    ],
)
async def test_update_validation_messages(
    sandbox: KometSandbox, client: KometClient, body: dict[str, object], message: str
) -> None:
    """customer.update refuses an invalid body with a status-0 message and changes nothing."""
    target = active(sandbox.data.customers)[7]
    fields = {k: target.id if v is REAL else v for k, v in body.items()}
    before = sandbox.data.customers
    with pytest.raises(APIError, match=message):
        await client.call("customer.update", json=fields)
    assert sandbox.data.customers == before


async def test_update_refuses_a_code_used_by_another_customer(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """Codes stay unique: taking another customer's code is status 0."""
    first, second = active(sandbox.data.customers)[:2]
    assert second.code is not None
    with pytest.raises(APIError, match="already used"):
        await client.customers.update(
            CustomerUpdate(customer_id=first.id, name=first.name, code=second.code.lower())
        )
    assert await client.customers.list(id=first.id) == [first]


async def test_update_accepts_numbers_as_strings(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """Loosely typed like Komet: customerId, type and active may come as strings."""
    target = active(sandbox.data.customers)[8]
    body = {"customerId": str(target.id), "name": target.name, "type": "2", "active": "0"}
    envelope = await client.call("customer.update", json=body)
    assert envelope == {"status": "1", "message": "OK", "customerId": str(target.id)}
    [found] = await client.customers.list(id=target.id, include_inactive=True)
    assert (found.customer_type, found.active) == ("Retailer", False)


async def test_update_answers_the_customer_id_as_a_string_like_the_sample(
    sandbox: KometSandbox,
) -> None:
    """On the wire customerId comes back as a string, the shape of samples/customer.update.json."""
    target = active(sandbox.data.customers)[9]
    body = {"authenticationToken": sandbox.token, "customerId": target.id, "name": target.name}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sandbox.base_url}/customer.update", json=body) as response,
    ):
        envelope = json.loads(await response.read())
    sample = json.loads((SAMPLES / "customer.update.json").read_text())
    assert envelope == {**sample, "customerId": str(target.id)}
    assert type(sample["customerId"]) is str


async def test_update_returns_the_id_as_an_int(sandbox: KometSandbox, client: KometClient) -> None:
    """The client reads the string customerId back as the int id it updated."""
    target = active(sandbox.data.customers)[10]
    found = await client.customers.update(CustomerUpdate(customer_id=target.id, name=target.name))
    assert type(found) is int
    assert found == target.id


def longest_update(customer_id: int, name: str, location_code: str) -> CustomerUpdate:
    """A CustomerUpdate with every field set, each at the edge of its documented limit."""
    return CustomerUpdate(
        customer_id=customer_id,
        name=name,
        active=True,
        code="~" * 10,
        type=1,
        location_codes=("L" * 24, "M" * 25),
        phone="5" * 20,
        ask_payment_upon_confirmation=False,
        finance_charge_percentage=Decimal("-99999999.99"),
        customer_group="g" * 50,
        fax="6" * 20,
        website="w" * 50,
        terms="t" * 50,
        email_for_invoices=("a" * 99 + "@x", "b" * 98),
        email_for_statements=("s@example.com",),
        credit_hold=True,
        credit_limit=Decimal("99999999.99"),
        payment_method="p" * 50,
        charge_fuel_surcharge=True,
        charge_tax=False,
        tax_exempt_number="x" * 50,
        send_invoice_via=("e-mail", "fax", "mail"),
        send_statement_via=(),
        default_price="B",
        markup_value=Decimal("99999.9999"),
        markup_type="$",
        default_shipping_notes="n" * 200,
        billing_street="s" * 200,
        billing_city="c" * 50,
        billing_state="st" * 25,
        billing_zipcode="9" * 10,
        billing_country="Colombia",
        shipping_street="ñ" * 200,
        shipping_city="c" * 50,
        shipping_state="s" * 50,
        shipping_zipcode="0" * 10,
        shipping_country="co" * 25,
        last_sales_date=dt.date(2024, 2, 29),
        show_fob_price=True,
        sales_person_for_flowers="f" * 50,
        sales_person_for_plants="p" * 50,
        sales_person_code_for_flowers="F" * 20,
        sales_person_code_for_plants="P" * 20,
        vat_code="v" * 50,
        main_location_code=location_code,
        is_customer_po_required=False,
        crm_link="https://crm.example/" + "x" * 480,
        territory="t" * 50,
        accounting_code="A" * 50,
        e_commerce_markup_sign="%",
        e_commerce_markup_value=Decimal("0.01"),
        display_vendor=2,
        check_out_notification_to="o" * 200,
        show_arrival_date=False,
        ecommerce_experience=1,
        ecommerce_ship_via=2,
    )


async def test_update_with_every_field_at_its_limit_is_accepted(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """What the client's own validation lets through, the sandbox accepts and stores."""
    target = active(sandbox.data.customers)[11]
    location = sandbox.data.locations[-1]
    update = longest_update(target.id, "N" * 200, location.code)
    assert await client.customers.update(update) == target.id
    record = sandbox.data.customer_records[target.id]
    assert record.location_id == location.id
    assert record.wire["code"] == "~" * 10
    assert record.extra["financeChargePercentage"] == -99999999.99
    assert record.extra["sendInvoiceVia"] == "e-mail,fax,mail"
    assert record.extra["sendStatementVia"] == ""
    assert record.extra["displayVendor"] == 2
    assert record.extra["lastSalesDate"] == "2024-02-29"
    assert len(record.extra) == 49


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("defaultPrice", "C", "Invalid value for defaultPrice: 'C'. Valid values: A, B."),
        ("displayVendor", 7, "Invalid value for displayVendor: 7. Valid values: 0, 1, 2."),
        ("markupType", "*", "Invalid value for markupType: '*'. Valid values: $, %."),
        (
            "sendInvoiceVia",
            "e-mail,sms",
            "Invalid value for sendInvoiceVia: 'sms'. "
            "Valid values: e-mail, fax, mail, separated by commas.",
        ),
        ("ecommerceShipVia", "3", "Invalid value for ecommerceShipVia: 3. Valid values: 0, 1, 2."),
        ("phone", "5" * 21, "The phone is too long (max 20 characters)."),
        ("creditLimit", 1.005, "The creditLimit has too many decimal places (max 2)."),
        ("creditHold", "yes", "Invalid value for creditHold: use 1 or 0."),
        (
            "lastSalesDate",
            "31/01/2024",
            "Invalid value for lastSalesDate: '31/01/2024' is not a date in the format YYYY-MM-DD.",
        ),
    ],
)
async def test_update_refuses_out_of_document_values_and_stores_nothing(
    sandbox: KometSandbox, client: KometClient, field: str, value: Any, message: str
) -> None:
    """A value outside the document is status 0 naming the field; no part of the update lands."""
    target = active(sandbox.data.customers)[12]
    record = sandbox.data.customer_records[target.id]
    before, extra_before = dict(record.wire), dict(record.extra)
    body = {"customerId": target.id, "name": "Renamed", "phone": "305-555-0100", field: value}
    with pytest.raises(APIError) as info:
        await client.call("customer.update", json=body)
    assert info.value.message == message
    assert (record.wire, record.extra) == (before, extra_before)
    assert await client.customers.list(id=target.id) == [target]


async def test_unknown_customer_is_reported_before_bad_fields(client: KometClient) -> None:
    """An unknown customerId is the answer even when other fields are invalid too."""
    body = {"customerId": 1, "name": "x", "displayVendor": 7}
    with pytest.raises(APIError) as info:
        await client.call("customer.update", json=body)
    assert info.value.message == "Invalid customerId: the customer does not exist."


async def test_update_treats_null_as_not_sent(sandbox: KometSandbox, client: KometClient) -> None:
    """null fields are left as they are and not stored; undocumented keys are ignored."""
    target = active(sandbox.data.customers)[13]
    body = {
        "customerId": target.id,
        "name": target.name,
        "code": None,
        "mainLocationCode": None,
        "phone": None,
        "fax": "305-555-0199",
        "favouriteFlower": "rose",
    }
    assert await client.call("customer.update", json=body) == {
        "status": "1",
        "message": "OK",
        "customerId": str(target.id),
    }
    assert sandbox.data.customer_records[target.id].extra == {"fax": "305-555-0199"}
    [found] = await client.customers.list(id=target.id)
    assert found.code == target.code
