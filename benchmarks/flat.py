"""``flat``: 5,000 customers in one response body, bytes to typed objects.

The issue's target 2: at least 1.0x pydantic v2 ``TypeAdapter.validate_json``.
"""

from __future__ import annotations

from ._harness import Row
from ._structuring import compare

NAME = "flat"
TARGET = "ours/pydantic >= 1.0"


def run(rounds: int, quick: bool) -> list[Row]:
    """Customers per second, garbage collector on and paused."""
    import orjson

    from komet_async import Customer
    from komet_async.sandbox import KometSandbox

    count = 5_000
    # Generated like the sandbox's answers (ids as strings, "1"/"0" flags),
    # without starting it: only the bytes are needed.
    sandbox = KometSandbox(seed=11, customers=count, products=1, standing_orders=1)
    body = orjson.dumps([r.wire for r in sandbox.data.customer_records.values()])
    return compare(
        NAME,
        body,
        count,
        Customer,
        pick=0,
        unit="records/s",
        target=TARGET,
        rounds=rounds,
        quick=quick,
        note=f"{count:,} customers, {len(body) / 1e6:.1f} MB",
    )
