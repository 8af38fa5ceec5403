"""OAuth2 refreshes that fail: always AuthenticationError, the cause kept, resent only when safe."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from komet_async import (
    AuthenticationError,
    HTTPStatusError,
    NotFoundError,
    RateLimitedError,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from komet_async.kounta import KountaClient, OAuth2
from komet_async.sandbox import FaultPlan
from komet_async.sandbox.kounta import KountaSandbox
from komet_async.testing import FakeClock

BASE = "https://api.kounta.com/v1"
TOKEN_URL = f"{BASE}/token"
CUSTOMER = f"{BASE}/companies/5678/customers/1"
ACCESS, REFRESH, SECRET = "acc-SECRET-1", "ref-SECRET-1", "cs-SECRET-1"
NEW_ACCESS, NEW_REFRESH = "acc-SECRET-NEW", "ref-SECRET-NEW"
SECRETS = (ACCESS, REFRESH, SECRET, NEW_ACCESS, NEW_REFRESH)
FORM = (
    b"grant_type=refresh_token&refresh_token=ref-SECRET-1&client_id=client-1"
    b"&client_secret=cs-SECRET-1"
)
NEW_PAIR = {"access_token": NEW_ACCESS, "refresh_token": NEW_REFRESH, "expires_in": 3600}


def oauth() -> OAuth2:
    return OAuth2(ACCESS, REFRESH, "client-1", SECRET)


@pytest.fixture
async def kounta(clock: FakeClock) -> AsyncIterator[KountaClient]:
    async with KountaClient(
        5678, auth=oauth(), retry=RetryPolicy.no_wait(), rate_limit=None, clock=clock
    ) as client:
        yield client


def posts(mocked: aioresponses) -> list[Any]:
    return list(mocked.requests.get(("POST", URL(TOKEN_URL)), []))


def gets(mocked: aioresponses) -> list[Any]:
    return list(mocked.requests.get(("GET", URL(CUSTOMER)), []))


def refused_connection() -> aiohttp.ClientConnectorError:
    key: Any = SimpleNamespace(host="api.kounta.com", port=443, ssl=True)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


async def failed_get(kounta: KountaClient) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as info:
        await kounta.customers.get(1)
    return info.value


def assert_clean(exc: BaseException) -> None:
    """No secret, old or new, anywhere in the error, its chain, its fields or its traceback."""
    texts = ["".join(traceback.format_exception(exc))]
    link: BaseException | None = exc
    while link is not None:
        texts += [str(link), repr(link), repr(vars(link))]
        link = link.__cause__ or link.__context__
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# --- retried: the server provably did not act on the grant ---------------------------


@pytest.mark.parametrize(
    "first",
    [
        {"status": 503, "body": "down for maintenance"},
        {"status": 429, "body": "Limit exceeded"},
        {"exception": refused_connection()},
    ],
    ids=["503", "429", "connection-refused"],
)
async def test_transient_refresh_failure_is_resent_and_the_call_succeeds(
    mocked: aioresponses, kounta: KountaClient, first: dict[str, Any]
) -> None:
    """A 503, a 429 or a refused connection is resent (same form), then the call is replayed."""
    mocked.get(CUSTOMER, status=401)
    mocked.post(TOKEN_URL, **first)
    mocked.post(TOKEN_URL, payload=NEW_PAIR)
    mocked.get(CUSTOMER, payload={"id": 1})
    assert (await kounta.customers.get(1)).id == 1
    assert [c.kwargs["data"] for c in posts(mocked)] == [FORM, FORM]
    assert [c.kwargs["headers"]["Authorization"] for c in gets(mocked)] == [
        f"Bearer {ACCESS}",
        f"Bearer {NEW_ACCESS}",
    ]
    assert (kounta.stats.retries, kounta.stats.failures) == (1, 0)
    assert kounta.auth.refresh_token == NEW_REFRESH  # type: ignore[union-attr]


async def test_a_429_retry_after_is_waited_before_resending(
    mocked: aioresponses, kounta: KountaClient, clock: FakeClock
) -> None:
    """A 429 with Retry-After: 3 on /token is sat out (3 s on the clock) before the resend."""
    mocked.get(CUSTOMER, status=401)
    mocked.post(TOKEN_URL, status=429, headers={"Retry-After": "3"})
    mocked.post(TOKEN_URL, payload=NEW_PAIR)
    mocked.get(CUSTOMER, payload={"id": 1})
    await kounta.customers.get(1)
    assert clock.sleeps == [3.0]
    assert len(posts(mocked)) == 2


@pytest.mark.parametrize(
    ("answer", "cause", "message"),
    [
        ({"status": 503}, ServerError, "token: the token refresh failed: HTTP 503"),
        (
            {"status": 429, "body": "Limit exceeded"},
            RateLimitedError,
            "token: the token refresh failed: HTTP 429 (rate limited)",
        ),
        (
            {"exception": refused_connection()},
            TransportError,
            "token: the token refresh failed: ClientConnectorError: "
            "Cannot connect to host api.kounta.com:443 ssl:default [Connection refused]",
        ),
    ],
    ids=["503", "429", "connection-refused"],
)
async def test_refresh_failing_every_attempt_is_an_authentication_error(
    mocked: aioresponses,
    kounta: KountaClient,
    answer: dict[str, Any],
    cause: type[Exception],
    message: str,
) -> None:
    """After the policy's 4 attempts the call raises AuthenticationError(401), the cause kept."""
    mocked.get(CUSTOMER, status=401)
    mocked.post(TOKEN_URL, repeat=True, **answer)
    exc = await failed_get(kounta)
    assert (exc.message, exc.status, exc.method, exc.url) == (message, 401, "token", TOKEN_URL)
    assert type(exc.__cause__) is cause
    assert len(posts(mocked)) == 4
    assert len(gets(mocked)) == 1  # not replayed with the dead token
    assert (kounta.stats.retries, kounta.stats.failures) == (3, 1)
    assert (kounta.auth.access_token, kounta.auth.refresh_token) == (ACCESS, REFRESH)  # type: ignore[union-attr]
    assert_clean(exc)


async def test_connection_refused_cause_says_nothing_was_sent(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """The cause of a refused connection is a TransportError with request_sent=False."""
    mocked.get(CUSTOMER, status=401)
    mocked.post(TOKEN_URL, exception=refused_connection(), repeat=True)
    exc = await failed_get(kounta)
    assert isinstance(exc.__cause__, TransportError)
    assert exc.__cause__.request_sent is False


async def test_a_429_asking_more_than_max_retry_after_is_not_resent(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """Retry-After: 120 (over the policy's 60 s) fails at once, the wait in the message."""
    mocked.get(CUSTOMER, status=401)
    mocked.post(TOKEN_URL, status=429, headers={"Retry-After": "120"}, repeat=True)
    exc = await failed_get(kounta)
    assert exc.message == (
        "token: the token refresh failed: HTTP 429 (rate limited, retry after 120 s)"
    )
    assert isinstance(exc.__cause__, RateLimitedError)
    assert exc.__cause__.retry_after == 120.0
    assert exc.retry_after == 120.0  # the AuthenticationError says when to come back too
    assert len(posts(mocked)) == 1


# --- not resent: the server may have rotated the refresh token ---------------------------


@pytest.mark.parametrize(
    ("answer", "cause", "message"),
    [
        ({"status": 500}, ServerError, "token: the token refresh failed: HTTP 500"),
        ({"status": 502}, ServerError, "token: the token refresh failed: HTTP 502"),
        ({"status": 504}, ServerError, "token: the token refresh failed: HTTP 504"),
        (
            {"exception": asyncio.TimeoutError()},
            TransportError,
            "token: the token refresh failed: timed out after 30 s",
        ),
        (
            {"exception": aiohttp.ServerDisconnectedError()},
            TransportError,
            "token: the token refresh failed: ServerDisconnectedError: Server disconnected",
        ),
        (
            {"status": 200, "body": "<html>gateway</html>", "content_type": "text/html"},
            ResponseFormatError,
            "token: the token refresh failed: the answer is not JSON (20 bytes, text/html)",
        ),
        (
            {"status": 200, "payload": [NEW_PAIR]},
            ResponseFormatError,
            "token: the token refresh failed: the answer is not a JSON object but list",
        ),
        (
            {"status": 200, "payload": {"refresh_token": NEW_REFRESH, "token_type": "bearer"}},
            ResponseFormatError,
            "token: the token refresh failed: the answer has no access_token",
        ),
        (
            {"status": 200, "payload": {"access_token": "", "refresh_token": NEW_REFRESH}},
            ResponseFormatError,
            "token: the token refresh failed: the answer has no access_token",
        ),
        ({"status": 404}, NotFoundError, "token: the token refresh failed: HTTP 404"),
        (
            {"status": 302, "headers": {"Location": "https://login.example/"}},
            HTTPStatusError,
            "token: the token refresh failed: HTTP 302",
        ),
    ],
    ids=[
        "500",
        "502",
        "504",
        "timeout",
        "disconnected",
        "not-json",
        "json-list",
        "no-access-token",
        "empty-access-token",
        "404",
        "redirect",
    ],
)
async def test_refresh_that_may_have_reached_the_server_is_not_resent(
    mocked: aioresponses,
    kounta: KountaClient,
    answer: dict[str, Any],
    cause: type[Exception],
    message: str,
) -> None:
    """A 5xx but 503, a lost answer or an unreadable 200: one POST, AuthenticationError(401)."""
    mocked.get(CUSTOMER, status=401)
    mocked.post(TOKEN_URL, repeat=True, **answer)
    exc = await failed_get(kounta)
    assert (exc.message, exc.status, exc.method) == (message, 401, "token")
    assert type(exc.__cause__) is cause
    assert [c.kwargs["data"] for c in posts(mocked)] == [FORM]
    assert len(gets(mocked)) == 1
    assert (kounta.stats.retries, kounta.stats.failures) == (0, 1)
    assert (kounta.auth.access_token, kounta.auth.refresh_token) == (ACCESS, REFRESH)  # type: ignore[union-attr]
    assert_clean(exc)


async def test_missing_access_token_names_the_field_on_the_cause(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """An answer without access_token has a ResponseFormatError cause with path access_token."""
    mocked.get(CUSTOMER, status=401)
    mocked.post(TOKEN_URL, payload={"token_type": "bearer"})
    exc = await failed_get(kounta)
    assert isinstance(exc.__cause__, ResponseFormatError)
    assert (exc.__cause__.path, exc.__cause__.method) == ("access_token", "token")


@pytest.mark.parametrize(
    ("status", "error", "cause"),
    [
        (400, "invalid_grant", HTTPStatusError),
        (401, "invalid_client", AuthenticationError),
        (403, "access_denied", AuthenticationError),
    ],
)
async def test_refused_refresh_keeps_the_token_endpoints_answer(
    mocked: aioresponses,
    kounta: KountaClient,
    status: int,
    error: str,
    cause: type[Exception],
) -> None:
    """A 400/401/403 from /token: 'refused', status 401, the answer as cause, not resent later."""
    mocked.get(CUSTOMER, status=401, repeat=True)
    mocked.post(TOKEN_URL, status=status, payload={"error": error})
    exc = await failed_get(kounta)
    assert (exc.message, exc.status, exc.body_excerpt) == (
        f"token: the token refresh was refused (HTTP {status})",
        401,
        f'{{"error": "{error}"}}',
    )
    assert type(exc.__cause__) is cause
    assert exc.__cause__.status == status  # type: ignore[attr-defined]
    # The refresh token is dead: a later call fails the same way without resending it.
    again = await failed_get(kounta)
    assert (again.message, again.status) == (exc.message, 401)
    assert again is not exc
    assert again.__cause__ is exc.__cause__
    assert len(posts(mocked)) == 1
    assert len(gets(mocked)) == 2


async def test_a_transient_failure_is_not_remembered(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """After a refresh failed with 503s, the next call refreshes again and succeeds."""
    mocked.get(CUSTOMER, status=401)
    for _ in range(4):
        mocked.post(TOKEN_URL, status=503)
    mocked.get(CUSTOMER, status=401)
    mocked.post(TOKEN_URL, payload=NEW_PAIR)
    mocked.get(CUSTOMER, payload={"id": 1})
    await failed_get(kounta)
    assert (await kounta.customers.get(1)).id == 1
    assert len(posts(mocked)) == 5


ECHOED = f"upstream failed for refresh_token={REFRESH} client_secret={SECRET}"
SCRUBBED = "upstream failed for refresh_token=*** client_secret=***"


@pytest.mark.parametrize(
    ("answer", "cause", "excerpt"),
    [
        ({"status": 503, "body": ECHOED}, ServerError, SCRUBBED),
        ({"status": 500, "body": ECHOED}, ServerError, SCRUBBED),
        ({"status": 400, "body": ECHOED}, HTTPStatusError, SCRUBBED),
        (
            {
                "status": 200,
                "body": f"access_token={NEW_ACCESS}&refresh_token={NEW_REFRESH}",
                "content_type": "application/x-www-form-urlencoded",
            },
            ResponseFormatError,
            "",
        ),
        (
            {"status": 200, "payload": {"refresh_token": NEW_REFRESH, "note": ACCESS}},
            ResponseFormatError,
            "",
        ),
    ],
    ids=["503-echo", "500-echo", "400-echo", "form-encoded-pair", "json-without-access"],
)
async def test_secrets_in_failed_answers_never_reach_the_error(
    mocked: aioresponses,
    kounta: KountaClient,
    answer: dict[str, Any],
    cause: type[Exception],
    excerpt: str,
) -> None:
    """Bodies echoing the old secrets or carrying new tokens leave no trace in the error chain."""
    mocked.get(CUSTOMER, status=401)
    mocked.post(TOKEN_URL, repeat=True, **answer)
    exc = await failed_get(kounta)
    assert type(exc.__cause__) is cause
    assert exc.body_excerpt == excerpt
    assert_clean(exc)


# --- single flight ------------------------------------------------------------------------


async def test_concurrent_calls_share_one_failing_refresh(mocked: aioresponses) -> None:
    """Twenty calls whose 401s overlap share one refresh: 4 token POSTs (503s), 20 failures."""
    stale: list[str] = []
    all_stale = asyncio.Event()

    async def held_401(_: URL, **kwargs: Any) -> CallbackResult:
        stale.append(kwargs["headers"]["Authorization"])
        if len(stale) == 20:
            all_stale.set()
        await all_stale.wait()
        return CallbackResult(status=401)

    mocked.get(CUSTOMER, callback=held_401, repeat=True)
    mocked.post(TOKEN_URL, status=503, repeat=True)
    async with KountaClient(
        5678,
        auth=oauth(),
        retry=RetryPolicy.no_wait(),
        rate_limit=None,
        max_concurrency=20,
        clock=FakeClock(),
    ) as kounta:
        results = await asyncio.gather(
            *(kounta.customers.get(1) for _ in range(20)), return_exceptions=True
        )
        assert kounta.stats.failures == 20
    assert all(isinstance(r, AuthenticationError) for r in results)
    assert {str(r) for r in results} == {"token: the token refresh failed: HTTP 503"}
    assert len(posts(mocked)) == 4
    assert stale == [f"Bearer {ACCESS}"] * 20


async def test_a_cancelled_caller_does_not_lose_the_rotated_tokens(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """Cancelled while /token answers, the rotated pair is still kept, and hidden."""
    answering, release = asyncio.Event(), asyncio.Event()

    async def slow_token(_: URL, **kwargs: Any) -> CallbackResult:
        answering.set()
        await release.wait()
        return CallbackResult(payload=NEW_PAIR)

    mocked.get(CUSTOMER, status=401)
    mocked.post(TOKEN_URL, callback=slow_token)
    mocked.get(CUSTOMER, payload={"id": 1})
    task = asyncio.create_task(kounta.customers.get(1))
    await asyncio.wait_for(answering.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    auth = kounta.auth
    assert isinstance(auth, OAuth2)
    for _ in range(100):
        if auth.refreshes:
            break
        await asyncio.sleep(0)
    assert (auth.access_token, auth.refresh_token, auth.refreshes) == (NEW_ACCESS, NEW_REFRESH, 1)
    assert kounta._core.redactor.text(f"{NEW_ACCESS} {NEW_REFRESH}") == "*** ***"
    assert (await kounta.customers.get(1)).id == 1
    assert len(posts(mocked)) == 1


# --- against the sandbox's token endpoint -----------------------------------------------


@pytest.mark.parametrize(
    ("kind", "cause", "token_requests"),
    [
        ("http_503", ServerError, 4),
        ("429_none", RateLimitedError, 4),
        ("http_500", ServerError, 1),
        ("reset", TransportError, 1),
    ],
)
async def test_sandbox_token_endpoint_failing(
    kind: str, cause: type[Exception], token_requests: int
) -> None:
    """A token endpoint that always fails: AuthenticationError, resent only after 503/429."""
    faults = FaultPlan(per_method={"token": 1.0}, weights={kind: 1.0})
    async with KountaSandbox(seed=7, customers=5, faults=faults) as box:
        auth = OAuth2(box.access_token, box.refresh_token, box.client_id, box.client_secret)
        async with KountaClient(
            box.company_id,
            auth=auth,
            base_url=box.base_url,
            retry=RetryPolicy.no_wait(),
            rate_limit=None,
        ) as kounta:
            box.expire_tokens()
            with pytest.raises(AuthenticationError, match="token refresh failed") as info:
                await kounta.customers.get(389427)
        assert type(info.value.__cause__) is cause
        assert info.value.status == 401
        assert box.stats.requests == {"customers.get": 1, "token": token_requests}
        assert box.stats.faults == {kind: token_requests}
        assert box.stats.refreshes == 0
        text = "".join(traceback.format_exception(info.value))
        for secret in (box.client_secret, "sbx-at-", "sbx-rt-"):
            assert secret not in text
