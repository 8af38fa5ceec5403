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
raised, so Kounta delivers again. With any other framework, use the
framework-neutral :func:`handle_delivery`; in FastAPI/Starlette::

    @app.post("/kounta/webhooks")
    async def kounta_webhook(request: Request) -> Response:
        try:
            body = await read_body(request.stream())  # size-capped; request.body() is not
            event = handle_delivery(request.headers, body, SECRET, query=request.query_params)
        except WebhookError as exc:
            return PlainTextResponse(exc.response_text, status_code=exc.http_status)
        await on_event(event)
        return PlainTextResponse("ok")

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
    "handle_delivery",
    "parse_event",
    "read_body",
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


def verify_signature(raw_body: bytes, signature_header: str | None, secret: str) -> bool:
    """Tell whether ``signature_header`` is the hex HMAC-SHA256 of ``raw_body`` under ``secret``.

    Tolerates surrounding whitespace, upper-case hex and a ``sha256=`` prefix.
    A missing or malformed header is ``False``, never an exception: it is
    what an attacker controls. An empty ``secret`` is a ``ValueError``, since
    it would make every signature forgeable.
    """
    if not isinstance(secret, str) or not secret:
        raise ValueError("the webhook secret must be a non-empty string")
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
    if not secret:
        raise ValueError("the webhook secret must be a non-empty string")
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


# --- aiohttp.web ----------------------------------------------------------------

#: What :func:`webhook_handler` returns: an aiohttp.web request handler.
Handler = Callable[[web.Request], Awaitable[web.Response]]


def webhook_handler(
    secret: str,
    on_event: Callable[[CustomerEvent], Awaitable[None] | None],
    *,
    max_bytes: int = MAX_WEBHOOK_BYTES,
) -> Handler:
    """An aiohttp.web handler that checks each delivery and passes its event to ``on_event``.

    Answers 413 for a body over ``max_bytes`` (by ``Content-Length`` and by
    what is actually read), 401 for a bad or missing signature, 400 for an
    unknown topic or a malformed body, and 200 only once ``on_event`` (a
    plain function or a coroutine function) returned. When ``on_event``
    raises, it answers 500 so Kounta delivers again, and logs only the
    exception's type at ERROR on the ``komet_async`` logger: its message may
    quote the customer, so ``on_event`` should log its own failures in the
    detail it sees fit.
    """
    if not isinstance(secret, str) or not secret:
        raise ValueError("the webhook secret must be a non-empty string")

    async def handler(request: web.Request) -> web.Response:
        """Handle one Kounta webhook delivery."""
        try:
            if request.content_length is not None and request.content_length > max_bytes:
                raise PayloadTooLargeError(f"Content-Length is over {max_bytes}")
            # Content-Length may be absent (chunked) or wrong: cap the read as well.
            body = await read_body(request.content.iter_any(), max_bytes=max_bytes)
            event = handle_delivery(
                request.headers, body, secret, query=request.query, max_bytes=max_bytes
            )
        except WebhookError as exc:
            # The type and path say what went wrong; the message may quote the body.
            path = getattr(exc, "path", None)
            logger.warning(
                "Kounta webhook refused (%d %s%s)",
                exc.http_status,
                type(exc).__name__,
                f" at {path}" if path else "",
            )
            response = web.Response(status=exc.http_status, text=exc.response_text)
            if isinstance(exc, PayloadTooLargeError):
                # The rest of the body is still coming: this connection is not worth keeping.
                response.force_close()
            return response
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
            return web.Response(status=500, text="event handler failed")
        return web.json_response({"ok": True})

    return handler
