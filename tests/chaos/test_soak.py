"""The chaos soak at CI size: about 10,000 requests through 20% faults, each criterion asserted.

The soak runs once (``benchmarks.chaos.soak``, the same code as
``python -m benchmarks.chaos``); each test below asserts one of its pass
criteria. The figures are printed in pytest's terminal summary.
"""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.chaos import (
    ATTEMPTS,
    CREATES,
    ERRORS,
    HARNESS,
    KINDS,
    PULLS,
    RATE,
    RECORDS,
    TIME,
    Figures,
    SoakConfig,
    busiest_second,
    run,
    soak,
)

from .conftest import FIGURES

CI = SoakConfig(requests=10_000)


@pytest.fixture(scope="module")
def figures(request: pytest.FixtureRequest) -> Figures:
    """One CI-size soak, shared by the tests of this module."""
    found = asyncio.run(soak(CI))
    request.config.stash[FIGURES] = found.table()
    return found


def test_soak_sends_the_requests_asked_with_every_fault_kind(figures: Figures) -> None:
    """About 10,000 requests reach the two sandboxes, about 20% faulted, every kind present."""
    assert set(figures.requests) == {"komet", "kounta"}
    assert 0.85 * CI.requests <= figures.total_requests <= 1.15 * CI.requests, figures.table()
    total = figures.total_faults
    assert all(total[kind] > 0 for kind in KINDS), figures.table()
    share = sum(total.values()) / figures.total_requests
    assert 0.15 <= share <= 0.28, figures.table()
    assert sum(figures.retries.values()) > 0


def test_every_call_returns_the_sandbox_records_or_a_documented_error(figures: Figures) -> None:
    """Each logical call returned exactly the sandbox's records or raised a documented error."""
    assert figures.violations[RECORDS] == [], figures.table()
    assert figures.violations[ERRORS] == [], figures.table()
    assert figures.records_verified > CI.requests // 2
    # HTML bodies are not retried: they surface, as ResponseFormatError.
    assert figures.errors["ResponseFormatError"] > 0


def test_bulk_pulls_lose_and_double_no_record(figures: Figures) -> None:
    """Listings, date-window and paginated pulls (resumed from their cursor) are exact."""
    assert figures.violations[PULLS] == [], figures.table()
    assert figures.calls["kounta listing"] == 1


def test_no_kounta_customer_is_created_twice(figures: Figures) -> None:
    """Creates under faults and lost answers leave at most one customer per reference id."""
    assert figures.violations[CREATES] == [], figures.table()
    assert 0 < figures.customers_created <= figures.creates


def test_no_call_makes_more_attempts_than_the_policy(figures: Figures) -> None:
    """Attempts per call and URL stay within RetryPolicy.attempts; a create's POSTs in all too."""
    assert figures.violations[ATTEMPTS] == [], figures.table()
    assert max(figures.max_attempts.values()) <= CI.attempts, figures.table()
    # A create's loop is its only retry loop: at most `attempts` POSTs, lookups aside
    # (at most attempts - 1 of them, each a GET retried up to `attempts` times).
    # Some create was resent (a POST retried), so the bound is exercised, not vacuous.
    assert 1 < figures.max_create_posts <= CI.attempts, figures.table()
    assert figures.max_create_lookups <= (CI.attempts - 1) * CI.attempts, figures.table()


def test_no_client_sends_more_than_its_rate_limit_in_any_second(figures: Figures) -> None:
    """Requests on the wire per client never exceed per_second + burst in any 1-s window."""
    assert figures.violations[RATE] == [], figures.table()


def test_soak_finishes_within_its_fault_derived_bound(figures: Figures) -> None:
    """The wall time stays under the bound computed from the faults injected."""
    assert figures.violations[TIME] == [], figures.table()
    assert figures.violations[HARNESS] == [], figures.table()
    assert 0 < figures.wall_time <= figures.time_bound


def test_busiest_second_counts_a_sliding_window() -> None:
    """busiest_second counts the most timestamps in any [t, t + 1) window."""
    assert busiest_second([]) == 0
    assert busiest_second([0.0, 0.5, 0.99, 1.0, 1.2, 5.0]) == 4
    assert busiest_second([3.0, 0.0, 1.0, 2.0]) == 1


def test_script_prints_and_returns_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """python -m benchmarks.chaos prints the figures table and returns the figures."""
    found = run(["--requests", "300", "--seed", "3"])
    out = capsys.readouterr().out
    assert out.startswith("chaos soak, seed 3\n")
    assert "records verified" in out
    assert found.total_requests > 0
    assert found.table() in out
