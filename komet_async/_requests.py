"""Validate and encode request models (pure).

Request models (``CustomerUpdate``, the endpoints' query classes) are attrs
classes whose fields carry :class:`~komet_async._wire.Wire` declarations.
:func:`problems` checks every field against its type and documented limits
and returns *all* problems at once; :func:`encode` turns the model into the
wire mapping (``None`` left out). Neither touches the network.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, Literal

import attrs

from ._wire import Kind, Wire, field_kind, spec_of, to_camel, wire_name
from .errors import ValidationError

__all__ = ["encode", "problems", "request_fields", "validate"]

FlagStyle = Literal["int", "bool"]


_FieldInfo = tuple["attrs.Attribute[Any]", Kind, bool, Wire]
_FIELDS: dict[type[Any], tuple[_FieldInfo, ...]] = {}
#: Per class, what :func:`problems` reads of each field: name, kind, whether
#: ``None`` is a problem, wire facts.
_CHECKS: dict[type[Any], tuple[tuple[str, Kind, bool, Wire], ...]] = {}
#: Per class and naming, what :func:`encode` reads of each field: name, kind,
#: wire facts, JSON key.
_ENCODINGS: dict[tuple[type[Any], Any], tuple[tuple[str, Kind, Wire, str], ...]] = {}


def request_fields(cls: type[Any]) -> tuple[_FieldInfo, ...]:
    """Each field with its kind, whether it is optional and its wire facts (cached per class)."""
    found = _FIELDS.get(cls)
    if found is None:
        attrs.resolve_types(cls)
        found = _FIELDS[cls] = tuple(
            (a, *field_kind(a.type), spec_of(a)) for a in attrs.fields(cls)
        )
    return found


def _checks(cls: type[Any]) -> tuple[tuple[str, Kind, bool, Wire], ...]:
    found = _CHECKS.get(cls)
    if found is None:
        found = _CHECKS[cls] = tuple(
            (a.name, kind, spec.required or not optional, spec)
            for a, kind, optional, spec in request_fields(cls)
        )
    return found


def _encodings(cls: type[Any], naming: Any) -> tuple[tuple[str, Kind, Wire, str], ...]:
    found = _ENCODINGS.get((cls, naming))
    if found is None:
        found = _ENCODINGS[cls, naming] = tuple(
            (a.name, kind, spec, wire_name(a, naming)) for a, kind, _, spec in request_fields(cls)
        )
    return found


def problems(obj: Any, prefix: str = "") -> list[str]:
    """Every problem with a request model, as ``"field: what is wrong"`` lines.

    Nested request models (an address inside a customer) are checked too, their
    problems named by path (``primary_address.country: ...``).
    """
    found: list[str] = []
    # Runs on every call: the per-field facts are read from one cached tuple,
    # and a field left as None (most filters) costs a getattr and a test.
    for name, kind, needed, spec in _checks(type(obj)):
        value = getattr(obj, name)
        if value is None:
            if needed:
                found.append(f"{prefix}{name}: required")
            continue
        if kind == "other":
            if attrs.has(type(value)):
                found.extend(problems(value, prefix=f"{prefix}{name}."))
            continue
        problem = _check(kind, value, spec)
        if problem:
            found.append(f"{prefix}{name}: {problem}")
    return found


def validate(obj: Any, *, method: str | None = None) -> None:
    """Raise :class:`ValidationError` listing every problem, if there is any."""
    found = problems(obj)
    if found:
        raise ValidationError(found, method=method)


def _check(kind: Kind, value: Any, spec: Wire) -> str | None:
    if kind == "str":
        if not isinstance(value, str):
            return f"expected a string, got {type(value).__name__}"
        if spec.required and not value.strip():
            return "must not be empty"
        return _check_len(value, spec) or _check_choice(value, spec)
    if kind == "bool":
        return None if isinstance(value, bool) else f"expected True or False, got {value!r}"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer, got {type(value).__name__}"
        if spec.max_digits is not None and len(str(abs(value))) > spec.max_digits:
            return f"at most {spec.max_digits} digits, got {value}"
        return _check_choice(value, spec)
    if kind == "decimal":
        return _check_decimal(value, spec)
    if kind == "datetime":
        return None if isinstance(value, dt.datetime) else f"expected a datetime, got {value!r}"
    if kind == "date":
        return None if isinstance(value, dt.date) else f"expected a date, got {value!r}"
    if kind == "strs":
        return _check_strs(value, spec)
    return None


def _check_len(value: str, spec: Wire) -> str | None:
    if spec.max_len is not None and len(value) > spec.max_len:
        return f"at most {spec.max_len} characters, got {len(value)}"
    return None


def _check_choice(value: Any, spec: Wire) -> str | None:
    if spec.choices is not None and value not in spec.choices:
        if spec.choices_name:
            return f"must be {spec.choices_name}, got {value!r}"
        allowed = ", ".join(repr(c) for c in spec.choices)
        return f"must be one of {allowed}, got {value!r}"
    return None


def _check_decimal(value: Any, spec: Wire) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        hint = " (use Decimal for money: floats lose cents)" if isinstance(value, float) else ""
        return f"expected a Decimal, got {type(value).__name__}{hint}"
    number = Decimal(value)
    if not number.is_finite():
        return f"must be a finite number, got {value}"
    if spec.digits is not None:
        whole = spec.digits - (spec.places or 0)
        # Check the value as it will be sent: 99999999.995 rounds up to nine digits.
        # The unrounded check comes first so a huge exponent is never rounded.
        if _integral_digits(number) > whole or _integral_digits(_rounded(number, spec)) > whole:
            return f"at most {whole} digits before the decimal point, got {value}"
    return None


def _integral_digits(number: Decimal) -> int:
    return max(0, number.adjusted() + 1)


def _rounded(number: Decimal, spec: Wire) -> Decimal:
    """``number`` rounded half-even to the documented places (unchanged when none are)."""
    if spec.places is None:
        return number
    # An explicit context, not the thread's: a caller's low precision would make
    # quantize raise, and its rounding mode would change what is sent.
    context = Context(prec=max(28, number.adjusted() + spec.places + 2), rounding=ROUND_HALF_EVEN)
    return number.quantize(Decimal((0, (1,), -spec.places)), context=context)


def _check_strs(value: Any, spec: Wire) -> str | None:
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, str) for v in value):
        return f"expected a tuple of strings, got {value!r}"
    for item in value:
        if not item.strip():
            return "items must not be empty"
        if spec.sep in item:
            return f"item {item!r} contains the separator {spec.sep!r}"
        problem = _check_choice(item, spec)
        if problem:
            return problem
    return _check_len(spec.sep.join(value), spec)


def encode(
    obj: Any,
    *,
    flags: FlagStyle = "int",
    naming: Any = to_camel,
    join: bool = True,
) -> dict[str, Any]:
    """The wire mapping of a request model, without the fields left as ``None``.

    ``flags="int"`` sends booleans as 1/0 (Komet POST bodies); ``"bool"``
    keeps them as booleans (JSON APIs, or the query encoder spells them).
    Decimals are rounded to their documented places; tuples joined with their
    separator, or sent as lists with ``join=False``. Nested request models
    are encoded the same way.
    """
    out: dict[str, Any] = {}
    for name, kind, spec, key in _encodings(type(obj), naming):
        value = getattr(obj, name)
        if value is None:
            continue
        if kind == "bool" and flags == "int":
            value = 1 if value else 0
        elif kind == "decimal":
            value = _rounded(Decimal(value), spec)
        elif kind == "strs":
            value = spec.sep.join(value) if join else list(value)
        elif kind == "other" and attrs.has(type(value)):
            value = encode(value, flags=flags, naming=naming, join=join)
        elif kind == "date" and isinstance(value, dt.datetime):
            value = value.date()
        out[key] = value
    return out
