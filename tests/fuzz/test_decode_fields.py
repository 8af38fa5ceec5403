"""Any JSON value in any field of any response model: a model, or ResponseFormatError.

Each property starts from a valid wire record (the samples in ``tests/samples``
and the sandbox generators), changes one place in it (nested ones too) and
decodes it the way the clients do, with :meth:`Decoder.structure`.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from komet_async import ResponseFormatError
from komet_async._converters import Decoder

from .conftest import FUZZ
from .payloads import komet_bases, kounta_bases, wire_keys
from .strategies import (
    Step,
    conforms,
    json_values,
    paths,
    removed,
    replaced,
    spelled,
    within,
)

METHOD = "fuzz.method"

DECODERS = {"camel": Decoder(naming="camel"), "snake": Decoder(naming="snake")}

CASES = [
    *(pytest.param("camel", m, id=f"komet-{m.__name__}") for m in komet_bases()),
    *(pytest.param("snake", m, id=f"kounta-{m.__name__}") for m in kounta_bases()),
]


def bases(naming: str, model: type[Any]) -> list[Any]:
    return (komet_bases() if naming == "camel" else kounta_bases())[model]


def decode(naming: str, data: Any, model: Any, *, path: str = "") -> Any:
    """Decode like the clients do; the result, or the ResponseFormatError (nothing else)."""
    try:
        return DECODERS[naming].structure(data, model, path=path, method=METHOD)
    except ResponseFormatError as exc:
        error = exc
    assert type(error) is ResponseFormatError
    assert str(error).startswith(f"{METHOD}: cannot read {error.path or 'the response'}")
    assert error.method == METHOD
    return error


@pytest.mark.parametrize(("naming", "model"), CASES)
def test_base_payloads_decode_and_name_every_field(naming: str, model: type[Any]) -> None:
    """Every base record decodes strictly, and together they carry every field of the model."""
    strict = Decoder(naming=naming, strict=True)
    seen: set[str] = set()
    for base in bases(naming, model):
        assert conforms(strict.structure(base, model), model)
        seen |= set(base)
    assert wire_keys(model, naming) <= seen


@pytest.mark.parametrize(("naming", "model"), CASES)
@FUZZ
@given(data=st.data(), value=json_values)
def test_any_value_in_any_field(naming: str, model: type[Any], data: Any, value: Any) -> None:
    """Any JSON value in any (nested) field decodes, fast and detailed alike, or fails there."""
    base = data.draw(st.sampled_from(bases(naming, model)))
    where = data.draw(st.sampled_from(list(paths(base))))
    payload = replaced(base, where, value)
    result = decode(naming, payload, model)
    if isinstance(result, ResponseFormatError):
        assert at_or_inside(result.path, where), (result.path, spelled(where))
    else:
        assert conforms(result, model)
    # Whatever the fast converter accepts, the detailed one reads the same way.
    decoder = DECODERS[naming]
    try:
        fast = decoder._fast.structure(payload, model)
    except Exception:  # the fast converter may fail on anything: the detailed one explains
        return
    assert decoder._detailed.structure(payload, model) == fast == result


def at_or_inside(error_path: str | None, where: tuple[Step, ...]) -> bool:
    """The error names ``where`` (or inside it); an item of a string list may name the list.

    String lists (``tags``, ``lines``, ``days``) are one wire field, sent
    joined or as a list, and read by one hook: its error names the field.
    """
    if within(error_path, where):
        return True
    return isinstance(where[-1], int) and error_path == spelled(where[:-1])


@pytest.mark.parametrize(("naming", "model"), CASES)
@FUZZ
@given(data=st.data())
def test_any_key_removed(naming: str, model: type[Any], data: Any) -> None:
    """A key removed anywhere decodes (an optional field) or names the missing field."""
    base = data.draw(st.sampled_from(bases(naming, model)))
    keys = [p for p in paths(base) if isinstance(p[-1], str)]
    where = data.draw(st.sampled_from(keys))
    result = decode(naming, removed(base, where), model)
    if isinstance(result, ResponseFormatError):
        assert result.path == spelled(where)
        assert str(result) == f"{METHOD}: cannot read {spelled(where)}: required field is missing"
    else:
        assert conforms(result, model)


@pytest.mark.parametrize(("naming", "model"), CASES)
@FUZZ
@given(value=json_values)
def test_any_value_as_the_whole_record(naming: str, model: type[Any], value: Any) -> None:
    """Any JSON value in place of a whole record, or of a list of them, decodes or fails typed."""
    result = decode(naming, value, model)
    assert isinstance(result, ResponseFormatError) or conforms(result, model)
    many = decode(naming, value, list[model], path="records")  # type: ignore[valid-type]
    if isinstance(many, ResponseFormatError):
        assert within(many.path, ("records",))
    else:
        assert conforms(many, list[model])  # type: ignore[valid-type]


@pytest.mark.parametrize(("naming", "model"), CASES)
@FUZZ
@given(data=st.data(), value=json_values)
def test_a_bad_record_in_a_list_is_named_by_index(
    naming: str, model: type[Any], data: Any, value: Any
) -> None:
    """In a list of records, a failure names the record's index and the field inside it."""
    records = bases(naming, model)
    index = data.draw(st.integers(0, len(records) - 1))
    where = data.draw(st.sampled_from([(index,), *((index, *p) for p in paths(records[index]))]))
    as_list = list[model]  # type: ignore[valid-type]
    result = decode(naming, replaced(records, where, value), as_list, path="records")
    if isinstance(result, ResponseFormatError):
        assert at_or_inside(result.path, ("records", *where)), (result.path, where)
    else:
        assert conforms(result, list[model])  # type: ignore[valid-type]
