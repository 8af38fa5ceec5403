"""Customers: ``customer.list`` and ``customer.update``."""

from __future__ import annotations

import builtins
import datetime as dt

import attrs

from .._wire import wire
from ..errors import ResponseFormatError, ValidationError
from ..models.customers import Customer, CustomerUpdate
from ._base import Resource

__all__ = ["CustomerListQuery", "Customers"]


@attrs.frozen(kw_only=True)
class CustomerListQuery:
    """The filters of ``customer.list``."""

    id: int | None = attrs.field(default=None, metadata=wire(max_digits=20))
    name: str | None = attrs.field(default=None, metadata=wire(max_len=200))
    code: str | None = attrs.field(default=None, metadata=wire(max_len=10))
    sales_person_id: int | None = attrs.field(default=None, metadata=wire(max_digits=20))
    include_inactive: bool | None = None
    location_id: int | None = attrs.field(default=None, metadata=wire(max_digits=20))
    # The documented parameter is updateAsOf, not updatedAsOf.
    updated_as_of: dt.date | None = attrs.field(default=None, metadata=wire(key="updateAsOf"))


class Customers(Resource):
    """``client.customers``: list and update customers."""

    __slots__ = ()

    async def list(
        self,
        *,
        id: int | None = None,
        name: str | None = None,
        code: str | None = None,
        sales_person_id: int | None = None,
        include_inactive: bool | None = None,
        location_id: int | None = None,
        updated_as_of: dt.date | None = None,
    ) -> builtins.list[Customer]:
        """GET customer.list: customers matching every filter given.

        ``id`` and ``code`` match exactly; ``name`` is a case-insensitive
        "contains" match. Inactive customers are left out unless
        ``include_inactive=True``. ``updated_as_of`` keeps customers updated
        on or after that date. An empty result is ``[]``.
        """
        query: CustomerListQuery | None = None  # no filters: nothing to validate or encode
        if not (
            id is None
            and name is None
            and code is None
            and sales_person_id is None
            and include_inactive is None
            and location_id is None
            and updated_as_of is None
        ):
            query = CustomerListQuery(
                id=id,
                name=name,
                code=code,
                sales_person_id=sales_person_id,
                include_inactive=include_inactive,
                location_id=location_id,
                updated_as_of=updated_as_of,
            )
        client = self._client
        response = await client._list_response("customer.list", query)
        return client._list_records(response, "customer.list", key="customers", model=Customer)

    async def changed_since(
        self,
        when: dt.date | dt.datetime,
        *,
        name: str | None = None,
        code: str | None = None,
        sales_person_id: int | None = None,
        include_inactive: bool = True,
        location_id: int | None = None,
    ) -> builtins.list[Customer]:
        """GET customer.list with ``updateAsOf``: customers changed at or after ``when``.

        Komet filters by day only, so the request asks for ``when``'s date; when
        ``when`` is a datetime, customers updated earlier that day are then
        dropped here (``updated_on >= when``). Customers without ``updated_on``
        are kept: a record fetched twice is better than one missed. Inactive
        customers are included by default, since deactivating one is a change.

        Komet's ``updatedOn`` is naive local time, so ``when`` must be naive too
        (a date, or a datetime without ``tzinfo``); an aware one is a
        :class:`ValidationError`. The other filters are those of :meth:`list`.
        """
        method = "customer.list"
        if isinstance(when, dt.datetime):
            if when.tzinfo is not None and when.utcoffset() is not None:
                raise ValidationError(
                    [
                        f"when: {when.isoformat()} is timezone-aware, but Komet's updatedOn is "
                        "naive local time; pass a naive datetime in the company's time zone"
                    ],
                    method=method,
                )
            day = when.date()
        elif isinstance(when, dt.date):
            day = when
        else:
            raise ValidationError(
                [f"when: expected a date or datetime, got {type(when).__name__}"], method=method
            )
        found = await self.list(
            name=name,
            code=code,
            sales_person_id=sales_person_id,
            include_inactive=include_inactive,
            location_id=location_id,
            updated_as_of=day,
        )
        if not isinstance(when, dt.datetime):
            return found
        kept = []
        for index, customer in enumerate(found):
            stamp = customer.updated_on
            if stamp is not None and stamp.tzinfo is not None and stamp.utcoffset() is not None:
                # Ordering an aware time against the naive ``when`` would be a guess.
                raise ResponseFormatError(
                    f"{method}: updatedOn {stamp.isoformat()} has a time zone; "
                    "Komet documents naive local time",
                    path=f"customers[{index}].updatedOn",
                    value=stamp.isoformat(),
                    method=method,
                )
            if stamp is None or stamp >= when:
                kept.append(customer)
        return kept

    async def update(self, update: CustomerUpdate) -> int:
        """POST customer.update: change the fields set in ``update``; return the customer id.

        Fields left as ``None`` are not sent. Every problem with ``update`` is
        reported at once as a :class:`ValidationError` before anything is sent.
        """
        if not isinstance(update, CustomerUpdate):
            raise ValidationError(
                [f"update: expected a CustomerUpdate, got {type(update).__name__}"],
                method="customer.update",
            )
        return await self._client._update("customer.update", update, key="customerId")
