"""Sandbox fixtures: a small sandbox on a real loopback socket, and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from komet_async import KometClient, RetryPolicy
from komet_async.sandbox import KometSandbox

#: Retries that are quick but still honour the server's Retry-After.
FAST_RETRY = RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.05)

SMALL: dict[str, Any] = {"seed": 3, "customers": 300, "products": 200, "standing_orders": 150}


@pytest.fixture
async def sandbox() -> AsyncIterator[KometSandbox]:
    """A small fault-free sandbox, running."""
    async with KometSandbox(**SMALL) as box:
        yield box


@pytest.fixture
async def client(sandbox: KometSandbox) -> AsyncIterator[KometClient]:
    """A client for the ``sandbox`` fixture, with quick retries."""
    async with KometClient(sandbox.token, base_url=sandbox.base_url, retry=FAST_RETRY) as komet:
        yield komet
