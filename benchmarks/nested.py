"""``nested``: standing orders with details, breakdowns and custom fields.

The issue's target 3: at least 1.5x pydantic v2 ``TypeAdapter.validate_json``.
"""

from __future__ import annotations

from ._harness import Row
from ._structuring import compare

NAME = "nested"
TARGET = "ours/pydantic >= 1.5"


def run(rounds: int, quick: bool) -> list[Row]:
    """Standing orders per second, garbage collector on and paused."""
    import orjson

    from komet_async import StandingOrder
    from komet_async.sandbox import KometSandbox

    count = 300 if quick else 1_000
    sandbox = KometSandbox(seed=12, customers=50, products=300, standing_orders=count)
    wires = [r.wire for r in sandbox.data.standing_order_records.values()]
    body = orjson.dumps(wires)
    objects = sum(
        1 + sum(1 + len(d["breakdowns"]) + len(d["customField"]) for d in w["details"])
        for w in wires
    )
    return compare(
        NAME,
        body,
        count,
        StandingOrder,
        pick=1,
        unit="orders/s",
        target=TARGET,
        rounds=rounds,
        quick=quick,
        note=f"{count:,} orders, {objects / count:.0f} objects each, {len(body) / 1e6:.1f} MB",
    )
