"""Endpoints through KometClient with aioresponses: exact requests sent, models returned, errors."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aioresponses import aioresponses
from aioresponses.compat import normalize_url
from yarl import URL

from komet_async import (
    APIError,
    AuthenticationError,
    CustomerUpdate,
    HTTPStatusError,
    KometClient,
    NotFoundError,
    ResponseFormatError,
    ServerError,
    ValidationError,
)
from komet_async.client import MAX_REQUEST_BYTES, _url_size

from .conftest import BASE, TOKEN, RecordingMock
from .test_converters import CUSTOMERS, PRODUCTS, STANDING_ORDERS

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def route(method: str) -> re.Pattern[str]:
    """Any URL of one Komet method, whatever its query string."""
    return re.compile(rf"^{re.escape(f'{BASE}/{method}')}(\?.*)?$")


def sent(mocked: aioresponses) -> list[tuple[str, str, dict[str, Any]]]:
    """Every request made, in order: HTTP method, the URL as sent, and the call's kwargs.

    aioresponses keys its calls by a normalised URL (query sorted); the URL here
    is the one the client sent (``RecordingMock.sent``), parameters in the order sent.
    """
    assert isinstance(mocked, RecordingMock)
    calls = {key: list(found) for key, found in mocked.requests.items()}
    return [
        (http_method, url, calls[(http_method, normalize_url(URL(url)))].pop(0).kwargs)
        for http_method, url in mocked.sent
    ]


def only_request(mocked: aioresponses) -> tuple[str, str, dict[str, Any]]:
    """The one request a test made."""
    (request,) = sent(mocked)
    return request


# --- customer.list -----------------------------------------------------------------------


async def test_customers_list_sends_only_the_token(
    mocked: aioresponses, komet: KometClient
) -> None:
    """customer.list without filters sends the token alone and returns the sample's customers."""
    mocked.get(route("customer.list"), body=sample("customer.list.json"))
    assert await komet.customers.list() == CUSTOMERS
    http_method, url, kwargs = only_request(mocked)
    assert http_method == "GET"
    assert url == f"{BASE}/customer.list?authenticationToken={TOKEN}"
    assert "params" not in kwargs  # the query goes out inside the URL, encoded once
    assert kwargs["data"] is None
    assert kwargs["allow_redirects"] is False
    assert kwargs["headers"]["User-Agent"].startswith("komet-async/")


async def test_unfiltered_lists_reuse_one_request_and_still_validate_filters(
    mocked: aioresponses, komet: KometClient
) -> None:
    """An unfiltered list call reuses one built request; a filtered one is still validated."""
    mocked.get(route("customer.list"), body=sample("customer.list.json"), repeat=True)
    assert await komet.customers.list() == CUSTOMERS
    assert await komet.customers.list() == CUSTOMERS
    assert list(komet._unfiltered) == ["customer.list"]
    urls = [str(key[1]) for key in mocked.requests]
    assert urls == [f"{BASE}/customer.list?authenticationToken={TOKEN}"]
    assert len(next(iter(mocked.requests.values()))) == 2
    with pytest.raises(ValidationError, match="code"):
        await komet.customers.list(code="x" * 11)
    assert len(next(iter(mocked.requests.values()))) == 2


async def test_customers_list_sends_every_filter(mocked: aioresponses, komet: KometClient) -> None:
    """Every customer.list filter goes out camelCase after the token, in the documented spelling."""
    mocked.get(route("customer.list"), body=sample("customer.list.json"))
    await komet.customers.list(
        id=25475,
        name="flores sas",
        code="T3526",
        sales_person_id=1819,
        include_inactive=True,
        location_id=3,
        updated_as_of=dt.date(2017, 8, 1),
    )
    _, url, kwargs = only_request(mocked)
    assert "params" not in kwargs
    assert url == (
        f"{BASE}/customer.list?authenticationToken={TOKEN}&id=25475&name=flores+sas"
        "&code=T3526&salesPersonId=1819&includeInactive=true&locationId=3&updateAsOf=2017-08-01"
    )
    # aioresponses' own key: the same query, sorted.
    assert list(mocked.requests) == [
        (
            "GET",
            URL(
                f"{BASE}/customer.list?authenticationToken={TOKEN}&code=T3526&id=25475"
                "&includeInactive=true&locationId=3&name=flores+sas&salesPersonId=1819"
                "&updateAsOf=2017-08-01"
            ),
        )
    ]


@pytest.mark.parametrize(("flag", "spelled"), [(True, "true"), (False, "false")])
async def test_customers_list_include_inactive_spelling(
    mocked: aioresponses, komet: KometClient, flag: bool, spelled: str
) -> None:
    """The includeInactive flag is sent as true/false (the documented boolean), not 1/0."""
    mocked.get(route("customer.list"), body=sample("customer.list.json"))
    await komet.customers.list(include_inactive=flag)
    _, url, _ = only_request(mocked)
    assert url == f"{BASE}/customer.list?authenticationToken={TOKEN}&includeInactive={spelled}"


# --- product.list ------------------------------------------------------------------------


async def test_products_list_sends_only_the_token(mocked: aioresponses, komet: KometClient) -> None:
    """product.list without filters sends the token alone and returns the sample's products."""
    mocked.get(route("product.list"), body=sample("product.list.json"))
    assert await komet.products.list() == PRODUCTS
    http_method, url, kwargs = only_request(mocked)
    assert http_method == "GET"
    assert url == f"{BASE}/product.list?authenticationToken={TOKEN}"
    assert kwargs["data"] is None


async def test_products_list_sends_every_filter(mocked: aioresponses, komet: KometClient) -> None:
    """product.list sends id, description and legacyCode after the token."""
    mocked.get(route("product.list"), body=sample("product.list.json"))
    await komet.products.list(id=1, description="rose & co", legacy_code="LH001")
    _, url, kwargs = only_request(mocked)
    assert "params" not in kwargs
    assert url == (
        f"{BASE}/product.list?authenticationToken={TOKEN}&id=1&description=rose+%26+co&legacyCode=LH001"
    )


# --- standing.order.list -------------------------------------------------------------------


async def test_standing_orders_list_sends_the_required_dates(
    mocked: aioresponses, komet: KometClient
) -> None:
    """standing.order.list sends dateFrom/dateTo as YYYY-MM-DD and returns the sample's orders."""
    mocked.get(route("standing.order.list"), body=sample("standing.order.list.json"))
    found = await komet.standing_orders.list(
        date_from=dt.date(2015, 1, 1), date_to=dt.date(2015, 12, 31)
    )
    assert found == STANDING_ORDERS
    http_method, url, _ = only_request(mocked)
    assert http_method == "GET"
    # The documented sample request, exactly.
    assert url == (
        f"{BASE}/standing.order.list?authenticationToken={TOKEN}&dateFrom=2015-01-01&dateTo=2015-12-31"
    )


async def test_standing_orders_list_sends_every_filter(
    mocked: aioresponses, komet: KometClient
) -> None:
    """Every standing order filter is sent; an int number becomes text, datetimes their date."""
    mocked.get(route("standing.order.list"), body=sample("standing.order.list.json"))
    await komet.standing_orders.list(
        date_from=dt.datetime(2015, 1, 1, 8, 30),
        date_to=dt.date(2015, 12, 31),
        customer="flores",
        customer_id=29775,
        number=1047,
        location_id=2,
        status="Cancelled",
    )
    _, url, kwargs = only_request(mocked)
    assert "params" not in kwargs
    assert url == (
        f"{BASE}/standing.order.list?authenticationToken={TOKEN}&dateFrom=2015-01-01"
        "&dateTo=2015-12-31&customer=flores&customerId=29775&number=1047&locationId=2&status=Cancelled"
    )


# --- list methods: empty results and failures ------------------------------------------------

ListCall = Callable[[KometClient], Awaitable[list[Any]]]

LISTS: list[tuple[str, str, ListCall]] = [
    ("customer.list", "customers", lambda k: k.customers.list()),
    ("product.list", "products", lambda k: k.products.list()),
    (
        "standing.order.list",
        "standingOrders",
        lambda k: k.standing_orders.list(
            date_from=dt.date(2015, 1, 1), date_to=dt.date(2015, 1, 31)
        ),
    ),
]
LIST_IDS = [method for method, _, _ in LISTS]


@pytest.mark.parametrize(("method", "key", "call"), LISTS, ids=LIST_IDS)
@pytest.mark.parametrize(
    "envelope",
    [
        {"status": "0", "message": "Records not found."},
        {"status": 0, "message": "Customers not found."},
        {"status": "0", "message": "Standing orders not found."},
    ],
)
async def test_not_found_is_an_empty_list(
    mocked: aioresponses, komet: KometClient, method: str, key: str, call: ListCall, envelope: Any
) -> None:
    """A status 0 "not found" answer is an empty result, not an error."""
    mocked.get(route(method), payload=envelope)
    assert await call(komet) == []
    assert len(sent(mocked)) == 1


@pytest.mark.parametrize(("method", "key", "call"), LISTS, ids=LIST_IDS)
@pytest.mark.parametrize("items", [[], None])
async def test_empty_or_null_payload_is_an_empty_list(
    mocked: aioresponses, komet: KometClient, method: str, key: str, call: ListCall, items: Any
) -> None:
    """A success with an empty or null payload list is []."""
    mocked.get(route(method), payload={"status": "1", "message": "OK", key: items})
    assert await call(komet) == []


@pytest.mark.parametrize(("method", "key", "call"), LISTS, ids=LIST_IDS)
async def test_other_status_zero_is_an_api_error(
    mocked: aioresponses, komet: KometClient, method: str, key: str, call: ListCall
) -> None:
    """Any other status 0 raises APIError with the server's message and a redacted URL."""
    mocked.get(route(method), payload={"status": "0", "message": "Date range too wide."})
    with pytest.raises(APIError) as info:
        await call(komet)
    err = info.value
    assert err.message == "Date range too wide."
    assert str(err) == f"{method}: Date range too wide."
    assert err.method == method
    assert err.url is not None
    assert err.url.startswith(f"{BASE}/{method}?authenticationToken=***")
    assert TOKEN not in err.url
    assert err.envelope == {"status": "0", "message": "Date range too wide."}
    assert len(sent(mocked)) == 1  # an API error is an answer: never retried


@pytest.mark.parametrize(("method", "key", "call"), LISTS, ids=LIST_IDS)
@pytest.mark.parametrize(
    "message",
    [
        "Token not found.",
        "Authentication token not found.",
        "User not found.",
        "Access not found for this company.",
        "Permission not found.",
    ],
)
async def test_credential_not_found_is_an_error_not_empty(
    mocked: aioresponses, komet: KometClient, method: str, key: str, call: ListCall, message: str
) -> None:
    """A "not found" about the token or user is an APIError, never an empty list."""
    mocked.get(route(method), payload={"status": "0", "message": message})
    with pytest.raises(APIError) as info:
        await call(komet)
    assert info.value.message == message
    assert not info.value.is_not_found


@pytest.mark.parametrize(("method", "key", "call"), LISTS, ids=LIST_IDS)
async def test_missing_payload_key_is_a_format_error(
    mocked: aioresponses, komet: KometClient, method: str, key: str, call: ListCall
) -> None:
    """A success envelope without the payload list is a ResponseFormatError naming the key."""
    mocked.get(route(method), payload={"status": "1", "message": "OK", "items": []})
    with pytest.raises(ResponseFormatError) as info:
        await call(komet)
    err = info.value
    assert err.path == key
    assert err.method == method
    assert str(err) == f"{method}: the response has no {key!r} field"
    assert err.url == f"{BASE}/{method}"


@pytest.mark.parametrize(("method", "key", "call"), LISTS, ids=LIST_IDS)
async def test_html_body_is_a_format_error(
    mocked: aioresponses, komet: KometClient, method: str, key: str, call: ListCall
) -> None:
    """An HTML page with HTTP 200 (a proxy error page) is a ResponseFormatError with excerpt."""
    html = "<html><body>Service temporarily unavailable</body></html>"
    mocked.get(route(method), body=html, content_type="text/html")
    with pytest.raises(ResponseFormatError) as info:
        await call(komet)
    err = info.value
    assert err.path is None
    assert err.method == method
    assert err.body_excerpt == html
    assert str(err) == f"{method}: the response is not JSON: {html!r}"
    assert err.url is not None
    assert TOKEN not in err.url


@pytest.mark.parametrize(("method", "key", "call"), LISTS, ids=LIST_IDS)
@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        (b'{"message": "OK"}', "status", "the response has no 'status' field"),
        (b'{"status": "2"}', "status", "unexpected envelope status '2'"),
        (b'{"status": true}', "status", "unexpected envelope status True"),
        (b"[]", None, "expected a JSON object envelope, got list"),
    ],
)
async def test_bad_envelope_is_a_format_error(
    mocked: aioresponses,
    komet: KometClient,
    method: str,
    key: str,
    call: ListCall,
    body: bytes,
    path: str | None,
    reason: str,
) -> None:
    """JSON that is not a Komet envelope is a ResponseFormatError."""
    mocked.get(route(method), body=body)
    with pytest.raises(ResponseFormatError) as info:
        await call(komet)
    assert info.value.path == path
    assert str(info.value) == f"{method}: {reason}"


async def test_bad_record_names_its_path(mocked: aioresponses, komet: KometClient) -> None:
    """A record that cannot be read fails the call with the record's path and value."""
    customers = [{"id": "1", "name": "a"}, {"id": "2", "name": "b", "salesPersonId": "Julian"}]
    mocked.get(route("customer.list"), payload={"status": "1", "customers": customers})
    with pytest.raises(ResponseFormatError) as info:
        await komet.customers.list()
    assert info.value.path == "customers[1].salesPersonId"
    assert info.value.value == "Julian"
    assert info.value.method == "customer.list"


async def test_nested_bad_value_names_its_path(mocked: aioresponses, komet: KometClient) -> None:
    """A bad breakdown deep in a standing order is named by its full path."""
    data = json.loads(sample("standing.order.list.json"))
    data["standingOrders"][0]["details"][1]["breakdowns"][1]["productId"] = "302A"
    mocked.get(route("standing.order.list"), payload=data)
    with pytest.raises(ResponseFormatError) as info:
        await komet.standing_orders.list(
            date_from=dt.date(2015, 1, 1), date_to=dt.date(2015, 12, 31)
        )
    assert info.value.path == "standingOrders[0].details[1].breakdowns[1].productId"
    assert info.value.value == "302A"


async def test_unknown_fields_are_ignored_by_the_client(
    mocked: aioresponses, komet: KometClient
) -> None:
    """The client decodes leniently: a field Komet adds tomorrow does not break today's code."""
    payload = {"status": "1", "customers": [{"id": "7", "name": "New", "loyaltyTier": "gold"}]}
    mocked.get(route("customer.list"), payload=payload)
    assert [c.id for c in await komet.customers.list()] == [7]


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, HTTPStatusError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
    ],
)
async def test_http_client_errors_are_typed_and_not_retried(
    mocked: aioresponses, komet: KometClient, status: int, cls: type[HTTPStatusError]
) -> None:
    """A 4xx answer raises its typed error after one request, with the token redacted."""
    mocked.get(route("product.list"), status=status, body=f"denied {TOKEN}")
    with pytest.raises(cls) as info:
        await komet.products.list()
    assert type(info.value) is cls
    assert info.value.status == status
    assert info.value.body_excerpt == "denied ***"
    assert info.value.url == f"{BASE}/product.list?authenticationToken=***"
    assert len(sent(mocked)) == 1


async def test_redirect_is_not_followed(mocked: aioresponses, komet: KometClient) -> None:
    """A 3xx is an error and is not followed (it would carry the token elsewhere)."""
    mocked.get(route("product.list"), status=302, headers={"Location": "http://elsewhere.invalid/"})
    with pytest.raises(HTTPStatusError) as info:
        await komet.products.list()
    assert type(info.value) is HTTPStatusError
    assert info.value.status == 302
    assert str(info.value) == "product.list: unexpected HTTP 302"
    assert [url for _, url, _ in sent(mocked)] == [
        f"{BASE}/product.list?authenticationToken={TOKEN}"
    ]


async def test_list_server_errors_are_retried(mocked: aioresponses, komet: KometClient) -> None:
    """A GET that meets a 503 is sent again and succeeds."""
    mocked.get(route("product.list"), status=503)
    mocked.get(route("product.list"), body=sample("product.list.json"))
    assert await komet.products.list() == PRODUCTS
    assert len(sent(mocked)) == 2


# --- customer.update -----------------------------------------------------------------------


async def test_customers_update_sends_the_exact_body(
    mocked: aioresponses, komet: KometClient
) -> None:
    """customer.update POSTs JSON: token first, camelCase keys, 1/0 flags, cents, joined lists."""
    mocked.post(route("customer.update"), body=sample("customer.update.json"))
    request = CustomerUpdate(
        customer_id=25475,
        name="Flores SAS",
        active=True,
        location_codes=("MIA", "BOG"),
        finance_charge_percentage=Decimal("1.5"),
        email_for_invoices=("ap@flores.example", "boss@flores.example"),
        credit_hold=False,
        credit_limit=Decimal("2500"),
        send_invoice_via=("e-mail", "fax"),
        default_price="A",
        markup_value=Decimal("5"),
        markup_type="%",
        last_sales_date=dt.date(2024, 1, 31),
        is_customer_po_required=True,
        e_commerce_markup_sign="$",
        e_commerce_markup_value=Decimal("3.25"),
        display_vendor=2,
        ecommerce_experience=1,
        ecommerce_ship_via=0,
        billing_city="Medellín",
    )
    assert await komet.customers.update(request) == 25475
    http_method, url, kwargs = only_request(mocked)
    assert http_method == "POST"
    assert url == f"{BASE}/customer.update"
    assert "params" not in kwargs
    assert kwargs["headers"]["Content-Type"] == "application/json"
    assert (
        kwargs["data"]
        == (
            '{"authenticationToken":"tok-SECRET-5f3a9c","customerId":25475,"name":"Flores SAS",'
            '"active":1,"locationCodes":"MIA:BOG","financeChargePercentage":1.50,'
            '"emailForInvoices":"ap@flores.example;boss@flores.example","creditHold":0,'
            '"creditLimit":2500.00,"sendInvoiceVia":"e-mail,fax","defaultPrice":"A",'
            '"markupValue":5,"markupType":"%","billingCity":"Medellín",'
            '"lastSalesDate":"2024-01-31","isCustomerPORequired":1,"eCommerceMarkupSign":"$",'
            '"eCommerceMarkupValue":3.25,"displayVendor":2,"ecommerceExperience":1,'
            '"ecommerceShipVia":0}'
        ).encode()
    )


async def test_customers_update_minimal_body(mocked: aioresponses, komet: KometClient) -> None:
    """Fields left as None are not sent: only the token, id and name go out."""
    mocked.post(route("customer.update"), body=sample("customer.update.json"))
    assert await komet.customers.update(CustomerUpdate(customer_id=29775, name="Flores")) == 25475
    _, _, kwargs = only_request(mocked)
    assert (
        kwargs["data"]
        == b'{"authenticationToken":"tok-SECRET-5f3a9c","customerId":29775,"name":"Flores"}'
    )


@pytest.mark.parametrize(
    ("customer_id", "expected"), [("25475", 25475), (25475, 25475), (" 7 ", 7)]
)
async def test_customers_update_returns_the_id_as_int(
    mocked: aioresponses, komet: KometClient, customer_id: Any, expected: int
) -> None:
    """The customerId answer becomes an int, whether sent as a string or a number."""
    mocked.post(route("customer.update"), payload={"status": 1, "customerId": customer_id})
    result = await komet.customers.update(CustomerUpdate(customer_id=1, name="x"))
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("envelope", "value", "reason"),
    [
        (
            {"status": "1", "message": "OK"},
            None,
            "customer.update: the response has no 'customerId' field",
        ),
        (
            {"status": "1", "customerId": "abc"},
            "abc",
            "customer.update: cannot read customerId = 'abc': expected an integer, got 'abc'",
        ),
        (
            {"status": "1", "customerId": None},
            None,
            "customer.update: cannot read customerId = None: expected an integer, got None",
        ),
        (
            {"status": "1", "customerId": ""},
            "",
            "customer.update: cannot read customerId = '': expected an integer, got ''",
        ),
    ],
)
async def test_customers_update_bad_id_is_a_format_error(
    mocked: aioresponses, komet: KometClient, envelope: Any, value: Any, reason: str
) -> None:
    """A missing or unreadable customerId is a ResponseFormatError on customerId."""
    mocked.post(route("customer.update"), payload=envelope)
    with pytest.raises(ResponseFormatError) as info:
        await komet.customers.update(CustomerUpdate(customer_id=1, name="x"))
    assert info.value.path == "customerId"
    assert info.value.value == value
    assert str(info.value) == reason


async def test_customers_update_not_found_is_an_error(
    mocked: aioresponses, komet: KometClient
) -> None:
    """An update of an unknown customer raises APIError: "not found" is only empty for lists."""
    mocked.post(route("customer.update"), payload={"status": "0", "message": "Customer not found."})
    with pytest.raises(APIError) as info:
        await komet.customers.update(CustomerUpdate(customer_id=1, name="x"))
    assert info.value.message == "Customer not found."
    assert info.value.method == "customer.update"
    assert info.value.url == f"{BASE}/customer.update"


async def test_customers_update_html_body_is_a_format_error(
    mocked: aioresponses, komet: KometClient
) -> None:
    """An HTML answer to an update is a ResponseFormatError."""
    mocked.post(route("customer.update"), body="<html>Maintenance</html>", content_type="text/html")
    with pytest.raises(ResponseFormatError) as info:
        await komet.customers.update(CustomerUpdate(customer_id=1, name="x"))
    assert info.value.body_excerpt == "<html>Maintenance</html>"


# --- validation: nothing is sent ----------------------------------------------------------


async def test_invalid_update_sends_nothing(mocked: aioresponses, komet: KometClient) -> None:
    """An invalid CustomerUpdate raises ValidationError with every problem, before any request."""
    bad = CustomerUpdate(
        customer_id=1,
        name=" ",
        credit_limit=12.5,  # type: ignore[arg-type]
        default_price="Z",
        email_for_invoices=("a@x.com;b@x.com",),
    )
    with pytest.raises(ValidationError) as info:
        await komet.customers.update(bad)
    assert info.value.problems == (
        "name: must not be empty",
        "email_for_invoices: item 'a@x.com;b@x.com' contains the separator ';'",
        "credit_limit: expected a Decimal, got float (use Decimal for money: floats lose cents)",
        "default_price: must be one of 'A', 'B', got 'Z'",
    )
    assert info.value.method == "customer.update"
    assert mocked.requests == {}


@pytest.mark.parametrize("update", [{"customerId": 1, "name": "x"}, None, "25475"])
async def test_update_requires_a_customer_update(
    mocked: aioresponses, komet: KometClient, update: Any
) -> None:
    """customers.update refuses anything but a CustomerUpdate, sending nothing."""
    with pytest.raises(ValidationError) as info:
        await komet.customers.update(update)
    assert info.value.problems == (
        f"update: expected a CustomerUpdate, got {type(update).__name__}",
    )
    assert mocked.requests == {}


@pytest.mark.parametrize(
    ("call", "method", "problems"),
    [
        (
            lambda k: k.customers.list(code="T" * 11, sales_person_id="1819"),
            "customer.list",
            (
                "code: at most 10 characters, got 11",
                "sales_person_id: expected an integer, got str",
            ),
        ),
        (
            lambda k: k.customers.list(include_inactive=1, updated_as_of="2017-08-01"),
            "customer.list",
            (
                "include_inactive: expected True or False, got 1",
                "updated_as_of: expected a date, got '2017-08-01'",
            ),
        ),
        (
            lambda k: k.products.list(id="1", legacy_code="L" * 51),
            "product.list",
            ("id: expected an integer, got str", "legacy_code: at most 50 characters, got 51"),
        ),
        (
            lambda k: k.standing_orders.list(
                date_from=dt.date(2015, 2, 1), date_to=dt.date(2015, 1, 1)
            ),
            "standing.order.list",
            ("date_from: 2015-02-01 is after date_to 2015-01-01",),
        ),
        (
            lambda k: k.standing_orders.list(
                date_from="2015-01-01", date_to=dt.date(2015, 1, 1), status="active", number=True
            ),
            "standing.order.list",
            (
                "date_from: expected a date, got '2015-01-01'",
                "number: expected a string, got bool",
                "status: must be one of 'All', 'Active', 'Cancelled', got 'active'",
            ),
        ),
        (
            lambda k: k.standing_orders.list(date_from=None, date_to=None),
            "standing.order.list",
            ("date_from: required", "date_to: required"),
        ),
    ],
)
async def test_invalid_list_filters_send_nothing(
    mocked: aioresponses, komet: KometClient, call: Any, method: str, problems: tuple[str, ...]
) -> None:
    """Bad list filters raise ValidationError listing every problem, before any request."""
    with pytest.raises(ValidationError) as info:
        await call(komet)
    assert info.value.problems == problems
    assert info.value.method == method
    assert mocked.requests == {}


# --- call(): any method -------------------------------------------------------------------


async def test_call_get_adds_the_token_and_encodes_params(
    mocked: aioresponses, komet: KometClient
) -> None:
    """call() GETs with the token first and params spelled like the endpoints spell them."""
    envelope = {"status": "1", "message": "OK", "locations": [{"id": "1", "code": "MIA"}]}
    mocked.get(route("location.list"), payload=envelope)
    result = await komet.call(
        "location.list",
        params={
            "active": True,
            "asOf": dt.date(2024, 1, 31),
            "skip": None,
            "codes": ["MIA", "BOG"],
        },
    )
    assert result == envelope
    http_method, url, kwargs = only_request(mocked)
    assert http_method == "GET"
    query = "active=true&asOf=2024-01-31&codes=MIA,BOG"
    assert url == f"{BASE}/location.list?authenticationToken={TOKEN}&{query}"
    assert kwargs["data"] is None


async def test_call_get_without_params(mocked: aioresponses, komet: KometClient) -> None:
    """call() without params or json is a GET with only the token."""
    mocked.get(route("payment.method.list"), payload={"status": 1, "paymentMethods": []})
    assert await komet.call("payment.method.list") == {"status": 1, "paymentMethods": []}
    _, url, _ = only_request(mocked)
    assert url == f"{BASE}/payment.method.list?authenticationToken={TOKEN}"


async def test_call_leaves_not_found_to_the_caller(
    mocked: aioresponses, komet: KometClient
) -> None:
    """call() raises APIError for a "not found" status 0, flagged is_not_found."""
    mocked.get(route("location.list"), payload={"status": "0", "message": "Locations not found."})
    with pytest.raises(APIError) as info:
        await komet.call("location.list")
    assert info.value.is_not_found


async def test_call_post_sends_the_exact_body(mocked: aioresponses, komet: KometClient) -> None:
    """call() with json POSTs the token first, then the fields, Decimals exact."""
    envelope = {"status": "1", "message": "OK", "customerId": 30001}
    mocked.post(route("customer.add"), payload=envelope)
    result = await komet.call(
        "customer.add",
        json={
            "name": "Nueva Flor",
            "creditLimit": Decimal("1500.50"),
            "active": 1,
            "tags": ["a", "b"],
        },
    )
    assert result == envelope
    http_method, url, kwargs = only_request(mocked)
    assert http_method == "POST"
    assert url == f"{BASE}/customer.add"
    assert "params" not in kwargs
    assert kwargs["headers"]["Content-Type"] == "application/json"
    assert kwargs["data"] == (
        b'{"authenticationToken":"tok-SECRET-5f3a9c","name":"Nueva Flor",'
        b'"creditLimit":1500.50,"active":1,"tags":["a","b"]}'
    )


async def test_call_post_params_go_in_the_query_without_the_token(
    mocked: aioresponses, komet: KometClient
) -> None:
    """A POST's params go in the query string; the token only in the body."""
    mocked.post(route("customer.add"), payload={"status": "1"})
    await komet.call("customer.add", json={"name": "x"}, params={"dryRun": True})
    _, url, kwargs = only_request(mocked)
    assert url == f"{BASE}/customer.add?dryRun=true"
    assert kwargs["data"] == b'{"authenticationToken":"tok-SECRET-5f3a9c","name":"x"}'


async def test_call_post_empty_json_is_still_a_post(
    mocked: aioresponses, komet: KometClient
) -> None:
    """json={} means POST with only the token in the body."""
    mocked.post(route("session.touch"), payload={"status": "1"})
    await komet.call("session.touch", json={})
    http_method, _, kwargs = only_request(mocked)
    assert http_method == "POST"
    assert kwargs["data"] == b'{"authenticationToken":"tok-SECRET-5f3a9c"}'


async def test_call_post_is_not_retried_unless_idempotent(
    mocked: aioresponses, komet: KometClient
) -> None:
    """A POST that met a 500 may have been applied: it is not sent again by default."""
    mocked.post(route("customer.add"), status=500)
    mocked.post(route("customer.add"), payload={"status": "1"})
    with pytest.raises(ServerError):
        await komet.call("customer.add", json={"name": "x"})
    assert len(sent(mocked)) == 1


async def test_call_post_idempotent_is_retried(mocked: aioresponses, komet: KometClient) -> None:
    """idempotent=True lets a POST be sent again after a 500."""
    mocked.post(route("customer.update"), status=500)
    mocked.post(route("customer.update"), payload={"status": "1", "customerId": "5"})
    result = await komet.call(
        "customer.update", json={"customerId": 5, "name": "x"}, idempotent=True
    )
    assert result == {"status": "1", "customerId": "5"}
    bodies = [kwargs["data"] for _, _, kwargs in sent(mocked)]
    assert bodies == [b'{"authenticationToken":"tok-SECRET-5f3a9c","customerId":5,"name":"x"}'] * 2


@pytest.mark.parametrize(
    "method",
    [
        "",
        " customer.list",
        "customer list",
        "customer..list",
        ".list",
        "customer.list.",
        "1customer.list",
        "customer.list/../admin",
        "../customer.list",
        "customer.list?id=1",
        "customer.list#x",
        "https://evil.example/steal",
        "customer/list",
        "customer.list\n",
        "clienté.list",
        None,
        5,
    ],
)
async def test_call_refuses_invalid_method_names(
    mocked: aioresponses, komet: KometClient, method: Any
) -> None:
    """Method names that are not dotted identifiers are refused before anything is sent."""
    with pytest.raises(ValidationError) as info:
        await komet.call(method)
    assert info.value.problems == (f"method: not a Komet method name: {method!r}",)
    assert mocked.requests == {}


@pytest.mark.parametrize(
    "method", ["customer.list", "payment.method.list", "location_list", "a", "v2.x_y"]
)
async def test_call_accepts_dotted_names(
    mocked: aioresponses, komet: KometClient, method: str
) -> None:
    """Dotted identifiers are accepted and become the URL path."""
    mocked.get(route(method), payload={"status": "1"})
    assert await komet.call(method) == {"status": "1"}
    _, url, _ = only_request(mocked)
    assert url == f"{BASE}/{method}?authenticationToken={TOKEN}"


def _padded_body(size: int) -> dict[str, str]:
    """JSON fields whose encoded body (token included) is exactly ``size`` bytes."""
    overhead = len(f'{{"authenticationToken":"{TOKEN}","pad":""}}')
    return {"pad": "x" * (size - overhead)}


async def test_call_accepts_a_body_of_exactly_64_kb(
    mocked: aioresponses, komet: KometClient
) -> None:
    """A body of exactly 64 KB is sent."""
    assert MAX_REQUEST_BYTES == 65_536
    mocked.post(route("customer.add"), payload={"status": "1"})
    await komet.call("customer.add", json=_padded_body(MAX_REQUEST_BYTES))
    _, _, kwargs = only_request(mocked)
    assert len(kwargs["data"]) == MAX_REQUEST_BYTES


@pytest.mark.parametrize("size", [MAX_REQUEST_BYTES + 1, 200_000])
async def test_call_refuses_a_body_over_64_kb(
    mocked: aioresponses, komet: KometClient, size: int
) -> None:
    """A body over 64 KB is refused before sending, with its size in the problem."""
    with pytest.raises(ValidationError) as info:
        await komet.call("customer.add", json=_padded_body(size))
    assert info.value.problems == (f"body: {size:,} bytes; Komet accepts at most 65,536",)
    assert info.value.method == "customer.add"
    assert mocked.requests == {}


async def test_call_refuses_a_body_that_is_too_big_in_utf8(
    mocked: aioresponses, komet: KometClient
) -> None:
    """The limit counts encoded bytes, not characters."""
    with pytest.raises(ValidationError, match="body: 70,0"):
        await komet.call("customer.add", json={"name": "é" * 35_000})
    assert mocked.requests == {}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (Decimal("NaN"), "json: cannot send the non-finite decimal NaN"),
        (float("inf"), "json: cannot send the non-finite number inf"),
        ({1, 2}, "json: Object of type set is not JSON serializable"),
    ],
)
async def test_call_refuses_unencodable_json(
    mocked: aioresponses, komet: KometClient, value: Any, problem: str
) -> None:
    """A body that cannot be JSON is a ValidationError, and nothing is sent."""
    with pytest.raises(ValidationError) as info:
        await komet.call("customer.add", json={"x": value})
    assert info.value.problems == (problem,)
    assert mocked.requests == {}


async def test_get_larger_than_64kb_is_refused_before_sending(
    mocked: aioresponses, komet: KometClient
) -> None:
    """A GET whose URL would pass 64 KB is a ValidationError and nothing is sent."""
    with pytest.raises(ValidationError, match=r"params: the URL is [\d,]+ bytes"):
        await komet.call("customer.list", params={"name": "x" * 70_000})
    assert mocked.requests == {}


@pytest.mark.parametrize(
    "value",
    ["x" * 10, "x" * 65_000, "x" * 65_600, "\U0001f339" * 5_000, "\U0001f339" * 5_500, "é" * 5_400],
)
def test_url_size_shortcut_agrees_with_the_exact_length_at_the_limit(value: str) -> None:
    """The cheap URL size bound refuses exactly the URLs whose encoded length passes 64 KB."""
    base, method = "https://api.kometsales.com/api", "customer.list"
    query = {"authenticationToken": "tok", "name": value}
    exact = len(urllib.parse.urlencode(query)) + len(base) + len(method) + 2
    assert (_url_size(base, method, query) > MAX_REQUEST_BYTES) == (exact > MAX_REQUEST_BYTES)


@pytest.mark.parametrize("where", ["params", "json"])
async def test_caller_cannot_override_the_token(
    mocked: aioresponses, komet: KometClient, where: str
) -> None:
    """Passing authenticationToken in params or json is refused before sending."""
    values = {"authenticationToken": "other", "name": "x"}
    call = (
        komet.call("customer.list", params=values)
        if where == "params"
        else komet.call("customer.update", json=values)
    )
    with pytest.raises(ValidationError, match="authenticationToken is added by the client"):
        await call
    assert mocked.requests == {}
