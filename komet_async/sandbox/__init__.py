"""A local fake Komet Sales API for tests, demos and benchmarks.

::

    from komet_async import KometClient, RetryPolicy
    from komet_async.sandbox import FaultPlan, KometSandbox

    plan = FaultPlan(rate=0.2, seed=7)
    async with KometSandbox(seed=7, customers=10_000, faults=plan) as sandbox:
        async with KometClient(sandbox.token, base_url=sandbox.base_url) as komet:
            customers = await komet.customers.list(include_inactive=True)
        assert customers == sandbox.data.customers
        print(sandbox.stats.requests, sandbox.stats.faults)

The server listens on 127.0.0.1 (an ephemeral port by default) and answers
``customer.list``, ``customer.update``, ``product.list`` and
``standing.order.list`` with deterministic generated data, keeping the wire
quirks of the real API. A :class:`FaultPlan` injects HTTP errors, 429s,
connection resets, cut-off bodies, slow answers and HTML pages,
reproducibly from a seed (see :mod:`komet_async.sandbox.faults`).

Modules: :mod:`.generate` (data), :mod:`.data` (store and queries),
:mod:`.validate` (``customer.update``'s documented input rules),
:mod:`.faults` (fault decisions), :mod:`.inject` (acting faults out),
:mod:`.app` (aiohttp handlers), :mod:`.server` (:class:`KometSandbox`).
The Kounta customers API has its own sandbox on the same fault machinery:
:class:`komet_async.sandbox.kounta.KountaSandbox`.
"""

from .app import SandboxStats, make_app
from .data import (
    CustomerRecord,
    Location,
    ProductRecord,
    SalesPerson,
    SandboxData,
    StandingOrderRecord,
)
from .faults import DEFAULT_WEIGHTS, FAULT_KINDS, QUOTA, FaultPlan
from .generate import DEFAULT_DATE_SPAN, generate
from .server import KometSandbox, token_for_seed

__all__ = [
    "DEFAULT_DATE_SPAN",
    "DEFAULT_WEIGHTS",
    "FAULT_KINDS",
    "QUOTA",
    "CustomerRecord",
    "FaultPlan",
    "KometSandbox",
    "Location",
    "ProductRecord",
    "SalesPerson",
    "SandboxData",
    "SandboxStats",
    "StandingOrderRecord",
    "generate",
    "make_app",
    "token_for_seed",
]
