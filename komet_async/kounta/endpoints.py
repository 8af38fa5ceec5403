"""Kounta resources: customers and webhook subscriptions (thin coroutines over the client)."""

from __future__ import annotations

import builtins
import datetime as dt
import logging
import urllib.parse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

import attrs

from .._requests import encode, problems
from ..errors import (
    HTTPStatusError,
    NotFoundError,
    ResponseFormatError,
    TransportError,
    ValidationError,
)
from ..pagination import AsyncPaginator, NextUrlGuard, Page
from .models import Customer, CustomerChanges, NewCustomer, Webhook

if TYPE_CHECKING:
    from .client import KountaClient

__all__ = ["Customers", "Webhooks"]

logger = logging.getLogger("komet_async")


def _identity(name: str) -> str:
    return name


def _body(request: Any) -> dict[str, Any]:
    """A Kounta JSON body: snake_case keys, lists as lists, booleans as booleans."""
    return encode(request, flags="bool", naming=_identity, join=False)


def _validate(request: Any, name: str, extra: Iterable[str] = ()) -> None:
    found = [*problems(request), *extra]
    if found:
        raise ValidationError(found, method=name)


def _check_id(value: Any, field: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            [f"{field}: a positive integer is required, got {value!r}"], method=name
        )
    return value


#: A create whose answer was lost may have stored the record: only resend when
#: a lookup by reference proves it did not.
_MAYBE_STORED: Final = (TransportError, HTTPStatusError)


class Customers:
    """``kounta.customers``: the company's customers."""

    __slots__ = ("_client",)

    def __init__(self, client: KountaClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return "<kounta Customers>"

    def list(self, *, cursor: str | None = None) -> AsyncPaginator[Customer]:
        """GET /companies/{id}/customers: every customer, page by page (``X-Next-Page``).

        Iterate with ``async for``, or ``await ....collect(max_items=...)``.
        Pass a paginator's ``next_cursor`` back as ``cursor`` to resume. Next-page
        URLs on another host, and a next-page URL that repeats, raise
        :class:`ResponseFormatError`.
        """
        name = "customers.list"
        client = self._client
        guard = NextUrlGuard(client.base_url)
        start = guard.check(cursor or client.url("/customers"), method=name)

        async def fetch(url: str) -> Page[Customer]:
            response = await client.send("GET", url, name=name)
            items = client.read(response, builtins.list[Customer], name=name, path="customers")
            following = response.headers.get("X-Next-Page")
            if following:
                following = guard.check(following, base=url, method=name)
            return Page(items, following or None)

        return AsyncPaginator(fetch, cursor=start)

    async def get(self, customer_id: int) -> Customer:
        """GET /companies/{id}/customers/{customer_id} (:class:`NotFoundError` if missing)."""
        name = "customers.get"
        url = self._client.url(f"/customers/{_check_id(customer_id, 'customer_id', name)}")
        response = await self._client.send("GET", url, name=name)
        customer: Customer = self._client.read(response, Customer, name=name)
        return customer

    async def find(
        self,
        *,
        email: str | None = None,
        mobile: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        phone: str | None = None,
    ) -> Customer | None:
        """Look a customer up by ``email``, by ``mobile``, or by first name + last name + phone.

        Kounta answers with a redirect to the record (followed, with
        credentials only on the API's own host) or 404 (``None``). Any other
        combination of arguments is a :class:`ValidationError`, before sending.
        """
        name = "customers.find"
        params = _lookup_params(email, mobile, first_name, last_name, phone, name)
        client = self._client
        try:
            response = await client.send("GET", client.url("/customers"), name=name, params=params)
            response = await client.follow(response, name=name)
        except NotFoundError:
            return None
        data = client.read_json(response, name=name)
        if isinstance(data, builtins.list):  # a server that answers with the list instead
            matches: builtins.list[Customer] = client.structure(
                data, builtins.list[Customer], name=name, path="customers"
            )
            return matches[0] if matches else None
        customer: Customer = client.structure(data, Customer, name=name)
        return customer

    async def find_by_reference(self, reference_id: str) -> builtins.list[Customer]:
        """GET ?reference_id=: every customer your app tagged with ``reference_id`` (maybe none)."""
        name = "customers.find_by_reference"
        if not isinstance(reference_id, str) or not reference_id.strip():
            raise ValidationError(["reference_id: a non-empty string is required"], method=name)
        client = self._client
        response = await client.send(
            "GET", client.url("/customers"), name=name, params={"reference_id": reference_id}
        )
        found: builtins.list[Customer] = client.read(
            response, builtins.list[Customer], name=name, path="customers"
        )
        return found

    async def create(self, customer: NewCustomer) -> Customer:
        """POST /companies/{id}/customers; return the created record.

        A create is not resent once it may have reached the server (timeout,
        5xx, reset mid-answer), unless it has a ``reference_id`` (a blank one
        is none: :class:`NewCustomer` makes it ``None``); then the client
        looks the reference up and resends only when no record exists.
        The lookup waits first: after a timeout, as long as the request's own
        timeout (the server may still be working on it); otherwise the retry
        policy's backoff. A server that takes longer than the client's timeout
        *and* that wait to store the first create could still race the resend:
        give creates a timeout the server honours.
        """
        name = "customers.create"
        if not isinstance(customer, NewCustomer):
            raise ValidationError(
                [f"customer: expected a NewCustomer, got {type(customer).__name__}"], method=name
            )
        _validate(customer, name, customer.contact_problems())
        client = self._client
        body = _body(customer)
        policy = client.retry_policy
        # This loop is the create's only retry loop (each send is one attempt),
        # so it sends at most ``policy.attempts`` POSTs in all.
        # Never blank (NewCustomer turns "" into None): a lookup by it works.
        reference = customer.reference_id
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await client.send(
                    "POST",
                    client.url("/customers"),
                    name=name,
                    json=body,
                    idempotent=False,
                    attempts=1,
                    count_failure=False,
                )
            except _MAYBE_STORED as exc:
                if attempt < policy.attempts:
                    if policy.should_retry(exc, idempotent=False):
                        # Nothing was stored (a 429, a connection never made): send again.
                        await client.retry_wait(exc, attempt)
                        continue
                    # A 4xx refused it outright; anything else may have stored it.
                    refused = isinstance(exc, HTTPStatusError) and exc.status < 500
                    if not refused and reference is not None:
                        logger.warning(
                            "%s: the create may have been stored (%s); checking", name, exc
                        )
                        await client.settle(exc, attempt)
                        existing = await self.find_by_reference(reference)
                        if existing:
                            return existing[0]
                        continue
                client.count_failure()
                raise
            return await self._created(response, name)

    async def _created(self, response: Any, name: str) -> Customer:
        """The record a 201 answered with: its body, or what its ``Location`` points at."""
        client = self._client
        if response.body.strip():
            found: Customer = client.read(response, Customer, name=name)
            return found
        location = response.headers.get("Location")
        target = client.resolve(response.url, location) if location else None
        if target is None:
            raise ResponseFormatError(
                f"{name}: HTTP {response.status} with neither a body nor a usable Location",
                method=name,
            )
        if not client.same_origin(target):
            raise ResponseFormatError(
                f"{name}: the created record's Location is on another host", method=name
            )
        fetched = await client.send("GET", target, name=name)
        found = client.read(fetched, Customer, name=name)
        return found

    async def update(self, customer_id: int, changes: CustomerChanges) -> Customer:
        """PUT /companies/{id}/customers/{customer_id}: apply ``changes``; return the record.

        Only the documented modifiable fields exist on :class:`CustomerChanges`,
        and fields left ``None`` are not sent. PUT is idempotent, so it is retried.
        """
        name = "customers.update"
        url = self._client.url(f"/customers/{_check_id(customer_id, 'customer_id', name)}")
        if not isinstance(changes, CustomerChanges):
            raise ValidationError(
                [f"changes: expected CustomerChanges, got {type(changes).__name__}"], method=name
            )
        _validate(changes, name, changes.empty_problems())
        client = self._client
        response = await client.send("PUT", url, name=name, json=_body(changes))
        if response.body.strip():
            updated: Customer = client.read(response, Customer, name=name)
            return updated
        return await self.get(customer_id)

    async def changed_since(self, when: dt.datetime) -> builtins.list[Customer]:
        """Customers whose ``updated_at`` is at or after ``when``, found by reading every page.

        Kounta's customers API has no updated-since filter, so this walks the
        whole listing (:meth:`list`) and filters here: the cost is one request
        per page however few customers changed (a listing of 1,000 pages takes
        about 17 minutes at Kounta's 60 requests a minute with Basic auth;
        webhooks are the cheaper way to follow changes).
        Only the matching customers are kept in memory. They are list-page
        records, possibly abridged: :meth:`get` fetches a full one.

        Customers without ``updated_at`` are kept (fetched twice is better
        than missed). Kounta documents that some answers stamp ``updated_at``
        with the current time when the real one is unknown; such customers
        always count as changed, never as missed.

        ``when`` must be timezone-aware, like Kounta's timestamps
        (:class:`ValidationError` otherwise).
        """
        name = "customers.changed_since"
        if not isinstance(when, dt.datetime) or when.tzinfo is None or when.utcoffset() is None:
            raise ValidationError(
                [f"when: a timezone-aware datetime is required, got {when!r}"], method=name
            )
        kept: builtins.list[Customer] = []
        async for page in self.list().pages():
            for customer in page.items:
                stamp = customer.updated_at
                if stamp is not None and (stamp.tzinfo is None or stamp.utcoffset() is None):
                    # Ordering a naive time against the aware ``when`` would be a guess.
                    raise ResponseFormatError(
                        f"{name}: customer {customer.id} has updated_at {stamp.isoformat()} "
                        "without a time zone",
                        path="updated_at",
                        value=stamp.isoformat(),
                        method=name,
                    )
                if stamp is None or stamp >= when:
                    kept.append(customer)
        return kept


def _lookup_params(
    email: str | None,
    mobile: str | None,
    first_name: str | None,
    last_name: str | None,
    phone: str | None,
    name: str,
) -> dict[str, str]:
    given = {
        k: v
        for k, v in {
            "email": email,
            "mobile": mobile,
            "first_name": first_name,
            "last_name": last_name,
            "phone": phone,
        }.items()
        if v is not None
    }
    bad = [
        f"{k}: expected a non-empty string"
        for k, v in given.items()
        if not (isinstance(v, str) and v.strip())
    ]
    if bad:
        raise ValidationError(bad, method=name)
    if set(given) in ({"email"}, {"mobile"}, {"first_name", "last_name", "phone"}):
        return given
    raise ValidationError(
        [
            "find: give email, or mobile, or all three of first_name, last_name and phone "
            f"(got {', '.join(sorted(given)) or 'nothing'})"
        ],
        method=name,
    )


class Webhooks:
    """``kounta.webhooks``: the company's webhook subscriptions."""

    __slots__ = ("_client",)

    def __init__(self, client: KountaClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return "<kounta Webhooks>"

    async def list(self) -> builtins.list[Webhook]:
        """GET /companies/{id}/webhooks."""
        client = self._client
        response = await client.send("GET", client.url("/webhooks"), name="webhooks.list")
        found: builtins.list[Webhook] = client.read(
            response, builtins.list[Webhook], name="webhooks.list", path="webhooks"
        )
        return found

    async def create(self, webhook: Webhook) -> Webhook:
        """POST /companies/{id}/webhooks: subscribe ``webhook.address`` to ``webhook.topic``."""
        name = "webhooks.create"
        client = self._client
        _check_webhook(webhook, name)
        # Two identical subscriptions would deliver every event twice: not retried once sent.
        response = await client.send(
            "POST",
            client.url("/webhooks"),
            name=name,
            json=_webhook_body(webhook),
            idempotent=False,
        )
        if not response.body.strip():
            return await self._located(response, name)
        created: Webhook = client.read(response, Webhook, name=name)
        return created

    async def update(self, webhook_id: int, webhook: Webhook) -> Webhook:
        """PUT /companies/{id}/webhooks/{webhook_id}."""
        name = "webhooks.update"
        client = self._client
        _check_webhook(webhook, name)
        url = client.url(f"/webhooks/{_check_id(webhook_id, 'webhook_id', name)}")
        response = await client.send("PUT", url, name=name, json=_webhook_body(webhook))
        if not response.body.strip():
            return attrs.evolve(webhook, id=webhook_id)
        updated: Webhook = client.read(response, Webhook, name=name)
        return updated

    async def delete(self, webhook_id: int) -> None:
        """DELETE /companies/{id}/webhooks/{webhook_id} (:class:`NotFoundError` if missing)."""
        name = "webhooks.delete"
        client = self._client
        url = client.url(f"/webhooks/{_check_id(webhook_id, 'webhook_id', name)}")
        await client.send("DELETE", url, name=name)

    async def _located(self, response: Any, name: str) -> Webhook:
        client = self._client
        location = response.headers.get("Location")
        target = client.resolve(response.url, location) if location else None
        if target is None or not client.same_origin(target):
            raise ResponseFormatError(f"{name}: no body and no usable Location", method=name)
        fetched = await client.send("GET", target, name=name)
        found: Webhook = client.read(fetched, Webhook, name=name)
        return found


def _check_webhook(webhook: Any, name: str) -> None:
    if not isinstance(webhook, Webhook):
        raise ValidationError(
            [f"webhook: expected a Webhook, got {type(webhook).__name__}"], method=name
        )
    found = []
    if not webhook.topic or "/" not in webhook.topic:
        found.append(f"topic: expected a topic such as 'customers/updated', got {webhook.topic!r}")
    parts = urllib.parse.urlsplit(webhook.address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        found.append(f"address: expected an http(s) URL, got {webhook.address!r}")
    if webhook.format != "json":
        found.append(f"format: only 'json' is supported, got {webhook.format!r}")
    if found:
        raise ValidationError(found, method=name)


def _webhook_body(webhook: Webhook) -> dict[str, Any]:
    body: dict[str, Any] = {"topic": webhook.topic, "address": webhook.address, "format": "json"}
    if webhook.headers:
        body["headers"] = dict(webhook.headers)
    if webhook.filter:
        body["filter"] = list(webhook.filter)
    return body
