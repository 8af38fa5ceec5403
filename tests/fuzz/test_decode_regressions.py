"""Values the fuzzer found that once escaped as bare exceptions, pinned as plain examples."""

from __future__ import annotations

from typing import Any

import pytest

from komet_async import ResponseFormatError
from komet_async._converters import Decoder
from komet_async.models import Customer, CustomerUpdate


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def test_int_too_long_to_print_is_a_format_error() -> None:
    """An int past str()'s 4,300-digit limit is described by its size, not repr()'d."""
    with pytest.raises(ResponseFormatError) as info:
        Decoder().structure(10**5000, Customer, method="customer.list")
    assert str(info.value) == (
        "customer.list: cannot read the response = <an integer of 16610 bits>: "
        "expected an object, got int"
    )
    assert info.value.path is None
    assert info.value.value == 10**5000


def test_value_nested_past_the_recursion_limit_is_a_format_error() -> None:
    """A field holding 1,000 nested lists (orjson allows 1,024) fails at that field, shown cut."""
    with pytest.raises(ResponseFormatError) as info:
        Decoder().structure({"id": 1, "name": "n", "active": nested(1000)}, Customer)
    assert str(info.value) == (
        "cannot read active = [[[[[...]]]]]: expected a flag (1/0/true/false), got [[[[[...]]]]]"
    )
    assert info.value.path == "active"
    assert info.value.value == cut(32)


def cut(depth: int) -> Any:
    value: Any = "…"
    for _ in range(depth):
        value = [value]
    return value


def test_deep_record_in_a_list_is_named_by_index() -> None:
    """A deep value in place of a record names the record; .value keeps 32 levels."""
    with pytest.raises(ResponseFormatError) as info:
        Decoder().structure(
            [{"id": 1, "name": "a"}, nested(1000)], list[Customer], path="customers"
        )
    assert (
        str(info.value) == "cannot read customers[1] = [[[[[...]]]]]: expected an object, got list"
    )
    assert info.value.path == "customers[1]"
    assert info.value.value == cut(32)


def test_optional_string_tuple_splits_on_its_declared_separator() -> None:
    """An optional string tuple reads its declared separator (';', ':'), and "" as None."""
    update = Decoder().structure(
        {
            "customerId": "25475",
            "name": "Flores SAS",
            "emailForStatements": "a@example.com; b@example.com",
            "locationCodes": "MIA:BOG",
            "emailForInvoices": "",
        },
        CustomerUpdate,
    )
    assert update.email_for_statements == ("a@example.com", "b@example.com")
    assert update.location_codes == ("MIA", "BOG")
    assert update.email_for_invoices is None
