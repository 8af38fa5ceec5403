"""Customer models: ``customer.list`` records and the ``customer.update`` request."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import attrs

from .._wire import wire

__all__ = ["Customer", "CustomerUpdate", "DISPLAY_VENDOR", "SEND_VIA"]


@attrs.frozen
class Customer:
    """A customer as ``customer.list`` returns it."""

    id: int
    name: str
    code: str | None = None
    accounting_code: str | None = None
    active: bool | None = None
    sales_person: str | None = None
    sales_person_id: int | None = None
    customer_type: str | None = None
    updated_on: dt.datetime | None = None


#: Values ``send_invoice_via`` / ``send_statement_via`` accept.
SEND_VIA = ("e-mail", "fax", "mail")
#: ``display_vendor``: 0 hides vendor information, 1 shows the code, 2 the name.
DISPLAY_VENDOR = (0, 1, 2)

_MONEY = wire(digits=10, places=2)


def _text(max_len: int, **kwargs: Any) -> dict[str, Any]:
    return wire(max_len=max_len, **kwargs)


@attrs.frozen(kw_only=True)
class CustomerUpdate:
    """The fields of a ``customer.update`` call.

    ``customer_id`` and ``name`` are required; every other field left as
    ``None`` is not sent, so an update never blanks what the caller did not
    set. Flags go on the wire as 1/0, money with two places, and the tuple
    fields joined with the separator the API documents (``:`` for location
    codes, ``;`` for e-mail addresses, ``,`` for send-via values).
    """

    customer_id: int = attrs.field(metadata=wire(required=True, max_digits=20))
    name: str = attrs.field(metadata=_text(200, required=True))
    active: bool | None = None
    code: str | None = attrs.field(default=None, metadata=_text(10))
    #: Komet customer type id (ask the Komet team for the list).
    type: int | None = attrs.field(default=None, metadata=wire(max_digits=20))
    location_codes: tuple[str, ...] | None = attrs.field(default=None, metadata=_text(50, sep=":"))
    phone: str | None = attrs.field(default=None, metadata=_text(20))
    ask_payment_upon_confirmation: bool | None = None
    finance_charge_percentage: Decimal | None = attrs.field(default=None, metadata=_MONEY)
    customer_group: str | None = attrs.field(default=None, metadata=_text(50))
    fax: str | None = attrs.field(default=None, metadata=_text(20))
    website: str | None = attrs.field(default=None, metadata=_text(50))
    terms: str | None = attrs.field(default=None, metadata=_text(50))
    email_for_invoices: tuple[str, ...] | None = attrs.field(
        default=None, metadata=_text(200, sep=";")
    )
    email_for_statements: tuple[str, ...] | None = attrs.field(
        default=None, metadata=_text(200, sep=";")
    )
    credit_hold: bool | None = None
    #: 0 means a credit limit of zero; leave it ``None`` to keep the current one.
    credit_limit: Decimal | None = attrs.field(default=None, metadata=_MONEY)
    payment_method: str | None = attrs.field(default=None, metadata=_text(50))
    charge_fuel_surcharge: bool | None = None
    charge_tax: bool | None = None
    tax_exempt_number: str | None = attrs.field(default=None, metadata=_text(50))
    send_invoice_via: tuple[str, ...] | None = attrs.field(
        default=None, metadata=_text(50, sep=",", choices=SEND_VIA)
    )
    send_statement_via: tuple[str, ...] | None = attrs.field(
        default=None, metadata=_text(50, sep=",", choices=SEND_VIA)
    )
    default_price: str | None = attrs.field(default=None, metadata=_text(1, choices=("A", "B")))
    markup_value: Decimal | None = attrs.field(default=None, metadata=wire(digits=5))
    markup_type: str | None = attrs.field(default=None, metadata=_text(1, choices=("$", "%")))
    default_shipping_notes: str | None = attrs.field(default=None, metadata=_text(200))
    billing_street: str | None = attrs.field(default=None, metadata=_text(200))
    billing_city: str | None = attrs.field(default=None, metadata=_text(50))
    billing_state: str | None = attrs.field(default=None, metadata=_text(50))
    billing_zipcode: str | None = attrs.field(default=None, metadata=_text(10))
    billing_country: str | None = attrs.field(default=None, metadata=_text(50))
    shipping_street: str | None = attrs.field(default=None, metadata=_text(200))
    shipping_city: str | None = attrs.field(default=None, metadata=_text(50))
    shipping_state: str | None = attrs.field(default=None, metadata=_text(50))
    shipping_zipcode: str | None = attrs.field(default=None, metadata=_text(10))
    shipping_country: str | None = attrs.field(default=None, metadata=_text(50))
    last_sales_date: dt.date | None = None
    show_fob_price: bool | None = None
    sales_person_for_flowers: str | None = attrs.field(default=None, metadata=_text(50))
    sales_person_for_plants: str | None = attrs.field(default=None, metadata=_text(50))
    sales_person_code_for_flowers: str | None = attrs.field(default=None, metadata=_text(20))
    sales_person_code_for_plants: str | None = attrs.field(default=None, metadata=_text(20))
    vat_code: str | None = attrs.field(default=None, metadata=_text(50))
    main_location_code: str | None = attrs.field(default=None, metadata=_text(10))
    is_customer_po_required: bool | None = attrs.field(
        default=None, metadata=wire(key="isCustomerPORequired")
    )
    crm_link: str | None = attrs.field(default=None, metadata=_text(500))
    territory: str | None = attrs.field(default=None, metadata=_text(50))
    accounting_code: str | None = attrs.field(default=None, metadata=_text(50))
    e_commerce_markup_sign: str | None = attrs.field(
        default=None, metadata=_text(1, choices=("$", "%"))
    )
    e_commerce_markup_value: Decimal | None = attrs.field(default=None, metadata=_MONEY)
    display_vendor: int | None = attrs.field(default=None, metadata=wire(choices=DISPLAY_VENDOR))
    check_out_notification_to: str | None = attrs.field(default=None, metadata=_text(200))
    show_arrival_date: bool | None = None
    #: 0 for the list experience, 1 for the visual one.
    ecommerce_experience: int | None = attrs.field(default=None, metadata=wire(choices=(0, 1)))
    #: 0 through the warehouse, 1 direct from the vendor, 2 the user's choice.
    ecommerce_ship_via: int | None = attrs.field(default=None, metadata=wire(choices=(0, 1, 2)))
