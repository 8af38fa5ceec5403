"""AsyncPaginator and NextUrlGuard, on a fake in-memory listing (no sockets)."""

from __future__ import annotations

import asyncio

import pytest

from komet_async import ResponseFormatError
from komet_async.pagination import AsyncPaginator, NextUrlGuard, Page, origin


class Listing:
    """Ten items in pages of three, cursors "p0".."p3"; records every fetch."""

    def __init__(self, total: int = 10, size: int = 3) -> None:
        self.items = list(range(total))
        self.size = size
        self.fetched: list[str] = []

    async def fetch(self, cursor: str) -> Page[int]:
        self.fetched.append(cursor)
        n = int(cursor[1:])
        chunk = self.items[n * self.size : (n + 1) * self.size]
        more = (n + 1) * self.size < len(self.items)
        return Page(chunk, f"p{n + 1}" if more else None)

    def paginator(self, cursor: str = "p0") -> AsyncPaginator[int]:
        return AsyncPaginator(self.fetch, cursor=cursor)


async def test_iterating_yields_every_item_once_in_order() -> None:
    """`async for` walks all pages and yields each item exactly once."""
    listing = Listing()
    paginator = listing.paginator()
    assert [i async for i in paginator] == list(range(10))
    assert listing.fetched == ["p0", "p1", "p2", "p3"]
    assert paginator.exhausted
    assert paginator.next_cursor is None


async def test_pages_yield_page_objects() -> None:
    """pages() yields each page with its items and next cursor."""
    pages = [p async for p in Listing().paginator().pages()]
    assert [list(p.items) for p in pages] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert [p.next_cursor for p in pages] == ["p1", "p2", "p3", None]


async def test_collect_everything() -> None:
    """collect() returns every remaining item."""
    assert await Listing().paginator().collect() == list(range(10))


@pytest.mark.parametrize(
    ("max_items", "expected_cursor", "fetches"),
    [(0, "p0", 0), (2, "p0", 1), (3, "p1", 1), (4, "p1", 2), (10, None, 4), (50, None, 4)],
)
async def test_collect_max_items_leaves_a_page_cursor(
    max_items: int, expected_cursor: str | None, fetches: int
) -> None:
    """collect(max_items) stops early; the cursor stays on a page not fully consumed."""
    listing = Listing()
    paginator = listing.paginator()
    assert await paginator.collect(max_items=max_items) == list(range(min(max_items, 10)))
    assert paginator.next_cursor == expected_cursor
    assert len(listing.fetched) == fetches


async def test_resume_from_cursor_gets_exactly_the_rest() -> None:
    """A new paginator started at next_cursor yields exactly what the first did not."""
    listing = Listing()
    first = listing.paginator()
    head = await first.collect(max_items=6)
    assert first.next_cursor == "p2"
    rest = await listing.paginator(cursor=first.next_cursor).collect()
    assert head + rest == list(range(10))


async def test_breaking_out_of_pages_keeps_the_page_cursor() -> None:
    """Leaving pages() inside a page's loop body leaves the cursor on that page."""
    paginator = Listing().paginator()
    async for page in paginator.pages():
        if page.next_cursor == "p2":
            break
    assert paginator.next_cursor == "p1"


async def test_item_iteration_moves_the_cursor_after_each_full_page() -> None:
    """After every item of two pages was yielded, next_cursor points at the third page."""
    paginator = Listing().paginator()
    got = []
    async for item in paginator:
        got.append(item)
        if len(got) == 7:  # the first item of page three
            break
    assert paginator.next_cursor == "p2"


async def test_empty_page_ends_the_listing() -> None:
    """An empty page ends iteration even if the server names a next page."""

    async def fetch(cursor: str) -> Page[int]:
        return Page([], "p-next") if cursor == "p0" else Page([1], None)

    paginator = AsyncPaginator(fetch, cursor="p0")
    assert await paginator.collect() == []
    assert paginator.exhausted


async def test_concurrent_consumers_are_refused() -> None:
    """A second consumer fetching while the first one is refuses with RuntimeError."""
    gate = asyncio.Event()

    async def fetch(cursor: str) -> Page[int]:
        await gate.wait()
        return Page([1], None)

    paginator = AsyncPaginator(fetch, cursor="p0")
    first = asyncio.create_task(paginator.collect())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already fetching"):
        await paginator.collect()
    gate.set()
    assert await first == [1]


async def test_negative_max_items_is_refused() -> None:
    """collect(max_items=-1) is a ValueError."""
    with pytest.raises(ValueError, match="max_items"):
        await Listing().paginator().collect(max_items=-1)


async def test_fetch_errors_propagate_and_keep_the_cursor() -> None:
    """A failing fetch raises to the caller and leaves the cursor on the failed page."""
    calls = 0

    async def fetch(cursor: str) -> Page[int]:
        nonlocal calls
        calls += 1
        if cursor == "p1":
            raise ResponseFormatError("broken page")
        return Page([1, 2], "p1")

    paginator = AsyncPaginator(fetch, cursor="p0")
    got: list[int] = []

    async def drain() -> None:
        async for item in paginator:
            got.append(item)

    with pytest.raises(ResponseFormatError):
        await drain()
    assert got == [1, 2]
    assert paginator.next_cursor == "p1"
    # collect() handed nothing out when it raised: its cursor stays where it started.
    collecting = AsyncPaginator(fetch, cursor="p0")
    with pytest.raises(ResponseFormatError):
        await collecting.collect()
    assert collecting.next_cursor == "p0"


def test_guard_accepts_same_origin_once() -> None:
    """A same-origin next URL passes the first time."""
    guard = NextUrlGuard("https://api.kounta.com/v1")
    url = "https://API.kounta.com:443/v1/companies/1/customers?page=2"
    assert guard.check(url, method="customers.list") == url


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/v1/companies/1/customers?page=2",
        "http://api.kounta.com/v1/companies/1/customers?page=2",
        "https://api.kounta.com:8443/v1/companies/1/customers?page=2",
        "https://api.kounta.com.evil.example/v1/x",
    ],
)
def test_guard_refuses_other_origins(url: str) -> None:
    """Another host, scheme or port is refused: our credentials would go there."""
    guard = NextUrlGuard("https://api.kounta.com/v1")
    with pytest.raises(ResponseFormatError, match="another host") as info:
        guard.check(url, method="customers.list")
    assert info.value.path == "X-Next-Page"


def test_guard_detects_a_loop() -> None:
    """The same next URL twice is a pagination loop."""
    guard = NextUrlGuard("https://api.kounta.com/v1")
    guard.check("https://api.kounta.com/v1/c?page=2", method="m")
    with pytest.raises(ResponseFormatError, match="pagination loop"):
        guard.check("https://api.kounta.com/v1/c?page=2", method="m")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.b/x", ("https", "a.b", 443)),
        ("HTTP://A.B:8080/x", ("http", "a.b", 8080)),
        ("http://a.b:99999/x", ("http", "a.b", -1)),
    ],
)
def test_origin(url: str, expected: tuple[str, str, int]) -> None:
    """origin() lower-cases scheme and host and fills in default ports."""
    assert origin(url) == expected
