"""The public API used the way an application would, checked by ``mypy --strict``.

Not a test module (pytest collects ``test_*.py`` only): ``.ci/run`` type-checks
it with the package, so a public signature that loses or changes its types
fails CI. ``tests/test_typed_usage.py`` also runs it against the sandboxes,
so every line here is real usage, not a type-only sketch.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from decimal import Decimal
from typing import Any

from komet_async import (
    APIError,
    ClientStats,
    Customer,
    CustomerUpdate,
    HTTPStatusError,
    KometClient,
    KometError,
    NotFoundError,
    Product,
    RateLimit,
    RateLimitedError,
    ResponseFormatError,
    Result,
    RetryPolicy,
    StandingOrder,
    SyncState,
    TransportError,
    ValidationError,
)
from komet_async.bulk import gather, raise_first
from komet_async.kounta import (
    BasicAuth,
    CustomerChanges,
    KountaClient,
    NewCustomer,
    OAuth2,
    TokenPair,
)
from komet_async.kounta import Customer as KountaCustomer
from komet_async.kounta.webhooks import WebhookError, handle_delivery
from komet_async.pagination import AsyncPaginator, Page
from komet_async.sandbox import FaultPlan, KometSandbox
from komet_async.sandbox.kounta import KountaSandbox
from komet_async.sync import MemoryStore, SyncRun
from komet_async.testing import FakeClock

if sys.version_info >= (3, 11):
    from typing import assert_type
else:
    from typing_extensions import assert_type


async def komet_usage(token: str, base_url: str) -> list[Customer]:
    """Komet: resources, their return types, errors, policies, bulk and pagination."""
    retry = RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0)
    limit = RateLimit(per_second=50, burst=10, per_day=10_000)
    async with KometClient(token, base_url=base_url, retry=retry, rate_limit=limit) as komet:
        assert_type(komet, KometClient)
        customers = await komet.customers.list(name="a", include_inactive=True)
        assert_type(customers, list[Customer])
        products = await komet.products.list(description="rose")
        assert_type(products, list[Product])
        orders = await komet.standing_orders.list(
            date_from=dt.date(2024, 1, 1), date_to=dt.date(2024, 1, 31), status="All"
        )
        assert_type(orders, list[StandingOrder])
        changed = await komet.customers.changed_since(dt.datetime(2024, 1, 1, 8, 30))
        assert_type(changed, list[Customer])
        new_id = await komet.customers.update(
            CustomerUpdate(customer_id=customers[0].id, name="Flores", credit_limit=Decimal("10"))
        )
        assert_type(new_id, int)
        raw = await komet.call("customer.list", params={"name": "a"})
        assert_type(raw, dict[str, Any])
        assert isinstance(raw["customers"], list)

        windows = komet.standing_orders.iter(
            date_from=dt.date(2024, 1, 1), date_to=dt.date(2024, 3, 31), concurrency=2
        )
        assert_type(windows, AsyncPaginator[StandingOrder])
        async with windows:
            async for order in windows:
                assert_type(order, StandingOrder)
        cursor: str | None = windows.next_cursor
        assert cursor is None

        calls = [functools.partial(komet.customers.list, id=c.id) for c in customers[:3]]
        results = await gather(calls, concurrency=2)
        assert_type(results, list[Result[list[Customer]]])
        for result in results:
            if result.ok:
                assert_type(result.unwrap(), list[Customer])
            else:
                assert_type(result.error, BaseException | None)
        assert_type(raise_first(results), list[list[Customer]])

        try:
            await komet.customers.update(CustomerUpdate(customer_id=1, name=""))
        except ValidationError as exc:
            assert_type(exc.problems, tuple[str, ...])
        stats = komet.stats
        assert_type(stats, ClientStats)
        assert_type(stats.requests, int)
        return customers


def describe(error: KometError) -> str:
    """The error tree narrows to each family's attributes."""
    if isinstance(error, RateLimitedError):
        wait: float | None = error.retry_after
        return f"wait {wait}"
    if isinstance(error, (NotFoundError, HTTPStatusError)):
        status: int = error.status
        return f"HTTP {status} at {error.url}"
    if isinstance(error, TransportError):
        sent: bool = error.request_sent
        return f"transport (sent: {sent})"
    if isinstance(error, APIError):
        empty: bool = error.is_not_found
        return f"{error.message} ({empty})"
    if isinstance(error, ResponseFormatError):
        path: str | None = error.path
        return f"bad field {path}"
    return error.message


async def kounta_usage(sandbox: KountaSandbox) -> list[KountaCustomer]:
    """Kounta: both auth kinds, pagination, lookups, writes and webhooks."""
    refreshed: list[TokenPair] = []
    oauth = OAuth2(
        sandbox.access_token,
        sandbox.refresh_token,
        sandbox.client_id,
        sandbox.client_secret,
        on_token_refresh=refreshed.append,
    )
    basic = BasicAuth(sandbox.client_id, sandbox.client_secret)
    for auth in (oauth, basic):
        async with KountaClient(
            sandbox.company_id, auth=auth, base_url=sandbox.base_url, rate_limit=None
        ) as kounta:
            listing = kounta.customers.list()
            assert_type(listing, AsyncPaginator[KountaCustomer])
            first = await listing.collect(max_items=30)
            assert_type(first, list[KountaCustomer])
            async for page in kounta.customers.list().pages():
                assert_type(page, Page[KountaCustomer])
                break
            found = await kounta.customers.find(email="jmcdonald@kounta.kom")
            assert_type(found, KountaCustomer | None)
            same = await kounta.customers.find_by_reference("ABC123")
            assert_type(same, list[KountaCustomer])
            full = await kounta.customers.get(first[0].id)
            assert_type(full, KountaCustomer)
            made = await kounta.customers.create(
                NewCustomer(first_name="Jamie", email="j@example.test", reference_id="CRM-1")
            )
            updated = await kounta.customers.update(made.id, CustomerChanges(tags=("vip",)))
            assert_type(updated, KountaCustomer)
            since = await kounta.customers.changed_since(
                dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
            )
            assert_type(since, list[KountaCustomer])
    try:
        handle_delivery({"X-Kounta-Signature": "0" * 64}, b"{}", sandbox.webhook_secret)
    except WebhookError as exc:
        status: int = exc.http_status
        assert status == 401
    return first


async def sync_usage() -> dt.datetime | None:
    """SyncState: a run that observes records and saves its mark."""
    state = SyncState(MemoryStore(), "komet:customers", overlap=dt.timedelta(minutes=1))
    async with state.run() as run:
        assert_type(run, SyncRun)
        assert_type(run.since, dt.datetime | None)
        run.observe([])
    return state.high_water


async def main() -> None:
    """Everything above against the bundled sandboxes."""
    clock = FakeClock()
    assert_type(clock.sleeps, list[float])
    plan = FaultPlan(rate=0.0)
    async with KometSandbox(seed=1, customers=30, faults=plan) as komet_sandbox:
        customers = await komet_usage(komet_sandbox.token, komet_sandbox.base_url)
        assert customers
    async with KountaSandbox(seed=1, customers=40) as kounta_sandbox:
        assert await kounta_usage(kounta_sandbox)
    assert await sync_usage() is None
    assert describe(APIError("Customers not found.")) == "Customers not found. (True)"
