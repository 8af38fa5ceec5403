"""Retry behaviour: the policy's decisions (pure) and the loop through a mocked server."""

from __future__ import annotations

import asyncio
import logging
import re

import aiohttp
import pytest
from aioresponses import aioresponses

from komet_async import (
    APIError,
    HTTPStatusError,
    KometClient,
    RateLimitedError,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationError,
)
from komet_async.testing import FakeClock

from .conftest import TOKEN

CUSTOMERS = re.compile(r"^https://api\.kometsales\.com/api/customer\.list\?.*$")
UPDATE = "https://api.kometsales.com/api/customer.update"
OK = {"status": "1", "message": "OK", "customers": [{"id": "1", "name": "Flores SAS"}]}


def sent(mocked: aioresponses) -> int:
    return sum(len(calls) for calls in mocked.requests.values())


# --- the policy, pure --------------------------------------------------------


def test_default_policy_values() -> None:
    """The defaults are 4 attempts, 0.5-8 s full-jitter backoff, 60 s max Retry-After."""
    policy = RetryPolicy()
    assert (policy.attempts, policy.wait_initial, policy.wait_max) == (4, 0.5, 8.0)
    assert policy.jitter is True
    assert policy.max_retry_after == 60.0
    assert policy.retry_on_statuses == frozenset({408, 429, 500, 502, 503, 504})


def test_disabled_policy_makes_one_attempt() -> None:
    """RetryPolicy.disabled() allows exactly one attempt."""
    assert RetryPolicy.disabled().attempts == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": 0}, "attempts"),
        ({"wait_initial": -1}, "wait_initial"),
        ({"max_retry_after": -0.1}, "max_retry_after"),
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, float], message: str) -> None:
    """A policy with a negative wait or no attempts is refused at construction."""
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_backoff_doubles_and_caps() -> None:
    """Backoff starts at wait_initial, doubles per retry and stops at wait_max."""
    policy = RetryPolicy(wait_initial=0.5, wait_max=3.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def _status(cls: type[HTTPStatusError], status: int) -> HTTPStatusError:
    return cls("x", status=status)


@pytest.mark.parametrize(
    ("exc", "idempotent", "expected"),
    [
        (TransportError("reset", request_sent=True), True, True),
        (TransportError("reset", request_sent=True), False, False),
        (TransportError("refused", request_sent=False), False, True),
        (_status(ServerError, 503), True, True),
        (_status(ServerError, 503), False, False),
        (_status(ServerError, 501), True, False),
        (_status(HTTPStatusError, 408), True, True),
        (_status(HTTPStatusError, 400), True, False),
        (RateLimitedError("x", retry_after=2), False, True),
        (RateLimitedError("x", retry_after=600), True, False),
        (RateLimitedError("x", retry_after=None), True, True),
        (ServerError("x", status=503, retry_after=30), True, True),
        (ServerError("x", status=503, retry_after=600), True, False),
        (APIError("Invalid data"), True, False),
        (ResponseFormatError("bad"), True, False),
        (ValidationError(["x: bad"]), True, False),
    ],
)
def test_should_retry_decisions(exc: Exception, idempotent: bool, expected: bool) -> None:
    """Only transient failures are retried, and non-idempotent calls only when unsent."""
    assert RetryPolicy().should_retry(exc, idempotent=idempotent) is expected


# --- the loop, through the client -------------------------------------------


async def test_503_503_200_succeeds_on_third_attempt(
    mocked: aioresponses, komet: KometClient
) -> None:
    """Two 503s then a 200 return the records after exactly three attempts."""
    mocked.get(CUSTOMERS, status=503)
    mocked.get(CUSTOMERS, status=503)
    mocked.get(CUSTOMERS, payload=OK)
    customers = await komet.customers.list()
    assert [c.name for c in customers] == ["Flores SAS"]
    assert sent(mocked) == 3
    assert (komet.stats.requests, komet.stats.retries, komet.stats.failures) == (3, 2, 0)


async def test_retry_after_seconds_is_waited(
    mocked: aioresponses, komet: KometClient, clock: FakeClock
) -> None:
    """A 429 with Retry-After: 2 waits exactly 2 s (recorded, not slept) and retries."""
    mocked.get(CUSTOMERS, status=429, headers={"Retry-After": "2"})
    mocked.get(CUSTOMERS, payload=OK)
    await komet.customers.list()
    assert clock.sleeps == [2.0]
    assert sent(mocked) == 2


async def test_retry_after_beyond_max_raises_at_once(
    mocked: aioresponses, komet: KometClient, clock: FakeClock
) -> None:
    """A 429 asking for 600 s raises RateLimitedError at once with retry_after=600."""
    mocked.get(CUSTOMERS, status=429, headers={"Retry-After": "600"})
    with pytest.raises(RateLimitedError) as info:
        await komet.customers.list()
    assert info.value.retry_after == 600.0
    assert info.value.status == 429
    assert sent(mocked) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_retry_after_of_a_server_error_is_waited(
    mocked: aioresponses, komet: KometClient, clock: FakeClock, status: int
) -> None:
    """A 5xx with Retry-After: 3 waits exactly 3 s (not the backoff) before the retry."""
    mocked.get(CUSTOMERS, status=status, headers={"Retry-After": "3"})
    mocked.get(CUSTOMERS, payload=OK)
    await komet.customers.list()
    assert clock.sleeps == [3.0]
    assert sent(mocked) == 2


async def test_retry_after_date_of_a_503_is_waited(
    mocked: aioresponses, komet: KometClient, clock: FakeClock
) -> None:
    """A 503's Retry-After given as an HTTP date waits until that date."""
    import email.utils

    when = email.utils.formatdate(clock.time() + 7, usegmt=True)
    mocked.get(CUSTOMERS, status=503, headers={"Retry-After": when})
    mocked.get(CUSTOMERS, payload=OK)
    await komet.customers.list()
    assert clock.sleeps == [pytest.approx(7.0, abs=1.0)]


async def test_503_asking_beyond_max_retry_after_raises_at_once(
    mocked: aioresponses, komet: KometClient, clock: FakeClock
) -> None:
    """A 503 asking for 600 s is a ServerError raised at once, retry_after=600, one attempt."""
    mocked.get(CUSTOMERS, status=503, headers={"Retry-After": "600"})
    with pytest.raises(ServerError) as info:
        await komet.customers.list()
    assert info.value.retry_after == 600.0
    assert info.value.status == 503
    assert "retry after 600 s" in str(info.value)
    assert sent(mocked) == 1
    assert clock.sleeps == []


async def test_server_error_ignores_x_ratelimit_reset(
    mocked: aioresponses, komet: KometClient, clock: FakeClock
) -> None:
    """A 503's X-Ratelimit-Reset is a rate limit's, not a wait: the backoff applies."""
    reset = clock.time() + 600
    mocked.get(CUSTOMERS, status=503, headers={"X-Ratelimit-Reset": str(int(reset))})
    mocked.get(CUSTOMERS, payload=OK)
    await komet.customers.list()
    assert clock.sleeps == []  # RetryPolicy.no_wait(): no backoff, and no 600 s


async def test_x_ratelimit_reset_is_honoured(
    mocked: aioresponses, komet: KometClient, clock: FakeClock
) -> None:
    """Without Retry-After, a 429's X-Ratelimit-Reset (Unix seconds) sets the wait."""
    reset = clock.time() + 5
    mocked.get(CUSTOMERS, status=429, headers={"X-Ratelimit-Reset": str(int(reset))})
    mocked.get(CUSTOMERS, payload=OK)
    await komet.customers.list()
    assert clock.sleeps == [pytest.approx(5.0, abs=1.0)]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_not_retried(
    mocked: aioresponses, komet: KometClient, status: int
) -> None:
    """4xx statuses other than 408/429 raise after a single attempt."""
    mocked.get(CUSTOMERS, status=status, body="nope")
    with pytest.raises(HTTPStatusError) as info:
        await komet.customers.list()
    assert info.value.status == status
    assert sent(mocked) == 1


async def test_status_zero_is_not_retried(mocked: aioresponses, komet: KometClient) -> None:
    """An envelope with status 0 raises APIError after a single attempt."""
    mocked.get(CUSTOMERS, payload={"status": "0", "message": "Invalid data."})
    with pytest.raises(APIError, match=r"^customer\.list: Invalid data\.$"):
        await komet.customers.list()
    assert sent(mocked) == 1


async def test_exhaustion_raises_the_last_real_error(
    mocked: aioresponses, komet: KometClient
) -> None:
    """When all four attempts fail, the last ServerError is raised (not tenacity's RetryError)."""
    for status in (500, 502, 503, 504):
        mocked.get(CUSTOMERS, status=status)
    with pytest.raises(ServerError) as info:
        await komet.customers.list()
    assert info.value.status == 504
    assert sent(mocked) == 4
    assert (komet.stats.retries, komet.stats.failures) == (3, 1)


async def test_transport_errors_are_retried(mocked: aioresponses, komet: KometClient) -> None:
    """A connection reset and a timeout are retried; the third attempt succeeds."""
    mocked.get(CUSTOMERS, exception=aiohttp.ServerDisconnectedError())
    mocked.get(CUSTOMERS, exception=asyncio.TimeoutError())
    mocked.get(CUSTOMERS, payload=OK)
    assert len(await komet.customers.list()) == 1
    assert sent(mocked) == 3


async def test_timeout_exhaustion_raises_transport_error(
    mocked: aioresponses, clock: FakeClock
) -> None:
    """Timeouts on every attempt raise TransportError saying it timed out."""
    mocked.get(CUSTOMERS, exception=asyncio.TimeoutError(), repeat=True)
    async with KometClient(TOKEN, retry=RetryPolicy.no_wait(2), timeout=1.5, clock=clock) as k:
        with pytest.raises(TransportError, match=r"^customer\.list: timed out after 1\.5 s$"):
            await k.customers.list()
    assert sent(mocked) == 2


async def test_backoff_waits_follow_the_policy(mocked: aioresponses) -> None:
    """Without jitter the waits between attempts are 0.5 s, 1 s, 2 s."""
    clock = FakeClock()
    policy = RetryPolicy(attempts=4, wait_initial=0.5, wait_max=8.0, jitter=False)
    mocked.get(CUSTOMERS, status=503, repeat=True)
    async with KometClient(TOKEN, retry=policy, clock=clock) as k:
        with pytest.raises(ServerError):
            await k.customers.list()
    assert clock.sleeps == [0.5, 1.0, 2.0]


async def test_jittered_waits_stay_within_the_backoff(mocked: aioresponses) -> None:
    """With full jitter each wait lies between 0 and the backoff of its retry."""
    clock = FakeClock()
    mocked.get(CUSTOMERS, status=503, repeat=True)
    async with KometClient(TOKEN, retry=RetryPolicy(attempts=4), clock=clock) as k:
        with pytest.raises(ServerError):
            await k.customers.list()
    assert len(clock.sleeps) <= 3
    for wait, cap in zip(clock.sleeps, [0.5, 1.0, 2.0], strict=False):
        assert 0 <= wait <= cap


async def test_disabled_policy_sends_once(mocked: aioresponses, clock: FakeClock) -> None:
    """RetryPolicy.disabled() raises the first 503 without retrying."""
    mocked.get(CUSTOMERS, status=503, repeat=True)
    async with KometClient(TOKEN, retry=RetryPolicy.disabled(), clock=clock) as k:
        with pytest.raises(ServerError):
            await k.customers.list()
    assert sent(mocked) == 1


async def test_non_idempotent_post_is_not_resent_after_a_reset(
    mocked: aioresponses, komet: KometClient
) -> None:
    """A POST through call() is not retried once it may have reached the server."""
    mocked.post(UPDATE, exception=aiohttp.ServerDisconnectedError(), repeat=True)
    with pytest.raises(TransportError):
        await komet.call("customer.update", json={"customerId": 1, "name": "x"})
    assert sent(mocked) == 1


async def test_idempotent_post_is_retried(mocked: aioresponses, komet: KometClient) -> None:
    """customer.update is idempotent: a 503 is retried and the id returned."""
    mocked.post(UPDATE, status=503)
    mocked.post(UPDATE, payload={"status": "1", "message": "OK", "customerId": 7})
    result = await komet.call(
        "customer.update", json={"customerId": 7, "name": "x"}, idempotent=True
    )
    assert result == {"status": "1", "message": "OK", "customerId": 7}
    assert sent(mocked) == 2


async def test_non_idempotent_post_is_resent_after_429(
    mocked: aioresponses, komet: KometClient
) -> None:
    """A 429 proves the server did not act, so even a non-idempotent POST is resent."""
    mocked.post(UPDATE, status=429, headers={"Retry-After": "1"})
    mocked.post(UPDATE, payload={"status": "1", "customerId": 7})
    await komet.call("customer.update", json={"customerId": 7, "name": "x"})
    assert sent(mocked) == 2


async def test_retry_logs_a_warning_per_retry(
    mocked: aioresponses, komet: KometClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Each retry logs one WARNING on the komet_async logger naming method and attempt."""
    mocked.get(CUSTOMERS, status=503)
    mocked.get(CUSTOMERS, payload=OK)
    with caplog.at_level(logging.DEBUG, logger="komet_async"):
        await komet.customers.list()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "customer.list: attempt 1 of 4 failed (ServerError: HTTP 503 from customer.list); "
        "retrying in 0.00 s"
    ]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) == 2
    assert debug[0].startswith("GET customer.list -> 503 in ")
    assert debug[1].endswith("attempt 2)")
