"""``komet-async demo`` and ``komet-async sandbox``: the bundled fake Komet server at work."""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import errno
import sys
import time
from collections.abc import Callable
from typing import Any, Final

import attrs
import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .._retry import RetryPolicy
from ..client import KometClient
from ..models import Customer, Product, StandingOrder
from ..sandbox import FaultPlan, KometSandbox
from ..sandbox.faults import RATE_LIMITED_SECONDS
from ._errors import CommandError, debug_option, describe_os_error

__all__ = ["DemoReport", "demo", "demo_fault_plan", "run_demo", "sandbox"]

#: Faults the demo injects: everything a well-behaved client should ride out.
#: (``html`` bodies are not retried by design, and ``slow`` answers only
#: matter with a short timeout, so the demo leaves those two out.)
DEMO_FAULT_WEIGHTS: Final = {
    "http_500": 1.0,
    "http_502": 1.0,
    "http_503": 2.0,
    "http_504": 1.0,
    "429_seconds": 2.0,
    "429_date": 1.0,
    "429_none": 1.0,
    "reset": 1.0,
    "cutoff": 1.0,
}
#: The demo's retry policy: patient (many attempts) but quick (short backoff).
DEMO_RETRY: Final = RetryPolicy(attempts=8, wait_initial=0.05, wait_max=1.0, max_retry_after=10)
#: The random faults above are independent draws, so their 429s come one at a
#: time, where a real server refuses many requests together. So the demo's
#: sandbox also opens with a 429 burst: its first ``DEMO_OPENING_BURST``
#: requests (the client's whole first wave, at its default concurrency of 8)
#: all get 429 with ``Retry-After: 1``.
DEMO_OPENING_BURST: Final = 8
#: And it throttles: past this many requests in a rolling second it refuses
#: every request until the window rolls, so the requests a client releases
#: together after a cool-down come back 429 together.
DEMO_THROTTLE_PER_SECOND: Final = 40


@attrs.frozen
class ResourceResult:
    """What the demo fetched for one resource, compared record by record with the sandbox."""

    name: str
    fetched: int
    expected: int
    duplicates: int
    missing: int
    unexpected: int

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing twice, nothing that the sandbox does not hold."""
        return self.duplicates == 0 and self.missing == 0 and self.unexpected == 0

    @classmethod
    def compare(cls, name: str, fetched: list[Any], expected: list[Any]) -> ResourceResult:
        """Compare whole records (frozen models are hashable), not only counts."""
        got, want = set(fetched), set(expected)
        return cls(
            name,
            fetched=len(fetched),
            expected=len(want),
            duplicates=len(fetched) - len(got),
            missing=len(want - got),
            unexpected=len(got - want),
        )


@attrs.frozen
class DemoReport:
    """The demo's outcome: per-resource counts and the client's and server's counters."""

    resources: tuple[ResourceResult, ...]
    requests: int
    retries: int
    rate_limit_waits: int
    failures: int
    faults: dict[str, int]
    elapsed: float

    @property
    def ok(self) -> bool:
        """Whether every resource came back complete."""
        return all(r.ok for r in self.resources)

    @property
    def records(self) -> int:
        """Records fetched in all."""
        return sum(r.fetched for r in self.resources)


def demo_fault_plan(*, seed: int, fault_rate: float) -> FaultPlan | None:
    """The demo's faults: ``fault_rate`` of :data:`DEMO_FAULT_WEIGHTS` after an opening 429 burst.

    ``None`` (no faults at all, not even the burst) when ``fault_rate`` is 0.
    """
    if not fault_rate:
        return None
    return FaultPlan(
        rate=fault_rate,
        seed=seed,
        weights=DEMO_FAULT_WEIGHTS,
        first_n=DEMO_OPENING_BURST,
        first_n_kind=RATE_LIMITED_SECONDS,
    )


def _months(year: int) -> list[tuple[dt.date, dt.date]]:
    return [
        (dt.date(year, m, 1), dt.date(year, m, calendar.monthrange(year, m)[1]))
        for m in range(1, 13)
    ]


async def run_demo(
    *,
    seed: int = 7,
    customers: int = 10_000,
    products: int = 5_000,
    standing_orders: int = 2_000,
    fault_rate: float = 0.1,
    latency: float = 0.005,
    throttle_per_second: int | None = DEMO_THROTTLE_PER_SECOND,
    year: int = 2025,
    lookups: int = 200,
    console: Console | None = None,
) -> DemoReport:
    """Start a sandbox, pull every customer, product and a year of standing orders, and check.

    Besides the bulk pulls, ``lookups`` customers are refreshed one by one by
    id, as a sync that updates single records does: many small concurrent
    requests, which is where faults, 429 bursts and cool-downs show. The
    sandbox's faults are :func:`demo_fault_plan`'s; ``throttle_per_second``
    (``None`` for none) is its rate limit.
    """
    console = console or Console(stderr=True)
    plan = demo_fault_plan(seed=seed, fault_rate=fault_rate)
    started = time.perf_counter()
    windows = _months(year)
    async with KometSandbox(
        seed=seed,
        customers=customers,
        products=products,
        standing_orders=standing_orders,
        faults=plan,
        latency=latency,
        throttle_per_second=throttle_per_second,
    ) as box:
        async with KometClient(box.token, base_url=box.base_url, retry=DEMO_RETRY) as komet:
            progress = Progress(
                TextColumn("{task.description:<16}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[records]:>6} records"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
            with progress:
                c_task = progress.add_task("customers", total=1, records=0)
                p_task = progress.add_task("products", total=1, records=0)
                s_task = progress.add_task(f"standing orders {year}", total=len(windows), records=0)
                sample = box.data.customers[:: max(1, len(box.data.customers) // lookups)][:lookups]
                l_task = progress.add_task("customer lookups", total=len(sample), records=0)
                looked_up: list[Customer] = []

                async def look_up(customer_id: int) -> None:
                    looked_up.extend(
                        await komet.customers.list(id=customer_id, include_inactive=True)
                    )
                    progress.update(l_task, advance=1, records=len(looked_up))

                async def pull_customers() -> list[Customer]:
                    found = await komet.customers.list(include_inactive=True)
                    progress.update(c_task, advance=1, records=len(found))
                    return found

                async def pull_products() -> list[Product]:
                    found = await komet.products.list()
                    progress.update(p_task, advance=1, records=len(found))
                    return found

                seen: dict[int, StandingOrder] = {}

                async def pull_window(start: dt.date, stop: dt.date) -> None:
                    orders = await komet.standing_orders.list(
                        date_from=start, date_to=stop, status="All"
                    )
                    # An order spanning several months comes back from each of them.
                    seen.update((o.id, o) for o in orders)
                    progress.update(s_task, advance=1, records=len(seen))

                async def pull_windows() -> None:
                    await asyncio.gather(
                        *(pull_window(a, b) for a, b in windows),
                        *(look_up(c.id) for c in sample),
                    )

                got_customers, got_products, _ = await asyncio.gather(
                    pull_customers(), pull_products(), pull_windows()
                )
            stats = komet.stats
        span_start, span_end = windows[0][0], windows[-1][1]
        expected_orders = [
            o
            for o in box.data.standing_orders
            if o.start_date is not None
            and o.end_date is not None
            and o.start_date <= span_end
            and o.end_date >= span_start
        ]
        resources = (
            ResourceResult.compare("customers", got_customers, box.data.customers),
            ResourceResult.compare("products", got_products, box.data.products),
            ResourceResult.compare(f"standing orders {year}", list(seen.values()), expected_orders),
            ResourceResult.compare("customer lookups", looked_up, sample),
        )
        faults = dict(box.stats.faults)
    return DemoReport(
        resources=resources,
        requests=stats.requests,
        retries=stats.retries,
        rate_limit_waits=stats.rate_limit_waits,
        failures=stats.failures,
        faults=faults,
        elapsed=time.perf_counter() - started,
    )


def render_report(report: DemoReport, console: Console) -> None:
    """Print the demo's summary tables."""
    table = Table(title="komet-async demo")
    columns = ("resource", "fetched", "expected", "missing", "twice", "extra", "exact")
    for column in columns:
        table.add_column(column, justify="right" if column != "resource" else "left")
    for r in report.resources:
        mark = "[green]yes[/]" if r.ok else "[red]NO[/]"
        counts = (r.fetched, r.expected, r.missing, r.duplicates, r.unexpected)
        table.add_row(r.name, *(f"{n:,}" for n in counts), mark)
    console.print(table)
    totals = Table(show_header=False, box=None)
    faults = ", ".join(f"{k} {v}" for k, v in sorted(report.faults.items())) or "none"
    rate = report.records / report.elapsed if report.elapsed else 0.0
    for label, value in (
        ("requests sent", f"{report.requests:,}"),
        ("retries", f"{report.retries:,}"),
        ("rate-limit waits", f"{report.rate_limit_waits:,}"),
        ("failures", f"{report.failures:,}"),
        ("faults injected", faults),
        ("elapsed", f"{report.elapsed:.2f} s"),
        ("records/s", f"{rate:,.0f}"),
    ):
        totals.add_row(label, value)
    console.print(totals)


@click.command()
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--customers", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--products", type=click.IntRange(min=1), default=5_000, show_default=True)
@click.option("--standing-orders", type=click.IntRange(min=1), default=2_000, show_default=True)
@click.option("--fault-rate", type=click.FloatRange(0.0, 0.5), default=0.1, show_default=True)
@click.option("--latency", type=click.FloatRange(min=0.0), default=0.005, show_default=True)
@click.option(
    "--throttle",
    type=click.IntRange(min=0),
    default=DEMO_THROTTLE_PER_SECOND,
    show_default=True,
    help="Requests the sandbox answers per rolling second; the rest get 429 (0: no limit).",
)
@debug_option
def demo(**kwargs: Any) -> None:
    """Pull everything from a local sandbox with injected faults, and prove nothing was lost."""
    throttle = kwargs.pop("throttle") or None
    console = Console(stderr=True)
    stdout = Console(file=sys.stdout)
    limit = f", {throttle} requests/s" if throttle else ""
    console.print(
        f"Starting a local Komet sandbox ({kwargs['customers']:,} customers, "
        f"{kwargs['products']:,} products, {kwargs['standing_orders']:,} standing orders, "
        f"{kwargs['fault_rate']:.0%} faults{limit})…"
    )
    report = asyncio.run(run_demo(console=console, throttle_per_second=throttle, **kwargs))
    render_report(report, stdout)
    if not report.ok:
        raise CommandError("records were lost or duplicated")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--customers", type=click.IntRange(min=0), default=1_000, show_default=True)
@click.option("--products", type=click.IntRange(min=0), default=500, show_default=True)
@click.option("--standing-orders", type=click.IntRange(min=0), default=200, show_default=True)
@click.option("--fault-rate", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True)
@click.option("--latency", type=click.FloatRange(min=0.0), default=0.0, show_default=True)
@debug_option
def sandbox(**kwargs: Any) -> None:
    """Serve the fake Komet Sales API until Ctrl-C (prints its base URL and token)."""
    host, port = kwargs.pop("host"), kwargs.pop("port")
    fault_rate = kwargs.pop("fault_rate")
    faults = FaultPlan(rate=fault_rate, seed=kwargs["seed"]) if fault_rate else None

    async def serve(announce: Callable[[str], None]) -> None:
        box = KometSandbox(host=host, port=port, faults=faults, **kwargs)
        try:
            await box.start()
        except OSError as exc:
            raise CommandError(_cannot_serve(host, port, exc)) from exc
        async with box:
            announce(f"Komet sandbox listening on {box.base_url}")
            # The sandbox's token is a throwaway test value, printed on purpose.
            announce(f"token: {box.token}")
            announce("Ctrl-C to stop.")
            await asyncio.Event().wait()

    try:
        asyncio.run(serve(lambda line: click.echo(line)))
    except KeyboardInterrupt:
        # Ctrl-C is how this command is meant to end: a clean stop, exit code 0.
        click.echo("stopped", err=True)


def _cannot_serve(host: str, port: int, exc: OSError) -> str:
    """Why the sandbox cannot listen, in one line with what to do about it."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    reason = describe_os_error(exc)
    message = f"cannot serve on {where}: {reason[:1].lower()}{reason[1:]}"
    if exc.errno == errno.EADDRINUSE:
        message += " (choose another --port, or --port 0 for a free one)"
    return message
