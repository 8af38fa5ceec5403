"""What the endpoint modules need from the client (kept as a protocol to avoid an import cycle)."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Any, Protocol, TypeVar

from .._sansio import RecordPick, Response

T = TypeVar("T")


class KometTransport(Protocol):
    """The part of :class:`~komet_async.KometClient` that endpoints call."""

    def _list_response(
        self, method: str, query: Any, extra_problems: Iterable[str] = ()
    ) -> Awaitable[Response]: ...

    def _list_records(
        self,
        response: Response,
        method: str,
        *,
        key: str,
        model: type[T],
        keep: RecordPick | None = None,
    ) -> list[T]: ...

    async def _update(self, method: str, request: Any, *, key: str) -> int: ...


class Resource:
    """Base of the resource namespaces (``client.customers`` ...)."""

    __slots__ = ("_client",)

    def __init__(self, client: KometTransport) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
