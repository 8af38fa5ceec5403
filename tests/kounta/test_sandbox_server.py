"""The Kounta sandbox over real sockets, with plain aiohttp: routes, auth, limits, faults."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import aiohttp
import pytest

from komet_async.sandbox import FAULT_KINDS, FaultPlan
from komet_async.sandbox.kounta import KountaSandbox


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


class Raw:
    """Plain aiohttp requests to a sandbox, redirects not followed."""

    def __init__(self, box: KountaSandbox, session: aiohttp.ClientSession) -> None:
        self.box, self.session = box, session

    def bearer(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.box.access_token}"}

    def basic(self, secret: str | None = None) -> dict[str, str]:
        pair = f"{self.box.client_id}:{secret or self.box.client_secret}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    async def __call__(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        company: bool = True,
        **kwargs: Any,
    ) -> Answer:
        prefix = f"/companies/{self.box.company_id}" if company else ""
        url = path if path.startswith("http") else f"{self.box.base_url}{prefix}{path}"
        async with self.session.request(
            method,
            url,
            headers=self.bearer() if headers is None else headers,
            allow_redirects=False,
            **kwargs,
        ) as resp:
            return Answer(resp.status, resp.headers, await resp.read())

    def refresh(self, refresh_token: str, secret: str | None = None) -> Any:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.box.client_id,
            "client_secret": secret or self.box.client_secret,
        }
        return self("POST", "/token", company=False, headers={}, data=form)


@asynccontextmanager
async def raw_for(**kwargs: Any) -> AsyncIterator[Raw]:
    async with (
        KountaSandbox(**{"seed": 7, "customers": 60, **kwargs}) as box,
        aiohttp.ClientSession() as session,
    ):
        yield Raw(box, session)


@pytest.fixture
async def raw() -> AsyncIterator[Raw]:
    async with raw_for() as r:
        yield r


# --- lifecycle -------------------------------------------------------------------------


async def test_lifecycle_is_idempotent_and_restartable() -> None:
    """start/stop are idempotent; a stopped sandbox refuses .port and can start again."""
    box = KountaSandbox(seed=1, customers=3)
    assert "not running" in repr(box)
    assert not box.running
    with pytest.raises(RuntimeError):
        _ = box.port
    await box.start()
    await box.start()
    assert box.base_url == f"http://127.0.0.1:{box.port}/v1"
    await box.stop()
    await box.stop()
    async with box:
        # Entering started it; mypy would keep `running` narrowed to False from the first check.
        assert cast(bool, box.running)
        assert box.app is box.app


async def test_data_can_be_inspected_before_start() -> None:
    """The data exists as soon as the sandbox is created."""
    assert len(KountaSandbox(seed=1, customers=10).data.customers) == 10


def test_bad_options_are_refused() -> None:
    """Unknown next-page styles, bad page sizes, limits and lifetimes are ValueErrors."""
    for kwargs in (
        {"next_page": "sideways"},
        {"page_size": 0},
        {"rate_limit_per_minute": 0},
        {"token_lifetime": 0},
        {"company_id": 0},
        {"latency": -1},
    ):
        with pytest.raises(ValueError, match="must"):
            KountaSandbox(customers=1, **kwargs)


# --- credentials --------------------------------------------------------------------------


async def test_missing_or_wrong_credentials_get_401_invalid_token(raw: Raw) -> None:
    """No header, an unknown bearer token or a wrong Basic secret: 401 invalid_token JSON."""
    for headers in (
        {},
        raw.bearer("nope"),
        raw.basic("wrong-secret"),
        {"Authorization": "Basic ???"},
    ):
        answer = await raw("GET", "/customers/389427", headers=headers)
        assert answer.status == 401
        assert answer.json()["error"] == "invalid_token"
        assert "invalid_token" in answer.headers["WWW-Authenticate"]


async def test_basic_and_bearer_both_grant_access(raw: Raw) -> None:
    """HTTP Basic with the app credentials and the initial bearer token both work."""
    for headers in (raw.basic(), raw.bearer()):
        assert (await raw("GET", "/customers/389427", headers=headers)).status == 200


async def test_expire_tokens_expires_every_issued_access_token(raw: Raw) -> None:
    """After expire_tokens() the access token is refused; Basic still works."""
    raw.box.expire_tokens()
    assert (await raw("GET", "/customers/389427")).status == 401
    assert (await raw("GET", "/customers/389427", headers=raw.basic())).status == 200


async def test_access_tokens_expire_after_their_lifetime() -> None:
    """A token older than token_lifetime is refused; a refreshed one works."""
    async with raw_for(token_lifetime=0.2) as raw:
        assert (await raw("GET", "/customers/389427")).status == 200
        await asyncio.sleep(0.3)
        assert (await raw("GET", "/customers/389427")).status == 401
        pair = (await raw.refresh(raw.box.refresh_token)).json()
        assert pair["expires_in"] == 0
        got = await raw("GET", "/customers/389427", headers=raw.bearer(pair["access_token"]))
        assert got.status == 200


async def test_another_company_is_forbidden(raw: Raw) -> None:
    """Valid credentials on another company's path get 403."""
    answer = await raw("GET", "/companies/1/customers/389427", company=False)
    assert answer.status == 403


# --- token refresh --------------------------------------------------------------------------


async def test_refresh_rotates_the_refresh_token(raw: Raw) -> None:
    """A refresh answers a new pair; the spent refresh token gets invalid_grant."""
    first = raw.box.refresh_token
    answer = await raw.refresh(first)
    assert answer.status == 200
    assert answer.headers["Cache-Control"] == "no-store"
    pair = answer.json()
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 3600
    assert pair["refresh_token"] != first
    assert pair["refresh_token"] == raw.box.refresh_token
    assert pair["access_token"] == raw.box.access_token
    again = await raw.refresh(first)
    assert (again.status, again.json()) == (400, {"error": "invalid_grant"})
    assert raw.box.stats.refreshes == 1
    assert raw.box.stats.requests == {"token": 2}


async def test_refresh_needs_the_client_secret_and_the_grant_type(raw: Raw) -> None:
    """A wrong client secret is 401 invalid_client; another grant type is 400."""
    bad_client = await raw.refresh(raw.box.refresh_token, secret="wrong")
    assert (bad_client.status, bad_client.json()) == (401, {"error": "invalid_client"})
    form = {"grant_type": "password", "refresh_token": raw.box.refresh_token}
    other = await raw("POST", "/token", company=False, headers=raw.basic(), data=form)
    assert (other.status, other.json()) == (400, {"error": "unsupported_grant_type"})
    form["grant_type"] = "refresh_token"
    basic = await raw("POST", "/token", company=False, headers=raw.basic(), data=form)
    assert basic.status == 200  # client credentials by Basic instead of the form
    assert raw.box.stats.refreshes == 1


async def test_revoked_refresh_tokens_get_invalid_grant(raw: Raw) -> None:
    """revoke_refresh_tokens() makes the current refresh token fail."""
    raw.box.revoke_refresh_tokens()
    answer = await raw.refresh(raw.box.refresh_token)
    assert (answer.status, answer.json()) == (400, {"error": "invalid_grant"})


# --- customers --------------------------------------------------------------------------


async def test_listing_pages_link_with_absolute_next_page_urls(raw: Raw) -> None:
    """Pages of 25 link to the next with an absolute X-Next-Page; the last page has none."""
    first = await raw("GET", "/customers")
    assert len(first.json()) == 25
    expected = f"{raw.box.base_url}/companies/5678/customers?page=2"
    assert first.headers["X-Next-Page"] == expected
    last = await raw("GET", "/customers?page=3")
    assert len(last.json()) == 10
    assert "X-Next-Page" not in last.headers
    assert (await raw("GET", "/customers?page=4")).json() == []
    assert (await raw("GET", "/customers?page=zero")).status == 400


@pytest.mark.parametrize(
    ("style", "page", "expected"),
    [
        ("relative", 1, "/v1/companies/5678/customers?page=2"),
        ("other_host", 1, "http://elsewhere.invalid:{port}/v1/companies/5678/customers?page=2"),
        ("repeat", 2, "http://127.0.0.1:{port}/v1/companies/5678/customers?page=2"),
    ],
)
async def test_next_page_styles(style: str, page: int, expected: str) -> None:
    """next_page= spells X-Next-Page relative, on another host, or as a loop."""
    async with raw_for(next_page=style) as raw:
        answer = await raw("GET", f"/customers?page={page}")
        assert answer.headers["X-Next-Page"] == expected.format(port=raw.box.port)


@pytest.mark.parametrize("relative", [False, True])
async def test_lookups_redirect_to_the_record(relative: bool) -> None:
    """email, mobile and name+phone lookups answer 302 with an absolute or relative Location."""
    async with raw_for(relative_locations=relative) as raw:
        path = "/v1/companies/5678/customers/389427"
        where = path if relative else f"{raw.box.url}{path}"
        for query in (
            {"email": "jmcdonald@kounta.kom"},
            {"mobile": "0412345678"},
            {"first_name": "Jamie", "last_name": "McDonald", "phone": "02 8765 4321"},
        ):
            answer = await raw("GET", "/customers", params=query)
            assert (answer.status, answer.headers["Location"]) == (302, where)
        assert raw.box.stats.requests == {"customers.find": 3}


async def test_lookup_misses_and_partial_lookups(raw: Raw) -> None:
    """No match is a 404 JSON error; a name lookup without phone is a 400."""
    missing = await raw("GET", "/customers", params={"email": "x@y.z"})
    assert (missing.status, missing.json()["error"]) == (404, "not_found")
    partial = await raw("GET", "/customers", params={"first_name": "Jamie", "last_name": "M"})
    assert partial.status == 400
    assert "phone" in partial.json()["error_description"]


async def test_reference_lookup_always_answers_200_with_a_list(raw: Raw) -> None:
    """?reference_id= answers every match as full records, or an empty list."""
    shared = await raw("GET", "/customers", params={"reference_id": "ABC123"})
    assert [c["id"] for c in shared.json()] == [389427, 389428]
    assert "mobile" in shared.json()[0]
    none = await raw("GET", "/customers", params={"reference_id": "nope"})
    assert (none.status, none.json()) == (200, [])


async def test_get_answers_the_full_record_or_404(raw: Raw) -> None:
    """GET /customers/{id} is the full record; an unknown id is a 404 JSON error."""
    jamie = (await raw("GET", "/customers/389427")).json()
    assert raw.box.data.model(jamie) == raw.box.data.customer(389427)
    assert (await raw("GET", "/customers/1")).json()["error"] == "not_found"


@pytest.mark.parametrize("relative", [False, True])
async def test_create_answers_201_with_location_and_body(relative: bool) -> None:
    """POST stores the customer and answers 201, Location and the record."""
    async with raw_for(relative_locations=relative) as raw:
        body = {"first_name": "Ann", "email": "ann@example.com.au", "tags": ["vip"]}
        answer = await raw("POST", "/customers", json=body)
        record = answer.json()
        path = f"/v1/companies/5678/customers/{record['id']}"
        assert answer.status == 201
        assert answer.headers["Location"] == (path if relative else f"{raw.box.url}{path}")
        assert raw.box.data.customer(record["id"]) == raw.box.data.model(record)


async def test_create_with_empty_body_flag() -> None:
    """empty_create_body=True answers 201 with a Location and no body."""
    async with raw_for(empty_create_body=True) as raw:
        answer = await raw("POST", "/customers", json={"first_name": "A", "phone": "1"})
        assert (answer.status, answer.body) == (201, b"")
        assert (await raw("GET", answer.headers["Location"])).json()["first_name"] == "A"


@pytest.mark.parametrize(
    "body",
    [b"not json", {"email": "a@b.c"}, {"first_name": "A", "mobile": "0412345678"}],
)
async def test_bad_creates_are_400_json_and_store_nothing(raw: Raw, body: Any) -> None:
    """Bad JSON, missing first_name and a taken mobile are 400s with a JSON error."""
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    answer = await raw("POST", "/customers", **kwargs)
    assert (answer.status, answer.json()["error"]) == (400, "invalid_request")
    assert len(raw.box.data) == 60


async def test_update_and_delete(raw: Raw) -> None:
    """PUT answers the full updated record; unknown fields are 400; DELETE is 204 then 404."""
    updated = await raw("PUT", "/customers/389427", json={"last_name": "MacDonald"})
    assert updated.status == 200
    assert updated.json()["last_name"] == "MacDonald"
    refused = await raw("PUT", "/customers/389427", json={"company_id": 1})
    assert refused.status == 400
    assert (await raw("DELETE", "/customers/389427")).status == 204
    assert (await raw("GET", "/customers/389427")).status == 404


# --- rate limit -----------------------------------------------------------------------


async def test_rate_limit_headers_and_plain_text_429() -> None:
    """Every answer has X-Ratelimit-*; past the limit, 429 'Limit exceeded' without Retry-After."""
    async with raw_for(rate_limit_per_minute=2) as raw:
        answers = [await raw("GET", "/customers/389427") for _ in range(3)]
        assert [a.headers["X-Ratelimit-Remaining"] for a in answers] == ["1", "0", "0"]
        assert all(a.headers["X-Ratelimit-Limit"] == "2" for a in answers)
        reset = int(answers[0].headers["X-Ratelimit-Reset"])
        assert time.time() + 55 < reset <= time.time() + 61
        limited = answers[2]
        assert (limited.status, limited.body) == (429, b"Limit exceeded")
        assert limited.headers["Content-Type"].startswith("text/plain")
        assert "Retry-After" not in limited.headers
        refreshed = await raw.refresh(raw.box.refresh_token)
        assert refreshed.status == 200  # /token is not limited, but shows the state
        assert refreshed.headers["X-Ratelimit-Remaining"] == "0"
        assert raw.box.stats.rate_limited == 1


async def test_rate_window_resets() -> None:
    """A short window lets requests through again once X-Ratelimit-Reset has passed."""
    async with raw_for(rate_limit_per_minute=1, rate_limit_window=0.3) as raw:
        assert (await raw("GET", "/customers/389427")).status == 200
        assert (await raw("GET", "/customers/389427")).status == 429
        await asyncio.sleep(0.35)
        assert (await raw("GET", "/customers/389427")).status == 200


# --- faults -----------------------------------------------------------------------------


EXPECTED_STATUS = {
    "http_500": 500,
    "http_502": 502,
    "http_503": 503,
    "http_504": 504,
    "429_seconds": 429,
    "429_date": 429,
    "429_none": 429,
    "html": 200,
    "slow": 201,
}


@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_every_fault_kind_is_served_before_anything_is_stored(kind: str) -> None:
    """Each FaultPlan kind breaks a create before it is stored (slow only delays it)."""
    plan = FaultPlan(first_n=1, first_n_kind=kind, slow_delay=0.05)
    async with raw_for(faults=plan) as raw:
        body = {"first_name": "Ann", "email": "ann@example.com.au"}
        try:
            answer = await raw("POST", "/customers", json=body)
        except aiohttp.ClientError:
            assert kind in ("reset", "cutoff")
        else:
            assert answer.status == EXPECTED_STATUS[kind]
        assert raw.box.stats.faults == {kind: 1}
        assert len(raw.box.data) == 60 + (kind == "slow")


@pytest.mark.parametrize("kind", ["reset", "cutoff", "http_503"])
async def test_after_store_faults_lose_the_answer_but_keep_the_change(kind: str) -> None:
    """An after_store fault breaks the answer of a create the server already stored."""
    async with raw_for(after_store=FaultPlan(first_n=1, first_n_kind=kind)) as raw:
        try:
            answer = await raw("POST", "/customers", json={"first_name": "A", "phone": "1"})
        except aiohttp.ClientError:
            assert kind != "http_503"
        else:
            assert answer.status == 503
        assert len(raw.box.data) == 61
        assert raw.box.stats.faults == {kind: 1}
        second = await raw("POST", "/customers", json={"first_name": "B", "phone": "2"})
        assert second.status == 201  # first_n counts stored writes: only the first is lost


async def test_stop_ends_slow_answers_at_once() -> None:
    """Stopping the sandbox wakes a slow fault's delay instead of waiting it out."""
    box = KountaSandbox(
        seed=1, customers=3, faults=FaultPlan(first_n=1, first_n_kind="slow", slow_delay=30)
    )
    await box.start()
    async with aiohttp.ClientSession() as session:
        url = f"{box.base_url}/companies/5678/customers"
        pending = asyncio.ensure_future(session.get(url))
        for _ in range(500):  # until the request is being held back
            if box.stats.in_flight:
                break
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await box.stop()
        try:
            response = await pending
            assert response.status == 503
            response.release()
        except aiohttp.ClientError:
            pass
        assert time.monotonic() - started < 5


# --- webhook subscriptions --------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"topic": "orders/created", "address": "https://example.com"},
        {"topic": "customers/updated", "address": "mailto:someone@example.com"},
        {"topic": "customers/updated", "address": "https://example.com", "format": "xml"},
        {"topic": "customers/updated", "address": "https://example.com", "filter": ["colour"]},
        {"topic": "customers/updated", "address": "https://example.com", "headers": {"X": 1}},
    ],
)
async def test_bad_subscriptions_are_400(raw: Raw, body: dict[str, Any]) -> None:
    """Unknown topics, non-http addresses, formats, filters and header values are 400s."""
    answer = await raw("POST", "/webhooks", json=body)
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_request"
    assert (await raw("GET", "/webhooks")).json() == []


async def test_subscription_is_created_with_location_and_fetched(raw: Raw) -> None:
    """POST /webhooks answers 201 with Location; GET on it returns the subscription."""
    body = {"topic": "customers/created", "address": "https://example.com/in"}
    answer = await raw("POST", "/webhooks", json=body)
    assert answer.status == 201
    hook = answer.json()
    assert hook == {**body, "id": hook["id"], "format": "json", "headers": {}, "filter": []}
    assert (await raw("GET", answer.headers["Location"])).json() == hook
    assert (await raw("GET", "/webhooks/1")).status == 404


async def test_daily_quota_refuses_the_days_extra_requests_until_midnight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FaultPlan(daily_quota=2): the day's third request waits for midnight; the next day is new."""
    import types

    from komet_async.sandbox.faults import quota_day
    from komet_async.sandbox.kounta import app

    now = [1_767_225_600.0 + 3_600]  # 2026-01-01 01:00 UTC
    monkeypatch.setattr(app, "time", types.SimpleNamespace(time=lambda: now[0]))
    async with raw_for(faults=FaultPlan(daily_quota=2)) as raw:
        statuses = [(await raw("GET", "/customers")).status for _ in range(2)]
        refused = await raw("GET", "/customers")
        _, midnight = quota_day(now[0])
        now[0] = midnight + 1
        next_day = await raw("GET", "/customers")
    assert statuses == [200, 200]
    assert refused.status == 429
    assert float(refused.headers["Retry-After"]) == pytest.approx(midnight - 1_767_229_200.0, abs=1)
    assert next_day.status == 200
