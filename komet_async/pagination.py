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

import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import attrs

from .errors import ResponseFormatError

__all__ = ["AsyncPaginator", "NextUrlGuard", "Page", "origin"]

T = TypeVar("T")


@attrs.frozen
class Page(Generic[T]):
    """One page: its items and the cursor of the page after it (``None`` on the last)."""

    items: Sequence[T]
    next_cursor: str | None


class AsyncPaginator(Generic[T]):
    """Items of a paginated listing, fetched a page at a time as they are consumed.

    Consume it from one task at a time (a second concurrent fetch raises
    ``RuntimeError``); iterating again continues from :attr:`next_cursor`.
    """

    def __init__(self, fetch: Callable[[str], Awaitable[Page[T]]], *, cursor: str) -> None:
        self._fetch = fetch
        self._cursor: str | None = cursor
        self._busy = False

    @property
    def next_cursor(self) -> str | None:
        """The cursor of the first page not yet consumed; ``None`` once everything was."""
        return self._cursor

    @property
    def exhausted(self) -> bool:
        """Whether the last page has been consumed."""
        return self._cursor is None

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Yield the remaining pages; an empty page ends the listing."""
        while self._cursor is not None:
            page = await self._fetch_current(self._cursor)
            yield page
            # The caller is back for more: it is done with this page.
            self._consumed(page)

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def collect(self, max_items: int | None = None) -> list[T]:
        """Fetch items into a list: all that remain, or the first ``max_items``.

        Stopping part-way through a page leaves :attr:`next_cursor` at that
        page, so resuming repeats the page's items from the start.
        """
        if max_items is not None and max_items < 0:
            raise ValueError(f"max_items must be >= 0, got {max_items}")
        items: list[T] = []
        while self._cursor is not None and (max_items is None or len(items) < max_items):
            page = await self._fetch_current(self._cursor)
            room = len(page.items) if max_items is None else max_items - len(items)
            items.extend(page.items[:room])
            if room < len(page.items):
                break  # stopped inside the page: the cursor stays on it
            self._consumed(page)
        return items

    async def _fetch_current(self, cursor: str) -> Page[T]:
        # Two consumers would each fetch the same page: refuse the second.
        if self._busy:
            raise RuntimeError("this paginator is already fetching a page for another consumer")
        self._busy = True
        try:
            return await self._fetch(cursor)
        finally:
            self._busy = False

    def _consumed(self, page: Page[T]) -> None:
        self._cursor = page.next_cursor if page.items else None


class NextUrlGuard:
    """Checks next-page URLs: same origin as the API, and never seen before."""

    def __init__(self, api_url: str) -> None:
        self._origin = origin(api_url)
        self._seen: set[str] = set()

    def check(self, url: str, *, method: str) -> str:
        """Return ``url`` if it is safe to fetch next; raise :class:`ResponseFormatError` if not."""
        if origin(url) != self._origin:
            raise ResponseFormatError(
                f"{method}: refusing to follow a next-page URL to another host "
                f"({urllib.parse.urlsplit(url).netloc or url!r}): it would carry our credentials",
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


def origin(url: str) -> tuple[str, str, int | None]:
    """The (scheme, host, port) of a URL, with default ports filled in."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port
