"""Time, injectable: the retry loop and the rate limiter read the clock and sleep through this.

Tests pass :class:`komet_async.testing.FakeClock`, which records sleeps and
moves time forward instantly, so nothing in the suite really waits.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock"]


class Clock(Protocol):
    """Where the library gets the time and how it waits."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock (intervals, deadlines)."""
        ...

    def time(self) -> float:
        """Unix time in seconds (HTTP dates, quota days)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic`, :func:`time.time`, :func:`asyncio.sleep`."""

    # The C functions themselves, not methods calling them: the limiter reads
    # the clock on every request, and a Python frame a read was measurable.
    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)

    async def sleep(self, seconds: float) -> None:
        """Await :func:`asyncio.sleep`."""
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()
