"""The komet-async command line: output formats, exit codes, and no token in any output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aioresponses import aioresponses
from click.testing import CliRunner, Result

from komet_async.cli import main

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
    """A malformed decimal option is a usage error (exit 2)."""
    result = invoke("customers", "update", "--id", "1", "--name", "x", "--credit-limit", "lots")
    assert result.exit_code == 2
    assert "not a decimal number" in result.stderr


def test_missing_token_is_a_usage_error() -> None:
    """Without --token or KOMET_TOKEN the command exits 2 and names the variable."""
    result = invoke("products", "list", env_token=False)
    assert result.exit_code == 2
    assert "KOMET_TOKEN" in result.stderr


def test_api_error_exits_1_without_token(mocked: aioresponses) -> None:
    """A status-0 answer that echoes the token is one redacted line and exit code 1."""
    mocked.get(CUSTOMERS, payload={"status": "0", "message": f"Bad token {TOKEN}"})
    result = invoke("customers", "list")
    assert result.exit_code == 1
    assert result.stderr == "error: customer.list: Bad token ***\n"
    assert_no_token(result)


def test_debug_prints_a_redacted_traceback(mocked: aioresponses) -> None:
    """--debug adds the traceback, still without the token."""
    mocked.get(CUSTOMERS, status=500, body=f"boom {TOKEN}", repeat=True)
    result = CliRunner().invoke(
        main,
        ["customers", "list", "--debug", "--token", TOKEN],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ServerError" in result.stderr
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
