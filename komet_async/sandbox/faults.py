"""Fault plans: which requests the sandbox breaks, and how (pure decision logic).

A :class:`FaultPlan` decides from the seed, the request's sequence number
(0 for the first request a sandbox receives) and the method name alone, so a
run is reproducible whatever the timing: :meth:`FaultPlan.decide` draws from
``random.Random(f"{seed}:{seq}:{method}")`` (string seeds are hashed with
SHA-512, not ``hash()``, so they do not vary between processes). The daily
quota alone also reads the request's number within its quota day.

The fault kinds, as the sandbox serves them (see :mod:`komet_async.sandbox.app`):

``http_500`` ``http_502`` ``http_503`` ``http_504``
    That HTTP status with a plain-text or proxy-style HTML body. Retried by the client.
``429_seconds``
    429 with ``Retry-After: 1`` (the plan's ``retry_after``, 1 by default).
``429_date``
    429 with ``Retry-After`` as an HTTP date 1-2 seconds ahead (``2 * retry_after``
    seconds ahead, truncated to the whole second as HTTP dates are).
``429_none``
    429 with no ``Retry-After`` and the plain-text body ``Limit exceeded``
    (the client falls back to its own backoff).
``reset``
    The connection is reset before any byte of the response is sent.
``cutoff``
    Headers announce a ``Content-Length`` larger than the body; part of the
    body is sent and the connection closed (the client sees a payload error).
``slow``
    The answer is delayed by ``slow_delay`` seconds, then served normally
    (a client with a shorter timeout gives up; the request itself is carried
    out, as a real slow server would).
``html``
    Status 200 with an HTML error page (``text/html``): the client raises
    ``ResponseFormatError`` and, by design, does not retry. Off by default.

Besides the random faults, ``daily_quota`` answers every request after the
first ``daily_quota`` of a day with :data:`QUOTA`: 429 and a ``Retry-After``
reaching the next midnight, so a client gives up at once instead of waiting.
Quota days run from midnight to midnight in :data:`QUOTA_TIMEZONE` (UTC);
:func:`quota_day` gives a day's bounds, for the count and the ``Retry-After`` alike.
"""

from __future__ import annotations

import datetime as dt
import random
import types
from collections.abc import Mapping
from typing import Any, Final

import attrs

__all__ = [
    "CUTOFF",
    "DEFAULT_WEIGHTS",
    "FAULT_KINDS",
    "HTML",
    "HTTP_500",
    "HTTP_502",
    "HTTP_503",
    "HTTP_504",
    "QUOTA",
    "QUOTA_TIMEZONE",
    "RATE_LIMITED_DATE",
    "RATE_LIMITED_NONE",
    "RATE_LIMITED_SECONDS",
    "RESET",
    "SLOW",
    "FaultPlan",
    "quota_day",
]

HTTP_500: Final = "http_500"
HTTP_502: Final = "http_502"
HTTP_503: Final = "http_503"
HTTP_504: Final = "http_504"
RATE_LIMITED_SECONDS: Final = "429_seconds"
RATE_LIMITED_DATE: Final = "429_date"
RATE_LIMITED_NONE: Final = "429_none"
RESET: Final = "reset"
CUTOFF: Final = "cutoff"
SLOW: Final = "slow"
HTML: Final = "html"

#: Every fault kind a plan may inject at random, in the order weights are laid out.
FAULT_KINDS: Final = (
    HTTP_500,
    HTTP_502,
    HTTP_503,
    HTTP_504,
    RATE_LIMITED_SECONDS,
    RATE_LIMITED_DATE,
    RATE_LIMITED_NONE,
    RESET,
    CUTOFF,
    SLOW,
    HTML,
)

#: What a request past ``daily_quota`` gets (counted under this name in the stats).
QUOTA: Final = "quota"
#: Where quota days start and end: the quota resets, and its 429 says to come
#: back, at midnight here.
QUOTA_TIMEZONE: Final[dt.tzinfo] = dt.timezone.utc

#: Every kind equally likely, except ``html``: the client does not retry a body
#: it cannot read, so a mixed plan that included it would turn a fault the
#: client rides out into a failed call.
DEFAULT_WEIGHTS: Final[Mapping[str, float]] = types.MappingProxyType(
    {kind: 0.0 if kind == HTML else 1.0 for kind in FAULT_KINDS}
)


def quota_day(now: float) -> tuple[float, float]:
    """The Unix times of the midnights that start and end the quota day holding ``now``.

    Midnights of :data:`QUOTA_TIMEZONE`; ``now`` itself is a Unix time.
    """
    day = dt.datetime.fromtimestamp(now, QUOTA_TIMEZONE).date()
    start = dt.datetime.combine(day, dt.time(), QUOTA_TIMEZONE)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), QUOTA_TIMEZONE)
    return start.timestamp(), end.timestamp()


class RequestCounter:
    """Numbers a sandbox's requests: in all (``seq``) and within their quota day (``day_seq``).

    Both sandboxes' states inherit it, so a ``FaultPlan``'s seeded draws
    follow the request number and its daily quota starts again at each midnight.
    """

    __slots__ = ("_day", "_day_seq", "_seq")

    def __init__(self) -> None:
        self._seq = 0
        # The quota day being counted ([start, end) in Unix time; none yet).
        self._day: tuple[float, float] = (0.0, 0.0)
        self._day_seq = 0

    def next_seq(self) -> int:
        """Number the next request (0-based)."""
        seq, self._seq = self._seq, self._seq + 1
        return seq

    def next_day_seq(self, now: float) -> int:
        """Number the next request within the quota day holding Unix time ``now`` (0-based).

        The count starts again at 0 on the first request of a new day (also
        when the clock is set back into an earlier day).
        """
        start, end = self._day
        if not start <= now < end:
            self._day = quota_day(now)
            self._day_seq = 0
        seq, self._day_seq = self._day_seq, self._day_seq + 1
        return seq


def _probability(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a probability between 0 and 1, got {value!r}")
    return float(value)


def _check_rate(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    _probability(value, attribute.name)


def _weights(value: Mapping[str, float] | None) -> Mapping[str, float]:
    if value is None:
        return DEFAULT_WEIGHTS
    unknown = sorted(set(value) - set(FAULT_KINDS))
    if unknown:
        raise ValueError(f"weights: unknown fault kinds {unknown}; known: {list(FAULT_KINDS)}")
    weights = {kind: float(value.get(kind, 0.0)) for kind in FAULT_KINDS}
    if any(w < 0 or w != w for w in weights.values()):
        raise ValueError(f"weights must be >= 0, got {dict(value)!r}")
    if not any(weights.values()):
        raise ValueError("weights: at least one fault kind needs a positive weight")
    return types.MappingProxyType(weights)


def _per_method(value: Mapping[str, float] | None) -> Mapping[str, float]:
    rates = {
        str(method): _probability(rate, f"per_method[{method!r}]")
        for method, rate in (value or {}).items()
    }
    return types.MappingProxyType(rates)


def _non_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _check_quota(_: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"daily_quota must be a non-negative integer or None, got {value!r}")


@attrs.frozen
class FaultPlan:
    """Which requests a sandbox breaks, seeded and reproducible.

    - ``rate``: the probability that a request gets a fault, split over the
      kinds by ``weights`` (kind -> relative weight; default
      :data:`DEFAULT_WEIGHTS`: every kind but ``html`` equally). Kinds left
      out of a ``weights`` mapping are never picked.
    - ``seed``: with the request's sequence number and method, decides everything.
    - ``per_method``: method name -> rate, overriding ``rate`` for that method.
    - ``first_n``: the first ``first_n`` requests all get ``first_n_kind``,
      then ``rate`` applies.
    - ``slow_delay``: seconds a ``slow`` fault holds the answer back.
    - ``daily_quota``: requests allowed per quota day (midnight to midnight,
      UTC); every later request that day gets :data:`QUOTA` (429 until the
      next midnight), and the count starts afresh the next day. ``None``
      means no quota.
    - ``retry_after``: seconds the ``429_seconds`` fault asks for (sent as
      ``Retry-After: 1`` for the default 1.0, as a decimal such as ``0.05``
      otherwise); ``429_date`` sends an HTTP date ``2 * retry_after`` seconds
      ahead. Smaller values make a soak through many 429s fast.
    """

    rate: float = attrs.field(default=0.0, validator=_check_rate)
    seed: int = 0
    weights: Mapping[str, float] = attrs.field(
        default=None, converter=_weights, eq=True, hash=False
    )
    per_method: Mapping[str, float] = attrs.field(
        default=None, converter=_per_method, eq=True, hash=False
    )
    first_n: int = attrs.field(default=0, validator=_non_negative)
    first_n_kind: str = attrs.field(default=HTTP_503, validator=attrs.validators.in_(FAULT_KINDS))
    slow_delay: float = attrs.field(default=2.0, validator=_non_negative)
    daily_quota: int | None = attrs.field(default=None, validator=_check_quota)
    retry_after: float = attrs.field(default=1.0, validator=_non_negative)

    def rate_for(self, method: str) -> float:
        """The fault probability for ``method`` (its ``per_method`` override, else ``rate``)."""
        return self.per_method.get(method, self.rate)

    def decide(self, seq: int, method: str, *, day_seq: int | None = None) -> str | None:
        """The fault for request number ``seq`` (0-based) of ``method``, or ``None``.

        ``day_seq`` is the request's number among those of its quota day
        (0-based); only the daily quota reads it. ``None`` takes ``seq``, as if
        every request so far fell on one day.

        A pure function of the plan and its arguments: the same inputs always
        give the same answer. The quota comes first, then ``first_n``, then
        the seeded draw. ``first_n`` and the draw follow ``seq`` alone, so a
        new quota day changes nothing but the quota.
        """
        if seq < 0:
            raise ValueError(f"seq must be >= 0, got {seq}")
        if day_seq is None:
            day_seq = seq
        elif day_seq < 0:
            raise ValueError(f"day_seq must be >= 0, got {day_seq}")
        if self.daily_quota is not None and day_seq >= self.daily_quota:
            return QUOTA
        if seq < self.first_n:
            return self.first_n_kind
        rate = self.rate_for(method)
        if rate <= 0:
            return None
        rng = random.Random(f"{self.seed}:{seq}:{method}")  # noqa: S311 - test faults, no secret
        if rng.random() >= rate:
            return None
        point = rng.random() * sum(self.weights.values())
        chosen = None
        for kind in FAULT_KINDS:
            weight = self.weights[kind]
            if weight > 0:
                chosen = kind
                point -= weight
                if point < 0:
                    break
        return chosen
