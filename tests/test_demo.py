"""`komet-async demo` end to end, its verdict logic, and `komet-async sandbox` as a real process."""

from __future__ import annotations

import asyncio
import errno
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from komet_async import Customer, KometClient
from komet_async.cli import main, sandbox_commands
from komet_async.cli.sandbox_commands import (
    DEMO_OPENING_BURST,
    DEMO_THROTTLE_PER_SECOND,
    DemoReport,
    ResourceResult,
    demo_fault_plan,
    run_demo,
)

from .conftest import TOKEN

#: What issue 3 asks of the demo on a 2-core machine.
DEMO_TIME_LIMIT = 30.0


def invoke(*args: str) -> Result:
    """Run the command line with the recognisable token in the environment."""
    return CliRunner().invoke(main, list(args), env={"KOMET_TOKEN": TOKEN}, catch_exceptions=False)


def assert_no_token(result: Result) -> None:
    assert TOKEN not in result.stdout
    assert TOKEN not in result.stderr


def test_demo_runs_end_to_end_and_loses_nothing() -> None:
    """The default demo pulls everything through faults and 429 bursts, exact, in under 30 s."""
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    took = time.perf_counter() - started
    assert result.exit_code == 0, result.stderr
    assert took < DEMO_TIME_LIMIT, f"the demo took {took:.1f} s"
    rows = {
        line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
        for line in result.stdout.splitlines()
        if line.startswith("│")
    }
    assert rows == {
        "customers": ["10,000", "10,000", "0", "0", "0", "yes"],
        "products": ["5,000", "5,000", "0", "0", "0", "yes"],
        "standing orders 2025": ["960", "960", "0", "0", "0", "yes"],
        "customer lookups": ["200", "200", "0", "0", "0", "yes"],
    }
    retries = re.search(r"retries\s+(\d+)", result.stdout)
    assert retries is not None
    assert int(retries.group(1)) > 0, "the demo's faults were ridden out by retries"
    assert "failures          0" in result.stdout
    # The summary wraps long lines: read it with whitespace runs as single spaces.
    summary = " ".join(result.stdout.split())
    elapsed = re.search(r"elapsed (\d+\.\d\d) s", summary)
    assert elapsed is not None
    assert float(elapsed.group(1)) < DEMO_TIME_LIMIT
    faults = dict(re.findall(r"(\w+) (\d+)(?=,| elapsed)", summary.split("faults injected ")[1]))
    assert int(faults["429_seconds"]) >= DEMO_OPENING_BURST, faults
    assert int(faults["throttled"]) >= 1, faults


def test_demo_fault_plan_opens_with_a_429_burst() -> None:
    """The demo's first wave of requests (8, the client's concurrency) is refused together."""
    plan = demo_fault_plan(seed=7, fault_rate=0.1)
    assert plan is not None
    for method in ("customer.list", "product.list", "standing.order.list"):
        assert [plan.decide(seq, method) for seq in range(DEMO_OPENING_BURST)] == (
            ["429_seconds"] * DEMO_OPENING_BURST
        )
    later = [plan.decide(seq, "customer.list") for seq in range(DEMO_OPENING_BURST, 2000)]
    assert 0.05 < sum(kind is not None for kind in later) / len(later) < 0.15
    assert "html" not in later
    assert "slow" not in later


def test_demo_without_faults_has_no_burst_either() -> None:
    """--fault-rate 0 means no faults at all, the opening burst included."""
    assert demo_fault_plan(seed=7, fault_rate=0.0) is None


async def test_small_demo_rides_out_the_bursts_and_the_throttle() -> None:
    """A small demo meets the opening burst and the throttle, retries each refusal once, exact."""
    report = await run_demo(
        customers=300,
        products=100,
        standing_orders=60,
        lookups=150,
        fault_rate=0.01,  # few random faults: the 429s here are the bursts'
        console=Console(file=io.StringIO()),
    )
    assert report.ok, report
    assert report.failures == 0
    assert report.faults["429_seconds"] >= DEMO_OPENING_BURST
    assert report.faults["throttled"] >= 1
    assert report.retries == sum(report.faults.values())


async def test_demo_throttle_can_be_turned_off() -> None:
    """throttle_per_second=None and fault_rate=0 give a clean run: no fault of any kind."""
    report = await run_demo(
        customers=50,
        products=20,
        standing_orders=10,
        lookups=20,
        fault_rate=0.0,
        throttle_per_second=None,
        console=Console(file=io.StringIO()),
    )
    assert report.ok
    assert report.faults == {}
    assert report.retries == 0


def test_demo_throttle_option_defaults_to_the_demo_rate() -> None:
    """`demo --help` documents --throttle with its default."""
    result = invoke("demo", "--help")
    assert result.exit_code == 0
    assert re.search(
        rf"--throttle INTEGER RANGE\s+.*\[default: {DEMO_THROTTLE_PER_SECOND};",
        " ".join(result.stdout.split()),
    )


def _customer(i: int) -> Customer:
    return Customer(id=i, name=f"c{i}")


@pytest.mark.parametrize(
    ("fetched", "expected", "verdict"),
    [
        ([1, 2, 3], [1, 2, 3], (3, 0, 0, 0, True)),
        ([1, 2], [1, 2, 3], (2, 1, 0, 0, False)),
        ([1, 2, 2, 3], [1, 2, 3], (4, 0, 1, 0, False)),
        ([1, 2, 3, 4], [1, 2, 3], (4, 0, 0, 1, False)),
    ],
)
def test_resource_result_compares_whole_records(
    fetched: list[int], expected: list[int], verdict: tuple[int, int, int, int, bool]
) -> None:
    """A loss, a duplicate or a record the sandbox does not hold each fail the verdict."""
    result = ResourceResult.compare(
        "customers", [_customer(i) for i in fetched], [_customer(i) for i in expected]
    )
    assert (result.fetched, result.missing, result.duplicates, result.unexpected, result.ok) == (
        verdict
    )


def test_a_changed_record_is_missing_and_extra() -> None:
    """A record that differs in any field counts as missing and extra, not as fetched."""
    result = ResourceResult.compare(
        "customers", [Customer(id=1, name="old")], [Customer(id=1, name="new")]
    )
    assert (result.missing, result.unexpected, result.ok) == (1, 1, False)


async def test_sandbox_command_serves_until_interrupted() -> None:
    """`komet-async sandbox` prints a base URL and token that work, and stops on Ctrl-C."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "komet_async", "sandbox", "--port", "0", "--customers", "20",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        second = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        url = re.fullmatch(r"Komet sandbox listening on (http://127\.0\.0\.1:\d+/api)\n", first)
        token = re.fullmatch(r"token: (\S+)\n", second)
        assert url is not None, first
        assert token is not None, second
        async with KometClient(token.group(1), base_url=url.group(1)) as komet:
            customers = await komet.customers.list(include_inactive=True)
        assert len(customers) == 20
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    assert err.decode().strip().endswith("stopped")


# --- demo and sandbox failures: one line, exit code 1, a traceback only with --debug ------


def _lost_report() -> DemoReport:
    lost = ResourceResult("customers", fetched=1, expected=2, duplicates=0, missing=1, unexpected=0)
    return DemoReport(
        resources=(lost,),
        requests=3,
        retries=0,
        rate_limit_waits=0,
        failures=0,
        faults={},
        elapsed=0.5,
    )


@pytest.fixture
def demo_raises(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Make the demo's run raise the exception put in the yielded list."""
    planted: list[BaseException] = []

    async def fake_run_demo(**_: Any) -> DemoReport:
        raise planted[0]

    monkeypatch.setattr(sandbox_commands, "run_demo", fake_run_demo)
    return planted


def test_demo_that_loses_records_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """A demo run that lost a record prints its table, then one error line, and exits 1."""

    async def fake_run_demo(**_: Any) -> DemoReport:
        return _lost_report()

    monkeypatch.setattr(sandbox_commands, "run_demo", fake_run_demo)
    result = invoke("demo")
    assert result.exit_code == 1
    assert "│ customers │       1 │        2 │       1 │     0 │     0 │    NO │" in result.stdout
    assert result.stderr.splitlines()[-1] == "error: records were lost or duplicated"
    assert "Traceback" not in result.stderr


def test_demo_os_error_is_one_line(demo_raises: list[BaseException]) -> None:
    """An OSError in the demo is its reason in words, exit 1, and no traceback."""
    demo_raises.append(OSError(errno.EMFILE, "Too many open files"))
    result = invoke("demo")
    assert result.exit_code == 1
    *progress, last = result.stderr.splitlines()
    assert last == "error: Too many open files"
    assert " ".join(progress).startswith("Starting a local Komet sandbox")  # its progress
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert_no_token(result)


def test_demo_unexpected_error_is_one_line_naming_its_type(
    demo_raises: list[BaseException],
) -> None:
    """A bug in the demo is one line naming the exception type, exit 1."""
    demo_raises.append(LookupError(f"no such record {TOKEN}"))
    result = invoke("demo")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: unexpected LookupError: no such record *** (--debug shows the traceback)"
    )
    assert "Traceback" not in result.stderr
    assert_no_token(result)


def test_demo_debug_prints_the_traceback(demo_raises: list[BaseException]) -> None:
    """demo --debug prints the redacted traceback before the one line."""
    demo_raises.append(LookupError(f"no such record {TOKEN}"))
    result = invoke("demo", "--debug")
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "in fake_run_demo" in result.stderr
    assert result.stderr.splitlines()[-1] == "error: unexpected LookupError: no such record ***"
    assert_no_token(result)


def test_demo_ctrl_c_is_exit_130(demo_raises: list[BaseException]) -> None:
    """Ctrl-C during the demo is one line and exit code 130."""
    demo_raises.append(KeyboardInterrupt())
    result = invoke("demo")
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == "error: interrupted"


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port something else is listening on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_sandbox_on_a_port_in_use_is_one_line(busy_port: int) -> None:
    """`sandbox --port <in use>` says so in one line, exits 1, and prints no traceback."""
    result = invoke("sandbox", "--port", str(busy_port), "--customers", "5")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot serve on 127.0.0.1:{busy_port}: address already in use "
        "(choose another --port, or --port 0 for a free one)\n"
    )
    assert result.stdout == ""
    assert_no_token(result)


def test_sandbox_on_a_port_in_use_with_debug_shows_the_traceback(busy_port: int) -> None:
    """`sandbox --debug` adds the traceback, the OSError's included, before the one line."""
    result = invoke("sandbox", "--port", str(busy_port), "--customers", "5", "--debug")
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last)")
    assert f"OSError: [Errno {errno.EADDRINUSE}]" in result.stderr
    assert "The above exception was the direct cause" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: cannot serve on 127.0.0.1:{busy_port}: address already in use "
        "(choose another --port, or --port 0 for a free one)"
    )
    assert result.stdout == ""
    assert_no_token(result)
