"""Helpers for testing code that uses komet_async, without waiting or a network.

- :class:`FakeClock`: pass it as ``KometClient(..., clock=FakeClock())``;
  retry backoffs, ``Retry-After`` waits and rate-limit waits are recorded in
  ``clock.sleeps`` and advance fake time instantly.
- For a whole fake Komet server on 127.0.0.1, see :mod:`komet_async.sandbox`.
"""

from __future__ import annotations

import asyncio

__all__ = ["FakeClock"]


class FakeClock:
    """A clock whose sleeps return at once and move time forward.

    ``sleeps`` lists every requested sleep in order. Concurrent sleepers each
    wake at their own deadline: time moves to the latest deadline reached, so
    two tasks sleeping 2 s at the same moment advance the clock by 2 s, not 4.
    """

    def __init__(self, start: float = 1_000.0, wall_start: float = 1_750_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Fake monotonic seconds."""
        return self._now

    def time(self) -> float:
        """Fake Unix time, moving with :meth:`monotonic`."""
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        """Move time forward without sleeping."""
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the sleep, move time to its deadline, and yield to other tasks once."""
        self.sleeps.append(seconds)
        deadline = self._now + max(0.0, seconds)
        await asyncio.sleep(0)
        self._now = max(self._now, deadline)

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now:.3f}, sleeps={len(self.sleeps)})"
