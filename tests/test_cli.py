"""The komet-async command line: output formats, exit codes, and no token in any output."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from aioresponses import aioresponses
from click.testing import CliRunner, Result

from komet_async.cli import main
from komet_async.sandbox import KometSandbox
from komet_async.sandbox.data import SandboxData

from .conftest import TOKEN

CUSTOMERS = re.compile(r"^https://api\.kometsales\.com/api/customer\.list\?.*$")
STANDING = re.compile(r"^https://api\.kometsales\.com/api/standing\.order\.list\?.*$")
UPDATE = "https://api.kometsales.com/api/customer.update"
TWO_CUSTOMERS = {
    "status": "1",
    "message": "OK",
    "customers": [
        {
            "id": "25475",
            "name": "2-14 BRIDAL CAKES",
            "code": "T3526",
            "active": "1",
            "salesPersonId": 1819,
            "updatedOn": "2017-08-02T12:15:17",
        },
        {"id": "29775", "name": "Flores, SAS", "active": "0", "customerType": "Retailer"},
    ],
}


def invoke(*args: str, env_token: bool = True) -> Result:
    env = {"KOMET_TOKEN": TOKEN} if env_token else {}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def assert_no_token(result: Result) -> None:
    assert TOKEN not in result.stdout
    assert TOKEN not in result.stderr


def sent_queries(mocked: aioresponses) -> list[str]:
    return [str(url.query_string) for (_, url) in mocked.requests]


def test_customers_list_jsonl(mocked: aioresponses) -> None:
    """jsonl prints one JSON object per record with typed, snake_case values."""
    mocked.get(CUSTOMERS, payload=TWO_CUSTOMERS)
    result = invoke("customers", "list", "--name", "flo", "--include-inactive", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0] == {
        "id": 25475,
        "name": "2-14 BRIDAL CAKES",
        "code": "T3526",
        "accounting_code": None,
        "active": True,
        "sales_person": None,
        "sales_person_id": 1819,
        "customer_type": None,
        "updated_on": "2017-08-02T12:15:17",
    }
    assert [line["id"] for line in lines] == [25475, 29775]
    assert sent_queries(mocked) == [f"authenticationToken={TOKEN}&includeInactive=true&name=flo"]
    assert_no_token(result)


def test_customers_list_defaults_to_jsonl_when_piped(mocked: aioresponses) -> None:
    """Without --format, output that is not a terminal is JSON Lines."""
    mocked.get(CUSTOMERS, payload=TWO_CUSTOMERS)
    result = invoke("customers", "list")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 2
    assert json.loads(result.stdout.splitlines()[1])["name"] == "Flores, SAS"


def test_customers_list_csv(mocked: aioresponses) -> None:
    """csv prints a header of field names and quotes values that contain commas."""
    mocked.get(CUSTOMERS, payload=TWO_CUSTOMERS)
    result = invoke("customers", "list", "--format", "csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "id,name,code,accounting_code,active,sales_person,sales_person_id,customer_type,updated_on",
        "25475,2-14 BRIDAL CAKES,T3526,,true,,1819,,2017-08-02T12:15:17",
        '29775,"Flores, SAS",,,false,,,Retailer,',
    ]


def test_customers_list_json_to_file(mocked: aioresponses, tmp_path: Path) -> None:
    """--output writes the data to a file and leaves stdout empty."""
    mocked.get(CUSTOMERS, payload=TWO_CUSTOMERS)
    target = tmp_path / "out.json"
    result = invoke("customers", "list", "--format", "json", "--output", str(target))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert [c["id"] for c in json.loads(target.read_text())] == [25475, 29775]


def test_customers_list_table(mocked: aioresponses) -> None:
    """table prints the records with a count line."""
    mocked.get(CUSTOMERS, payload=TWO_CUSTOMERS)
    result = invoke("customers", "list", "--format", "table")
    assert result.exit_code == 0
    assert "2-14 BRIDAL CAKES" in result.stdout
    assert "Flores, SAS" in result.stdout
    assert result.stdout.rstrip().endswith("2 records")


def test_standing_orders_table_summarises_nested_details(mocked: aioresponses) -> None:
    """A standing order's nested details show as an item count in a table."""
    mocked.get(
        STANDING,
        payload={
            "status": "1",
            "standingOrders": [
                {"id": "5", "number": "77", "days": "Monday,Friday", "details": [{"soItemId": 1}]}
            ],
        },
    )
    result = invoke(
        "standing-orders", "list", "--from", "2025-01-01", "--to", "2025-01-31", "--format", "table"
    )
    assert result.exit_code == 0, result.stderr
    assert "[1 items]" in result.stdout
    assert "Monday,Friday" in result.stdout
    assert sent_queries(mocked) == [
        f"authenticationToken={TOKEN}&dateFrom=2025-01-01&dateTo=2025-01-31"
    ]


def test_customers_update_sends_only_given_fields(mocked: aioresponses) -> None:
    """update sends the options given, typed and joined, and prints the id."""
    mocked.post(UPDATE, payload={"status": "1", "message": "OK", "customerId": "25475"})
    result = invoke(
        "customers", "update", "--id", "25475", "--name", "Flores SAS",
        "--credit-limit", "2500", "--active", "--email-for-invoices", "a@x.test",
        "--email-for-invoices", "b@x.test", "--format", "jsonl",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"customer_id": 25475, "status": "updated"}
    (call,) = mocked.requests[("POST", next(iter(mocked.requests))[1])]
    assert json.loads(call.kwargs["data"]) == {
        "authenticationToken": TOKEN,
        "customerId": 25475,
        "name": "Flores SAS",
        "active": 1,
        "emailForInvoices": "a@x.test;b@x.test",
        "creditLimit": 2500.00,
    }
    assert b'"creditLimit":2500.00' in call.kwargs["data"]
    assert_no_token(result)


def test_validation_error_exits_2_and_sends_nothing(mocked: aioresponses) -> None:
    """A backwards date range is one error line, exit code 2, and no request."""
    result = invoke("standing-orders", "list", "--from", "2025-02-01", "--to", "2025-01-01")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: invalid standing.order.list request: "
        "date_from: 2025-02-01 is after date_to 2025-01-01\n"
    )
    assert result.stdout == ""
    assert mocked.requests == {}


def test_bad_decimal_is_a_usage_error(mocked: aioresponses) -> None:
    """A malformed decimal option is a one-line usage error (exit 2)."""
    result = invoke("customers", "update", "--id", "1", "--name", "x", "--credit-limit", "lots")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Invalid value for '--credit-limit': not a decimal number: 'lots' "
        "(see 'komet-async customers update --help')\n"
    )
    assert mocked.requests == {}


def test_missing_token_is_a_usage_error() -> None:
    """Without --token or KOMET_TOKEN the command exits 2 with one line naming the variable."""
    result = invoke("products", "list", env_token=False)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Missing option '--token' (env var: 'KOMET_TOKEN'). "
        "(see 'komet-async products list --help')\n"
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["products", "lis"],
            "No such command 'lis'. Did you mean 'list'? (see 'komet-async products --help')",
        ),
        (["--bogus"], "No such option '--bogus'. (see 'komet-async --help')"),
        (
            ["standing-orders", "list", "--to", "2025-01-31"],
            "Missing option '--from'. (see 'komet-async standing-orders list --help')",
        ),
        (
            ["standing-orders", "list", "--from", "2025-13-01", "--to", "2025-01-31"],
            "Invalid value for '--from': '2025-13-01' does not match the format '%Y-%m-%d'. "
            "(see 'komet-async standing-orders list --help')",
        ),
        (
            ["customers", "list", "--format", "xml"],
            "Invalid value for '--format': 'xml' is not one of 'table', 'json', 'jsonl', 'csv'. "
            "(see 'komet-async customers list --help')",
        ),
        (
            ["demo", "--fault-rate", "0.9"],
            "Invalid value for '--fault-rate': 0.9 is not in the range 0.0<=x<=0.5. "
            "(see 'komet-async demo --help')",
        ),
        (
            ["sandbox", "--port", "70000"],
            "Invalid value for '--port': 70000 is not in the range 0<=x<=65535. "
            "(see 'komet-async sandbox --help')",
        ),
        (
            ["products", "list", "extra"],
            "Got unexpected extra argument (extra) (see 'komet-async products list --help')",
        ),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args: list[str], line: str) -> None:
    """click's usage errors print one line (no Usage/Try block) and exit 2, with nothing sent."""
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr == f"error: {line}\n"
    assert result.stdout == ""


def test_a_stray_token_in_a_usage_error_is_redacted() -> None:
    """The token pasted where it does not belong is not echoed back by the usage error."""
    result = invoke("products", "list", TOKEN)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Got unexpected extra argument (***) (see 'komet-async products list --help')\n"
    )
    assert_no_token(result)


@pytest.mark.parametrize(
    "args",
    [["--help"], ["products", "list", "--help"], ["demo", "--help"], ["sandbox", "-h"]],
)
def test_help_is_printed_as_usual(args: list[str]) -> None:
    """--help still prints click's whole help on stdout and exits 0."""
    result = invoke(*args)
    assert result.exit_code == 0
    command = " ".join(a for a in args if not a.startswith("-"))
    assert result.stdout.startswith(f"Usage: komet-async {command}".rstrip() + " [OPTIONS]")
    assert "--help" in result.stdout
    assert result.stderr == ""


def test_debug_is_offered_by_every_command() -> None:
    """Every command (API, demo and sandbox) documents --debug in its help."""
    for args in (
        ["customers", "list"],
        ["customers", "update"],
        ["products", "list"],
        ["standing-orders", "list"],
        ["demo"],
        ["sandbox"],
    ):
        result = invoke(*args, "--help")
        assert result.exit_code == 0, args
        assert "--debug  " in result.stdout, args


@pytest.mark.parametrize(
    ("url", "shown", "reason"),
    [
        ("http://[::1", "http://[::1", "is not a URL (Invalid IPv6 URL)"),
        (
            f"http://user:pw@[::1/api?authenticationToken={TOKEN}",
            "http://***@[::1/api?authenticationToken=***",
            "is not a URL (Invalid IPv6 URL)",
        ),
        (
            "http://host:99999/api",
            "http://host:99999/api",
            "is not a URL (Port out of range 0-65535)",
        ),
        (
            "127.0.0.1:8080/api",
            "127.0.0.1:8080/api",
            "is not an http:// or https:// URL with a host",
        ),
        ("ftp://host/api", "ftp://host/api", "is not an http:// or https:// URL with a host"),
    ],
)
def test_malformed_base_url_is_one_redacted_line_with_exit_2(
    mocked: aioresponses, url: str, shown: str, reason: str
) -> None:
    """A base URL urllib cannot read is a usage error: one line, no traceback, no credentials."""
    result = invoke("products", "list", "--base-url", url, "--debug")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: Invalid value for '--base-url' (env var: 'KOMET_BASE_URL'): {shown!r} {reason} "
        "(see 'komet-async products list --help')\n"
    )
    assert result.stdout == ""
    assert "pw" not in result.stderr
    assert_no_token(result)
    assert mocked.requests == {}


def test_malformed_base_url_from_the_environment_is_refused_too() -> None:
    """KOMET_BASE_URL goes through the same check as --base-url."""
    result = CliRunner().invoke(
        main,
        ["products", "list"],
        env={"KOMET_TOKEN": TOKEN, "KOMET_BASE_URL": "http://[::1"},
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: Invalid value for '--base-url'")
    assert "'http://[::1' is not a URL (Invalid IPv6 URL)" in result.stderr
    assert result.stderr.count("\n") == 1


def test_unexpected_error_is_one_line_naming_its_type(mocked: aioresponses) -> None:
    """An exception that is no KometError is one redacted line naming its type, exit 1."""
    mocked.get(CUSTOMERS, exception=RuntimeError(f"boom {TOKEN}"))
    result = invoke("customers", "list")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: unexpected RuntimeError: boom *** (--debug shows the traceback)\n"
    )
    assert result.stdout == ""
    assert_no_token(result)


def test_unexpected_error_with_debug_adds_a_redacted_traceback(mocked: aioresponses) -> None:
    """With --debug an unexpected exception's traceback comes first, then the one line."""
    mocked.get(CUSTOMERS, exception=RuntimeError(f"boom {TOKEN}"))
    result = invoke("customers", "list", "--debug")
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last)")
    assert "RuntimeError: boom ***\n" in result.stderr
    assert result.stderr.endswith("\nerror: unexpected RuntimeError: boom ***\n")
    assert_no_token(result)


def test_os_error_is_one_line_with_exit_1(mocked: aioresponses) -> None:
    """An OSError that escapes the library is its reason in words, exit 1."""
    mocked.get(CUSTOMERS, exception=PermissionError(13, "Permission denied"))
    result = invoke("customers", "list")
    assert result.exit_code == 1
    assert result.stderr == "error: Permission denied\n"
    assert_no_token(result)


def test_unwritable_output_file_is_one_line(mocked: aioresponses, tmp_path: Path) -> None:
    """An --output file that cannot be opened is one line and exit 1 (click's FileError)."""
    mocked.get(CUSTOMERS, payload=TWO_CUSTOMERS)
    target = tmp_path / "missing-dir" / "out.jsonl"
    result = invoke("customers", "list", "--output", str(target))
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: Could not open file {str(target)!r}: No such file or directory\n"
    )
    assert_no_token(result)


def test_ctrl_c_is_exit_130(mocked: aioresponses) -> None:
    """Ctrl-C during an API command is one line and exit code 130."""
    mocked.get(CUSTOMERS, exception=KeyboardInterrupt())
    result = invoke("customers", "list")
    assert result.exit_code == 130
    assert result.stderr == "error: interrupted\n"


def test_api_error_exits_1_without_token(mocked: aioresponses) -> None:
    """A status-0 answer that echoes the token is one redacted line and exit code 1."""
    mocked.get(CUSTOMERS, payload={"status": "0", "message": f"Bad token {TOKEN}"})
    result = invoke("customers", "list")
    assert result.exit_code == 1
    assert result.stderr == "error: customer.list: Bad token ***\n"
    assert_no_token(result)


def test_debug_prints_a_redacted_traceback(mocked: aioresponses) -> None:
    """--debug adds the traceback, still without the token, and ends with the one line."""
    mocked.get(CUSTOMERS, status=500, body=f"boom {TOKEN}", repeat=True)
    result = CliRunner().invoke(
        main,
        ["customers", "list", "--debug", "--token", TOKEN],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ServerError" in result.stderr
    assert result.stderr.splitlines()[-1] == "error: HTTP 500 from customer.list: boom ***"
    assert_no_token(result)


def test_python_dash_m_runs_the_cli() -> None:
    """`python -m komet_async --help` lists the commands."""
    done = subprocess.run(
        [sys.executable, "-m", "komet_async", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for command in ("customers", "products", "standing-orders", "demo", "sandbox"):
        assert command in done.stdout


@pytest.mark.parametrize("flag", ["--credit-hold", "--no-credit-hold"])
def test_update_flags_have_both_spellings(mocked: aioresponses, flag: str) -> None:
    """Boolean fields accept --x and --no-x and send 1 or 0."""
    mocked.post(UPDATE, payload={"status": "1", "customerId": 1})
    result = invoke("customers", "update", "--id", "1", "--name", "x", flag)
    assert result.exit_code == 0, result.stderr
    (calls,) = mocked.requests.values()
    assert json.loads(calls[0].kwargs["data"])["creditHold"] == (0 if "no" in flag else 1)


# --- every list command, every format, against a real sandbox --------------------------


@contextlib.contextmanager
def sandbox_in_thread(**options: Any) -> Iterator[KometSandbox]:
    """A KometSandbox served from its own event loop in a thread (the CLI runs its own loop)."""
    loop = asyncio.new_event_loop()
    box = KometSandbox(token=TOKEN, **options)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(box.start(), loop).result(30)
        yield box
    finally:
        asyncio.run_coroutine_threadsafe(box.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


@pytest.fixture(scope="module")
def served() -> Iterator[KometSandbox]:
    """A small fault-free sandbox whose token is the recognisable TOKEN."""
    with sandbox_in_thread(seed=5, customers=12, products=8, standing_orders=30) as box:
        yield box


YEAR_2025 = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


def _active_orders_in_2025(data: SandboxData) -> list[Any]:
    start, end = YEAR_2025
    return [
        o
        for o in data.standing_orders
        if o.start_date is not None
        and o.end_date is not None
        and o.start_date <= end
        and o.end_date >= start
        and data.standing_order_records[o.id].status == "Active"
    ]


# command name -> (arguments, the records the sandbox should answer, a text field)
LIST_COMMANDS: dict[str, tuple[list[str], Callable[[SandboxData], list[Any]], str]] = {
    "customers": (
        ["customers", "list"],
        lambda data: [c for c in data.customers if c.active],
        "name",
    ),
    "products": (["products", "list"], lambda data: list(data.products), "description"),
    "standing-orders": (
        ["standing-orders", "list", "--from", "2025-01-01", "--to", "2025-12-31"],
        _active_orders_in_2025,
        "customer_name",
    ),
}


def _plain(value: Any) -> Any:
    """JSON's view of a value, worked out apart from the CLI's own code."""
    if isinstance(value, Decimal | dt.date):  # dt.datetime is a dt.date
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return value


def expected_rows(records: list[Any]) -> list[dict[str, Any]]:
    """The records as the JSON formats should print them: snake_case keys, typed values."""
    return [json.loads(json.dumps(attrs.asdict(r), default=_plain)) for r in records]


def run_list(box: KometSandbox, command: str, *extra: str) -> tuple[Result, list[Any]]:
    """Run one list command against ``box``; return its result and the records expected."""
    args, expected, _ = LIST_COMMANDS[command]
    result = invoke(*args, "--base-url", box.base_url, *extra)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert_no_token(result)
    records = expected(box.data)
    assert records, "the sandbox holds records for this command"
    return result, records


@pytest.mark.parametrize("command", sorted(LIST_COMMANDS))
def test_list_jsonl_is_exactly_the_sandbox_records(served: KometSandbox, command: str) -> None:
    """jsonl prints one JSON object per record, equal field by field to the sandbox's records."""
    result, records = run_list(served, command, "--format", "jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"] for row in rows] == [r.id for r in records]
    assert rows == expected_rows(records)


@pytest.mark.parametrize("command", sorted(LIST_COMMANDS))
def test_list_json_is_exactly_the_sandbox_records(served: KometSandbox, command: str) -> None:
    """json prints one indented array equal to the sandbox's records."""
    result, records = run_list(served, command, "--format", "json")
    assert result.stdout.startswith("[\n  {\n")
    assert json.loads(result.stdout) == expected_rows(records)


@pytest.mark.parametrize("command", sorted(LIST_COMMANDS))
def test_list_csv_has_every_field_and_record(served: KometSandbox, command: str) -> None:
    """csv has a header of every model field and one row per record, ids and text exact."""
    result, records = run_list(served, command, "--format", "csv")
    field = LIST_COMMANDS[command][2]
    reader = csv.DictReader(io.StringIO(result.stdout))
    rows = list(reader)
    assert reader.fieldnames == [a.name for a in attrs.fields(type(records[0]))]
    assert [row["id"] for row in rows] == [str(r.id) for r in records]
    assert [row[field] for row in rows] == [getattr(r, field) for r in records]
    if command == "standing-orders":
        # Nested details are one JSON cell each.
        assert [json.loads(row["details"]) for row in rows] == [
            plain["details"] for plain in expected_rows(records)
        ]


@pytest.mark.parametrize("command", sorted(LIST_COMMANDS))
def test_list_table_has_one_row_per_record(served: KometSandbox, command: str) -> None:
    """table prints a header of the model's fields, one row per record in order, and a count."""
    result, records = run_list(served, command, "--format", "table")
    lines = result.stdout.splitlines()
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    header = [c.strip() for c in next(line for line in lines if line.startswith("┃")).split("┃")]
    assert header[1:-1] == [a.name for a in attrs.fields(type(records[0]))]
    assert [row[0] for row in cells] == [str(r.id) for r in records]
    assert lines[-1] == f"{len(records)} records"
    if command == "standing-orders":
        details = header[1:-1].index("details")
        assert [row[details] for row in cells] == [f"[{len(r.details)} items]" for r in records]


@pytest.mark.parametrize("command", sorted(LIST_COMMANDS))
@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "table"])
def test_list_output_file_gets_the_data_and_stdout_nothing(
    served: KometSandbox, command: str, fmt: str, tmp_path: Path
) -> None:
    """--output writes exactly what stdout would have shown, and stdout stays empty."""
    target = tmp_path / f"out.{fmt}"
    to_file, _ = run_list(served, command, "--format", fmt, "--output", str(target))
    to_stdout, _ = run_list(served, command, "--format", fmt)
    assert to_file.stdout == ""
    assert target.read_text(encoding="utf-8") == to_stdout.stdout
    assert TOKEN not in target.read_text(encoding="utf-8")


@pytest.mark.parametrize("command", sorted(LIST_COMMANDS))
def test_list_against_a_wrong_token_is_one_line(served: KometSandbox, command: str) -> None:
    """The sandbox refusing a token is one line and exit code 1 for every list command."""
    args = LIST_COMMANDS[command][0]
    result = CliRunner().invoke(
        main,
        [*args, "--base-url", served.base_url, "--token", "not-the-token"],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert re.fullmatch(r"error: [a-z.]+\.list: .*token.*\n", result.stderr, re.IGNORECASE)
    assert_no_token(result)
