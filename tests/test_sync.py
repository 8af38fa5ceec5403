"""komet_async.sync and changed_since: high-water marks, stores, runs, Komet and Kounta."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from aioresponses import aioresponses
from yarl import URL

from komet_async import (
    Customer,
    CustomerUpdate,
    KometClient,
    KometError,
    ResponseFormatError,
    RetryPolicy,
    ValidationError,
)
from komet_async.kounta import BasicAuth, CustomerChanges, KountaClient
from komet_async.kounta import Customer as KountaCustomer
from komet_async.sandbox import KometSandbox
from komet_async.sandbox.kounta import KountaSandbox
from komet_async.sync import (
    DEFAULT_OVERLAP,
    JsonFileStore,
    KeyValueStore,
    MemoryStore,
    SyncState,
    SyncStateError,
)
from komet_async.testing import FakeClock

from .conftest import BASE, TOKEN

NAIVE = dt.datetime(2025, 3, 4, 10, 30)
AEST = dt.timezone(dt.timedelta(hours=10))
AWARE = dt.datetime(2025, 3, 4, 10, 30, tzinfo=AEST)
MINUTE = dt.timedelta(minutes=1)


def komet_customer(id: int, updated_on: dt.datetime | None) -> Customer:
    return Customer(id=id, name=f"C{id}", updated_on=updated_on)


def stamp(customer: Customer | KountaCustomer) -> dt.datetime:
    """A sandbox customer's updated_on (Komet) or updated_at (Kounta); every one has it."""
    when = customer.updated_on if isinstance(customer, Customer) else customer.updated_at
    assert when is not None
    return when


class Boom(Exception):
    pass


# --- stores ------------------------------------------------------------------------


async def test_memory_store_round_trip() -> None:
    """MemoryStore returns what was set, None for unknown keys, and starts from given data."""
    store = MemoryStore({"a": "1"})
    assert isinstance(store, KeyValueStore)
    assert await store.get("a") == "1"
    assert await store.get("b") is None
    await store.set("b", "2")
    assert store.data == {"a": "1", "b": "2"}


async def test_file_store_missing_file_is_empty(tmp_path: Path) -> None:
    """A state file that does not exist yet reads as empty."""
    store = JsonFileStore(tmp_path / "state.json")
    assert await store.get("x") is None
    assert store.read() == {}


async def test_file_store_keeps_other_keys_and_leaves_no_temp_files(tmp_path: Path) -> None:
    """Setting a key keeps the file's other keys; the file is a sorted JSON object, no temp left."""
    path = tmp_path / "state.json"
    store = JsonFileStore(path)
    await store.set("b", "2")
    await store.set("a", "1")
    await store.set("b", "3")
    assert json.loads(path.read_text()) == {"a": "1", "b": "3"}
    assert path.read_text() == '{\n  "a": "1",\n  "b": "3"\n}\n'
    assert os.listdir(tmp_path) == ["state.json"]


async def test_file_store_creates_the_directory_and_keeps_the_mode(tmp_path: Path) -> None:
    """A missing directory is created; a new file is private, a replaced one keeps its mode."""
    path = tmp_path / "state" / "sync.json"
    store = JsonFileStore(path)
    await store.set("a", "1")
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o640)
    await store.set("a", "2")
    assert path.stat().st_mode & 0o777 == 0o640
    assert store.read() == {"a": "2"}


async def test_file_store_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails before the rename leaves the old file whole and removes the temp file."""
    path = tmp_path / "state.json"
    store = JsonFileStore(path)
    await store.set("a", "1")
    before = path.read_bytes()

    def failing_replace(src: str, dst: object) -> None:
        assert Path(src).parent == tmp_path  # same directory, so the rename is atomic
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        await store.set("a", "2")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["state.json"]


async def test_file_store_concurrent_sets_lose_no_key(tmp_path: Path) -> None:
    """Concurrent sets of different keys on one store all land in the file."""
    store = JsonFileStore(tmp_path / "state.json")
    await asyncio.gather(*(store.set(f"k{i}", str(i)) for i in range(20)))
    assert store.read() == {f"k{i}": str(i) for i in range(20)}


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object, found list"),
        ('{"a": 1}', "expected string values; not so under a"),
    ],
)
async def test_corrupt_file_is_a_clear_error(tmp_path: Path, content: str, why: str) -> None:
    """A state file that is not a JSON object of strings raises SyncStateError naming the file."""
    path = tmp_path / "state.json"
    path.write_text(content)
    state = SyncState.from_file(path, "komet:customers")
    with pytest.raises(SyncStateError, match=re.escape(why)) as caught:
        await state.load()
    assert str(path) in str(caught.value)
    assert "delete it" in str(caught.value)
    assert isinstance(caught.value, KometError)
    assert isinstance(caught.value, ValueError)


async def test_stored_value_that_is_not_a_datetime_is_a_clear_error() -> None:
    """A stored value that is not ISO 8601 raises SyncStateError naming the key."""
    state = SyncState(MemoryStore({"jobs": "yesterday"}), "jobs")
    with pytest.raises(SyncStateError, match=r"'jobs'.*'yesterday'"):
        await state.load()


async def test_stored_z_suffix_is_read_as_utc() -> None:
    """A mark written by another tool with a Z suffix reads as UTC (Python 3.10 included)."""
    state = SyncState(MemoryStore({"k": "2025-03-04T10:30:00Z"}), "k", overlap=dt.timedelta(0))
    assert await state.load() == dt.datetime(2025, 3, 4, 10, 30, tzinfo=dt.timezone.utc)


# --- SyncState ---------------------------------------------------------------------


def test_constructor_validates() -> None:
    """An empty key, a negative overlap and a non-store are reported together."""
    with pytest.raises(ValidationError) as caught:
        SyncState(object(), "", overlap=-MINUTE)  # type: ignore[arg-type]
    assert len(caught.value.problems) == 3


async def test_first_load_is_none_and_default_overlap_is_five_minutes() -> None:
    """Before anything was saved, load() gives None; the default overlap is 5 minutes."""
    state = SyncState(MemoryStore(), "k")
    assert state.overlap == DEFAULT_OVERLAP == dt.timedelta(minutes=5)
    assert await state.load() is None
    assert state.since is None
    assert state.high_water is None


async def test_overlap_applied_on_load() -> None:
    """The store keeps the latest time seen; since is that minus the overlap."""
    store = MemoryStore()
    state = SyncState(store, "k", overlap=dt.timedelta(minutes=7))
    state.observe([NAIVE, NAIVE + MINUTE, NAIVE - MINUTE])
    assert state.high_water == NAIVE + MINUTE
    assert await state.save() == NAIVE + MINUTE - dt.timedelta(minutes=7)
    assert store.data == {"k": "2025-03-04T10:31:00"}
    assert await SyncState(store, "k").load() == NAIVE + MINUTE - DEFAULT_OVERLAP
    assert await SyncState(store, "k", overlap=dt.timedelta(0)).load() == NAIVE + MINUTE


async def test_several_keys_in_one_file(tmp_path: Path) -> None:
    """Two jobs keep their marks under their own keys in one file, each surviving the other."""
    path = tmp_path / "sync.json"
    komet = SyncState.from_file(path, "komet:customers", overlap=dt.timedelta(0))
    kounta = SyncState.from_file(path, "kounta:customers", overlap=dt.timedelta(0))
    komet.observe(NAIVE)
    kounta.observe(AWARE)
    await komet.save()
    await kounta.save()
    assert json.loads(path.read_text()) == {
        "komet:customers": "2025-03-04T10:30:00",
        "kounta:customers": "2025-03-04T10:30:00+10:00",
    }
    assert await SyncState.from_file(path, "komet:customers", overlap=dt.timedelta(0)).load() == (
        NAIVE
    )
    reloaded = await SyncState.from_file(path, "kounta:customers", overlap=dt.timedelta(0)).load()
    assert reloaded == AWARE
    assert reloaded is not None
    assert reloaded.utcoffset() == dt.timedelta(hours=10)  # the offset given is kept


async def test_observe_takes_records_of_both_apis_and_skips_missing_times() -> None:
    """observe reads Komet updated_on and Kounta updated_at, and skips records without a time."""
    komet = SyncState(MemoryStore(), "komet")
    komet.observe([komet_customer(1, NAIVE), komet_customer(2, None), komet_customer(3, None)])
    komet.observe(komet_customer(4, NAIVE - MINUTE))  # a single record
    assert komet.high_water == NAIVE
    kounta = SyncState(MemoryStore(), "kounta")
    kounta.observe([KountaCustomer(id=1, updated_at=AWARE), KountaCustomer(id=2)])
    assert kounta.high_water == AWARE
    nothing = SyncState(MemoryStore(), "none")
    nothing.observe([komet_customer(1, None)])
    nothing.observe([])
    assert nothing.high_water is None


@pytest.mark.parametrize(
    ("item", "match"),
    [
        (dt.date(2025, 1, 1), "got date"),
        ("2025-01-01T00:00:00", "got str"),
        (object(), "neither updated_on nor updated_at"),
        (Customer(id=1, name="x", updated_on="soon"), "updated_on is a str"),  # type: ignore[arg-type]
    ],
)
def test_observe_refuses_what_has_no_time(item: Any, match: str) -> None:
    """Dates, strings and objects without a datetime stamp are a ValidationError."""
    with pytest.raises(ValidationError, match=match):
        SyncState(MemoryStore(), "k").observe([item])


def test_naive_and_aware_are_never_mixed() -> None:
    """A naive time with an aware one is refused, and nothing of the refused batch is taken."""
    state = SyncState(MemoryStore(), "k")
    state.observe(NAIVE)
    with pytest.raises(ValidationError, match=r"naive time .* timezone-aware"):
        state.observe([NAIVE + MINUTE, AWARE])
    assert state.high_water == NAIVE
    with pytest.raises(ValidationError, match="one key per source"):
        SyncState(MemoryStore(), "k").observe([AWARE, NAIVE])


async def test_aware_observation_against_a_naive_stored_mark_is_refused() -> None:
    """A state loaded with a naive mark refuses aware times (in observe, and in a run)."""
    state = SyncState(MemoryStore({"k": NAIVE.isoformat()}), "k")
    await state.load()
    with pytest.raises(ValidationError, match="timezone-aware"):
        state.observe(AWARE)
    with pytest.raises(ValidationError, match="timezone-aware"):
        async with state.run() as run:
            run.observe(AWARE)


async def test_save_never_moves_the_mark_backwards() -> None:
    """A run that saw only older records leaves a later mark saved by another run alone."""
    store = MemoryStore()
    slow, fast = SyncState(store, "k"), SyncState(store, "k")
    await slow.load()
    fast.observe(NAIVE + MINUTE)
    await fast.save()
    slow.observe(NAIVE)
    await slow.save()
    assert store.data == {"k": (NAIVE + MINUTE).isoformat()}
    assert slow.high_water == NAIVE + MINUTE


async def test_save_without_observations_writes_nothing() -> None:
    """Nothing observed means nothing written (no churn on the store)."""

    class CountingStore(MemoryStore):
        sets = 0

        async def set(self, key: str, value: str) -> None:
            self.sets += 1
            await super().set(key, value)

    store = CountingStore()
    state = SyncState(store, "k")
    assert await state.save() is None
    state.observe(NAIVE)
    await state.save()
    await state.save()
    state.observe(NAIVE - MINUTE)  # older: not an advance
    await state.save()
    assert store.sets == 1


async def test_run_saves_when_the_block_succeeds() -> None:
    """A successful run stores the latest time observed during it; run.since is the loaded mark."""
    store = MemoryStore({"k": NAIVE.isoformat()})
    state = SyncState(store, "k")
    async with state.run() as run:
        assert run.since == NAIVE - DEFAULT_OVERLAP
        run.observe([komet_customer(1, NAIVE + 2 * MINUTE), komet_customer(2, NAIVE + MINUTE)])
        assert run.high_water == NAIVE + 2 * MINUTE
        assert store.data["k"] == NAIVE.isoformat()  # not before the block ends
    assert store.data["k"] == (NAIVE + 2 * MINUTE).isoformat()
    assert state.since == NAIVE + 2 * MINUTE - DEFAULT_OVERLAP


async def test_failed_run_does_not_advance_the_mark() -> None:
    """A run whose block raises stores nothing and forgets what it observed."""
    store = MemoryStore({"k": NAIVE.isoformat()})
    state = SyncState(store, "k")

    async def failing_run() -> None:
        async with state.run() as run:
            run.observe(NAIVE + dt.timedelta(days=1))
            raise Boom

    with pytest.raises(Boom):
        await failing_run()
    assert store.data == {"k": NAIVE.isoformat()}
    assert state.high_water == NAIVE
    async with state.run() as again:
        assert again.since == NAIVE - DEFAULT_OVERLAP


async def test_cancelled_run_does_not_advance_the_mark() -> None:
    """A run cancelled in the middle stores nothing."""
    store = MemoryStore()
    state = SyncState(store, "k")
    entered = asyncio.Event()

    async def job() -> None:
        async with state.run() as run:
            run.observe(NAIVE)
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.ensure_future(job())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.data == {}


# --- Komet changed_since (mocked) ---------------------------------------------------------


def customer_list_route() -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(BASE)}/customer\.list(\?.*)?$")


def wire_customer(id: int, updated_on: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": str(id), "name": f"C{id}", "active": "1"}
    if updated_on is not None:
        record["updatedOn"] = updated_on
    return record


async def test_komet_changed_since_datetime_sends_the_day_and_filters_the_time(
    mocked: aioresponses, komet: KometClient
) -> None:
    """A datetime asks Komet for its day (inactive included), then keeps updated_on >= when."""
    mocked.get(
        customer_list_route(),
        payload={
            "status": "1",
            "customers": [
                wire_customer(1, "2025-03-04T08:00:00"),
                wire_customer(2, "2025-03-04T10:30:00"),
                wire_customer(3, None),
                wire_customer(4, "2025-03-05T01:00:00"),
            ],
        },
    )
    found = await komet.customers.changed_since(NAIVE, location_id=3)
    assert [c.id for c in found] == [2, 3, 4]
    ((method, url),) = mocked.requests
    assert method == "GET"
    assert url == URL(
        f"{BASE}/customer.list?authenticationToken={TOKEN}"
        "&includeInactive=true&locationId=3&updateAsOf=2025-03-04"
    )


async def test_komet_changed_since_date_keeps_the_whole_day(
    mocked: aioresponses, komet: KometClient
) -> None:
    """A date is sent as updateAsOf and nothing is filtered out afterwards."""
    mocked.get(
        customer_list_route(),
        payload={"status": "1", "customers": [wire_customer(1, "2025-03-04T00:00:01")]},
    )
    found = await komet.customers.changed_since(dt.date(2025, 3, 4), include_inactive=False)
    assert [c.id for c in found] == [1]
    ((_, url),) = mocked.requests
    assert url.query["updateAsOf"] == "2025-03-04"
    assert url.query["includeInactive"] == "false"


async def test_komet_changed_since_empty_answer(mocked: aioresponses, komet: KometClient) -> None:
    """Komet's 'not found' answer is an empty list."""
    mocked.get(customer_list_route(), payload={"status": "0", "message": "Customers not found."})
    assert await komet.customers.changed_since(NAIVE) == []


@pytest.mark.parametrize(
    ("when", "match"),
    [(AWARE, "timezone-aware"), ("2025-03-04", "expected a date or datetime, got str")],
)
async def test_komet_changed_since_refuses_bad_when(
    mocked: aioresponses, komet: KometClient, when: Any, match: str
) -> None:
    """An aware datetime or a non-date is a ValidationError, and nothing is sent."""
    with pytest.raises(ValidationError, match=match):
        await komet.customers.changed_since(when)
    assert not mocked.requests


async def test_komet_changed_since_refuses_an_aware_updated_on(
    mocked: aioresponses, komet: KometClient
) -> None:
    """An updatedOn with a time zone cannot be ordered against a naive when: a format error."""
    mocked.get(
        customer_list_route(),
        payload={
            "status": "1",
            "customers": [
                wire_customer(1, "2025-03-04T11:00:00"),
                wire_customer(2, "2025-03-04T11:00:00+02:00"),
            ],
        },
    )
    with pytest.raises(ResponseFormatError) as caught:
        await komet.customers.changed_since(NAIVE)
    assert caught.value.path == "customers[1].updatedOn"


# --- Komet against the sandbox ---------------------------------------------------------


async def test_komet_incremental_sync_against_the_sandbox(tmp_path: Path) -> None:
    """Full sync, 10 updates, then changed_since(since) returns the 10 plus only the overlap."""
    state = SyncState.from_file(tmp_path / "sync.json", "komet:customers")
    async with (
        KometSandbox(seed=21, customers=600, products=10, standing_orders=10) as box,
        KometClient(box.token, base_url=box.base_url, retry=RetryPolicy.disabled()) as komet,
    ):
        async with state.run() as run:
            assert run.since is None
            everyone = await komet.customers.list(include_inactive=True)
            run.observe(everyone)
        assert everyone == box.data.customers
        last_seen = max(c.updated_on for c in everyone if c.updated_on is not None)
        assert state.high_water == last_seen

        chosen = random.Random(21).sample(everyone, 10)
        for customer in chosen:
            await komet.customers.update(
                CustomerUpdate(customer_id=customer.id, name=f"{customer.name} (renamed)")
            )
        changed_ids = {c.id for c in chosen}

        async with state.run() as run:
            since = run.since
            assert since == last_seen - DEFAULT_OVERLAP
            changed = await komet.customers.changed_since(since)
            run.observe(changed)

    current = box.data.customers
    # Exactly the sandbox's records stamped at or after `since`, in id order ...
    assert changed == [c for c in current if c.updated_on is not None and c.updated_on >= since]
    # ... which are the 10 changed since the last run, with their new names and stamps ...
    new = [c for c in changed if c.updated_on is not None and c.updated_on > last_seen]
    assert {c.id for c in new} == changed_ids
    assert all(c.name.endswith(" (renamed)") for c in new)
    # ... and, fetched again on purpose, exactly the unchanged ones the overlap reaches
    # (at least the customer stamped at the mark: changed_since is inclusive).
    again = [c for c in changed if c.id not in changed_ids]
    assert again == [c for c in everyone if c.id not in changed_ids and stamp(c) >= since]
    assert again
    # The sandbox clock stamps updates one second apart, after every generated record.
    assert state.high_water == box.data.now
    assert json.loads((tmp_path / "sync.json").read_text()) == {
        "komet:customers": box.data.now.isoformat()
    }


@pytest.mark.parametrize("overlap", [dt.timedelta(0), DEFAULT_OVERLAP], ids=["0s", "5min"])
async def test_komet_next_sync_returns_exactly_the_10_changed(
    tmp_path: Path, overlap: dt.timedelta
) -> None:
    """Change 10 customers, nothing unchanged in the overlap: the next sync is exactly those 10."""
    state = SyncState.from_file(tmp_path / "sync.json", "komet:customers", overlap=overlap)
    rng = random.Random(22)
    async with (
        KometSandbox(seed=21, customers=600, products=10, standing_orders=10) as box,
        KometClient(box.token, base_url=box.base_url, retry=RetryPolicy.disabled()) as komet,
    ):

        async def rename(customers: list[Customer]) -> None:
            for customer in customers:
                name = f"{customer.name} (renamed)"
                await komet.customers.update(CustomerUpdate(customer_id=customer.id, name=name))

        async def sync() -> list[Customer]:
            async with state.run() as run:
                found = await (
                    komet.customers.list(include_inactive=True)
                    if run.since is None
                    else komet.customers.changed_since(run.since)
                )
                run.observe(found)
            return found

        # A cron job in its steady state: a full sync, then an incremental one
        # after 3 changes, so the mark is an update's stamp and, with the
        # default overlap, all 3 are within reach of the next sync.
        await sync()
        await rename(rng.sample(box.data.customers, 3))
        await sync()
        mark = state.high_water
        assert mark is not None
        assert state.since == mark - overlap
        before = {c.id: c for c in box.data.customers}
        # changed_since is inclusive (a write in the mark's second is not missed),
        # so the customers stamped in [since, mark] come again whatever happens:
        # those are among the 10 changed, and nothing unchanged is in reach.
        reach = [c for c in before.values() if stamp(c) >= mark - overlap]
        assert len(reach) == (3 if overlap else 1)  # the last batch: its last, or all 3
        rest = [c for c in before.values() if c not in reach]
        chosen = sorted(reach + rng.sample(rest, 10 - len(reach)), key=lambda c: c.id)
        await rename(chosen)
        changed = await sync()

    # Exactly the 10, in id order, with their new names, as the sandbox holds them ...
    current = {c.id: c for c in box.data.customers}
    assert [c.id for c in changed] == [c.id for c in chosen]
    assert changed == [current[c.id] for c in chosen]
    assert [attrs.evolve(c, updated_on=None) for c in changed] == [
        attrs.evolve(c, name=f"{c.name} (renamed)", updated_on=None) for c in chosen
    ]
    # ... each stamped after the mark by the sandbox clock (one second a write) ...
    assert sorted(stamp(c) for c in changed) == [
        mark + dt.timedelta(seconds=n) for n in range(1, 11)
    ]
    # ... and the mark saved is the last of them.
    assert state.high_water == box.data.now == mark + dt.timedelta(seconds=10)
    assert json.loads((tmp_path / "sync.json").read_text()) == {
        "komet:customers": box.data.now.isoformat()
    }


async def test_komet_sync_without_overlap_fetches_the_mark_customer_again(
    tmp_path: Path,
) -> None:
    """With overlap=0 the next sync is the 10 changed plus the customer stamped at the mark."""
    state = SyncState.from_file(tmp_path / "sync.json", "komet:customers", overlap=dt.timedelta(0))
    async with (
        KometSandbox(seed=21, customers=600, products=10, standing_orders=10) as box,
        KometClient(box.token, base_url=box.base_url, retry=RetryPolicy.disabled()) as komet,
    ):
        async with state.run() as run:
            everyone = await komet.customers.list(include_inactive=True)
            run.observe(everyone)
        mark = state.high_water
        (at_mark,) = [c for c in everyone if stamp(c) == mark]
        chosen = random.Random(23).sample([c for c in everyone if c != at_mark], 10)
        for customer in chosen:
            await komet.customers.update(
                CustomerUpdate(customer_id=customer.id, name=f"{customer.name} (renamed)")
            )
        async with state.run() as run:
            assert run.since is not None
            assert run.since == mark
            changed = await komet.customers.changed_since(run.since)
            run.observe(changed)
    # Nothing within any overlap but the one customer the (inclusive) mark points at.
    current = {c.id: c for c in box.data.customers}
    assert changed == sorted([current[c.id] for c in chosen] + [at_mark], key=lambda c: c.id)


# --- Kounta changed_since -----------------------------------------------------------------

KOUNTA = "https://api.kounta.com/v1"
KOUNTA_CUSTOMERS = f"{KOUNTA}/companies/5678/customers"


@pytest.fixture
async def kounta() -> AsyncIterator[KountaClient]:
    async with KountaClient(
        5678,
        auth=BasicAuth("client-1", "cs-SECRET-1"),
        retry=RetryPolicy.no_wait(),
        rate_limit=None,
        clock=FakeClock(),
    ) as client:
        yield client


def synced(customer: KountaCustomer) -> str:
    """The last name the Kounta sandbox tests give ``customer``."""
    return f"{customer.last_name or customer.first_name} (synced)"


def kounta_customer(id: int, updated_at: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": id, "first_name": f"F{id}"}
    if updated_at is not None:
        record["updated_at"] = updated_at
    return record


async def test_kounta_changed_since_reads_every_page_and_filters(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """Every page is read; customers with updated_at >= when (or none) are kept, in order."""
    when = dt.datetime(2025, 3, 4, 0, 30, tzinfo=dt.timezone.utc)  # 10:30 AEST
    mocked.get(
        KOUNTA_CUSTOMERS,
        payload=[
            kounta_customer(1, "2025-03-04T10:29:59+10:00"),
            kounta_customer(2, "2025-03-04T10:30:00+10:00"),
        ],
        headers={"X-Next-Page": f"{KOUNTA_CUSTOMERS}?page=2"},
    )
    mocked.get(
        f"{KOUNTA_CUSTOMERS}?page=2",
        payload=[kounta_customer(3, "2024-12-01T09:00:00+11:00"), kounta_customer(4, None)],
        headers={"X-Next-Page": f"{KOUNTA_CUSTOMERS}?page=3"},
    )
    mocked.get(
        f"{KOUNTA_CUSTOMERS}?page=3",
        payload=[
            kounta_customer(5, "2025-03-04T00:30:01Z"),
            kounta_customer(6, "2020-01-01T00:00:00Z"),
        ],
    )
    found = await kounta.customers.changed_since(when)
    assert [c.id for c in found] == [2, 4, 5]
    assert [url for _, url in mocked.requests] == [
        URL(KOUNTA_CUSTOMERS),
        URL(f"{KOUNTA_CUSTOMERS}?page=2"),
        URL(f"{KOUNTA_CUSTOMERS}?page=3"),
    ]


@pytest.mark.parametrize("when", [NAIVE, dt.date(2025, 3, 4), "2025-03-04T10:30:00+10:00"])
async def test_kounta_changed_since_requires_an_aware_datetime(
    mocked: aioresponses, kounta: KountaClient, when: Any
) -> None:
    """A naive datetime, a date or a string is a ValidationError, and nothing is sent."""
    with pytest.raises(ValidationError, match="timezone-aware"):
        await kounta.customers.changed_since(when)
    assert not mocked.requests


async def test_kounta_changed_since_refuses_a_naive_updated_at(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """A server timestamp without a time zone cannot be ordered against when: a format error."""
    mocked.get(KOUNTA_CUSTOMERS, payload=[kounta_customer(1, "2025-03-04T10:30:00")])
    with pytest.raises(ResponseFormatError, match="without a time zone") as caught:
        await kounta.customers.changed_since(AWARE)
    assert caught.value.path == "updated_at"


async def test_kounta_incremental_sync_against_the_sandbox() -> None:
    """Kounta sandbox: full sync, 10 updates, then changed_since is them plus only the overlap."""
    state = SyncState(MemoryStore(), "kounta:customers")
    async with KountaSandbox(seed=4, customers=130, page_size=20) as box:
        auth = BasicAuth(box.client_id, box.client_secret)
        async with KountaClient(
            box.company_id, auth=auth, base_url=box.base_url, rate_limit=None
        ) as kounta:
            async with state.run() as run:
                everyone = await kounta.customers.list().collect()
                run.observe(everyone)
            last_seen = state.high_water
            assert last_seen is not None
            chosen = random.Random(4).sample(everyone, 10)
            for customer in chosen:
                await kounta.customers.update(
                    customer.id, CustomerChanges(last_name=synced(customer))
                )
            async with state.run() as run:
                assert run.since == last_seen - DEFAULT_OVERLAP
                since = run.since
                changed = await kounta.customers.changed_since(since)
                run.observe(changed)
        listed = box.data.listed
    # Exactly the listing's records stamped at or after `since`, in listing order ...
    assert changed == [c for c in listed if stamp(c) >= since]
    # ... which are the 10 updated, with their new names ...
    chosen_ids = {c.id for c in chosen}
    new = [c for c in changed if stamp(c) > last_seen]
    assert {c.id for c in new} == chosen_ids
    assert [c.last_name for c in sorted(new, key=lambda c: c.id)] == [
        synced(c) for c in sorted(chosen, key=lambda c: c.id)
    ]
    # ... and, fetched again on purpose, exactly the unchanged ones the overlap reaches.
    again = [c for c in changed if c.id not in chosen_ids]
    assert again == [c for c in everyone if c.id not in chosen_ids and stamp(c) >= since]
    assert again
    assert state.high_water == max(stamp(c) for c in listed)


@pytest.mark.parametrize("overlap", [dt.timedelta(0), DEFAULT_OVERLAP], ids=["0s", "5min"])
async def test_kounta_next_sync_returns_exactly_the_10_changed(overlap: dt.timedelta) -> None:
    """Kounta: change 10 customers, nothing unchanged in the overlap: the next sync is those 10."""
    state = SyncState(MemoryStore(), "kounta:customers", overlap=overlap)
    rng = random.Random(5)
    async with KountaSandbox(seed=4, customers=130, page_size=20) as box:
        auth = BasicAuth(box.client_id, box.client_secret)
        async with KountaClient(
            box.company_id, auth=auth, base_url=box.base_url, rate_limit=None
        ) as kounta:

            async def rename(customers: list[KountaCustomer]) -> None:
                for customer in customers:
                    changes = CustomerChanges(last_name=synced(customer))
                    await kounta.customers.update(customer.id, changes)

            async def sync() -> list[KountaCustomer]:
                async with state.run() as run:
                    found = await (
                        kounta.customers.list().collect()
                        if run.since is None
                        else kounta.customers.changed_since(run.since)
                    )
                    run.observe(found)
                return found

            # Steady state, as for Komet: a full sync, 3 updates, an incremental
            # sync; the sandbox stamps writes a minute apart, so with the default
            # overlap all 3 are within reach of the next sync.
            await sync()
            await rename(rng.sample(box.data.listed, 3))
            await sync()
            mark = state.high_water
            assert mark is not None
            before = {c.id: c for c in box.data.listed}
            reach = [c for c in before.values() if stamp(c) >= mark - overlap]
            assert len(reach) == (3 if overlap else 1)  # the last batch: its last, or all 3
            rest = [c for c in before.values() if c not in reach]
            chosen = sorted(reach + rng.sample(rest, 10 - len(reach)), key=lambda c: c.id)
            await rename(chosen)
            changed = await sync()
        current = {c.id: c for c in box.data.listed}

    # Exactly the 10, in listing (id) order, with their new names, as the sandbox lists them ...
    assert [c.id for c in changed] == [c.id for c in chosen]
    assert changed == [current[c.id] for c in chosen]
    assert [attrs.evolve(c, updated_at=None) for c in changed] == [
        attrs.evolve(c, last_name=synced(c), updated_at=None) for c in chosen
    ]
    # ... each stamped after the mark by the sandbox's write clock (a minute a write).
    assert sorted(stamp(c) for c in changed) == [
        mark + dt.timedelta(minutes=n) for n in range(1, 11)
    ]
    assert state.high_water == mark + dt.timedelta(minutes=10)
