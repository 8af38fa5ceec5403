"""Serving a fault: the HTTP-level misbehaviour behind each fault kind.

The decision (which request, which kind) is :class:`~komet_async.sandbox.FaultPlan`'s;
this module only acts it out on an aiohttp request. ``slow`` is not here: it
is a delay before a normal answer, handled by the application.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import socket
import struct
import time
from typing import Final

from aiohttp import web

from .data import dumps
from .faults import (
    CUTOFF,
    HTML,
    HTTP_500,
    HTTP_502,
    HTTP_503,
    HTTP_504,
    QUOTA,
    RATE_LIMITED_DATE,
    RATE_LIMITED_NONE,
    RATE_LIMITED_SECONDS,
    RESET,
    FaultPlan,
    quota_day,
)

__all__ = ["fault_response", "seconds_to_midnight"]

_NGINX_PAGE: Final = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_PROXY_STATUSES: Final = {
    HTTP_502: (502, "Bad Gateway"),
    HTTP_503: (503, "Service Temporarily Unavailable"),
    HTTP_504: (504, "Gateway Time-out"),
}
_MAINTENANCE_PAGE: Final = (
    "<!DOCTYPE html>\n<html><head><title>Komet Sales - Maintenance</title></head>\n"
    "<body><h1>We'll be back soon</h1>\n"
    "<p>Komet Sales is undergoing scheduled maintenance. Please try again later.</p>\n"
    "</body></html>\n"
)
_TOO_MANY: Final = dumps({"status": "0", "message": "Too many requests, slow down."})


def seconds_to_midnight(now: float) -> int:
    """Whole seconds from Unix time ``now`` to the end of its quota day (at least 1).

    The end of the day :func:`~komet_async.sandbox.faults.quota_day` gives
    (UTC midnight), so the quota's ``Retry-After`` and its count agree on when
    a day ends. Rounded up: a client waiting this long never comes back early.
    """
    return max(1, math.ceil(quota_day(now)[1] - now))


async def fault_response(
    kind: str, request: web.Request, plan: FaultPlan, *, now: float | None = None
) -> web.StreamResponse:
    """Act out fault ``kind`` (anything but ``slow``) on ``request``.

    ``now`` is the Unix time the request arrived by the sandbox's clock (default:
    :func:`time.time`); the ``429_date`` date and the quota's ``Retry-After``
    are reckoned from it.
    """
    if now is None:
        now = time.time()
    if kind == HTTP_500:
        return web.Response(status=500, text="Internal Server Error")
    if kind in _PROXY_STATUSES:
        status, reason = _PROXY_STATUSES[kind]
        page = _NGINX_PAGE.format(status=status, reason=reason)
        return web.Response(status=status, text=page, content_type="text/html")
    if kind == RATE_LIMITED_SECONDS:
        return _too_many({"Retry-After": f"{plan.retry_after:g}"})
    if kind == RATE_LIMITED_DATE:
        # HTTP dates have whole seconds: two seconds ahead is a 1-2 s wait.
        when = email.utils.formatdate(now + 2 * plan.retry_after, usegmt=True)
        return _too_many({"Retry-After": when})
    if kind == RATE_LIMITED_NONE:
        return web.Response(status=429, text="Limit exceeded")
    if kind == QUOTA:
        message = f"Daily API quota exceeded ({plan.daily_quota} requests per day)."
        return web.Response(
            status=429,
            body=dumps({"status": "0", "message": message}),
            content_type="application/json",
            headers={"Retry-After": str(seconds_to_midnight(now))},
        )
    if kind == HTML:
        return web.Response(text=_MAINTENANCE_PAGE, content_type="text/html")
    if kind == RESET:
        return _reset(request)
    if kind == CUTOFF:
        return await _cutoff(request)
    raise ValueError(f"not a fault kind the sandbox can serve: {kind!r}")


def _too_many(headers: dict[str, str]) -> web.Response:
    return web.Response(
        status=429, body=_TOO_MANY, content_type="application/json", headers=headers
    )


def _reset(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0: close() sends an RST instead of an orderly FIN.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.close()
    # aiohttp finds the transport closing when it writes this, and drops it quietly.
    response = web.Response(status=500)
    response.force_close()
    return response


_CUTOFF_BODY: Final = dumps({"status": "1", "message": "OK", "padding": "x" * 512})


async def _cutoff(request: web.Request) -> web.StreamResponse:
    body = _CUTOFF_BODY
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.content_length = len(body) + 1024
    response.force_close()
    await response.prepare(request)
    await response.write(body[: max(1, len(body) // 2)])
    transport = request.transport
    if transport is not None:
        # close(), not abort(): the half body already written is flushed first.
        transport.close()
    return response
