"""A whole pull through a 20% mixed fault plan returns exactly the sandbox's records."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

from komet_async import KometClient, RetryPolicy, StandingOrder
from komet_async.sandbox import FaultPlan, KometSandbox

# Many attempts with tiny waits: a call fails only if ten attempts in a row are
# faulted (0.2 ** 10), so the test cannot flake on the order requests arrive in.
PATIENT = RetryPolicy(attempts=10, wait_initial=0.01, wait_max=0.05)


def months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    windows = []
    while start <= end:
        nxt = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        windows.append((start, min(end, nxt - dt.timedelta(days=1))))
        start = nxt
    return windows


async def test_bulk_pull_survives_mixed_faults() -> None:
    """Everything pulled through 20% mixed faults: no record lost, none doubled."""
    # Every kind but html (not retried by design); slow answers outlast the timeout.
    plan = FaultPlan(rate=0.2, seed=7, slow_delay=1.0)
    async with (
        KometSandbox(seed=7, customers=400, products=250, standing_orders=150, faults=plan) as box,
        KometClient(box.token, base_url=box.base_url, retry=PATIENT, timeout=0.4) as komet,
    ):
        span = box.data.date_span
        windows = months(*span)
        locations = [loc.id for loc in box.data.locations]
        names = ["flor", "bloom", "events", "market", "hotel"]

        everyone, products, by_location, by_name, monthly = await asyncio.gather(
            komet.customers.list(include_inactive=True),
            komet.products.list(),
            asyncio.gather(
                *(komet.customers.list(location_id=i, include_inactive=True) for i in locations)
            ),
            asyncio.gather(*(komet.customers.list(name=n) for n in names)),
            asyncio.gather(
                *(
                    komet.standing_orders.list(date_from=a, date_to=b, status="All")
                    for a, b in windows
                )
            ),
        )
        faults = box.stats.total_faults

    customers = box.data.customers
    assert everyone == customers
    assert products == box.data.products
    # The locations partition the customers: each exactly once.
    merged = [c for part in by_location for c in part]
    assert Counter(c.id for c in merged) == Counter(c.id for c in customers)
    assert sorted(merged, key=lambda c: c.id) == customers
    for name, named in zip(names, by_name, strict=True):
        assert named == [c for c in customers if c.active and name in c.name.lower()]
    seen: dict[int, StandingOrder] = {}
    for (a, b), found in zip(windows, monthly, strict=True):
        assert len({o.id for o in found}) == len(found)
        for order in found:
            assert order.start_date is not None
            assert order.end_date is not None
            assert order.start_date <= b
            assert order.end_date >= a
            # An order spanning several months comes back identical from each.
            assert seen.setdefault(order.id, order) == order
    assert sorted(seen.values(), key=lambda o: o.id) == box.data.standing_orders
    assert faults >= 5
    assert "html" not in box.stats.faults
