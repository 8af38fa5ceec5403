"""Reference models mirroring ``Customer`` and ``StandingOrder``, for pydantic v2 and msgspec.

Built by functions, not at import: pydantic and msgspec are optional, and the
harness marks a comparison skipped when they are missing. The pydantic models
keep the client's lenient rules where they are cheap ("1"/"0" flags, comma
separated weekdays); ids sent as strings and decimals sent as strings or
floats need nothing, pydantic's lax mode takes them. msgspec runs with
``strict=False`` for the same reason.

No ``from __future__ import annotations`` here: the classes are local to a
function, and both libraries must evaluate their annotations at class creation.
"""

import datetime as dt
from decimal import Decimal
from typing import Any


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "")
    return value


def _weekdays(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(day for day in value.split(",") if day)
    return value


def pydantic_models() -> tuple[Any, Any]:
    """``(TypeAdapter(list[Customer]), TypeAdapter(list[StandingOrder]))`` for pydantic v2."""
    from typing import Annotated

    from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter
    from pydantic.alias_generators import to_camel

    flag = Annotated[bool | None, BeforeValidator(_flag)]
    weekdays = Annotated[tuple[str, ...], BeforeValidator(_weekdays)]
    # Frozen like the attrs models; populate_by_name off: the wire uses camelCase.
    config = ConfigDict(alias_generator=to_camel, frozen=True)

    class Customer(BaseModel):
        model_config = config
        id: int
        name: str
        code: str | None = None
        accounting_code: str | None = None
        active: flag = None
        sales_person: str | None = None
        sales_person_id: int | None = None
        customer_type: str | None = None
        updated_on: dt.datetime | None = None

    class Breakdown(BaseModel):
        model_config = config
        product_id: int
        product_description: str | None = None
        stems_bunch: int | None = None
        bunches: int | None = None
        price: Decimal | None = None

    class CustomField(BaseModel):
        model_config = config
        name: str
        description: str | None = None

    class Detail(BaseModel):
        model_config = config
        so_item_id: int
        product_id: int | None = None
        product_description: str | None = None
        units: int | None = None
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
        box_type: str | None = None
        vendor_name: str | None = None
        is_assorted: flag = None
        breakdowns: tuple[Breakdown, ...] = ()
        custom_fields: tuple[CustomField, ...] = Field(default=(), alias="customField")

    class StandingOrder(BaseModel):
        model_config = config
        id: int
        number: int | None = None
        customer_name: str | None = None
        customer_code: str | None = None
        price_list: str | None = None
        carrier_name: str | None = None
        recurrence: int | None = None
        days: weekdays = ()
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
        details: tuple[Detail, ...] = ()

    return TypeAdapter(list[Customer]), TypeAdapter(list[StandingOrder])


def msgspec_decoders() -> tuple[Any, Any]:
    """``(Decoder(list[Customer]), Decoder(list[StandingOrder]))`` for msgspec, lax mode."""
    import msgspec

    # msgspec cannot split "Friday,Saturday" while decoding; the floor keeps it a string.
    class Customer(msgspec.Struct, rename="camel", frozen=True):
        id: int
        name: str
        code: str | None = None
        accounting_code: str | None = None
        active: bool | None = None
        sales_person: str | None = None
        sales_person_id: int | None = None
        customer_type: str | None = None
        updated_on: dt.datetime | None = None

    class Breakdown(msgspec.Struct, rename="camel", frozen=True):
        product_id: int
        product_description: str | None = None
        stems_bunch: int | None = None
        bunches: int | None = None
        price: Decimal | None = None

    class CustomField(msgspec.Struct, rename="camel", frozen=True):
        name: str
        description: str | None = None

    class Detail(msgspec.Struct, rename="camel", frozen=True):
        so_item_id: int
        product_id: int | None = None
        product_description: str | None = None
        units: int | None = None
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
        box_type: str | None = None
        vendor_name: str | None = None
        is_assorted: bool | None = None
        breakdowns: tuple[Breakdown, ...] = ()
        custom_fields: tuple[CustomField, ...] = msgspec.field(default=(), name="customField")

    class StandingOrder(msgspec.Struct, rename="camel", frozen=True):
        id: int
        number: int | None = None
        customer_name: str | None = None
        customer_code: str | None = None
        price_list: str | None = None
        carrier_name: str | None = None
        recurrence: int | None = None
        days: str | None = None
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
        details: tuple[Detail, ...] = ()

    return (
        msgspec.json.Decoder(list[Customer], strict=False),
        msgspec.json.Decoder(list[StandingOrder], strict=False),
    )
