"""FaultPlan.retry_after: the wait the sandbox's 429 faults ask for, scaled down for soaks."""

from __future__ import annotations

import email.utils
import time

import pytest

from komet_async import KometClient, RateLimitedError, RetryPolicy
from komet_async.kounta import BasicAuth, KountaClient
from komet_async.sandbox import FaultPlan, KometSandbox
from komet_async.sandbox.kounta import KountaSandbox


async def first_429(plan: FaultPlan) -> RateLimitedError:
    async with (
        KometSandbox(seed=1, customers=5, products=5, standing_orders=5, faults=plan) as box,
        KometClient(box.token, base_url=box.base_url, retry=RetryPolicy.disabled()) as komet,
    ):
        with pytest.raises(RateLimitedError) as info:
            await komet.products.list()
    return info.value


async def test_retry_after_seconds_follows_the_plan() -> None:
    """429_seconds sends Retry-After as the plan's retry_after ("0.05"), and the client reads it."""
    error = await first_429(FaultPlan(first_n=1, first_n_kind="429_seconds", retry_after=0.05))
    assert error.headers["Retry-After"] == "0.05"
    assert error.retry_after == 0.05


async def test_retry_after_default_is_unchanged() -> None:
    """Without retry_after, 429_seconds still sends the whole-second "Retry-After: 1"."""
    error = await first_429(FaultPlan(first_n=1, first_n_kind="429_seconds"))
    assert error.headers["Retry-After"] == "1"
    assert FaultPlan().retry_after == 1.0


async def test_retry_after_date_is_twice_retry_after_ahead_at_most() -> None:
    """429_date sends an HTTP date at most 2 * retry_after ahead (whole seconds, so maybe now)."""
    before = time.time()
    error = await first_429(FaultPlan(first_n=1, first_n_kind="429_date", retry_after=0.25))
    after = time.time()
    when = email.utils.parsedate_to_datetime(error.headers["Retry-After"]).timestamp()
    assert before - 1.0 < when <= after + 0.5
    assert error.retry_after is not None
    assert 0.0 <= error.retry_after <= 0.5


async def test_kounta_sandbox_uses_the_same_retry_after() -> None:
    """The Kounta sandbox serves the plan's retry_after too (its faults share the injector)."""
    plan = FaultPlan(first_n=1, first_n_kind="429_seconds", retry_after=0.1)
    async with KountaSandbox(seed=1, customers=3, faults=plan) as box:
        auth = BasicAuth(box.client_id, box.client_secret)
        async with KountaClient(
            box.company_id,
            auth=auth,
            base_url=box.base_url,
            retry=RetryPolicy.disabled(),
            rate_limit=None,
        ) as kounta:
            with pytest.raises(RateLimitedError) as info:
                await kounta.customers.get(389427)
    assert info.value.headers["Retry-After"] == "0.1"


@pytest.mark.parametrize("value", [-0.5, -1])
def test_negative_retry_after_is_refused(value: float) -> None:
    """A negative retry_after is a ValueError when the plan is made."""
    with pytest.raises(ValueError, match="retry_after"):
        FaultPlan(retry_after=value)
