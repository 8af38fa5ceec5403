"""Date-window pagination: exactly-once records, order, splitting and resume."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs
import pytest

from komet_async import (
    APIError,
    KometClient,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationError,
    _sansio,
)
from komet_async.endpoints.standing_orders import _owned_by, _worth_splitting
from komet_async.pagination import (
    AsyncPaginator,
    DateWindows,
    decode_window_cursor,
    encode_window_cursor,
    split_range,
)
from komet_async.sandbox import KometSandbox

D = dt.date


@attrs.frozen
class Rec:
    id: int
    start: D
    end: D


def records(n: int = 300, seed: int = 1) -> list[Rec]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        start = D(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 366))
        out.append(Rec(i, start, start + dt.timedelta(days=rng.randrange(0, 200))))
    return out


class FakeServer:
    """Answers a window with every record overlapping it, after a delay that varies."""

    def __init__(self, recs: list[Rec], *, fail: type[BaseException] | None = None) -> None:
        self.recs = recs
        self.calls: list[tuple[D, D]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.fail_longer_than: int | None = None
        self.error: BaseException | None = None

    async def fetch(self, start: D, end: D) -> Sequence[Rec]:
        self.calls.append((start, end))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            # Later windows answer sooner, so completion order differs from date order.
            await asyncio.sleep(0.001 * (400 - (start - D(2024, 1, 1)).days) / 40)
            if self.fail_longer_than is not None and (end - start).days >= self.fail_longer_than:
                raise TransportError("timed out", timed_out=True)
            if self.error is not None and start == D(2024, 3, 1):
                raise self.error
            return [r for r in self.recs if r.start <= end and r.end >= start]
        finally:
            self.in_flight -= 1


SPAN = (D(2024, 1, 1), D(2024, 12, 31))


def paginator(server: FakeServer, **kwargs: object) -> AsyncPaginator[Rec]:
    options: dict[str, object] = {
        "span": SPAN,
        "windows": split_range(*SPAN, 31),
        "key": lambda r: r.id,
        "owner": lambda r: r.start,
        "splittable": _worth_splitting,
        "concurrency": 4,
        **kwargs,
    }
    return AsyncPaginator.from_source(DateWindows(server.fetch, **options))  # type: ignore[arg-type]


def parsed(
    fetch: Callable[[D, D], Awaitable[Any]],
    parse: Callable[[D, D, Any], Sequence[Rec]],
    span: tuple[D, D],
    windows: list[tuple[D, D]],
    **kwargs: Any,
) -> AsyncPaginator[Rec]:
    """Date windows fetched and parsed in two steps, records owned by their start day."""
    return AsyncPaginator.from_source(
        DateWindows(
            fetch,
            parse=parse,
            span=span,
            windows=windows,
            key=lambda r: r.id,
            owner=lambda r: r.start,
            splittable=_worth_splitting,
            **kwargs,
        )
    )


def overlapping(recs: list[Rec]) -> set[Rec]:
    return {r for r in recs if r.start <= SPAN[1] and r.end >= SPAN[0]}


def test_split_range_covers_the_span_without_gaps() -> None:
    """split_range cuts a span into consecutive windows; the last one may be shorter."""
    windows = split_range(D(2024, 1, 1), D(2024, 3, 5), 31)
    assert windows == [
        (D(2024, 1, 1), D(2024, 1, 31)),
        (D(2024, 2, 1), D(2024, 3, 2)),
        (D(2024, 3, 3), D(2024, 3, 5)),
    ]
    assert split_range(D(2024, 1, 1), D(2024, 1, 1), 31) == [(D(2024, 1, 1), D(2024, 1, 1))]
    with pytest.raises(ValueError, match="at least one day"):
        split_range(D(2024, 1, 1), D(2024, 1, 2), 0)


async def test_every_record_exactly_once() -> None:
    """Records that overlap many windows come out exactly once."""
    recs = records()
    server = FakeServer(recs)
    got = await paginator(server).collect()
    assert len(got) == len(set(got))
    assert set(got) == overlapping(recs)
    assert server.max_in_flight == 4


async def test_finished_window_frees_its_slot_without_waiting_for_the_consumer() -> None:
    """Fetches go on while the consumer dawdles: concurrency in flight, as many pages ahead."""
    recs = records()
    server = FakeServer(recs)
    async with paginator(server, concurrency=2) as pages:
        iterator = pages.pages()
        first = await iterator.__anext__()
        await asyncio.sleep(0.1)  # the consumer dawdles; fetches go on meanwhile
        # One page handed out, three fetched ahead (two freed places + one in flight
        # that finished), then nothing more until the consumer catches up.
        assert len(server.calls) == 4
        await asyncio.sleep(0.1)
        assert len(server.calls) == 4
        rest = [r async for page in iterator for r in page.items]
    assert server.max_in_flight == 2
    assert set(first.items) | set(rest) == overlapping(recs)


async def test_collect_again_after_a_partial_collect_gets_the_rest() -> None:
    """A paginator stopped by collect(max_items) fetches the windows left on the next collect()."""
    recs = records()
    pages = paginator(FakeServer(recs), ordered=True)
    head = await pages.collect(max_items=20)
    rest = await pages.collect()
    assert len(head) == 20
    assert set(head) | set(rest) == overlapping(recs)
    assert pages.next_cursor is None


async def test_ordered_mode_yields_windows_in_date_order() -> None:
    """ordered=True hands out pages in window order although later windows finish first."""
    server = FakeServer(records())
    starts = [
        min(r.start for r in p.items)
        async for p in paginator(server, ordered=True).pages()
        if p.items
    ]
    assert starts == sorted(starts)


async def test_unordered_mode_yields_as_windows_complete() -> None:
    """The default hands out whichever window finished first (here: later dates first)."""
    server = FakeServer(records())
    firsts = [p async for p in paginator(server, concurrency=12).pages()]
    owners = [max(max(r.start, SPAN[0]) for r in p.items) for p in firsts if p.items]
    assert owners != sorted(owners)


async def test_timed_out_windows_are_split_until_they_succeed() -> None:
    """Windows of 8+ days time out; they are halved until they answer, nothing lost."""
    recs = records()
    server = FakeServer(recs)
    server.fail_longer_than = 7
    progress: list[tuple[int, int, int]] = []
    got = await paginator(server, on_progress=lambda *a: progress.append(a)).collect()
    assert set(got) == overlapping(recs)
    assert len(got) == len(set(got))
    lengths = {(end - start).days for start, end in server.calls}
    assert max(lengths) == 30  # the month windows were tried first
    assert min(lengths) < 7  # and halved until they answered
    done, total, count = progress[-1]
    assert done == total > 12
    assert count == len(got)
    assert [p[0] for p in progress] == list(range(1, done + 1))


async def test_unsplittable_failure_raises_and_keeps_the_window() -> None:
    """A non-splittable error raises; the cursor still holds the failed window."""
    server = FakeServer(records())
    server.error = APIError("Invalid data.")  # a refusal: a smaller window would not help
    pages = paginator(
        server, windows=[(D(2024, 3, 1), D(2024, 3, 31)), (D(2024, 4, 1), D(2024, 4, 30))]
    )
    with pytest.raises(APIError):
        await pages.collect()
    assert pages.next_cursor is not None
    _, left = decode_window_cursor(pages.next_cursor)
    assert (D(2024, 3, 1), D(2024, 3, 31)) in left


async def test_resume_from_cursor_yields_exactly_the_rest() -> None:
    """Stopping after 4 pages and resuming from next_cursor gives every record once overall."""
    recs = records()
    first = paginator(FakeServer(recs))
    head: list[Rec] = []
    async with first:
        taken = 0
        async for page in first.pages():
            head.extend(page.items)
            taken += 1
            if taken == 4:
                break
    cursor = first.next_cursor
    assert cursor is not None
    span, left = decode_window_cursor(cursor)
    assert span == SPAN
    assert len(left) == 12 - 3  # the fourth page was handed out but not consumed
    rest_source = paginator(FakeServer(recs), windows=left)
    tail = await rest_source.collect()
    # The fourth page is fetched again on resume: page-granular, but never lost.
    assert set(head) | set(tail) == overlapping(recs)
    assert len(tail) == len(set(tail))


async def test_leaving_early_cancels_fetches_in_flight() -> None:
    """Breaking out and closing cancels running fetches: no task is left pending."""
    before = asyncio.all_tasks()
    pages = paginator(FakeServer(records()), concurrency=6)
    async with pages:
        async for _ in pages:
            break
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - before == set()


def test_cursor_round_trip_and_garbage() -> None:
    """A cursor encodes the span and windows; garbage is a ValidationError."""
    cursor = encode_window_cursor(SPAN, [(D(2024, 2, 1), D(2024, 2, 29))])
    assert decode_window_cursor(cursor) == (SPAN, [(D(2024, 2, 1), D(2024, 2, 29))])
    for bad in ("", "{}", '{"v": 2, "span": [], "windows": []}', "not json"):
        with pytest.raises(ValidationError, match="cursor"):
            decode_window_cursor(bad)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TransportError("t", timed_out=True), True),
        (TransportError("reset"), False),
        (ServerError("x", status=504), True),
        (ServerError("x", status=413), True),
        (ValidationError(["x"]), False),
    ],
)
def test_what_is_worth_splitting(error: BaseException, expected: bool) -> None:
    """Timeouts, 413 and 5xx split a window; other failures do not."""
    assert _worth_splitting(error) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"startDate": "2025-02-01"}, True),
        ({"startDate": "2025-02-28T00:00:00"}, True),
        ({"startDate": "2025-01-31"}, False),  # the window before owns it
        ({"startDate": "2025-03-01"}, False),
        ({"startDate": "2020-01-01"}, False),  # clamped to the span's first day
        ({"startDate": "2030-01-01"}, False),
        ({"startDate": ""}, True),  # unreadable: structured, DateWindows decides
        ({"startDate": None}, True),
        ({}, True),
        ("not an object", True),
    ],
)
def test_raw_orders_owned_by_a_window(raw: object, expected: bool) -> None:
    """A window keeps the raw orders whose clamped start date it holds, and unreadable ones."""
    keep = _owned_by((D(2025, 2, 1), D(2025, 2, 28)), (D(2025, 1, 1), D(2025, 12, 31)))
    assert keep(raw) is expected


def test_raw_orders_before_the_span_belong_to_its_first_window() -> None:
    """An order that began before the span is owned (clamped) by the first window."""
    keep = _owned_by((D(2025, 1, 1), D(2025, 1, 31)), (D(2025, 1, 1), D(2025, 12, 31)))
    assert keep({"startDate": "2019-06-01"}) is True


# --- through the client, against the sandbox ---------------------------------------


async def test_each_order_is_structured_once_across_windows() -> None:
    """iter() structures each order once, though every window it overlaps returns it."""
    sandbox = KometSandbox(seed=5, customers=50, products=20, standing_orders=200)
    async with sandbox, KometClient(sandbox.token, base_url=sandbox.base_url) as komet:
        structured: list[int] = []
        real = komet._decoder.structure

        def counting(data: Any, tp: Any, **kwargs: Any) -> Any:
            if isinstance(data, list):
                structured.append(len(data))
            return real(data, tp, **kwargs)

        komet._decoder.structure = counting  # type: ignore[method-assign]
        orders = await komet.standing_orders.iter(
            date_from=D(2025, 1, 1), date_to=D(2025, 12, 31), status="All"
        ).collect()
    assert len(orders) == len({o.id for o in orders}) > 0
    assert sum(structured) == len(orders)


async def test_three_years_of_standing_orders_exactly() -> None:
    """iter() over 2024-2026 returns exactly the sandbox's standing orders, once each."""
    sandbox = KometSandbox(seed=5, customers=50, products=20, standing_orders=400)
    async with sandbox, KometClient(sandbox.token, base_url=sandbox.base_url) as komet:
        progress: list[tuple[int, int, int]] = []
        orders = await komet.standing_orders.iter(
            date_from=D(2024, 1, 1),
            date_to=D(2026, 12, 31),
            status="All",
            concurrency=6,
            on_progress=lambda *a: progress.append(a),
        ).collect()
    assert len(orders) == len({o.id for o in orders})
    assert set(orders) == set(sandbox.data.standing_orders)
    assert progress[-1] == (36, 36, 400)


@pytest.mark.parametrize("msgspec", ["installed", "absent"])
async def test_a_year_of_standing_orders_with_and_without_msgspec(
    msgspec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """iter() returns the sandbox's orders exactly, whether msgspec splits the windows or not."""
    if msgspec == "absent":
        monkeypatch.setattr(_sansio, "_msgspec", None)
    elif _sansio._msgspec is None:
        pytest.skip("msgspec (the speedups extra) is not installed")
    sandbox = KometSandbox(seed=7, customers=50, products=20, standing_orders=300)
    span = (D(2025, 1, 1), D(2025, 12, 31))
    async with sandbox, KometClient(sandbox.token, base_url=sandbox.base_url) as komet:
        orders = await komet.standing_orders.iter(
            date_from=span[0], date_to=span[1], status="All", ordered=True
        ).collect()
    expected = {
        o
        for o in sandbox.data.standing_orders
        if o.start_date and o.end_date and o.start_date <= span[1] and o.end_date >= span[0]
    }
    assert len(orders) == len({o.id for o in orders})
    assert set(orders) == expected


async def test_endpoint_resume_with_cursor_gets_the_rest() -> None:
    """A stopped iter() resumes from its cursor; together they hold every order once."""
    sandbox = KometSandbox(seed=6, customers=50, products=20, standing_orders=300)
    async with sandbox, KometClient(sandbox.token, base_url=sandbox.base_url) as komet:
        span = {"date_from": D(2025, 1, 1), "date_to": D(2025, 12, 31), "status": "All"}
        first = komet.standing_orders.iter(**span, ordered=True)  # type: ignore[arg-type]
        head = await first.collect(max_items=50)
        cursor = first.next_cursor
        assert cursor is not None
        rest = await komet.standing_orders.iter(**span, cursor=cursor).collect()  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="cursor: made for"):
            komet.standing_orders.iter(
                date_from=D(2024, 1, 1), date_to=D(2024, 2, 1), cursor=cursor
            )
    expected = {
        o
        for o in sandbox.data.standing_orders
        if o.start_date
        and o.end_date
        and o.start_date <= D(2025, 12, 31)
        and o.end_date >= D(2025, 1, 1)
    }
    assert set(head) | set(rest) == expected
    assert len(rest) == len({o.id for o in rest})


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"window": dt.timedelta(hours=5)}, "window: at least one day"),
        ({"concurrency": 0}, "concurrency: a positive integer"),
        ({"date_to": D(2023, 1, 1)}, "is after date_to"),
        ({"status": "Open"}, "status: must be one of"),
    ],
)
async def test_iter_validates_before_sending(kwargs: dict[str, object], problem: str) -> None:
    """Bad windows, concurrency, ranges or filters are refused before any request."""
    async with KometClient("t", retry=RetryPolicy.disabled()) as komet:
        args: dict[str, object] = {"date_from": D(2024, 1, 1), "date_to": D(2024, 12, 31), **kwargs}
        with pytest.raises(ValidationError, match=problem):
            komet.standing_orders.iter(**args)  # type: ignore[arg-type]
        assert komet.stats.requests == 0


async def test_with_parse_the_next_fetch_starts_before_the_last_page_is_parsed() -> None:
    """A finished fetch starts the next window's request before its own page is parsed."""
    events: list[str] = []
    windows = split_range(D(2024, 1, 1), D(2024, 1, 3), 1)

    async def fetch(start: D, end: D) -> str:
        events.append(f"fetch {start.day}")
        await asyncio.sleep(0)
        return f"raw {start.day}"

    def parse(start: D, end: D, raw: str) -> list[Rec]:
        events.append(f"parse {raw}")
        return [Rec(start.day, start, end)]

    pages = parsed(fetch, parse, (D(2024, 1, 1), D(2024, 1, 3)), windows, concurrency=1)
    found = await pages.collect()
    assert [r.id for r in found] == [1, 2, 3]
    assert events == [
        "fetch 1",
        "fetch 2",
        "parse raw 1",
        "fetch 3",
        "parse raw 2",
        "parse raw 3",
    ]


async def test_a_page_that_fails_to_parse_is_raised_and_stays_in_the_cursor() -> None:
    """A parse error is raised to the consumer; its window is fetched again on resume."""
    span = (D(2024, 1, 1), D(2024, 1, 2))
    bad = {D(2024, 1, 2)}

    async def fetch(start: D, end: D) -> D:
        return start

    def parse(start: D, end: D, raw: D) -> list[Rec]:
        if raw in bad:
            raise ValueError("unreadable page")
        return [Rec(raw.day, raw, raw)]

    def make(cursor_windows: list[tuple[D, D]]) -> AsyncPaginator[Rec]:
        return parsed(fetch, parse, span, cursor_windows, concurrency=2, ordered=True)

    first = make(split_range(*span, 1))
    with pytest.raises(ValueError, match="unreadable page"):
        await first.collect()
    assert first.next_cursor is not None
    left_span, left = decode_window_cursor(first.next_cursor)
    assert left_span == span
    assert left == [(D(2024, 1, 1), D(2024, 1, 1)), (D(2024, 1, 2), D(2024, 1, 2))]
    bad.clear()
    assert [r.id for r in await make(left).collect()] == [1, 2]


def _timed_windows(
    delays: dict[int, float], events: list[str], *, concurrency: int, fail: int | None = None
) -> AsyncPaginator[Rec]:
    """Windows of one day each in January 2024; window ``d`` answers after ``delays[d]``."""
    span = (D(2024, 1, 1), D(2024, 1, len(delays)))

    async def fetch(start: D, end: D) -> str:
        events.append(f"fetch {start.day}")
        await asyncio.sleep(delays[start.day])
        if delays[start.day]:
            events.append(f"answer {start.day}")
        if start.day == fail:
            raise ValueError(f"window {start.day} failed")
        return f"raw {start.day}"

    def parse(start: D, end: D, raw: str) -> list[Rec]:
        events.append(f"parse {raw}")
        return [Rec(start.day, start, end)]

    return parsed(fetch, parse, span, split_range(*span, 1), concurrency=concurrency)


async def test_fetched_windows_wait_to_be_parsed_until_every_window_is_requested() -> None:
    """While windows wait for a place, a fetched window is parsed only after the rest go out."""
    events: list[str] = []
    # 1 answers at once, 2-4 after 20 ms: window 5 gets the place 2 frees.
    pages = _timed_windows({1: 0, 2: 0.02, 3: 0.04, 4: 0.04, 5: 0}, events, concurrency=3)
    found = await pages.collect()
    assert sorted(r.id for r in found) == [1, 2, 3, 4, 5]
    assert events[:8] == [
        "fetch 1",
        "fetch 2",
        "fetch 3",
        "fetch 4",  # the place window 1 freed
        "answer 2",
        "fetch 5",  # the place window 2 freed: nothing is left to request
        "parse raw 1",
        "parse raw 2",
    ]


async def test_parsing_waits_for_no_more_than_concurrency_fetched_windows() -> None:
    """Fetched windows are parsed once ``concurrency`` of them wait, windows still to request."""
    events: list[str] = []
    # 1 and 2 answer at once; 3 and the rest take 50 ms, so windows 5-6 wait for places.
    delays = {1: 0, 2: 0, 3: 0.05, 4: 0.05, 5: 0.05, 6: 0.05}
    pages = _timed_windows(delays, events, concurrency=2)
    found = await pages.collect()
    assert sorted(r.id for r in found) == [1, 2, 3, 4, 5, 6]
    # Two fetched windows waiting is the bound: they are parsed while 3 and 4
    # are still in flight, before 5 and 6 could be requested.
    assert events[:7] == [
        "fetch 1",
        "fetch 2",
        "fetch 3",
        "fetch 4",
        "parse raw 1",
        "parse raw 2",
        "answer 3",
    ]


async def test_fetches_finishing_a_loop_turn_apart_send_their_successors_before_parsing() -> None:
    """Windows answering a loop turn apart have their places refilled and sent before any parse."""
    events: list[str] = []
    answered = asyncio.Event()
    span = (D(2024, 1, 1), D(2024, 1, 4))

    async def fetch(start: D, end: D) -> str:
        events.append(f"fetch {start.day}")
        if start.day <= 2:
            await answered.wait()  # 1 and 2 wake in the same turn
        if start.day == 2:
            await asyncio.sleep(0)  # 2 answers one turn after 1
        if start.day > 2:
            await asyncio.sleep(0.01)  # in flight while 1 and 2 are parsed
        return f"raw {start.day}"

    def parse(start: D, end: D, raw: str) -> list[Rec]:
        events.append(f"parse {raw}")
        return [Rec(start.day, start, end)]

    pages = parsed(fetch, parse, span, split_range(*span, 1), concurrency=2)
    collecting = asyncio.ensure_future(pages.collect())
    for _ in range(3):
        await asyncio.sleep(0)
    assert events == ["fetch 1", "fetch 2"]
    answered.set()
    found = await collecting
    assert sorted(r.id for r in found) == [1, 2, 3, 4]
    # The consumer, woken by 1, sees 2 done too before 2's done callback has
    # started window 4: it starts 4 itself, and lets it send before parsing.
    assert events[:4] == ["fetch 1", "fetch 2", "fetch 3", "fetch 4"]
    assert sorted(events[4:]) == ["parse raw 1", "parse raw 2", "parse raw 3", "parse raw 4"]


async def test_a_failed_fetch_is_raised_without_waiting_for_the_others() -> None:
    """A fetch that fails is handled at once, not put off like a page waiting to be parsed."""
    events: list[str] = []
    pages = _timed_windows({1: 0, 2: 5.0, 3: 5.0, 4: 0}, events, concurrency=2, fail=1)
    with pytest.raises(ValueError, match="window 1 failed"):
        await asyncio.wait_for(pages.collect(), timeout=1.0)
    assert events == ["fetch 1", "fetch 2"]  # window 2 still in flight
    await pages.aclose()
