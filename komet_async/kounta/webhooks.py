"""Receiving Kounta webhook deliveries: signature check, topic, and the customer inside.

A delivery is a POST whose body is the complete customer JSON; the topic
(``customers/created``, ``customers/updated``, ``customers/deleted``) comes in
the ``X-Kounta-Topic`` header (or a ``topic`` query parameter), and
``X-Kounta-Signature`` is the hex HMAC-SHA256 of the raw body keyed with the
webhook secret. The signature is checked before anything in the body is read.

With aiohttp.web, mount the ready-made handler::

    from aiohttp import web
    from komet_async.kounta.webhooks import webhook_handler

    async def on_event(event: CustomerEvent) -> None:
        await sync_customer(event.topic, event.customer)

    app = web.Application()
    app.router.add_post("/kounta/webhooks", webhook_handler(SECRET, on_event))

It answers 200 only after ``on_event`` returned, and 500 when ``on_event``
raised, so Kounta delivers again. Any other framework uses the same core,
:func:`receive_delivery`, which takes the headers, the body (bytes, or the
stream of its chunks, read up to the size cap) and the query, and returns the
:class:`WebhookReply` to send. A Starlette (or FastAPI) route::

    async def kounta_webhook(request: Request) -> Response:
        reply = await receive_delivery(
            request.headers, request.stream(), SECRET, on_event, query=request.query_params
        )
        return Response(
            reply.text, reply.status, headers=reply.headers, media_type=reply.content_type
        )

Only the body is signed: the topic header is not, and nothing dates a
delivery, so a captured delivery can be replayed (under another topic, too).
Make ``on_event`` idempotent and compare ``customer.updated_at`` with what
you hold before applying an older record.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
import logging
import string
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from typing import Any, ClassVar, Final

import attrs
from aiohttp import web

from .._converters import Decoder
from .._sansio import decode_json
from ..errors import KometError, ResponseFormatError
from .models import CUSTOMER_TOPICS, Customer, CustomerEvent

__all__ = [
    "MAX_WEBHOOK_BYTES",
    "SIGNATURE_HEADER",
    "TOPIC_HEADER",
    "TOPIC_QUERY_PARAMETER",
    "InvalidSignatureError",
    "PayloadTooLargeError",
    "UnknownTopicError",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookReply",
    "handle_delivery",
    "parse_event",
    "read_body",
    "receive_delivery",
    "verify_signature",
    "webhook_handler",
]

logger = logging.getLogger("komet_async")

#: The largest body accepted; a customer record is a few KiB.
MAX_WEBHOOK_BYTES: Final = 1024 * 1024
#: The header carrying the hex HMAC-SHA256 of the raw body.
SIGNATURE_HEADER: Final = "X-Kounta-Signature"
#: The header naming the topic of the delivery.
TOPIC_HEADER: Final = "X-Kounta-Topic"
#: The query parameter that names the topic when the header is absent.
TOPIC_QUERY_PARAMETER: Final = "topic"

#: What ``on_event`` may be: a plain function or a coroutine function.
EventCallback = Callable[[CustomerEvent], Awaitable[None] | None]

_HEX_DIGITS: Final = frozenset(string.hexdigits)
_DIGEST_HEX_LEN: Final = hashlib.sha256().digest_size * 2
_PREFIX: Final = "sha256="


# --- errors ---------------------------------------------------------------------


class WebhookError(KometError):
    """A webhook delivery was refused; ``http_status`` is the status to answer with.

    ``response_text`` is a short generic text, safe to send back: it never
    carries the secret, the signature or anything from the body.
    """

    http_status: ClassVar[int] = 400
    response_text: ClassVar[str] = "bad request"


class InvalidSignatureError(WebhookError):
    """The signature is missing, malformed, or does not match the body (HTTP 401)."""

    http_status: ClassVar[int] = 401
    response_text: ClassVar[str] = "invalid signature"


class UnknownTopicError(WebhookError):
    """The topic is missing or not a customer topic (HTTP 400); ``topic`` is what came."""

    response_text: ClassVar[str] = "unknown topic"

    def __init__(
        self,
        message: str,
        *,
        topic: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.topic = topic

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "topic": self.topic}


class PayloadTooLargeError(WebhookError):
    """The body is larger than the accepted maximum (HTTP 413)."""

    http_status: ClassVar[int] = 413
    response_text: ClassVar[str] = "payload too large"


class WebhookPayloadError(WebhookError, ResponseFormatError):
    """The body is not a customer: not UTF-8, not JSON, not an object, or a bad field (HTTP 400).

    Like :class:`~komet_async.errors.ResponseFormatError` (which it also is),
    ``path`` names the offending field (``primary_address.lines[0]``) or is
    ``None`` when the whole body is wrong, and ``value`` is the offending value.
    """

    response_text: ClassVar[str] = "malformed body"


# --- signature ------------------------------------------------------------------


def _require_secret(secret: object) -> None:
    """Refuse an empty (or non-string) secret: it would make every signature forgeable."""
    if not isinstance(secret, str) or not secret:
        raise ValueError("the webhook secret must be a non-empty string")


def verify_signature(raw_body: bytes, signature_header: str | None, secret: str) -> bool:
    """Tell whether ``signature_header`` is the hex HMAC-SHA256 of ``raw_body`` under ``secret``.

    Tolerates surrounding whitespace, upper-case hex and a ``sha256=`` prefix.
    A missing or malformed header is ``False``, never an exception: it is
    what an attacker controls. An empty ``secret`` is a ``ValueError``, since
    it would make every signature forgeable.
    """
    _require_secret(secret)
    if not isinstance(signature_header, str):
        return False
    given = signature_header.strip().lower()
    if given.startswith(_PREFIX):
        given = given[len(_PREFIX) :].strip()
    # compare_digest refuses non-ASCII str, so only well-formed hex reaches it.
    if len(given) != _DIGEST_HEX_LEN or not _HEX_DIGITS.issuperset(given):
        return False
    expected = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))


# --- parsing --------------------------------------------------------------------


@functools.cache
def _decoder() -> Decoder:
    # Lenient about unknown keys: Kounta may add fields to the record at any time,
    # and refusing a delivery for that would only make it redeliver forever.
    return Decoder(naming="snake")


def parse_event(topic: str, raw_body: bytes) -> CustomerEvent:
    """Read a delivery of a customer ``topic``: the body is the complete customer.

    Raises :class:`UnknownTopicError` for a topic that is not a customer
    topic, and :class:`WebhookPayloadError` (with ``path`` when one field is
    at fault) for a body that is not a customer. Does not check the
    signature: call :func:`verify_signature` first, or use :func:`handle_delivery`.
    """
    if topic not in CUSTOMER_TOPICS:
        raise UnknownTopicError(
            f"not a customer webhook topic: {_short(topic)!r}", topic=_short(topic)
        )
    try:
        raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookPayloadError(f"{topic}: body is not UTF-8: {exc}", method=topic) from exc
    try:
        data = decode_json(raw_body)
    except (ValueError, RecursionError) as exc:  # stdlib json recurses on deep nesting
        raise WebhookPayloadError(f"{topic}: body is not JSON: {exc}", method=topic) from exc
    if not isinstance(data, dict):
        raise WebhookPayloadError(
            f"{topic}: body is not a JSON object but {type(data).__name__}", method=topic
        )
    try:
        customer: Customer = _decoder().structure(data, Customer, method=topic)
    except ResponseFormatError as exc:
        # The decoder's error already names the path and value; its own chain adds nothing.
        raise WebhookPayloadError(
            exc.message, path=exc.path, value=exc.value, method=topic
        ) from None
    return CustomerEvent(topic, customer)


def _short(text: str, limit: int = 60) -> str:
    # Topics come from an unsigned header: keep whatever arrived small in messages.
    return text if len(text) <= limit else text[:limit] + "…"


# --- the framework-neutral core --------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """The one value of header ``name`` whatever the case; ``None`` if absent or ambiguous."""
    wanted = name.lower()
    # A plain dict is case-sensitive, and multidicts may hold the header twice:
    # two different signatures or topics are refused rather than one picked.
    values = {value for key, value in headers.items() if key.lower() == wanted}
    return values.pop() if len(values) == 1 else None


def handle_delivery(
    headers: Mapping[str, str],
    raw_body: bytes,
    secret: str,
    *,
    query: Mapping[str, str] | None = None,
    max_bytes: int = MAX_WEBHOOK_BYTES,
) -> CustomerEvent:
    """Check and read one delivery: size, then signature, then topic, then body.

    ``headers`` may be any mapping (aiohttp's, Starlette's, a plain dict);
    names are matched without regard to case. The topic comes from
    ``X-Kounta-Topic``, else from ``query["topic"]``. Raises a
    :class:`WebhookError` whose ``http_status`` is the status to answer with.
    """
    _require_secret(secret)
    if len(raw_body) > max_bytes:
        raise PayloadTooLargeError(f"body of {len(raw_body)} bytes is over {max_bytes}")
    # The signature first: nothing an unauthenticated sender wrote is parsed.
    if not verify_signature(raw_body, _header(headers, SIGNATURE_HEADER), secret):
        raise InvalidSignatureError("webhook signature is missing or does not match")
    topic = _header(headers, TOPIC_HEADER)
    if topic is None and query is not None:
        topic = query.get(TOPIC_QUERY_PARAMETER)
    if topic is None:
        raise UnknownTopicError(f"no {TOPIC_HEADER} header nor topic query parameter")
    return parse_event(topic.strip(), raw_body)


async def read_body(chunks: AsyncIterable[bytes], *, max_bytes: int = MAX_WEBHOOK_BYTES) -> bytes:
    """Read a streamed body, raising :class:`PayloadTooLargeError` once it passes ``max_bytes``.

    For frameworks whose "read the body" has no limit (Starlette's
    ``await request.body()``): ``await read_body(request.stream())``.
    """
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLargeError(f"body is over {max_bytes} bytes")
        parts.append(chunk)
    return b"".join(parts)


@attrs.frozen
class WebhookReply:
    """The answer to one webhook delivery, for any web framework to send.

    ``text`` is safe to send back: a generic word for a refusal, never the
    secret, the signature or anything from the body.
    """

    status: int
    text: str
    content_type: str = "text/plain"
    #: Close the connection after answering: set for a body over the cap,
    #: whose rest is still coming and is not worth reading.
    close: bool = False

    @property
    def headers(self) -> dict[str, str]:
        """Headers to send with the answer (``Connection: close`` when :attr:`close`)."""
        return {"Connection": "close"} if self.close else {}


#: The answer to a delivery ``on_event`` took.
_OK: Final = WebhookReply(200, '{"ok": true}', "application/json")
#: The answer when ``on_event`` raised: Kounta delivers again.
_FAILED: Final = WebhookReply(500, "event handler failed")


def _declared_length(headers: Mapping[str, str]) -> int | None:
    """The ``Content-Length`` the sender announced, if it is one number."""
    raw = _header(headers, "Content-Length")
    if raw is None:
        return None
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _refusal(exc: WebhookError) -> WebhookReply:
    # The type and path say what went wrong; the message may quote the body.
    path = getattr(exc, "path", None)
    logger.warning(
        "Kounta webhook refused (%d %s%s)",
        exc.http_status,
        type(exc).__name__,
        f" at {path}" if path else "",
    )
    return WebhookReply(
        exc.http_status, exc.response_text, close=isinstance(exc, PayloadTooLargeError)
    )


async def receive_delivery(
    headers: Mapping[str, str],
    body: bytes | AsyncIterable[bytes],
    secret: str,
    on_event: EventCallback,
    *,
    query: Mapping[str, str] | None = None,
    max_bytes: int = MAX_WEBHOOK_BYTES,
) -> WebhookReply:
    """Check one delivery, pass its event to ``on_event``, and say what to answer.

    The framework-neutral core of :func:`webhook_handler`, for any framework:
    ``headers`` and ``query`` are any mappings (names matched without regard
    to case), ``body`` the raw bytes or an async iterable of chunks (read only
    up to ``max_bytes``, so a huge body is not held in memory). The reply is
    413 for a body over ``max_bytes`` (by ``Content-Length`` and by what is
    read), 401 for a bad or missing signature, 400 for an unknown topic or a
    malformed body, 200 once ``on_event`` (sync or async) returned, and 500
    when it raised, so Kounta delivers again. A refusal is logged at WARNING
    by its type; an ``on_event`` failure at ERROR by its type only: its
    message may quote the customer, so ``on_event`` should log its own
    failures in the detail it sees fit. An empty ``secret`` is a ``ValueError``.
    """
    _require_secret(secret)
    try:
        declared = _declared_length(headers)
        if declared is not None and declared > max_bytes:
            raise PayloadTooLargeError(f"Content-Length is over {max_bytes}")
        # Content-Length may be absent (chunked) or wrong: cap the read as well.
        raw = (
            bytes(body)
            if isinstance(body, (bytes, bytearray, memoryview))
            else await read_body(body, max_bytes=max_bytes)
        )
        event = handle_delivery(headers, raw, secret, query=query, max_bytes=max_bytes)
    except WebhookError as exc:
        return _refusal(exc)
    try:
        result = on_event(event)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        logger.error(
            "Kounta webhook on_event failed with %s for %s of customer %s; answering 500",
            type(exc).__name__,
            event.topic,
            event.customer.id,
        )
        return _FAILED
    return _OK


# --- aiohttp.web ----------------------------------------------------------------

#: What :func:`webhook_handler` returns: an aiohttp.web request handler.
Handler = Callable[[web.Request], Awaitable[web.Response]]


def webhook_handler(
    secret: str,
    on_event: EventCallback,
    *,
    max_bytes: int = MAX_WEBHOOK_BYTES,
) -> Handler:
    """An aiohttp.web handler that checks each delivery and passes its event to ``on_event``.

    :func:`receive_delivery` decides every answer (413, 401, 400, 200 once
    ``on_event`` returned, 500 when it raised); this only reads the request
    and sends the reply. An empty ``secret`` is a ``ValueError`` here, before
    anything is served.
    """
    _require_secret(secret)

    async def handler(request: web.Request) -> web.Response:
        """Handle one Kounta webhook delivery."""
        reply = await receive_delivery(
            request.headers,
            request.content.iter_any(),
            secret,
            on_event,
            query=request.query,
            max_bytes=max_bytes,
        )
        response = web.Response(
            status=reply.status, text=reply.text, content_type=reply.content_type
        )
        if reply.close:
            # aiohttp decides keep-alive itself: a Connection header alone would not close.
            response.force_close()
        return response

    return handler
