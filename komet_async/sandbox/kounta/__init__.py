"""A local fake Kounta (Lightspeed O-Series) customers API for tests, demos and benchmarks.

::

    from komet_async import RetryPolicy
    from komet_async.kounta import KountaClient, OAuth2
    from komet_async.sandbox import FaultPlan
    from komet_async.sandbox.kounta import KountaSandbox

    async with KountaSandbox(seed=7, customers=1003, faults=FaultPlan(rate=0.1, seed=7)) as sandbox:
        auth = OAuth2(
            sandbox.access_token, sandbox.refresh_token, sandbox.client_id, sandbox.client_secret
        )
        async with KountaClient(sandbox.company_id, auth=auth, base_url=sandbox.base_url) as kounta:
            customers = await kounta.customers.list().collect()
        assert customers == sandbox.data.listed
        print(sandbox.stats.requests, sandbox.stats.faults, sandbox.stats.refreshes)

The server listens on 127.0.0.1 (an ephemeral port by default) and answers,
under ``/v1``: the paginated customer listing (``X-Next-Page``), lookups by
reference id (200 with a list) and by email / mobile / name and phone (302 to
the record, or 404), get, create (201 with ``Location``), update, delete,
webhook subscriptions with signed background deliveries, and OAuth2 token
refresh with rotating refresh tokens. Credentials are HTTP Basic (client id
and secret) or bearer tokens that expire. An optional fixed-window rate limit
answers 429 the way Kounta does (plain text, no ``Retry-After``). Faults come
from the same :class:`~komet_async.sandbox.FaultPlan` and injection code as
the Komet sandbox, and an ``after_store`` plan can lose the answer of a write
the server kept.

Modules: :mod:`.generate` (data), :mod:`.data` (store, validation, views),
:mod:`.auth` (credentials, tokens, rate window), :mod:`.webhooks`
(subscriptions, deliveries), :mod:`.routes` (route handlers), :mod:`.app`
(the request pipeline), :mod:`.server` (:class:`KountaSandbox`).
"""

from .app import NEXT_PAGE_STYLES, KountaOptions, KountaStats, make_app
from .data import ABRIDGED_FIELDS, MODIFIABLE_FIELDS, KountaData
from .generate import EXAMPLE_CUSTOMERS
from .server import KountaSandbox
from .webhooks import UPDATE_FILTERS, Delivery, sign

__all__ = [
    "ABRIDGED_FIELDS",
    "EXAMPLE_CUSTOMERS",
    "MODIFIABLE_FIELDS",
    "NEXT_PAGE_STYLES",
    "UPDATE_FILTERS",
    "Delivery",
    "KountaData",
    "KountaOptions",
    "KountaSandbox",
    "KountaStats",
    "make_app",
    "sign",
]
