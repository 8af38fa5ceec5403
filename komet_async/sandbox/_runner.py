"""Serving a sandbox on 127.0.0.1: the lifecycle the Komet and Kounta sandboxes share."""

from __future__ import annotations

import abc
import asyncio
from types import TracebackType
from typing import ClassVar, Final, TypeVar

from aiohttp import web

__all__ = ["SHUTDOWN_TIMEOUT", "SandboxServer"]

#: Seconds a stopping server gives open connections before closing them.
SHUTDOWN_TIMEOUT: Final = 2.0

_S = TypeVar("_S", bound="SandboxServer")


class SandboxServer(abc.ABC):
    """An aiohttp application served on ``host:port`` (port 0: an ephemeral one).

    Subclasses say how to build the application (:meth:`make_app`), which
    event tells pending delays to end at stop (:meth:`_stopping`), and may do
    more after start and stop (:meth:`_started`, :meth:`_stopped`).
    """

    #: Where the API lives under the server's root (``/api``, ``/v1``).
    api_path: ClassVar[str]

    def __init__(self, *, host: str, port: int) -> None:
        self.host = host
        self._port = port
        self._app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None

    @abc.abstractmethod
    def make_app(self) -> web.Application:
        """A new application sharing this sandbox's data and stats, to embed elsewhere."""

    @abc.abstractmethod
    def _stopping(self) -> asyncio.Event:
        """Set while stopping: pending ``latency`` and ``slow`` delays end at once."""

    async def _started(self) -> None:  # noqa: B027 - an optional hook
        """Run after the server listens (nothing by default)."""

    async def _stopped(self) -> None:  # noqa: B027 - an optional hook
        """Run after the server stopped, or on ``stop()`` of a server never started."""

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._bound_port is not None

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        if self._bound_port is None:
            raise RuntimeError("the sandbox is not running; start it first")
        return self._bound_port

    @property
    def url(self) -> str:
        """``http://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL to give a client (``http://host:port`` + :attr:`api_path`)."""
        return f"{self.url}{self.api_path}"

    @property
    def app(self) -> web.Application:
        """The application :meth:`start` serves (created on first use, anew after :meth:`stop`)."""
        if self._app is None:
            self._app = self.make_app()
        return self._app

    async def start(self) -> None:
        """Start listening; idempotent."""
        if self._runner is not None:
            return
        # No access log: Komet GET URLs carry the token, Kounta requests Basic credentials.
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._port)
            await site.start()
            address = runner.addresses[0]
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._bound_port = int(address[1])
        await self._started()

    async def stop(self) -> None:
        """Stop listening and close every connection; idempotent.

        Pending ``latency`` and ``slow`` delays end at once (with a 503).
        """
        runner, self._runner = self._runner, None
        if runner is None:
            await self._stopped()
            return
        stopping = self._stopping()
        stopping.set()
        self._bound_port = None
        try:
            await runner.cleanup()
        finally:
            stopping.clear()
            self._app = None
            await self._stopped()

    async def __aenter__(self: _S) -> _S:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
