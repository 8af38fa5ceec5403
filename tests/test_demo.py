"""`komet-async demo` end to end, its verdict logic, and `komet-async sandbox` as a real process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from komet_async import Customer, KometClient
from komet_async.cli import main
from komet_async.cli.sandbox_commands import ResourceResult


def test_demo_runs_end_to_end_and_loses_nothing() -> None:
    """The default demo pulls everything through injected faults and exits 0 with exact counts."""
    result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
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
