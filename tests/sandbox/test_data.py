"""Generated data: deterministic per seed, realistic, inside the date span, scalable."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from komet_async import Customer, Decoder, Product, StandingOrder
from komet_async.sandbox import DEFAULT_DATE_SPAN, SandboxData, generate

SIZES: dict[str, Any] = {"customers": 2_000, "products": 600, "standing_orders": 400}


@pytest.fixture(scope="module")
def data() -> SandboxData:
    """A medium data set, generated once for the module (it is only read)."""
    return generate(11, **SIZES)


def wires(data: SandboxData) -> tuple[list[object], ...]:
    return (
        [r.wire for r in data.customer_records.values()],
        [r.wire for r in data.product_records.values()],
        [r.wire for r in data.standing_order_records.values()],
    )


def test_same_seed_same_data(data: SandboxData) -> None:
    """The same seed generates identical records, models and unsent facts."""
    again = generate(11, **SIZES)
    assert wires(again) == wires(data)
    assert again.customers == data.customers
    assert again.standing_orders == data.standing_orders
    assert [r.location_id for r in again.customer_records.values()] == [
        r.location_id for r in data.customer_records.values()
    ]
    assert [r.status for r in again.standing_order_records.values()] == [
        r.status for r in data.standing_order_records.values()
    ]


def test_different_seed_different_data(data: SandboxData) -> None:
    """Another seed generates other records."""
    other = generate(12, **SIZES)
    for mine, theirs in zip(wires(data), wires(other), strict=True):
        assert mine != theirs


def test_resources_do_not_reshuffle_each_other() -> None:
    """Each resource has its own random stream: more products leave the customers alone."""
    few = generate(5, customers=50, products=10, standing_orders=0)
    many = generate(5, customers=50, products=90, standing_orders=0)
    assert few.customers == many.customers


def test_counts_and_unique_ids(data: SandboxData) -> None:
    """Exactly the requested number of records, with unique ids, codes and numbers."""
    assert len(data.customers) == SIZES["customers"]
    assert len(data.products) == SIZES["products"]
    assert len(data.standing_orders) == SIZES["standing_orders"]
    assert len({c.code for c in data.customers}) == SIZES["customers"]
    assert len({p.legacy_code for p in data.products}) == SIZES["products"]
    assert len({p.id for p in data.products}) == SIZES["products"]
    assert len({o.number for o in data.standing_orders}) == SIZES["standing_orders"]
    items = [d.so_item_id for o in data.standing_orders for d in o.details]
    assert len(set(items)) == len(items)


def test_realistic_proportions(data: SandboxData) -> None:
    """About 10% inactive customers, 20% without accountingCode, 15% cancelled orders."""
    n = len(data.customers)
    inactive = sum(not c.active for c in data.customers) / n
    no_accounting = sum("accountingCode" not in r.wire for r in data.customer_records.values()) / n
    statuses = Counter(r.status for r in data.standing_order_records.values())
    assert 0.07 <= inactive <= 0.13
    assert 0.16 <= no_accounting <= 0.24
    assert 0.10 <= statuses["Cancelled"] / len(data.standing_orders) <= 0.20
    assert set(statuses) == {"Active", "Cancelled"}
    types = Counter(c.customer_type for c in data.customers)
    assert {"PART-TIME FLORIST", "Retailer", "Wholesaler", "Supermarket", "Event Planner"} <= set(
        types
    )
    divisions = {(p.division_id, p.division_description) for p in data.products}
    assert divisions == {(1, "FreshCutFlowers"), (2, "Plants"), (3, "Hard Goods")}


def test_dates_fall_in_the_span(data: SandboxData) -> None:
    """updatedOn, startDate and endDate lie in the date span, with start <= end."""
    first, last = DEFAULT_DATE_SPAN
    for customer in data.customers:
        assert customer.updated_on is not None
        assert first <= customer.updated_on.date() <= last
    for order in data.standing_orders:
        assert order.start_date is not None
        assert order.end_date is not None
        assert first <= order.start_date <= order.end_date <= last


def test_custom_date_span() -> None:
    """A custom date_span bounds every generated date."""
    span = (dt.date(2030, 5, 1), dt.date(2030, 5, 31))
    small = generate(1, customers=100, products=20, standing_orders=50, date_span=span)
    assert small.date_span == span
    assert all(span[0] <= c.updated_on.date() <= span[1] for c in small.customers if c.updated_on)
    for order in small.standing_orders:
        assert order.start_date is not None
        assert order.end_date is not None
        assert span[0] <= order.start_date <= order.end_date <= span[1]


def test_order_details_are_consistent(data: SandboxData) -> None:
    """Details: 1-10 per order, totals = units x price, money with 2 places, days named."""
    weekdays = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
    assorted = 0
    for order in data.standing_orders:
        assert 1 <= len(order.details) <= 10
        assert order.days
        assert set(order.days) <= weekdays
        for d in order.details:
            assert d.units
            assert d.total_boxes
            assert d.unit_price is not None
            assert d.total_units == d.units * d.total_boxes
            assert d.total_price == d.unit_price * d.total_units
            assert d.unit_price.as_tuple().exponent == -2
            assert d.unit_cost is not None
            assert d.unit_cost <= d.unit_price
            assert d.unit_type in ("stem", "bunch")
            if d.is_assorted:
                assorted += 1
                assert sum(b.bunches or 0 for b in d.breakdowns) == d.bunches
    assert assorted > 0


def test_wire_records_match_the_models_exactly(data: SandboxData) -> None:
    """A strict decoder reads every record (no unknown keys) as the models give them."""
    strict = Decoder(strict=True)
    for model, records, given in (
        (Customer, data.customer_records, data.customers),
        (Product, data.product_records, data.products),
        (StandingOrder, data.standing_order_records, data.standing_orders),
    ):
        decoded: list[object] = [
            strict.structure(json.loads(json.dumps(r.wire)), model) for r in records.values()
        ]
        assert decoded == given


def test_products_are_kept_in_description_order(data: SandboxData) -> None:
    """data.products is in product.list order: by description, case-insensitively."""
    keys = [(p.description.lower(), p.id) for p in data.products]
    assert keys == sorted(keys)


def test_money_never_loses_cents(data: SandboxData) -> None:
    """Money sent as numbers decodes to the same value as its 2-place decimal."""
    for order in data.standing_orders[:50]:
        for d in order.details:
            assert d.total_cost is not None
            assert d.total_cost == d.total_cost.quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"customers": -1},
        {"customers": 0, "standing_orders": 5},
        {"products": 0, "standing_orders": 5},
        {"date_span": (dt.date(2025, 2, 1), dt.date(2025, 1, 1))},
    ],
)
def test_impossible_requests_are_refused(kwargs: dict[str, object]) -> None:
    """Negative counts, orders without customers or products, and a backwards span raise."""
    args: dict[str, object] = {"customers": 10, "products": 10, "standing_orders": 0, **kwargs}
    with pytest.raises(ValueError, match=r"customers|standing orders|date_span"):
        generate(1, **args)  # type: ignore[arg-type]


def test_empty_store_is_allowed() -> None:
    """A sandbox may hold nothing at all."""
    empty = generate(0, customers=0, products=0, standing_orders=0)
    assert (empty.customers, empty.products, empty.standing_orders) == ([], [], [])


def test_model_cache_follows_updates() -> None:
    """data.customers reflects an update at once (the model cache is invalidated)."""
    small = generate(4, customers=20, products=5, standing_orders=0)
    target = small.customers[0]
    small.update_customer({"customerId": str(target.id), "name": "Changed", "active": "0"})
    changed = small.customers[0]
    assert (changed.name, changed.active) == ("Changed", False)
    assert (
        small.customers[1:]
        == generate(4, customers=20, products=5, standing_orders=0).customers[1:]
    )


def test_hundred_thousand_customers_generate_fast() -> None:
    """100,000 customers generate in well under the time a test run can spare."""
    started = time.perf_counter()
    big = generate(1, customers=100_000, products=0, standing_orders=0)
    elapsed = time.perf_counter() - started
    assert len(big.customer_records) == 100_000
    # About 1 s on a laptop; the bound leaves room for a loaded CI machine.
    assert elapsed < 4.0
    started = time.perf_counter()
    found = big.find_customers(name="bloom", include_inactive=True)
    assert time.perf_counter() - started < 0.5
    assert found
    assert all("bloom" in r.name_key for r in found)
