"""FaultPlan.decide: a pure, seeded decision (no sockets)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import attrs
import pytest

from komet_async.sandbox import DEFAULT_WEIGHTS, FAULT_KINDS, QUOTA, FaultPlan
from komet_async.sandbox.faults import quota_day
from komet_async.sandbox.inject import seconds_to_midnight

METHODS = ("customer.list", "product.list", "standing.order.list", "customer.update")


def decisions(plan: FaultPlan, n: int = 10_000, method: str = "customer.list") -> list[str | None]:
    return [plan.decide(seq, method) for seq in range(n)]


def test_same_plan_same_decisions() -> None:
    """Two equal plans decide identically for every (seq, method): no hidden state."""
    a, b = FaultPlan(rate=0.3, seed=11), FaultPlan(rate=0.3, seed=11)
    for method in METHODS:
        assert decisions(a, 2_000, method) == decisions(b, 2_000, method)
    # Asking again, or in another order, changes nothing.
    assert [a.decide(seq, "product.list") for seq in reversed(range(500))] == list(
        reversed(decisions(b, 500, "product.list"))
    )


def test_decisions_are_pinned_across_processes() -> None:
    """The draw is seeded by a string (SHA-512, not hash()), so these values never change."""
    plan = FaultPlan(rate=0.5, seed=7)
    assert [plan.decide(seq, "customer.list") for seq in range(12)] == [
        None,
        "429_none",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "slow",
        "http_503",
        "reset",
    ]


def test_seed_and_method_change_decisions() -> None:
    """Another seed, or another method at the same seq, gives other decisions."""
    base = decisions(FaultPlan(rate=0.3, seed=1), 1_000)
    assert base != decisions(FaultPlan(rate=0.3, seed=2), 1_000)
    assert base != decisions(FaultPlan(rate=0.3, seed=1), 1_000, "product.list")


def test_rate_is_honoured_over_many_requests() -> None:
    """rate=0.2 faults about 20% of 10,000 requests."""
    made = decisions(FaultPlan(rate=0.2, seed=5))
    share = sum(d is not None for d in made) / len(made)
    assert 0.18 <= share <= 0.22


def test_default_weights_spread_over_every_kind_but_html() -> None:
    """By default every kind except html is drawn, roughly equally."""
    counts = Counter(d for d in decisions(FaultPlan(rate=1.0, seed=3)) if d)
    assert set(counts) == set(FAULT_KINDS) - {"html"}
    assert DEFAULT_WEIGHTS["html"] == 0
    expected = 10_000 / (len(FAULT_KINDS) - 1)
    assert all(0.8 * expected <= n <= 1.2 * expected for n in counts.values())


def test_weights_choose_the_kinds() -> None:
    """weights limit the kinds to those given, in proportion."""
    plan = FaultPlan(rate=1.0, seed=3, weights={"reset": 3, "html": 1})
    counts = Counter(decisions(plan))
    assert set(counts) == {"reset", "html"}
    assert 2.6 <= counts["reset"] / counts["html"] <= 3.4


def test_rate_zero_never_faults() -> None:
    """rate=0 (the default) never faults."""
    assert set(decisions(FaultPlan(seed=9), 2_000)) == {None}


def test_per_method_overrides_the_rate() -> None:
    """per_method sets the rate for one method and leaves the others on rate."""
    plan = FaultPlan(rate=1.0, seed=4, per_method={"customer.update": 0.0, "product.list": 0.5})
    assert set(decisions(plan, 1_000, "customer.update")) == {None}
    assert None not in decisions(plan, 1_000, "customer.list")
    share = sum(d is not None for d in decisions(plan, 4_000, "product.list")) / 4_000
    assert 0.45 <= share <= 0.55
    assert plan.rate_for("product.list") == 0.5
    assert plan.rate_for("standing.order.list") == 1.0


def test_per_method_can_fault_one_method_only() -> None:
    """rate=0 with a per_method rate of 1 faults that method alone."""
    plan = FaultPlan(per_method={"standing.order.list": 1.0})
    assert None not in decisions(plan, 500, "standing.order.list")
    assert set(decisions(plan, 500, "customer.list")) == {None}


def test_first_n_fails_the_first_requests_then_follows_the_rate() -> None:
    """The first N requests get first_n_kind whatever the method, then rate applies."""
    plan = FaultPlan(first_n=3, first_n_kind="429_none")
    assert [plan.decide(seq, METHODS[seq % 4]) for seq in range(6)] == [
        "429_none",
        "429_none",
        "429_none",
        None,
        None,
        None,
    ]
    assert FaultPlan().first_n_kind == "http_503"


def test_daily_quota_wins_over_everything() -> None:
    """Past daily_quota requests every decision is the quota, even within first_n."""
    plan = FaultPlan(first_n=10, daily_quota=5)
    made = decisions(plan, 12)
    assert made[:5] == ["http_503"] * 5
    assert made[5:] == [QUOTA] * 7
    assert FaultPlan(daily_quota=0).decide(0, "customer.list") == QUOTA


def test_daily_quota_counts_requests_of_the_day() -> None:
    """The quota compares day_seq, the request's number within its day, not seq."""
    plan = FaultPlan(daily_quota=5)
    assert plan.decide(10, "customer.list", day_seq=0) is None
    assert plan.decide(10, "customer.list", day_seq=4) is None
    assert plan.decide(10, "customer.list", day_seq=5) == QUOTA
    assert plan.decide(2, "customer.list", day_seq=5) == QUOTA


def test_day_seq_defaults_to_seq() -> None:
    """Without day_seq every request counts as one day's: the decisions are as before."""
    plan = FaultPlan(rate=0.3, seed=11, daily_quota=1_500)
    for method in METHODS:
        made = [plan.decide(seq, method, day_seq=seq) for seq in range(2_000)]
        assert made == decisions(plan, 2_000, method)
        assert made[1_500:] == [QUOTA] * 500


def test_a_new_day_changes_only_the_quota() -> None:
    """Within the quota, decisions follow seq alone: the same draws and first_n on any day."""
    plan = FaultPlan(rate=0.4, seed=3, first_n=2, daily_quota=50)
    unlimited = FaultPlan(rate=0.4, seed=3, first_n=2)
    for seq in range(300):
        assert plan.decide(seq, "product.list", day_seq=seq % 50) == unlimited.decide(
            seq, "product.list"
        )


def test_negative_day_seq_is_refused() -> None:
    """Day numbers start at 0 too."""
    with pytest.raises(ValueError, match="day_seq"):
        FaultPlan().decide(0, "customer.list", day_seq=-1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 1.5},
        {"rate": -0.1},
        {"weights": {"teapot": 1.0}},
        {"weights": {"reset": 0.0}},
        {"weights": {"reset": -1.0}},
        {"per_method": {"customer.list": 2.0}},
        {"first_n": -1},
        {"first_n_kind": "teapot"},
        {"slow_delay": -1.0},
        {"daily_quota": -1},
    ],
)
def test_invalid_plans_are_refused(kwargs: dict[str, object]) -> None:
    """Out-of-range rates, unknown kinds and negative counts raise ValueError."""
    with pytest.raises(ValueError, match=r"must|unknown|weight|daily_quota|first_n_kind"):
        FaultPlan(**kwargs)  # type: ignore[arg-type]


def test_negative_seq_is_refused() -> None:
    """Sequence numbers start at 0."""
    with pytest.raises(ValueError, match="seq"):
        FaultPlan().decide(-1, "customer.list")


def test_plan_is_frozen_and_comparable() -> None:
    """A plan is an immutable value: equal plans compare equal, fields cannot be set."""
    plan = FaultPlan(rate=0.2, seed=7, weights={"reset": 1.0})
    assert plan == FaultPlan(rate=0.2, seed=7, weights={"reset": 1.0})
    assert plan != FaultPlan(rate=0.2, seed=7)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        plan.rate = 0.5  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.weights["reset"] = 2.0  # type: ignore[index]
    assert isinstance(hash(plan), int)


def test_seconds_to_midnight() -> None:
    """The quota's Retry-After reaches the next UTC midnight, and is never 0."""
    noon = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc).timestamp()
    assert seconds_to_midnight(noon) == 12 * 3600
    just_before = dt.datetime(2025, 6, 1, 23, 59, 59, 500_000, tzinfo=dt.timezone.utc)
    assert seconds_to_midnight(just_before.timestamp()) == 1
    midnight = dt.datetime(2025, 6, 2, tzinfo=dt.timezone.utc).timestamp()
    assert seconds_to_midnight(midnight) == 86_400


def test_seconds_to_midnight_reaches_the_end_of_the_quota_day() -> None:
    """The Retry-After and the quota count agree on when the day ends (quota_day's end)."""
    for now in (1_750_000_000.0, 1_750_000_000.25, 1_750_032_000.0):
        end = quota_day(now)[1]
        assert now + seconds_to_midnight(now) >= end > now + seconds_to_midnight(now) - 1
