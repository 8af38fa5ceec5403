"""``customer.update``'s inputs, checked on the raw JSON body the way Komet would (pure).

The documented limits are not written here: every field of
:class:`~komet_async.CustomerUpdate` declares its wire key, kind, maximum
length, enumeration or digits (a :class:`~komet_async._wire.Wire`), and
:data:`RULES` is read from those declarations, so the client's validation and
the sandbox's share one number per limit. The checks themselves are the
server's, not the client's: a server gets JSON from any client, so flags may
come as ``1``/``0``, ``"1"``/``"0"`` or ``true``/``false``, numbers as numbers
or numeric strings, dates as ``YYYY-MM-DD`` text and lists joined with their
separator.

:func:`first_problem` returns the message the sandbox answers with (status 0),
naming the field by its wire key; what a field *means* (a known customer
type, a free customer code, an existing location) is the store's business
(:mod:`komet_async.sandbox.data`).
"""

from __future__ import annotations

import datetime as dt
import re
import types
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from .._requests import request_fields
from .._wire import Kind, Wire, wire_name
from ..models import CustomerUpdate

__all__ = ["RULES", "Rule", "as_flag", "as_int", "first_problem", "problem"]

#: Fields where an empty value means "none" rather than a mistake. The
#: document on ``creditLimit``: "If it's empty, there will no be credit limit."
BLANK_MEANS_NONE: Final = frozenset({"creditLimit"})

_FLAGS: Final[Mapping[Any, bool]] = types.MappingProxyType(
    {"1": True, "0": False, "true": True, "false": False}
)
# ASCII digits only: str.isdigit() and \d accept other scripts' digits too.
_DECIMAL_TEXT: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SEPARATOR_NAMES: Final = {",": "commas", ";": "semicolons", ":": "colons"}


@attrs.frozen
class Rule:
    """What the document says about one ``customer.update`` input."""

    #: The JSON key (``salesPersonForFlowers``).
    key: str
    kind: Kind
    spec: Wire
    #: ``(key, value, rule) -> message or None``.
    check: Callable[[str, Any, Rule], str | None] = attrs.field(repr=False)


def problem(key: str, value: Any) -> str | None:
    """What is wrong with ``value`` for input ``key``, as the message Komet would send.

    ``None`` when the value is fine, or when ``key`` is not a documented input
    (Komet ignores those).
    """
    rule = RULES.get(key)
    if rule is None:
        return None
    return rule.check(key, value, rule)


def first_problem(fields: Mapping[str, Any], *, skip: Collection[str] = ()) -> str | None:
    """The first problem in a ``customer.update`` body, inputs in documented order.

    Keys in ``skip`` are left to the caller (the store has its own messages
    for ``customerId`` and ``name``); ``null`` values are left out, as if not
    sent; keys that are not documented inputs are ignored.
    """
    for key, rule in RULES.items():
        if key in skip:
            continue
        value = fields.get(key)
        if value is not None:
            found = rule.check(key, value, rule)
            if found is not None:
                return found
    return None


def as_flag(value: Any) -> bool:
    """A ``boolean:1`` input that :func:`problem` accepted, as a bool."""
    if isinstance(value, bool):
        return value
    if type(value) is int:
        return value == 1
    return _FLAGS[value]


def as_int(value: Any) -> int:
    """An ``integer`` input that :func:`problem` accepted, as an int."""
    return value if type(value) is int else int(value)


# --- the checks, one per kind ---------------------------------------------------------------


def _check_str(key: str, value: Any, rule: Rule) -> str | None:
    if not isinstance(value, str):
        return f"Invalid value for {key}: a text value is expected."
    return _too_long(key, value, rule.spec) or _not_a_choice(key, value, rule.spec)


def _check_strs(key: str, value: Any, rule: Rule) -> str | None:
    if not isinstance(value, str):
        return f"Invalid value for {key}: a text value is expected."
    spec = rule.spec
    too_long = _too_long(key, value, spec)
    if too_long or spec.choices is None or value == "":
        # Free-text lists (location codes, e-mail addresses) are only measured;
        # "" is the empty list, which the client sends for ().
        return too_long
    listed = ", ".join(str(c) for c in spec.choices)
    separated = _SEPARATOR_NAMES.get(spec.sep, f"{spec.sep!r}")
    for item in value.split(spec.sep):
        if item.strip() not in spec.choices:
            return (
                f"Invalid value for {key}: {item.strip()!r}. "
                f"Valid values: {listed}, separated by {separated}."
            )
    return None


def _check_flag(key: str, value: Any, rule: Rule) -> str | None:
    if (
        isinstance(value, bool)
        or (type(value) is int and value in (0, 1))
        or (isinstance(value, str) and value in _FLAGS)
    ):
        return None
    return f"Invalid value for {key}: use 1 or 0."


def _check_int(key: str, value: Any, rule: Rule) -> str | None:
    spec = rule.spec
    if type(value) is int and value >= 0:
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)  # Komet takes numbers as strings too
    else:
        return f"Invalid value for {key}: {value!r} is not a whole number of 0 or more."
    if spec.max_digits is not None and len(str(number)) > spec.max_digits:
        return f"The {key} is too long (max {spec.max_digits} digits)."
    return _not_a_choice(key, number, spec)


def _check_decimal(key: str, value: Any, rule: Rule) -> str | None:
    spec = rule.spec
    if value == "" and key in BLANK_MEANS_NONE:
        return None
    number = _decimal(value)
    if number is None:
        return f"Invalid value for {key}: {value!r} is not a number."
    whole = None if spec.digits is None else spec.digits - (spec.places or 0)
    if whole is not None and max(0, number.adjusted() + 1) > whole:
        return f"The {key} has too many digits before the decimal point (max {whole})."
    if spec.places is not None and _places(number) > spec.places:
        return f"The {key} has too many decimal places (max {spec.places})."
    return None


def _check_date(key: str, value: Any, rule: Rule) -> str | None:
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return None
    return f"Invalid value for {key}: {value!r} is not a date in the format YYYY-MM-DD."


def _too_long(key: str, value: str, spec: Wire) -> str | None:
    limit = spec.max_len
    if limit is not None and len(value) > limit:
        return f"The {key} is too long (max {limit} character{'' if limit == 1 else 's'})."
    return None


def _not_a_choice(key: str, value: Any, spec: Wire) -> str | None:
    if spec.choices is None or value in spec.choices:
        return None
    listed = ", ".join(str(c) for c in spec.choices)
    return f"Invalid value for {key}: {value!r}. Valid values: {listed}."


def _decimal(value: Any) -> Decimal | None:
    """A JSON number or numeric string as a Decimal; ``None`` when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr() is the shortest text that reads back as this float: the digits
        # the client wrote, for any value within the documented ten digits.
        found = Decimal(repr(value))
    elif isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        try:
            found = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            return None
    else:
        return None
    return found if found.is_finite() else None


def _places(number: Decimal) -> int:
    """Digits after the point, trailing zeros aside (``2500.00`` has none)."""
    exponent = number.normalize().as_tuple().exponent
    # Always an int here: _decimal lets only finite numbers through.
    return max(0, -exponent) if isinstance(exponent, int) else 0


_CHECKS: Final[Mapping[Kind, Callable[[str, Any, Rule], str | None]]] = types.MappingProxyType(
    {
        "str": _check_str,
        "strs": _check_strs,
        "bool": _check_flag,
        "int": _check_int,
        "decimal": _check_decimal,
        "date": _check_date,
    }
)


def _rules() -> Mapping[str, Rule]:
    rules: dict[str, Rule] = {}
    # The fields as the client's own validation reads them (kind, wire facts).
    for attribute, kind, _, spec in request_fields(CustomerUpdate):
        key = wire_name(attribute)
        # A KeyError here means CustomerUpdate gained a kind of field the
        # sandbox cannot check yet: better at import than a silent pass.
        rules[key] = Rule(key, kind, spec, _CHECKS[kind])
    return types.MappingProxyType(rules)


#: Every documented ``customer.update`` input (wire key -> rule), in the document's order.
RULES: Final = _rules()
