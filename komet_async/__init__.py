"""komet_async: an asyncio client for the Komet Sales API (and the Kounta customers API).

::

    from komet_async import KometClient

    async with KometClient("my-token") as komet:
        customers = await komet.customers.list(name="flores")

The public names are re-exported here; the error tree is drawn in
:mod:`komet_async.errors`.
"""

import logging as _logging

from ._converters import Decoder, make_converter
from ._ratelimit import LocalBudget, RateBudget, RateLimit, RateLimitState
from ._retry import RetryPolicy
from ._session import ClientStats
from ._version import __version__
from .bulk import Result
from .client import DEFAULT_BASE_URL, KometClient
from .errors import (
    APIError,
    AuthenticationError,
    HTTPStatusError,
    KometError,
    NotFoundError,
    RateLimitedError,
    ResponseFormatError,
    ResponseTooLargeError,
    ServerError,
    TransportError,
    ValidationError,
)
from .models import (
    Breakdown,
    Customer,
    CustomerUpdate,
    CustomField,
    Product,
    StandingOrder,
    StandingOrderDetail,
)
from .sync import SyncState

# A library logs, the application decides where logs go: without this, Python's
# last-resort handler would print our retry warnings to every user's stderr.
_logging.getLogger("komet_async").addHandler(_logging.NullHandler())

__all__ = [
    "APIError",
    "AuthenticationError",
    "Breakdown",
    "ClientStats",
    "CustomField",
    "Customer",
    "CustomerUpdate",
    "DEFAULT_BASE_URL",
    "Decoder",
    "HTTPStatusError",
    "KometClient",
    "KometError",
    "LocalBudget",
    "NotFoundError",
    "Product",
    "RateBudget",
    "RateLimit",
    "RateLimitState",
    "RateLimitedError",
    "ResponseFormatError",
    "ResponseTooLargeError",
    "Result",
    "RetryPolicy",
    "ServerError",
    "StandingOrder",
    "StandingOrderDetail",
    "SyncState",
    "TransportError",
    "ValidationError",
    "__version__",
    "make_converter",
]
