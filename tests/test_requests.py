"""Request models: validation against the documented limits, and wire encoding (pure)."""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from typing import Any

import attrs
import pytest

from komet_async import CustomerUpdate, ValidationError
from komet_async._requests import encode, problems, validate
from komet_async._sansio import build_query, encode_json_body
from komet_async.endpoints.customers import CustomerListQuery
from komet_async.endpoints.products import ProductListQuery
from komet_async.endpoints.standing_orders import StandingOrderListQuery

D = dt.date(2015, 1, 1)


def update(**fields: Any) -> CustomerUpdate:
    """A valid CustomerUpdate with ``fields`` changed."""
    return CustomerUpdate(**{"customer_id": 25475, "name": "Flores SAS", **fields})


def orders(**fields: Any) -> StandingOrderListQuery:
    """A valid StandingOrderListQuery with ``fields`` changed."""
    return StandingOrderListQuery(**{"date_from": D, "date_to": dt.date(2015, 12, 31), **fields})


def test_minimal_models_are_valid() -> None:
    """The required fields alone make valid requests; empty queries are valid."""
    assert problems(update()) == []
    assert problems(CustomerListQuery()) == []
    assert problems(ProductListQuery()) == []
    assert problems(orders()) == []
    validate(update())  # does not raise


# --- documented enumerations ---------------------------------------------------------


ENUMS = [
    # (model factory, field, accepted values, refused value, expected problem)
    (update, "default_price", ["A", "B"], "C", "default_price: must be one of 'A', 'B', got 'C'"),
    (update, "default_price", ["A", "B"], "a", "default_price: must be one of 'A', 'B', got 'a'"),
    (update, "default_price", ["A", "B"], "", "default_price: must be one of 'A', 'B', got ''"),
    (update, "markup_type", ["$", "%"], "#", "markup_type: must be one of '$', '%', got '#'"),
    (
        update,
        "e_commerce_markup_sign",
        ["$", "%"],
        "€",
        "e_commerce_markup_sign: must be one of '$', '%', got '€'",
    ),
    (update, "display_vendor", [0, 1, 2], 3, "display_vendor: must be one of 0, 1, 2, got 3"),
    (update, "display_vendor", [0, 1, 2], -1, "display_vendor: must be one of 0, 1, 2, got -1"),
    (update, "display_vendor", [0, 1, 2], True, "display_vendor: expected an integer, got bool"),
    (update, "display_vendor", [0, 1, 2], "1", "display_vendor: expected an integer, got str"),
    (update, "ecommerce_experience", [0, 1], 2, "ecommerce_experience: must be one of 0, 1, got 2"),
    (
        update,
        "ecommerce_ship_via",
        [0, 1, 2],
        3,
        "ecommerce_ship_via: must be one of 0, 1, 2, got 3",
    ),
    (
        update,
        "ecommerce_ship_via",
        [0, 1, 2],
        1.0,
        "ecommerce_ship_via: expected an integer, got float",
    ),
    (
        orders,
        "status",
        ["All", "Active", "Cancelled"],
        "active",
        "status: must be one of 'All', 'Active', 'Cancelled', got 'active'",
    ),
    (
        orders,
        "status",
        ["All", "Active", "Cancelled"],
        "Canceled",
        "status: must be one of 'All', 'Active', 'Cancelled', got 'Canceled'",
    ),
    (
        orders,
        "status",
        ["All", "Active", "Cancelled"],
        "ALL",
        "status: must be one of 'All', 'Active', 'Cancelled', got 'ALL'",
    ),
]


@pytest.mark.parametrize(("make", "field", "accepted", "refused", "problem"), ENUMS)
def test_documented_enumerations(
    make: Any, field: str, accepted: list[Any], refused: Any, problem: str
) -> None:
    """Each documented value is accepted; anything else is named with the allowed values."""
    for value in accepted:
        assert problems(make(**{field: value})) == [], value
    assert problems(make(**{field: refused})) == [problem]


@pytest.mark.parametrize("field", ["send_invoice_via", "send_statement_via"])
@pytest.mark.parametrize(
    "value",
    [
        ("e-mail",),
        ("fax",),
        ("mail",),
        ("e-mail", "fax"),
        ("e-mail", "fax", "mail"),
        ["mail", "fax"],
    ],
)
def test_send_via_accepts_documented_values(field: str, value: Any) -> None:
    """send_invoice_via / send_statement_via accept any set of e-mail, fax, mail."""
    assert problems(update(**{field: value})) == []


@pytest.mark.parametrize("field", ["send_invoice_via", "send_statement_via"])
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (("email",), "must be one of 'e-mail', 'fax', 'mail', got 'email'"),
        (("e-mail", "post"), "must be one of 'e-mail', 'fax', 'mail', got 'post'"),
        (("E-MAIL",), "must be one of 'e-mail', 'fax', 'mail', got 'E-MAIL'"),
        (("e-mail,fax",), "item 'e-mail,fax' contains the separator ','"),
        (("",), "items must not be empty"),
        ("e-mail", "expected a tuple of strings, got 'e-mail'"),
        (("e-mail", 1), "expected a tuple of strings, got ('e-mail', 1)"),
        (("mail",) * 11, "at most 50 characters, got 54"),
    ],
)
def test_send_via_refuses_other_values(field: str, value: Any, problem: str) -> None:
    """Unknown send-via values, embedded separators and over-long lists are refused."""
    assert problems(update(**{field: value})) == [f"{field}: {problem}"]


# --- max lengths -------------------------------------------------------------------------

#: Every length limit the API documents: (factory, field, characters).
MAX_LENGTHS = [
    (update, "name", 200),
    (update, "code", 10),
    (update, "phone", 20),
    (update, "customer_group", 50),
    (update, "fax", 20),
    (update, "website", 50),
    (update, "terms", 50),
    (update, "payment_method", 50),
    (update, "tax_exempt_number", 50),
    (update, "default_shipping_notes", 200),
    (update, "billing_street", 200),
    (update, "billing_city", 50),
    (update, "billing_state", 50),
    (update, "billing_zipcode", 10),
    (update, "billing_country", 50),
    (update, "shipping_street", 200),
    (update, "shipping_city", 50),
    (update, "shipping_state", 50),
    (update, "shipping_zipcode", 10),
    (update, "shipping_country", 50),
    (update, "sales_person_for_flowers", 50),
    (update, "sales_person_for_plants", 50),
    (update, "sales_person_code_for_flowers", 20),
    (update, "sales_person_code_for_plants", 20),
    (update, "vat_code", 50),
    (update, "main_location_code", 10),
    (update, "crm_link", 500),
    (update, "territory", 50),
    (update, "accounting_code", 50),
    (update, "check_out_notification_to", 200),
    (CustomerListQuery, "name", 200),
    (CustomerListQuery, "code", 10),
    (ProductListQuery, "description", 200),
    (ProductListQuery, "legacy_code", 50),
    (orders, "customer", 50),
    (orders, "number", 10),
]


@pytest.mark.parametrize(("make", "field", "limit"), MAX_LENGTHS)
def test_documented_max_lengths(make: Any, field: str, limit: int) -> None:
    """A string at its documented limit passes; one character more is refused."""
    assert problems(make(**{field: "x" * limit})) == []
    assert problems(make(**{field: "x" * (limit + 1)})) == [
        f"{field}: at most {limit} characters, got {limit + 1}"
    ]


@pytest.mark.parametrize(
    ("field", "sep", "limit"),
    [
        ("location_codes", ":", 50),
        ("email_for_invoices", ";", 200),
        ("email_for_statements", ";", 200),
    ],
)
def test_joined_tuple_max_lengths(field: str, sep: str, limit: int) -> None:
    """Tuple fields are measured as sent: the items joined with their separator."""
    fits = ("x" * (limit - 2), "y")  # joined: limit characters
    assert problems(update(**{field: fits})) == []
    too_long = ("x" * (limit - 1), "y")
    assert problems(update(**{field: too_long})) == [
        f"{field}: at most {limit} characters, got {limit + 1}"
    ]


@pytest.mark.parametrize(
    ("make", "field", "digits"),
    [
        (update, "customer_id", 20),
        (update, "type", 20),
        (CustomerListQuery, "id", 20),
        (CustomerListQuery, "sales_person_id", 20),
        (CustomerListQuery, "location_id", 20),
        (ProductListQuery, "id", 20),
        (orders, "customer_id", 10),
        (orders, "location_id", 10),
    ],
)
def test_documented_integer_digits(make: Any, field: str, digits: int) -> None:
    """Integers may have as many digits as documented, not one more."""
    biggest = 10**digits - 1
    assert problems(make(**{field: biggest})) == []
    assert problems(make(**{field: -biggest})) == []
    assert problems(make(**{field: biggest + 1})) == [
        f"{field}: at most {digits} digits, got {biggest + 1}"
    ]


# --- required fields and types ----------------------------------------------------------


def test_required_fields() -> None:
    """customer_id and name (update) and both dates (standing orders) are required."""
    assert problems(CustomerUpdate(customer_id=None, name=None)) == [  # type: ignore[arg-type]
        "customer_id: required",
        "name: required",
    ]
    assert problems(StandingOrderListQuery(date_from=None, date_to=None)) == [  # type: ignore[arg-type]
        "date_from: required",
        "date_to: required",
    ]


@pytest.mark.parametrize("name", ["", " ", "\t\n"])
def test_required_name_must_not_be_blank(name: str) -> None:
    """A blank required name is refused (it would blank the customer's name)."""
    assert problems(update(name=name)) == ["name: must not be empty"]


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("customer_id", "25475", "expected an integer, got str"),
        ("customer_id", 25475.0, "expected an integer, got float"),
        ("customer_id", True, "expected an integer, got bool"),
        ("name", 42, "expected a string, got int"),
        ("code", b"T3526", "expected a string, got bytes"),
        ("active", 1, "expected True or False, got 1"),
        ("active", "1", "expected True or False, got '1'"),
        ("credit_hold", None, None),
        ("is_customer_po_required", "true", "expected True or False, got 'true'"),
        (
            "credit_limit",
            2500.0,
            "expected a Decimal, got float (use Decimal for money: floats lose cents)",
        ),
        (
            "finance_charge_percentage",
            1.5,
            "expected a Decimal, got float (use Decimal for money: floats lose cents)",
        ),
        ("e_commerce_markup_value", "12.50", "expected a Decimal, got str"),
        ("markup_value", True, "expected a Decimal, got bool"),
        ("credit_limit", 2500, None),
        ("last_sales_date", "2024-01-31", "expected a date, got '2024-01-31'"),
        ("last_sales_date", dt.datetime(2024, 1, 31, 8, 0), None),
        ("location_codes", "MIA", "expected a tuple of strings, got 'MIA'"),
        (
            "email_for_invoices",
            ("a@x.com", None),
            "expected a tuple of strings, got ('a@x.com', None)",
        ),
        ("type", "3", "expected an integer, got str"),
    ],
)
def test_wrong_types(field: str, value: Any, problem: str | None) -> None:
    """Values of the wrong type are named with what was expected; floats get the Decimal hint."""
    expected = [] if problem is None else [f"{field}: {problem}"]
    assert problems(update(**{field: value})) == expected


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("date_from", "2015-01-01", "expected a date, got '2015-01-01'"),
        ("date_to", 20151231, "expected a date, got 20151231"),
        ("customer_id", "12", "expected an integer, got str"),
        ("number", 1047, "expected a string, got int"),
        ("status", 1, "expected a string, got int"),
    ],
)
def test_standing_order_query_types(field: str, value: Any, problem: str) -> None:
    """The standing order filters have their documented types."""
    assert problems(orders(**{field: value})) == [f"{field}: {problem}"]


def test_customer_list_query_types() -> None:
    """customer.list filters: bool flag, date updated_as_of, integer ids."""
    query = CustomerListQuery(
        id="1",  # type: ignore[arg-type]
        include_inactive="yes",  # type: ignore[arg-type]
        updated_as_of="2017-08-01",  # type: ignore[arg-type]
        sales_person_id=1.0,  # type: ignore[arg-type]
    )
    assert problems(query) == [
        "id: expected an integer, got str",
        "sales_person_id: expected an integer, got float",
        "include_inactive: expected True or False, got 'yes'",
        "updated_as_of: expected a date, got '2017-08-01'",
    ]


# --- decimals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("credit_limit", Decimal("99999999.99"), None),
        ("credit_limit", Decimal("-99999999.99"), None),
        ("credit_limit", Decimal("0"), None),
        ("credit_limit", Decimal("0.001"), None),
        ("credit_limit", 99_999_999, None),
        (
            "credit_limit",
            Decimal("100000000"),
            "at most 8 digits before the decimal point, got 100000000",
        ),
        ("credit_limit", 100_000_000, "at most 8 digits before the decimal point, got 100000000"),
        ("credit_limit", Decimal("1E+8"), "at most 8 digits before the decimal point, got 1E+8"),
        # Rounded to cents this is 100000000.00: too big once it is on the wire.
        (
            "credit_limit",
            Decimal("99999999.995"),
            "at most 8 digits before the decimal point, got 99999999.995",
        ),
        ("credit_limit", Decimal("99999999.994"), None),
        (
            "credit_limit",
            Decimal("1E+999999999"),
            "at most 8 digits before the decimal point, got 1E+999999999",
        ),
        ("finance_charge_percentage", Decimal("12.5"), None),
        ("e_commerce_markup_value", Decimal("12345678.12"), None),
        ("markup_value", Decimal("99999"), None),
        ("markup_value", Decimal("99999.999"), None),  # no documented places: sent as is
        (
            "markup_value",
            Decimal("100000"),
            "at most 5 digits before the decimal point, got 100000",
        ),
        ("credit_limit", Decimal("NaN"), "must be a finite number, got NaN"),
        ("credit_limit", Decimal("Infinity"), "must be a finite number, got Infinity"),
        ("markup_value", Decimal("-Infinity"), "must be a finite number, got -Infinity"),
    ],
)
def test_decimal_digits(field: str, value: Any, problem: str | None) -> None:
    """Money fields (decimal:10,2) allow 8 digits before the point, counted after rounding."""
    expected = [] if problem is None else [f"{field}: {problem}"]
    assert problems(update(**{field: value})) == expected


# --- separators inside tuple items -------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("location_codes", ("MIA", "BOG:2"), "item 'BOG:2' contains the separator ':'"),
        (
            "email_for_invoices",
            ("a@x.com;b@y.com",),
            "item 'a@x.com;b@y.com' contains the separator ';'",
        ),
        (
            "email_for_statements",
            ("a@x.com", "b@y.com;"),
            "item 'b@y.com;' contains the separator ';'",
        ),
        (
            "send_invoice_via",
            ("fax", "e-mail,mail"),
            "item 'e-mail,mail' contains the separator ','",
        ),
        ("location_codes", ("MIA", " "), "items must not be empty"),
    ],
)
def test_separator_inside_a_tuple_item(field: str, value: tuple[str, ...], problem: str) -> None:
    """An item holding its field's separator (or blank) would change the list: refused."""
    assert problems(update(**{field: value})) == [f"{field}: {problem}"]


def test_other_separators_are_fine_inside_items() -> None:
    """Only the field's own separator is forbidden: a comma in a location code is fine."""
    assert problems(update(location_codes=("A,1", "B;2"), email_for_invoices=("a:b@x.com",))) == []


# --- every problem at once --------------------------------------------------------------


def test_validation_error_lists_every_problem_at_once() -> None:
    """validate() raises one ValidationError whose .problems lists every field, in order."""
    bad = CustomerUpdate(
        customer_id="25475",  # type: ignore[arg-type]
        name="",
        active=1,  # type: ignore[arg-type]
        code="T" * 11,
        location_codes=("MIA:BOG",),
        credit_limit=2500.0,  # type: ignore[arg-type]
        send_invoice_via=("email",),
        default_price="C",
        markup_type="x",
        last_sales_date="2024-01-31",  # type: ignore[arg-type]
        crm_link="h" * 501,
        display_vendor=3,
        ecommerce_experience=2,
        ecommerce_ship_via=5,
    )
    with pytest.raises(ValidationError) as info:
        validate(bad, method="customer.update")
    expected = (
        "customer_id: expected an integer, got str",
        "name: must not be empty",
        "active: expected True or False, got 1",
        "code: at most 10 characters, got 11",
        "location_codes: item 'MIA:BOG' contains the separator ':'",
        "credit_limit: expected a Decimal, got float (use Decimal for money: floats lose cents)",
        "send_invoice_via: must be one of 'e-mail', 'fax', 'mail', got 'email'",
        "default_price: must be one of 'A', 'B', got 'C'",
        "markup_type: must be one of '$', '%', got 'x'",
        "last_sales_date: expected a date, got '2024-01-31'",
        "crm_link: at most 500 characters, got 501",
        "display_vendor: must be one of 0, 1, 2, got 3",
        "ecommerce_experience: must be one of 0, 1, got 2",
        "ecommerce_ship_via: must be one of 0, 1, 2, got 5",
    )
    assert info.value.problems == expected
    assert info.value.method == "customer.update"
    assert str(info.value) == "invalid customer.update request: " + "; ".join(expected)
    assert isinstance(info.value, ValueError)


def test_standing_order_query_lists_every_problem() -> None:
    """Every bad standing order filter is reported together."""
    query = StandingOrderListQuery(
        date_from=None,  # type: ignore[arg-type]
        date_to="2015",  # type: ignore[arg-type]
        customer="c" * 51,
        customer_id=10**10,
        number="12345678901",
        location_id=-(10**10),
        status="Open",
    )
    with pytest.raises(ValidationError) as info:
        validate(query, method="standing.order.list")
    assert info.value.problems == (
        "date_from: required",
        "date_to: expected a date, got '2015'",
        "customer: at most 50 characters, got 51",
        "customer_id: at most 10 digits, got 10000000000",
        "number: at most 10 characters, got 11",
        "location_id: at most 10 digits, got -10000000000",
        "status: must be one of 'All', 'Active', 'Cancelled', got 'Open'",
    )


@pytest.mark.parametrize(
    ("date_from", "date_to", "expected"),
    [
        (
            dt.date(2015, 1, 2),
            dt.date(2015, 1, 1),
            ["date_from: 2015-01-02 is after date_to 2015-01-01"],
        ),
        (dt.date(2015, 1, 1), dt.date(2015, 1, 1), []),
        (dt.datetime(2015, 1, 1, 23, 0), dt.date(2015, 1, 1), []),
        (dt.date(2015, 1, 1), dt.date(2015, 12, 31), []),
        ("2015-01-02", dt.date(2015, 1, 1), []),  # a type problem, reported by problems()
    ],
)
def test_standing_order_date_range(date_from: Any, date_to: Any, expected: list[str]) -> None:
    """A date range running backwards is refused; same-day ranges are fine."""
    assert StandingOrderListQuery(date_from=date_from, date_to=date_to).date_problems() == expected


# --- encoding ----------------------------------------------------------------------------


def test_encode_leaves_out_none_and_converts_every_kind() -> None:
    """None fields are omitted; flags 1/0; money to cents; tuples joined; keys camelCase."""
    body = encode(
        update(
            active=True,
            credit_hold=False,
            credit_limit=Decimal("2500"),
            finance_charge_percentage=Decimal("1.5"),
            location_codes=("MIA", "BOG"),
            email_for_invoices=("a@x.com", "b@y.com"),
            send_invoice_via=("e-mail", "fax"),
            is_customer_po_required=True,
            last_sales_date=dt.date(2024, 1, 31),
            display_vendor=0,
        )
    )
    assert body == {
        "customerId": 25475,
        "name": "Flores SAS",
        "active": 1,
        "locationCodes": "MIA:BOG",
        "financeChargePercentage": Decimal("1.50"),
        "emailForInvoices": "a@x.com;b@y.com",
        "creditHold": 0,
        "creditLimit": Decimal("2500.00"),
        "sendInvoiceVia": "e-mail,fax",
        "lastSalesDate": dt.date(2024, 1, 31),
        "isCustomerPORequired": 1,
        "displayVendor": 0,
    }
    assert [type(v) for v in (body["active"], body["creditHold"])] == [int, int]
    assert str(body["creditLimit"]) == "2500.00"


def test_encode_minimal_update() -> None:
    """An update with only the required fields sends only them."""
    assert encode(update()) == {"customerId": 25475, "name": "Flores SAS"}


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        (Decimal("2500"), "2500.00"),
        (Decimal("2500.00"), "2500.00"),
        (2500, "2500.00"),
        (Decimal("0"), "0.00"),
        (Decimal("12.5"), "12.50"),
        (Decimal("-3.1"), "-3.10"),
        (Decimal("1.004"), "1.00"),
        (Decimal("1.006"), "1.01"),
        (Decimal("0.125"), "0.12"),  # half-even, like Python's own rounding
        (Decimal("0.135"), "0.14"),
        (Decimal("1E+3"), "1000.00"),
        (Decimal("99999999.994"), "99999999.99"),
        (Decimal("12345678.9999999999999999999999999"), "12345679.00"),
    ],
)
def test_encode_quantizes_money_to_two_places(value: Any, sent: str) -> None:
    """decimal:10,2 fields are sent with exactly two places."""
    body = encode(update(credit_limit=value))
    assert str(body["creditLimit"]) == sent
    assert (
        encode_json_body({"creditLimit": body["creditLimit"]})
        == f'{{"creditLimit":{sent}}}'.encode()
    )


def test_encode_ignores_the_callers_decimal_context() -> None:
    """A low precision or another rounding mode in the caller's context changes nothing."""
    request = update(
        credit_limit=Decimal("12345678.125"), finance_charge_percentage=Decimal("1.005")
    )
    expected = encode(request)
    with decimal.localcontext() as ctx:
        ctx.prec = 4
        ctx.rounding = decimal.ROUND_UP
        assert problems(request) == []
        assert encode(request) == expected
    assert str(expected["creditLimit"]) == "12345678.12"
    assert str(expected["financeChargePercentage"]) == "1.00"


def test_encode_keeps_decimals_without_documented_places() -> None:
    """markup_value (number:5) has no documented places: it is sent as given."""
    assert str(encode(update(markup_value=Decimal("5.125")))["markupValue"]) == "5.125"


def test_encode_flags_as_booleans_for_queries() -> None:
    """flags="bool" keeps booleans for the query encoder, which spells them true/false."""
    query = CustomerListQuery(include_inactive=False, updated_as_of=dt.date(2017, 8, 1))
    assert encode(query, flags="bool") == {
        "includeInactive": False,
        "updateAsOf": dt.date(2017, 8, 1),
    }
    assert build_query(encode(query, flags="bool")) == {
        "includeInactive": "false",
        "updateAsOf": "2017-08-01",
    }
    assert encode(query) == {"includeInactive": 0, "updateAsOf": dt.date(2017, 8, 1)}


def test_encode_customer_list_query_every_filter() -> None:
    """customer.list filters use the documented names; updated_as_of goes as updateAsOf."""
    query = CustomerListQuery(
        id=25475,
        name="flores",
        code="T3526",
        sales_person_id=1819,
        include_inactive=True,
        location_id=3,
        updated_as_of=dt.date(2017, 8, 1),
    )
    assert build_query(encode(query, flags="bool")) == {
        "id": "25475",
        "name": "flores",
        "code": "T3526",
        "salesPersonId": "1819",
        "includeInactive": "true",
        "locationId": "3",
        "updateAsOf": "2017-08-01",
    }


def test_encode_product_and_standing_order_queries() -> None:
    """product.list and standing.order.list filters use the documented names."""
    assert encode(ProductListQuery(id=1, description="rose", legacy_code="LH001")) == {
        "id": 1,
        "description": "rose",
        "legacyCode": "LH001",
    }
    query = orders(
        date_from=dt.datetime(2015, 1, 1, 9, 30),
        customer="flores",
        customer_id=29775,
        number="1047",
        location_id=2,
        status="Cancelled",
    )
    assert build_query(encode(query, flags="bool")) == {
        "dateFrom": "2015-01-01",
        "dateTo": "2015-12-31",
        "customer": "flores",
        "customerId": "29775",
        "number": "1047",
        "locationId": "2",
        "status": "Cancelled",
    }


#: Every CustomerUpdate field, a value, and the documented wire key and value.
EVERY_FIELD: list[tuple[str, Any, str, Any]] = [
    ("customer_id", 25475, "customerId", 25475),
    ("name", "Flores SAS", "name", "Flores SAS"),
    ("active", True, "active", 1),
    ("code", "ASS", "code", "ASS"),
    ("type", 4, "type", 4),
    ("location_codes", ("MIA", "BOG"), "locationCodes", "MIA:BOG"),
    ("phone", "305-555-0142", "phone", "305-555-0142"),
    ("ask_payment_upon_confirmation", False, "askPaymentUponConfirmation", 0),
    ("finance_charge_percentage", Decimal("1.5"), "financeChargePercentage", Decimal("1.50")),
    ("customer_group", "Florists", "customerGroup", "Florists"),
    ("fax", "305-555-0143", "fax", "305-555-0143"),
    ("website", "https://flores.example", "website", "https://flores.example"),
    ("terms", "Net 30", "terms", "Net 30"),
    ("email_for_invoices", ("a@x.com", "b@x.com"), "emailForInvoices", "a@x.com;b@x.com"),
    ("email_for_statements", ("c@x.com",), "emailForStatements", "c@x.com"),
    ("credit_hold", True, "creditHold", 1),
    ("credit_limit", Decimal("2500"), "creditLimit", Decimal("2500.00")),
    ("payment_method", "Check", "paymentMethod", "Check"),
    ("charge_fuel_surcharge", True, "chargeFuelSurcharge", 1),
    ("charge_tax", False, "chargeTax", 0),
    ("tax_exempt_number", "TX-1", "taxExemptNumber", "TX-1"),
    ("send_invoice_via", ("e-mail", "fax"), "sendInvoiceVia", "e-mail,fax"),
    ("send_statement_via", ("mail",), "sendStatementVia", "mail"),
    ("default_price", "B", "defaultPrice", "B"),
    ("markup_value", Decimal("5"), "markupValue", Decimal("5")),
    ("markup_type", "%", "markupType", "%"),
    ("default_shipping_notes", "Back door", "defaultShippingNotes", "Back door"),
    ("billing_street", "1 Main St", "billingStreet", "1 Main St"),
    ("billing_city", "Miami", "billingCity", "Miami"),
    ("billing_state", "FL", "billingState", "FL"),
    ("billing_zipcode", "33126", "billingZipcode", "33126"),
    ("billing_country", "US", "billingCountry", "US"),
    ("shipping_street", "2 Main St", "shippingStreet", "2 Main St"),
    ("shipping_city", "Doral", "shippingCity", "Doral"),
    ("shipping_state", "FL", "shippingState", "FL"),
    ("shipping_zipcode", "33178", "shippingZipcode", "33178"),
    ("shipping_country", "US", "shippingCountry", "US"),
    ("last_sales_date", dt.date(2024, 1, 31), "lastSalesDate", dt.date(2024, 1, 31)),
    ("show_fob_price", True, "showFobPrice", 1),
    ("sales_person_for_flowers", "jmejia", "salesPersonForFlowers", "jmejia"),
    ("sales_person_for_plants", "ana", "salesPersonForPlants", "ana"),
    ("sales_person_code_for_flowers", "JM", "salesPersonCodeForFlowers", "JM"),
    ("sales_person_code_for_plants", "AN", "salesPersonCodeForPlants", "AN"),
    ("vat_code", "V1", "vatCode", "V1"),
    ("main_location_code", "MIA", "mainLocationCode", "MIA"),
    ("is_customer_po_required", True, "isCustomerPORequired", 1),
    ("crm_link", "https://crm.example/c/1", "crmLink", "https://crm.example/c/1"),
    ("territory", "South", "territory", "South"),
    ("accounting_code", "ACC10", "accountingCode", "ACC10"),
    ("e_commerce_markup_sign", "$", "eCommerceMarkupSign", "$"),
    ("e_commerce_markup_value", Decimal("3.5"), "eCommerceMarkupValue", Decimal("3.50")),
    ("display_vendor", 2, "displayVendor", 2),
    ("check_out_notification_to", "ops@x.com", "checkOutNotificationTo", "ops@x.com"),
    ("show_arrival_date", False, "showArrivalDate", 0),
    ("ecommerce_experience", 1, "ecommerceExperience", 1),
    ("ecommerce_ship_via", 0, "ecommerceShipVia", 0),
]


def test_every_documented_update_field_is_covered() -> None:
    """The table above names every CustomerUpdate field (a new field must be added to it)."""
    assert [name for name, *_ in EVERY_FIELD] == [a.name for a in attrs.fields(CustomerUpdate)]


def test_encode_every_field_with_its_documented_key() -> None:
    """Every field goes out under the key the API documents, with its wire value."""
    request = CustomerUpdate(**{name: value for name, value, _, _ in EVERY_FIELD})
    assert problems(request) == []
    encoded = encode(request)
    assert list(encoded.items()) == [(key, sent) for _, _, key, sent in EVERY_FIELD]
    assert [str(encoded[k]) for k in ("financeChargePercentage", "creditLimit")] == [
        "1.50",
        "2500.00",
    ]
