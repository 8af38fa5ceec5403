"""Strategies and payload helpers shared by the fuzz properties."""

from __future__ import annotations

import copy
import datetime as dt
import json
import types
import typing
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Union

import attrs
from hypothesis import strategies as st

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

#: One step into a JSON document: a key of an object or an index of a list.
Step = str | int

#: Strings that sit on the edges of the lenient scalar hooks.
ODD_TEXT = (
    "",
    " ",
    "0",
    "1",
    "-1",
    "+7",
    "true",
    "FALSE",
    "yes",
    "null",
    "NaN",
    "-Infinity",
    "1e999",
    "1E-999999999",
    "0.1",
    "١٢٣",  # Arabic-Indic digits: isdigit() but not ASCII
    "\uff11\uff12",  # full-width digits
    "²",  # a superscript: isdigit() but not a decimal digit
    "9" * 5000,  # past int()'s 4,300-digit limit
    "2024-02-30",
    "2024-01-01T25:00:00",
    "2024-01-01T00:00:00+99:00",
    "2024-01-01T00:00:00Z",
    "0000-00-00 00:00:00",
    "\x00",
    "\ud800",  # a lone surrogate (stdlib json lets one through)
    "\u202e\u200b",
    "a,b,,c",
    "\n\t ",
)

ODD_NUMBERS = (
    0,
    -1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**4299,
    0.5,
    -0.0,
    1e308,
    5e-324,
    float("nan"),
    float("inf"),
    float("-inf"),
)


def _huge() -> int:
    """An int str() and repr() refuse (over 4,300 digits): built lazily, Hypothesis reprs values."""
    return 10**5000


_text = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=30),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(ODD_NUMBERS),
    st.builds(_huge),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
)

#: Any JSON value (and the values a lenient parser produces: nan, inf, huge ints).
json_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(_text, children, max_size=4),
    ),
    max_leaves=12,
)


def load_sample(name: str) -> dict[str, Any]:
    """A sample body from ``tests/samples`` (Komet's documented examples)."""
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    return data


def paths(value: Any, prefix: tuple[Step, ...] = ()) -> Iterator[tuple[Step, ...]]:
    """Every place in a JSON document a value sits: each object key and list index, nested."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from paths(child, (*prefix, index))


def replaced(document: Any, path: tuple[Step, ...], value: Any) -> Any:
    """A deep copy of ``document`` with the value at ``path`` replaced."""
    out = copy.deepcopy(document)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return out


def removed(document: Any, path: tuple[Step, ...]) -> Any:
    """A deep copy of ``document`` without the object key at ``path``."""
    out = copy.deepcopy(document)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return out


def spelled(path: tuple[Step, ...]) -> str:
    """A path as ResponseFormatError spells it: ``details[0].breakdowns[1].price``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def within(error_path: str | None, path: tuple[Step, ...]) -> bool:
    """Whether ``error_path`` names ``path`` or something inside it."""
    where = spelled(path)
    if not where:
        return True
    return error_path is not None and (
        error_path == where or error_path.startswith((f"{where}.", f"{where}["))
    )


def conforms(value: Any, tp: Any) -> bool:
    """Whether a decoded ``value`` really has the declared type ``tp`` (deeply)."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return any(conforms(value, arg) for arg in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if origin is tuple:
        item = typing.get_args(tp)[0]
        return isinstance(value, tuple) and all(conforms(v, item) for v in value)
    if origin is list:
        item = typing.get_args(tp)[0]
        return isinstance(value, list) and all(conforms(v, item) for v in value)
    if origin is dict:
        key_tp, value_tp = typing.get_args(tp)
        return isinstance(value, dict) and all(
            conforms(k, key_tp) and conforms(v, value_tp) for k, v in value.items()
        )
    if attrs.has(tp):
        attrs.resolve_types(tp)
        return type(value) is tp and all(
            conforms(getattr(value, a.name), a.type) for a in attrs.fields(tp)
        )
    if tp is bool:
        return value is True or value is False
    if tp is int:
        return type(value) is int
    if tp is str:
        return type(value) is str
    if tp is Decimal:
        return type(value) is Decimal and value.is_finite()
    if tp is dt.datetime:
        return type(value) is dt.datetime
    if tp is dt.date:
        return type(value) is dt.date
    raise AssertionError(f"conforms() does not know {tp!r}")
