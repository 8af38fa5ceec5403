"""Servers the HTTP comparisons run in a separate process: ``python -m benchmarks._servers``.

``small``: a fixed one-customer envelope on every path (the server does as
little as possible, so the client's cost is what the comparison sees).
``sandbox``: a :class:`~komet_async.sandbox.KometSandbox` with generated data.
Both listen on 127.0.0.1 on a free port and print ``PORT <n>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from aiohttp import web

#: The sample record of the ``customer.list`` documentation, in a Komet envelope.
SMALL_BODY = (
    b'{"status":"1","message":"OK","customers":[{"id":"25475","accountingCode":"ACC10",'
    b'"customerType":"PART-TIME FLORIST","salesPerson":"Julian","name":"2-14 BRIDAL CAKES",'
    b'"salesPersonId":1819,"active":"1","code":"T3526","updatedOn":"2017-08-02T12:15:17"}]}'
)


async def _small() -> None:
    async def answer(_: web.Request) -> web.Response:
        return web.Response(body=SMALL_BODY, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print("PORT", runner.addresses[0][1], flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def _sandbox(args: argparse.Namespace) -> None:
    from komet_async.sandbox import KometSandbox

    sandbox = KometSandbox(
        seed=args.seed,
        customers=args.customers,
        products=args.products,
        standing_orders=args.standing_orders,
        latency=args.latency,
    )
    async with sandbox:
        print("PORT", sandbox.port, flush=True)
        await asyncio.Event().wait()


def main() -> None:
    """Parse the server kind and serve until terminated."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._servers")
    parser.add_argument("kind", choices=["small", "sandbox"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--standing-orders", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    # A Ctrl-C in the parent's terminal reaches us too: end without a traceback.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_small() if args.kind == "small" else _sandbox(args))


if __name__ == "__main__":
    main()
