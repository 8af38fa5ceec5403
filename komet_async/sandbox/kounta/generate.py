"""Deterministic Australian-flavoured customers for the Kounta sandbox.

Everything comes from one ``random.Random(seed)``; timestamps fall between
2024 and mid-2026 (never today's date) and carry the Sydney offset of their
season (``+11:00`` in daylight saving months, ``+10:00`` otherwise). The
first records are the customers the API documentation uses as examples.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Final

__all__ = ["EXAMPLE_CUSTOMERS", "FIRST_ID", "aest_stamp", "generate_customers"]

#: The documented example customers; both carry reference id ``ABC123``
#: because reference ids may be shared between customers.
EXAMPLE_CUSTOMERS: Final[tuple[dict[str, Any], ...]] = (
    {
        "id": 389427,
        "first_name": "Jamie",
        "last_name": "McDonald",
        "email": "jmcdonald@kounta.kom",
        "phone": "02 8765 4321",
        "mobile": "0412345678",
        "reference_id": "ABC123",
        "tags": ["vip", "newsletter"],
        "image": None,
        "primary_address": {
            "lines": ["Level 3", "123 George Street"],
            "city": "Sydney",
            "zone": "NSW",
            "postal_code": "2000",
            "country": "AU",
        },
        "shipping_address": None,
        "accepts_marketing": True,
        "points": 1250,
        "created_at": "2024-02-14T10:30:00+11:00",
        "updated_at": "2025-08-01T16:45:12+10:00",
    },
    {
        "id": 389428,
        "first_name": "Morgan",
        "last_name": "Nguyen",
        "email": "morgan.nguyen@bigpond.com",
        "phone": "03 9654 1200",
        "mobile": "0423456789",
        "reference_id": "ABC123",
        "tags": ["wholesale"],
        "image": None,
        "primary_address": {
            "lines": ["45 Chapel Street"],
            "city": "Melbourne",
            "zone": "VIC",
            "postal_code": "3181",
            "country": "AU",
        },
        "shipping_address": {
            "lines": ["Warehouse 2", "9 Dock Road"],
            "city": "Port Melbourne",
            "zone": "VIC",
            "postal_code": "3207",
            "country": "AU",
        },
        "accepts_marketing": False,
        "points": 80,
        "created_at": "2024-06-03T09:05:41+10:00",
        "updated_at": "2026-01-20T11:00:00+11:00",
    },
)

#: Generated ids count up from here (gaps of 1-3); the examples' ids are skipped.
FIRST_ID: Final = 389_000

_FIRST_NAMES: Final = (
    "Olivia", "Charlotte", "Amelia", "Isla", "Mia", "Ava", "Grace", "Matilda", "Chloe",
    "Zoe", "Ruby", "Sienna", "Harper", "Evie", "Jack", "Oliver", "William", "Noah",
    "Thomas", "Lachlan", "Cooper", "Hudson", "Archie", "Harrison", "Liam", "Mason",
    "Riley", "Kai", "Jarrah", "Sione", "Priya", "Wei", "Mei", "Arjun", "Aisha", "Hamish",
    "Bronte", "Tahlia", "Bailey", "Darcy",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Johnson", "White",
    "Martin", "Anderson", "Thompson", "Nguyen", "Thomas", "Walker", "Harris", "Lee",
    "Ryan", "Robinson", "Kelly", "King", "Davis", "Wright", "Evans", "Roberts", "Green",
    "Hall", "Wood", "Jackson", "Clarke", "Patel", "Khan", "Tran", "Murphy", "O'Brien",
    "Campbell", "Stewart", "Papadopoulos", "Russo", "Chen", "Singh",
)  # fmt: skip
_EMAIL_DOMAINS: Final = (
    "bigpond.com", "gmail.com", "outlook.com.au", "optusnet.com.au", "icloud.com",
    "yahoo.com.au", "iinet.net.au", "tpg.com.au",
)  # fmt: skip
#: (city, state/territory, postcode prefix, landline area code)
_CITIES: Final = (
    ("Sydney", "NSW", "20", "02"),
    ("Newcastle", "NSW", "23", "02"),
    ("Wollongong", "NSW", "25", "02"),
    ("Melbourne", "VIC", "30", "03"),
    ("Geelong", "VIC", "32", "03"),
    ("Brisbane", "QLD", "40", "07"),
    ("Gold Coast", "QLD", "42", "07"),
    ("Perth", "WA", "60", "08"),
    ("Adelaide", "SA", "50", "08"),
    ("Hobart", "TAS", "70", "03"),
    ("Canberra", "ACT", "26", "02"),
    ("Darwin", "NT", "08", "08"),
)
_STREETS: Final = (
    "George Street", "Pitt Street", "King Street", "Chapel Street", "Smith Street",
    "Beach Road", "Oxford Street", "Crown Street", "Brunswick Street", "Victoria Road",
    "Pacific Highway", "Hay Street", "Rundle Street", "Elizabeth Street", "Queen Street",
)  # fmt: skip
_TAGS: Final = ("vip", "wholesale", "newsletter", "corporate", "regular", "staff", "loyalty")

_START: Final = dt.date(2024, 1, 1).toordinal()
_CREATED_DAYS: Final = dt.date(2025, 12, 31).toordinal() - _START
_LAST_UPDATE: Final = dt.date(2026, 6, 30).toordinal()


def aest_stamp(when: dt.datetime) -> str:
    """``when`` (naive, Sydney wall time) as ISO 8601 with the offset of its season.

    Daylight saving is approximated by month (October to March), which is
    close enough for plausible-looking data.
    """
    hours = 11 if when.month >= 10 or when.month <= 3 else 10
    tz = dt.timezone(dt.timedelta(hours=hours))
    return when.replace(tzinfo=tz).isoformat(timespec="seconds")


def _stamp(rng: random.Random, day: int) -> tuple[int, str]:
    seconds = rng.randrange(7 * 3600, 21 * 3600)  # trading hours
    when = dt.datetime.fromordinal(day) + dt.timedelta(seconds=seconds)
    return day, aest_stamp(when)


def _address(rng: random.Random) -> dict[str, Any]:
    city, zone, prefix, _ = rng.choice(_CITIES)
    lines = [f"{rng.randint(1, 250)} {rng.choice(_STREETS)}"]
    if rng.random() < 0.25:
        lines.insert(0, f"Unit {rng.randint(1, 40)}")
    return {
        "lines": lines,
        "city": city,
        "zone": zone,
        "postal_code": f"{prefix}{rng.randint(0, 99):02d}",
        "country": "AU",
    }


def generate_customers(seed: int, count: int, company_id: int) -> list[dict[str, Any]]:
    """``count`` full customer records (wire dicts, sorted by id), examples first.

    Emails and mobiles are unique; about a third of the customers carry a
    ``CRM-nnnnnn`` reference id, the rest ``""`` (unset, as Kounta sends it).
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"customers must be a non-negative integer, got {count!r}")
    rng = random.Random(seed)  # noqa: S311 - test data, no secret
    records = [{**example, "company_id": company_id} for example in EXAMPLE_CUSTOMERS[:count]]
    taken_ids = {r["id"] for r in records}
    emails = {r["email"] for r in records}
    mobiles = {r["mobile"] for r in records}
    next_id = FIRST_ID
    for _ in range(count - len(records)):
        next_id += rng.randint(1, 3)
        while next_id in taken_ids:
            next_id += 1
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        local = f"{first}.{last}".lower().replace("'", "")
        email = f"{local}@{rng.choice(_EMAIL_DOMAINS)}"
        serial = 2
        while email in emails:
            email = f"{local}{serial}@{rng.choice(_EMAIL_DOMAINS)}"
            serial += 1
        mobile = f"04{rng.randrange(10**8):08d}"
        while mobile in mobiles:
            mobile = f"04{rng.randrange(10**8):08d}"
        emails.add(email)
        mobiles.add(mobile)
        address = _address(rng)
        area = next(c[3] for c in _CITIES if c[0] == address["city"])
        created_day, created = _stamp(rng, _START + rng.randrange(_CREATED_DAYS))
        _, updated = _stamp(rng, rng.randint(created_day + 1, _LAST_UPDATE))
        records.append(
            {
                "id": next_id,
                "company_id": company_id,
                "first_name": first,
                "last_name": last,
                "email": email,
                "phone": (
                    f"{area} {rng.randrange(10**4):04d} {rng.randrange(10**4):04d}"
                    if rng.random() < 0.6
                    else ""
                ),
                "mobile": mobile,
                "reference_id": f"CRM-{next_id - FIRST_ID:06d}" if rng.random() < 0.35 else "",
                "tags": sorted(rng.sample(_TAGS, rng.choice((0, 0, 1, 1, 2, 3)))),
                "image": (
                    f"https://images.example.com.au/customers/{next_id}.jpg"
                    if rng.random() < 0.1
                    else None
                ),
                "primary_address": address,
                "shipping_address": _address(rng) if rng.random() < 0.3 else None,
                "accepts_marketing": rng.random() < 0.55,
                "points": rng.randrange(0, 5000),
                "created_at": created,
                "updated_at": updated,
            }
        )
    records.sort(key=lambda r: int(r["id"]))
    return records
