"""standing.order.list against the sandbox, over a real socket."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import aiohttp
import pytest

from komet_async import APIError, KometClient, StandingOrder
from komet_async.sandbox import KometSandbox
from komet_async.sandbox.data import dumps

DAY = dt.timedelta(days=1)
WINDOW = (dt.date(2025, 3, 1), dt.date(2025, 3, 31))


def overlapping(
    sandbox: KometSandbox,
    start: dt.date,
    end: dt.date,
    statuses: Iterable[str] = ("Active",),
) -> list[StandingOrder]:
    records = sandbox.data.standing_order_records
    return [
        o
        for o in sandbox.data.standing_orders
        if o.start_date is not None
        and o.end_date is not None
        and o.start_date <= end
        and o.end_date >= start
        and records[o.id].status in statuses
    ]


async def test_window_returns_active_orders_overlapping_it(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """Orders whose [startDate, endDate] overlaps [dateFrom, dateTo], Active only by default."""
    expected = overlapping(sandbox, *WINDOW)
    assert len(expected) > 5
    found = await client.standing_orders.list(date_from=WINDOW[0], date_to=WINDOW[1])
    assert found == expected


async def test_answer_bytes_equal_one_dumps_of_the_wire_records(sandbox: KometSandbox) -> None:
    """The pre-encoded orders joined give byte for byte what one dumps of the envelope gives."""
    records = sandbox.data.standing_order_records
    wires = [
        r.wire
        for r in records.values()
        if r.start <= WINDOW[1] and r.end >= WINDOW[0] and r.status in ("Active", "Cancelled")
    ]
    assert len(wires) > 5
    params = {
        "authenticationToken": sandbox.token,
        "dateFrom": WINDOW[0].isoformat(),
        "dateTo": WINDOW[1].isoformat(),
        "status": "All",
    }
    url = f"{sandbox.base_url}/standing.order.list"
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as response:
        body = await response.read()
    assert body == dumps({"status": "1", "message": "OK", "standingOrders": wires})


async def test_overlap_includes_touching_edges(sandbox: KometSandbox, client: KometClient) -> None:
    """An order ending on dateFrom, or starting on dateTo, overlaps; one a day off does not."""
    records = sandbox.data.standing_order_records
    order = next(
        o
        for o in sandbox.data.standing_orders
        if records[o.id].status == "Active" and o.start_date != o.end_date
    )
    assert order.start_date is not None
    assert order.end_date is not None
    ending = await client.standing_orders.list(
        date_from=order.end_date, date_to=order.end_date + 30 * DAY
    )
    starting = await client.standing_orders.list(
        date_from=order.start_date - 30 * DAY, date_to=order.start_date
    )
    after = await client.standing_orders.list(
        date_from=order.end_date + DAY, date_to=order.end_date + 30 * DAY
    )
    before = await client.standing_orders.list(
        date_from=order.start_date - 30 * DAY, date_to=order.start_date - DAY
    )
    assert order in ending
    assert order in starting
    assert order not in after
    assert order not in before


async def test_window_inside_a_long_order_finds_it(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """A one-day window strictly inside an order's dates finds it."""
    records = sandbox.data.standing_order_records
    order = next(
        o
        for o in sandbox.data.standing_orders
        if records[o.id].status == "Active"
        and o.start_date is not None
        and o.end_date is not None
        and (o.end_date - o.start_date).days > 10
    )
    assert order.start_date is not None
    day = order.start_date + 5 * DAY
    found = await client.standing_orders.list(date_from=day, date_to=day)
    assert order in found
    assert found == overlapping(sandbox, day, day)


@pytest.mark.parametrize(
    ("status", "statuses"),
    [
        ("All", ("Active", "Cancelled")),
        ("Active", ("Active",)),
        ("Cancelled", ("Cancelled",)),
    ],
)
async def test_status_filter(
    sandbox: KometSandbox, client: KometClient, status: str, statuses: tuple[str, ...]
) -> None:
    """status=All/Active/Cancelled selects orders by their (unsent) status."""
    expected = overlapping(sandbox, *WINDOW, statuses=statuses)
    found = await client.standing_orders.list(date_from=WINDOW[0], date_to=WINDOW[1], status=status)
    assert found == expected
    assert found


async def test_status_is_case_insensitive(sandbox: KometSandbox, client: KometClient) -> None:
    """status=cancelled works like Cancelled (filters are not case sensitive)."""
    found = await client.call(
        "standing.order.list",
        params={"dateFrom": WINDOW[0], "dateTo": WINDOW[1], "status": "cancelled"},
    )
    expected = overlapping(sandbox, *WINDOW, statuses=("Cancelled",))
    assert [int(o["id"]) for o in found["standingOrders"]] == [o.id for o in expected]


async def test_unknown_status_is_refused(client: KometClient) -> None:
    """A status other than All/Active/Cancelled is status 0 with a message listing them."""
    with pytest.raises(APIError, match="Valid values: All, Active, Cancelled"):
        await client.call(
            "standing.order.list",
            params={"dateFrom": WINDOW[0], "dateTo": WINDOW[1], "status": "Pending"},
        )


async def test_customer_matches_name_or_code(sandbox: KometSandbox, client: KometClient) -> None:
    """customer is a case-insensitive contains on the customer's name or code."""
    span = sandbox.data.date_span
    everything = overlapping(sandbox, *span, statuses=("Active", "Cancelled"))
    target = everything[0]
    assert target.customer_code is not None
    assert target.customer_name is not None
    by_code = await client.standing_orders.list(
        date_from=span[0], date_to=span[1], customer=target.customer_code.lower(), status="All"
    )
    code = target.customer_code.lower()
    assert by_code == [
        o
        for o in everything
        if code in (o.customer_code or "").lower() or code in (o.customer_name or "").lower()
    ]
    assert target in by_code
    fragment = target.customer_name[1:5]
    by_name = await client.standing_orders.list(
        date_from=span[0], date_to=span[1], customer=fragment.upper(), status="All"
    )
    assert target in by_name
    assert by_name == [
        o
        for o in everything
        if fragment.lower() in (o.customer_name or "").lower()
        or fragment.lower() in (o.customer_code or "").lower()
    ]


async def test_customer_id_number_and_location_are_exact(
    sandbox: KometSandbox, client: KometClient
) -> None:
    """customerId, number and locationId match exactly."""
    span = sandbox.data.date_span
    records = sandbox.data.standing_order_records
    everything = overlapping(sandbox, *span, statuses=("Active", "Cancelled"))
    target = everything[3]
    record = records[target.id]
    by_customer = await client.standing_orders.list(
        date_from=span[0], date_to=span[1], customer_id=record.customer_id, status="All"
    )
    assert by_customer == [o for o in everything if records[o.id].customer_id == record.customer_id]
    assert await client.standing_orders.list(
        date_from=span[0], date_to=span[1], number=target.number, status="All"
    ) == [target]
    by_location = await client.standing_orders.list(
        date_from=span[0], date_to=span[1], location_id=record.location_id, status="All"
    )
    assert by_location == [o for o in everything if records[o.id].location_id == record.location_id]
    assert target in by_location


async def test_orders_reference_real_customers_and_products(sandbox: KometSandbox) -> None:
    """Every order names a generated customer (name, code) and products by id and description."""
    customers = {c.id: c for c in sandbox.data.customers}
    products = {p.id: p for p in sandbox.data.products}
    records = sandbox.data.standing_order_records
    for order in sandbox.data.standing_orders:
        customer = customers[records[order.id].customer_id]
        assert (order.customer_name, order.customer_code) == (customer.name, customer.code)
        assert 1 <= len(order.details) <= 10
        for detail in order.details:
            assert detail.product_id is not None
            assert products[detail.product_id].description == detail.product_description
            assert bool(detail.breakdowns) == bool(detail.is_assorted)
            for piece in detail.breakdowns:
                assert products[piece.product_id].description == piece.product_description


async def test_no_match_is_an_empty_list(sandbox: KometSandbox, client: KometClient) -> None:
    """A window before every order gives []."""
    before = sandbox.data.date_span[0] - 400 * DAY
    assert await client.standing_orders.list(date_from=before, date_to=before + DAY) == []


async def test_no_match_is_status_0_orders_not_found(client: KometClient) -> None:
    """On the wire an empty result is status 0 with "Orders not found."."""
    with pytest.raises(APIError) as info:
        await client.call(
            "standing.order.list", params={"dateFrom": "1999-01-01", "dateTo": "1999-01-31"}
        )
    assert info.value.message == "Orders not found."
    assert info.value.is_not_found


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"dateTo": "2025-01-31"}, "dateFrom parameter is required"),
        ({"dateFrom": "2025-01-01"}, "dateTo parameter is required"),
        ({"dateFrom": "2025-01-01", "dateTo": "31/01/2025"}, "Invalid dateTo"),
        ({"dateFrom": "2025-02-30", "dateTo": "2025-03-31"}, "Invalid dateFrom"),
        ({"dateFrom": "2025-03-01", "dateTo": "2025-01-31"}, "must not be after"),
        ({"dateFrom": "2025-01-01", "dateTo": "2025-01-31", "customerId": "x"}, "customerId"),
    ],
)
async def test_bad_dates_are_refused(
    client: KometClient, params: dict[str, str], message: str
) -> None:
    """Missing or malformed dateFrom/dateTo is status 0 with a message saying so."""
    with pytest.raises(APIError, match=message) as info:
        await client.call("standing.order.list", params=params)
    assert not info.value.is_not_found
