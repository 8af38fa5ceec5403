"""Valid base payloads for every response model: the samples and the sandbox generators."""

from __future__ import annotations

import copy
import functools
from typing import Any

import attrs

from komet_async.kounta import models as kounta
from komet_async.models import (
    Breakdown,
    Customer,
    CustomField,
    Product,
    StandingOrder,
    StandingOrderDetail,
)
from komet_async.sandbox import generate
from komet_async.sandbox.kounta.data import KountaData

from .strategies import load_sample


@functools.cache
def komet_bases() -> dict[type[Any], list[Any]]:
    """Komet wire records per model: the documented samples and generated records."""
    data = generate(11, customers=4, products=4, standing_orders=4)
    customers = [
        *load_sample("customer.list.json")["customers"],
        *(r.wire for r in data.customer_records.values()),
    ]
    products = [
        *load_sample("product.list.json")["products"],
        *(r.wire for r in data.product_records.values()),
    ]
    orders = [
        *load_sample("standing.order.list.json")["standingOrders"],
        *(r.wire for r in data.standing_order_records.values()),
    ]
    details = [d for o in orders for d in o.get("details") or []]
    return {
        Customer: copy.deepcopy(customers),
        Product: copy.deepcopy(products),
        StandingOrder: copy.deepcopy(orders),
        StandingOrderDetail: copy.deepcopy(details),
        Breakdown: copy.deepcopy([b for d in details for b in d.get("breakdowns") or []]),
        CustomField: copy.deepcopy([c for d in details for c in d.get("customField") or []]),
    }


@functools.cache
def kounta_bases() -> dict[type[Any], list[Any]]:
    """Kounta wire records per model: generated customers (full and abridged), webhooks."""
    data = KountaData(seed=11, customers=6, company_id=5678)
    records = [data.record(i) for i in sorted(data._records)]
    full = [r for r in records if r is not None]
    # Fields the generator leaves out, so every field of the model is fuzzed.
    full[0] = {**full[0], "primary_email_address": "billing@example.com.au", "fax": "02 9999 0000"}
    customers = [*full, *(data.list_view(r) for r in full[:2])]
    addresses = [
        a for r in full for a in (r["primary_address"], r["shipping_address"]) if a is not None
    ]
    webhooks = [
        {
            "id": 71,
            "topic": "customers/updated",
            "address": "https://hooks.example.com/kounta",
            "format": "json",
            "headers": {"X-Shop": "north"},
            "filter": ["name", "email"],
        },
        {"topic": "customers/created", "address": "https://hooks.example.com/k"},
    ]
    return {
        kounta.Customer: copy.deepcopy(customers),
        kounta.Address: copy.deepcopy(addresses),
        kounta.Webhook: webhooks,
    }


def wire_keys(model: type[Any], naming: str) -> set[str]:
    """The JSON keys of ``model``'s fields."""
    from komet_async._converters import NAMINGS
    from komet_async._wire import wire_name

    attrs.resolve_types(model)
    return {wire_name(a, NAMINGS[naming]) for a in attrs.fields(model)}
