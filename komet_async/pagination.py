"""Pagination, API-neutral: :class:`AsyncPaginator` walks pages through a fetch function.

An API plugs in one coroutine, ``fetch(cursor) -> Page``; the paginator does
the rest: ``async for item in paginator``, ``paginator.pages()``,
``await paginator.collect(max_items=...)``, and a resumable
:attr:`~AsyncPaginator.next_cursor`, so a job that stops can continue where it
left off by passing the cursor back to the method that made the paginator.

A cursor is an opaque string. Cursors are page-granular: the cursor moves
past a page once every item of it has been handed out (or, with
:meth:`AsyncPaginator.pages`, once the caller asks for the next page).

:class:`NextUrlGuard` holds the safety rules for APIs whose cursor is the
next page's absolute URL (Kounta's ``X-Next-Page``): never follow it to
another origin (our credentials would go along) and stop on a loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, Final, Generic, Protocol, TypeVar

import attrs

from .errors import ResponseFormatError, ValidationError

__all__ = ["AsyncPaginator", "DateWindows", "NextUrlGuard", "Page", "PageSource", "origin"]

T = TypeVar("T")


@attrs.frozen
class Page(Generic[T]):
    """One page: its items and the cursor of the page after it (``None`` on the last)."""

    items: Sequence[T]
    next_cursor: str | None


class PageSource(Protocol[T]):
    """Where an :class:`AsyncPaginator` gets its pages (one source per listing)."""

    @property
    def cursor(self) -> str | None:
        """Where to resume: everything not consumed yet; ``None`` when nothing is left."""
        ...

    async def next_page(self) -> Page[T] | None:
        """The next page to hand out, or ``None`` at the end."""
        ...

    def consumed(self, page: Page[T]) -> None:
        """The caller is done with ``page``: move the cursor past it."""
        ...

    async def aclose(self) -> None:
        """Stop background work; what was not consumed stays in :attr:`cursor`."""
        ...


class _FetchSource(Generic[T]):
    """Pages one after another: ``fetch(cursor)`` returns a page and the next cursor."""

    def __init__(self, fetch: Callable[[str], Awaitable[Page[T]]], cursor: str) -> None:
        self._fetch = fetch
        self.cursor: str | None = cursor
        # The page to fetch next, which may run ahead of the cursor (collect()
        # consumes its pages only once it returns); None: start at the cursor.
        self._ahead: tuple[str | None] | None = None

    async def next_page(self) -> Page[T] | None:
        where = self.cursor if self._ahead is None else self._ahead[0]
        if where is None:
            return None
        page = await self._fetch(where)
        self._ahead = (page.next_cursor if page.items else None,)
        return page

    def consumed(self, page: Page[T]) -> None:
        self.cursor = page.next_cursor if page.items else None

    async def aclose(self) -> None:
        """Nothing runs in the background; the next fetch starts at the cursor again."""
        self._ahead = None


class AsyncPaginator(Generic[T]):
    """Items of a paginated listing, fetched a page at a time as they are consumed.

    Built from ``fetch(cursor) -> Page`` (pages one after another) or from any
    :class:`PageSource` (:meth:`from_source`; date windows fetched
    concurrently). Consume it from one task at a time (a second concurrent
    fetch raises ``RuntimeError``); iterating again continues from
    :attr:`next_cursor`. Use it as an async context manager, or call
    :meth:`aclose`, to stop background fetches when you leave early.
    """

    def __init__(self, fetch: Callable[[str], Awaitable[Page[T]]], *, cursor: str) -> None:
        self._source: PageSource[T] = _FetchSource(fetch, cursor)
        self._busy = False

    @classmethod
    def from_source(cls, source: PageSource[T]) -> AsyncPaginator[T]:
        """A paginator over any :class:`PageSource`."""
        paginator = cls.__new__(cls)
        paginator._source = source
        paginator._busy = False
        return paginator

    @property
    def next_cursor(self) -> str | None:
        """The cursor of everything not yet consumed; ``None`` once everything was."""
        return self._source.cursor

    @property
    def exhausted(self) -> bool:
        """Whether the last page has been consumed."""
        return self._source.cursor is None

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Yield the remaining pages; an empty page ends a sequential listing."""
        try:
            while (page := await self._next()) is not None:
                yield page
                # The caller is back for more: it is done with this page.
                self._source.consumed(page)
        finally:
            await self._source.aclose()

    async def __aiter__(self) -> AsyncIterator[T]:
        # Not ``async for page in self.pages()``: a generator nested in one
        # left by ``break`` is finalized a loop iteration after the outer one,
        # so closing took two background tasks instead of one.
        try:
            while (page := await self._next()) is not None:
                for item in page.items:
                    yield item
                self._source.consumed(page)
        finally:
            await self._source.aclose()

    async def collect(self, max_items: int | None = None) -> list[T]:
        """Fetch items into a list: all that remain, or the first ``max_items``.

        Stopping part-way through a page leaves :attr:`next_cursor` at that
        page, so resuming repeats the page's items from the start. If it
        raises (or is cancelled), :attr:`next_cursor` is where it started:
        none of the items fetched were handed out.
        """
        if max_items is not None and max_items < 0:
            raise ValueError(f"max_items must be >= 0, got {max_items}")
        items: list[T] = []
        # Pages are consumed only once the items are returned: a collect() that
        # raises (or is cancelled) hands nothing out, so the cursor stays put.
        taken: list[Page[T]] = []
        try:
            while max_items is None or len(items) < max_items:
                page = await self._next()
                if page is None:
                    break
                room = len(page.items) if max_items is None else max_items - len(items)
                items.extend(page.items[:room])
                if room < len(page.items):
                    break  # stopped inside the page: the cursor stays on it
                taken.append(page)
        except BaseException:
            await self._source.aclose()
            raise
        for page in taken:
            self._source.consumed(page)
        # Closed after consuming: a page handed out but not consumed (the
        # one stopped inside) is fetched again by the next collect().
        await self._source.aclose()
        return items

    async def aclose(self) -> None:
        """Stop background fetches (the cursor keeps what was not consumed)."""
        await self._source.aclose()

    async def __aenter__(self) -> AsyncPaginator[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _next(self) -> Page[T] | None:
        # Two consumers would each take the same page: refuse the second.
        if self._busy:
            raise RuntimeError("this paginator is already fetching a page for another consumer")
        self._busy = True
        try:
            return await self._source.next_page()
        finally:
            self._busy = False


class NextUrlGuard:
    """Checks next-page URLs: same origin as the API, and never seen before."""

    def __init__(self, api_url: str) -> None:
        self._origin = origin(api_url)
        self._seen: set[str] = set()

    def check(self, url: str, *, method: str, base: str | None = None) -> str:
        """Return ``url`` if it is safe to fetch next; raise :class:`ResponseFormatError` if not.

        With ``base``, ``url`` is first made absolute against it (a relative
        ``X-Next-Page``).
        """
        try:
            if base is not None:
                url = urllib.parse.urljoin(base, url)
            where = origin(url)
        except ValueError:  # urlsplit refuses some URLs ("http://[::1")
            raise ResponseFormatError(
                f"{method}: the next-page URL is not a valid URL",
                path="X-Next-Page",
                method=method,
            ) from None
        if where != self._origin:
            raise ResponseFormatError(
                f"{method}: refusing to follow a next-page URL to another host "
                f"({_host(url)}): it would carry our credentials",
                path="X-Next-Page",
                method=method,
            )
        if url in self._seen:
            raise ResponseFormatError(
                f"{method}: the server sent the same next-page URL twice (a pagination loop)",
                path="X-Next-Page",
                method=method,
            )
        self._seen.add(url)
        return url


def _host(url: str) -> str:
    """Where ``url`` points, for messages: host and port, never the userinfo or query.

    A hostile server may echo our credentials into the next-page URL.
    """
    _, host, port = origin(url)
    return f"{host}:{port}" if host else "no host"


def origin(url: str) -> tuple[str, str, int | None]:
    """The (scheme, host, port) of a URL, with default ports filled in."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port


# --- date windows --------------------------------------------------------------------

Window = tuple[dt.date, dt.date]
_CURSOR_VERSION: Final = 1


def split_range(start: dt.date, end: dt.date, days: int) -> list[Window]:
    """Cut [start, end] into consecutive windows of ``days`` days (the last may be shorter)."""
    if days < 1:
        raise ValueError(f"a window must be at least one day, got {days}")
    windows = []
    while start <= end:
        stop = min(start + dt.timedelta(days=days - 1), end)
        windows.append((start, stop))
        start = stop + dt.timedelta(days=1)
    return windows


def encode_window_cursor(span: Window, windows: Iterable[Window]) -> str:
    """The cursor of a date-window listing: its span and the windows still to hand out."""
    return json.dumps(
        {
            "v": _CURSOR_VERSION,
            "span": [span[0].isoformat(), span[1].isoformat()],
            "windows": [[a.isoformat(), b.isoformat()] for a, b in sorted(windows)],
        },
        separators=(",", ":"),
    )


def decode_window_cursor(cursor: str) -> tuple[Window, list[Window]]:
    """Read a cursor made by :func:`encode_window_cursor`; a bad one is a ValidationError."""
    try:
        data = json.loads(cursor)
        if data["v"] != _CURSOR_VERSION:
            raise ValueError(f"cursor version {data['v']!r}")
        span = (dt.date.fromisoformat(data["span"][0]), dt.date.fromisoformat(data["span"][1]))
        windows = [(dt.date.fromisoformat(a), dt.date.fromisoformat(b)) for a, b in data["windows"]]
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ValidationError([f"cursor: not a date-window cursor ({exc})"]) from None
    return span, windows


class DateWindows(Generic[T]):
    """A :class:`PageSource` that fetches date windows concurrently, each record exactly once.

    ``fetch(window_start, window_end)`` returns the records of one window.
    A record that overlaps several windows comes back from each of them; it
    is handed out only by the window holding its *owner day* (``owner(record)``,
    clamped into the span; e.g. a standing order's start date), so it appears
    exactly once even across a resumed job, with no memory of what was seen.
    Records without an owner day fall back to de-duplication by ``key``.

    A window that fails with an error ``splittable(error)`` accepts (a
    timeout, a response too large for the server) is cut in half and the
    halves fetched instead, down to one day. ``ordered=True`` hands pages out
    in date order; otherwise as windows complete. ``on_progress(done, total,
    records)`` follows every completed window.

    With ``parse``, a window is fetched in two steps: ``fetch`` does the I/O
    and returns what came back, ``parse(window_start, window_end, raw)`` turns
    it into records when the consumer asks for pages. Only the I/O holds one
    of the ``concurrency`` places, and a finished fetch starts the next one
    before anything is parsed: decoding a window on the one core overlaps the
    other windows' latency instead of holding back their requests. While
    windows are still waiting to be requested, fetched ones wait to be parsed
    (up to ``concurrency`` of them), so the answers arriving meanwhile are read
    and their places reused at once.
    """

    def __init__(
        self,
        fetch: Callable[[dt.date, dt.date], Awaitable[Any]],
        *,
        span: Window,
        windows: Sequence[Window],
        key: Callable[[T], Hashable],
        owner: Callable[[T], dt.date | None],
        splittable: Callable[[BaseException], bool],
        concurrency: int = 4,
        ordered: bool = False,
        on_progress: Callable[[int, int, int], None] | None = None,
        parse: Callable[[dt.date, dt.date, Any], Sequence[T]] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self._fetch = fetch
        self._parse = parse
        #: Whether the consumer is waiting in next_page() for a fetch to finish.
        self._awaited = False
        #: Windows whose fetch task was started but has not run yet (sent nothing).
        self._unsent: set[Window] = set()
        self._span = span
        self._key = key
        self._owner = owner
        self._splittable = splittable
        self._concurrency = concurrency
        self._ordered = ordered
        self._on_progress = on_progress
        self._todo: list[Window] = sorted(windows)  # not started
        self._running: dict[asyncio.Task[Any], Window] = {}
        self._ready: dict[Window, Page[T]] = {}  # fetched, not handed out
        self._handed: set[Window] = set()  # handed out, not yet consumed
        self._seen: set[Hashable] = set()
        self._done = 0
        self._total = len(self._todo)
        self._records = 0
        self._window_of: dict[int, Window] = {}
        #: Keys a window's page de-duplicated into ``_seen``, until it is consumed.
        self._keys_of: dict[Window, list[Hashable]] = {}
        self._closing = False

    @property
    def cursor(self) -> str | None:
        """Every window not consumed yet, with the span; ``None`` when all were."""
        left = [*self._todo, *self._running.values(), *self._ready, *self._handed]
        return encode_window_cursor(self._span, left) if left else None

    async def next_page(self) -> Page[T] | None:
        """Start fetches up to the concurrency, and hand out the next finished window."""
        while True:
            page = self._take_ready()
            self._start()  # after taking: a page handed out frees a place ahead
            if page is not None:
                return page
            if not self._running:
                return None
            self._awaited = True
            try:
                finished = await self._fetched()
            finally:
                self._awaited = False
            for task in sorted(finished, key=lambda t: self._running[t]):
                self._finish(task, self._running.pop(task))

    async def _fetched(self) -> list[asyncio.Task[Any]]:
        """Wait for finished fetches, and return those to hand to :meth:`_finish` now.

        Requests first: parsing holds the one core, and an answer that
        arrives meanwhile is not read, so the request its place would start
        waits too. While windows are still waiting to be requested and
        fetches are in flight, a fetched window waits to be parsed until
        ``concurrency`` of them are waiting (the most that may be fetched
        ahead of the consumer), and failures are handled at once. On the
        ``windows`` benchmark (twelve windows at concurrency 8) windows 9-12
        went out at 25-33 ms, behind the first windows' parsing, and now at
        24-26 ms, as their places free: wall/ideal 1.27 -> 1.22.
        """
        while True:
            done = [task for task in self._running if task.done()]
            in_flight = [task for task in self._running if not task.done()]
            failed = any(not task.cancelled() and task.exception() is not None for task in done)
            if done and (
                self._parse is None  # nothing to parse: nothing to put off
                or not self._todo
                or not in_flight
                or len(done) >= self._concurrency
                or failed
            ):
                # Fetches that finished in the loop turn after the first one
                # have not had their done callbacks (_refill) yet: the wait
                # woke this task first. Start their successors now, and give
                # the new fetches one loop turn to send their requests:
                # parsing holds the loop, and a task that has not run has sent
                # nothing. On the benchmark, windows 10-12 went out after the
                # first eight were parsed (30-38 ms) in the slow rounds;
                # wall/ideal 1.22 -> 1.18 (medians of 30 alternating rounds).
                if not failed:  # a failure is raised before anything else starts
                    self._start()
                if self._unsent:
                    await asyncio.sleep(0)
                    continue
                return done
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)

    def consumed(self, page: Page[T]) -> None:
        """Forget the window of ``page``: it leaves the cursor."""
        window = self._window_of.pop(id(page), None)
        if window is not None:
            self._handed.discard(window)
            self._keys_of.pop(window, None)

    async def aclose(self) -> None:
        """Cancel fetches in flight; their windows go back to the to-do list."""
        self._closing = True
        tasks = list(self._running)
        # Pages handed out but not consumed are fetched again next time (their
        # records handed out again, de-duplicated ones included), as the
        # cursor says.
        for window in self._handed:
            self._seen.difference_update(self._keys_of.pop(window, ()))
        for key in [k for k, window in self._window_of.items() if window in self._handed]:
            del self._window_of[key]
        # Forget the running ones before waiting: a second aclose() meanwhile
        # (a generator finalized after ``break``) then has nothing to wait for.
        self._todo = sorted([*self._todo, *self._running.values(), *self._handed])
        self._handed.clear()
        self._running.clear()
        self._unsent.clear()  # a task cancelled before its turn never runs
        for task in tasks:
            task.cancel()
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            # Closed is not finished: a later next_page() (collect() again)
            # fetches the windows left, as the cursor says.
            self._closing = False

    def _start(self) -> None:
        while self._todo and not self._closing:
            in_flight = sum(not task.done() for task in self._running)
            # Fetched but not handed out: at most ``concurrency`` pages ahead
            # of the consumer, so a slow consumer bounds the memory held. A
            # consumer waiting in next_page() is about to take the first page
            # that finished: that one is not ahead of it.
            waiting = len(self._ready) + len(self._running) - in_flight
            if self._awaited and waiting:
                waiting -= 1
            if in_flight >= self._concurrency or waiting >= self._concurrency:
                return
            window = self._todo.pop(0)
            task = asyncio.ensure_future(self._send(window))
            self._unsent.add(window)
            self._running[task] = window
            # A finished fetch frees its slot at once, not when the consumer
            # next asks for a page: a consumer that awaits its own I/O per page
            # (a database write) no longer leaves the connections idle meanwhile.
            task.add_done_callback(self._refill)

    async def _send(self, window: Window) -> Any:
        self._unsent.discard(window)  # its turn has come: the request goes out now
        return await self._fetch(*window)

    def _refill(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is None:
            self._start()

    def _finish(self, task: asyncio.Task[Any], window: Window) -> None:
        error = task.exception()
        records: Sequence[T] = ()
        if error is None:
            try:
                # Parsed here, in the consumer: the fetch's done callback
                # (_refill) has started the next window's request by now.
                raw = task.result()
                records = raw if self._parse is None else self._parse(*window, raw)
            except Exception as exc:  # a bad page: kept in the cursor, raised below
                error = exc
        if error is None:
            self._ready[window] = self._page(window, records)
            self._done += 1
            if self._on_progress is not None:
                self._on_progress(self._done, self._total, self._records)
            return
        start, end = window
        if self._splittable(error) and end > start:
            middle = start + (end - start) // 2
            self._todo = sorted(
                [*self._todo, (start, middle), (middle + dt.timedelta(days=1), end)]
            )
            self._total += 1
            return
        # Not worth splitting: the window stays in the cursor for a resume.
        self._todo = sorted([*self._todo, window])
        raise error

    def _page(self, window: Window, records: Sequence[T]) -> Page[T]:
        start, end = window
        first, last = self._span
        kept = []
        for record in records:
            day = self._owner(record)
            if day is not None:
                day = min(max(day, first), last)
                if not start <= day <= end:
                    continue  # another window owns it
            key = self._key(record)
            if key in self._seen:
                continue
            self._seen.add(key)
            self._keys_of.setdefault(window, []).append(key)
            kept.append(record)
        self._records += len(kept)
        return Page(kept, None)

    def _take_ready(self) -> Page[T] | None:
        if not self._ready:
            return None
        if self._ordered:
            pending = [*self._todo, *self._running.values(), *self._ready]
            window = min(pending)
            if window not in self._ready:
                return None
        else:
            window = min(self._ready)
        page = self._ready.pop(window)
        self._handed.add(window)
        self._window_of[id(page)] = window
        return page
