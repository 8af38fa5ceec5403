"""Per-field wire facts, declared once on the model and read by every consumer.

A model field may carry a :class:`Wire` in its attrs metadata: the JSON key
when it is not the camelCase of the field name, the separator a joined list
uses on the wire, and the documented limits that validation checks before
anything is sent. The converter (responses), the request encoder and the
validator all read the same declaration, so a key or a limit is written in
exactly one place.
"""

from __future__ import annotations

import datetime as dt
import functools
import types
import typing
from collections.abc import Callable, Collection
from decimal import Decimal
from typing import Any, Final, Union

import attrs

__all__ = ["WIRE", "Wire", "field_kind", "to_camel", "wire", "wire_name"]

#: The metadata key a :class:`Wire` is stored under.
WIRE: Final = "komet_async.wire"


@attrs.frozen
class Wire:
    """What the API documents say about one field."""

    key: str | None = None
    sep: str = ","
    max_len: int | None = None
    choices: Collection[Any] | None = None
    #: How to name ``choices`` in messages when listing them would not help
    #: (``"an ISO 3166-1 alpha-2 country code"``).
    choices_name: str | None = None
    required: bool = False
    #: For Decimal fields: total digits and places (``decimal:10,2`` -> 10, 2).
    digits: int | None = None
    places: int | None = None
    #: For integer fields: the documented number of digits (``integer:20``).
    max_digits: int | None = None


def wire(**kwargs: Any) -> dict[str, Wire]:
    """Build attrs field metadata carrying a :class:`Wire` (``field(metadata=wire(...))``)."""
    return {WIRE: Wire(**kwargs)}


def spec_of(attribute: attrs.Attribute[Any]) -> Wire:
    """Return the field's :class:`Wire`, or the default one."""
    found = attribute.metadata.get(WIRE)
    return found if isinstance(found, Wire) else _DEFAULT


_DEFAULT: Final = Wire()


@functools.lru_cache(maxsize=1024)
def to_camel(name: str) -> str:
    """Turn ``sales_person_id`` into ``salesPersonId``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_name(attribute: attrs.Attribute[Any], naming: Callable[[str], str] = to_camel) -> str:
    """The JSON key of a field: its declared key, else ``naming(field name)``."""
    return spec_of(attribute).key or naming(attribute.name)


#: The scalar kinds validation and encoding know about.
Kind = typing.Literal["str", "int", "bool", "decimal", "date", "datetime", "strs", "other"]


def field_kind(tp: Any) -> tuple[Kind, bool]:
    """Classify a (resolved) field type: its kind and whether ``None`` is allowed."""
    optional = False
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        if len(args) != 1:
            return "other", optional
        tp = args[0]
        origin = typing.get_origin(tp)
    if origin is tuple and typing.get_args(tp) == (str, ...):
        return "strs", optional
    kinds: dict[Any, Kind] = {
        str: "str",
        bool: "bool",
        int: "int",
        Decimal: "decimal",
        dt.datetime: "datetime",
        dt.date: "date",
    }
    return kinds.get(tp, "other"), optional
