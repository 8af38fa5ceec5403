"""Pure request building and response deciphering (no I/O).

Everything between "the caller's arguments" and "bytes on the wire", and
between "status, headers, body" and "a payload or a typed error", lives here
as plain functions, tested without sockets (gidgethub's ``sansio`` is the
model). The session manager calls them; endpoints call them.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
import urllib.parse
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final, TypeGuard

import attrs

from ._redact import Redactor
from .errors import (
    APIError,
    AuthenticationError,
    HTTPStatusError,
    NotFoundError,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
    ValidationError,
)

_loads: Callable[[bytes], Any]
try:  # orjson is the `speedups` extra: several times faster on large bodies.
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover - exercised in environments without the extra
    _loads = json.loads

_msgspec: Any
try:  # msgspec (also the `speedups` extra) splits a list into raw records: see decode_picked
    import msgspec as _msgspec
except ImportError:  # pragma: no cover - exercised in environments without the extra
    _msgspec = None

__all__ = [
    "EXCERPT_CHARS",
    "RecordPick",
    "Response",
    "body_excerpt",
    "build_query",
    "check_base_url",
    "decipher_envelope",
    "decode_json",
    "decode_picked",
    "encode_json_body",
    "encode_query_value",
    "envelope_ok",
    "error_for_status",
    "parse_retry_after",
]

#: How much of a response body an error keeps for the humans reading it.
EXCERPT_CHARS: Final = 200


@attrs.frozen(slots=True)
class Response:
    """What one HTTP exchange produced: status, headers, the whole body and the final URL."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    #: The final URL: a string, or an object whose ``str()`` is one (aiohttp's
    #: ``yarl.URL``, kept as is: turning it into text costs 0.4 us a call,
    #: and only errors and redirects read it).
    raw_url: object = attrs.field(repr=False, alias="url")

    @property
    def url(self) -> str:
        """The final URL as text."""
        return str(self.raw_url)


# --- request building -------------------------------------------------------


def check_base_url(
    value: object, *, name: str = "base_url", redactor: Redactor | None = None
) -> str:
    """An API base URL without its trailing ``/``; :class:`ValidationError` unless it is usable.

    It must parse, be ``http://`` or ``https://`` and name a host: a URL aiohttp
    cannot send to would otherwise fail on the first request, with the URL
    (userinfo and all) in aiohttp's message. The URL in the error is redacted
    (userinfo, and the secrets ``redactor`` knows).
    """
    if not isinstance(value, str):
        raise ValidationError([f"{name}: a URL string is required, got {type(value).__name__}"])
    redactor = redactor or Redactor()
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - reading it validates it (a number, in range)
    except ValueError as exc:
        # urllib's own words, unless they quote the URL (a bad port's text).
        reason = str(exc) if "'" not in str(exc) else "Port is not a number"
        shown = redactor.url(value)
        raise ValidationError([f"{name}: {shown!r} is not a URL ({reason})"]) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = redactor.url(value)
        raise ValidationError([f"{name}: {shown!r} is not an http:// or https:// URL with a host"])
    return value.rstrip("/")


def encode_query_value(value: Any) -> str:
    """Spell one parameter value the way Komet expects in a query string.

    Booleans are ``true``/``false`` (customer.list ``includeInactive``), dates
    ``YYYY-MM-DD``, datetimes ``YYYY-MM-DDThh:mm:ss``, sequences comma-joined.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ",".join(encode_query_value(v) for v in value)
    return str(value)


def build_query(params: Mapping[str, Any]) -> dict[str, str]:
    """Encode query parameters, leaving out every ``None``."""
    return {k: encode_query_value(v) for k, v in params.items() if v is not None}


def encode_json_body(payload: Any) -> bytes:
    """Serialise a JSON body; ``Decimal`` values become numbers with their exact digits.

    The standard encoders turn a ``Decimal`` into a float (losing ``2500.00``'s
    two places) or a string; Komet documents ``decimal:10,2`` numbers, so the
    digits are written out as they are.
    """
    return _encode(payload).encode("utf-8")


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send the non-finite decimal {value}")
        return format(value, "f")
    if isinstance(value, Mapping):
        return (
            "{"
            + ",".join(
                f"{json.dumps(str(k), ensure_ascii=False)}:{_encode(v)}" for k, v in value.items()
            )
            + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, dt.datetime):
        return json.dumps(value.strftime("%Y-%m-%dT%H:%M:%S"))
    if isinstance(value, dt.date):
        return json.dumps(value.isoformat())
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot send the non-finite number {value}")
    return json.dumps(value, ensure_ascii=False)


# --- response deciphering ---------------------------------------------------


def decode_json(body: bytes) -> Any:
    """Parse a JSON body (with orjson when installed); ``ValueError`` when it is not JSON.

    Nesting too deep to parse is "not JSON" too: orjson stops at 1,024 levels
    itself, while the stdlib parser would raise ``RecursionError``.
    """
    try:
        return _loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply to parse") from None


@attrs.frozen
class RecordPick:
    """Which records of a list response to decode and structure, by one field of each.

    ``pick(value)`` sees the record's ``field`` (``None`` when the record has
    no such field or is not an object) and says whether the record is wanted;
    a value it cannot read should be wanted, so that structuring, not the
    pick, reports what is wrong with it. Calling the pick with a decoded
    record applies the same rule.
    """

    field: str
    pick: Callable[[Any], bool]

    def __call__(self, record: Any) -> bool:
        value = record.get(self.field) if type(record) is dict else None
        return self.pick(value)


#: The msgspec decoders of a (list key, record field) pair: see decode_picked.
_pick_decoders: dict[tuple[str, str], tuple[Any, Any]] = {}


def _pick_decoder(key: str, field: str) -> tuple[Any, Any]:
    """Decoders of an envelope's status and raw ``key`` records, and of a record's ``field``.

    The envelope decoder is a struct of just those two fields, so one pass
    over the body cuts the list into records. Decoding a top-level dict of
    raw values first and the list from it read the list's bytes twice, at
    twice the cost.
    """
    decoders = _pick_decoders.get((key, field))
    if decoders is None:
        unset = _msgspec.UNSET
        envelope = _msgspec.defstruct(
            "PickedEnvelope",
            [("status", Any, unset), (key, list[_msgspec.Raw] | _msgspec.UnsetType, unset)],
        )
        record = _msgspec.defstruct("PickedRecord", [(field, Any, None)])
        decoders = _msgspec.json.Decoder(envelope), _msgspec.json.Decoder(record)
        _pick_decoders[(key, field)] = decoders
    return decoders


def decode_picked(body: bytes, key: str, pick: RecordPick) -> dict[str, Any] | None:
    """A success envelope with only the ``key`` records ``pick`` wants decoded; ``None`` if unsure.

    A date window gets back every standing order overlapping it and keeps the
    ones it owns, a fifth of them on the ``windows`` benchmark. msgspec cuts
    the list into raw JSON records and reads the one field each pick needs,
    skipping the rest of the record at C speed; only the records kept are
    decoded (with :func:`decode_json`, as any body). Without msgspec, or for
    a body that is anything but a success envelope with a list under ``key``
    (an error, a null list, malformed JSON), this returns ``None``: the
    caller decodes the whole body as usual, and its checks raise the errors.
    A record msgspec skips is not checked here for valid UTF-8; its owner
    (the window picking it) decodes it and reports it.

    On the ``windows`` benchmark's twelve windows, decoding took 43% less
    (5.2 against 9.2 ms) and decoding with structuring 21% less; the pull's
    wall/ideal, with and without msgspec alternating over 40 rounds in one
    process, 1.21-1.23 -> 1.18-1.19.
    """
    if _msgspec is None or key == "status":
        return None
    envelope_decoder, record_decoder = _pick_decoder(key, pick.field)
    try:
        envelope = envelope_decoder.decode(body)
    # Not JSON, not an object, a "list" that is not one; nesting too deep.
    except (_msgspec.DecodeError, RecursionError):
        return None
    status = envelope.status
    records = getattr(envelope, key)
    if records is _msgspec.UNSET or not _success(status):
        return None
    field, wanted = pick.field, pick.pick
    kept = []
    for record in records:
        try:
            value = getattr(record_decoder.decode(record), field)
        except (_msgspec.DecodeError, RecursionError):  # not an object; an unreadable field
            value = None
        if wanted(value):
            kept.append(record)
    try:
        decoded = decode_json(b"[" + b",".join(kept) + b"]")
    except ValueError:
        return None
    return {"status": status, key: decoded}


def body_excerpt(body: bytes, redactor: Redactor, limit: int = EXCERPT_CHARS) -> str:
    """Return the start of a body as one line of text, redacted, for error messages."""
    # Redact before cutting: a secret straddling the cut would otherwise keep
    # its first characters. The window reaches far enough past ``limit``
    # characters (at most 4 bytes each) to hold a whole secret starting there.
    longest = max((len(s) for s in redactor.secrets), default=0)
    text = body[: (limit + longest) * 4].decode("utf-8", errors="replace")
    # One line: excerpts end up in log lines and one-line CLI errors.
    text = " ".join(redactor.text(text).split())
    if len(text) > limit:
        text = text[:limit] + "…"
    return text


def parse_retry_after(
    headers: Mapping[str, str], now: float, *, rate_limit_reset: bool = True
) -> float | None:
    """Seconds the server asks us to wait, from ``Retry-After`` or ``X-Ratelimit-Reset``.

    ``Retry-After`` may be seconds or an HTTP date; ``X-Ratelimit-Reset``
    (Kounta) is a Unix time in seconds, read only with ``rate_limit_reset``
    (a 429: the reset of a rate limit says nothing about a failing server).
    ``now`` is the current Unix time. Garbage, negative or non-finite values
    count as "not said" (``None``); a time in the past means "now" (``0.0``).
    """
    raw = _header(headers, "Retry-After")
    if raw is not None:
        raw = raw.strip()
        seconds = _finite_float(raw)
        if seconds is not None:
            if seconds >= 0:
                return seconds
            # A negative number is "not said": fall through to X-Ratelimit-Reset.
        else:
            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=dt.timezone.utc)
                return max(0.0, when.timestamp() - now)
    if not rate_limit_reset:
        return None
    reset = _finite_float(_header(headers, "X-Ratelimit-Reset") or "")
    if reset is not None and reset > 0:
        return max(0.0, reset - now)
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever the case of its name (a plain dict is case-sensitive)."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return value


def _finite_float(raw: str) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


_STATUS_ERRORS: Final[dict[int, type[HTTPStatusError]]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
}


def error_for_status(
    response: Response,
    *,
    method: str,
    redactor: Redactor,
    now: float,
) -> HTTPStatusError | None:
    """Map an HTTP error status to its typed error, or ``None`` for 1xx-3xx.

    ``method`` is the API method or route, ``now`` the Unix time (to turn an
    HTTP-date ``Retry-After`` into seconds).
    """
    status = response.status
    if status < 400:
        return None
    url = redactor.url(response.url)
    headers = redactor.headers(response.headers.items())
    excerpt = body_excerpt(response.body, redactor)
    reason = f"HTTP {status} from {method}"
    detail = f": {excerpt}" if excerpt else ""
    if status == 429:
        retry_after = parse_retry_after(response.headers, now)
        wait = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        return RateLimitedError(
            f"{reason}{wait}{detail}",
            retry_after=retry_after,
            method=method,
            url=url,
            headers=headers,
            body_excerpt=excerpt,
        )
    cls: type[HTTPStatusError] = _STATUS_ERRORS.get(
        status, ServerError if status >= 500 else HTTPStatusError
    )
    # A 503 (or any status) may say when to come back (RFC 9110, section 10.2.3).
    retry_after = parse_retry_after(response.headers, now, rate_limit_reset=False)
    wait = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
    return cls(
        f"{reason}{wait}{detail}",
        status=status,
        method=method,
        url=url,
        headers=headers,
        body_excerpt=excerpt,
        retry_after=retry_after,
    )


_OK_STATUSES: Final = frozenset({"1", 1})
_FAILED_STATUSES: Final = frozenset({"0", 0})


def envelope_ok(data: Any) -> TypeGuard[dict[str, Any]]:
    """Whether ``data`` is a Komet envelope that says success (the fast check)."""
    return type(data) is dict and _success(data.get("status"))


def _success(status: Any) -> bool:
    """Whether an envelope's ``status`` says success: ``"1"`` or the integer 1."""
    return status == "1" or (type(status) is int and status == 1)


def decipher_envelope(
    data: Any, *, method: str, url: str, redactor: Redactor | None = None
) -> dict[str, Any]:
    """Check a decoded Komet envelope and return it.

    ``status`` may be ``"1"``/``1`` (success) or ``"0"``/``0`` (failure ->
    :class:`APIError` with the server's message). Anything else is a
    :class:`ResponseFormatError`. ``url`` must already be redacted.
    """
    if not isinstance(data, dict):
        raise ResponseFormatError(
            f"{method}: expected a JSON object envelope, got {type(data).__name__}",
            method=method,
            url=url,
            value=_short(data),
        )
    if "status" not in data:
        raise ResponseFormatError(
            f"{method}: the response has no 'status' field", path="status", method=method, url=url
        )
    status = data["status"]
    # bool is an int subclass: True == 1, but Komet never sends it; reject it.
    # The type check also keeps an unhashable status ([1], {}) from raising TypeError.
    if (
        isinstance(status, bool)
        or not isinstance(status, (str, int))
        or status not in _OK_STATUSES | _FAILED_STATUSES
    ):
        raise ResponseFormatError(
            f"{method}: unexpected envelope status {status!r}",
            path="status",
            value=status,
            method=method,
            url=url,
        )
    if status in _FAILED_STATUSES:
        message = data.get("message")
        text = message if isinstance(message, str) and message else "request failed (status 0)"
        if redactor is not None:
            # A server may echo the request (token included) in its message.
            text = redactor.text(text)
            data = {k: redactor.text(v) if isinstance(v, str) else v for k, v in data.items()}
        raise APIError(text, method=method, url=url, envelope=data)
    return data


def _short(value: Any, limit: int = EXCERPT_CHARS) -> Any:
    text = repr(value)
    return value if len(text) <= limit else text[:limit] + "…"
