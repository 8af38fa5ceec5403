"""Validate and encode request models (pure).

Request models (``CustomerUpdate``, the endpoints' query classes) are attrs
classes whose fields carry :class:`~komet_async._wire.Wire` declarations.
:func:`problems` checks every field against its type and documented limits
and returns *all* problems at once; :func:`encode` turns the model into the
wire mapping (``None`` left out). Neither touches the network.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, Literal, cast

import attrs

from ._codegen import generated_function
from ._wire import Kind, Wire, field_kind, spec_of, to_camel, wire_name
from .errors import ValidationError

__all__ = ["encode", "problems", "request_fields", "validate"]

FlagStyle = Literal["int", "bool"]


_FieldInfo = tuple["attrs.Attribute[Any]", Kind, bool, Wire]
_FIELDS: dict[type[Any], tuple[_FieldInfo, ...]] = {}


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
    """What :func:`problems` reads of each field: name, kind, whether ``None`` is a problem."""
    return tuple(
        (a.name, kind, spec.required or not optional, spec)
        for a, kind, optional, spec in request_fields(cls)
    )


def _encodings(cls: type[Any], naming: Any) -> tuple[tuple[str, Kind, Wire, str], ...]:
    """What :func:`encode` reads of each field: name, kind, wire facts, JSON key."""
    return tuple(
        (a.name, kind, spec, wire_name(a, naming)) for a, kind, _, spec in request_fields(cls)
    )


def problems(obj: Any, prefix: str = "") -> list[str]:
    """Every problem with a request model, as ``"field: what is wrong"`` lines.

    Nested request models (an address inside a customer) are checked too, their
    problems named by path (``primary_address.country: ...``).
    """
    cls = type(obj)
    check = _PROBLEMS.get(cls)
    if check is None:
        check = _PROBLEMS[cls] = _compile_problems(cls)
    return check(obj, prefix)


#: Per class, its generated :func:`problems` (see :func:`_compile_problems`).
_PROBLEMS: dict[type[Any], Callable[[Any, str], list[str]]] = {}
#: Per class, naming, flag style and join, its generated :func:`encode`.
_ENCODERS: dict[tuple[type[Any], Any, str, bool], Callable[[Any], dict[str, Any]]] = {}


def _compile_problems(cls: type[Any]) -> Callable[[Any, str], list[str]]:
    """One straight-line function per request class checking each field in turn.

    It runs on every call; unrolled, a field left as ``None`` (most filters)
    costs an attribute read and a test instead of a loop step, a tuple unpack
    and a ``getattr``. It does what a loop over :func:`_checks` would.
    """
    scope: dict[str, Any] = {"_check": _check, "_has": attrs.has, "_problems": problems}
    lines = ["def problems(obj, prefix=''):", "    found = []"]
    for i, (name, kind, needed, spec) in enumerate(_checks(cls)):
        scope[f"s{i}"] = spec
        lines += [f"    v = obj.{name}", "    if v is None:"]
        lines.append(
            f"        found.append(prefix + {name + ': required'!r})" if needed else "        pass"
        )
        if kind == "other":
            lines += [
                "    elif _has(type(v)):",
                f"        found.extend(_problems(v, prefix + {name + '.'!r}))",
            ]
        else:
            lines += [
                "    else:",
                f"        p = _check({kind!r}, v, s{i})",
                "        if p:",
                f"            found.append(prefix + {name + ': '!r} + p)",
            ]
    lines.append("    return found")
    return cast(
        Callable[[Any, str], list[str]],
        generated_function(
            "problems", lines, scope, f"problems {cls.__module__}.{cls.__qualname__}"
        ),
    )


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
    cls = type(obj)
    make = _ENCODERS.get((cls, naming, flags, join))
    if make is None:
        make = _ENCODERS[cls, naming, flags, join] = _compile_encode(cls, naming, flags, join)
    return make(obj)


def _compile_encode(
    cls: type[Any], naming: Any, flags: FlagStyle, join: bool
) -> Callable[[Any], dict[str, Any]]:
    """One straight-line function per request class, naming and style (see :func:`encode`).

    Unrolled for the reason :func:`_compile_problems` is; each field's
    conversion is decided here, once, from its kind.
    """
    scope: dict[str, Any] = {
        "_Dec": Decimal,
        "_rounded": _rounded,
        "_has": attrs.has,
        "_encode": encode,
        "_datetime": dt.datetime,
        "_list": list,
        "_naming": naming,
    }
    lines = ["def encode(obj):", "    out = {}"]
    for i, (name, kind, spec, key) in enumerate(_encodings(cls, naming)):
        scope[f"s{i}"] = spec
        lines += [f"    v = obj.{name}", "    if v is not None:"]
        if kind == "bool" and flags == "int":
            lines.append("        v = 1 if v else 0")
        elif kind == "decimal":
            lines.append(f"        v = _rounded(_Dec(v), s{i})")
        elif kind == "strs":
            lines.append(f"        v = s{i}.sep.join(v)" if join else "        v = _list(v)")
        elif kind == "other":
            lines += [
                "        if _has(type(v)):",
                f"            v = _encode(v, flags={flags!r}, naming=_naming, join={join!r})",
            ]
        elif kind == "date":
            lines += ["        if isinstance(v, _datetime):", "            v = v.date()"]
        lines.append(f"        out[{key!r}] = v")
    lines.append("    return out")
    return cast(
        Callable[[Any], dict[str, Any]],
        generated_function("encode", lines, scope, f"encode {cls.__module__}.{cls.__qualname__}"),
    )
