"""komet_async.bulk: bounded fan-out, per-item results, order, progress and cancellation."""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable

import pytest

from komet_async import (
    Customer,
    KometClient,
    KometError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from komet_async.bulk import Result, gather, raise_first
from komet_async.sandbox import FaultPlan, KometSandbox

Factory = Callable[[], Awaitable[int]]


def returning(value: int, delay: float = 0.0) -> Factory:
    async def call() -> int:
        await asyncio.sleep(delay)
        return value

    return call


async def settle() -> None:
    """Let every ready task run until it blocks."""
    for _ in range(5):
        await asyncio.sleep(0)


# --- Result ------------------------------------------------------------------------


def test_result_ok_and_unwrap() -> None:
    """A successful Result is ok and unwraps to its value (None included)."""
    assert Result(3).ok
    assert Result(3).unwrap() == 3
    assert Result(None).unwrap() is None


def test_result_error_unwrap_raises_the_same_object() -> None:
    """A failed Result is not ok and unwrap raises the exact exception it holds."""
    error = KeyError("x")
    result: Result[int] = Result(error=error)
    assert not result.ok
    with pytest.raises(KeyError) as caught:
        result.unwrap()
    assert caught.value is error


def test_result_refuses_value_and_error() -> None:
    """A Result cannot hold both a value and an error."""
    with pytest.raises(ValueError, match="not both"):
        Result(1, error=ValueError())


def test_result_is_frozen() -> None:
    """Results are immutable."""
    result = Result(1)
    with pytest.raises(AttributeError):
        result.value = 2  # type: ignore[misc]


def test_raise_first() -> None:
    """raise_first returns every value in order, or raises the first error in input order."""
    assert raise_first([Result(1), Result(2)]) == [1, 2]
    first, second = ValueError("first"), KeyError("second")
    with pytest.raises(ValueError, match="first") as caught:
        raise_first([Result(1), Result(error=first), Result(error=second)])
    assert caught.value is first


# --- gather ------------------------------------------------------------------------


async def test_empty_input() -> None:
    """No calls give [] and no progress callback."""
    seen: list[tuple[int, int]] = []
    assert await gather([], on_progress=lambda d, t: seen.append((d, t))) == []
    assert seen == []


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, None])
async def test_concurrency_validated(bad: object) -> None:
    """concurrency must be an integer >= 1."""
    with pytest.raises(ValueError, match="concurrency"):
        await gather([returning(1)], concurrency=bad)  # type: ignore[arg-type]


async def test_order_kept_when_calls_finish_in_reverse() -> None:
    """Results are in input order even when the calls complete in the reverse order."""
    gates = [asyncio.Event() for _ in range(6)]
    finished: list[int] = []

    def gated(i: int) -> Factory:
        async def call() -> int:
            await gates[i].wait()
            finished.append(i)
            return i * 10

        return call

    task = asyncio.ensure_future(gather([gated(i) for i in range(6)], concurrency=6))
    await settle()
    for gate in reversed(gates):
        gate.set()
        await settle()
    results = await task
    assert finished == [5, 4, 3, 2, 1, 0]
    assert [r.unwrap() for r in results] == [0, 10, 20, 30, 40, 50]


async def test_order_kept_with_varied_delays() -> None:
    """Tiny sleeps of varied length through a small pool still give input order."""
    rng = random.Random(4)
    delays = [rng.choice([0, 0.001, 0.002, 0.004]) for _ in range(40)]
    results = await gather([returning(i, d) for i, d in enumerate(delays)], concurrency=5)
    assert [r.value for r in results] == list(range(40))
    assert all(r.ok for r in results)


async def test_failures_reported_per_item_with_the_exact_exception() -> None:
    """A failing call is its own Result holding the very exception object; the rest succeed."""
    errors = {2: ValueError("two"), 5: KometError("five")}

    def call(i: int) -> Factory:
        async def run() -> int:
            await asyncio.sleep(0)
            if i in errors:
                raise errors[i]
            return i

        return run

    results = await gather([call(i) for i in range(8)], concurrency=3)
    assert len(results) == 8
    for i, result in enumerate(results):
        if i in errors:
            assert not result.ok
            assert result.error is errors[i]
            assert result.value is None
        else:
            assert result.ok
            assert result.value == i


async def test_factory_raising_synchronously_is_a_failed_result() -> None:
    """A factory that raises before returning an awaitable fails only its own item."""
    error = TypeError("bad arguments")

    def broken() -> Awaitable[int]:
        raise error

    results = await gather([returning(1), broken, returning(3)])
    assert [r.value for r in results] == [1, None, 3]
    assert results[1].error is error


@pytest.mark.parametrize("concurrency", [1, 3, 7])
async def test_concurrency_bound_never_exceeded(concurrency: int) -> None:
    """At most ``concurrency`` calls are in flight, and the pool is actually used to the full."""
    in_flight = peak = 0
    rng = random.Random(concurrency)

    def call(i: int) -> Factory:
        async def run() -> int:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                await asyncio.sleep(rng.choice([0, 0.001, 0.003]))
            finally:
                in_flight -= 1
            return i

        return run

    results = await gather([call(i) for i in range(30)], concurrency=concurrency)
    assert [r.value for r in results] == list(range(30))
    assert peak == concurrency
    assert in_flight == 0


async def test_factories_called_only_when_a_slot_frees() -> None:
    """A factory is not called until a slot is free, and the calls start in input order."""
    gates = [asyncio.Event() for _ in range(5)]
    called: list[int] = []

    def factory(i: int) -> Factory:
        def make() -> Awaitable[int]:
            called.append(i)

            async def run() -> int:
                await gates[i].wait()
                return i

            return run()

        return make

    task = asyncio.ensure_future(gather([factory(i) for i in range(5)], concurrency=2))
    await settle()
    assert called == [0, 1]
    gates[1].set()
    await settle()
    assert called == [0, 1, 2]
    gates[0].set()
    await settle()
    assert called == [0, 1, 2, 3]
    for gate in gates:
        gate.set()
    assert [r.value for r in await task] == [0, 1, 2, 3, 4]


async def test_lazy_iterable_of_factories() -> None:
    """A generator of factories works like a list."""
    results = await gather((returning(i) for i in range(4)), concurrency=2)
    assert [r.value for r in results] == [0, 1, 2, 3]


async def test_progress_called_with_done_and_total_after_each_call() -> None:
    """on_progress gets (1, n), (2, n) ... (n, n), failures counted like successes."""
    seen: list[tuple[int, int]] = []

    async def fail() -> int:
        raise RuntimeError("no")

    calls: list[Factory] = [returning(1), fail, returning(3, 0.001), fail, returning(5)]
    await gather(calls, concurrency=2, on_progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


async def test_cancelling_the_caller_cancels_and_awaits_every_call() -> None:
    """Cancelling the caller cancels and awaits the calls in flight, re-raises, leaks no task."""
    before = asyncio.all_tasks()
    started: list[int] = []
    cleaned: list[int] = []
    never = asyncio.Event()

    def call(i: int) -> Factory:
        async def run() -> int:
            started.append(i)
            try:
                await never.wait()
            finally:
                await asyncio.sleep(0)  # cleanup that itself awaits
                cleaned.append(i)
            return i

        return run

    task = asyncio.ensure_future(gather([call(i) for i in range(10)], concurrency=4))
    await settle()
    assert started == [0, 1, 2, 3]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(cleaned) == [0, 1, 2, 3]
    assert started == [0, 1, 2, 3]  # nothing new was started while stopping
    assert asyncio.all_tasks() == before


async def test_cancelled_twice_still_waits_for_every_call() -> None:
    """A second cancellation while the calls clean up does not abandon them."""
    before = asyncio.all_tasks()
    cleaned: list[int] = []
    never = asyncio.Event()

    def call(i: int) -> Factory:
        async def run() -> int:
            try:
                await never.wait()
            finally:
                for _ in range(3):
                    await asyncio.sleep(0)
                cleaned.append(i)
            return i

        return run

    task = asyncio.ensure_future(gather([call(i) for i in range(3)], concurrency=3))
    await settle()
    task.cancel()
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(cleaned) == [0, 1, 2]
    assert asyncio.all_tasks() == before


async def test_cancelled_error_from_a_call_propagates() -> None:
    """A call raising CancelledError is not a Result: the others are cancelled and it propagates."""
    before = asyncio.all_tasks()
    cancelled: list[int] = []

    async def slow() -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(1)
            raise
        return 1

    async def cancels() -> int:
        await asyncio.sleep(0)
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await gather([slow, cancels, slow], concurrency=3)
    assert cancelled == [1, 1]
    assert asyncio.all_tasks() == before


async def test_progress_callback_error_stops_everything_and_propagates() -> None:
    """An exception from on_progress cancels the calls in flight and is raised."""
    before = asyncio.all_tasks()

    def progress(done: int, total: int) -> None:
        raise ZeroDivisionError(done)

    with pytest.raises(ZeroDivisionError):
        await gather([returning(1), returning(2, 10), returning(3, 10)], on_progress=progress)
    assert asyncio.all_tasks() == before


# --- against the sandbox -------------------------------------------------------------


async def test_sandbox_customers_for_200_ids_in_input_order() -> None:
    """200 by-id lookups through one client come back equal to the sandbox's records, in order."""
    async with KometSandbox(seed=11, customers=400, products=10, standing_orders=10) as box:
        everyone = box.data.customers
        chosen = random.Random(11).sample(everyone, 200)
        ids = [c.id for c in chosen]
        progress: list[int] = []
        async with KometClient(box.token, base_url=box.base_url) as komet:
            results = await gather(
                [functools.partial(komet.customers.list, id=i, include_inactive=True) for i in ids],
                concurrency=16,
                on_progress=lambda done, total: progress.append(done),
            )
        assert box.stats.requests == {"customer.list": 200}
    assert progress == list(range(1, 201))
    assert raise_first(results) == [[c] for c in chosen]


async def test_sandbox_faults_without_retries_give_per_item_errors() -> None:
    """With faults and no retries, each id gets one Result: the right record or the error."""
    plan = FaultPlan(
        rate=0.3,
        seed=5,
        weights={"http_500": 1, "http_502": 1, "http_503": 1, "reset": 1, "cutoff": 1},
    )
    async with KometSandbox(
        seed=5, customers=300, products=10, standing_orders=10, faults=plan
    ) as box:
        by_id = {c.id: c for c in box.data.customers}
        ids = random.Random(5).sample(sorted(by_id), 200)
        async with KometClient(
            box.token, base_url=box.base_url, retry=RetryPolicy.disabled()
        ) as komet:
            results = await gather(
                [functools.partial(komet.customers.list, id=i, include_inactive=True) for i in ids]
            )
            failures = komet.stats.failures
        http_faults = sum(n for kind, n in box.stats.faults.items() if kind.startswith("http_"))
    assert len(results) == 200
    failed = [r for r in results if not r.ok]
    assert 20 < len(failed) < 120
    assert len(failed) == failures
    assert all(isinstance(r.error, (ServerError, TransportError)) for r in failed)
    # Every HTTP error fault failed exactly one call. (A reset may instead be
    # absorbed by aiohttp's resend on a stale keep-alive connection.)
    assert sum(isinstance(r.error, ServerError) for r in failed) == http_faults
    for customer_id, result in zip(ids, results, strict=True):
        if result.ok:
            found: list[Customer] | None = result.value
            assert found == [by_id[customer_id]]
