"""Bounded fan-out with one result per call: :func:`gather`.

Give :func:`gather` coroutine *factories* (zero-argument callables returning
an awaitable), not coroutines: a factory is called only when one of the
``concurrency`` slots is free, so a thousand calls never mean a thousand
requests queued at once, and nothing is created that could be left
un-awaited. Results come back in input order, one :class:`Result` per call,
whatever order the calls finish in; a call that raised is a failed
:class:`Result` holding the very exception object, and the others go on::

    import functools

    from komet_async import KometClient
    from komet_async.bulk import gather, raise_first

    async with KometClient(token) as komet:
        results = await gather(
            [functools.partial(komet.customers.list, id=i) for i in ids],
            concurrency=8,
            on_progress=lambda done, total: print(f"{done}/{total}"),
        )
    found = [r.value for r in results if r.ok]
    failed = {i: r.error for i, r in zip(ids, results) if not r.ok}
    everything = raise_first(results)  # or: the values, or the first error

Cancellation follows ``asyncio.TaskGroup`` (which this module does not need,
so it runs on Python 3.10): cancelling the task that awaits :func:`gather`
cancels every call in flight, waits for them to finish, and re-raises
``CancelledError``; no task is left pending. ``CancelledError``,
``KeyboardInterrupt`` and ``SystemExit`` raised by a call are never turned
into a :class:`Result`: they end the whole gather the same way.

The per-call concurrency cap composes with the client's own
``max_concurrency``: the smaller one decides how many requests are in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Final, Generic, TypeVar, cast

import attrs

__all__ = ["DEFAULT_CONCURRENCY", "Result", "gather", "raise_first"]

T = TypeVar("T")

#: Calls in flight at once unless told otherwise (the client's default cap too).
DEFAULT_CONCURRENCY: Final = 8


def _only_one(instance: Result[Any], _: attrs.Attribute[Any], error: BaseException | None) -> None:
    if error is not None and instance.value is not None:
        raise ValueError("a Result holds a value or an error, not both")


@attrs.frozen
class Result(Generic[T]):
    """The outcome of one call: its ``value``, or the ``error`` that ended it.

    ``error`` is the exception object the call raised (an ``Exception``;
    cancellation and interrupts are never captured), so ``raise r.error``
    or ``isinstance(r.error, NotFoundError)`` work as on the call itself.
    """

    value: T | None = None
    error: BaseException | None = attrs.field(default=None, validator=_only_one)

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.error is None

    def unwrap(self) -> T:
        """The value; raises the call's exception if it failed."""
        if self.error is not None:
            raise self.error
        # A call may legitimately return None, so value's Optional is not narrowed.
        return cast(T, self.value)


def raise_first(results: Iterable[Result[T]]) -> list[T]:
    """Every value in order, or raise the error of the first failed result (in input order)."""
    return [result.unwrap() for result in results]


async def gather(
    calls: Iterable[Callable[[], Awaitable[T]]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[Result[T]]:
    """Run ``calls`` with at most ``concurrency`` in flight; one :class:`Result` each, in order.

    ``calls`` are zero-argument callables returning an awaitable (a coroutine
    function with ``functools.partial``, or a ``lambda``); each is called once,
    when a slot is free. An ``Exception`` raised by a call (or by the factory
    itself) becomes that call's failed :class:`Result` and the rest continue.
    ``on_progress(done, total)`` is called after each call completes, from the
    event loop; an exception it raises ends the gather like a cancellation
    (the calls in flight are cancelled and awaited) and propagates.

    Raises ``ValueError`` if ``concurrency`` is not an integer >= 1.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
    factories = list(calls)
    total = len(factories)
    if not total:
        return []
    slots: list[Result[T] | None] = [None] * total
    # One shared iterator: workers take the next index when they are free, so
    # the start order is the input order and no index is taken twice.
    indices = iter(range(total))
    done = 0

    async def worker() -> None:
        nonlocal done
        for index in indices:
            try:
                value = await factories[index]()
            except Exception as exc:  # every failure is kept, per call
                slots[index] = Result(error=exc)
            else:
                slots[index] = Result(value)
            done += 1
            if on_progress is not None:
                on_progress(done, total)

    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, total))]
    await _supervise(workers)
    if any(slot is None for slot in slots):  # pragma: no cover - a bug, never an outcome
        raise RuntimeError("bulk.gather lost a result")
    return cast(list[Result[T]], slots)


async def _supervise(workers: Sequence[asyncio.Future[None]]) -> None:
    """Wait for every worker; on the first failure or on cancellation, stop the rest first."""
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_done(_: asyncio.Future[None]) -> None:
        if finished.done():
            return
        if all(w.done() for w in workers) or any(
            w.done() and (w.cancelled() or w.exception() is not None) for w in workers
        ):
            finished.set_result(None)

    for task in workers:
        task.add_done_callback(on_done)
    try:
        await finished
    except BaseException:
        await _cancel_and_wait(workers)
        raise
    # Note why a worker ended early before cancelling the others (which would
    # make them look cancelled too): a call's CancelledError or interrupt, or an
    # exception from on_progress. The others must not outlive the gather.
    ended = [task for task in workers if task.done()]
    await _cancel_and_wait(workers)
    for task in ended:
        if task.cancelled():
            raise asyncio.CancelledError
        error = task.exception()
        if error is not None:
            raise error


async def _cancel_and_wait(tasks: Sequence[asyncio.Future[None]]) -> None:
    """Cancel ``tasks`` and wait until every one has finished, even if cancelled meanwhile."""
    for task in tasks:
        task.cancel()
    pending = {task for task in tasks if not task.done()}
    cancelled_again = False
    while pending:
        try:
            _, pending = await asyncio.wait(pending)
        except asyncio.CancelledError:
            # Leaving now would leave tasks running unowned; finish waiting first.
            cancelled_again = True
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" log
    if cancelled_again:
        raise asyncio.CancelledError
