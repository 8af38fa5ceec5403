"""The Kounta (Lightspeed O-Series) customers API, on the same core as the Komet client.

::

    from komet_async.kounta import KountaClient, OAuth2

    async with KountaClient(5678, auth=OAuth2(access, refresh, client_id, secret)) as kounta:
        async for customer in kounta.customers.list():
            ...
"""

from .auth import BasicAuth, OAuth2, TokenPair
from .client import DEFAULT, DEFAULT_KOUNTA_BASE_URL, KountaClient, default_rate_limit
from .models import (
    CUSTOMER_TOPICS,
    Address,
    Customer,
    CustomerChanges,
    CustomerEvent,
    NewAddress,
    NewCustomer,
    Webhook,
)

__all__ = [
    "CUSTOMER_TOPICS",
    "DEFAULT",
    "DEFAULT_KOUNTA_BASE_URL",
    "Address",
    "BasicAuth",
    "Customer",
    "CustomerChanges",
    "CustomerEvent",
    "KountaClient",
    "NewAddress",
    "NewCustomer",
    "OAuth2",
    "TokenPair",
    "Webhook",
    "default_rate_limit",
]
