"""A worker process for tests/test_ratelimit_redis.py: fetch some customers under a Redis budget.

Usage: ``python tests/redis_worker.py REDIS_URL KEY PER_SECOND BURST BASE_URL ID,ID,...``
with the sandbox token in ``KOMET_SANDBOX_TOKEN`` (kept out of the command line).
Prints ``{"ids": [...], "requests": n}`` as JSON on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from komet_async import KometClient, RateLimit
from komet_async.ratelimit_redis import RedisRateLimiter


async def main(argv: list[str]) -> None:
    redis_url, key, per_second, burst, base_url, ids = argv
    rate = RateLimit(per_second=float(per_second), burst=int(burst))
    token = os.environ["KOMET_SANDBOX_TOKEN"]
    async with (
        RedisRateLimiter.from_url(redis_url, key, rate) as budget,
        KometClient(token, base_url=base_url, rate_limit=budget, max_concurrency=4) as komet,
    ):
        found = await asyncio.gather(
            *(komet.customers.list(id=int(i), include_inactive=True) for i in ids.split(","))
        )
        requests = komet.stats.requests
    print(json.dumps({"ids": sorted(c.id for page in found for c in page), "requests": requests}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
