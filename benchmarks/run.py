"""The entry point: ``python -m benchmarks [--quick] [--only NAME,...] [--rounds N] [--markdown]``.

Runs the comparisons in order and prints one table: the median of the rounds,
their range, the ratio of medians against the comparison's baseline, the
same with the garbage collector paused where it applies, and the issue's
target quoted (never judged: a missed target is a finding, not a failure).
The exit status is non-zero only when a comparison crashed. The servers run
on a core of their own (``--shared-cores`` lets them share the client's; see
``_harness.split_cores``).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from types import ModuleType

from . import _harness, flat, limiter, memory, nested, small, windows
from ._harness import Row, Skipped, median

#: Comparisons in the order they run (and the names ``--only`` takes).
COMPARISONS: dict[str, ModuleType] = {
    module.NAME: module for module in (small, flat, nested, limiter, windows, memory)
}

HEADERS = (
    "comparison",
    "contender",
    "median",
    "min–max",
    "unit",
    "vs baseline",
    "GC paused",
    "paused vs baseline",
    "target",
    "note",
)


def _number(value: float) -> str:
    if abs(value) >= 1_000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def _cells(row: Row, baseline: Row | None) -> tuple[str, ...]:
    if not row.samples:
        return (row.comparison, row.contender, "–", "–", row.unit, "", "", "", row.target, row.note)
    mid = median(row.samples)
    spread = f"{_number(min(row.samples))}–{_number(max(row.samples))}"
    ratio = paused = paused_ratio = ""
    if baseline is not None and median(baseline.samples or [0.0]) > 0 and not row.plain:
        ratio = "1.00 (baseline)" if row is baseline else f"{mid / median(baseline.samples):.2f}"
    if row.paused:
        paused = _number(median(row.paused))
        if baseline is not None and baseline.paused and median(baseline.paused) > 0:
            base = median(baseline.paused)
            paused_ratio = "1.00" if row is baseline else f"{median(row.paused) / base:.2f}"
    return (
        row.comparison, row.contender, _number(mid), spread, row.unit,
        ratio, paused, paused_ratio, row.target, row.note,
    )  # fmt: skip


def table(rows: Sequence[Row], markdown: bool) -> str:
    """The rows as an aligned text table, or as Markdown."""
    baselines = {row.comparison: row for row in rows if row.baseline}
    lines = [_cells(row, baselines.get(row.comparison)) for row in rows]
    if markdown:
        out = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |"
                for line in lines]  # fmt: skip
        return "\n".join(out)
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(HEADERS)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    return "\n".join([fmt(HEADERS), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="small counts and 2 rounds (a CI smoke run)"
    )
    parser.add_argument(
        "--only", metavar="NAME[,NAME]", help=f"run only these: {', '.join(COMPARISONS)}"
    )
    parser.add_argument("--rounds", type=int, help="rounds per comparison (default 5, quick 2)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--shared-cores",
        action="store_true",
        help="let the servers run on the client's core too (the tables before 2026-12-04)",
    )
    args = parser.parse_args(argv)
    names = list(COMPARISONS) if not args.only else [n.strip() for n in args.only.split(",")]
    unknown = [n for n in names if n not in COMPARISONS]
    if unknown:
        parser.error(f"unknown comparison(s) {', '.join(unknown)}; known: {', '.join(COMPARISONS)}")
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.names = names
    args.rounds = args.rounds or (2 if args.quick else 5)
    return args


def main(argv: Sequence[str] | None = None, *, log: Callable[[str], None] | None = None) -> int:
    """Run the chosen comparisons, print the table; 1 if any comparison crashed."""
    args = _parse(argv)
    _harness.PIN_CORES = not args.shared_cores
    _harness.CORES_NOTE.clear()
    say = log or (lambda text: print(text, file=sys.stderr, flush=True))
    rows: list[Row] = []
    crashed = False
    began = time.perf_counter()
    for name in args.names:
        say(f"running {name} ({args.rounds} rounds{', quick' if args.quick else ''}) ...")
        started = time.perf_counter()
        try:
            rows += COMPARISONS[name].run(args.rounds, args.quick)
        except Skipped as skipped:
            rows.append(Row(name, "–", "", note=str(skipped)))
        except Exception:
            crashed = True
            say(traceback.format_exc())
            rows.append(Row(name, "–", "", note="CRASHED (traceback on stderr)"))
        say(f"  {name} took {time.perf_counter() - started:.1f} s")
    print(table(rows, args.markdown))
    print(
        f"\n{args.rounds} rounds, {'quick' if args.quick else 'full'}, "
        f"{time.perf_counter() - began:.0f} s in all; Python {platform.python_version()}"
        + "".join(f"; {note}" for note in _harness.CORES_NOTE)
    )
    return 1 if crashed else 0
