"""What the chaos soak found in the client, each pinned by a small deterministic test.

Each was first written as an ``xfail(strict=True)`` test against the bug it
names, and the mark removed with the fix.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from benchmarks.chaos import busiest_second
from komet_async import KometClient, RateLimit, RateLimitedError, RetryPolicy, TransportError
from komet_async.kounta import BasicAuth, KountaClient, NewCustomer
from komet_async.sandbox import FaultPlan, KometSandbox
from komet_async.sandbox.kounta import KountaSandbox

TINY: dict[str, Any] = {"seed": 1, "customers": 5, "products": 5, "standing_orders": 5}


async def test_rate_limit_holds_after_a_cool_down() -> None:
    """After a 429 cool-down the client resumes at its rate: at most per_second + burst a second."""
    # The first request gets 429 "Retry-After: 0.5" while 39 others hold token slots.
    plan = FaultPlan(first_n=1, first_n_kind="429_seconds", retry_after=0.5)
    policy = RetryPolicy(attempts=2, wait_initial=0.01, wait_max=0.01)
    async with (
        KometSandbox(faults=plan, record_arrivals=True, **TINY) as box,
        KometClient(
            box.token,
            base_url=box.base_url,
            retry=policy,
            rate_limit=RateLimit(per_second=20, burst=1),
            max_concurrency=64,
        ) as komet,
    ):
        results = await asyncio.gather(*(komet.products.list() for _ in range(40)))
    assert all(found == box.data.products for found in results)
    arrivals = box.stats.arrivals
    assert arrivals is not None
    assert len(arrivals) == 41
    assert busiest_second(arrivals) <= 20 + 1


async def test_create_sends_at_most_the_policy_attempts() -> None:
    """A create with a reference id sends at most RetryPolicy.attempts POSTs in all."""
    # Every create is refused with 429 (nothing stored); lookups are not faulted.
    plan = FaultPlan(per_method={"customers.create": 1.0}, weights={"429_none": 1.0})
    policy = RetryPolicy(attempts=4, wait_initial=0.001, wait_max=0.001)
    async with KountaSandbox(seed=1, customers=3, faults=plan) as box:
        async with KountaClient(
            box.company_id,
            auth=BasicAuth(box.client_id, box.client_secret),
            base_url=box.base_url,
            retry=policy,
            rate_limit=None,
        ) as kounta:
            new = NewCustomer(first_name="Ann", email="ann@example.com", reference_id="R-1")
            with pytest.raises(RateLimitedError, match="429"):
                await kounta.customers.create(new)
        assert len(box.data) == 3
        assert box.stats.requests["customers.create"] == policy.attempts
        assert kounta.stats.retries == policy.attempts - 1
        assert kounta.stats.failures == 1


async def test_disabled_retries_send_a_reset_request_once() -> None:
    """With RetryPolicy.disabled(), a request whose connection is reset is not sent again."""
    plan = FaultPlan(first_n=1, first_n_kind="reset")
    async with (
        KometSandbox(faults=plan, **TINY) as box,
        KometClient(box.token, base_url=box.base_url, retry=RetryPolicy.disabled()) as komet,
    ):
        with pytest.raises(TransportError) as caught:
            await komet.products.list()
        assert komet.stats.requests == 1
    assert caught.value.request_sent is True
    assert box.stats.requests == {"product.list": 1}
