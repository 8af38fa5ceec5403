"""Deterministic generation of sandbox records.

Everything comes from :class:`random.Random` instances seeded from the seed
(one stream per resource, so changing the number of products does not
reshuffle the customers), and every date falls in ``date_span``: never the
global random generator, never today's date.

The records carry the wire quirks of the real API on purpose: ids and flags as
strings, ``salesPersonId`` as a number, optional keys sometimes absent and
sometimes empty strings, money as strings in some places and numbers in others.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, TypeVar

from ._vocab import (
    BOX_TYPES,
    CARRIERS,
    CATEGORIES,
    CITIES,
    CUSTOM_FIELDS,
    CUSTOMER_TYPE_WEIGHTS,
    CUSTOMER_TYPES,
    DIVISIONS,
    FIRST_NAMES,
    LOCATIONS,
    PRICE_LISTS,
    SALES_PEOPLE,
    SHOP_NOUNS,
    SHOP_WORDS,
    STREETS,
    SUPERMARKET_CHAINS,
    SURNAMES,
    TAGS,
    VENDORS,
    WEEKDAYS,
)
from .data import (
    CustomerRecord,
    Location,
    ProductRecord,
    SalesPerson,
    SandboxData,
    StandingOrderRecord,
)

__all__ = ["DEFAULT_DATE_SPAN", "generate"]

T = TypeVar("T")

#: The span generated dates fall in unless told otherwise.
DEFAULT_DATE_SPAN: Final = (dt.date(2024, 1, 1), dt.date(2026, 12, 31))

_DIVISION_NAMES: Final = dict(DIVISIONS)
# Roses and other cut flowers dominate a flower wholesaler's catalogue.
_CATEGORY_WEIGHTS: Final = tuple(
    8 if name == "Rose" else 3 if division == 1 else 1 for name, _, division, *_ in CATEGORIES
)
# Order lengths in weeks: a season, a quarter, a year...
_ORDER_WEEKS: Final = (1, 2, 4, 6, 8, 12, 13, 17, 26, 39, 52, 78, 104)


def generate(
    seed: int,
    *,
    customers: int,
    products: int,
    standing_orders: int,
    date_span: tuple[dt.date, dt.date] = DEFAULT_DATE_SPAN,
) -> SandboxData:
    """Generate a store of ``customers``, ``products`` and ``standing_orders`` for ``seed``."""
    for name, count in (
        ("customers", customers),
        ("products", products),
        ("standing_orders", standing_orders),
    ):
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {count!r}")
    start, end = date_span
    if start > end:
        raise ValueError(f"date_span starts after it ends: {start} > {end}")
    if standing_orders and not (customers and products):
        raise ValueError("standing orders need at least one customer and one product")
    with _collector_paused():
        return _generate(seed, customers, products, standing_orders, date_span)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    # Hundreds of thousands of new dicts trigger cycle collections that scan
    # the whole heap again and again (a third of the time inside a big test
    # run); none of these objects is garbage yet, so the scans find nothing.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _generate(
    seed: int,
    customers: int,
    products: int,
    standing_orders: int,
    date_span: tuple[dt.date, dt.date],
) -> SandboxData:
    people = _sales_people(_stream(seed, "sales-people"))
    locations = tuple(Location(*row) for row in LOCATIONS)
    customer_records = _customers(
        _stream(seed, "customers"), customers, people, locations, date_span
    )
    product_records = _products(_stream(seed, "products"), products)
    orders = _standing_orders(
        _stream(seed, "standing-orders"),
        standing_orders,
        customer_records,
        product_records,
        locations,
        date_span,
    )
    return SandboxData(
        customers=customer_records,
        products=product_records,
        standing_orders=orders,
        locations=locations,
        sales_people=people,
        date_span=date_span,
    )


def _stream(seed: int, name: str) -> random.Random:
    # A string seed is hashed with SHA-512 (not hash()), so streams are the same
    # in every process; test data, not secrets, hence no cryptographic generator.
    return random.Random(f"{seed}:{name}")  # noqa: S311


def _sales_people(rng: random.Random) -> tuple[SalesPerson, ...]:
    ids = rng.sample(range(1000, 30000), len(SALES_PEOPLE))
    return tuple(
        SalesPerson(id=pid, name=name, code=f"{code}{rng.randrange(10, 100)}")
        for pid, (name, code) in zip(ids, SALES_PEOPLE, strict=True)
    )


# --- customers ---------------------------------------------------------------


def _pick(rand: Callable[[], float], items: Sequence[T]) -> T:
    # ``rng.choice`` costs four times as much; this loop runs 100,000s of times.
    return items[int(rand() * len(items))]


def _customer_name(rand: Callable[[], float], kind: str) -> str:
    pick = rand()
    if kind in ("Supermarket", "Mass Market"):
        return f"{_pick(rand, SUPERMARKET_CHAINS)} #{1 + int(rand() * 899)}"
    if kind == "Wholesaler":
        if pick < 0.4:
            return f"{_pick(rand, CITIES)[0]} Wholesale Florist"
        if pick < 0.7:
            return f"Flores {_pick(rand, SURNAMES)} SAS"
        return f"{_pick(rand, SURNAMES)} Flower Distributors"
    if kind in ("Event Planner", "Wedding Designer"):
        if pick < 0.5:
            return f"{_pick(rand, FIRST_NAMES)} {_pick(rand, SURNAMES)} Events"
        if pick < 0.8:
            return f"{_pick(rand, SHOP_WORDS)} Weddings"
        # Some shops were keyed in upper case years ago and never fixed.
        noun = _pick(rand, SHOP_NOUNS).upper()
        return f"{1 + int(rand() * 30)}-{1 + int(rand() * 12)} BRIDAL {noun}"
    if kind == "Hotel & Restaurant":
        if pick < 0.5:
            return f"The {_pick(rand, SURNAMES)} Hotel"
        return f"Bistro {_pick(rand, FIRST_NAMES)}"
    if pick < 0.3:
        return f"{_pick(rand, SURNAMES)} Florist"
    if pick < 0.55:
        return f"{_pick(rand, FIRST_NAMES)}'s Flowers"
    if pick < 0.8:
        return f"{_pick(rand, SHOP_WORDS)} {_pick(rand, SHOP_NOUNS)}"
    if pick < 0.9:
        return f"Flowers by {_pick(rand, FIRST_NAMES)}"
    return f"{_pick(rand, SHOP_WORDS)} {_pick(rand, SHOP_NOUNS)}".upper()


def _customers(
    rng: random.Random,
    count: int,
    people: Sequence[SalesPerson],
    locations: Sequence[Location],
    date_span: tuple[dt.date, dt.date],
) -> list[CustomerRecord]:
    start, end = date_span
    # ISO days precomputed: formatting a stamp from them is three times
    # cheaper than datetime arithmetic plus isoformat(), 100,000 times over.
    days = [(start + dt.timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
    kinds = rng.choices(
        [name for _, name in CUSTOMER_TYPES], weights=CUSTOMER_TYPE_WEIGHTS, k=count
    )
    location_ids = [loc.id for loc in locations]
    rand = rng.random
    next_id = 20_000 + rng.randrange(5_000)
    records = []
    for index, kind in enumerate(kinds):
        next_id += 1 + int(rand() * 7)
        name = _customer_name(rand, kind)
        initial = name[0].upper() if name[0].isalpha() else "C"
        wire: dict[str, Any] = {"id": str(next_id)}
        if rand() < 0.8:
            wire["accountingCode"] = f"ACC{index + 10}"
        wire["customerType"] = "" if rand() < 0.04 else kind
        person = _pick(rand, people) if rand() >= 0.06 else None
        if person is not None and rand() < 0.85:
            wire["salesPerson"] = person.name
        wire["name"] = name
        if person is not None:
            wire["salesPersonId"] = person.id
        wire["active"] = "0" if rand() < 0.1 else "1"
        # The running index keeps codes unique (they are matched exactly).
        wire["code"] = f"{initial}{index + 1000}"
        second = int(rand() * 86_400)
        wire["updatedOn"] = (
            f"{_pick(rand, days)}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        )
        records.append(CustomerRecord(next_id, wire, _pick(rand, location_ids)))
    return records


# --- products ----------------------------------------------------------------


def _products(rng: random.Random, count: int) -> list[ProductRecord]:
    rand, randrange, choice = rng.random, rng.randrange, rng.choice
    categories = rng.choices(CATEGORIES, weights=_CATEGORY_WEIGHTS, k=count)
    next_id = 10_000 + randrange(1_000)
    records = []
    for index, (category, prefix, division, varieties, colors, grades) in enumerate(categories):
        next_id += 1 + randrange(3)
        variety, color, grade = choice(varieties), choice(colors), choice(grades)
        wire: dict[str, Any] = {
            "id": str(next_id),
            "description": f"{category} {variety} {color} {grade}",
            "active": "0" if rand() < 0.05 else "1",
            "category": category,
            "divisionId": str(division),
            "divisionDescription": _DIVISION_NAMES[division],
            "variety": variety,
            "color": color,
            "grade": grade,
            "legacyCode": f"{prefix}{index + 1:05d}",
        }
        roll = rand()
        if roll < 0.05:
            pass  # some products have never been tagged: the key is absent
        elif roll < 0.2:
            wire["tags"] = ""
        else:
            wire["tags"] = ",".join(rng.sample(TAGS, 1 + randrange(3)))
        records.append(ProductRecord(next_id, wire))
    return records


# --- standing orders ---------------------------------------------------------


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _detail(
    rng: random.Random,
    item_id: int,
    products: Sequence[ProductRecord],
    flowers: Sequence[ProductRecord],
) -> dict[str, Any]:
    randrange, choice = rng.randrange, rng.choice
    product = choice(products).wire
    assorted = rng.random() < 0.2
    by_bunch = rng.random() < 0.3
    stems_bunch = choice((10, 12, 20, 25))
    if by_bunch:
        units = choice((8, 10, 12, 15, 20))
        bunches = units
        unit_cents = randrange(250, 1500)
    else:
        units = choice((100, 125, 150, 200, 250, 300))
        bunches = max(1, units // stems_bunch)
        unit_cents = randrange(15, 250)
    boxes = 1 + randrange(20)
    total_units = units * boxes
    cost_cents = unit_cents * randrange(55, 81) // 100
    breakdowns = []
    if assorted:
        parts = min(bunches, 2 + randrange(3))
        left = bunches
        for part in range(parts):
            share = left if part == parts - 1 else max(1, left // (parts - part))
            left -= share
            piece = choice(flowers).wire
            breakdowns.append(
                {
                    "productId": int(piece["id"]),
                    "productDescription": piece["description"],
                    "stemsBunch": stems_bunch,
                    "bunches": share,
                    "price": randrange(15, 250) / 100,
                }
            )
    fields = rng.sample(CUSTOM_FIELDS, randrange(3))
    return {
        "soItemId": item_id,
        "productId": int(product["id"]),
        "productDescription": product["description"],
        "units": units,
        "unitType": "bunch" if by_bunch else "stem",
        "bunches": bunches,
        "totalBoxes": boxes,
        "totalUnits": total_units,
        # Unit money as strings, totals as numbers: both occur on the real wire.
        "unitPrice": _money(unit_cents),
        "totalPrice": unit_cents * total_units / 100,
        "unitCost": _money(cost_cents),
        "totalCost": cost_cents * total_units / 100,
        "stemsBunch": stems_bunch,
        "markCode": "" if rng.random() < 0.6 else f"SL{randrange(1, 400)}",
        "boxType": choice(BOX_TYPES),
        "vendorName": choice(VENDORS),
        "isAssorted": assorted,
        "breakdowns": breakdowns,
        "customField": [{"name": name, "description": choice(texts)} for name, texts in fields],
    }


def _standing_orders(
    rng: random.Random,
    count: int,
    customers: Sequence[CustomerRecord],
    products: Sequence[ProductRecord],
    locations: Sequence[Location],
    date_span: tuple[dt.date, dt.date],
) -> list[StandingOrderRecord]:
    rand, randrange, choice = rng.random, rng.randrange, rng.choice
    span_start, span_end = date_span
    span_days = (span_end - span_start).days + 1
    by_id = {loc.id: loc for loc in locations}
    # An assorted box mixes cut flowers, not vases: breakdowns draw from these.
    flowers = [p for p in products if p.wire["divisionId"] == "1"] or list(products)
    next_id = 5_000 + randrange(1_000)
    number = 1_000 + randrange(1_000)
    item_id = 900_000 + randrange(10_000)
    records = []
    for _ in range(count):
        next_id += 1 + randrange(4)
        number += 1 + randrange(3)
        customer = choice(customers)
        location = by_id[customer.location_id]
        start = span_start + dt.timedelta(days=randrange(span_days))
        end = min(span_end, start + dt.timedelta(days=choice(_ORDER_WEEKS) * 7 - 1))
        days = sorted(rng.sample(range(7), 1 + randrange(3)))
        city, state, zip_prefix, country = choice(CITIES)
        zipcode = (
            f"{zip_prefix} {randrange(1, 10)}T{randrange(1, 10)}"
            if country == "Canada"
            else f"{zip_prefix}{randrange(100):02d}"
        )
        carrier = choice(CARRIERS)
        details = []
        for _ in range(1 + randrange(10)):
            item_id += 1 + randrange(3)
            details.append(_detail(rng, item_id, products, flowers))
        cwire = customer.wire
        wire: dict[str, Any] = {
            "id": str(next_id),
            "number": number,
            "customerName": cwire["name"],
            "priceList": "" if rand() < 0.1 else choice(PRICE_LISTS),
            "carrierName": carrier,
            "recurrence": 1 if rand() < 0.7 else 2,
            "days": ",".join(WEEKDAYS[d] for d in days),
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            "salesperson": cwire.get("salesPerson", ""),
            "locationCode": location.code,
            "locationName": location.name,
            "shipToName": cwire["name"],
            "shipToCarrier": carrier,
            "shipToStreet": f"{randrange(100, 9999)} {choice(STREETS)}",
            "shipToCity": city,
            "shipToState": state,
            "shipToZipcode": zipcode,
            "shipToCountry": country,
            "shipToPhone": f"{randrange(201, 990)}-555-{randrange(10_000):04d}",
            "shipToFax": ""
            if rand() < 0.8
            else f"{randrange(201, 990)}-555-{randrange(10_000):04d}",
            "customerCode": cwire["code"],
            "details": details,
        }
        status = "Cancelled" if rand() < 0.15 else "Active"
        records.append(
            StandingOrderRecord(next_id, wire, customer.id, location.id, status, start, end)
        )
    return records
