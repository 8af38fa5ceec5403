"""The structuring comparisons (``flat``, ``nested``): bytes on the wire to typed objects.

Every contender gets the same bytes. Each sample times ``calls`` calls in a
row; the objects of one call are dropped before the next, outside the clock.
Samples are taken twice: with the garbage collector running (what users run)
and with it paused around the timed calls, because pydantic's rates swing
with the collector (it triggers full collections on large nested results).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from ._harness import INSTALL_HINT, Row, interleave, optional, require


def _rate(parse: Callable[[], Any], records: int, calls: int, paused: bool) -> float:
    """Records per second over ``calls`` calls of ``parse``."""
    total = 0.0
    for _ in range(calls):
        if paused:
            gc.disable()
        try:
            start = time.perf_counter()
            result = parse()
            # A container allocated inside the clock runs the young collection a
            # contender left due (ours pauses the collector while it builds the
            # models): the work it put off is timed with it, not after.
            held = [result]
            total += time.perf_counter() - start
        finally:
            if paused:
                gc.enable()
        assert len(result) == records, (len(result), records)
        del result, held
    return records * calls / total


def compare(
    name: str,
    body: bytes,
    records: int,
    model: type[Any],
    *,
    pick: int,
    unit: str,
    target: str,
    rounds: int,
    quick: bool,
    note: str,
) -> list[Row]:
    """Run ours, pydantic (baseline), msgspec (floor) and orjson dicts on ``body``.

    Ours is ``Decoder.structure(decode_json(body), list[model])`` under
    ``gc_paused(len(body))``, the composition of the client's own path (which
    checks the envelope in between). ``pick`` chooses the flat (0) or nested (1) model of the
    reference builders.
    """
    import orjson

    from komet_async import Decoder
    from komet_async._gc import gc_paused
    from komet_async._sansio import decode_json

    from ._models import msgspec_decoders, pydantic_models

    require("pydantic")
    adapter = pydantic_models()[pick]
    ours = Decoder()
    calls = 2 if quick else 5
    size = len(body)

    def ours_path() -> Any:
        with gc_paused(size):
            return ours.structure(decode_json(body), list[model])  # type: ignore[valid-type]

    contenders: dict[str, Callable[[], Any]] = {
        "pydantic TypeAdapter.validate_json": lambda: adapter.validate_json(body),
        "ours: decode_json + Decoder.structure": ours_path,
    }
    have_msgspec = optional("msgspec") is not None
    if have_msgspec:
        decoder = msgspec_decoders()[pick]
        contenders["msgspec json.Decoder (floor)"] = lambda: decoder.decode(body)
    contenders["orjson.loads dicts (reference)"] = lambda: orjson.loads(body)

    # A first call of each outside the clock: generated structure functions,
    # pydantic's and msgspec's schema caches.
    for parse in contenders.values():
        assert len(parse()) == records

    def timed(parse: Callable[[], Any], paused: bool) -> Callable[[], float]:
        return lambda: _rate(parse, records, calls, paused)

    with_gc = interleave({k: timed(v, False) for k, v in contenders.items()}, rounds)
    without_gc = interleave({k: timed(v, True) for k, v in contenders.items()}, rounds)
    rows = []
    for contender in contenders:
        rows.append(
            Row(
                name,
                contender,
                unit,
                with_gc[contender],
                baseline=contender.startswith("pydantic"),
                paused=without_gc[contender],
                target=target if contender.startswith("ours") else "",
                note=note if contender.startswith("pydantic") else "",
            )
        )
    if not have_msgspec:
        rows.append(Row(name, "msgspec json.Decoder (floor)", unit, note=INSTALL_HINT))
    return rows
