"""Shared helpers: a resource probe (fds, tasks, unclosed warnings) and a tracing clock."""

from __future__ import annotations

import asyncio
import gc
import os
import time
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import Any

import aiohttp

from komet_async._session import ClientBase


def open_fds() -> int:
    """Open file descriptors of this process (``/proc/self/fd`` entries)."""
    return len(os.listdir("/proc/self/fd"))


def other_tasks(baseline: set[asyncio.Task[Any]] | None = None) -> set[asyncio.Task[Any]]:
    """Tasks of the running loop, besides the current one and ``baseline``."""
    found = asyncio.all_tasks() - {asyncio.current_task()}
    return found - (baseline or set())


async def eventually(predicate: Callable[[], bool], *, timeout: float = 3.0) -> bool:
    """Poll ``predicate`` on the loop until it holds or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return predicate()
        await asyncio.sleep(0.005)
    return True


def acquired_connections(client: ClientBase) -> int:
    """Connections the client's own aiohttp connector has handed out and not got back.

    Reads private state (the session the client made, aiohttp's ``_acquired``):
    there is no public count of connections in use.
    """
    session: aiohttp.ClientSession | None = client._core._session
    if session is None or session.connector is None:
        return 0
    return len(session.connector._acquired)


class ResourceProbe:
    """Measures fds and tasks at entry and checks they come back; records unclosed warnings.

    ``async with ResourceProbe() as probe:`` ... then ``await probe.check()``
    inside the block, once everything under test is closed. Warnings
    (``ResourceWarning`` among them) are recorded rather than raised while the
    probe is active, and the loop's exception handler (where aiohttp reports
    "Unclosed client session" / "Unclosed connector") is watched too.
    """

    def __init__(self) -> None:
        self.start_fds = 0
        self.start_tasks = 0
        self.end_fds: int | None = None
        self.end_tasks: int | None = None
        self.loop_errors: list[dict[str, Any]] = []
        self._baseline: set[asyncio.Task[Any]] = set()
        self._catcher = warnings.catch_warnings(record=True)
        self._warnings: list[warnings.WarningMessage] = []
        self._previous_handler: Any = None

    async def __aenter__(self) -> ResourceProbe:
        gc.collect()
        self._warnings = self._catcher.__enter__() or []
        warnings.simplefilter("always")
        loop = asyncio.get_running_loop()
        self._previous_handler = loop.get_exception_handler()
        loop.set_exception_handler(lambda _loop, context: self.loop_errors.append(context))
        self._baseline = other_tasks()
        self.start_tasks = len(self._baseline)
        self.start_fds = open_fds()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.get_running_loop().set_exception_handler(self._previous_handler)
        self._catcher.__exit__(exc_type, exc, tb)

    @property
    def new_tasks(self) -> set[asyncio.Task[Any]]:
        """Tasks started since entry that are still there."""
        return other_tasks(self._baseline)

    @property
    def new_client_tasks(self) -> set[asyncio.Task[Any]]:
        """:attr:`new_tasks` but the sandbox's: aiohttp.web keeps one per open connection."""
        return {task for task in self.new_tasks if not _is_server_task(task)}

    @property
    def resource_warnings(self) -> list[str]:
        """Every ResourceWarning and unclosed-resource report so far, as text."""
        found = [str(w.message) for w in self._warnings if issubclass(w.category, ResourceWarning)]
        found += [str(context.get("message")) for context in self.loop_errors]
        return found

    async def check(self, *, timeout: float = 3.0) -> None:
        """Fail unless fds and tasks are back to their entry level and nothing was left unclosed.

        Closing takes a few loop iterations (the sandbox sees the client's
        sockets close): wait up to ``timeout`` seconds for the figures to settle.
        """
        await eventually(
            lambda: open_fds() <= self.start_fds and not self.new_tasks, timeout=timeout
        )
        gc.collect()
        await asyncio.sleep(0)  # let __del__ reports reach the exception handler
        self.end_fds, self.end_tasks = open_fds(), len(other_tasks())
        problems = []
        if self.new_tasks:
            problems.append(f"tasks left: {sorted(map(repr, self.new_tasks))}")
        if self.end_fds != self.start_fds:
            problems.append(f"open fds: {self.start_fds} at start, {self.end_fds} now")
        if self.resource_warnings:
            problems.append(f"unclosed resources: {self.resource_warnings}")
        if problems:
            raise AssertionError("; ".join(problems))

    def figures(self) -> str:
        """Start and end figures, for the test output."""
        return (
            f"fds {self.start_fds} -> {self.end_fds}, "
            f"other tasks {self.start_tasks} -> {self.end_tasks}"
        )


def _is_server_task(task: asyncio.Task[Any]) -> bool:
    return getattr(task.get_coro(), "__qualname__", "") == "RequestHandler.start"


class TracingClock:
    """The system clock, noting how many sleeps are under way (to cancel one mid-sleep)."""

    def __init__(self) -> None:
        self.sleeping = 0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``, counted while it lasts."""
        self.sleeps.append(seconds)
        self.sleeping += 1
        try:
            await asyncio.sleep(seconds)
        finally:
            self.sleeping -= 1
