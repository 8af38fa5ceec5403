"""Standing orders: ``standing.order.list``."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable
from typing import Any, Final

import attrs

from .._requests import problems
from .._sansio import RecordPick, Response
from .._wire import wire
from ..errors import HTTPStatusError, TransportError, ValidationError
from ..models.standing_orders import STANDING_ORDER_STATUSES, StandingOrder
from ..pagination import AsyncPaginator, DateWindows, Window, decode_window_cursor, split_range
from ._base import Resource

__all__ = ["DEFAULT_WINDOW", "StandingOrderListQuery", "StandingOrders"]

#: Date windows of a month: one request per month of standing orders.
DEFAULT_WINDOW: Final = dt.timedelta(days=31)


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
        client = self._client
        response = await client._list_response("standing.order.list", query, query.date_problems())
        return client._list_records(
            response, "standing.order.list", key="standingOrders", model=StandingOrder
        )

    def iter(
        self,
        *,
        date_from: dt.date,
        date_to: dt.date,
        window: dt.timedelta = DEFAULT_WINDOW,
        concurrency: int = 4,
        ordered: bool = False,
        on_progress: Callable[[int, int, int], None] | None = None,
        cursor: str | None = None,
        customer: str | None = None,
        customer_id: int | None = None,
        number: str | int | None = None,
        location_id: int | None = None,
        status: str | None = None,
    ) -> AsyncPaginator[StandingOrder]:
        """Every standing order overlapping [date_from, date_to], fetched in date windows.

        Komet has no pages; its lists are bounded by dates. The range is cut
        into ``window``-long windows fetched ``concurrency`` at a time, and each
        standing order is yielded exactly once (an order spanning several
        windows comes back from each; the window holding its start date hands
        it out). ``ordered=True`` yields in date order, otherwise as windows
        complete. A window that times out, or that the server fails on
        (HTTP 413 or 5xx after retries), is split in half and retried, down to
        one day. ``on_progress(done_windows, total_windows, records)`` follows
        each window. Pass a stopped paginator's ``next_cursor`` as ``cursor``
        (with the same dates and filters) to fetch only the windows not done.

        Use it with ``async for``, or ``await ....collect()``; leave early
        with ``async with`` (or ``aclose()``) to stop fetches in flight.
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
        found = [*problems(query), *query.date_problems()]
        days = window.days if isinstance(window, dt.timedelta) else 0
        if days < 1:
            found.append(f"window: at least one day, got {window!r}")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            found.append(f"concurrency: a positive integer is required, got {concurrency!r}")
        if found:
            raise ValidationError(found, method="standing.order.list")
        span = (_day(date_from), _day(date_to))
        windows = split_range(*span, days)
        if cursor is not None:
            cursor_span, windows = decode_window_cursor(cursor)
            if cursor_span != span:
                raise ValidationError(
                    [f"cursor: made for {cursor_span[0]}..{cursor_span[1]}, not this range"],
                    method="standing.order.list",
                )
        filters = attrs.evolve(query, date_from=span[0], date_to=span[1])

        method = "standing.order.list"

        # Two steps, so a window's decoding does not hold back the next request.
        async def fetch(start: dt.date, end: dt.date) -> Response:
            return await self._client._list_response(
                method, attrs.evolve(filters, date_from=start, date_to=end)
            )

        def parse(start: dt.date, end: dt.date, response: Response) -> list[StandingOrder]:
            return self._client._list_records(
                response,
                method,
                key="standingOrders",
                model=StandingOrder,
                keep=_owned_by((start, end), span),
            )

        source = DateWindows(
            fetch,
            parse=parse,
            span=span,
            windows=windows,
            key=lambda order: order.id,
            owner=lambda order: order.start_date,
            splittable=_worth_splitting,
            concurrency=concurrency,
            ordered=ordered,
            on_progress=on_progress,
        )
        return AsyncPaginator.from_source(source)


def _owned_by(window: Window, span: Window) -> RecordPick:
    """Whether a raw order belongs to ``window`` (its start date, clamped into ``span``).

    Orders overlapping a window come back from every window they overlap
    (a 31-day window of a year-long order: twelve times); structuring only
    the window's own orders costs a twelfth of it on such data (the
    ``windows`` benchmark), and with msgspec the others are not even decoded.
    A start date this cannot read keeps the order, and :class:`DateWindows`
    decides on the structured record, or the structuring error names the
    field.
    """
    start, end = window
    first, last = span

    def owned(start_date: Any) -> bool:
        try:
            day = dt.date.fromisoformat(start_date[:10])
        except (TypeError, ValueError, IndexError):
            return True
        day = min(max(day, first), last)
        return start <= day <= end

    return RecordPick("startDate", owned)


def _worth_splitting(error: BaseException) -> bool:
    """A smaller window may succeed where this one timed out or was too much for the server."""
    if isinstance(error, TransportError):
        return error.timed_out
    if isinstance(error, HTTPStatusError):
        return error.status == 413 or error.status >= 500
    return False
