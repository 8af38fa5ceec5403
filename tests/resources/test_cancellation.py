"""Cancelling bulk pulls, paginators, retry waits and rate-limit waits at seeded points.

Each case cancels at several points drawn from a seeded ``random.Random`` and
checks the same things: the caller gets ``CancelledError`` (not a result, not
a ``KometError``), no task is left pending, no connection stays acquired and
the fds are back after close, ``stats.failures`` does not count the
cancellation, and the same client still serves a new call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import itertools
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest

from komet_async import KometClient, RateLimit, RetryPolicy
from komet_async.bulk import gather
from komet_async.kounta import BasicAuth, KountaClient, OAuth2
from komet_async.models.standing_orders import StandingOrder
from komet_async.sandbox import FaultPlan, KometSandbox
from komet_async.sandbox.faults import HTTP_503
from komet_async.sandbox.kounta import KountaSandbox

from ._support import ResourceProbe, TracingClock, acquired_connections, eventually

T = TypeVar("T")

POINTS = [101, 202, 303, 404, 505]
SPAN = (dt.date(2024, 1, 1), dt.date(2026, 12, 31))
WINDOW = dt.timedelta(days=14)


@asynccontextmanager
async def komet_setup(
    seed: int, **sandbox: Any
) -> AsyncIterator[tuple[KometSandbox, ResourceProbe]]:
    """A running Komet sandbox and a probe whose baseline is taken once it listens."""
    options: dict[str, Any] = {
        "seed": seed,
        "customers": 300,
        "products": 20,
        "standing_orders": 5,
        "latency": 0.003,
        **sandbox,
    }
    async with KometSandbox(**options) as box, ResourceProbe() as probe:
        yield box, probe


async def cancelled(task: asyncio.Task[T]) -> None:
    """Cancel ``task`` and check the CancelledError reaches the awaiting caller."""
    assert not task.done(), "the cancellation point came after the work finished"
    assert task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def left_clean(probe: ResourceProbe, client: KometClient | KountaClient) -> None:
    """No task of the client's left, no connection still handed out, no failure counted."""
    await eventually(lambda: not probe.new_client_tasks)
    assert probe.new_client_tasks == set()
    assert acquired_connections(client) == 0
    assert client.stats.failures == 0


async def when(predicate: Callable[[], bool]) -> None:
    """Wait until ``predicate`` holds (fail after 5 s)."""
    assert await eventually(predicate, timeout=5.0), "the cancellation point never came"


def standing_orders_of(box: KometSandbox) -> list[StandingOrder]:
    """Every standing order of the sandbox, by id (they all overlap SPAN)."""
    return sorted(box.data.standing_orders, key=lambda o: o.id)


# --- (a) bulk pulls --------------------------------------------------------------


@pytest.mark.parametrize("point", POINTS)
async def test_cancelling_bulk_gather_mid_pull(point: int) -> None:
    """A gather of 300 calls cancelled after a seeded number of requests raises CancelledError."""
    rng = random.Random(point)
    async with komet_setup(point) as (box, probe):
        expected = {c.id: [c] for c in box.data.customers}
        ids = sorted(expected)
        async with KometClient(box.token, base_url=box.base_url, max_concurrency=8) as komet:
            calls = [
                functools.partial(komet.customers.list, id=i, include_inactive=True) for i in ids
            ]
            task = asyncio.create_task(gather(calls, concurrency=8))
            after = rng.randrange(1, 200)
            await when(lambda: box.stats.total >= after)
            await cancelled(task)
            assert box.stats.total < len(ids)
            await left_clean(probe, komet)
            assert await komet.customers.list(id=ids[7], include_inactive=True) == expected[ids[7]]
        await probe.check()


@pytest.mark.parametrize("point", POINTS)
async def test_cancelling_standing_orders_collect_mid_windows(point: int) -> None:
    """standing_orders.iter().collect() cancelled mid-windows stops every window fetch."""
    rng = random.Random(point)
    async with komet_setup(point, standing_orders=150) as (box, probe):
        async with KometClient(box.token, base_url=box.base_url, max_concurrency=4) as komet:
            task = asyncio.create_task(
                komet.standing_orders.iter(
                    date_from=SPAN[0], date_to=SPAN[1], window=WINDOW, concurrency=4, status="All"
                ).collect()
            )
            after = rng.randrange(1, 60)
            await when(lambda: box.stats.total >= after)
            await cancelled(task)
            assert box.stats.total < 79  # 79 windows of 14 days: the pull was cut short
            await left_clean(probe, komet)
            again = await komet.standing_orders.iter(
                date_from=SPAN[0], date_to=SPAN[1], window=WINDOW, concurrency=4, status="All"
            ).collect()
            assert sorted(again, key=lambda o: o.id) == standing_orders_of(box)
        await probe.check()


@pytest.mark.parametrize("point", POINTS)
async def test_wait_for_timeout_on_a_bulk_pull(point: int) -> None:
    """wait_for over a window pull times out at a seeded moment and leaves nothing behind."""
    rng = random.Random(point)
    async with komet_setup(point, standing_orders=150) as (box, probe):
        async with KometClient(box.token, base_url=box.base_url) as komet:
            pull = komet.standing_orders.iter(
                date_from=SPAN[0], date_to=SPAN[1], window=WINDOW, concurrency=4, status="All"
            )
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(pull.collect(), timeout=rng.uniform(0.005, 0.05))
            assert box.stats.total < 79
            await left_clean(probe, komet)
            # What was not consumed stays in the cursor: resuming fetches all of it.
            assert pull.next_cursor is not None
            rest = await komet.standing_orders.iter(
                date_from=SPAN[0],
                date_to=SPAN[1],
                window=WINDOW,
                status="All",
                cursor=pull.next_cursor,
            ).collect()
            assert sorted(rest, key=lambda o: o.id) == standing_orders_of(box)
        await probe.check()


# --- (b) paginators --------------------------------------------------------------


@pytest.mark.parametrize("point", POINTS)
async def test_cancelling_a_kounta_paginator_mid_iteration(point: int) -> None:
    """A Kounta X-Next-Page listing cancelled mid-way: a prefix seen; the cursor has the rest."""
    rng = random.Random(point)
    async with (
        KountaSandbox(seed=point, customers=300, latency=0.003) as box,
        ResourceProbe() as probe,
    ):
        listed = box.data.listed
        async with KountaClient(
            box.company_id,
            auth=BasicAuth(box.client_id, box.client_secret),
            base_url=box.base_url,
            rate_limit=None,
        ) as kounta:
            paginator = kounta.customers.list()
            seen = []

            async def consume() -> None:
                async with paginator:
                    async for customer in paginator:
                        seen.append(customer)
                        await asyncio.sleep(0)  # the cancellation may land here too

            task = asyncio.create_task(consume())
            after = rng.randrange(1, 10)
            await when(lambda: box.stats.total >= after)
            await asyncio.sleep(rng.uniform(0.0, 0.004))  # in a fetch or in the loop body
            await cancelled(task)
            assert box.stats.total < 12  # 12 pages of 25
            assert seen == listed[: len(seen)]
            await left_clean(probe, kounta)
            cursor = paginator.next_cursor
            assert cursor is not None
            rest = await kounta.customers.list(cursor=cursor).collect()
            resumed_at = len(listed) - len(rest)
            assert rest == listed[resumed_at:]
            # Nothing skipped; at most the page being read when cancelled comes again.
            assert resumed_at <= len(seen) < resumed_at + 25
        await probe.check()


@pytest.mark.parametrize("point", POINTS)
async def test_cancelling_a_komet_window_paginator_mid_iteration(point: int) -> None:
    """A window paginator cancelled mid-iteration stops its prefetches; the cursor gets the rest."""
    rng = random.Random(point)
    async with komet_setup(point, standing_orders=150) as (box, probe):
        async with KometClient(box.token, base_url=box.base_url, max_concurrency=4) as komet:
            orders = komet.standing_orders.iter(
                date_from=SPAN[0], date_to=SPAN[1], window=WINDOW, concurrency=4, status="All"
            )
            seen: list[StandingOrder] = []

            async def consume() -> None:
                async with orders:
                    async for order in orders:
                        seen.append(order)
                        await asyncio.sleep(0)

            task = asyncio.create_task(consume())
            after = rng.randrange(2, 60)
            await when(lambda: box.stats.total >= after)
            await cancelled(task)
            await left_clean(probe, komet)
            assert orders.next_cursor is not None
            rest = await komet.standing_orders.iter(
                date_from=SPAN[0],
                date_to=SPAN[1],
                window=WINDOW,
                status="All",
                cursor=orders.next_cursor,
            ).collect()
            everything = {o.id: o for o in standing_orders_of(box)}
            assert len({o.id for o in seen}) == len(seen)
            assert len({o.id for o in rest}) == len(rest)
            assert {o.id for o in seen} | {o.id for o in rest} == set(everything)
            assert all(everything[o.id] == o for o in [*seen, *rest])
        await probe.check()


# --- (c) retry waits -------------------------------------------------------------

ALWAYS_503 = FaultPlan(per_method={"customer.list": 1.0}, weights={HTTP_503: 1.0})
SLOW_RETRIES = RetryPolicy(attempts=20, wait_initial=0.2, wait_max=0.2, jitter=False)


@pytest.mark.parametrize("point", POINTS)
async def test_cancelling_a_call_sleeping_in_retry_backoff(point: int) -> None:
    """A call cancelled while it sleeps between 503 retries raises CancelledError, not HTTP 503."""
    rng = random.Random(point)
    async with komet_setup(point, faults=ALWAYS_503, latency=0.0) as (box, probe):
        clock = TracingClock()
        async with KometClient(
            box.token, base_url=box.base_url, retry=SLOW_RETRIES, clock=clock
        ) as komet:
            task = asyncio.create_task(komet.customers.list(id=box.data.customers[0].id))
            failed = rng.randrange(1, 4)
            await when(lambda: box.stats.total >= failed and clock.sleeping == 1)
            await asyncio.sleep(rng.uniform(0.0, 0.05))
            assert clock.sleeping == 1  # still in the backoff
            await cancelled(task)
            assert clock.sleeping == 0
            assert box.stats.requests == {"customer.list": failed}
            assert komet.stats.requests == failed
            assert komet.stats.retries == failed
            await left_clean(probe, komet)
            product = box.data.products[3]
            assert await komet.products.list(id=product.id) == [product]
        await probe.check()


# --- (d) rate-limit waits --------------------------------------------------------


@pytest.mark.parametrize("point", POINTS)
async def test_cancelling_queued_callers_of_a_one_slot_rate_limited_client(point: int) -> None:
    """max_concurrency=1 and 10/s: cancelled queued callers free the slot; the others go on."""
    rng = random.Random(point)
    async with komet_setup(point, latency=0.0, record_arrivals=True) as (box, probe):
        expected = {c.id: [c] for c in box.data.customers}
        ids = sorted(expected)[:6]
        async with KometClient(
            box.token,
            base_url=box.base_url,
            max_concurrency=1,
            rate_limit=RateLimit(per_second=10.0),
        ) as komet:
            tasks = [
                asyncio.create_task(komet.customers.list(id=i, include_inactive=True)) for i in ids
            ]
            await when(lambda: box.stats.total >= 1)
            await asyncio.sleep(rng.uniform(0.0, 0.25))
            doomed = rng.sample(range(len(tasks)), 3)
            hit = {n for n in doomed if tasks[n].cancel()}
            for n, task in enumerate(tasks):
                if n in hit:
                    with pytest.raises(asyncio.CancelledError):
                        await task
                else:
                    assert await task == expected[ids[n]]
            assert hit, "every doomed call had finished already"
            await left_clean(probe, komet)
            assert await komet.customers.list(id=ids[0], include_inactive=True) == expected[ids[0]]
            assert komet.stats.requests == box.stats.total <= len(ids) - len(hit) + 1 + 1
            arrivals = box.stats.arrivals
            assert arrivals is not None
            gaps = [b - a for a, b in itertools.pairwise(arrivals)]
            # The rate held across the cancellations (half the interval: sleeps only run late).
            assert min(gaps) >= 0.1 / 2
        await probe.check()


@pytest.mark.parametrize("point", POINTS)
async def test_a_cancelled_token_waiter_does_not_let_a_newcomer_jump_the_rate(point: int) -> None:
    """Cancelling one of several token waiters keeps requests 1/rate apart (no double slot)."""
    rng = random.Random(point)
    async with komet_setup(point, latency=0.0, record_arrivals=True) as (box, probe):
        ids = sorted(c.id for c in box.data.customers)
        async with KometClient(
            box.token,
            base_url=box.base_url,
            max_concurrency=8,
            rate_limit=RateLimit(per_second=10.0),
        ) as komet:
            call = functools.partial(komet.customers.list, include_inactive=True)
            tasks = [asyncio.create_task(call(id=i)) for i in ids[:5]]
            await when(lambda: box.stats.total >= 1)  # 1 sent, 4 waiting 0.1 s apart
            await asyncio.sleep(rng.uniform(0.0, 0.05))
            victim = tasks.pop(rng.randrange(1, 4))  # a waiter with others behind it
            await cancelled(victim)
            tasks.append(asyncio.create_task(call(id=ids[5])))
            await asyncio.gather(*tasks)
            await left_clean(probe, komet)
            arrivals = box.stats.arrivals
            assert arrivals is not None
            assert len(arrivals) == 5
            gaps = [round(b - a, 3) for a, b in itertools.pairwise(arrivals)]
            assert min(gaps) >= 0.1 / 2, gaps  # with two at one moment: about 0.001
        await probe.check()


async def test_cancelled_rate_limit_waiters_give_back_their_daily_quota() -> None:
    """Requests cancelled while waiting for a token were never sent: they spend no daily quota."""
    async with komet_setup(1) as (box, probe):
        ids = sorted(c.id for c in box.data.customers)
        async with KometClient(
            box.token,
            base_url=box.base_url,
            rate_limit=RateLimit(per_second=5.0, per_day=3),
        ) as komet:
            call = functools.partial(komet.customers.list, include_inactive=True)
            first = asyncio.create_task(call(id=ids[0]))
            waiting = [asyncio.create_task(call(id=i)) for i in ids[1:3]]
            await when(lambda: box.stats.total >= 1)
            for task in waiting:
                await cancelled(task)
            await first
            assert box.stats.total == 1
            # Two of the three requests of the day are left.
            await call(id=ids[3])
            await call(id=ids[4])
            assert box.stats.total == 3
            await left_clean(probe, komet)
        await probe.check()


@pytest.mark.parametrize("point", POINTS)
async def test_cancelling_the_only_slot_in_flight_frees_it(point: int) -> None:
    """max_concurrency=1: a call cancelled mid-request frees the slot and its connection."""
    rng = random.Random(point)
    async with komet_setup(point, latency=0.1) as (box, probe):
        expected = {c.id: [c] for c in box.data.customers}
        ids = sorted(expected)
        async with KometClient(box.token, base_url=box.base_url, max_concurrency=1) as komet:
            task = asyncio.create_task(komet.customers.list(id=ids[1], include_inactive=True))
            await when(lambda: box.stats.in_flight == 1)
            await asyncio.sleep(rng.uniform(0.0, 0.02))
            await cancelled(task)
            await left_clean(probe, komet)
            assert komet.stats.requests == 1
            assert (
                await asyncio.wait_for(
                    komet.customers.list(id=ids[2], include_inactive=True), timeout=2.0
                )
                == expected[ids[2]]
            )
        await probe.check()


async def test_cancelling_a_call_during_its_token_refresh_keeps_the_client_usable() -> None:
    """A call cancelled while its OAuth2 refresh is in flight leaves the client able to log in."""
    async with KountaSandbox(seed=41, customers=30, latency=0.05) as box, ResourceProbe() as probe:
        auth = OAuth2(box.access_token, box.refresh_token, box.client_id, box.client_secret)
        async with KountaClient(
            box.company_id, auth=auth, base_url=box.base_url, rate_limit=None
        ) as kounta:
            first = box.data.customers[0]
            assert await kounta.customers.get(first.id) == first
            box.expire_tokens()
            task = asyncio.create_task(kounta.customers.get(first.id))
            await when(lambda: box.stats.requests.get("token", 0) == 1)
            failures = kounta.stats.failures  # the 401 before the refresh counts as one
            await cancelled(task)
            await when(lambda: box.stats.refreshes == 1)  # the server rotated the pair
            assert await eventually(lambda: not probe.new_client_tasks)
            assert acquired_connections(kounta) == 0
            assert kounta.stats.failures == failures
            assert await kounta.customers.get(first.id) == first
        await probe.check()
