"""Converters: lenient scalars, wire keys, every documented sample, and field paths in errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import cattrs
import pytest
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError

from komet_async import (
    Breakdown,
    Customer,
    CustomField,
    Decoder,
    Product,
    ResponseFormatError,
    StandingOrder,
    StandingOrderDetail,
    make_converter,
)
from komet_async._redact import Redactor
from komet_async._sansio import decode_json, encode_json_body
from komet_async._wire import wire

from .conftest import TOKEN

SAMPLES = Path(__file__).parent / "samples"
UTC = dt.timezone.utc


def sample(name: str) -> Any:
    """A documented sample response, parsed from its bytes as the client parses them."""
    return decode_json((SAMPLES / name).read_bytes())


@pytest.fixture
def decoder() -> Decoder:
    """A strict decoder: a key the models do not know fails the test (schema drift)."""
    return Decoder(strict=True)


# --- the documented samples, decoded in full ------------------------------------

CUSTOMERS = [
    Customer(
        id=25475,
        name="2-14 BRIDAL CAKES",
        code="T3526",
        accounting_code="ACC10",
        active=True,
        sales_person="Julian Mejía",
        sales_person_id=1819,
        customer_type="PART-TIME FLORIST",
        updated_on=dt.datetime(2017, 8, 2, 12, 15, 17),
    ),
    # The sample repeats "customerType" ("" then "Retailer"): the last one wins,
    # and accountingCode / salesPerson are simply absent.
    Customer(
        id=29775,
        name="Flores SAS",
        code="ASS",
        accounting_code=None,
        active=True,
        sales_person=None,
        sales_person_id=23423,
        customer_type="Retailer",
        updated_on=dt.datetime(2017, 9, 15, 17, 2, 50),
    ),
]

PRODUCTS = [
    Product(
        id=1,
        description="Product description I",
        active=None,
        category="Category I",
        division_id=1,
        division_description="Flowers",
        variety="Variety I",
        color="Color I",
        grade="Grade I",
        legacy_code="LH001",
        tags=("standard", "xmas"),
    ),
    Product(
        id=2,
        description="Product description II",
        active=None,
        category="Category II",
        division_id=1,
        division_description="Plants",
        variety="Variety II",
        color="Color II",
        grade="Grade II",
        legacy_code="LH002",
        tags=("standard",),
    ),
]

STANDING_ORDERS = [
    StandingOrder(
        id=3512,
        number=1047,
        customer_name="2-14 BRIDAL CAKES",
        customer_code="T3526",
        price_list="Wholesale A",
        carrier_name="FedEx Priority",
        recurrence=1,
        days=("Sunday", "Wednesday"),
        start_date=dt.date(2015, 1, 4),
        end_date=dt.date(2015, 12, 30),
        salesperson="Julian Mejía",
        location_code="MIA",
        location_name="Miami Warehouse",
        ship_to_name="2-14 Bridal Cakes - Store 2",
        ship_to_carrier="FedEx Priority",
        ship_to_street="1200 NW 78th Ave",
        ship_to_city="Doral",
        ship_to_state="FL",
        ship_to_zipcode="33126",
        ship_to_country="United States",
        ship_to_phone="305-555-0142",
        ship_to_fax=None,
        details=(
            StandingOrderDetail(
                so_item_id=88121,
                product_id=1,
                product_description="Product description I",
                units=250,
                unit_type="stem",
                bunches=10,
                total_boxes=2,
                total_units=500,
                unit_price=Decimal("0.45"),
                total_price=Decimal("225.00"),
                unit_cost=Decimal("0.30"),
                total_cost=Decimal("150.00"),
                stems_bunch=25,
                mark_code="SLOT 12",
                box_type="QB",
                vendor_name="Flores de la Sabana",
                is_assorted=False,
                breakdowns=(),
                custom_fields=(CustomField(name="Sleeve", description="Clear sleeve, printed"),),
            ),
            StandingOrderDetail(
                so_item_id=88122,
                product_id=2,
                product_description="Assorted Carnations",
                units=12,
                unit_type="bunch",
                bunches=12,
                total_boxes=1,
                total_units=12,
                unit_price=Decimal("4.5"),
                total_price=Decimal("54"),
                unit_cost=Decimal("3.25"),
                total_cost=Decimal("39"),
                stems_bunch=20,
                mark_code=None,
                box_type="HB",
                vendor_name="Flores de la Sabana",
                is_assorted=True,
                breakdowns=(
                    Breakdown(
                        product_id=301,
                        product_description="Carnation Red Fancy",
                        stems_bunch=20,
                        bunches=6,
                        price=Decimal("4.50"),
                    ),
                    Breakdown(
                        product_id=302,
                        product_description="Carnation White Fancy",
                        stems_bunch=20,
                        bunches=6,
                        price=Decimal("4.5"),
                    ),
                ),
                custom_fields=(
                    CustomField(name="Sleeve", description="Kraft"),
                    CustomField(name="Flower food", description=None),
                ),
            ),
        ),
    ),
    StandingOrder(
        id=3620,
        number=1102,
        customer_name="Flores SAS",
        customer_code="ASS",
        price_list=None,
        carrier_name="Armellini",
        recurrence=2,
        days=("Monday",),
        start_date=dt.date(2015, 3, 2),
        end_date=dt.date(2015, 6, 29),
        salesperson=None,
        location_code="MIA",
        location_name="Miami Warehouse",
        ship_to_name=None,
        ship_to_carrier=None,
        ship_to_street=None,
        ship_to_city=None,
        ship_to_state=None,
        ship_to_zipcode=None,
        ship_to_country=None,
        ship_to_phone=None,
        ship_to_fax=None,
        details=(
            StandingOrderDetail(
                so_item_id=90410,
                product_id=2,
                product_description="Product description II",
                units=100,
                unit_type="stem",
                bunches=4,
                total_boxes=3,
                total_units=300,
                unit_price=Decimal("1.10"),
                total_price=Decimal("330.00"),
                unit_cost=Decimal("0.85"),
                total_cost=Decimal("255.00"),
                stems_bunch=25,
                mark_code="A-7",
                box_type="EB",
                vendor_name="Plantas del Valle",
                is_assorted=False,
                breakdowns=(),
                custom_fields=(),
            ),
        ),
    ),
]

# customer.list.json and product.list.json are the documents' sample responses,
# byte for byte. standing.order.list and customer.update document no sample:
# their files are built from the documented output fields, loosely typed the
# way Komet answers elsewhere (ids as strings or numbers, "" for absent values).
DOCUMENTED = [
    ("customer.list.json", "customers", Customer, CUSTOMERS),
    ("product.list.json", "products", Product, PRODUCTS),
    ("standing.order.list.json", "standingOrders", StandingOrder, STANDING_ORDERS),
]


@pytest.mark.parametrize(("name", "key", "model", "expected"), DOCUMENTED)
def test_documented_samples_decode_exactly(
    decoder: Decoder, name: str, key: str, model: type[Any], expected: list[Any]
) -> None:
    """Each documented sample decodes (strictly) into exactly the expected models."""
    data = sample(name)
    assert data["status"] == "1"
    assert decoder.structure(data[key], list[model], path=key) == expected  # type: ignore[valid-type]


def test_decoded_decimals_keep_the_sample_digits(decoder: Decoder) -> None:
    """Decimals keep the digits written in the sample ("225.00" stays 225.00, 4.5 stays 4.5)."""
    orders = decoder.structure(
        sample("standing.order.list.json")["standingOrders"], list[StandingOrder]
    )
    first, assorted = orders[0].details
    assert str(first.total_price) == "225.00"
    assert str(first.unit_cost) == "0.30"
    assert str(assorted.unit_price) == "4.5"
    assert str(assorted.breakdowns[0].price) == "4.50"


def test_customer_update_sample_id_is_an_int(decoder: Decoder) -> None:
    """customer.update's "customerId": "25475" decodes to the int 25475."""
    data = sample("customer.update.json")
    assert data == {"status": "1", "message": "OK", "customerId": "25475"}
    assert decoder.structure(data["customerId"], int, path="customerId") == 25475


@pytest.mark.parametrize(("name", "key", "model", "expected"), DOCUMENTED)
def test_models_round_trip_through_the_wire(
    decoder: Decoder, name: str, key: str, model: type[Any], expected: list[Any]
) -> None:
    """Unstructured models use the wire keys (customField included) and decode back equal."""
    raw = encode_json_body(decoder.unstructure(expected))
    assert decoder.structure(decode_json(raw), list[model]) == expected  # type: ignore[valid-type]


def test_unstructure_uses_wire_keys(decoder: Decoder) -> None:
    """Unstructuring writes camelCase keys and the declared customField key."""
    detail = StandingOrderDetail(so_item_id=1, custom_fields=(CustomField(name="a"),))
    data = decoder.unstructure(detail)
    assert data["soItemId"] == 1
    assert data["customField"] == [{"name": "a", "description": None}]
    assert "customFields" not in data
    assert "custom_fields" not in data


# --- lenient scalars -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("25475", 25475), (25475, 25475), (" 7 ", 7), ("+5", 5), ("-5", -5), ("0", 0), (3.0, 3)],
)
def test_int_is_lenient(value: Any, expected: int) -> None:
    """Integers come as numbers or numeric strings (surrounding spaces allowed)."""
    result = Decoder().structure(value, int)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "value", ["1_000", "x", "", "1.5", "1e3", "٣", 3.5, True, False, None, [1], {}]
)
def test_int_rejects_non_integers(value: Any) -> None:
    """Underscores, words, fractions, booleans and containers are not integers."""
    with pytest.raises(ResponseFormatError) as info:
        Decoder().structure(value, int, path="customerId")
    assert info.value.path == "customerId"
    assert info.value.value == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("0", False),
        (1, True),
        (0, False),
        (True, True),
        (False, False),
        ("true", True),
        ("false", False),
        ("TRUE", True),
        ("False", False),
        (" 1 ", True),
        ("yes", True),
        ("no", False),
    ],
)
def test_bool_is_lenient(value: Any, expected: bool) -> None:
    """Flags come as "1"/"0", 1/0, JSON booleans or "true"/"false"."""
    assert Decoder().structure(value, bool) is expected


@pytest.mark.parametrize("value", ["2", 2, -1, "", "y", "on", 1.0, None, [1]])
def test_bool_rejects_other_values(value: Any) -> None:
    """Anything that is not a recognised flag is refused, not guessed."""
    with pytest.raises(ResponseFormatError) as info:
        Decoder().structure(value, bool, path="active")
    assert info.value.path == "active"
    assert "expected a flag (1/0/true/false)" in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", "12.50"),
        (" 12.50 ", "12.50"),
        (12.5, "12.5"),
        (12, "12"),
        (0.1, "0.1"),  # from the float's repr, not its binary expansion
        ("-3.25", "-3.25"),
        ("1E+2", "1E+2"),
        (Decimal("7.00"), "7.00"),
    ],
)
def test_decimal_is_exact(value: Any, expected: str) -> None:
    """Decimals come from strings or numbers and keep the digits that were sent."""
    result = Decoder().structure(value, Decimal)
    assert type(result) is Decimal
    assert str(result) == expected


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "-inf", "1,50", "", "abc", True, [1], {}, None]
)
def test_decimal_rejects_non_numbers(value: Any) -> None:
    """Non-finite, malformed and non-numeric values are not decimals."""
    with pytest.raises(ResponseFormatError) as info:
        Decoder().structure(value, Decimal, path="price")
    assert info.value.path == "price"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-01-01", dt.date(2015, 1, 1)),
        (" 2015-12-31 ", dt.date(2015, 12, 31)),
        ("2017-08-02T12:15:17", dt.date(2017, 8, 2)),
        ("2017-08-02 12:15:17", dt.date(2017, 8, 2)),
    ],
)
def test_date_parsing(value: str, expected: dt.date) -> None:
    """Dates are YYYY-MM-DD; a timestamp in a date field keeps its date part."""
    result = Decoder().structure(value, dt.date)
    assert result == expected
    assert type(result) is dt.date


@pytest.mark.parametrize("value", ["02/08/2017", "2017-13-01", "", "yesterday", 20170802, None])
def test_date_rejects_other_formats(value: Any) -> None:
    """Dates in other formats or types are refused."""
    with pytest.raises(ResponseFormatError, match="expected a date YYYY-MM-DD"):
        Decoder().structure(value, dt.date, path="startDate")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2017-08-02T12:15:17", dt.datetime(2017, 8, 2, 12, 15, 17)),
        ("2017-08-02T12:15:17Z", dt.datetime(2017, 8, 2, 12, 15, 17, tzinfo=UTC)),
        ("2017-08-02T12:15:17z", dt.datetime(2017, 8, 2, 12, 15, 17, tzinfo=UTC)),
        (
            "2017-08-02T12:15:17-05:00",
            dt.datetime(2017, 8, 2, 12, 15, 17, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        ),
        ("2017-08-02T12:15:17.250", dt.datetime(2017, 8, 2, 12, 15, 17, 250_000)),
        ("2017-08-02 12:15:17", dt.datetime(2017, 8, 2, 12, 15, 17)),
        (" 2017-08-02T12:15:17 ", dt.datetime(2017, 8, 2, 12, 15, 17)),
    ],
)
def test_datetime_parsing(value: str, expected: dt.datetime) -> None:
    """Datetimes are ISO 8601; a trailing Z means UTC, no zone stays naive."""
    result = Decoder().structure(value, dt.datetime)
    assert result == expected
    assert result.tzinfo == expected.tzinfo


@pytest.mark.parametrize("value", ["yesterday", "2017-13-02T00:00:00", "", 1501676117, None])
def test_datetime_rejects_other_values(value: Any) -> None:
    """Unparseable text, Unix numbers and null are not datetimes."""
    with pytest.raises(ResponseFormatError, match="expected a date-time"):
        Decoder().structure(value, dt.datetime, path="updatedOn")


@pytest.mark.parametrize(
    ("value", "expected"), [("abc", "abc"), ("", ""), (1819, "1819"), (1.5, "1.5")]
)
def test_str_accepts_text_and_numbers(value: Any, expected: str) -> None:
    """Codes and phones sent as numbers become their text."""
    assert Decoder().structure(value, str) == expected


@pytest.mark.parametrize(
    ("value", "kind"), [(True, "bool"), ({}, "dict"), ([], "list"), (None, "NoneType")]
)
def test_str_rejects_other_types(value: Any, kind: str) -> None:
    """Booleans, objects, lists and null are not strings."""
    with pytest.raises(ResponseFormatError, match=f"expected a string, got {kind}"):
        Decoder().structure(value, str, path="name")


@pytest.mark.parametrize(
    "tp", [int | None, str | None, bool | None, Decimal | None, dt.date | None, dt.datetime | None]
)
@pytest.mark.parametrize("value", ["", None])
def test_empty_string_and_null_are_none_for_optional_fields(tp: Any, value: Any) -> None:
    """Komet's "" (and null) for a value it does not have becomes None."""
    assert Decoder().structure(value, tp) is None


# --- models: keys, defaults, lists ------------------------------------------------


def test_unknown_keys_are_ignored_by_default() -> None:
    """Production decoding is lenient: keys the models do not know are ignored."""
    data = [{"id": "1", "name": "x", "newField": "surprise", "status": 3}]
    assert Decoder().structure(data, list[Customer]) == [Customer(id=1, name="x")]


def test_unknown_keys_are_refused_when_strict() -> None:
    """A strict decoder refuses unknown keys and names them (schema drift fails a test)."""
    data = [{"id": "1", "name": "x"}, {"id": "2", "name": "y", "newField": 1, "another": 2}]
    with pytest.raises(ResponseFormatError) as info:
        Decoder(strict=True).structure(
            data, list[Customer], path="customers", method="customer.list"
        )
    err = info.value
    assert err.path == "customers[1]"
    assert err.value == {"id": "2", "name": "y", "newField": 1, "another": 2}
    assert str(err).endswith("unexpected keys ['another', 'newField']")


def test_snake_case_keys_do_not_match_camel_case_models() -> None:
    """Komet keys are camelCase: a snake_case key is unknown, and strict mode says so."""
    with pytest.raises(ResponseFormatError, match=r"unexpected keys \['sales_person_id'\]"):
        Decoder(strict=True).structure({"id": 1, "name": "x", "sales_person_id": 5}, Customer)
    assert (
        Decoder().structure({"id": 1, "name": "x", "sales_person_id": 5}, Customer).sales_person_id
        is None
    )


def test_missing_optional_keys_are_none_or_empty() -> None:
    """Absent optional fields are None; absent lists are empty tuples."""
    assert Decoder(strict=True).structure({"id": "7", "name": "Solo"}, Customer) == Customer(
        id=7,
        name="Solo",
        code=None,
        accounting_code=None,
        active=None,
        sales_person=None,
        sales_person_id=None,
        customer_type=None,
        updated_on=None,
    )
    order = Decoder(strict=True).structure({"id": 1}, StandingOrder)
    assert order.details == ()
    assert order.days == ()
    assert order.start_date is None
    detail = Decoder(strict=True).structure({"soItemId": 1}, StandingOrderDetail)
    assert detail.breakdowns == ()
    assert detail.custom_fields == ()


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("standard,xmas", ("standard", "xmas")),
        ("standard", ("standard",)),
        (" standard , xmas ", ("standard", "xmas")),
        ("standard,,xmas,", ("standard", "xmas")),
        ("", ()),
        (None, ()),
        (["standard", "xmas"], ("standard", "xmas")),
        ([], ()),
    ],
)
def test_tags_comma_string_becomes_a_tuple(tags: Any, expected: tuple[str, ...]) -> None:
    """Product tags arrive comma-separated (or as a list, or null) and become a tuple."""
    product = Decoder(strict=True).structure({"id": 1, "description": "d", "tags": tags}, Product)
    assert product.tags == expected


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ("Sunday, Monday", ("Sunday", "Monday")),
        ("Monday,Tuesday,Friday", ("Monday", "Tuesday", "Friday")),
        ("Saturday", ("Saturday",)),
        ("", ()),
    ],
)
def test_days_comma_string_becomes_a_tuple(days: str, expected: tuple[str, ...]) -> None:
    """Standing order days arrive as "Sunday, Monday" and become a tuple of names."""
    assert Decoder(strict=True).structure({"id": 1, "days": days}, StandingOrder).days == expected


def test_custom_field_key_maps_to_custom_fields() -> None:
    """The wire key customField fills custom_fields; null lists become ()."""
    detail = Decoder(strict=True).structure(
        {
            "soItemId": "5",
            "customField": [{"name": "Sleeve", "description": "Kraft"}, {"name": "Food"}],
            "breakdowns": None,
        },
        StandingOrderDetail,
    )
    assert detail == StandingOrderDetail(
        so_item_id=5,
        breakdowns=(),
        custom_fields=(CustomField(name="Sleeve", description="Kraft"), CustomField(name="Food")),
    )
    nulls = Decoder(strict=True).structure(
        {"soItemId": 5, "customField": None}, StandingOrderDetail
    )
    assert nulls.custom_fields == ()


def test_null_payload_list_is_empty() -> None:
    """A null where a list of records is expected decodes to an empty list."""
    assert Decoder().structure(None, list[Customer]) == []
    assert Decoder().structure(None, tuple[Customer, ...]) == ()


@attrs.frozen
class _Contact:
    """A model declaring a non-comma separator, to pin that Wire.sep is honoured."""

    id: int
    emails: tuple[str, ...] = attrs.field(default=(), metadata=wire(sep=";"))
    codes: tuple[str, ...] = attrs.field(default=(), metadata=wire(key="locationCodes", sep=":"))


def test_declared_separator_and_key_are_honoured_on_first_use() -> None:
    """A field's declared separator and key apply from the very first decode."""
    data = {"id": 1, "emails": "a@x.com; b@y.com", "locationCodes": "MIA:BOG"}
    expected = _Contact(id=1, emails=("a@x.com", "b@y.com"), codes=("MIA", "BOG"))
    assert Decoder(strict=True).structure(data, _Contact) == expected
    assert make_converter(detailed_validation=False).structure(data, _Contact) == expected


def test_make_converter_snake_naming() -> None:
    """naming="snake" reads snake_case keys as they are (the Kounta style)."""
    converter = make_converter(naming="snake", strict=True)
    assert converter.structure(
        {"id": "3", "name": "n", "sales_person_id": "9"}, Customer
    ) == Customer(id=3, name="n", sales_person_id=9)


def test_make_converter_builds_independent_converters() -> None:
    """Every call builds a new converter; none is cattrs' global one."""
    first, second = make_converter(), make_converter()
    assert first is not second
    assert first is not cattrs.global_converter
    assert isinstance(first, cattrs.Converter)


def test_make_converter_strict_raises_on_unknown_keys() -> None:
    """The strict flag reaches the converter itself, not only the Decoder."""
    with pytest.raises(ClassValidationError) as info:
        make_converter(strict=True).structure({"id": 1, "name": "n", "x": 1}, Customer)
    (extra,) = info.value.exceptions
    assert isinstance(extra, ForbiddenExtraKeysError)
    assert extra.extra_fields == {"x"}
    lenient = make_converter().structure({"id": 1, "name": "n", "x": 1}, Customer)
    assert lenient == Customer(id=1, name="n")


# --- error paths: always a ResponseFormatError with a path -----------------------


def _so(**detail: Any) -> list[dict[str, Any]]:
    """A standing-order payload whose second detail is ``detail``."""
    return [{"id": "1", "details": [{"soItemId": "10"}, {"soItemId": "11", **detail}]}]


BAD = [
    # (payload, model, path given, expected .path, expected .value, reason)
    ({"a": 1}, list[Customer], "customers", "customers", {"a": 1}, "expected a list, got dict"),
    ("abc", list[Customer], "customers", "customers", "abc", "expected a list, got str"),
    (7, list[Customer], "customers", "customers", 7, "expected a list, got int"),
    (["abc"], list[Customer], "customers", "customers[0]", "abc", "expected an object, got str"),
    ([None], list[Customer], "customers", "customers[0]", None, "expected an object, got NoneType"),
    ([[1, 2]], list[Customer], "customers", "customers[0]", [1, 2], "expected an object, got list"),
    (
        [{"name": "x"}],
        list[Customer],
        "customers",
        "customers[0].id",
        None,
        "required field is missing",
    ),
    (
        [{"id": "1"}],
        list[Customer],
        "customers",
        "customers[0].name",
        None,
        "required field is missing",
    ),
    (
        [{"id": "1", "name": "a"}] * 3 + [{"id": "4", "name": "d", "salesPersonId": "Julian"}],
        list[Customer],
        "customers",
        "customers[3].salesPersonId",
        "Julian",
        "expected an integer, got 'Julian'",
    ),
    (
        [{"id": "1", "name": "a", "active": "2"}],
        list[Customer],
        "customers",
        "customers[0].active",
        "2",
        "expected a flag (1/0/true/false), got '2'",
    ),
    (
        [{"id": "1", "name": "a", "updatedOn": "02/08/2017"}],
        list[Customer],
        "customers",
        "customers[0].updatedOn",
        "02/08/2017",
        "expected a date-time YYYY-MM-DDThh:mm:ss, got '02/08/2017'",
    ),
    (
        [{"id": "1", "name": {"first": "a"}}],
        list[Customer],
        "customers",
        "customers[0].name",
        {"first": "a"},
        "expected a string, got dict",
    ),
    (
        [{"id": True, "name": "a"}],
        list[Customer],
        "customers",
        "customers[0].id",
        True,
        "expected an integer, got True",
    ),
    (
        [{"id": 1, "description": "d", "tags": 5}],
        list[Product],
        "products",
        "products[0].tags",
        5,
        "expected a ','-separated string or a list, got 5",
    ),
    (
        [{"id": 1, "description": "d", "divisionId": "FreshCutFlowers"}],
        list[Product],
        "products",
        "products[0].divisionId",
        "FreshCutFlowers",
        "expected an integer, got 'FreshCutFlowers'",
    ),
    (
        _so(breakdowns=[{"productId": "abc"}]),
        list[StandingOrder],
        "standingOrders",
        "standingOrders[0].details[1].breakdowns[0].productId",
        "abc",
        "expected an integer, got 'abc'",
    ),
    (
        _so(breakdowns=[{"productId": 1}, {"price": "4.50"}]),
        list[StandingOrder],
        "standingOrders",
        "standingOrders[0].details[1].breakdowns[1].productId",
        None,
        "required field is missing",
    ),
    (
        _so(breakdowns={"productId": 1}),
        list[StandingOrder],
        "standingOrders",
        "standingOrders[0].details[1].breakdowns",
        {"productId": 1},
        "expected a list, got dict",
    ),
    (
        _so(customField="Sleeve"),
        list[StandingOrder],
        "standingOrders",
        "standingOrders[0].details[1].customField",
        "Sleeve",
        "expected a list, got str",
    ),
    (
        _so(customField=[{"description": "no name"}]),
        list[StandingOrder],
        "standingOrders",
        "standingOrders[0].details[1].customField[0].name",
        None,
        "required field is missing",
    ),
    (
        _so(unitPrice="4,50"),
        list[StandingOrder],
        "standingOrders",
        "standingOrders[0].details[1].unitPrice",
        "4,50",
        "expected a decimal number, got '4,50'",
    ),
    (
        _so(totalCost="NaN"),
        list[StandingOrder],
        "standingOrders",
        "standingOrders[0].details[1].totalCost",
        "NaN",
        "expected a finite decimal number, got 'NaN'",
    ),
    (
        _so(isAssorted="maybe"),
        list[StandingOrder],
        "standingOrders",
        "standingOrders[0].details[1].isAssorted",
        "maybe",
        "expected a flag (1/0/true/false), got 'maybe'",
    ),
    (
        [{"id": "1", "startDate": 20150101}],
        list[StandingOrder],
        "standingOrders",
        "standingOrders[0].startDate",
        20150101,
        "expected a date YYYY-MM-DD, got 20150101",
    ),
    (
        [{"id": "1", "details": "none"}],
        list[StandingOrder],
        "standingOrders",
        "standingOrders[0].details",
        "none",
        "expected a list, got str",
    ),
    ("", int, "customerId", "customerId", "", "expected an integer, got ''"),
    ({"id": 5}, int, "customerId", "customerId", {"id": 5}, "expected an integer, got {'id': 5}"),
]


@pytest.mark.parametrize(("data", "tp", "path", "expected_path", "expected_value", "reason"), BAD)
@pytest.mark.parametrize("strict", [False, True])
def test_bad_payloads_raise_response_format_error_with_path(
    data: Any,
    tp: Any,
    path: str,
    expected_path: str,
    expected_value: Any,
    reason: str,
    strict: bool,
) -> None:
    """Every bad value is a ResponseFormatError naming the exact path and value, nothing bare."""
    with pytest.raises(ResponseFormatError) as info:
        Decoder(strict=strict).structure(data, tp, path=path, method="m.list")
    err = info.value
    assert type(err) is ResponseFormatError
    assert err.path == expected_path
    assert err.value == expected_value
    assert err.method == "m.list"
    assert str(err).startswith(f"m.list: cannot read {expected_path}")
    assert str(err).endswith(f": {reason}")
    # No cattrs or KeyError chain for a reader to wade through, not even a hidden
    # __context__ (it would hold the unredacted value).
    assert err.__cause__ is None
    assert err.__context__ is None


def test_error_message_shows_the_value() -> None:
    """The message spells path, value and reason in one line."""
    data = [{"id": "1", "name": "a"}] * 3 + [{"id": "4", "name": "d", "salesPersonId": "Julian"}]
    with pytest.raises(ResponseFormatError) as info:
        Decoder().structure(data, list[Customer], path="customers", method="customer.list")
    assert str(info.value) == (
        "customer.list: cannot read customers[3].salesPersonId = 'Julian': "
        "expected an integer, got 'Julian'"
    )


def test_error_without_method_or_path() -> None:
    """Without a method or path, the message names the field path alone."""
    with pytest.raises(ResponseFormatError) as info:
        Decoder().structure({"id": "x", "name": "n"}, Customer)
    assert info.value.path == "id"
    assert info.value.method is None
    assert str(info.value) == "cannot read id = 'x': expected an integer, got 'x'"
    with pytest.raises(ResponseFormatError) as info:
        Decoder().structure("x", int)
    assert info.value.path is None
    assert str(info.value) == "cannot read the response = 'x': expected an integer, got 'x'"


def test_error_value_and_message_are_redacted() -> None:
    """A server-echoed token inside a bad value is redacted in the message and .value."""
    decoder = Decoder(redactor=Redactor.of(TOKEN))
    with pytest.raises(ResponseFormatError) as info:
        decoder.structure([{"id": f"x{TOKEN}", "name": "n"}], list[Customer], path="customers")
    assert info.value.value == "x***"
    assert (
        str(info.value) == "cannot read customers[0].id = 'x***': expected an integer, got 'x***'"
    )


def test_token_cut_by_the_shortened_value_does_not_leak() -> None:
    """A token straddling the 80-character cut of the shown value is hidden whole."""
    decoder = Decoder(redactor=Redactor.of(TOKEN))
    value = "x" * 70 + TOKEN
    with pytest.raises(ResponseFormatError) as info:
        decoder.structure([{"id": value, "name": "n"}], list[Customer], path="customers")
    text = str(info.value)
    assert TOKEN[:5] not in text
    shown = f"'{'x' * 70}***'"
    assert text == f"cannot read customers[0].id = {shown}: expected an integer, got {shown}"


@pytest.mark.parametrize(
    ("data", "path", "value"),
    [
        ([[TOKEN]], "customers[0]", ["***"]),
        (
            [{"id": "1", "name": "n", "x": TOKEN}],
            "customers[0]",
            {"id": "1", "name": "n", "x": "***"},
        ),
        ([{"id": "1", "name": "n", TOKEN: 1}], "customers[0]", {"id": "1", "name": "n", "***": 1}),
    ],
)
def test_container_values_are_redacted(data: Any, path: str, value: Any) -> None:
    """A token inside a list or object kept as .value (or shown) is redacted too."""
    decoder = Decoder(strict=True, redactor=Redactor.of(TOKEN))
    with pytest.raises(ResponseFormatError) as info:
        decoder.structure(data, list[Customer], path="customers")
    assert info.value.path == path
    assert info.value.value == value
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value.value)


def test_long_values_are_shortened_in_the_message() -> None:
    """A huge bad value is cut in the message; .value keeps it whole."""
    value = "y" * 500
    with pytest.raises(ResponseFormatError) as info:
        Decoder().structure([{"id": value, "name": "n"}], list[Customer], path="customers")
    assert info.value.value == value
    shown = repr(value)[:80] + "…"
    reason = f"expected an integer, got {value!r}"[:160] + "…"
    assert str(info.value) == f"cannot read customers[0].id = {shown}: {reason}"


def test_string_for_an_all_optional_object_is_an_error() -> None:
    """A string where an object of optional fields belongs is an error, not an empty object."""
    from komet_async.kounta import Customer as KountaCustomer

    decoder = Decoder(naming="snake")
    with pytest.raises(ResponseFormatError) as info:
        decoder.structure({"id": 1, "primary_address": "12 Example St"}, KountaCustomer)
    assert info.value.path == "primary_address"
    assert info.value.value == "12 Example St"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-01-01Z", dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)),
        ("2020-01-01+10:00", dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=10)))),
        ("2020-01-01", dt.datetime(2020, 1, 1)),
    ],
)
def test_date_only_datetimes_keep_their_offset(text: str, expected: dt.datetime) -> None:
    """A date-only value for a datetime field is its midnight, offset kept."""
    got = Decoder().structure({"id": 1, "name": "n", "updatedOn": text}, Customer)
    assert got.updated_on == expected
    assert got.updated_on.tzinfo == expected.tzinfo


# --- construction without __init__ ---------------------------------------------------


@attrs.frozen
class _Plain:
    name: str
    count: int | None = None
    tags: tuple[str, ...] = ()


@attrs.frozen
class _Validated:
    count: int = attrs.field(validator=attrs.validators.ge(0))


def _abs(value: int) -> int:
    """abs() for ints: the attrs mypy plugin cannot solve abs's generic SupportsAbs[T]."""
    return abs(value)


@attrs.frozen
class _Converted:
    count: int = attrs.field(converter=_abs)


@attrs.frozen
class _PostInit:
    count: int
    seen: list[int] = attrs.field(factory=list, eq=False)

    def __attrs_post_init__(self) -> None:
        self.seen.append(self.count)


@attrs.frozen
class _Hidden:
    count: int
    derived: int = attrs.field(init=False, default=7)


@attrs.frozen(cache_hash=True)
class _CachedHash:
    count: int


@attrs.frozen(slots=False)
class _DictClass:
    count: int


def test_plain_frozen_models_are_built_through_their_slots() -> None:
    """A frozen slotted class with nothing in __init__ but the fields skips the __init__ call."""
    from komet_async._converters import _slot_setters

    for cls in (_Plain, Customer, Product, StandingOrder, StandingOrderDetail, Breakdown):
        assert _slot_setters(cls) is not None, cls
    built = Decoder().structure({"name": "Rose", "count": "3"}, _Plain)
    assert built == _Plain("Rose", 3, ())
    assert type(built) is _Plain
    assert hash(built) == hash(_Plain("Rose", 3, ()))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.count = 4  # type: ignore[misc]


@pytest.mark.parametrize(
    "cls", [_Validated, _Converted, _PostInit, _Hidden, _CachedHash, _DictClass]
)
def test_classes_whose_init_does_more_are_built_by_calling_them(cls: type[Any]) -> None:
    """A validator, converter, post-init, init=False field, cached hash or __dict__: a call."""
    from komet_async._converters import _slot_setters

    assert _slot_setters(cls) is None


def test_what_init_does_beyond_the_fields_still_happens() -> None:
    """Validators, converters, post-init hooks and init=False defaults run as with a call."""
    decoder = Decoder()
    with pytest.raises(ResponseFormatError, match="count"):
        decoder.structure({"count": -1}, _Validated)
    assert decoder.structure({"count": -5}, _Converted) == _Converted(5)
    assert decoder.structure({"count": 2}, _PostInit).seen == [2]
    assert decoder.structure({"count": 2}, _Hidden).derived == 7
    assert hash(decoder.structure({"count": 2}, _CachedHash)) == hash(_CachedHash(2))
