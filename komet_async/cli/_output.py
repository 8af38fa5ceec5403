"""Turning records into table, JSON, JSON Lines or CSV output (no I/O beyond the given stream)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any, Final, Literal

import attrs

__all__ = ["FORMATS", "Format", "default_format", "to_plain", "write_records"]

Format = Literal["table", "json", "jsonl", "csv"]
FORMATS: Final[tuple[Format, ...]] = ("table", "json", "jsonl", "csv")

#: Columns wider than this are cut in tables (the full value is in json/csv).
_TABLE_CELL: Final = 40


def default_format(is_terminal: bool) -> Format:
    """A table for people at a terminal, JSON Lines for pipes."""
    return "table" if is_terminal else "jsonl"


def to_plain(value: Any) -> Any:
    """A model (or anything inside one) as JSON-ready data: Decimals and dates as strings."""
    if attrs.has(type(value)):
        return {a.name: to_plain(getattr(value, a.name)) for a in attrs.fields(type(value))}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    """Flatten one value for CSV and tables: lists of scalars joined, nested data as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return ",".join(str(v) for v in value)
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def write_records(
    records: Sequence[Any],
    fmt: Format,
    stream: IO[str],
    *,
    title: str | None = None,
    is_terminal: bool = False,
) -> None:
    """Write ``records`` (attrs models or dicts) to ``stream`` in ``fmt``."""
    rows = [to_plain(r) for r in records]
    if fmt == "json":
        json.dump(rows, stream, ensure_ascii=False, indent=2)
        stream.write("\n")
    elif fmt == "jsonl":
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            stream.write("\n")
    elif fmt == "csv":
        columns = _columns(rows)
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
    else:
        _write_table(rows, stream, title=title, is_terminal=is_terminal)


def _columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def _write_table(
    rows: list[dict[str, Any]], stream: IO[str], *, title: str | None, is_terminal: bool
) -> None:
    from rich.console import Console
    from rich.table import Table

    # Nested lists (standing order details) do not fit a table: count them instead.
    columns = _columns(rows)
    table = Table(title=title, show_lines=False, expand=False)
    for column in columns:
        table.add_column(column, overflow="ellipsis", max_width=_TABLE_CELL, no_wrap=True)
    for row in rows:
        table.add_row(*(_table_cell(row.get(c)) for c in columns))
    # Off a terminal nothing limits the width: keep every column readable.
    console = Console(file=stream, force_terminal=is_terminal, width=None if is_terminal else 5000)
    console.print(table)
    console.print(f"{len(rows)} record{'s' if len(rows) != 1 else ''}", style="dim")


def _table_cell(value: Any) -> str:
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return f"[{len(value)} items]"
    text = _cell(value)
    return text.replace("[", r"\[")  # rich markup must not eat values
