"""10,000 requests through one client leave no fd, task or unclosed session behind."""

from __future__ import annotations

import functools
import socket

import aiohttp

from komet_async import KometClient
from komet_async.bulk import gather
from komet_async.models.customers import Customer
from komet_async.sandbox import KometSandbox

from ._support import ResourceProbe, open_fds

REQUESTS = 10_000
CONCURRENCY = 32


def expected_by_id(box: KometSandbox) -> dict[int, list[Customer]]:
    """What ``customers.list(id=i, include_inactive=True)`` must return, per id."""
    return {c.id: [c] for c in box.data.customers}


async def test_probe_sees_an_unclosed_session_and_an_open_socket() -> None:
    """The probe is not blind: a session never closed and a socket left open both fail it."""
    async with ResourceProbe() as probe:
        session = aiohttp.ClientSession()
        del session
        sock = socket.socket()
        try:
            await probe.check(timeout=0.1)
        except AssertionError as exc:
            failure = str(exc)
        else:  # pragma: no cover - the probe would be useless
            raise AssertionError("the probe missed a leak")
        finally:
            sock.close()
        assert f"open fds: {probe.start_fds} at start, {probe.start_fds + 1} now" in failure
        assert "Unclosed client session" in failure
        assert "Unclosed client session" in probe.resource_warnings


async def test_ten_thousand_requests_leave_fds_and_tasks_at_their_start_level() -> None:
    """10,000 calls at concurrency 32 return exact records; after close fds and tasks are back."""
    async with KometSandbox(seed=11, customers=250, products=5, standing_orders=5) as box:
        expected = expected_by_id(box)
        ids = sorted(expected)
        async with ResourceProbe() as probe:
            async with KometClient(
                box.token, base_url=box.base_url, max_concurrency=CONCURRENCY
            ) as komet:
                calls = [
                    functools.partial(
                        komet.customers.list, id=ids[n % len(ids)], include_inactive=True
                    )
                    for n in range(REQUESTS)
                ]
                results = await gather(calls, concurrency=CONCURRENCY)
                busy_fds = open_fds()
                assert komet.stats.requests == REQUESTS
                assert komet.stats.failures == 0
            assert [r.unwrap() for r in results] == [
                expected[ids[n % len(ids)]] for n in range(REQUESTS)
            ]
            assert box.stats.total == REQUESTS
            assert box.stats.peak_in_flight <= CONCURRENCY
            # Keep-alive connections were reused: far fewer sockets than requests.
            assert busy_fds - probe.start_fds <= 2 * CONCURRENCY
            await probe.check()
            print(f"\n{REQUESTS} requests, owned session: {probe.figures()}, busy fds {busy_fds}")


async def test_caller_owned_session_survives_the_client_and_leaks_nothing() -> None:
    """With a caller's session the client closes nothing of it and leaves no task behind."""
    async with KometSandbox(seed=12, customers=100, products=5, standing_orders=5) as box:
        expected = expected_by_id(box)
        ids = sorted(expected)
        async with ResourceProbe() as probe:
            session = aiohttp.ClientSession()
            async with KometClient(
                box.token, base_url=box.base_url, session=session, max_concurrency=16
            ) as komet:
                results = await gather(
                    [
                        functools.partial(komet.customers.list, id=i, include_inactive=True)
                        for i in ids * 20
                    ],
                    concurrency=16,
                )
            assert [r.unwrap() for r in results] == [expected[i] for i in ids * 20]
            assert komet.closed
            assert not session.closed
            assert probe.new_client_tasks == set()
            # The session still works for its owner, and for a new client.
            async with session.get(box.url + "/api/customer.list") as response:
                assert response.status == 200
            async with KometClient(box.token, base_url=box.base_url, session=session) as again:
                assert (
                    await again.customers.list(id=ids[0], include_inactive=True) == expected[ids[0]]
                )
            assert not session.closed
            await session.close()
            await probe.check()
            print(f"\ncaller-owned session: {probe.figures()}")
