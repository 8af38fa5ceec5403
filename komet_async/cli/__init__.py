"""The ``komet-async`` command line (extra ``cli``: click and rich).

Data goes to stdout (or ``--output``), progress and errors to stderr. Errors
are one line and an exit code: 2 for bad usage or validation, 1 for API and
transport failures and anything else that goes wrong; ``--debug`` adds the
(redacted) traceback. The token is never printed. (The root group reports
every command's failures: see :mod:`komet_async.cli._errors`.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import IO, Any, TypeVar

try:
    import click
except ImportError as exc:  # pragma: no cover - only without the extra
    raise SystemExit(
        "the komet-async command line needs its extra: pip install 'komet-async[cli]'"
    ) from exc

import attrs

from .._requests import request_fields
from .._sansio import check_base_url
from .._version import __version__
from ..client import DEFAULT_BASE_URL, KometClient
from ..errors import ValidationError
from ..models.customers import CustomerUpdate
from ..models.standing_orders import STANDING_ORDER_STATUSES
from ._errors import ReportingGroup, debug_option, remember_token
from ._output import FORMATS, Format, default_format, write_records

__all__ = ["main"]

T = TypeVar("T")


@click.group(
    "komet-async",
    cls=ReportingGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="komet-async")
def main() -> None:
    """Komet Sales from the command line: list and update records, or run the local sandbox."""


# --- shared plumbing ---------------------------------------------------------------


@attrs.frozen
class _Api:
    """The options every API command shares."""

    token: str
    base_url: str
    fmt: Format
    output: IO[str] | None
    timeout: float


def _base_url(_: click.Context, __: click.Parameter, value: str) -> str:
    """Check ``--base-url``: a malformed URL is a usage error, not a failed request."""
    try:
        check_base_url(value)
    except ValidationError as exc:
        problem = exc.problems[0].partition(": ")[2]
        raise click.BadParameter(problem) from None
    return value


def _api_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--token",
            envvar="KOMET_TOKEN",
            required=True,
            show_envvar=True,
            callback=remember_token,
            help="Komet Sales token (prefer the environment variable: command lines are visible).",
        ),
        click.option(
            "--base-url",
            envvar="KOMET_BASE_URL",
            default=DEFAULT_BASE_URL,
            callback=_base_url,
            show_default=True,
            show_envvar=True,
            help="API base URL (a sandbox's URL for local work).",
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default=None,
            help="Output format [default: table on a terminal, jsonl when piped].",
        ),
        click.option(
            "--output", "-o", type=click.File("w", encoding="utf-8"), help="Write data here."
        ),
        click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True),
        debug_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _api(kwargs: dict[str, Any]) -> _Api:
    output: IO[str] | None = kwargs.pop("output")
    stream = output or sys.stdout
    fmt = kwargs.pop("fmt") or default_format(stream.isatty())
    return _Api(
        token=kwargs.pop("token"),
        base_url=kwargs.pop("base_url"),
        fmt=fmt,
        output=output,
        timeout=kwargs.pop("timeout"),
    )


def _run(api: _Api, work: Callable[[KometClient], Awaitable[T]]) -> T:
    """Run ``work`` with a client (its errors are reported by the root group)."""

    async def go() -> T:
        async with KometClient(api.token, base_url=api.base_url, timeout=api.timeout) as client:
            return await work(client)

    return asyncio.run(go())


def _emit(api: _Api, records: list[Any], title: str) -> None:
    stream = api.output or sys.stdout
    write_records(records, api.fmt, stream, title=title, is_terminal=stream.isatty())


_date = click.DateTime(formats=["%Y-%m-%d"])


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


# --- customers ---------------------------------------------------------------


@main.group()
def customers() -> None:
    """customer.list and customer.update."""


@customers.command("list")
@click.option("--id", "id_", type=int, help="Komet customer id (exact).")
@click.option("--name", help="Name contains (case-insensitive).")
@click.option("--code", help="Customer code (exact).")
@click.option("--sales-person-id", type=int)
@click.option(
    "--include-inactive", is_flag=True, default=None, help="Also list inactive customers."
)
@click.option("--location-id", type=int)
@click.option("--updated-as-of", type=_date, help="Only customers updated on or after YYYY-MM-DD.")
@_api_options
def customers_list(**kwargs: Any) -> None:
    """List customers."""
    api = _api(kwargs)
    records = _run(
        api,
        lambda c: c.customers.list(
            id=kwargs["id_"],
            name=kwargs["name"],
            code=kwargs["code"],
            sales_person_id=kwargs["sales_person_id"],
            include_inactive=kwargs["include_inactive"],
            location_id=kwargs["location_id"],
            updated_as_of=_day(kwargs["updated_as_of"]),
        ),
    )
    _emit(api, records, "Customers")


def _update_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """One option per CustomerUpdate field, generated from the model so they never drift."""
    for a, kind, _, spec in reversed(request_fields(CustomerUpdate)):
        if a.name in ("customer_id", "name"):
            continue
        flag = "--" + a.name.replace("_", "-")
        if kind == "bool":
            option = click.option(f"{flag}/--no-{flag[2:]}", a.name, default=None)
        elif kind == "strs":
            option = click.option(
                flag, a.name, multiple=True, help=f"Repeat for several (sent {spec.sep!r}-joined)."
            )
        elif kind == "int":
            option = click.option(flag, a.name, type=int)
        elif kind == "date":
            option = click.option(flag, a.name, type=_date)
        else:
            option = click.option(flag, a.name)
        fn = option(fn)
    return fn


def _update_value(kind: str, value: Any, name: str) -> Any:
    if kind == "strs":
        return tuple(value) if value else None
    if kind == "decimal" and value is not None:
        try:
            return Decimal(value)
        except InvalidOperation:
            raise click.BadParameter(
                f"not a decimal number: {value!r}", param_hint=f"'{name}'"
            ) from None
    if kind == "date" and value is not None:
        return value.date()
    return value


@customers.command("update")
@click.option("--id", "customer_id", type=int, required=True, help="Komet customer id.")
@click.option("--name", required=True, help="Customer name (required by customer.update).")
@_update_options
@_api_options
def customers_update(**kwargs: Any) -> None:
    """Update one customer; only the options given are sent."""
    api = _api(kwargs)
    values = {
        a.name: _update_value(kind, kwargs[a.name], "--" + a.name.replace("_", "-"))
        for a, kind, _, _ in request_fields(CustomerUpdate)
    }
    update = CustomerUpdate(**values)
    customer_id = _run(api, lambda c: c.customers.update(update))
    _emit(api, [{"customer_id": customer_id, "status": "updated"}], "Updated")


# --- products ----------------------------------------------------------------


@main.group()
def products() -> None:
    """product.list."""


@products.command("list")
@click.option("--id", "id_", type=int, help="Komet product id (exact).")
@click.option("--description", help="Description contains (case-insensitive).")
@click.option("--legacy-code", help="Legacy code (exact).")
@_api_options
def products_list(**kwargs: Any) -> None:
    """List products (ordered by description)."""
    api = _api(kwargs)
    records = _run(
        api,
        lambda c: c.products.list(
            id=kwargs["id_"], description=kwargs["description"], legacy_code=kwargs["legacy_code"]
        ),
    )
    _emit(api, records, "Products")


# --- standing orders -----------------------------------------------------------


@main.group("standing-orders")
def standing_orders() -> None:
    """standing.order.list."""


@standing_orders.command("list")
@click.option("--from", "date_from", type=_date, required=True, help="YYYY-MM-DD")
@click.option("--to", "date_to", type=_date, required=True, help="YYYY-MM-DD")
@click.option("--customer", help="Customer name or code contains.")
@click.option("--customer-id", type=int)
@click.option("--number")
@click.option("--location-id", type=int)
@click.option(
    "--status", type=click.Choice(STANDING_ORDER_STATUSES), help="[server default: Active]"
)
@_api_options
def standing_orders_list(**kwargs: Any) -> None:
    """List standing orders whose dates overlap --from..--to."""
    api = _api(kwargs)
    date_from, date_to = kwargs["date_from"].date(), kwargs["date_to"].date()
    records = _run(
        api,
        lambda c: c.standing_orders.list(
            date_from=date_from,
            date_to=date_to,
            customer=kwargs["customer"],
            customer_id=kwargs["customer_id"],
            number=kwargs["number"],
            location_id=kwargs["location_id"],
            status=kwargs["status"],
        ),
    )
    _emit(api, records, "Standing orders")


# The sandbox and demo commands live beside the sandbox they drive.
from .sandbox_commands import demo, sandbox  # noqa: E402

main.add_command(demo)
main.add_command(sandbox)
