"""Retries: a plain-words :class:`RetryPolicy`, run by tenacity.

This is the only module that imports tenacity. The policy says *what* to
retry and *how long* to wait in the vocabulary of hynek/stamina (attempts,
wait_initial, wait_max, jitter); :class:`Retrier` turns it into a tenacity
``AsyncRetrying`` loop.

The first attempt runs outside tenacity: a request that succeeds (the
overwhelming majority) pays nothing for the retry machinery, and tenacity is
only set up once something has failed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Final, TypeVar

import attrs
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential, wait_random_exponential

from ._clock import Clock
from .errors import HTTPStatusError, KometError, TransportError

__all__ = ["DEFAULT_RETRY_STATUSES", "RetryPolicy", "Retrier"]

T = TypeVar("T")
A = TypeVar("A")

#: HTTP statuses retried by default: timeouts, throttling and transient server failures.
DEFAULT_RETRY_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})

#: Statuses that prove the server did not act on the request, so even a
#: non-idempotent call (a create) may be sent again.
_NOT_PROCESSED_STATUSES: Final = frozenset({429})

logger = logging.getLogger("komet_async")


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


@attrs.frozen
class RetryPolicy:
    """How requests are retried.

    - ``attempts``: attempts in total, the first included (1 disables retries).
    - ``wait_initial``, ``wait_max``: exponential backoff from ``wait_initial``
      seconds, doubling per retry, capped at ``wait_max``.
    - ``jitter``: full jitter (a random wait between 0 and the backoff) so many
      clients do not retry in lockstep.
    - ``max_retry_after``: the longest ``Retry-After`` (or rate-limit reset)
      we agree to wait; a longer demand raises :class:`RateLimitedError` at once.
    - ``retry_on_statuses``: HTTP statuses that are worth another try.

    Connection errors and timeouts are retried; Komet status-0 answers, other
    4xx statuses, validation and response-format errors are not. A call that
    is not idempotent (a create) is only retried when the server cannot have
    acted on it (the connection was never made, or it answered 429).
    """

    attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    wait_initial: float = attrs.field(default=0.5, validator=_non_negative)
    wait_max: float = attrs.field(default=8.0, validator=_non_negative)
    jitter: bool = True
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    retry_on_statuses: frozenset[int] = attrs.field(
        default=DEFAULT_RETRY_STATUSES, converter=frozenset
    )

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries (one attempt)."""
        return cls(attempts=1)

    @classmethod
    def no_wait(cls, attempts: int = 4) -> RetryPolicy:
        """Retry like the default but without backoff waits (for tests).

        A server's ``Retry-After`` is still honoured: inject a fake clock to
        record it instead of sleeping.
        """
        return cls(attempts=attempts, wait_initial=0.0, wait_max=0.0, jitter=False)

    def should_retry(
        self,
        exc: BaseException,
        *,
        idempotent: bool = True,
        unsent_statuses: Collection[int] = (),
    ) -> bool:
        """Decide whether ``exc`` is worth another attempt (attempts aside).

        A server asking (``Retry-After``) for a longer wait than
        ``max_retry_after`` gets its error raised at once, whatever the status.
        ``unsent_statuses`` adds statuses that show a non-idempotent request was
        not acted on, beyond 429 (a token grant answered 503).
        """
        if isinstance(exc, HTTPStatusError):
            if exc.retry_after is not None and exc.retry_after > self.max_retry_after:
                return False
            if (
                not idempotent
                and exc.status not in _NOT_PROCESSED_STATUSES
                and exc.status not in unsent_statuses
            ):
                return False
            return exc.status in self.retry_on_statuses
        if isinstance(exc, TransportError):
            return idempotent or not exc.request_sent
        return False

    def backoff(self, retry_number: int) -> float:
        """The backoff before retry ``retry_number`` (1-based), without jitter applied."""
        if self.wait_initial <= 0 or self.wait_max <= 0:
            return 0.0
        return min(self.wait_max, self.wait_initial * 2.0 ** (retry_number - 1))


class Retrier:
    """Runs an attempt function under a :class:`RetryPolicy` (one per client)."""

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        *,
        on_retry: Callable[[], None] | None = None,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._on_retry = on_retry
        # tenacity's waits are stateless: build them once, share them per call.
        backoff = wait_random_exponential if policy.jitter else wait_exponential
        self._backoff = backoff(multiplier=policy.wait_initial, max=policy.wait_max)

    async def run(
        self,
        attempt: Callable[[A, int], Awaitable[T]],
        arg: A,
        *,
        name: str,
        idempotent: bool = True,
        unsent_statuses: Collection[int] = (),
        attempts: int | None = None,
    ) -> T:
        """Await ``attempt(arg, n)`` for n = 1, 2, ... until it succeeds or an error is final.

        ``name`` (the API method) is used for log lines; ``attempts`` caps the
        policy's attempts for this call; ``idempotent`` and ``unsent_statuses``
        go to :meth:`RetryPolicy.should_retry`. When retries run out, the last real
        error is raised, never tenacity's ``RetryError``. (``arg`` and the
        attempt number are passed, not bound in a closure: this runs on every
        request, and a closure with a counter is two more objects a call.)
        """
        try:
            return await attempt(arg, 1)
        except KometError as exc:
            first = exc
        return await self.after_failure(
            attempt,
            arg,
            first,
            name=name,
            idempotent=idempotent,
            unsent_statuses=unsent_statuses,
            attempts=attempts,
        )

    async def after_failure(
        self,
        attempt: Callable[[A, int], Awaitable[T]],
        arg: A,
        first: KometError,
        *,
        name: str,
        idempotent: bool = True,
        unsent_statuses: Collection[int] = (),
        attempts: int | None = None,
    ) -> T:
        """The rest of :meth:`run` once attempt 1 has failed with ``first``.

        Raises ``first`` when it is final; otherwise retries under tenacity.
        A caller on the hot path makes attempt 1 itself (one coroutine less
        a request) and comes here only on a failure.
        """
        limit = self.policy.attempts if attempts is None else min(attempts, self.policy.attempts)
        # Only a failure pays for the decision's partial (and for tenacity).
        worth = functools.partial(
            self.policy.should_retry, idempotent=idempotent, unsent_statuses=unsent_statuses
        )
        if limit <= 1 or not worth(first):
            raise first
        return await self._retry(functools.partial(attempt, arg), first, worth, name, limit)

    async def _retry(
        self,
        attempt: Callable[[int], Awaitable[T]],
        first: KometError,
        worth: Callable[[BaseException], bool],
        name: str,
        limit: int,
    ) -> T:

        def before_sleep(state: RetryCallState) -> None:
            if self._on_retry is not None:
                self._on_retry()
            exc = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            logger.warning(
                "%s: attempt %d of %d failed (%s: %s); retrying in %.2f s",
                name,
                state.attempt_number,
                limit,
                type(exc).__name__,
                exc,
                delay,
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(limit),
            wait=self._wait,
            retry=retry_if_exception(worth),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        result: T
        async for state in retrying:
            with state:
                if state.retry_state.attempt_number == 1:
                    # The fast path already made attempt 1: hand its outcome to
                    # tenacity so waits and attempt counts stay in one place.
                    raise first
                result = await attempt(state.retry_state.attempt_number)
        return result

    async def _sleep(self, seconds: float) -> None:
        # A zero backoff (RetryPolicy.no_wait) is not a wait: keep it out of the clock.
        if seconds > 0:
            await self._clock.sleep(seconds)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, HTTPStatusError) and exc.retry_after is not None:
            return exc.retry_after  # what the server asked for (429, 503 ...)
        return float(self._backoff(state))
