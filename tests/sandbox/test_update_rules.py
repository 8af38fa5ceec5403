"""customer.update's input rules on raw JSON values (pure: no sockets)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from komet_async import CustomerUpdate
from komet_async._wire import WIRE
from komet_async.sandbox.data import EXTRA_UPDATE_FIELDS
from komet_async.sandbox.validate import RULES, as_flag, as_int, first_problem, problem

#: The inputs komet-customer.update.txt documents, in its order (the token aside).
DOCUMENTED = (
    "customerId", "name", "active", "code", "type", "locationCodes", "phone",
    "askPaymentUponConfirmation", "financeChargePercentage", "customerGroup", "fax", "website",
    "terms", "emailForInvoices", "emailForStatements", "creditHold", "creditLimit",
    "paymentMethod", "chargeFuelSurcharge", "chargeTax", "taxExemptNumber", "sendInvoiceVia",
    "sendStatementVia", "defaultPrice", "markupValue", "markupType", "defaultShippingNotes",
    "billingStreet", "billingCity", "billingState", "billingZipcode", "billingCountry",
    "shippingStreet", "shippingCity", "shippingState", "shippingZipcode", "shippingCountry",
    "lastSalesDate", "showFobPrice", "salesPersonForFlowers", "salesPersonForPlants",
    "salesPersonCodeForFlowers", "salesPersonCodeForPlants", "vatCode", "mainLocationCode",
    "isCustomerPORequired", "crmLink", "territory", "accountingCode", "eCommerceMarkupSign",
    "eCommerceMarkupValue", "displayVendor", "checkOutNotificationTo", "showArrivalDate",
    "ecommerceExperience", "ecommerceShipVia",
)  # fmt: skip


def test_rules_cover_every_documented_input_in_order() -> None:
    """RULES has one rule per documented input, keyed by wire name, in the document's order."""
    assert tuple(RULES) == DOCUMENTED


def test_limits_are_read_from_the_customer_update_model() -> None:
    """Each rule carries the very Wire declared on CustomerUpdate: one place per limit."""
    fields = attrs.fields_dict(CustomerUpdate)
    assert RULES["phone"].spec is fields["phone"].metadata[WIRE]
    assert RULES["defaultPrice"].spec is fields["default_price"].metadata[WIRE]
    assert RULES["isCustomerPORequired"].spec is fields["is_customer_po_required"].metadata[WIRE]
    assert (RULES["creditLimit"].kind, RULES["lastSalesDate"].kind) == ("decimal", "date")


def test_extra_fields_are_the_documented_ones_customer_list_does_not_show() -> None:
    """EXTRA_UPDATE_FIELDS is every documented input but the seven the store applies itself."""
    applied = {"customerId", "name", "active", "code", "type", "accountingCode"}
    applied.add("mainLocationCode")
    assert set(DOCUMENTED) - EXTRA_UPDATE_FIELDS == applied
    assert len(EXTRA_UPDATE_FIELDS) == len(DOCUMENTED) - len(applied)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        # Enumerations.
        ("defaultPrice", "C", "Invalid value for defaultPrice: 'C'. Valid values: A, B."),
        ("defaultPrice", "a", "Invalid value for defaultPrice: 'a'. Valid values: A, B."),
        ("defaultPrice", "", "Invalid value for defaultPrice: ''. Valid values: A, B."),
        ("defaultPrice", "AB", "The defaultPrice is too long (max 1 character)."),
        ("markupType", "#", "Invalid value for markupType: '#'. Valid values: $, %."),
        (
            "eCommerceMarkupSign",
            "€",
            "Invalid value for eCommerceMarkupSign: '€'. Valid values: $, %.",
        ),
        ("displayVendor", 7, "Invalid value for displayVendor: 7. Valid values: 0, 1, 2."),
        ("displayVendor", "7", "Invalid value for displayVendor: 7. Valid values: 0, 1, 2."),
        ("ecommerceExperience", 2, "Invalid value for ecommerceExperience: 2. Valid values: 0, 1."),
        ("ecommerceShipVia", 3, "Invalid value for ecommerceShipVia: 3. Valid values: 0, 1, 2."),
        # Lists of enumerated values.
        (
            "sendInvoiceVia",
            "e-mail,sms",
            "Invalid value for sendInvoiceVia: 'sms'. "
            "Valid values: e-mail, fax, mail, separated by commas.",
        ),
        (
            "sendStatementVia",
            "e-mail;fax",
            "Invalid value for sendStatementVia: 'e-mail;fax'. "
            "Valid values: e-mail, fax, mail, separated by commas.",
        ),
        (
            "sendInvoiceVia",
            "e-mail,,fax",
            "Invalid value for sendInvoiceVia: ''. "
            "Valid values: e-mail, fax, mail, separated by commas.",
        ),
        (
            "sendInvoiceVia",
            ["e-mail"],
            "Invalid value for sendInvoiceVia: a text value is expected.",
        ),
        # Integers.
        (
            "ecommerceShipVia",
            -1,
            "Invalid value for ecommerceShipVia: -1 is not a whole number of 0 or more.",
        ),
        (
            "ecommerceShipVia",
            1.0,
            "Invalid value for ecommerceShipVia: 1.0 is not a whole number of 0 or more.",
        ),
        (
            "displayVendor",
            True,
            "Invalid value for displayVendor: True is not a whole number of 0 or more.",
        ),
        ("type", "abc", "Invalid value for type: 'abc' is not a whole number of 0 or more."),
        ("type", 10**20, "The type is too long (max 20 digits)."),
        # Text lengths and types.
        ("phone", "5" * 21, "The phone is too long (max 20 characters)."),
        ("phone", 3055550100, "Invalid value for phone: a text value is expected."),
        ("crmLink", "h" * 501, "The crmLink is too long (max 500 characters)."),
        ("billingZipcode", "33166-12345", "The billingZipcode is too long (max 10 characters)."),
        (
            "locationCodes",
            "MIA:" * 12 + "BOG",
            "The locationCodes is too long (max 50 characters).",
        ),
        ("emailForInvoices", "a" * 201, "The emailForInvoices is too long (max 200 characters)."),
        # Flags.
        ("creditHold", 2, "Invalid value for creditHold: use 1 or 0."),
        ("chargeTax", "yes", "Invalid value for chargeTax: use 1 or 0."),
        ("showArrivalDate", 1.0, "Invalid value for showArrivalDate: use 1 or 0."),
        # Decimals.
        (
            "financeChargePercentage",
            "abc",
            "Invalid value for financeChargePercentage: 'abc' is not a number.",
        ),
        (
            "financeChargePercentage",
            "",
            "Invalid value for financeChargePercentage: '' is not a number.",
        ),
        (
            "financeChargePercentage",
            "1e3",
            "Invalid value for financeChargePercentage: '1e3' is not a number.",
        ),
        ("creditLimit", True, "Invalid value for creditLimit: True is not a number."),
        ("creditLimit", "NaN", "Invalid value for creditLimit: 'NaN' is not a number."),
        (
            "creditLimit",
            123456789,
            "The creditLimit has too many digits before the decimal point (max 8).",
        ),
        (
            "creditLimit",
            -123456789.5,
            "The creditLimit has too many digits before the decimal point (max 8).",
        ),
        ("creditLimit", 1.234, "The creditLimit has too many decimal places (max 2)."),
        (
            "eCommerceMarkupValue",
            "0.005",
            "The eCommerceMarkupValue has too many decimal places (max 2).",
        ),
        (
            "markupValue",
            123456,
            "The markupValue has too many digits before the decimal point (max 5).",
        ),
        # Dates.
        (
            "lastSalesDate",
            "2024-02-30",
            "Invalid value for lastSalesDate: '2024-02-30' is not a date in the format YYYY-MM-DD.",
        ),
        (
            "lastSalesDate",
            "01/31/2024",
            "Invalid value for lastSalesDate: '01/31/2024' is not a date in the format YYYY-MM-DD.",
        ),
        (
            "lastSalesDate",
            20240131,
            "Invalid value for lastSalesDate: 20240131 is not a date in the format YYYY-MM-DD.",
        ),
    ],
)  # fmt: skip
def test_invalid_values_get_a_message_naming_the_field(key: str, value: Any, message: str) -> None:
    """Each documented limit refuses a value with a status-0 message naming the input."""
    assert problem(key, value) == message
    assert first_problem({key: value}) == message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("defaultPrice", "A"),
        ("defaultPrice", "B"),
        ("markupType", "%"),
        ("eCommerceMarkupSign", "$"),
        ("displayVendor", 0),
        ("displayVendor", "2"),
        ("ecommerceExperience", 1),
        ("ecommerceShipVia", 2),
        ("sendInvoiceVia", "e-mail,fax,mail"),
        ("sendInvoiceVia", " e-mail , fax"),
        ("sendStatementVia", "mail,mail"),
        ("sendStatementVia", ""),
        ("locationCodes", "MIA:BOG"),
        ("emailForInvoices", "ap@example.com;boss@example.com"),
        ("phone", "5" * 20),
        ("crmLink", "h" * 500),
        ("creditHold", 1),
        ("creditHold", 0),
        ("creditHold", True),
        ("chargeTax", "0"),
        ("chargeTax", "true"),
        ("type", 3),
        ("type", "4"),
        ("creditLimit", ""),
        ("creditLimit", 0),
        ("creditLimit", 99999999.99),
        ("creditLimit", -99999999.99),
        ("creditLimit", "2500.00"),
        ("creditLimit", 2500.0),
        ("financeChargePercentage", 1.5),
        ("financeChargePercentage", ".5"),
        ("financeChargePercentage", "1.500"),
        ("markupValue", 99999.9999),
        ("eCommerceMarkupValue", 3.25),
        ("lastSalesDate", "2024-01-31"),
        ("lastSalesDate", "2024-02-29"),
        ("undocumentedKey", object()),
    ],
)
def test_valid_values_pass(key: str, value: Any) -> None:
    """Values within the document (and keys it does not name) are no problem."""
    assert problem(key, value) is None


def test_first_problem_follows_the_documented_order() -> None:
    """With several bad inputs the first one in the document's order is reported."""
    body = {"displayVendor": 9, "defaultPrice": "Z", "phone": "5" * 30}
    assert first_problem(body) == "The phone is too long (max 20 characters)."


def test_first_problem_skips_nulls_skipped_keys_and_unknown_keys() -> None:
    """null counts as not sent; skipped and undocumented keys are left alone."""
    body = {"name": 42, "customerId": "x", "defaultPrice": None, "note": [1, 2]}
    assert first_problem(body, skip=("customerId", "name")) is None
    assert (
        first_problem(body)
        == "Invalid value for customerId: 'x' is not a whole number of 0 or more."
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, True), (0, False), (True, True), (False, False), ("1", True), ("0", False),
     ("true", True), ("false", False)],
)  # fmt: skip
def test_as_flag_reads_every_accepted_spelling(value: Any, expected: bool) -> None:
    """as_flag turns each spelling problem() accepts into the bool it means."""
    assert problem("creditHold", value) is None
    assert as_flag(value) is expected


def test_as_int_reads_numbers_and_digit_strings() -> None:
    """as_int takes an int as it is and a digit string as its number."""
    assert (as_int(4), as_int("04")) == (4, 4)
