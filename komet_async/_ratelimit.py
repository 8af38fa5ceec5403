"""Rate limiting: what the server said, kept apart from how fast we choose to go.

- :class:`RateLimitState` is an immutable reading of the server's
  ``X-Ratelimit-*`` headers (pure, parsed by :meth:`RateLimitState.from_headers`).
- :class:`RateLimit` is the caller's configuration: a steady rate with a
  burst, and an optional daily quota.
- :class:`RateLimiter` enforces it for one client: a concurrency cap, a
  shared cool-down after a 429, a daily counter and a token bucket. Its clock
  is injectable, so tests run on fake time.
- :class:`AdaptiveBudget` (``RateLimit(adaptive=True)``) learns the server's
  limit from its 429s, the way botocore's adaptive retry mode does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import math
from collections import deque
from collections.abc import Mapping
from typing import Final, Protocol, runtime_checkable

import attrs

from ._clock import Clock
from .errors import RateLimitedError

__all__ = [
    "AdaptiveBudget",
    "LocalBudget",
    "RateBudget",
    "RateLimit",
    "RateLimitState",
    "RateLimiter",
]


def _positive_or_none(
    _: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a positive number or None, got {value!r}")


@attrs.frozen
class RateLimit:
    """How fast one client may send.

    - ``per_second``: steady rate (token bucket); ``None`` for no steady limit.
    - ``burst``: how many requests may go at once after an idle period. A
      burst above 1 lets the bucket hold its rate exactly despite sleep
      granularity.
    - ``per_day``: requests per day (Komet: 1,000 per paid user); once spent,
      requests fail with :class:`RateLimitedError` before anything is sent.
    - ``day_timezone``: where the quota day starts (default UTC midnight).
    - ``adaptive``: learn the server's limit instead of trusting ``per_second``
      (see :class:`AdaptiveBudget`); ``per_second`` is then the ceiling the
      learned rate never exceeds, and is required.
    """

    per_second: float | None = attrs.field(default=None, validator=_positive_or_none)
    burst: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    per_day: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(1))
    )
    day_timezone: dt.tzinfo = dt.timezone.utc
    adaptive: bool = False

    def __attrs_post_init__(self) -> None:
        if self.adaptive and self.per_second is None:
            raise ValueError(
                "adaptive=True needs per_second: the ceiling the learned rate stays under"
            )

    @classmethod
    def per_minute(cls, requests: float, *, burst: int = 1) -> RateLimit:
        """A steady ``requests`` per minute."""
        return cls(per_second=requests / 60.0, burst=burst)


@attrs.frozen
class RateLimitState:
    """What the server said about its limit in one response (Kounta's ``X-Ratelimit-*``).

    ``reset`` is a Unix time in seconds. Fields the server left out, or sent
    as garbage, are ``None``.
    """

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitState | None:
        """Read the state from response headers; ``None`` when there is none."""
        limit = _header_int(headers.get("X-Ratelimit-Limit"))
        remaining = _header_int(headers.get("X-Ratelimit-Remaining"))
        reset = _header_float(headers.get("X-Ratelimit-Reset"))
        if limit is None and remaining is None and reset is None:
            return None
        return cls(limit=limit, remaining=remaining, reset=reset)


def _header_int(raw: str | None) -> int | None:
    value = _header_float(raw)
    return int(value) if value is not None else None


def _header_float(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


@runtime_checkable
class RateBudget(Protocol):
    """How fast requests may go: the part of rate limiting that can be shared.

    :class:`LocalBudget` keeps it in memory for one client; a shared budget
    (for example in Redis) lets many processes spend one allowance. Clients
    accept either a :class:`RateLimit` (they build a :class:`LocalBudget`) or
    any object with these two coroutines as ``rate_limit=``.

    :meth:`record` is called after 429s and answers carrying rate-limit
    headers; a budget with a true ``learns_from_responses`` attribute (an
    adaptive one) hears about every response.
    """

    async def acquire(self, method: str) -> bool:
        """Wait until one request may go; return whether it had to wait.

        Raise :class:`RateLimitedError` instead of waiting longer than the
        budget's maximum wait, or when a quota is spent.
        """
        ...

    async def record(
        self, *, status: int, cool_down: float | None, state: RateLimitState | None
    ) -> None:
        """Learn from a response: its status, the pause a 429 asks for, the server's state."""
        ...


class LocalBudget:
    """A :class:`RateLimit` enforced in memory: cool-down, daily quota, token bucket.

    ``max_wait`` is the longest cool-down a request agrees to sit out; a longer
    one fails fast with :class:`RateLimitedError` (the retry policy's
    ``max_retry_after``).
    """

    def __init__(self, rate_limit: RateLimit | None, *, max_wait: float, clock: Clock) -> None:
        self.rate_limit = rate_limit
        self._max_wait = max_wait
        self._clock = clock
        self._rate = rate_limit.per_second if rate_limit else None
        self._burst = float(rate_limit.burst) if rate_limit else 1.0
        self._tokens = self._burst
        self._refilled_at = clock.monotonic()
        # Slots reserved by token waiters that were cancelled while others
        # queued behind them (a heap of monotonic times), and a count of
        # reservations to tell whether a cancelled one was the last.
        self._holes: list[float] = []
        self._reservations = 0
        # The grants of the last second, oldest first, and the most any 1 s
        # window may hold: R + burst (the ceiling's, for an adaptive budget).
        # The bucket keeps to it while the event loop runs on time; after a
        # stall, every waiter whose slot fell inside it would go at once
        # (see _window_wait).
        self._granted: deque[float] = deque()
        self._window_cap = int(self._rate + self._burst) if self._rate is not None else 0
        self._cooldown_until = 0.0
        self._per_day = rate_limit.per_day if rate_limit else None
        self._day_timezone = rate_limit.day_timezone if rate_limit else dt.timezone.utc
        self._day: dt.date | None = None
        self._day_count = 0
        #: The last :class:`RateLimitState` the server sent, if any.
        self.server_state: RateLimitState | None = None

    def __repr__(self) -> str:
        return f"LocalBudget({self.rate_limit!r})"

    def try_acquire(self, method: str = "") -> bool:
        """Let one request go now if it needs no wait (no cool-down, a token at hand).

        Counts it against the daily quota like :meth:`acquire` (and raises
        :class:`RateLimitedError` the same way when the quota is spent);
        returns ``False``, changing nothing, when the request would have to
        wait: :meth:`acquire` then does the waiting. No coroutine on the way
        of the common case: this runs on every request.
        """
        now = self._clock.monotonic()
        if self._cooldown_until > now:
            return False
        rate = self._rate
        if rate is not None:
            tokens = self._refilled(now, rate)
            if (
                tokens < 1.0
                or (self._holes and self._holes[0] > now)
                or self._window_wait(now) > 0.0
            ):
                return False
            self._tokens = tokens - 1.0
            self._refilled_at = now
            self._granted.append(now)
        if self._per_day is not None:
            try:
                self._count_daily(method, self._per_day)
            except BaseException:
                if rate is not None:
                    self._tokens += 1.0  # not sent: the token goes back
                    self._granted.pop()
                raise
        return True

    async def acquire(self, method: str = "") -> bool:
        """Wait for any cool-down and a token; count the request against the quota."""
        waited = await self._wait_cooldown(method)
        if self._per_day is not None:
            self._count_daily(method, self._per_day)
        try:
            if self._rate is not None:
                while await self._take_token(self._rate):
                    waited = True
                    if self._cooldown_until <= self._clock.monotonic():
                        break
                    # A 429 started a cool-down while this request slept on its
                    # token, and its slot fell inside it. Sit the cool-down out
                    # and take a fresh slot after it: keeping the old one, every
                    # request whose slot fell inside would go at its end at once.
                    await self._wait_cooldown(method)
                # A token in hand, and one more grant must fit the last second.
                # (Cancelled in this wait, the token stays spent: handing it
                # back could give a newcomer a moment queued waiters hold.)
                now = self._clock.monotonic()
                while (wait := self._window_wait(now)) > 0.0:
                    waited = True
                    await self._clock.sleep(wait)
                    await self._wait_cooldown(method)  # a 429 meanwhile holds this one too
                    now = self._clock.monotonic()
                self._granted.append(now)
        except BaseException:
            # Cancelled, or refused a cool-down: never sent, so not one of the day's.
            if self._per_day is not None and self._day_count > 0:
                self._day_count -= 1
            raise
        return waited

    async def record(
        self, *, status: int, cool_down: float | None, state: RateLimitState | None
    ) -> None:
        """A 429 pauses every request; a server saying nothing remains pauses until reset."""
        if cool_down is not None:
            self.cool_down(cool_down)
        self.observe(state)

    def cool_down(self, seconds: float) -> None:
        """Pause every request of this budget for ``seconds``."""
        if seconds > 0:
            self._cooldown_until = max(self._cooldown_until, self._clock.monotonic() + seconds)

    def observe(self, state: RateLimitState | None) -> None:
        """Take note of the server's limit; pause until its reset when nothing remains."""
        if state is None:
            return
        self.server_state = state
        if state.remaining == 0 and state.reset is not None:
            self.cool_down(state.reset - self._clock.time())

    @property
    def cooldown_remaining(self) -> float:
        """Seconds left in the current cool-down (0 when there is none)."""
        return max(0.0, self._cooldown_until - self._clock.monotonic())

    async def _wait_cooldown(self, method: str) -> bool:
        waited = False
        # A loop, because another 429 may extend the cool-down while we sleep.
        while (remaining := self._cooldown_until - self._clock.monotonic()) > 0:
            if remaining > self._max_wait:
                raise RateLimitedError(
                    f"{method or 'request'}: the server asked every request to wait "
                    f"{remaining:.0f} s, longer than max_retry_after ({self._max_wait:g} s)",
                    retry_after=remaining,
                    method=method or None,
                )
            waited = True
            await self._clock.sleep(remaining)
        return waited

    def _count_daily(self, method: str, per_day: int) -> None:
        now = dt.datetime.fromtimestamp(self._clock.time(), self._day_timezone)
        if now.date() != self._day:
            self._day, self._day_count = now.date(), 0
        if self._day_count >= per_day:
            midnight = dt.datetime.combine(
                now.date() + dt.timedelta(days=1), dt.time(), tzinfo=now.tzinfo
            )
            raise RateLimitedError(
                f"{method or 'request'}: the daily quota of {per_day} requests is spent",
                retry_after=(midnight - now).total_seconds(),
                method=method or None,
            )
        self._day_count += 1

    def _window_wait(self, now: float) -> float:
        """Seconds until one more grant keeps every 1 s window within R + burst; 0: now.

        Waiters reserve slots 1/R apart, so on time they never come near it.
        When the event loop stalls (a long callback, a busy machine), those
        whose slots passed meanwhile resume together: without this check a
        window just after the stall held R + burst + R x stall grants (212 of
        210 once in 18 rounds of the ``limiter`` benchmark). O(1) amortized:
        each grant is appended once and dropped once, a second later.
        """
        granted = self._granted
        # A hair of slack: a sleep to exactly a second after a grant may wake
        # a rounding error short of it.
        while granted and granted[0] <= now - 1.0 + 1e-9:
            granted.popleft()
        excess = len(granted) - self._window_cap
        if excess < 0:
            return 0.0
        return granted[excess] + 1.0 - now

    def _refilled(self, now: float, rate: float) -> float:
        """The tokens there are at ``now``: what accrued since the last refill, up to the burst."""
        return min(self._burst, self._tokens + (now - self._refilled_at) * rate)

    async def _take_token(self, rate: float) -> bool:
        """Reserve a token, sleeping until it is due; O(1), no allocation on the fast path."""
        now = self._clock.monotonic()
        # Tokens may go negative: each waiter reserves its own future slot, so
        # concurrent waiters are spaced exactly 1/rate apart (no thundering herd).
        self._tokens = self._refilled(now, rate)
        self._refilled_at = now
        holes = self._holes
        while holes and holes[0] <= now:
            heapq.heappop(holes)  # a cancelled waiter's slot that passed unused
        ticket = 0
        if holes:
            # A cancelled waiter's slot, earlier than the end of the queue.
            due = heapq.heappop(holes)
        else:
            self._tokens -= 1.0
            if self._tokens >= 0:
                return False
            due = now - self._tokens / rate
            self._reservations += 1
            ticket = self._reservations
        try:
            await self._clock.sleep(due - now)
        except asyncio.CancelledError:
            if ticket and ticket == self._reservations:
                # The last in the queue: give the unused reservation back.
                self._tokens += 1.0
                self._reservations -= 1
            else:
                # Waiters behind this slot keep theirs (giving the token back
                # would hand a newcomer the same moment as the last of them):
                # the slot goes to the next newcomer instead.
                heapq.heappush(holes, due)
            raise
        return True


#: Multiplicative decrease on a 429 (botocore's and TCP CUBIC's beta).
ADAPTIVE_BETA: Final = 0.7
#: How fast the rate grows back along the cubic curve (botocore's scale constant).
ADAPTIVE_SCALE: Final = 0.4
#: The adaptive rate never goes below this many requests per second (or the
#: ceiling, when that is lower).
ADAPTIVE_MIN_RATE: Final = 0.5
#: 429s this soon after a decrease (or within its cool-down) belong to the same
#: throttling event: requests already in flight come back throttled too, and
#: reacting to each of them would cut the rate by 0.7 per request.
ADAPTIVE_REACTION_TIME: Final = 0.5
#: Successes are counted over this window to measure the rate the server let through.
_WINDOW: Final = 1.0


class AdaptiveBudget(LocalBudget):
    """A :class:`LocalBudget` whose rate learns the server's limit (``RateLimit(adaptive=True)``).

    It follows botocore's adaptive retry mode, a CUBIC-like curve:

    - it starts at the ceiling, ``per_second``;
    - on a 429 it remembers ``last_max``, the rate at the moment of the
      throttle (the successes of the last second, at most the current rate),
      and drops to ``ADAPTIVE_BETA * last_max``;
    - on each other response the rate follows
      ``W(t) = C * (t - K) ** 3 + last_max`` with ``K = cbrt(last_max * (1 - beta) / C)``,
      ``t`` counting from the end of the throttle's cool-down: a concave climb
      back to ``last_max`` in ``K`` seconds, a cautious plateau, then a
      faster probe for more;
    - it never goes above ``per_second`` nor below ``ADAPTIVE_MIN_RATE``.

    The token bucket paces requests at the current :attr:`rate`. Each response
    costs a counter update and, while recovering, one point of the curve: O(1),
    no containers. ``learns_from_responses`` makes the session call
    :meth:`record` for every response.
    """

    learns_from_responses: Final = True

    def __init__(self, rate_limit: RateLimit, *, max_wait: float, clock: Clock) -> None:
        if rate_limit.per_second is None:
            raise ValueError("an adaptive budget needs per_second, its ceiling")
        super().__init__(rate_limit, max_wait=max_wait, clock=clock)
        self._ceiling: float = rate_limit.per_second
        self._floor = min(ADAPTIVE_MIN_RATE, self._ceiling)
        self._last_max = self._ceiling
        self._k = 0.0
        self._epoch = 0.0  # when the cubic curve's t is 0
        self._recovering = False  # below the ceiling, climbing back
        self._hold_until = -math.inf  # 429s before this belong to the last event
        # Successes in the current and the previous window (a two-bucket
        # sliding count: O(1), no per-request allocation).
        self._window_start = clock.monotonic()
        self._window_count = 0
        self._previous_count = 0

    def __repr__(self) -> str:
        return f"AdaptiveBudget({self.rate_limit!r}, rate={self.rate:.3g})"

    @property
    def rate(self) -> float:
        """The requests per second currently allowed."""
        return self._rate or self._ceiling  # never None here: per_second is required

    @property
    def last_max(self) -> float:
        """The rate at the last throttle (the ceiling before any)."""
        return self._last_max

    def measured_rate(self) -> float:
        """Successful responses per second over about the last second."""
        now = self._clock.monotonic()
        elapsed = now - self._window_start
        if elapsed >= 2 * _WINDOW:
            return 0.0
        if elapsed >= _WINDOW:
            previous, current, into = self._window_count, 0, elapsed - _WINDOW
        else:
            previous, current, into = self._previous_count, self._window_count, elapsed
        return (previous * (1.0 - into / _WINDOW) + current) / _WINDOW

    async def record(
        self, *, status: int, cool_down: float | None, state: RateLimitState | None
    ) -> None:
        """Slow down on a 429, speed up along the curve on anything else."""
        if status == 429:
            self._throttled(cool_down)
        else:
            self._succeeded()
            if cool_down is not None:
                self.cool_down(cool_down)
        if state is not None:
            self.observe(state)

    def _succeeded(self) -> None:
        now = self._clock.monotonic()
        elapsed = now - self._window_start
        if elapsed >= _WINDOW:
            self._previous_count = self._window_count if elapsed < 2 * _WINDOW else 0
            self._window_count = 0
            self._window_start = now - elapsed % _WINDOW
        self._window_count += 1
        if not self._recovering:
            return
        t = max(0.0, now - self._epoch)
        target = ADAPTIVE_SCALE * (t - self._k) ** 3 + self._last_max
        if target >= self._ceiling:
            target = self._ceiling
            self._recovering = False
        self._set_rate(max(self._floor, target), now)

    def _throttled(self, cool_down: float | None) -> None:
        if cool_down is not None:
            self.cool_down(cool_down)
        now = self._clock.monotonic()
        if now < self._hold_until:
            return
        rate = self.rate
        measured = self.measured_rate()
        # What the server let through, unless we were sending slower than that;
        # with no success to go by, a plain multiplicative decrease.
        last_max = max(self._floor, min(rate, measured) if measured > 0 else rate)
        self._last_max = last_max
        self._k = (last_max * (1.0 - ADAPTIVE_BETA) / ADAPTIVE_SCALE) ** (1.0 / 3.0)
        resume = max(now, self._cooldown_until)
        self._epoch = resume
        self._hold_until = max(resume, now + ADAPTIVE_REACTION_TIME)
        self._recovering = True
        self._set_rate(max(self._floor, ADAPTIVE_BETA * last_max), now)

    def _set_rate(self, rate: float, now: float) -> None:
        # Settle the tokens earned at the old rate before the new one applies.
        old = self.rate
        self._tokens = min(self._burst, self._tokens + (now - self._refilled_at) * old)
        self._refilled_at = now
        self._rate = rate


class Slots:
    """A concurrency cap: ``size`` slots, handed out first come, first served.

    What ``asyncio.Semaphore`` does, plus :meth:`try_take`, a synchronous take
    when a slot is free: the semaphore has no such call, and its ``acquire()``
    is a coroutine that (on Python 3.10-3.12) builds a generator per call even
    when a slot is free; this runs on every request. A released slot goes
    straight to the longest waiter, so a newcomer never overtakes a waiter.
    """

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        """Slots nobody holds (0 while anyone waits)."""
        return self._free

    def try_take(self) -> bool:
        """Take a slot if one is free now; never waits."""
        # Waiters exist only while no slot is free (see give), so this is fair.
        if self._free:
            self._free -= 1
            return True
        return False

    async def take(self) -> None:
        """Take a slot, waiting in line for one if none is free."""
        if self.try_take():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give()  # handed a slot, then cancelled before using it
            raise

    def give(self) -> None:
        """Give a slot back: to the longest waiter still waiting, or to the free ones."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # a cancelled waiter's place passes to the next
                waiter.set_result(None)
                return
        self._free += 1


class RateLimiter:
    """One client's limits: a concurrency cap (always local) and a :class:`RateBudget`.

    Call :meth:`acquire` before each attempt, :meth:`release` after it, and
    :meth:`record` with each response.
    """

    def __init__(
        self,
        rate_limit: RateLimit | RateBudget | None,
        *,
        max_concurrency: int,
        max_wait: float,
        clock: Clock,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency!r}")
        self.max_concurrency = max_concurrency
        self._slots = Slots(max_concurrency)
        self.budget: RateBudget
        if isinstance(rate_limit, RateBudget):
            self.budget = rate_limit
        elif rate_limit is not None and rate_limit.adaptive:
            self.budget = AdaptiveBudget(rate_limit, max_wait=max_wait, clock=clock)
        else:
            self.budget = LocalBudget(rate_limit, max_wait=max_wait, clock=clock)
        self._try_budget = self.budget.try_acquire if isinstance(self.budget, LocalBudget) else None

    @property
    def rate_limit(self) -> RateLimit | None:
        """The :class:`RateLimit` of a local budget (``None`` for none, or a shared budget)."""
        return self.budget.rate_limit if isinstance(self.budget, LocalBudget) else None

    def try_acquire(self, method: str = "") -> bool:
        """Take a concurrency slot and a local budget's token if both are at hand.

        ``False`` (having taken nothing) when the request would have to wait:
        :meth:`acquire` then does the waiting. The common case of every
        request, with no coroutine and no allocation.
        """
        if self._try_budget is None or not self._slots.try_take():
            return False
        taken = False
        try:
            taken = self._try_budget(method)
        finally:
            if not taken:  # no token now, or a spent daily quota
                self._slots.give()
        return taken

    async def acquire(self, method: str = "") -> bool:
        """Wait for a concurrency slot, then for the budget; return whether it had to wait."""
        await self._slots.take()
        try:
            # A local budget with a token at hand answers without a coroutine.
            if self._try_budget is not None and self._try_budget(method):
                return False
            return await self.budget.acquire(method)
        except BaseException:
            self._slots.give()
            raise

    def release(self) -> None:
        """Give the concurrency slot back."""
        self._slots.give()

    async def record(
        self, *, status: int, cool_down: float | None, state: RateLimitState | None
    ) -> None:
        """Pass a response's rate-limit facts to the budget."""
        await self.budget.record(status=status, cool_down=cool_down, state=state)
