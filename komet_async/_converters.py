"""cattrs converters that turn loosely typed API payloads into attrs models.

Converters are built by :func:`make_converter`, never taken from cattrs'
global one. The lenient scalar hooks come first (Komet sends ids as
``"25475"`` or ``25475``, flags as ``"1"``/``1``/``true``, empty strings for
absent values), then one hook factory maps JSON keys to snake_case fields
(camelCase for Komet, as-is for Kounta) and applies per-field wire facts
declared on the models (:mod:`komet_async._wire`).

:class:`Decoder` pairs a fast converter (no detailed validation) with a
detailed one that only runs when the fast one fails, to name the field path
in the :class:`~komet_async.errors.ResponseFormatError`.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._redact import Redactor
from ._wire import spec_of, to_camel, wire_name
from .errors import ResponseFormatError

__all__ = ["Decoder", "make_converter"]

T = TypeVar("T")

Naming = Callable[[str], str]


def _identity(name: str) -> str:
    return name


NAMINGS: Final[dict[str, Naming]] = {"camel": to_camel, "snake": _identity}

_preconf: Callable[..., cattrs.Converter]
try:  # orjson is the `speedups` extra
    from cattrs.preconf.orjson import make_converter as _preconf
except ImportError:  # pragma: no cover - exercised in environments without the extra
    from cattrs.preconf.json import make_converter as _preconf

# --- lenient scalar hooks ----------------------------------------------------

_BOOLS: Final[dict[Any, bool]] = {
    "1": True,
    "0": False,
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    1: True,
    0: False,
}


def _structure_bool(value: Any, _: Any) -> bool:
    if value is True or value is False:
        return value
    key = value.strip().lower() if isinstance(value, str) else value
    if isinstance(key, (str, int)) and not isinstance(key, bool) and key in _BOOLS:
        return _BOOLS[key]
    raise ValueError(f"expected a flag (1/0/true/false), got {value!r}")


def _structure_int(value: Any, _: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str):
        text = value.strip()
        body = text[1:] if text[:1] in "+-" else text
        if body.isascii() and body.isdigit():
            return int(text)
    elif isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"expected an integer, got {value!r}")


def _structure_str(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)  # a code or phone sent as a number
    raise ValueError(f"expected a string, got {type(value).__name__}")


def _structure_decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"expected a decimal number, got {value!r}")
    try:
        if isinstance(value, float):
            result = Decimal(repr(value))
        elif isinstance(value, (int, str, Decimal)):
            result = Decimal(value.strip() if isinstance(value, str) else value)
        else:
            raise ValueError(f"expected a decimal number, got {type(value).__name__}")
    except InvalidOperation:
        raise ValueError(f"expected a decimal number, got {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"expected a finite decimal number, got {value!r}")
    return result


def _structure_date(value: Any, _: Any) -> dt.date:
    if isinstance(value, str):
        text = value.strip()
        # A date field that arrives as a timestamp keeps its date part.
        if len(text) > 10 and text[10] in "T ":
            text = text[:10]
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")


def _structure_datetime(value: Any, _: Any) -> dt.datetime:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        if len(text) >= 10 and (len(text) == 10 or text[10] in "+-"):
            # A date alone (with or without an offset) means its midnight;
            # Python < 3.12 would otherwise drop the offset.
            text = f"{text[:10]}T00:00:00{text[10:]}"
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"expected a date-time YYYY-MM-DDThh:mm:ss, got {value!r}")


def _is_optional(tp: Any) -> bool:
    args = typing.get_args(tp)
    return (
        typing.get_origin(tp) in (typing.Union, _UnionType)
        and len(args) == 2
        and type(None) in args
    )


_UnionType: Any = type(int | None)


def _is_homogeneous_tuple(tp: Any) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_sequence(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return _is_homogeneous_tuple(tp) or (origin is list and len(typing.get_args(tp)) == 1)


def _split(sep: str) -> Callable[[Any, Any], tuple[str, ...]]:
    def structure(value: Any, _: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return tuple(part for part in (p.strip() for p in value.split(sep)) if part)
        if isinstance(value, list):
            return tuple(_structure_str(v, str) for v in value)
        raise ValueError(f"expected a {sep!r}-separated string or a list, got {value!r}")

    return structure


def make_converter(
    *,
    naming: str = "camel",
    strict: bool = False,
    detailed_validation: bool = True,
) -> cattrs.Converter:
    """Build a converter for API payloads.

    ``naming`` is how JSON keys relate to field names: ``"camel"`` (Komet) or
    ``"snake"`` (Kounta). ``strict=True`` refuses unknown keys, so tests catch
    schema drift; production is lenient. ``detailed_validation=False`` is the
    fast variant (no field paths in errors).
    """
    name_of = NAMINGS[naming]
    # The preconf converter brings the JSON library's unstructuring (dates,
    # bytes ...); every structure hook that matters is ours, registered below.
    converter = _preconf(
        detailed_validation=detailed_validation,
        forbid_extra_keys=strict,
        prefer_attrib_converters=False,
    )
    for tp, hook in (
        (bool, _structure_bool),
        (int, _structure_int),
        (str, _structure_str),
        (Decimal, _structure_decimal),
        (dt.date, _structure_date),
        (dt.datetime, _structure_datetime),
    ):
        converter.register_structure_hook(tp, hook)

    def optional_factory(tp: Any) -> Callable[[Any, Any], Any]:
        inner_type = next(a for a in typing.get_args(tp) if a is not type(None))
        inner = converter.get_structure_hook(inner_type)

        def structure(value: Any, _: Any) -> Any:
            # Komet sends "" for values it does not have.
            if value is None or value == "":
                return None
            return inner(value, inner_type)

        return structure

    def sequence_factory(tp: Any) -> Callable[[Any, Any], Any]:
        # Our own list/tuple hook: ``null`` for a list is empty, a non-list is
        # an error (cattrs would iterate a dict's keys), and paths keep indexes.
        item_type = typing.get_args(tp)[0]
        if item_type is str and typing.get_origin(tp) is tuple:
            return _split(",")
        item = converter.get_structure_hook(item_type)
        make: Callable[[list[Any]], Any] = tuple if typing.get_origin(tp) is tuple else list

        def structure(value: Any, _: Any) -> Any:
            if value is None:
                return make([])
            if not isinstance(value, list):
                raise ValueError(f"expected a list, got {type(value).__name__}")
            if not detailed_validation:
                return make([item(v, item_type) for v in value])
            out, errors = [], []
            for index, v in enumerate(value):
                try:
                    out.append(item(v, item_type))
                except Exception as exc:
                    typing.cast(Any, exc).__notes__ = [
                        *getattr(exc, "__notes__", []),
                        IterableValidationNote(
                            f"Structuring {tp} @ index {index}", index, item_type
                        ),
                    ]
                    errors.append(exc)
            if errors:
                raise IterableValidationError(f"While structuring {tp!r}", errors, tp)
            return make(out)

        return structure

    def attrs_structure_factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
        # Models use ``from __future__ import annotations``: until resolved,
        # ``a.type`` is a string and a declared separator would be ignored.
        attrs.resolve_types(cls)
        overrides: dict[str, Any] = {}
        for a in attrs.fields(cls):
            hook = None
            if (
                a.type is not None
                and _is_homogeneous_tuple(a.type)
                and typing.get_args(a.type)[0] is str
            ):
                hook = _split(spec_of(a).sep)
            overrides[a.name] = override(rename=wire_name(a, name_of), struct_hook=hook)
        generated = make_dict_structure_fn(cls, converter, **overrides)

        def structure(value: Any, tp: Any) -> Any:
            # Both variants check: with every field optional, the generated code
            # would read a string as an object with nothing set.
            if not isinstance(value, dict):
                raise ValueError(f"expected an object, got {type(value).__name__}")
            return generated(value, tp)

        return structure

    def attrs_unstructure_factory(cls: type[Any]) -> Callable[[Any], Any]:
        overrides: dict[str, Any] = {
            a.name: override(rename=wire_name(a, name_of)) for a in attrs.fields(cls)
        }
        return make_dict_unstructure_fn(cls, converter, **overrides)

    converter.register_structure_hook_factory(_is_optional, optional_factory)
    converter.register_structure_hook_factory(_is_sequence, sequence_factory)
    converter.register_structure_hook_factory(attrs.has, attrs_structure_factory)
    converter.register_unstructure_hook_factory(attrs.has, attrs_unstructure_factory)
    return converter


# --- decoding with field paths ----------------------------------------------


class Decoder:
    """Structures payloads fast, and explains failures with a field path.

    The fast converter runs without detailed validation; only when it fails
    does the detailed converter run again on the same data, to find the path
    and value that broke (``customers[3].salesPersonId``).
    """

    def __init__(
        self, *, naming: str = "camel", strict: bool = False, redactor: Redactor | None = None
    ) -> None:
        self.naming = naming
        self.strict = strict
        self.redactor = redactor or Redactor()
        self._fast = make_converter(naming=naming, strict=strict, detailed_validation=False)
        self._detailed = make_converter(naming=naming, strict=strict, detailed_validation=True)

    def structure(
        self, data: Any, tp: type[T] | Any, *, path: str = "", method: str | None = None
    ) -> T:
        """Structure ``data`` as ``tp``; raise :class:`ResponseFormatError` naming the path."""
        try:
            return typing.cast(T, self._fast.structure(data, tp))
        except Exception:
            return typing.cast(T, self._structure_detailed(data, tp, path, method))

    def _structure_detailed(self, data: Any, tp: Any, path: str, method: str | None) -> Any:
        try:
            return self._detailed.structure(data, tp)
        except Exception as exc:
            raise self._explain(exc, data, path, method) from None

    def unstructure(self, obj: Any) -> Any:
        """Turn a model back into JSON-ready data (wire keys)."""
        return self._fast.unstructure(obj)

    def _explain(
        self, exc: BaseException, data: Any, path: str, method: str | None
    ) -> ResponseFormatError:
        parts, leaf = _locate(exc, self.naming)
        joined = path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
        full = joined.lstrip(".") or None
        value = _walk(data, parts)
        if isinstance(leaf, KeyError):
            reason = "required field is missing"
        elif isinstance(leaf, ForbiddenExtraKeysError):
            reason = f"unexpected keys {sorted(leaf.extra_fields)}"
        else:
            reason = str(leaf) or type(leaf).__name__
        where = f"{method}: " if method else ""
        # Redact before shortening: a secret cut in half would escape redaction.
        value = self._redact_value(value)
        shown = "" if isinstance(leaf, KeyError) else f" = {_shorten(repr(value))}"
        reason = _shorten(self.redactor.text(reason), 160)
        return ResponseFormatError(
            f"{where}cannot read {full or 'the response'}{shown}: {reason}",
            path=full,
            value=value,
            method=method,
        )

    def _redact_value(self, value: Any) -> Any:
        """``value`` with secrets redacted in every string inside it (keys included)."""
        if isinstance(value, str):
            return self.redactor.text(value)
        if isinstance(value, dict):
            return {self._redact_value(k): self._redact_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact_value(v) for v in value]
        return value


def _locate(exc: BaseException, naming: str) -> tuple[list[str | int], BaseException]:
    """Follow the first failure down a cattrs error tree: its path and the leaf error."""
    parts: list[str | int] = []
    name_of = NAMINGS[naming]
    while isinstance(exc, BaseValidationError) and exc.exceptions:
        sub = exc.exceptions[0]
        for note in getattr(sub, "__notes__", []):
            if isinstance(note, AttributeValidationNote) and isinstance(exc, ClassValidationError):
                field = attrs.fields_dict(exc.cl).get(note.name)
                parts.append(wire_name(field, name_of) if field is not None else note.name)
                break
            if isinstance(note, IterableValidationNote):
                parts.append(note.index if isinstance(note.index, int) else str(note.index))
                break
        exc = sub
    return parts, exc


def _walk(data: Any, parts: list[str | int]) -> Any:
    for part in parts:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
