"""Pure request building and response deciphering: ``komet_async._sansio``, no sockets."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from decimal import Decimal
from typing import Any

import pytest
from multidict import CIMultiDict

from komet_async import (
    APIError,
    AuthenticationError,
    HTTPStatusError,
    NotFoundError,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
    _sansio,
)
from komet_async._redact import Redactor
from komet_async._sansio import (
    EXCERPT_CHARS,
    RecordPick,
    Response,
    body_excerpt,
    build_query,
    decipher_envelope,
    decode_json,
    decode_picked,
    encode_json_body,
    encode_query_value,
    error_for_status,
    parse_retry_after,
)

from .conftest import TOKEN

_msgspec = _sansio._msgspec

NOW = 1_750_000_000.0  # Sun, 15 Jun 2025 15:06:40 GMT
REDACTOR = Redactor.of(TOKEN)
URL = f"https://api.kometsales.com/api/customer.list?authenticationToken={TOKEN}&code=T1"
REDACTED_URL = "https://api.kometsales.com/api/customer.list?authenticationToken=***&code=T1"


def http_date(offset: float) -> str:
    return email.utils.formatdate(NOW + offset, usegmt=True)


# --- encode_query_value / build_query ----------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (dt.date(2015, 1, 1), "2015-01-01"),
        (dt.date(2015, 12, 31), "2015-12-31"),
        (dt.datetime(2017, 8, 2, 12, 15, 17), "2017-08-02T12:15:17"),
        (dt.datetime(2017, 8, 2, 12, 15, 17, 999_999), "2017-08-02T12:15:17"),
        (dt.datetime(2017, 8, 2), "2017-08-02T00:00:00"),
        (25475, "25475"),
        (0, "0"),
        (-3, "-3"),
        (Decimal("12.50"), "12.50"),
        ("flores sas", "flores sas"),
        ("", ""),
        (["a", "b", "c"], "a,b,c"),
        (("e-mail", "fax"), "e-mail,fax"),
        ([1, True, dt.date(2015, 1, 1)], "1,true,2015-01-01"),
        ([], ""),
    ],
)
def test_encode_query_value(value: Any, expected: str) -> None:
    """Each value is spelled the Komet way: true/false, YYYY-MM-DD, comma lists, str()."""
    assert encode_query_value(value) == expected


def test_build_query_drops_none_and_keeps_falsy_values_in_order() -> None:
    """None is left out; 0, False and "" are real values and stay, in the given order."""
    query = build_query(
        {
            "id": None,
            "name": "flores",
            "includeInactive": False,
            "locationId": 0,
            "code": "",
            "updateAsOf": dt.date(2017, 8, 1),
            "salesPersonId": None,
            "tags": ["standard", "xmas"],
        }
    )
    assert list(query.items()) == [
        ("name", "flores"),
        ("includeInactive", "false"),
        ("locationId", "0"),
        ("code", ""),
        ("updateAsOf", "2017-08-01"),
        ("tags", "standard,xmas"),
    ]


def test_build_query_of_nothing_is_empty() -> None:
    """An empty or all-None mapping encodes to an empty query."""
    assert build_query({}) == {}
    assert build_query({"a": None, "b": None}) == {}


# --- encode_json_body -------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"creditLimit": Decimal("2500.00")}, b'{"creditLimit":2500.00}'),
        ({"creditLimit": Decimal("2500")}, b'{"creditLimit":2500}'),
        ({"x": Decimal("-0.10")}, b'{"x":-0.10}'),
        ({"x": Decimal("1E+3")}, b'{"x":1000}'),
        ({"x": Decimal("1E-7")}, b'{"x":0.0000001}'),
        (
            {"x": Decimal("123.4567890123456789012345678901")},
            b'{"x":123.4567890123456789012345678901}',
        ),
        (
            {"a": 1, "b": 1.5, "c": True, "d": False, "e": None},
            b'{"a":1,"b":1.5,"c":true,"d":false,"e":null}',
        ),
        ({"d": dt.date(2024, 1, 31)}, b'{"d":"2024-01-31"}'),
        ({"t": dt.datetime(2017, 8, 2, 12, 15, 17)}, b'{"t":"2017-08-02T12:15:17"}'),
        ({"name": 'Julian Mejía "JM"'}, '{"name":"Julian Mejía \\"JM\\""}'.encode()),
        (
            {"a": [1, [Decimal("2.50")], {"b": (Decimal("0.01"),)}]},
            b'{"a":[1,[2.50],{"b":[0.01]}]}',
        ),
        ({"outer": {"inner": {"value": Decimal("10.00")}}}, b'{"outer":{"inner":{"value":10.00}}}'),
        ({}, b"{}"),
        ([], b"[]"),
        ({5: "int key"}, b'{"5":"int key"}'),
    ],
)
def test_encode_json_body_exact_bytes(payload: Any, expected: bytes) -> None:
    """Bodies are compact UTF-8 JSON; Decimals keep their exact digits, nested or not."""
    assert encode_json_body(payload) == expected


def test_encode_json_body_keeps_key_order_and_parses_back() -> None:
    """The body keeps the caller's key order and parses back to the same values."""
    payload = {"authenticationToken": TOKEN, "customerId": 25475, "creditLimit": Decimal("2500.00")}
    body = encode_json_body(payload)
    assert body.startswith(b'{"authenticationToken":')
    assert json.loads(body, parse_float=Decimal) == payload
    assert list(json.loads(body)) == ["authenticationToken", "customerId", "creditLimit"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Decimal("NaN"), "cannot send the non-finite decimal NaN"),
        (Decimal("sNaN"), "cannot send the non-finite decimal sNaN"),
        (Decimal("Infinity"), "cannot send the non-finite decimal Infinity"),
        (Decimal("-Infinity"), "cannot send the non-finite decimal -Infinity"),
        (float("nan"), "cannot send the non-finite number nan"),
        (float("inf"), "cannot send the non-finite number inf"),
        (float("-inf"), "cannot send the non-finite number -inf"),
    ],
)
def test_encode_json_body_rejects_non_finite_numbers(value: Any, message: str) -> None:
    """NaN and infinities (Decimal or float), even nested, are a ValueError, not bad JSON."""
    with pytest.raises(ValueError, match=f"^{message}$"):
        encode_json_body({"a": [{"b": value}]})


@pytest.mark.parametrize("value", [{1, 2}, object(), b"bytes"])
def test_encode_json_body_rejects_unserialisable_values(value: Any) -> None:
    """Values JSON cannot represent raise TypeError."""
    with pytest.raises(TypeError, match="is not JSON serializable"):
        encode_json_body({"x": value})


# --- decode_json ----------------------------------------------------------------


def test_decode_json_parses_bytes() -> None:
    """A JSON body becomes Python data (non-ASCII text included)."""
    assert decode_json('{"a": ["Mejía", 1, 1.5, null]}'.encode()) == {"a": ["Mejía", 1, 1.5, None]}


@pytest.mark.parametrize(
    "body", [b"", b"<html>502 Bad Gateway</html>", b'{"status": "1"', b"\xff\xfe"]
)
def test_decode_json_raises_value_error_for_non_json(body: bytes) -> None:
    """Anything that is not JSON raises ValueError (whatever the parser)."""
    with pytest.raises(ValueError):  # noqa: PT011 - the contract is "a ValueError"
        decode_json(body)


# --- decipher_envelope ----------------------------------------------------------


@pytest.mark.parametrize("status", ["1", 1])
def test_decipher_envelope_success_returns_the_envelope(status: Any) -> None:
    """Status "1" or 1 is success: the envelope itself is returned."""
    data = {"status": status, "message": "OK", "customers": []}
    assert decipher_envelope(data, method="customer.list", url=REDACTED_URL) is data


@pytest.mark.parametrize("status", ["0", 0])
def test_decipher_envelope_failure_raises_api_error_with_message(status: Any) -> None:
    """Status "0" or 0 raises APIError carrying the server's message, method, url, envelope."""
    data = {"status": status, "message": "Invalid date range."}
    with pytest.raises(APIError) as info:
        decipher_envelope(data, method="standing.order.list", url=REDACTED_URL)
    err = info.value
    assert err.message == "Invalid date range."
    assert str(err) == "standing.order.list: Invalid date range."
    assert err.method == "standing.order.list"
    assert err.url == REDACTED_URL
    assert err.envelope == data
    assert not err.is_not_found


@pytest.mark.parametrize(
    "data",
    [
        {"status": "0"},
        {"status": 0, "message": ""},
        {"status": "0", "message": None},
        {"status": 0, "message": 5},
    ],
)
def test_decipher_envelope_failure_without_usable_message(data: dict[str, Any]) -> None:
    """A status 0 with no text message still raises APIError with a generic message."""
    with pytest.raises(APIError) as info:
        decipher_envelope(data, method="customer.list", url=REDACTED_URL)
    assert info.value.message == "request failed (status 0)"


@pytest.mark.parametrize(
    ("message", "not_found"),
    [
        ("Customers not found.", True),
        ("Standing orders not found.", True),
        ("Token not found.", False),
        ("Authentication token not found", False),
        ("User not found.", False),
        ("No products found", True),
        ("No standing orders were found.", True),
        ("No valid token found", False),
        ("Customer found", False),
        ("Notfound", False),
    ],
)
def test_decipher_envelope_not_found_messages(message: str, not_found: bool) -> None:
    """An empty-result "not found" is flagged; a credential "not found" never is."""
    with pytest.raises(APIError) as info:
        decipher_envelope({"status": "0", "message": message}, method="m", url="u")
    assert info.value.is_not_found is not_found


def test_decipher_envelope_redacts_an_echoed_token() -> None:
    """A server message that echoes the token is redacted in the message and envelope."""
    data = {"status": "0", "message": f"Invalid token {TOKEN}", "echo": TOKEN, "n": 1}
    with pytest.raises(APIError) as info:
        decipher_envelope(data, method="customer.list", url=REDACTED_URL, redactor=REDACTOR)
    assert info.value.message == "Invalid token ***"
    assert info.value.envelope == {
        "status": "0",
        "message": "Invalid token ***",
        "echo": "***",
        "n": 1,
    }


@pytest.mark.parametrize(
    "status", [True, False, "2", 2, -1, 1.0, None, "ok", "", " 1", "true", [1], {"code": 1}]
)
def test_decipher_envelope_rejects_unknown_statuses(status: Any) -> None:
    """Statuses other than "1"/1/"0"/0 (booleans included) are a ResponseFormatError."""
    with pytest.raises(ResponseFormatError) as info:
        decipher_envelope({"status": status, "message": "OK"}, method="customer.list", url="u")
    err = info.value
    assert err.path == "status"
    assert err.value == status
    assert err.method == "customer.list"
    assert err.url == "u"
    assert str(err) == f"customer.list: unexpected envelope status {status!r}"


def test_decipher_envelope_without_status() -> None:
    """An object without a status field is a ResponseFormatError naming 'status'."""
    with pytest.raises(ResponseFormatError) as info:
        decipher_envelope({"message": "OK", "customers": []}, method="customer.list", url="u")
    assert info.value.path == "status"
    assert str(info.value) == "customer.list: the response has no 'status' field"


@pytest.mark.parametrize(
    ("data", "kind"),
    [([1, 2], "list"), ("OK", "str"), (None, "NoneType"), (1, "int")],
)
def test_decipher_envelope_rejects_non_objects(data: Any, kind: str) -> None:
    """A body that is not a JSON object is a ResponseFormatError with no path."""
    with pytest.raises(ResponseFormatError) as info:
        decipher_envelope(data, method="product.list", url="u")
    assert info.value.path is None
    assert info.value.value == data
    assert str(info.value) == f"product.list: expected a JSON object envelope, got {kind}"


def test_decipher_envelope_shortens_a_huge_non_object() -> None:
    """The value kept for a huge non-object body is a short repr, not the whole body."""
    with pytest.raises(ResponseFormatError) as info:
        decipher_envelope(["x" * 10], method="m", url="u")
    assert info.value.value == ["x" * 10]
    with pytest.raises(ResponseFormatError) as info:
        decipher_envelope(["x" * 1000], method="m", url="u")
    assert info.value.value == repr(["x" * 1000])[:EXCERPT_CHARS] + "…"


# --- error_for_status ---------------------------------------------------------------


def response(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None, url: str = URL
) -> Response:
    return Response(status, CIMultiDict(headers or {}), body, url)


@pytest.mark.parametrize("status", [100, 200, 201, 204, 301, 302, 304, 399])
def test_error_for_status_is_none_below_400(status: int) -> None:
    """1xx-3xx are not errors here."""
    assert error_for_status(response(status), method="m", redactor=REDACTOR, now=NOW) is None


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, HTTPStatusError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (405, HTTPStatusError),
        (408, HTTPStatusError),
        (413, HTTPStatusError),
        (418, HTTPStatusError),
        (499, HTTPStatusError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
    ],
)
def test_error_for_status_maps_status_to_type(status: int, cls: type[HTTPStatusError]) -> None:
    """Each error status gets its typed error (exact type), with redacted url/headers/excerpt."""
    err = error_for_status(
        response(status, f"oops {TOKEN}".encode(), {"Set-Cookie": "s=1", "X-Id": TOKEN}),
        method="customer.list",
        redactor=REDACTOR,
        now=NOW,
    )
    assert type(err) is cls
    assert err.status == status
    assert err.method == "customer.list"
    assert err.url == REDACTED_URL
    assert err.headers == {"Set-Cookie": "***", "X-Id": "***"}
    assert err.body_excerpt == "oops ***"
    assert str(err) == f"HTTP {status} from customer.list: oops ***"
    assert TOKEN not in repr(err)


def test_error_for_status_without_body_has_no_excerpt() -> None:
    """An empty error body leaves the message without a trailing excerpt."""
    err = error_for_status(response(503), method="product.list", redactor=REDACTOR, now=NOW)
    assert str(err) == "HTTP 503 from product.list"
    assert err is not None
    assert err.body_excerpt == ""


@pytest.mark.parametrize(
    ("headers", "retry_after", "text"),
    [
        ({"Retry-After": "120"}, 120.0, "HTTP 429 from m (retry after 120 s): Limit exceeded"),
        ({"Retry-After": "1.5"}, 1.5, "HTTP 429 from m (retry after 1.5 s): Limit exceeded"),
        (
            {"Retry-After": http_date(30)},
            30.0,
            "HTTP 429 from m (retry after 30 s): Limit exceeded",
        ),
        (
            {"X-Ratelimit-Reset": str(int(NOW) + 42)},
            42.0,
            "HTTP 429 from m (retry after 42 s): Limit exceeded",
        ),
        ({}, None, "HTTP 429 from m: Limit exceeded"),
        ({"Retry-After": "soon"}, None, "HTTP 429 from m: Limit exceeded"),
    ],
)
def test_error_for_status_429_carries_retry_after(
    headers: dict[str, str], retry_after: float | None, text: str
) -> None:
    """A 429 is a RateLimitedError with retry_after from Retry-After or X-Ratelimit-Reset."""
    err = error_for_status(
        response(429, b"Limit exceeded", headers), method="m", redactor=REDACTOR, now=NOW
    )
    assert type(err) is RateLimitedError
    assert err.status == 429
    assert err.retry_after == retry_after
    assert str(err) == text
    assert err.body_excerpt == "Limit exceeded"
    assert err.url == REDACTED_URL


# --- parse_retry_after --------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": " 7 "}, 7.0),
        ({"Retry-After": "2.5"}, 2.5),
        ({"Retry-After": http_date(30)}, 30.0),
        ({"Retry-After": http_date(3600)}, 3600.0),
        ({"Retry-After": http_date(-30)}, 0.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 -0000"}, 0.0),
        ({"Retry-After": "Sun, 15 Jun 2025 15:07:40"}, 60.0),  # no zone: read as UTC
        ({"Retry-After": "Sun, 15 Jun 2025 17:07:40 +0200"}, 60.0),
        ({"Retry-After": "-3"}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": ""}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "1e400"}, None),
        ({"Retry-After": "Wed, 99 Oct 2015 07:28:00 GMT"}, None),
        ({"X-Ratelimit-Reset": str(int(NOW) + 42)}, 42.0),
        ({"X-Ratelimit-Reset": str(int(NOW) - 42)}, 0.0),
        ({"X-Ratelimit-Reset": "12"}, 0.0),  # a Unix time long past
        ({"X-Ratelimit-Reset": "0"}, None),
        ({"X-Ratelimit-Reset": "-5"}, None),
        ({"X-Ratelimit-Reset": "abc"}, None),
        ({"X-Ratelimit-Reset": ""}, None),
        ({"Retry-After": "10", "X-Ratelimit-Reset": str(int(NOW) + 42)}, 10.0),
        ({"Retry-After": "soon", "X-Ratelimit-Reset": str(int(NOW) + 5)}, 5.0),
        ({"Retry-After": "-3", "X-Ratelimit-Reset": str(int(NOW) + 5)}, 5.0),
        ({"retry-after": "7"}, 7.0),
        ({"RETRY-AFTER": "7"}, 7.0),
        ({"x-ratelimit-reset": str(int(NOW) + 9)}, 9.0),
        ({}, None),
        ({"X-Ratelimit-Remaining": "0"}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    """Seconds, HTTP dates and reset times become a wait; garbage and negatives are None."""
    assert parse_retry_after(headers, NOW) == expected


def test_parse_retry_after_reads_case_insensitive_multidicts() -> None:
    """Case-insensitive multidicts (what aiohttp gives) are read like plain dicts."""
    assert parse_retry_after(CIMultiDict({"retry-after": "4"}), NOW) == 4.0


# --- body_excerpt -----------------------------------------------------------------------


def test_body_excerpt_keeps_a_short_body_whole() -> None:
    """A short body comes back as its text."""
    assert body_excerpt(b"<html>Bad Gateway</html>", REDACTOR) == "<html>Bad Gateway</html>"
    assert body_excerpt(b"", REDACTOR) == ""


def test_body_excerpt_truncates_long_bodies() -> None:
    """Bodies longer than the limit are cut at EXCERPT_CHARS characters with an ellipsis."""
    assert EXCERPT_CHARS == 200
    assert body_excerpt(b"x" * 200, REDACTOR) == "x" * 200
    assert body_excerpt(b"x" * 201, REDACTOR) == "x" * 200 + "…"
    assert body_excerpt(b"abcdef", REDACTOR, limit=3) == "abc…"


def test_body_excerpt_counts_characters_not_bytes() -> None:
    """Multi-byte characters count once each towards the limit."""
    assert body_excerpt("é".encode() * 200, REDACTOR) == "é" * 200
    assert body_excerpt("é".encode() * 300, REDACTOR) == "é" * 200 + "…"
    assert body_excerpt("😀".encode() * 201, REDACTOR) == "😀" * 200 + "…"


def test_body_excerpt_replaces_invalid_utf8() -> None:
    """Bytes that are not UTF-8 become replacement characters, never an exception."""
    assert body_excerpt(b"\xff\xfe abc", REDACTOR) == "\ufffd\ufffd abc"


def test_body_excerpt_redacts_the_token() -> None:
    """The token (and its URL-encoded forms) never survive in an excerpt."""
    text = f"token={TOKEN} again {TOKEN}".encode()
    assert body_excerpt(text, REDACTOR) == "token=*** again ***"
    encoded = Redactor.of("a b/c")
    assert body_excerpt(b"q=a+b%2Fc&r=a%20b%2Fc", encoded) == "q=***&r=***"


@pytest.mark.parametrize("start", [180, 190, 195, 199])
def test_body_excerpt_hides_a_token_cut_by_the_limit(start: int) -> None:
    """A token straddling the cut is hidden whole; no prefix of it leaks."""
    body = b"x" * start + TOKEN.encode() + b"y" * 300
    excerpt = body_excerpt(body, REDACTOR)
    assert TOKEN[:4] not in excerpt
    assert excerpt == ("x" * start + "***" + "y" * 300)[:200] + "…"


def test_body_excerpt_hides_a_token_after_multibyte_text() -> None:
    """A token right after 199 four-byte characters (the byte window's edge) is hidden whole."""
    body = "😀".encode() * 199 + TOKEN.encode() + b"z" * 10
    assert body_excerpt(body, REDACTOR) == "😀" * 199 + "*…"


def test_response_repr_hides_the_url() -> None:
    """A Response's repr leaves out the URL (it carries the token on GETs)."""
    text = repr(response(200, b"{}"))
    assert TOKEN not in text
    assert text.startswith("Response(status=200,")


# --- decode_picked: only the records a pick wants decoded ---------------------------

PICK_FEB = RecordPick("startDate", lambda v: not isinstance(v, str) or v.startswith("2025-02"))


def _so_body(*records: str, status: str = '"1"') -> bytes:
    return (
        '{"status":' + status + ',"message":"OK","standingOrders":[' + ",".join(records) + "]}"
    ).encode()


@pytest.mark.skipif(_msgspec is None, reason="msgspec (the speedups extra) is not installed")
def test_decode_picked_decodes_only_the_records_the_pick_wants() -> None:
    """Records whose field the pick refuses are dropped undecoded; the others come back whole."""
    body = _so_body(
        '{"id":1,"startDate":"2025-02-03","lines":[{"q":1}]}',
        '{"id":2,"startDate":"2025-03-01","lines":[]}',
        '{"id":3,"startDate":"2025-02-28"}',
    )
    assert decode_picked(body, "standingOrders", PICK_FEB) == {
        "status": "1",
        "standingOrders": [
            {"id": 1, "startDate": "2025-02-03", "lines": [{"q": 1}]},
            {"id": 3, "startDate": "2025-02-28"},
        ],
    }


@pytest.mark.skipif(_msgspec is None, reason="msgspec (the speedups extra) is not installed")
def test_decode_picked_shows_the_pick_none_for_records_it_cannot_read() -> None:
    """A record that is no object, lacks the field or holds a non-string is the pick's to judge."""
    seen: list[object] = []

    def pick(value: object) -> bool:
        seen.append(value)
        return True

    body = _so_body('{"startDate":7}', "5", '{"id":9}', '"text"', '{"startDate":null}')
    found = decode_picked(body, "standingOrders", RecordPick("startDate", pick))
    assert found == {
        "status": "1",
        "standingOrders": [{"startDate": 7}, 5, {"id": 9}, "text", {"startDate": None}],
    }
    assert seen == [7, None, None, None, None]


@pytest.mark.skipif(_msgspec is None, reason="msgspec (the speedups extra) is not installed")
@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'["status", 1]',
        b'{"status":"0","message":"No standing orders found"}',  # Komet's empty result
        b'{"status":"1","message":"OK"}',  # no list: the caller names the missing field
        b'{"status":"1","standingOrders":null}',
        b'{"status":"1","standingOrders":{"id":1}}',
        b'{"message":"OK","standingOrders":[]}',  # no status
        b'{"status":"1","standingOrders":[{"startDate":"2025-02-01"},]}',  # malformed
        b'{"status":"1","standingOrders":[' + b"[" * 50_000 + b"]" * 50_000 + b"]}",
        # Kept, and not UTF-8: the whole body's decoding reports it.
        b'{"status":"1","standingOrders":[{"startDate":"2025-02-01","n":"\xff"}]}',
    ],
)
def test_decode_picked_leaves_anything_but_a_success_list_to_the_full_decode(body: bytes) -> None:
    """Errors, null or missing lists and malformed bodies return None: the caller's checks raise."""
    assert decode_picked(body, "standingOrders", PICK_FEB) is None


@pytest.mark.skipif(_msgspec is None, reason="msgspec (the speedups extra) is not installed")
def test_decode_picked_skips_a_refused_record_unchecked() -> None:
    """A record the pick refuses is not decoded, so bytes that are not UTF-8 in it pass here."""
    body = (
        b'{"status":1,"standingOrders":'
        b'[{"startDate":"2025-03-01","n":"\xff"},{"startDate":"2025-02-02"}]}'
    )
    assert decode_picked(body, "standingOrders", PICK_FEB) == {
        "status": 1,
        "standingOrders": [{"startDate": "2025-02-02"}],
    }


def test_decode_picked_without_msgspec_leaves_the_body_to_the_full_decode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the speedups extra every body is decoded whole, by the caller."""
    monkeypatch.setattr(_sansio, "_msgspec", None)
    body = _so_body('{"startDate":"2025-02-03"}')
    assert decode_picked(body, "standingOrders", PICK_FEB) is None


def test_a_record_pick_called_with_a_decoded_record_reads_the_same_field() -> None:
    """Calling the pick on decoded records applies the rule decode_picked applies to raw ones."""
    seen: list[object] = []

    def pick(value: object) -> bool:
        seen.append(value)
        return value == "yes"

    rule = RecordPick("flag", pick)
    assert [rule({"flag": "yes"}), rule({"flag": "no"}), rule({}), rule(5)] == [
        True,
        False,
        False,
        False,
    ]
    assert seen == ["yes", "no", None, None]
