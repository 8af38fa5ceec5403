"""The exceptions komet_async raises.

Every error the library raises on purpose derives from one root, so
``except KometError`` catches them all::

    KometError
    ├── ValidationError          (also a ValueError) bad input, nothing was sent
    ├── TransportError           connection failures, resets, timeouts
    ├── HTTPStatusError          the server answered 4xx/5xx (.status)
    │   ├── AuthenticationError  401 / 403
    │   ├── NotFoundError        404
    │   ├── RateLimitedError     429, or a client-side quota is spent (.retry_after)
    │   └── ServerError          5xx
    ├── APIError                 Komet envelope with status 0 (.message)
    └── ResponseFormatError      body is not JSON, has no envelope, or a field
        │                        cannot be converted (.path, .value)
        └── ResponseTooLargeError  the body exceeds max_response_bytes (.limit)

Two families live beside the code that raises them, under the same root:
``komet_async.kounta.webhooks.WebhookError`` (a bad webhook delivery, with its
HTTP status) and ``komet_async.sync.SyncStateError`` (an unreadable sync state).

Misuse of the client (calling it after ``aclose()``) is a plain ``RuntimeError``.

Every message, ``repr`` and attribute here is built from redacted text: the
authentication token never appears in an exception (see ``_redact``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = [
    "APIError",
    "AuthenticationError",
    "HTTPStatusError",
    "KometError",
    "NotFoundError",
    "RateLimitedError",
    "ResponseFormatError",
    "ResponseTooLargeError",
    "ServerError",
    "TransportError",
    "ValidationError",
]


class KometError(Exception):
    """Root of every error komet_async raises on purpose.

    ``method`` is the API method or route the error belongs to (for example
    ``customer.list``) and ``url`` the request URL with secrets redacted; both
    are ``None`` when the error happened before a request was built.
    """

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url

    def _fields(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors defeat BaseException's default pickling;
        # errors cross process boundaries in worker pools, so keep them picklable.
        return (_rebuild, (type(self), self.message, self._fields()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


def _rebuild(cls: type[KometError], message: str, fields: dict[str, Any]) -> KometError:
    return cls(message, **fields)


class ValidationError(KometError, ValueError):
    """Input failed validation before anything was sent.

    ``problems`` lists every problem found, not only the first.
    """

    def __init__(
        self,
        problems: Sequence[str],
        *,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        prefix = f"invalid {method} request" if method else "invalid request"
        super().__init__(f"{prefix}: " + "; ".join(self.problems), method=method, url=url)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_validation, (self.problems, self.method, self.url))


def _rebuild_validation(
    problems: tuple[str, ...], method: str | None, url: str | None
) -> ValidationError:
    return ValidationError(problems, method=method, url=url)


class TransportError(KometError):
    """The request could not be completed: connection refused or reset, timeout, cut-off body.

    ``request_sent`` is ``False`` only when the connection was never made, so
    the server cannot have seen the request (a non-idempotent call may then be
    retried safely). ``timed_out`` tells a timeout from other failures.
    """

    def __init__(
        self,
        message: str,
        *,
        request_sent: bool = True,
        timed_out: bool = False,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.request_sent = request_sent
        self.timed_out = timed_out

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "request_sent": self.request_sent, "timed_out": self.timed_out}


class HTTPStatusError(KometError):
    """The server answered with an HTTP error status.

    Attributes: ``status`` (int), ``headers`` (response headers), ``body_excerpt``
    (the start of the body, redacted), ``retry_after`` (the seconds a
    ``Retry-After`` header asked for, or ``None``), plus ``method`` and ``url``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        body_excerpt: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status = status
        self.headers: dict[str, str] = dict(headers or {})
        self.body_excerpt = body_excerpt
        self.retry_after = retry_after

    def _fields(self) -> dict[str, Any]:
        return {
            **super()._fields(),
            "status": self.status,
            "headers": self.headers,
            "body_excerpt": self.body_excerpt,
            "retry_after": self.retry_after,
        }


class AuthenticationError(HTTPStatusError):
    """The server refused the credentials (HTTP 401 or 403)."""


class NotFoundError(HTTPStatusError):
    """The resource does not exist (HTTP 404)."""


class ServerError(HTTPStatusError):
    """The server failed (HTTP 5xx)."""


class RateLimitedError(HTTPStatusError):
    """Too many requests: HTTP 429, or a client-side daily quota is spent.

    ``retry_after`` is the number of seconds the server (or the quota) asks us
    to wait, or ``None`` when nothing said.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        retry_after: float | None = None,
        method: str | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        body_excerpt: str = "",
    ) -> None:
        super().__init__(
            message,
            status=status,
            method=method,
            url=url,
            headers=headers,
            body_excerpt=body_excerpt,
            retry_after=retry_after,
        )


_CREDENTIAL_WORDS = ("token", "authenticat", "permission", "access", "authoriz", "user")
#: "Orders not found.", and the other spelling of it: "No products found".
_NOTHING_FOUND: Final = re.compile(r"\bnot found\b|\bno\b[\w ]*\bfound\b")


class APIError(KometError):
    """The Komet envelope said ``status: 0``; ``message`` is the server's message.

    ``is_not_found`` tells whether the message is the "... not found." answer
    Komet gives for an empty result (list endpoints turn that into ``[]``;
    :meth:`KometClient.call` leaves the decision to the caller).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        envelope: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.envelope: dict[str, Any] = dict(envelope or {})

    @property
    def is_not_found(self) -> bool:
        """Whether the server's message says that nothing was found ("Orders not found.").

        A message about the token or permissions is never an empty result,
        even if it says "not found": treating a bad token as "no records" could
        make a sync delete everything on its side.
        """
        text = self.message.lower()
        return _NOTHING_FOUND.search(text) is not None and not any(
            word in text for word in _CREDENTIAL_WORDS
        )

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        return f"{where}{self.message}"

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "envelope": self.envelope}


class ResponseFormatError(KometError):
    """The response could not be understood.

    ``path`` names the offending field (``customers[3].salesPersonId``) or is
    ``None`` when the whole body is wrong (not JSON, no envelope); ``value`` is
    the offending value, ``body_excerpt`` the start of the body.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        value: Any = None,
        method: str | None = None,
        url: str | None = None,
        body_excerpt: str = "",
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.path = path
        self.value = value
        self.body_excerpt = body_excerpt

    def _fields(self) -> dict[str, Any]:
        return {
            **super()._fields(),
            "path": self.path,
            "value": self.value,
            "body_excerpt": self.body_excerpt,
        }


class ResponseTooLargeError(ResponseFormatError):
    """The response body (after decompression) exceeds the client's ``max_response_bytes``.

    Reading stops at the limit: a runaway or hostile body (a 50 MB page, a
    gzip bomb) costs at most ``limit`` bytes of memory. It is not retried.
    """

    def __init__(
        self, message: str, *, limit: int, method: str | None = None, url: str | None = None
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.limit = limit

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "limit": self.limit}
