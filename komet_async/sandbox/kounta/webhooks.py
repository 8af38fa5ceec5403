"""Webhook subscriptions, and signed deliveries made in the background.

A delivery is a POST of the complete customer JSON to the subscribed
address with ``X-Kounta-Topic`` and ``X-Kounta-Signature`` (lowercase hex
HMAC-SHA256 of the raw body, keyed with the sandbox's webhook secret), plus
the subscription's own headers. Each delivery runs in a task the
:class:`Deliverer` tracks, over one ``aiohttp.ClientSession`` it owns;
:meth:`Deliverer.close` lets pending deliveries finish for a moment, cancels
the rest and closes the session, so nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple

import aiohttp

from ...kounta.models import CUSTOMER_TOPICS
from ..data import dumps
from .data import KountaAPIError

__all__ = ["UPDATE_FILTERS", "Deliverer", "Delivery", "WebhookStore", "sign"]

#: ``customers/updated`` filters and the record fields each one watches.
UPDATE_FILTERS: Final[Mapping[str, frozenset[str]]] = {
    "name": frozenset({"first_name", "last_name"}),
    "phone": frozenset({"phone"}),
    "mobile": frozenset({"mobile"}),
    "email": frozenset({"email"}),
    "address": frozenset({"primary_address", "shipping_address"}),
    "tags": frozenset({"tags"}),
    "image": frozenset({"image"}),
    "accepts_marketing": frozenset({"accepts_marketing"}),
}
#: How long one delivery may take.
DELIVERY_TIMEOUT: Final = aiohttp.ClientTimeout(total=5.0)
#: How long closing waits for deliveries still under way before cancelling them.
CLOSE_GRACE: Final = 1.0


def sign(secret: str, body: bytes) -> str:
    """The ``X-Kounta-Signature`` of ``body``: lowercase hex HMAC-SHA256."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class Delivery(NamedTuple):
    """One delivery made: its topic, the address, and the HTTP status (``None`` if none came)."""

    topic: str
    address: str
    status: int | None


def _bad(description: str) -> KountaAPIError:
    return KountaAPIError(400, "invalid_request", description)


class WebhookStore:
    """The company's webhook subscriptions, as the JSON dicts the API sends."""

    def __init__(self) -> None:
        self._hooks: dict[int, dict[str, Any]] = {}
        self._next_id = 1001

    def __len__(self) -> int:
        return len(self._hooks)

    def all(self) -> list[dict[str, Any]]:
        """Every subscription, by id."""
        return [self._hooks[i] for i in sorted(self._hooks)]

    def get(self, webhook_id: int) -> dict[str, Any]:
        """One subscription; 404 if there is none."""
        hook = self._hooks.get(webhook_id)
        if hook is None:
            raise KountaAPIError(404, "not_found", f"Webhook {webhook_id} was not found.")
        return hook

    def create(self, body: Any) -> dict[str, Any]:
        """Validate and store a subscription."""
        hook = {"id": self._next_id, **_checked(body)}
        self._hooks[self._next_id] = hook
        self._next_id += 1
        return hook

    def replace(self, webhook_id: int, body: Any) -> dict[str, Any]:
        """Replace a subscription's fields (a PUT)."""
        self.get(webhook_id)
        hook = {"id": webhook_id, **_checked(body)}
        self._hooks[webhook_id] = hook
        return hook

    def delete(self, webhook_id: int) -> None:
        """Remove a subscription."""
        self.get(webhook_id)
        del self._hooks[webhook_id]

    def matching(self, topic: str, changed: Iterable[str] | None) -> list[dict[str, Any]]:
        """The subscriptions an event of ``topic`` goes to.

        ``changed`` (the fields an update changed) meets a subscription's
        filters: a filtered ``customers/updated`` subscription hears only
        about changes to the fields its filters watch.
        """
        found = []
        changed_set = set(changed or ())
        for hook in self.all():
            if hook["topic"] != topic:
                continue
            if topic == "customers/updated" and hook["filter"]:
                watched = set().union(*(UPDATE_FILTERS[f] for f in hook["filter"]))
                if not watched & changed_set:
                    continue
            found.append(hook)
        return found


def _checked(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    unknown = sorted(set(body) - {"topic", "address", "format", "headers", "filter", "id"})
    if unknown:
        raise _bad(f"Unknown webhook fields: {', '.join(unknown)}.")
    topic = body.get("topic")
    if topic not in CUSTOMER_TOPICS:
        raise _bad(f"topic must be one of {', '.join(CUSTOMER_TOPICS)}.")
    address = body.get("address")
    parts = urllib.parse.urlsplit(address) if isinstance(address, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad("address must be an http(s) URL.")
    fmt = body.get("format", "json")
    if fmt != "json":
        raise _bad("format must be 'json'.")
    headers = body.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise _bad("headers must be an object of strings.")
    filters = body.get("filter") or []
    if not isinstance(filters, list) or any(f not in UPDATE_FILTERS for f in filters):
        raise _bad(f"filter must be a list drawn from {', '.join(UPDATE_FILTERS)}.")
    return {
        "topic": topic,
        "address": address,
        "format": "json",
        "headers": dict(headers),
        "filter": list(filters),
    }


class Deliverer:
    """Delivers events in background tasks and records what happened."""

    def __init__(self, store: WebhookStore, secret: str) -> None:
        self.store = store
        self.secret = secret
        #: Every delivery made, in the order they completed.
        self.deliveries: list[Delivery] = []
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed: asyncio.Condition | None = None

    def __repr__(self) -> str:
        return f"<Deliverer deliveries={len(self.deliveries)} pending={len(self._tasks)}>"

    @property
    def pending(self) -> int:
        """Deliveries still under way."""
        return len(self._tasks)

    def open(self) -> None:
        """Create the delivery session (inside the running event loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=DELIVERY_TIMEOUT)

    async def close(self) -> None:
        """Let deliveries under way finish briefly, cancel the rest, close the session."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=CLOSE_GRACE)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        # A restarted sandbox may run in another event loop.
        self._changed = None

    def publish(
        self, topic: str, record: Mapping[str, Any], changed: Iterable[str] | None = None
    ) -> int:
        """Start a delivery of ``record`` to every matching subscription; return how many."""
        hooks = self.store.matching(topic, changed)
        if not hooks:
            return 0
        self.open()  # an application embedded without start() still delivers
        body = dumps(record)
        signature = sign(self.secret, body)
        for hook in hooks:
            headers = {
                **hook["headers"],
                "Content-Type": "application/json",
                "X-Kounta-Topic": topic,
                "X-Kounta-Signature": signature,
            }
            task = asyncio.create_task(self._deliver(topic, hook["address"], body, headers))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(hooks)

    async def _deliver(
        self, topic: str, address: str, body: bytes, headers: Mapping[str, str]
    ) -> None:
        session = self._session
        status: int | None = None
        if session is not None:
            try:
                async with session.post(address, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError):
                status = None  # the receiver is down or too slow: recorded, not retried
        await self._record(Delivery(topic, address, status))

    async def _record(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        condition = self._condition()
        async with condition:
            condition.notify_all()

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """Wait until at least ``count`` deliveries were made; return them all.

        Raises ``TimeoutError`` (``asyncio.TimeoutError``) after ``timeout`` seconds.
        """
        condition = self._condition()
        async with condition:
            await asyncio.wait_for(
                condition.wait_for(lambda: len(self.deliveries) >= count), timeout
            )
        return list(self.deliveries)
