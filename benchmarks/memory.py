"""``memory``: peak RSS growth pulling 100,000 customers, models against plain dicts.

The issue's target 6: holding the client's models costs at most 2.5x the
peak RSS growth of holding the same records as ``json.loads`` dicts. Each
measurement runs in a fresh child process (``python -m benchmarks.memory``),
so one contender's heap never serves another; the sandbox runs in its own
process too.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys

from ._harness import Row, interleave, run_child, server_process

NAME = "memory"
TARGET = "ours/dicts <= 2.5"
SEED = 9


def _peak_kib() -> int:
    """This process's peak resident set size in KiB.

    ``VmHWM`` belongs to the process image and starts afresh at exec;
    ``ru_maxrss`` is carried over from the parent that forked us, so a child of
    a large runner would report the runner's peak and hide its own growth.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    # Elsewhere (macOS reports bytes, Linux KiB): the best there is.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


async def _ours(base: str, token: str) -> tuple[int, int, object]:
    from komet_async import KometClient

    async with KometClient(token, base_url=base) as komet:
        # A small call first: session, connection and structure functions exist
        # before the baseline is read, as they would in a long-lived process.
        await komet.customers.list(id=1)
        before = _peak_kib()
        held = await komet.customers.list(include_inactive=True)
        return before, _peak_kib(), held


async def _dicts(base: str, token: str) -> tuple[int, int, object]:
    import aiohttp

    url = f"{base}/customer.list"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params={"authenticationToken": token, "id": "1"}) as r:
            await r.read()
        before = _peak_kib()
        params = {"authenticationToken": token, "includeInactive": "true"}
        async with session.get(url, params=params) as r:
            held = json.loads(await r.read())["customers"]
        return before, _peak_kib(), held


def child(kind: str, base: str, token: str) -> None:
    """In a fresh process: pull every customer, print ``growth_kib count`` while holding them."""
    before, after, held = asyncio.run((_ours if kind == "ours" else _dicts)(base, token))
    print(after - before, len(held))  # type: ignore[arg-type]


def run(rounds: int, quick: bool) -> list[Row]:
    """Peak RSS growth in MiB per contender, one fresh child each per round."""
    from komet_async.sandbox import token_for_seed

    count = 20_000 if quick else 100_000
    token = token_for_seed(SEED)
    counts: set[int] = set()
    with server_process(
        "sandbox",
        "--seed",
        str(SEED),
        "--customers",
        str(count),
        "--products",
        "1",
        "--standing-orders",
        "1",
    ) as port:
        base = f"http://127.0.0.1:{port}/api"

        def measure(kind: str) -> float:
            growth, held = run_child("benchmarks.memory", kind, base, token).split()
            counts.add(int(held))
            return int(growth) / 1024

        samples = interleave(
            {"dicts": lambda: measure("dicts"), "ours": lambda: measure("ours")}, rounds
        )
    if counts != {count}:
        raise RuntimeError(f"expected {count} customers in every child, got {sorted(counts)}")
    note = f"{count:,} customers, fresh child process each, sandbox in a subprocess"
    return [
        Row(NAME, "json.loads dicts", "MiB", samples["dicts"], baseline=True, note=note),
        Row(NAME, "KometClient models", "MiB", samples["ours"], target=TARGET),
    ]


if __name__ == "__main__":
    child(*sys.argv[1:4])
