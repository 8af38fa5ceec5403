"""Standing orders: ``standing.order.list``."""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Any

import attrs

from .._wire import wire
from ..models.standing_orders import STANDING_ORDER_STATUSES, StandingOrder
from ._base import Resource

__all__ = ["StandingOrderListQuery", "StandingOrders"]


@attrs.frozen(kw_only=True)
class StandingOrderListQuery:
    """The filters of ``standing.order.list``."""

    date_from: dt.date = attrs.field(metadata=wire(required=True))
    date_to: dt.date = attrs.field(metadata=wire(required=True))
    customer: str | None = attrs.field(default=None, metadata=wire(max_len=50))
    customer_id: int | None = attrs.field(default=None, metadata=wire(max_digits=10))
    number: str | None = attrs.field(default=None, metadata=wire(max_len=10))
    location_id: int | None = attrs.field(default=None, metadata=wire(max_digits=10))
    status: str | None = attrs.field(default=None, metadata=wire(choices=STANDING_ORDER_STATUSES))

    def date_problems(self) -> builtins.list[str]:
        """The cross-field rule: the range must not run backwards."""
        if (
            isinstance(self.date_from, dt.date)
            and isinstance(self.date_to, dt.date)
            and _day(self.date_from) > _day(self.date_to)
        ):
            return [f"date_from: {self.date_from} is after date_to {self.date_to}"]
        return []


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _as_text(value: Any) -> Any:
    """Accept an order number as an int too; anything else is left for validation."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class StandingOrders(Resource):
    """``client.standing_orders``: list standing orders."""

    __slots__ = ()

    async def list(
        self,
        *,
        date_from: dt.date,
        date_to: dt.date,
        customer: str | None = None,
        customer_id: int | None = None,
        number: str | int | None = None,
        location_id: int | None = None,
        status: str | None = None,
    ) -> builtins.list[StandingOrder]:
        """GET standing.order.list: standing orders whose dates overlap [date_from, date_to].

        ``customer`` is a case-insensitive "contains" match on the customer's
        name or code; ``customer_id``, ``number``, ``location_id`` and
        ``status`` (``"All"``, ``"Active"`` or ``"Cancelled"``; the server's
        default is Active) match exactly. An empty result is ``[]``.
        """
        query = StandingOrderListQuery(
            date_from=date_from,
            date_to=date_to,
            customer=customer,
            customer_id=customer_id,
            number=_as_text(number),
            location_id=location_id,
            status=status,
        )
        return await self._client._list(
            "standing.order.list",
            query,
            key="standingOrders",
            model=StandingOrder,
            extra_problems=query.date_problems(),
        )
