"""Kounta client against mocked responses: exact requests, auth refresh, redirects, safe creates."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from komet_async import (
    AuthenticationError,
    RateLimit,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationError,
)
from komet_async.kounta import (
    BasicAuth,
    Customer,
    CustomerChanges,
    KountaClient,
    NewAddress,
    NewCustomer,
    OAuth2,
    TokenPair,
    default_rate_limit,
)
from komet_async.testing import FakeClock

BASE = "https://api.kounta.com/v1"
COMPANY = f"{BASE}/companies/5678"
CUSTOMERS = f"{COMPANY}/customers"
ACCESS, REFRESH, SECRET = "acc-SECRET-1", "ref-SECRET-1", "cs-SECRET-1"
JAMIE = {"id": 389427, "first_name": "Jamie", "last_name": "McDonald", "reference_id": ""}


def oauth(**kwargs: Any) -> OAuth2:
    return OAuth2(ACCESS, REFRESH, "client-1", SECRET, **kwargs)


@pytest.fixture
async def kounta() -> AsyncIterator[KountaClient]:
    async with KountaClient(
        5678, auth=oauth(), retry=RetryPolicy.no_wait(), rate_limit=None, clock=FakeClock()
    ) as client:
        yield client


def calls(mocked: aioresponses, method: str, url: str) -> list[Any]:
    return list(mocked.requests.get((method, URL(url)), []))


def auth_of(call: Any) -> str | None:
    value = call.kwargs["headers"].get("Authorization")
    return value if value is None else str(value)


# --- construction ------------------------------------------------------------------


def test_default_rate_limits_follow_the_auth_kind() -> None:
    """Basic gets 60 requests/min, OAuth2 180/min, each with a small burst."""
    assert default_rate_limit(BasicAuth("id", "s")) == RateLimit(per_second=1.0, burst=5)
    assert default_rate_limit(oauth()) == RateLimit(per_second=3.0, burst=10)


async def test_rate_limit_none_turns_limiting_off_and_default_applies() -> None:
    """rate_limit=None means no bucket; leaving it out applies Kounta's limit."""
    async with KountaClient(1, auth=oauth(), rate_limit=None) as off:
        assert off._core.limiter.rate_limit is None
    async with KountaClient(1, auth=oauth()) as default:
        assert default._core.limiter.rate_limit == RateLimit(per_second=3.0, burst=10)


def test_reprs_hide_every_secret() -> None:
    """Auth objects and the client repr show no secret or token."""
    texts = [
        repr(BasicAuth("client-1", SECRET)),
        repr(oauth()),
        repr(KountaClient(5, auth=oauth())),
    ]
    for text in texts:
        for secret in (ACCESS, REFRESH, SECRET):
            assert secret not in text
    assert texts[0] == "BasicAuth(client_id='client-1', client_secret=***)"


@pytest.mark.parametrize("company_id", [0, -1, "5678", True])
def test_company_id_must_be_a_positive_int(company_id: Any) -> None:
    """A company id that is not a positive integer is refused."""
    with pytest.raises(ValidationError, match="company_id"):
        KountaClient(company_id, auth=oauth())


# --- auth --------------------------------------------------------------------------


async def test_basic_auth_header(mocked: aioresponses) -> None:
    """Basic auth sends base64(client_id:client_secret)."""
    mocked.get(f"{CUSTOMERS}/389427", payload=JAMIE)
    async with KountaClient(5678, auth=BasicAuth("client-1", SECRET), rate_limit=None) as k:
        assert await k.customers.get(389427) == Customer(
            id=389427, first_name="Jamie", last_name="McDonald"
        )
    expected = "Basic " + base64.b64encode(f"client-1:{SECRET}".encode()).decode()
    assert auth_of(calls(mocked, "GET", f"{CUSTOMERS}/389427")[0]) == expected


async def test_expired_token_is_refreshed_once_and_replayed(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """A 401 refreshes with a form POST to /token and replays with the new token."""
    mocked.get(f"{CUSTOMERS}/389427", status=401, payload={"error": "invalid_token"})
    mocked.post(
        f"{BASE}/token",
        payload={"access_token": "acc-2", "refresh_token": "ref-2", "expires_in": 3600},
    )
    mocked.get(f"{CUSTOMERS}/389427", payload=JAMIE)
    customer = await kounta.customers.get(389427)
    assert customer.id == 389427
    gets = calls(mocked, "GET", f"{CUSTOMERS}/389427")
    assert [auth_of(c) for c in gets] == [f"Bearer {ACCESS}", "Bearer acc-2"]
    (token_call,) = calls(mocked, "POST", f"{BASE}/token")
    assert token_call.kwargs["data"] == (
        b"grant_type=refresh_token&refresh_token=ref-SECRET-1&client_id=client-1"
        b"&client_secret=cs-SECRET-1"
    )
    assert token_call.kwargs["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert auth_of(token_call) is None
    assert (kounta.auth.access_token, kounta.auth.refresh_token) == ("acc-2", "ref-2")  # type: ignore[union-attr]


async def test_concurrent_401s_share_one_refresh(mocked: aioresponses) -> None:
    """Twenty requests failing with 401 together trigger exactly one refresh."""
    pairs: list[TokenPair] = []
    auth = oauth(on_token_refresh=pairs.append)
    url = re.compile(rf"^{re.escape(CUSTOMERS)}/\d+$")

    stale: list[str] = []
    all_stale = asyncio.Event()

    async def by_token(_: URL, **kwargs: Any) -> CallbackResult:
        # Like the real server: the old token is refused, the new one accepted.
        # The 401s are held until all twenty are in flight, so they truly overlap.
        if kwargs["headers"]["Authorization"] == f"Bearer {ACCESS}":
            stale.append(ACCESS)
            if len(stale) == 20:
                all_stale.set()
            await all_stale.wait()
            return CallbackResult(status=401, payload={"error": "invalid_token"})
        return CallbackResult(payload=JAMIE)

    mocked.get(url, callback=by_token, repeat=True)
    mocked.post(f"{BASE}/token", payload={"access_token": "acc-2", "refresh_token": "ref-2"})
    async with KountaClient(5678, auth=auth, rate_limit=None, max_concurrency=20) as k:
        results = await asyncio.gather(*(k.customers.get(i) for i in range(1, 21)))
    assert len(results) == 20
    gets = [c for (method, _), cs in mocked.requests.items() if method == "GET" for c in cs]
    assert (
        sorted(str(auth_of(c)) for c in gets) == ["Bearer acc-2"] * 20 + [f"Bearer {ACCESS}"] * 20
    )
    assert len(calls(mocked, "POST", f"{BASE}/token")) == 1
    assert pairs == [TokenPair("acc-2", "ref-2")]
    assert auth.refreshes == 1


async def test_unrotated_refresh_token_is_kept(mocked: aioresponses) -> None:
    """An answer without a new refresh token keeps the old one; an async callback is awaited."""
    seen: list[TokenPair] = []

    async def store(pair: TokenPair) -> None:
        seen.append(pair)

    auth = oauth(on_token_refresh=store)
    mocked.get(f"{CUSTOMERS}/1", status=401)
    mocked.post(f"{BASE}/token", payload={"access_token": "acc-2"})
    mocked.get(f"{CUSTOMERS}/1", payload={"id": 1})
    async with KountaClient(5678, auth=auth, rate_limit=None) as k:
        await k.customers.get(1)
    assert seen == [TokenPair("acc-2", REFRESH)]


async def test_failed_refresh_is_an_authentication_error(mocked: aioresponses) -> None:
    """A refused refresh raises AuthenticationError without the tokens in its text."""
    mocked.get(f"{CUSTOMERS}/1", status=401)
    mocked.post(f"{BASE}/token", status=400, payload={"error": "invalid_grant"})
    async with KountaClient(5678, auth=oauth(), rate_limit=None) as k:
        with pytest.raises(AuthenticationError, match="refresh was refused") as info:
            await k.customers.get(1)
    text = f"{info.value} {info.value!r} {info.value.__cause__}"
    for secret in (ACCESS, REFRESH, SECRET):
        assert secret not in text


async def test_second_401_after_refresh_is_final(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """A 401 on the replayed request raises instead of refreshing forever."""
    mocked.get(f"{CUSTOMERS}/1", status=401, repeat=True)
    mocked.post(f"{BASE}/token", payload={"access_token": "acc-2", "refresh_token": "r"})
    with pytest.raises(AuthenticationError):
        await kounta.customers.get(1)
    assert len(calls(mocked, "GET", f"{CUSTOMERS}/1")) == 2
    assert len(calls(mocked, "POST", f"{BASE}/token")) == 1


async def test_basic_auth_401_is_not_refreshed(mocked: aioresponses) -> None:
    """With Basic auth a 401 is final: there is nothing to refresh."""
    mocked.get(f"{CUSTOMERS}/1", status=401)
    async with KountaClient(5678, auth=BasicAuth("c", SECRET), rate_limit=None) as k:
        with pytest.raises(AuthenticationError):
            await k.customers.get(1)
    assert calls(mocked, "POST", f"{BASE}/token") == []


# --- lookups -----------------------------------------------------------------------


async def test_find_follows_a_same_host_redirect_with_credentials(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """find(email=) sends the documented query and follows the 302 with Authorization."""
    mocked.get(
        f"{CUSTOMERS}?email=jmcdonald%40kounta.kom",
        status=302,
        headers={"Location": "/v1/companies/5678/customers/389427"},
    )
    mocked.get(f"{CUSTOMERS}/389427", payload=JAMIE)
    found = await kounta.customers.find(email="jmcdonald@kounta.kom")
    assert found == Customer(id=389427, first_name="Jamie", last_name="McDonald")
    assert auth_of(calls(mocked, "GET", f"{CUSTOMERS}/389427")[0]) == f"Bearer {ACCESS}"


async def test_redirect_to_another_host_drops_credentials(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """A redirect off the API host is followed without the Authorization header."""
    mocked.get(
        f"{CUSTOMERS}?mobile=0412345678",
        status=302,
        headers={"Location": "https://cdn.example/customers/389427"},
    )
    mocked.get("https://cdn.example/customers/389427", payload=JAMIE)
    assert (await kounta.customers.find(mobile="0412345678")) is not None
    assert auth_of(calls(mocked, "GET", "https://cdn.example/customers/389427")[0]) is None


async def test_find_not_found_is_none(mocked: aioresponses, kounta: KountaClient) -> None:
    """A 404 from a lookup is None, not an error."""
    mocked.get(
        f"{CUSTOMERS}?first_name=Jamie&last_name=McDonald&phone=02+8765+4321",
        status=404,
    )
    assert (
        await kounta.customers.find(first_name="Jamie", last_name="McDonald", phone="02 8765 4321")
    ) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"first_name": "Jamie"},
        {"first_name": "Jamie", "last_name": "McDonald"},
        {"email": "a@b.c", "mobile": "04"},
        {"email": ""},
        {"phone": "02 8765 4321"},
    ],
)
async def test_invalid_lookup_combinations_send_nothing(
    mocked: aioresponses, kounta: KountaClient, kwargs: dict[str, str]
) -> None:
    """Anything but email, mobile, or first+last name+phone is refused before sending."""
    with pytest.raises(ValidationError):
        await kounta.customers.find(**kwargs)
    assert mocked.requests == {}


# --- create and update -----------------------------------------------------------


async def test_create_sends_snake_case_json(mocked: aioresponses, kounta: KountaClient) -> None:
    """create() posts only the fields set, lists as lists, booleans as booleans."""
    mocked.post(CUSTOMERS, status=201, payload={**JAMIE, "email": "j@x.test"})
    created = await kounta.customers.create(
        NewCustomer(
            first_name="Jamie",
            email="j@x.test",
            tags=("vip", "wholesale"),
            accepts_marketing=False,
            primary_address=NewAddress(lines=("1 George St",), city="Sydney", country="AU"),
        )
    )
    assert created.email == "j@x.test"
    (call,) = calls(mocked, "POST", CUSTOMERS)
    assert json.loads(call.kwargs["data"]) == {
        "first_name": "Jamie",
        "email": "j@x.test",
        "tags": ["vip", "wholesale"],
        "primary_address": {"lines": ["1 George St"], "city": "Sydney", "country": "AU"},
        "accepts_marketing": False,
    }


async def test_create_with_empty_body_follows_location(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """A 201 with no body returns the record its Location points at."""
    mocked.post(CUSTOMERS, status=201, body="", headers={"Location": f"{CUSTOMERS}/7"})
    mocked.get(f"{CUSTOMERS}/7", payload={"id": 7, "first_name": "Ana"})
    assert await kounta.customers.create(NewCustomer(first_name="Ana", mobile="04")) == Customer(
        id=7, first_name="Ana"
    )


@pytest.mark.parametrize(
    ("customer", "problems"),
    [
        (NewCustomer(first_name="Jamie"), ("email, phone or mobile: at least one is required",)),
        (
            NewCustomer(
                first_name="", email="a@b.c", primary_address=NewAddress(country="Australia")
            ),
            (
                "first_name: must not be empty",
                "primary_address.country: must be an ISO 3166-1 alpha-2 code such as 'AU', "
                "got 'Australia'",
            ),
        ),
    ],
)
async def test_new_customer_validation(
    mocked: aioresponses, kounta: KountaClient, customer: NewCustomer, problems: tuple[str, ...]
) -> None:
    """A NewCustomer without contact or with a bad country is refused, every problem listed."""
    with pytest.raises(ValidationError) as info:
        await kounta.customers.create(customer)
    assert info.value.problems == problems
    assert mocked.requests == {}


async def test_create_is_not_resent_after_a_timeout(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """Without reference_id a create that timed out raises and is never sent twice."""
    mocked.post(CUSTOMERS, exception=asyncio.TimeoutError(), repeat=True)
    with pytest.raises(TransportError):
        await kounta.customers.create(NewCustomer(first_name="Ana", email="a@x.test"))
    assert len(calls(mocked, "POST", CUSTOMERS)) == 1


async def test_create_with_reference_returns_the_stored_record(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """After a 503 the client finds the reference stored and returns it instead of resending."""
    mocked.post(CUSTOMERS, status=503)
    mocked.get(f"{CUSTOMERS}?reference_id=CRM-1", payload=[{"id": 9, "reference_id": "CRM-1"}])
    created = await kounta.customers.create(
        NewCustomer(first_name="Ana", email="a@x.test", reference_id="CRM-1")
    )
    assert created == Customer(id=9, reference_id="CRM-1")
    assert len(calls(mocked, "POST", CUSTOMERS)) == 1


async def test_create_with_reference_resends_when_nothing_was_stored(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """When the lookup finds nothing, the create is sent again and succeeds."""
    mocked.post(CUSTOMERS, exception=aiohttp.ServerDisconnectedError())
    mocked.get(f"{CUSTOMERS}?reference_id=CRM-2", payload=[])
    mocked.post(CUSTOMERS, status=201, payload={"id": 10, "reference_id": "CRM-2"})
    created = await kounta.customers.create(
        NewCustomer(first_name="Ana", email="a@x.test", reference_id="CRM-2")
    )
    assert created.id == 10
    assert len(calls(mocked, "POST", CUSTOMERS)) == 2


async def test_create_refused_with_4xx_is_not_checked_or_resent(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """A 400 means nothing was stored: it is raised at once."""
    mocked.post(CUSTOMERS, status=400, payload={"error": "mobile taken"})
    with pytest.raises(Exception, match="HTTP 400"):
        await kounta.customers.create(NewCustomer(first_name="A", mobile="04", reference_id="R"))
    assert list(mocked.requests) == [("POST", URL(CUSTOMERS))]


async def test_create_with_reference_gives_up_after_the_policy(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """With attempts=4, four 503s and three empty lookups raise the last ServerError."""
    mocked.post(CUSTOMERS, status=503, repeat=True)
    mocked.get(f"{CUSTOMERS}?reference_id=R", payload=[], repeat=True)
    with pytest.raises(ServerError):
        await kounta.customers.create(NewCustomer(first_name="A", mobile="04", reference_id="R"))
    assert len(calls(mocked, "POST", CUSTOMERS)) == 4
    assert len(calls(mocked, "GET", f"{CUSTOMERS}?reference_id=R")) == 3


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_reference_id_is_no_reference(blank: str) -> None:
    """A blank reference_id becomes None: the same NewCustomer as one without a reference."""
    customer = NewCustomer(first_name="Ana", email="a@x.test", reference_id=blank)
    assert customer.reference_id is None
    assert customer == NewCustomer(first_name="Ana", email="a@x.test")


@pytest.mark.parametrize("blank", ["", "   "])
async def test_create_with_blank_reference_is_sent_once_without_it(
    mocked: aioresponses, kounta: KountaClient, blank: str
) -> None:
    """After a 503 a create with a blank reference raises ServerError: no lookup, no resend."""
    mocked.post(CUSTOMERS, status=503, repeat=True)
    with pytest.raises(ServerError) as info:
        await kounta.customers.create(
            NewCustomer(first_name="Ana", email="a@x.test", reference_id=blank)
        )
    assert info.value.status == 503
    assert list(mocked.requests) == [("POST", URL(CUSTOMERS))]
    (call,) = calls(mocked, "POST", CUSTOMERS)
    assert json.loads(call.kwargs["data"]) == {"first_name": "Ana", "email": "a@x.test"}
    assert kounta.stats.failures == 1


async def test_reference_with_surrounding_spaces_is_kept_as_given(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """A reference that is not blank is sent and looked up exactly as given."""
    mocked.post(CUSTOMERS, status=503)
    mocked.get(f"{CUSTOMERS}?reference_id=+CRM-3+", payload=[{"id": 11, "reference_id": " CRM-3 "}])
    created = await kounta.customers.create(
        NewCustomer(first_name="Ana", email="a@x.test", reference_id=" CRM-3 ")
    )
    assert created == Customer(id=11, reference_id=" CRM-3 ")
    (call,) = calls(mocked, "POST", CUSTOMERS)
    assert json.loads(call.kwargs["data"])["reference_id"] == " CRM-3 "


async def test_update_sends_only_given_fields(mocked: aioresponses, kounta: KountaClient) -> None:
    """update() PUTs only the changed fields and returns the record."""
    mocked.put(f"{CUSTOMERS}/389427", payload={**JAMIE, "tags": ["vip"]})
    updated = await kounta.customers.update(389427, CustomerChanges(tags=("vip",)))
    assert updated.tags == ("vip",)
    (call,) = calls(mocked, "PUT", f"{CUSTOMERS}/389427")
    assert json.loads(call.kwargs["data"]) == {"tags": ["vip"]}


async def test_empty_update_is_refused(mocked: aioresponses, kounta: KountaClient) -> None:
    """An update with no field set is a ValidationError."""
    with pytest.raises(ValidationError, match="at least one field"):
        await kounta.customers.update(1, CustomerChanges())
    assert mocked.requests == {}


# --- list pages --------------------------------------------------------------------


async def test_list_follows_next_page_headers(mocked: aioresponses, kounta: KountaClient) -> None:
    """The list follows X-Next-Page until it is absent."""
    mocked.get(
        CUSTOMERS, payload=[{"id": 1}, {"id": 2}], headers={"X-Next-Page": f"{CUSTOMERS}?page=2"}
    )
    mocked.get(f"{CUSTOMERS}?page=2", payload=[{"id": 3}])
    assert [c.id async for c in kounta.customers.list()] == [1, 2, 3]


async def test_list_refuses_a_next_page_on_another_host(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """A next-page URL on another host stops the listing with ResponseFormatError."""
    mocked.get(CUSTOMERS, payload=[{"id": 1}], headers={"X-Next-Page": "https://evil.example/p2"})
    paginator = kounta.customers.list()
    with pytest.raises(ResponseFormatError, match="another host"):
        await paginator.collect()
    assert list(mocked.requests) == [("GET", URL(CUSTOMERS))]


async def test_a_body_that_is_not_json_keeps_no_hidden_context(
    mocked: aioresponses, kounta: KountaClient
) -> None:
    """The ResponseFormatError has no __context__: the decoder's error holds the raw body."""
    mocked.get(f"{CUSTOMERS}/1", body=f"<html>{ACCESS}</html>", content_type="text/html")
    with pytest.raises(ResponseFormatError) as info:
        await kounta.customers.get(1)
    assert info.value.__context__ is None
    assert info.value.__cause__ is None
    assert info.value.body_excerpt == "<html>***</html>"


async def test_list_cursor_on_another_host_is_refused(kounta: KountaClient) -> None:
    """Resuming from a cursor that points off the API host is refused at once."""
    with pytest.raises(ResponseFormatError, match="another host"):
        kounta.customers.list(cursor="https://evil.example/v1/companies/5678/customers?page=3")
