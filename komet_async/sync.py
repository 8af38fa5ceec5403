"""Incremental sync: remember how far a job got, fetch only what changed since.

A :class:`SyncState` keeps a *high-water mark*: the latest ``updated_on``
(Komet) or ``updated_at`` (Kounta) a job has seen. The next run asks for the
records changed since that mark minus a safety ``overlap`` (default five
minutes), so a record written while the previous run was reading, or
stamped by a server clock slightly behind, is fetched again rather than
missed. Records can therefore come twice: make the write on your side an
upsert.

The mark lives in a JSON file (:meth:`SyncState.from_file`; one file may
hold the marks of several jobs, each under its own key, and is replaced
atomically) or in any async key-value store with ``get`` and ``set``
(:class:`KeyValueStore`: Redis, a database table ...;
:class:`MemoryStore` for tests)::

    from komet_async import KometClient
    from komet_async.sync import SyncState

    state = SyncState.from_file("sync-state.json", "komet:customers")
    async with KometClient(token) as komet, state.run() as run:
        if run.since is None:  # first run: everything
            changed = await komet.customers.list(include_inactive=True)
        else:
            changed = await komet.customers.changed_since(run.since)
        await upsert(changed)  # your side
        run.observe(changed)
    # Saved here, only because the block succeeded.

:meth:`SyncState.run` saves only when its block ends without an exception:
a run that fails (or is cancelled) half-way leaves the mark where it was,
and the next run fetches the same records again. Observe through ``run``,
not through the state, for that guarantee.

Time zones are kept as given: Komet's ``updatedOn`` is naive local time,
Kounta's ``updated_at`` is timezone-aware. A naive and an aware time cannot be
ordered, so one state refuses to mix them with a :class:`ValidationError`:
keep one key per source.

One process should write a given key at a time: the file store serialises
the writes of one :class:`JsonFileStore` object, not of several processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import stat
import tempfile
import threading
import typing
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from .errors import KometError, ValidationError

__all__ = [
    "DEFAULT_OVERLAP",
    "JsonFileStore",
    "KeyValueStore",
    "MemoryStore",
    "Stamped",
    "SyncRun",
    "SyncState",
    "SyncStateError",
]

#: How far before the high-water mark the next run starts.
DEFAULT_OVERLAP: Final = dt.timedelta(minutes=5)


class SyncStateError(KometError, ValueError):
    """The stored sync state cannot be read (a corrupt file, a value that is not a date-time)."""


@runtime_checkable
class KeyValueStore(Protocol):
    """Where a :class:`SyncState` keeps its mark: any async string-to-string store."""

    async def get(self, key: str) -> str | None:
        """The value stored under ``key``, or ``None``."""
        ...

    async def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        ...


class MemoryStore:
    """A :class:`KeyValueStore` in a dict (tests, or a state that need not outlive the process)."""

    def __init__(self, data: Mapping[str, str] | None = None) -> None:
        #: The stored values, by key.
        self.data: dict[str, str] = dict(data or {})

    def __repr__(self) -> str:
        return f"<MemoryStore keys={sorted(self.data)}>"

    async def get(self, key: str) -> str | None:
        """The value stored under ``key``, or ``None``."""
        return self.data.get(key)

    async def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        self.data[key] = value


class JsonFileStore:
    """A :class:`KeyValueStore` in a JSON file: one object of key -> string.

    A missing file is an empty store. Every write replaces the file
    atomically (a temporary file in the same directory, flushed to disk, then
    ``os.replace``), so a crash leaves the old file or the new one, never half
    of one; other keys in the file are kept, and so is the file's mode (a new
    file is private to its owner). The directory is created if missing. A file
    that is not such a JSON object raises :class:`SyncStateError`. File I/O
    runs in a worker thread.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        #: The state file.
        self.path = Path(path)
        # A thread lock, not an asyncio one: a cancelled caller does not stop
        # its worker thread, and read-modify-write cycles must not interleave.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<JsonFileStore {str(self.path)!r}>"

    async def get(self, key: str) -> str | None:
        """The value stored under ``key``, or ``None``."""
        data = await asyncio.to_thread(self.read)
        return data.get(key)

    async def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, keeping the file's other keys."""
        await asyncio.to_thread(self._set, key, value)

    def read(self) -> dict[str, str]:
        """Every key and value in the file (blocking; ``{}`` if there is no file)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise self._corrupt(f"not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise self._corrupt(f"expected a JSON object, found {type(data).__name__}")
        bad = sorted(k for k, v in data.items() if not isinstance(v, str))
        if bad:
            raise self._corrupt(f"expected string values; not so under {', '.join(bad)}")
        return data

    def _set(self, key: str, value: str) -> None:
        with self._lock:
            data = self.read()
            data[key] = value
            self._replace(json.dumps(data, indent=2, sort_keys=True) + "\n")

    def _replace(self, text: str) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with contextlib.suppress(FileNotFoundError):
                # mkstemp makes the file 0600; the replaced file keeps its own mode.
                os.chmod(temp, stat.S_IMODE(os.stat(self.path).st_mode))
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                # Without fsync a crash after the rename could leave an empty file.
                os.fsync(file.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def _corrupt(self, why: str) -> SyncStateError:
        return SyncStateError(
            f"sync state file {str(self.path)!r}: {why}; fix it, or delete it to sync everything"
        )


class _HasUpdatedOn(Protocol):
    @property
    def updated_on(self) -> dt.datetime | None: ...


class _HasUpdatedAt(Protocol):
    @property
    def updated_at(self) -> dt.datetime | None: ...


#: What :meth:`SyncState.observe` accepts: a datetime, or a record with
#: ``updated_on`` (Komet) or ``updated_at`` (Kounta).
Stamped = dt.datetime | _HasUpdatedOn | _HasUpdatedAt


def _aware(value: dt.datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() is not None


def _stamp(item: object, key: str) -> dt.datetime | None:
    """The time of one observed item; ``None`` for a record without one."""
    if isinstance(item, dt.datetime):
        return item
    if isinstance(item, (dt.date, str, bytes)):
        raise ValidationError(
            [f"sync state {key!r}: expected a datetime or a record, got {type(item).__name__}"]
        )
    for name in ("updated_on", "updated_at"):
        if hasattr(item, name):
            value = getattr(item, name)
            if value is None or isinstance(value, dt.datetime):
                return value
            raise ValidationError(
                [f"sync state {key!r}: {name} is a {type(value).__name__}, not a datetime"]
            )
    raise ValidationError(
        [
            f"sync state {key!r}: {type(item).__name__} has neither updated_on nor updated_at; "
            "pass records or datetimes"
        ]
    )


def _latest(
    reference: dt.datetime | None, items: Stamped | Iterable[Stamped], key: str
) -> dt.datetime | None:
    """The latest of ``reference`` and the items' times; refuses naive mixed with aware."""
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        items = [items]
    latest = reference
    for item in items:
        stamp = _stamp(item, key)
        if stamp is None:
            continue  # a record with no time cannot move the mark
        if latest is not None and _aware(stamp) != _aware(latest):
            naive, aware = (stamp, latest) if _aware(latest) else (latest, stamp)
            raise ValidationError(
                [
                    f"sync state {key!r}: cannot order the naive time {naive.isoformat()} "
                    f"against the timezone-aware {aware.isoformat()}; Komet's updated_on is "
                    "naive local time and Kounta's updated_at is aware: use one key per source"
                ]
            )
        if latest is None or stamp > latest:
            latest = stamp
    return latest


def _later(a: dt.datetime | None, b: dt.datetime | None, key: str) -> dt.datetime | None:
    return _latest(a, [] if b is None else [b], key)


class SyncState:
    """The high-water mark of one incremental sync job, kept in a :class:`KeyValueStore`.

    - :meth:`load` reads the stored mark and returns :attr:`since`, the time
      to fetch changes from (``None`` before the first successful run).
    - :meth:`observe` takes records (or datetimes) the job has handled.
    - :meth:`save` stores the latest time observed; it never moves the stored
      mark backwards.
    - :meth:`run` wraps the three, saving only when the block succeeds.

    The store holds the latest time actually seen (ISO 8601); ``overlap`` is
    subtracted when reading, so changing it takes effect on the next run.
    """

    def __init__(
        self, store: KeyValueStore, key: str, *, overlap: dt.timedelta = DEFAULT_OVERLAP
    ) -> None:
        problems = []
        if not isinstance(key, str) or not key.strip():
            problems.append(f"key: a non-empty string is required, got {key!r}")
        if not isinstance(overlap, dt.timedelta) or overlap < dt.timedelta(0):
            problems.append(f"overlap: a timedelta >= 0 is required, got {overlap!r}")
        # Typed callers cannot get this wrong; untyped ones get a clear error now.
        if not isinstance(typing.cast(object, store), KeyValueStore):
            problems.append(f"store: expected a KeyValueStore, got {type(store).__name__}")
        if problems:
            raise ValidationError(problems)
        self.store = store
        self.key = key
        self.overlap = overlap
        self._stored: dt.datetime | None = None
        self._observed: dt.datetime | None = None

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], key: str, *, overlap: dt.timedelta = DEFAULT_OVERLAP
    ) -> SyncState:
        """A state kept under ``key`` in the JSON file at ``path`` (see :class:`JsonFileStore`)."""
        return cls(JsonFileStore(path), key, overlap=overlap)

    def __repr__(self) -> str:
        mark = self.high_water.isoformat() if self.high_water else None
        return f"<SyncState {self.key!r} high_water={mark} store={self.store!r}>"

    @property
    def high_water(self) -> dt.datetime | None:
        """The latest time seen: loaded, saved or observed (``None`` if none yet)."""
        return _later(self._stored, self._observed, self.key)

    @property
    def since(self) -> dt.datetime | None:
        """Where the next fetch starts: :attr:`high_water` minus ``overlap``."""
        latest = self.high_water
        return None if latest is None else latest - self.overlap

    async def load(self) -> dt.datetime | None:
        """Read the stored mark; return :attr:`since` (``None`` before the first save)."""
        self._stored = await self._read()
        return self.since

    def observe(self, items: Stamped | Iterable[Stamped]) -> None:
        """Note records (with ``updated_on`` / ``updated_at``) or datetimes as handled.

        Records whose time is ``None`` are skipped. A naive time mixed with an
        aware one raises :class:`ValidationError`, and then nothing of
        ``items`` is taken.
        """
        latest = _latest(self.high_water, items, self.key)
        if latest is not None and latest != self.high_water:
            self._observed = latest

    async def save(self) -> dt.datetime | None:
        """Store the latest time observed, if it is later than the stored one; return :attr:`since`.

        The store is read again first, so a mark saved meanwhile by another
        run is never moved backwards.
        """
        if self._observed is None:
            return self.since
        current = await self._read()
        latest = _later(current, self._observed, self.key)
        if latest is not None and latest != current:
            await self.store.set(self.key, latest.isoformat())
        self._stored, self._observed = latest, None
        return self.since

    @contextlib.asynccontextmanager
    async def run(self) -> AsyncIterator[SyncRun]:
        """Load, hand out a :class:`SyncRun`, and save only if the block succeeds.

        ``run.since`` is the time to fetch changes from (``None`` on the first
        run: fetch everything). If the block raises, or is cancelled, nothing
        observed during it is kept and the stored mark does not move.
        """
        since = await self.load()
        sync_run = SyncRun(self, since)
        yield sync_run
        if sync_run.high_water is not None:
            self.observe(sync_run.high_water)
        await self.save()

    async def _read(self) -> dt.datetime | None:
        text = await self.store.get(self.key)
        if text is None:
            return None
        try:
            return dt.datetime.fromisoformat(_iso(text))
        except (TypeError, ValueError):
            raise SyncStateError(
                f"sync state {self.key!r}: the stored value {text!r} is not an ISO date-time"
            ) from None


def _iso(text: str) -> str:
    # Python 3.10's fromisoformat does not read a "Z" suffix; other writers may use it.
    text = text.strip()
    return text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text


class SyncRun:
    """One run of a :class:`SyncState` (from :meth:`SyncState.run`): ``since`` and ``observe``."""

    def __init__(self, state: SyncState, since: dt.datetime | None) -> None:
        self._state = state
        #: Fetch changes from here; ``None`` means no earlier run succeeded.
        self.since = since
        self._observed: dt.datetime | None = None

    def __repr__(self) -> str:
        return f"<SyncRun {self._state.key!r} since={self.since}>"

    @property
    def high_water(self) -> dt.datetime | None:
        """The latest time observed in this run (``None`` if none)."""
        return self._observed

    def observe(self, items: Stamped | Iterable[Stamped]) -> None:
        """Note handled records or datetimes; kept only if the run succeeds."""
        # Checked against the state's times too, so a mix fails here, not at save.
        reference = _later(self._state.high_water, self._observed, self._state.key)
        latest = _latest(reference, items, self._state.key)
        if latest is not None and latest != reference:
            self._observed = latest
