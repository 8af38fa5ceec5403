"""Whole response bodies, garbage or nearly right, through the clients' own decode path.

The clients run for real; only the HTTP exchange (``SessionManager.request``)
is replaced by one returning the fuzzed body with status 200, so the envelope
check, ``decode_json``, the not-found rule and ``Decoder.structure`` all run
as they do against a server.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from unittest import mock

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from komet_async import APIError, CustomerUpdate, KometClient, ResponseFormatError
from komet_async import _sansio as sansio
from komet_async._session import RequestSpec
from komet_async.kounta import BasicAuth, KountaClient
from komet_async.kounta import models as kounta
from komet_async.models import Customer, Product, StandingOrder

from .conftest import FUZZ
from .payloads import komet_bases, kounta_bases
from .strategies import json_values, paths, replaced

TOKEN = "tok-FUZZ-0b1c2d3e4f"

#: Komet list calls: the envelope key and the model of its records.
KOMET_LISTS: dict[str, tuple[str, type[Any]]] = {
    "customer.list": ("customers", Customer),
    "product.list": ("products", Product),
    "standing.order.list": ("standingOrders", StandingOrder),
}


def komet_call(client: KometClient, method: str) -> Awaitable[Any]:
    if method == "customer.list":
        return client.customers.list()
    if method == "product.list":
        return client.products.list()
    if method == "standing.order.list":
        return client.standing_orders.list(
            date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 2, 1)
        )
    return client.customers.update(CustomerUpdate(customer_id=25475, name="Flores SAS"))


def kounta_call(client: KountaClient, route: str) -> Awaitable[Any]:
    if route == "customers.get":
        return client.customers.get(389001)
    if route == "customers.list":
        return client.customers.list().collect(max_items=50)
    if route == "customers.find_by_reference":
        return client.customers.find_by_reference("ABC123")
    return client.webhooks.list()


def answering(body: bytes) -> Callable[..., Coroutine[Any, Any, sansio.Response]]:
    async def request(spec: RequestSpec, **options: Any) -> sansio.Response:
        return sansio.Response(200, {"Content-Type": "application/json"}, body, spec.url)

    return request


def dumped(value: Any) -> bytes:
    """``value`` as a JSON body (NaN and Infinity spelled the way stdlib json does)."""
    try:
        return json.dumps(value).encode("utf-8", errors="surrogatepass")
    except ValueError:  # an int too long for str(): no server can send it either
        assume(False)
        raise


def envelope_bodies(key: str, model: type[Any]) -> st.SearchStrategy[bytes]:
    """Komet envelopes: odd statuses and messages, records with one value replaced."""
    records = komet_bases()[model]

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        status: object = draw(st.sampled_from(["1", 1, "0", 0, True, "2", "", None, 1.0, [1], {}]))
        envelope: dict[str, Any] = {"status": status}
        if draw(st.booleans()):
            envelope["message"] = draw(
                st.one_of(
                    st.sampled_from(["OK", "Customers not found.", "Token not found."]), json_values
                )
            )
        payload: Any = records
        if draw(st.booleans()):
            where = draw(st.sampled_from(list(paths(records))))
            payload = replaced(records, where, draw(json_values))
        elif draw(st.booleans()):
            payload = draw(json_values)
        if draw(st.integers(0, 9)) > 0:
            envelope[key] = payload
        return dumped(envelope)

    return build()


def mangled(body: bytes) -> st.SearchStrategy[bytes]:
    """A valid body cut short, with a byte changed, or with garbage added."""
    return st.one_of(
        st.integers(0, len(body)).map(lambda n: body[:n]),
        st.tuples(st.integers(0, len(body) - 1), st.integers(0, 255)).map(
            lambda p: body[: p[0]] + bytes([p[1]]) + body[p[0] + 1 :]
        ),
        st.binary(max_size=8).map(lambda tail: body + tail),
    )


def any_body(method_key: str, model: type[Any]) -> st.SearchStrategy[bytes]:
    valid = dumped({"status": "1", "message": "OK", method_key: komet_bases()[model]})
    return st.one_of(
        envelope_bodies(method_key, model),
        json_values.map(dumped),
        st.binary(max_size=64),
        mangled(valid),
    )


async def outcome(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except (ResponseFormatError, APIError) as exc:
        return exc


@pytest.mark.parametrize("method", [*KOMET_LISTS, "customer.update"])
@FUZZ
@given(data=st.data())
async def test_komet_bodies_decode_or_raise_typed(method: str, data: Any) -> None:
    """Any 200 body for a Komet call gives records, [], an id, ResponseFormatError or APIError."""
    key, model = KOMET_LISTS.get(method, ("customerId", Customer))
    body = data.draw(any_body(key, model) if method in KOMET_LISTS else json_values.map(dumped))
    client = KometClient(TOKEN)
    client._core.request = answering(body)  # type: ignore[method-assign]
    result = await outcome(komet_call(client, method))
    if isinstance(result, APIError):
        assert not result.is_not_found or method == "customer.update"
        assert str(result) == f"{method}: {result.message}"
    elif isinstance(result, ResponseFormatError):
        assert result.method == method
        assert str(result).startswith(f"{method}: ")
        assert TOKEN not in repr(result)
    elif method == "customer.update":
        assert type(result) is int
    else:
        assert isinstance(result, list)
        assert all(type(r) is model for r in result)


KOUNTA_ROUTES: dict[str, tuple[type[Any], bool]] = {
    "customers.get": (kounta.Customer, False),
    "customers.list": (kounta.Customer, True),
    "customers.find_by_reference": (kounta.Customer, True),
    "webhooks.list": (kounta.Webhook, True),
}


def kounta_bodies(model: type[Any], many: bool) -> st.SearchStrategy[bytes]:
    records = kounta_bases()[model]
    valid: Any = records if many else records[0]

    @st.composite
    def one_changed(draw: st.DrawFn) -> bytes:
        where = draw(st.sampled_from(list(paths(valid))))
        return dumped(replaced(valid, where, draw(json_values)))

    return st.one_of(
        one_changed(), json_values.map(dumped), st.binary(max_size=64), mangled(dumped(valid))
    )


@pytest.mark.parametrize("route", list(KOUNTA_ROUTES))
@FUZZ
@given(data=st.data())
async def test_kounta_bodies_decode_or_raise_typed(route: str, data: Any) -> None:
    """Any 200 body for a Kounta call gives its records or a ResponseFormatError."""
    model, many = KOUNTA_ROUTES[route]
    body = data.draw(kounta_bodies(model, many))
    client = KountaClient(5678, auth=BasicAuth("fuzz-id", TOKEN), rate_limit=None)
    client._core.request = answering(body)  # type: ignore[method-assign]
    result = await outcome(kounta_call(client, route))
    if isinstance(result, ResponseFormatError):
        assert result.method == route
        assert str(result).startswith(f"{route}: ")
        assert TOKEN not in repr(result)
    elif many:
        assert isinstance(result, list)
        assert all(type(r) is model for r in result)
    else:
        assert type(result) is model


PARSERS = {"orjson": sansio._loads, "json": json.loads}


@pytest.mark.parametrize("parser", list(PARSERS))
@FUZZ
@given(body=st.one_of(st.binary(max_size=64), json_values.map(dumped)))
def test_decode_json_raises_only_value_error(parser: str, body: bytes) -> None:
    """decode_json (orjson or stdlib) gives data or ValueError; the envelope check a typed error."""
    with mock.patch.object(sansio, "_loads", PARSERS[parser]):
        try:
            data = sansio.decode_json(body)
        except ValueError:
            return
    try:
        envelope = sansio.decipher_envelope(data, method="m", url="u")
    except (ResponseFormatError, APIError):
        return
    assert envelope is data


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(["Retry-After", "retry-after", "X-Ratelimit-Reset", "X-Other"]),
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                [
                    "99999999",
                    "-1",
                    "nan",
                    "inf",
                    "1e308",
                    "1e309",
                    "0x10",
                    "Wed, 21 Oct 2015 07:28:00 GMT",
                    "Fri, 31 Dec 9999 23:59:59 GMT",
                    "Mon, 01 Jan 0001 00:00:00 GMT",
                    "Sun, 32 Foo 99999 99:99:99 XYZ",
                ]
            ),
        ),
    ),
    now=st.floats(0, 4e9),
)
def test_parse_retry_after_is_none_or_a_finite_non_negative_number(
    headers: dict[str, str], now: float
) -> None:
    """Any Retry-After / X-Ratelimit-Reset spelling gives None or a finite wait >= 0."""
    wait = sansio.parse_retry_after(headers, now)
    assert wait is None or (math.isfinite(wait) and wait >= 0)
