"""Standing order models: ``standing.order.list`` records and their parts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from .._wire import wire

__all__ = [
    "STANDING_ORDER_STATUSES",
    "Breakdown",
    "CustomField",
    "StandingOrder",
    "StandingOrderDetail",
]

#: Values the ``status`` filter of ``standing.order.list`` accepts.
STANDING_ORDER_STATUSES = ("All", "Active", "Cancelled")


@attrs.frozen
class Breakdown:
    """One product inside an assorted box."""

    product_id: int
    product_description: str | None = None
    stems_bunch: int | None = None
    bunches: int | None = None
    price: Decimal | None = None


@attrs.frozen
class CustomField:
    """A company-defined custom field on a standing order line."""

    name: str
    description: str | None = None


@attrs.frozen
class StandingOrderDetail:
    """One line (box) of a standing order."""

    so_item_id: int
    product_id: int | None = None
    product_description: str | None = None
    units: int | None = None
    #: stem or bunch.
    unit_type: str | None = None
    bunches: int | None = None
    total_boxes: int | None = None
    total_units: int | None = None
    unit_price: Decimal | None = None
    total_price: Decimal | None = None
    unit_cost: Decimal | None = None
    total_cost: Decimal | None = None
    stems_bunch: int | None = None
    mark_code: str | None = None
    #: HB, QB, EB, ...
    box_type: str | None = None
    vendor_name: str | None = None
    is_assorted: bool | None = None
    breakdowns: tuple[Breakdown, ...] = ()
    custom_fields: tuple[CustomField, ...] = attrs.field(
        default=(), metadata=wire(key="customField")
    )


@attrs.frozen
class StandingOrder:
    """A standing order as ``standing.order.list`` returns it."""

    id: int
    number: int | None = None
    customer_name: str | None = None
    customer_code: str | None = None
    price_list: str | None = None
    carrier_name: str | None = None
    recurrence: int | None = None
    #: The weekdays orders are generated on (sent comma-separated).
    days: tuple[str, ...] = ()
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    salesperson: str | None = None
    location_code: str | None = None
    location_name: str | None = None
    ship_to_name: str | None = None
    ship_to_carrier: str | None = None
    ship_to_street: str | None = None
    ship_to_city: str | None = None
    ship_to_state: str | None = None
    ship_to_zipcode: str | None = None
    ship_to_country: str | None = None
    ship_to_phone: str | None = None
    ship_to_fax: str | None = None
    details: tuple[StandingOrderDetail, ...] = ()
