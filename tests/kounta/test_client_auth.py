"""KountaClient auth and limits against the sandbox: OAuth2 refresh, Basic, rate limits, secrets."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from komet_async import (
    AuthenticationError,
    KometError,
    NotFoundError,
    RateLimit,
    RetryPolicy,
    TransportError,
)
from komet_async.kounta import (
    BasicAuth,
    KountaClient,
    NewCustomer,
    OAuth2,
    TokenPair,
    default_rate_limit,
)
from komet_async.sandbox import FaultPlan
from komet_async.sandbox.kounta import KountaSandbox

FAST = RetryPolicy(attempts=4, wait_initial=0.0, wait_max=0.0)
JAMIE = 389427


def oauth(box: KountaSandbox, **kwargs: Any) -> OAuth2:
    return OAuth2(box.access_token, box.refresh_token, box.client_id, box.client_secret, **kwargs)


@asynccontextmanager
async def client(
    box: KountaSandbox, auth: OAuth2 | BasicAuth | None = None, **kwargs: Any
) -> AsyncIterator[KountaClient]:
    options: dict[str, Any] = {"retry": FAST, "rate_limit": None, **kwargs}
    async with KountaClient(
        box.company_id, auth=auth or oauth(box), base_url=box.base_url, **options
    ) as kounta:
        yield kounta


@pytest.fixture
async def box() -> AsyncIterator[KountaSandbox]:
    async with KountaSandbox(seed=7, customers=40) as sandbox:
        yield sandbox


# --- OAuth2 -------------------------------------------------------------------------------


async def test_twenty_concurrent_calls_after_expiry_share_one_refresh(box: KountaSandbox) -> None:
    """20 concurrent gets with an expired token all succeed after a single refresh."""
    auth = oauth(box)
    async with client(box, auth) as kounta:
        box.expire_tokens()
        found = await asyncio.gather(*(kounta.customers.get(JAMIE) for _ in range(20)))
        assert found == [box.data.customer(JAMIE)] * 20
        assert box.stats.refreshes == 1
        assert box.stats.requests["token"] == 1
        assert auth.refreshes == 1


async def test_rotated_refresh_token_is_kept_and_used_next_time(box: KountaSandbox) -> None:
    """After a refresh the client holds the sandbox's new pair; a second expiry refreshes again."""
    auth = oauth(box)
    initial = box.refresh_token
    async with client(box, auth) as kounta:
        box.expire_tokens()
        await kounta.customers.get(JAMIE)
        assert auth.refresh_token == box.refresh_token != initial
        assert auth.access_token == box.access_token
        box.expire_tokens()
        assert await kounta.customers.get(JAMIE) == box.data.customer(JAMIE)
        assert box.stats.refreshes == 2
        assert auth.refresh_token == box.refresh_token


async def test_tokens_past_their_lifetime_are_refreshed() -> None:
    """A token older than the sandbox's token_lifetime gets a 401, a refresh and a replay."""
    async with KountaSandbox(seed=7, customers=5, token_lifetime=0.3) as box:
        async with client(box) as kounta:
            await kounta.customers.get(JAMIE)
            await asyncio.sleep(0.4)
            await kounta.customers.get(JAMIE)
            assert kounta.stats.failures == 0  # a 401 answered by a refresh is no failure
        assert box.stats.refreshes == 1
        assert box.stats.requests == {"customers.get": 3, "token": 1}


async def test_a_401_after_a_successful_refresh_is_final() -> None:
    """If the fresh token is refused too, the call raises AuthenticationError after one refresh."""
    async with KountaSandbox(seed=7, customers=5, token_lifetime=1e-6) as box:
        async with client(box) as kounta:
            with pytest.raises(AuthenticationError) as info:
                await kounta.customers.get(JAMIE)
            assert info.value.status == 401
            assert kounta.stats.failures == 1
        assert box.stats.requests == {"customers.get": 2, "token": 1}


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_on_token_refresh_receives_the_new_pair(box: KountaSandbox, kind: str) -> None:
    """A sync or async on_token_refresh callback gets the rotated pair and its lifetime."""
    heard: list[TokenPair] = []

    def sync_callback(pair: TokenPair) -> None:
        heard.append(pair)

    async def async_callback(pair: TokenPair) -> None:
        await asyncio.sleep(0)
        heard.append(pair)

    callback = sync_callback if kind == "sync" else async_callback
    async with client(box, oauth(box, on_token_refresh=callback)) as kounta:
        box.expire_tokens()
        await kounta.customers.get(JAMIE)
    assert heard == [TokenPair(box.access_token, box.refresh_token, 3600.0)]


async def test_revoked_refresh_token_raises_authentication_error(box: KountaSandbox) -> None:
    """When the refresh itself is refused (invalid_grant) the call raises AuthenticationError."""
    async with client(box) as kounta:
        box.expire_tokens()
        box.revoke_refresh_tokens()
        with pytest.raises(AuthenticationError, match="refresh was refused"):
            await kounta.customers.get(JAMIE)
        assert kounta.stats.failures == 1  # the call, not also its refresh
    assert box.stats.refreshes == 0
    assert box.stats.requests == {"customers.get": 1, "token": 1}


async def test_a_refused_refresh_is_shared_by_concurrent_calls(box: KountaSandbox) -> None:
    """20 concurrent calls whose refresh is refused make one token request, not 20."""
    async with client(box) as kounta:
        box.expire_tokens()
        box.revoke_refresh_tokens()
        results = await asyncio.gather(
            *(kounta.customers.get(JAMIE) for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(r, AuthenticationError) for r in results)
        assert box.stats.requests["token"] == 1


async def test_basic_auth_works_and_a_wrong_secret_is_not_retried(box: KountaSandbox) -> None:
    """Basic with the app credentials works; a wrong secret raises AuthenticationError at once."""
    async with client(box, BasicAuth(box.client_id, box.client_secret)) as kounta:
        assert await kounta.customers.get(JAMIE) == box.data.customer(JAMIE)
    async with client(box, BasicAuth(box.client_id, "wrong-secret")) as kounta:
        with pytest.raises(AuthenticationError) as info:
            await kounta.customers.get(JAMIE)
        assert info.value.status == 401
    assert box.stats.requests == {"customers.get": 2}


# --- rate limits --------------------------------------------------------------------------


async def test_default_limits_keep_oauth_and_basic_clients_under_kountas_limit() -> None:
    """Left to its default, the client paces itself (180/min OAuth2, 60/min Basic): no 429."""
    async with KountaSandbox(seed=7, customers=5, rate_limit_per_minute=180) as box:
        auth = oauth(box)
        async with KountaClient(
            box.company_id, auth=auth, base_url=box.base_url, retry=FAST
        ) as kounta:
            assert default_rate_limit(auth) == RateLimit(per_second=3.0, burst=10)
            started = time.monotonic()
            await asyncio.gather(*(kounta.customers.get(JAMIE) for _ in range(12)))
            assert time.monotonic() - started >= 0.6  # 10 at once, then 3 per second
            assert kounta.stats.rate_limit_waits >= 2
        basic = BasicAuth(box.client_id, box.client_secret)
        async with KountaClient(
            box.company_id, auth=basic, base_url=box.base_url, retry=FAST
        ) as kounta:
            assert default_rate_limit(basic) == RateLimit(per_second=1.0, burst=5)
            started = time.monotonic()
            await asyncio.gather(*(kounta.customers.get(JAMIE) for _ in range(6)))
            assert time.monotonic() - started >= 0.9  # 5 at once, then 1 per second
        assert box.stats.rate_limited == 0


async def test_remaining_zero_makes_the_client_wait_for_the_reset() -> None:
    """After X-Ratelimit-Remaining: 0 the client waits for X-Ratelimit-Reset instead of a 429."""
    async with KountaSandbox(
        seed=7, customers=5, rate_limit_per_minute=2, rate_limit_window=0.5
    ) as box:
        async with client(box) as kounta:
            for _ in range(4):
                await kounta.customers.get(JAMIE)
            assert kounta.stats.rate_limit_waits >= 1
        assert box.stats.rate_limited == 0


async def test_plain_text_429_without_retry_after_is_retried_after_the_reset() -> None:
    """A 429 'Limit exceeded' with only X-Ratelimit-Reset is retried once the window resets."""
    async with KountaSandbox(
        seed=7, customers=5, rate_limit_per_minute=2, rate_limit_window=0.5
    ) as box:
        # Another app of the same account spends the window first.
        pair = base64.b64encode(f"{box.client_id}:{box.client_secret}".encode()).decode()
        async with aiohttp.ClientSession() as other:
            url = f"{box.base_url}/companies/{box.company_id}/customers/{JAMIE}"
            for _ in range(2):
                async with other.get(url, headers={"Authorization": f"Basic {pair}"}) as r:
                    reset = int(r.headers["X-Ratelimit-Reset"])
        async with client(box) as kounta:
            assert await kounta.customers.get(JAMIE) == box.data.customer(JAMIE)
            assert time.time() >= reset - 0.05
            assert kounta.stats.retries == 1
        assert box.stats.rate_limited == 1


# --- secrets ------------------------------------------------------------------------------


def leaks(text: str, box: KountaSandbox) -> list[str]:
    basic = base64.b64encode(f"{box.client_id}:{box.client_secret}".encode()).decode()
    # Every token the sandbox issues starts with one of these prefixes.
    markers = ("sbx-at-", "sbx-rt-", box.client_secret, basic)
    return [m for m in markers if m in text]


async def test_no_secret_reaches_logs_or_errors_on_any_error_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With DEBUG logging, no client secret or token shows up in komet_async logs or errors."""
    caplog.set_level(logging.DEBUG, logger="komet_async")
    errors: list[BaseException] = []
    plan = FaultPlan(first_n=1, first_n_kind="reset")
    async with KountaSandbox(seed=7, customers=5, after_store=plan) as box:
        async with client(box, timeout=2.0) as kounta:
            box.expire_tokens()
            await kounta.customers.get(JAMIE)  # refresh and replay
            await kounta.customers.find(email="jmcdonald@kounta.kom")  # redirect
            for call in (
                kounta.customers.get(1),  # 404
                kounta.customers.create(NewCustomer(first_name="A", phone="1")),  # lost
            ):
                try:
                    await call
                except KometError as exc:
                    errors.append(exc)
            box.expire_tokens()
            box.revoke_refresh_tokens()
            try:
                await kounta.customers.get(JAMIE)
            except KometError as exc:
                errors.append(exc)
        async with client(box, BasicAuth(box.client_id, box.client_secret + "x")) as kounta:
            try:
                await kounta.customers.get(JAMIE)
            except KometError as exc:
                errors.append(exc)
        assert [type(e) for e in errors] == [
            NotFoundError,
            TransportError,
            AuthenticationError,
            AuthenticationError,
        ]
        for error in errors:
            text = "".join(traceback.format_exception(error)) + repr(error) + repr(vars(error))
            assert leaks(text, box) == []
        for record in caplog.records:
            assert record.name.startswith("komet_async")
            text = record.getMessage() + (record.exc_text or "")
            assert leaks(text, box) == []
        assert any(r.levelno == logging.DEBUG for r in caplog.records)
