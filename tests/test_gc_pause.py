"""The collector paused while a large body is decoded and structured, and only then."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from komet_async import Customer, KometClient, RetryPolicy
from komet_async._converters import Decoder
from komet_async._gc import GC_PAUSE_MIN_BYTES, gc_paused

from .conftest import TOKEN, komet_server


@pytest.fixture
def collector_on() -> Iterator[None]:
    """Run with the collector on, whatever the test runner had, and restore it after."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_large_body_pauses_the_collector_and_restores_it(collector_on: None) -> None:
    """A body at the threshold runs with the collector off; it is on again afterwards."""
    with gc_paused(GC_PAUSE_MIN_BYTES):
        assert not gc.isenabled()
    assert gc.isenabled()


def test_small_body_leaves_the_collector_running(collector_on: None) -> None:
    """A body below the threshold does not touch the collector."""
    with gc_paused(GC_PAUSE_MIN_BYTES - 1):
        assert gc.isenabled()
    assert gc.isenabled()


def test_an_application_that_turned_the_collector_off_keeps_it_off(collector_on: None) -> None:
    """A collector already off stays off after a large body (the pause never turns it on)."""
    gc.disable()
    with gc_paused(10 * GC_PAUSE_MIN_BYTES):
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_error_inside_restores_the_collector(collector_on: None) -> None:
    """An exception raised while paused still turns the collector back on."""
    with pytest.raises(ZeroDivisionError), gc_paused(GC_PAUSE_MIN_BYTES):
        1 / 0  # noqa: B018 - the error is the point
    assert gc.isenabled()


def _customers(count: int) -> bytes:
    records = [
        {"id": str(i), "name": f"Florist {i:06d}", "active": "1", "code": f"C{i}"}
        for i in range(count)
    ]
    return json.dumps({"status": "1", "message": "OK", "customers": records}).encode()


@pytest.mark.parametrize(("count", "paused"), [(3, False), (2_000, True)])
async def test_client_structures_large_lists_with_the_collector_paused(
    collector_on: None,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
    paused: bool,
) -> None:
    """customer.list structures a large page with the collector off, a small one with it on."""
    body = _customers(count)
    assert (len(body) >= GC_PAUSE_MIN_BYTES) is paused
    seen: list[bool] = []
    structure = Decoder.structure

    def spy(self: Decoder, data: Any, tp: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return structure(self, data, tp, **kwargs)

    monkeypatch.setattr(Decoder, "structure", spy)

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async with (
        komet_server(answer) as base,
        KometClient(TOKEN, base_url=base, retry=RetryPolicy.disabled()) as komet,
    ):
        found = await komet.customers.list()
    assert seen == [not paused]
    assert gc.isenabled()
    assert [c.id for c in found] == list(range(count))
    assert found[-1] == Customer(
        id=count - 1, name=f"Florist {count - 1:06d}", active=True, code=f"C{count - 1}"
    )
