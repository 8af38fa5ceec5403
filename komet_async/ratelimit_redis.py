"""One rate budget shared by many processes, kept in Redis: :class:`RedisRateLimiter`.

::

    import redis.asyncio as redis
    from komet_async import KometClient, RateLimit
    from komet_async.ratelimit_redis import RedisRateLimiter

    r = redis.Redis()
    budget = RedisRateLimiter(r, "komet:acme", RateLimit(per_second=5, burst=5, per_day=1000))
    async with KometClient(token, rate_limit=budget) as komet:
        ...

Needs the ``redis`` extra (``pip install 'komet-async[redis]'``); the rest of
the package never imports redis.

Why our own Lua rather than a library. ``limits`` (async Redis storage) and
``pyrate-limiter`` (``RedisBucket``) were considered first; neither fits:

- both take "now" from the calling process's clock (``limits`` passes a
  timestamp into its scripts; ``pyrate-limiter`` says it avoids Redis ``TIME``
  on purpose), so processes with skewed clocks disagree about the budget;
- both answer "allowed or not" instead of reserving a slot and saying how long
  to wait, so waiters must poll and wake together (a thundering herd); in
  ``pyrate-limiter`` the wait is computed by further, non-atomic reads;
- neither has a cool-down shared after a 429, nor a daily quota whose day
  starts at midnight of a chosen time zone (``limits``' day windows are UTC);
- ``limits`` builds its own connection from a URI (coredis by default) rather
  than taking the caller's ``redis.asyncio.Redis``; ``pyrate-limiter`` keeps a
  sorted set with one entry per request (1,000 entries for a daily quota).

So each acquire is one ``EVALSHA`` of the script below: GCRA on Redis server
time, the shared cool-down and the daily counter checked and updated in one
atomic step, returning how long this process should sleep before sending.
"""

from __future__ import annotations

import datetime as dt
import math
from types import TracebackType
from typing import Any, Final

import redis.asyncio as redis_asyncio
from redis.exceptions import RedisError

from ._clock import SYSTEM_CLOCK, Clock
from ._ratelimit import RateLimit, RateLimitState
from .errors import RateLimitedError, TransportError

__all__ = ["RedisRateLimiter"]

#: Day counters outlive their day by this long (seconds), for anyone looking.
DAY_KEY_GRACE: Final = 3600

_GO: Final = 0
_COOLING: Final = 1
_QUOTA: Final = 2
_TOO_LONG: Final = 3

# KEYS: rate (GCRA theoretical arrival time, µs), cool-down (deadline, µs),
#       then three day counters (yesterday, today, tomorrow by the caller's clock).
# ARGV: emission interval µs (0: no steady rate), burst, max wait µs,
#       per-day quota (0: none), the three days' ends (Unix µs), the day keys'
#       grace (s), and 1 to count the request against the day (0: a fresh slot
#       for a request already counted).
# Returns {verdict, µs}: GO and how long to wait for the reserved slot;
# COOLING / TOO_LONG and the wait that exceeds max wait (nothing reserved);
# QUOTA and the time to the end of the day (nothing reserved).
_ACQUIRE: Final = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local per_day = tonumber(ARGV[4])
if tonumber(ARGV[9]) == 0 then per_day = 0 end

local start = now
local cooling = tonumber(redis.call('GET', KEYS[2]))
if cooling and cooling > start then start = cooling end
if start - now > max_wait then return {1, math.ceil(start - now)} end

local day_key, day_end
if per_day > 0 then
  for i = 1, 3 do
    day_key, day_end = KEYS[2 + i], tonumber(ARGV[4 + i])
    if now < day_end then break end
  end
  local used = tonumber(redis.call('GET', day_key)) or 0
  if used >= per_day then return {2, math.max(0, math.ceil(day_end - now))} end
end

local go = start
if interval > 0 then
  local tat = tonumber(redis.call('GET', KEYS[1])) or start
  if tat < start then tat = start end
  local next_tat = tat + interval
  go = next_tat - burst * interval
  if go < start then go = start end
  if go - now > max_wait then return {3, math.ceil(go - now)} end
  redis.call('SET', KEYS[1], string.format('%.17g', next_tat),
             'PX', math.ceil((next_tat - now) / 1000) + 1000)
end
if per_day > 0 then
  redis.call('INCR', day_key)
  redis.call('EXPIREAT', day_key, math.ceil(day_end / 1000000) + tonumber(ARGV[8]))
end
return {0, math.ceil(go - now)}
"""

# KEYS: cool-down. ARGV: its length in µs. Only ever extends the deadline.
_COOL_DOWN: Final = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local length = tonumber(ARGV[1])
local deadline = now + length
local current = tonumber(redis.call('GET', KEYS[1]))
if current == nil or current < deadline then
  redis.call('SET', KEYS[1], string.format('%.0f', deadline), 'PX', math.ceil(length / 1000))
  return 1
end
return 0
"""


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


class RedisRateLimiter:
    """A :class:`~komet_async.RateLimit` kept in Redis and spent by every process using ``key``.

    Pass it as ``KometClient(..., rate_limit=...)`` (or to the Kounta client)
    in each process; they share:

    - the steady rate and burst (GCRA, ``per_second`` / ``burst``): each
      acquire reserves the next free slot in one atomic script and sleeps
      until it here, so waiters are spaced ``1/per_second`` apart across all
      processes instead of polling;
    - a cool-down after a 429: :meth:`record` stores its deadline under
      ``<key>:cooldown``, and no process sends before it;
    - the daily quota (``per_day``): one counter per day of ``day_timezone``,
      ``<key>:day:<YYYY-MM-DD>``, expiring an hour after its day ends. Once
      spent, acquires raise :class:`~komet_async.RateLimitedError` with
      ``retry_after`` reaching the next midnight.

    Time is Redis server time (``TIME``), so processes whose clocks disagree
    still agree on the budget (the local clock only picks the candidate
    days, and may be off by up to a day). ``max_wait`` bounds how long one
    acquire may wait (for a cool-down or for its slot): beyond it, it raises
    :class:`~komet_async.RateLimitedError` without taking anything.

    Every key starts with ``key``: choose a name for the account or the API
    user (``"komet:acme"``), never the token. For Redis Cluster, put the
    common part in a hash tag (``"{komet:acme}"``) so the keys share a slot.
    Adaptive throttling is per process and not available here. A request
    cancelled while waiting for its slot leaves the slot unused. Redis errors
    surface as :class:`~komet_async.TransportError` (``request_sent=False``),
    which the client's retry policy retries.
    """

    def __init__(
        self,
        redis: redis_asyncio.Redis,
        key: str,
        rate: RateLimit,
        *,
        max_wait: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError("key must be a non-empty string")
        if not isinstance(rate, RateLimit):
            raise TypeError(f"rate must be a RateLimit, got {type(rate).__name__}")
        if rate.adaptive:
            raise ValueError("adaptive throttling is per process; RedisRateLimiter cannot share it")
        self.key = key
        self.rate_limit = rate
        self.max_wait = _positive("max_wait", max_wait)
        self._redis = redis
        self._owns_redis = False
        self._clock = clock or SYSTEM_CLOCK
        self._acquire_script = redis.register_script(_ACQUIRE)
        self._cool_down_script = redis.register_script(_COOL_DOWN)
        self._rate_key = f"{key}:rate"
        self._cooldown_key = f"{key}:cooldown"
        interval = 1e6 / rate.per_second if rate.per_second is not None else 0.0
        self._head: tuple[Any, ...] = (
            interval,
            rate.burst,
            round(self.max_wait * 1e6),
            rate.per_day or 0,
        )
        # The script's KEYS and ARGV, rebuilt only when the local day changes.
        self._keys: list[str] = []
        self._args: list[Any] = []
        self._days_valid_until = -math.inf

    @classmethod
    def from_url(
        cls,
        url: str,
        key: str,
        rate: RateLimit,
        *,
        max_wait: float = 60.0,
        clock: Clock | None = None,
        **redis_options: Any,
    ) -> RedisRateLimiter:
        """A limiter with a Redis client of its own, closed by :meth:`aclose`.

        ``redis_options`` go to ``redis.asyncio.Redis.from_url``.
        """
        limiter = cls(
            redis_asyncio.Redis.from_url(url, **redis_options),
            key,
            rate,
            max_wait=max_wait,
            clock=clock,
        )
        limiter._owns_redis = True
        return limiter

    def __repr__(self) -> str:
        return (
            f"RedisRateLimiter(key={self.key!r}, rate={self.rate_limit!r}, "
            f"max_wait={self.max_wait:g})"
        )

    async def aclose(self) -> None:
        """Close the Redis client if :meth:`from_url` created it (a caller's client stays open)."""
        if self._owns_redis:
            self._owns_redis = False
            await self._redis.aclose()

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def day_key(self, day: dt.date) -> str:
        """The Redis key counting ``day``'s requests."""
        return f"{self.key}:day:{day.isoformat()}"

    async def acquire(self, method: str = "") -> bool:
        """Reserve the next slot in the shared budget and sleep until it; return whether it waited.

        Raises :class:`~komet_async.RateLimitedError` when the daily quota is
        spent, or when the cool-down or the slot is further than ``max_wait``.
        """
        if self._clock.time() >= self._days_valid_until:
            self._plan_days()
        micros = await self._reserve(method, count_day=True)
        waited = False
        while micros > 0:
            await self._clock.sleep(micros / 1e6)
            waited = True
            # Another process may have hit a 429 while this one slept, and this
            # slot fell inside its cool-down: sit it out and reserve a fresh slot
            # after it (already counted against the day). Keeping the old one,
            # every request whose slot fell inside would go at its end at once.
            if await self.cooldown_remaining() <= 0:
                break
            await self._sit_out_cool_down(method)
            micros = await self._reserve(method, count_day=False)
        return waited

    async def _reserve(self, method: str, *, count_day: bool) -> int:
        """Run the acquire script: the µs to wait for the reserved slot, or raise."""
        try:
            reply = await self._acquire_script(
                keys=self._keys, args=[*self._args, 1 if count_day else 0]
            )
        except RedisError as exc:
            raise self._unavailable(method, exc) from exc
        verdict, micros = int(reply[0]), int(reply[1])
        what = method or "request"
        if verdict == _QUOTA:
            raise RateLimitedError(
                f"{what}: the daily quota of {self.rate_limit.per_day} requests is spent",
                retry_after=micros / 1e6,
                method=method or None,
            )
        if verdict != _GO:
            why = "every request to wait" if verdict == _COOLING else "this request to wait"
            raise RateLimitedError(
                f"{what}: the shared rate budget asks {why} {micros / 1e6:.1f} s, "
                f"longer than max_wait ({self.max_wait:g} s)",
                retry_after=micros / 1e6,
                method=method or None,
            )
        return micros

    async def record(
        self, *, status: int, cool_down: float | None, state: RateLimitState | None
    ) -> None:
        """Share a 429's pause with every process; pause until reset when none remain."""
        pause = cool_down or 0.0
        if state is not None and state.remaining == 0 and state.reset is not None:
            pause = max(pause, state.reset - self._clock.time())
        if pause > 0:
            await self.cool_down(pause)

    async def cool_down(self, seconds: float) -> None:
        """Pause every process sharing this budget for ``seconds`` (a longer pause stays)."""
        if seconds <= 0:
            return
        try:
            await self._cool_down_script(keys=[self._cooldown_key], args=[math.ceil(seconds * 1e6)])
        except RedisError as exc:
            raise self._unavailable("", exc) from exc

    async def cooldown_remaining(self) -> float:
        """Seconds left in the shared cool-down (0 when there is none)."""
        try:
            millis = int(await self._redis.pttl(self._cooldown_key))
        except RedisError as exc:
            raise self._unavailable("", exc) from exc
        return max(0, millis) / 1000.0

    async def _sit_out_cool_down(self, method: str) -> None:
        while (remaining := await self.cooldown_remaining()) > 0:
            if remaining > self.max_wait:
                raise RateLimitedError(
                    f"{method or 'request'}: the shared rate budget asks every request to wait "
                    f"{remaining:.1f} s, longer than max_wait ({self.max_wait:g} s)",
                    retry_after=remaining,
                    method=method or None,
                )
            await self._clock.sleep(remaining)

    def _plan_days(self) -> None:
        """Yesterday, today and tomorrow in ``day_timezone``: their keys and ends (Unix µs)."""
        tz = self.rate_limit.day_timezone
        today = dt.datetime.fromtimestamp(self._clock.time(), tz).date()
        days = [today + dt.timedelta(days=offset) for offset in (-1, 0, 1)]
        ends = [_midnight_after(day, tz) for day in days]
        self._keys = [self._rate_key, self._cooldown_key, *(self.day_key(d) for d in days)]
        self._args = [*self._head, *(round(end * 1e6) for end in ends), DAY_KEY_GRACE]
        self._days_valid_until = ends[1]

    def _unavailable(self, method: str, exc: RedisError) -> TransportError:
        return TransportError(
            f"{method or 'request'}: the shared rate budget in Redis is unavailable "
            f"({type(exc).__name__}: {exc})",
            request_sent=False,
            method=method or None,
        )


def _midnight_after(day: dt.date, tz: dt.tzinfo) -> float:
    """Unix time of the midnight that ends ``day`` in ``tz``."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz).timestamp()
