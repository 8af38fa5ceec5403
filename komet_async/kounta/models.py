"""Kounta (Lightspeed O-Series) customer models: records, requests, webhook events.

JSON keys are snake_case like the field names. ``reference_id`` of ``""``
means unset and becomes ``None`` (in records read, and in a
:class:`NewCustomer`). List pages may carry abridged records: the same
:class:`Customer` class with the absent fields as ``None``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import attrs

from .._wire import wire
from ._countries import ISO_COUNTRIES

__all__ = [
    "CUSTOMER_TOPICS",
    "Address",
    "Customer",
    "CustomerChanges",
    "CustomerEvent",
    "NewAddress",
    "NewCustomer",
    "Webhook",
]

#: Webhook topics about customers.
CUSTOMER_TOPICS: Final = ("customers/created", "customers/updated", "customers/deleted")


@attrs.frozen
class Address:
    """A postal address as Kounta returns it."""

    lines: tuple[str, ...] = ()
    city: str | None = None
    #: State, province or region.
    zone: str | None = None
    postal_code: str | None = None
    #: ISO 3166-1 alpha-2 code.
    country: str | None = None


@attrs.frozen
class Customer:
    """A Kounta customer (the full record, or an abridged one from a list page)."""

    id: int
    company_id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    primary_email_address: str | None = None
    phone: str | None = None
    mobile: str | None = None
    fax: str | None = None
    reference_id: str | None = None
    tags: tuple[str, ...] = ()
    image: str | None = None
    primary_address: Address | None = None
    shipping_address: Address | None = None
    accepts_marketing: bool | None = None
    points: int | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


def _text(max_len: int, **kwargs: Any) -> dict[str, Any]:
    return wire(max_len=max_len, **kwargs)


_COUNTRY = wire(choices=ISO_COUNTRIES, choices_name="an ISO 3166-1 alpha-2 code such as 'AU'")


def _unset_if_blank(value: str | None) -> str | None:
    """``None`` for a blank string (``""``, whitespace), else ``value`` unchanged.

    Kounta spells "no reference" as ``""``, and a blank reference cannot be
    looked up (``find_by_reference`` refuses it): it is no reference at all.
    Anything that is not a string is left for validation to report.
    """
    if isinstance(value, str) and not value.strip():
        return None
    return value


@attrs.frozen(kw_only=True)
class NewAddress:
    """An address to send with :class:`NewCustomer` or :class:`CustomerChanges`."""

    lines: tuple[str, ...] | None = None
    city: str | None = attrs.field(default=None, metadata=_text(100))
    zone: str | None = attrs.field(default=None, metadata=_text(100))
    postal_code: str | None = attrs.field(default=None, metadata=_text(20))
    country: str | None = attrs.field(default=None, metadata=_COUNTRY)


@attrs.frozen(kw_only=True)
class NewCustomer:
    """A customer to create: ``first_name`` and one of ``email``, ``phone`` or ``mobile``.

    Give a ``reference_id`` (your own id for the customer) to make the create
    safe to retry: before sending again after a failure that may have reached
    the server, the client looks the reference up and returns the record it
    finds instead of creating a duplicate. A blank ``reference_id`` (``""``
    or whitespace) is no reference: it becomes ``None``, is not sent, and the
    create is then not resent once it may have reached the server.
    """

    first_name: str = attrs.field(metadata=_text(100, required=True))
    last_name: str | None = attrs.field(default=None, metadata=_text(100))
    email: str | None = attrs.field(default=None, metadata=_text(200))
    phone: str | None = attrs.field(default=None, metadata=_text(50))
    mobile: str | None = attrs.field(default=None, metadata=_text(50))
    reference_id: str | None = attrs.field(
        default=None, converter=_unset_if_blank, metadata=_text(100)
    )
    tags: tuple[str, ...] | None = None
    image: str | None = attrs.field(default=None, metadata=_text(500))
    primary_address: NewAddress | None = None
    shipping_address: NewAddress | None = None
    accepts_marketing: bool | None = None

    def contact_problems(self) -> list[str]:
        """The cross-field rule: Kounta needs a way to reach the customer."""
        if self.email is None and self.phone is None and self.mobile is None:
            return ["email, phone or mobile: at least one is required"]
        return []


@attrs.frozen(kw_only=True)
class CustomerChanges:
    """Changes to a customer; only these fields can be modified, and ``None`` is not sent."""

    first_name: str | None = attrs.field(default=None, metadata=_text(100))
    last_name: str | None = attrs.field(default=None, metadata=_text(100))
    phone: str | None = attrs.field(default=None, metadata=_text(50))
    email: str | None = attrs.field(default=None, metadata=_text(200))
    #: Must be unique within the company.
    mobile: str | None = attrs.field(default=None, metadata=_text(50))
    tags: tuple[str, ...] | None = None
    image: str | None = attrs.field(default=None, metadata=_text(500))
    primary_address: NewAddress | None = None
    shipping_address: NewAddress | None = None
    reference_id: str | None = attrs.field(default=None, metadata=_text(100))
    accepts_marketing: bool | None = None

    def empty_problems(self) -> list[str]:
        """An update that changes nothing is a mistake worth reporting."""
        if all(getattr(self, a.name) is None for a in attrs.fields(type(self))):
            return ["changes: set at least one field"]
        return []


@attrs.frozen
class Webhook:
    """A webhook subscription: Kounta POSTs events of ``topic`` to ``address``."""

    topic: str
    address: str
    id: int | None = None
    format: str = "json"
    #: Extra headers Kounta sends with each delivery.
    headers: dict[str, str] = attrs.field(factory=dict, hash=False)
    #: Attribute filters for ``customers/updated`` (name, phone, email, address, ...).
    filter: tuple[str, ...] = ()


@attrs.frozen
class CustomerEvent:
    """A webhook delivery: the topic and the complete customer it is about."""

    topic: str
    customer: Customer
