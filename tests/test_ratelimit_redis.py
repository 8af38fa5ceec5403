"""RedisRateLimiter on a real redis-server: pacing, shared cool-down, daily quota, processes.

A session fixture starts ``redis-server`` on a free port of 127.0.0.1 (no
persistence) and stops it at the end. Without ``redis-server`` on the PATH
these tests are skipped, saying how to install it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from komet_async import KometClient, RateLimit, RateLimitedError, RetryPolicy, TransportError
from komet_async._clock import SystemClock
from komet_async.ratelimit_redis import DAY_KEY_GRACE, RedisRateLimiter
from komet_async.sandbox import KometSandbox

INSTALL_HINT = (
    "redis-server is not installed, so the RedisRateLimiter tests cannot run; "
    "install it with `apt-get install -y redis-server` (Debian/Ubuntu) or "
    "`brew install redis` (macOS)"
)
WORKER = Path(__file__).with_name("redis_worker.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A throwaway redis-server on 127.0.0.1 for the whole session (skips without one)."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip(INSTALL_HINT)
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(workdir)]
    # S603: the redis-server found on PATH, with arguments built here.
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
async def redis(redis_port: int) -> AsyncIterator[redis_asyncio.Redis]:
    """A client for the session's redis-server, closed after the test."""
    client = redis_asyncio.Redis(port=redis_port)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def key() -> str:
    """A fresh key namespace per test."""
    return f"test:{uuid.uuid4().hex[:12]}"


def max_in_window(times: list[float], width: float = 1.0) -> int:
    """The most events in any window of ``width`` seconds."""
    ordered = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(ordered):
        while ordered[lo] <= t - width:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class SkewedClock(SystemClock):
    """The system clock with Unix time moved by ``offset`` seconds (a misconfigured host)."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def time(self) -> float:
        return super().time() + self.offset


def test_base_package_does_not_import_redis() -> None:
    """`import komet_async` (and its sandbox) works without touching redis."""
    code = "import sys, komet_async, komet_async.sandbox; assert 'redis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 - our own interpreter


# --- construction ----------------------------------------------------------------


async def test_constructor_refuses_nonsense(redis: redis_asyncio.Redis) -> None:
    """An empty key, a non-RateLimit, an adaptive rate or a bad max_wait is refused."""
    with pytest.raises(ValueError, match="key"):
        RedisRateLimiter(redis, "", RateLimit(per_second=1))
    with pytest.raises(TypeError, match="RateLimit"):
        RedisRateLimiter(redis, "k", 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="adaptive"):
        RedisRateLimiter(redis, "k", RateLimit(per_second=1, adaptive=True))
    with pytest.raises(ValueError, match="max_wait"):
        RedisRateLimiter(redis, "k", RateLimit(per_second=1), max_wait=0)


async def test_from_url_owns_its_client_and_repr_hides_the_url(redis_port: int, key: str) -> None:
    """from_url's client is closed by aclose; the repr shows the key, never the URL's password."""
    url = f"redis://:hunter2-secret@127.0.0.1:{redis_port}/0"
    limiter = RedisRateLimiter.from_url(url, key, RateLimit(per_second=100))
    assert "hunter2" not in repr(limiter)
    assert key in repr(limiter)
    await limiter.aclose()
    await limiter.aclose()  # idempotent


async def test_keys_live_under_the_given_key(redis: redis_asyncio.Redis, key: str) -> None:
    """Rate, cool-down and day counters are all namespaced under `key`."""
    limiter = RedisRateLimiter(redis, key, RateLimit(per_second=100, burst=2, per_day=10))
    await limiter.acquire("customer.list")
    await limiter.cool_down(5)
    found = sorted(k.decode() if isinstance(k, bytes) else k for k in await redis.keys(f"{key}:*"))
    today = dt.datetime.now(dt.timezone.utc).date()
    assert found == sorted([f"{key}:cooldown", f"{key}:day:{today.isoformat()}", f"{key}:rate"])


# --- pacing ------------------------------------------------------------------------


async def test_single_process_pacing_is_exact(redis: redis_asyncio.Redis, key: str) -> None:
    """At 50/s burst 5, 55 concurrent acquires span (55-5)/50 = 1 s; no second holds over 55."""
    rate, burst, n = 50.0, 5, 55
    limiter = RedisRateLimiter(redis, key, RateLimit(per_second=rate, burst=burst))

    async def granted() -> float:
        await limiter.acquire("test")
        return time.monotonic()

    times = sorted(await asyncio.gather(*(granted() for _ in range(n))))
    assert times[-1] - times[0] == pytest.approx((n - burst) / rate, abs=0.1)
    assert max_in_window(times) <= rate + burst
    # The burst goes at once; after it, grants are spaced 1/rate apart.
    assert times[burst - 1] - times[0] < 0.05


async def test_an_idle_budget_refills_only_up_to_the_burst(
    redis: redis_asyncio.Redis, key: str
) -> None:
    """After idling, only `burst` acquires go at once; the next waits 1/rate."""
    limiter = RedisRateLimiter(redis, key, RateLimit(per_second=10, burst=3))
    waited = [await limiter.acquire() for _ in range(4)]
    assert waited == [False, False, False, True]
    await asyncio.sleep(0.5)
    waited = [await limiter.acquire() for _ in range(4)]
    assert waited == [False, False, False, True]


async def test_a_slot_beyond_max_wait_raises_and_reserves_nothing(
    redis: redis_asyncio.Redis, key: str
) -> None:
    """At 5/s with max_wait 0.5 s, the fourth concurrent acquire raises at once, taking no slot."""
    limiter = RedisRateLimiter(redis, key, RateLimit(per_second=5), max_wait=0.5)
    results = await asyncio.gather(*(limiter.acquire() for _ in range(4)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert sorted(r for r in results if isinstance(r, bool)) == [False, True, True]
    assert len(errors) == 1
    error = errors[0]
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == pytest.approx(0.6, abs=0.05)
    # The slots taken are 0, 0.2 and 0.4 s: the next is 0.6 s, not 0.8 s.
    started = time.monotonic()
    assert await limiter.acquire() is True
    assert 0.1 < time.monotonic() - started < 0.3


# --- cool-down -----------------------------------------------------------------------


async def test_a_429_in_one_instance_pauses_another(redis_port: int, key: str) -> None:
    """One instance records a 429 with cool_down=2; another's acquire waits about 2 s."""
    first, second = redis_asyncio.Redis(port=redis_port), redis_asyncio.Redis(port=redis_port)
    try:
        a = RedisRateLimiter(first, key, RateLimit(per_second=100))
        b = RedisRateLimiter(second, key, RateLimit(per_second=100))
        await a.record(status=429, cool_down=2.0, state=None)
        assert await b.cooldown_remaining() == pytest.approx(2.0, abs=0.1)
        started = time.monotonic()
        assert await b.acquire("customer.list") is True
        assert time.monotonic() - started == pytest.approx(2.0, abs=0.25)
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_cool_down_beyond_max_wait_raises_at_once(
    redis: redis_asyncio.Redis, key: str
) -> None:
    """With max_wait 1 s, a shared 2 s cool-down raises RateLimitedError without waiting."""
    await RedisRateLimiter(redis, key, RateLimit()).cool_down(2.0)
    impatient = RedisRateLimiter(redis, key, RateLimit(per_second=100), max_wait=1.0)
    started = time.monotonic()
    with pytest.raises(RateLimitedError, match="longer than max_wait") as info:
        await impatient.acquire("customer.list")
    assert time.monotonic() - started < 0.5
    assert info.value.retry_after == pytest.approx(2.0, abs=0.2)
    assert info.value.method == "customer.list"


async def test_a_cool_down_only_ever_extends(redis: redis_asyncio.Redis, key: str) -> None:
    """A shorter cool-down recorded later leaves the longer one in place."""
    limiter = RedisRateLimiter(redis, key, RateLimit())
    await limiter.record(status=429, cool_down=3.0, state=None)
    await limiter.record(status=429, cool_down=0.5, state=None)
    assert await limiter.cooldown_remaining() == pytest.approx(3.0, abs=0.1)


async def test_a_waiter_sits_out_a_cool_down_that_began_while_it_slept(
    redis: redis_asyncio.Redis, key: str
) -> None:
    """A request sleeping on its slot does not send into a cool-down another process started."""
    limiter = RedisRateLimiter(redis, key, RateLimit(per_second=2))
    await limiter.acquire()
    started = time.monotonic()
    waiter = asyncio.create_task(limiter.acquire())  # its slot is 0.5 s away
    await asyncio.sleep(0.1)
    await limiter.cool_down(1.0)
    assert await waiter is True
    assert time.monotonic() - started == pytest.approx(1.1, abs=0.15)


async def test_slots_inside_a_cool_down_are_not_spent_at_its_end_at_once(
    redis: redis_asyncio.Redis, key: str
) -> None:
    """Waiters whose slots fell inside a cool-down take fresh slots after it, counted once a day."""
    rate, n = 20.0, 30
    limiter = RedisRateLimiter(redis, key, RateLimit(per_second=rate, burst=1, per_day=1000))

    async def granted() -> float:
        await limiter.acquire("test")
        return time.monotonic()

    tasks = [asyncio.create_task(granted()) for _ in range(n)]
    await asyncio.sleep(0.1)  # a couple granted, the rest sleeping on slots up to 1.5 s away
    await limiter.cool_down(0.5)
    times = sorted(await asyncio.gather(*tasks))
    assert max_in_window(times) <= rate + 1
    day_key = limiter.day_key(dt.datetime.now(dt.timezone.utc).date())
    assert int(await redis.get(day_key) or 0) == n


async def test_client_429s_reach_every_process(redis: redis_asyncio.Redis, key: str) -> None:
    """A sandbox 429 seen by one client becomes a cool-down another budget instance sees."""
    budget = RedisRateLimiter(redis, key, RateLimit(per_second=100))
    other = RedisRateLimiter(redis, key, RateLimit(per_second=100))
    async with (
        KometSandbox(
            seed=1, customers=5, products=3, standing_orders=1, throttle_per_second=1
        ) as box,
        KometClient(
            box.token, base_url=box.base_url, rate_limit=budget, retry=RetryPolicy.disabled()
        ) as komet,
    ):
        await komet.products.list()
        with pytest.raises(RateLimitedError):
            await komet.products.list()
    assert await other.cooldown_remaining() == pytest.approx(1.0, abs=0.15)


# --- daily quota -----------------------------------------------------------------------


async def test_daily_quota_refuses_the_sixth_until_midnight_of_the_zone(
    redis: redis_asyncio.Redis, key: str
) -> None:
    """per_day=5: the 6th acquire raises with retry_after reaching the zone's next midnight."""
    tz = dt.timezone(dt.timedelta(hours=-5))
    limiter = RedisRateLimiter(redis, key, RateLimit(per_day=5, day_timezone=tz))
    for _ in range(5):
        assert await limiter.acquire() is False
    with pytest.raises(RateLimitedError, match="daily quota of 5 requests") as info:
        await limiter.acquire("customer.list")
    now = dt.datetime.now(tz)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    to_midnight = midnight.timestamp() - now.timestamp()
    assert info.value.retry_after == pytest.approx(to_midnight, abs=2)
    # The day's counter holds 5 and expires an hour after the zone's midnight.
    day_key = limiter.day_key(now.date())
    assert int(await redis.get(day_key) or 0) == 5
    assert await redis.ttl(day_key) == pytest.approx(to_midnight + DAY_KEY_GRACE, abs=3)


async def test_quota_is_shared_and_clock_skew_does_not_split_it(
    redis: redis_asyncio.Redis, key: str
) -> None:
    """Instances whose clocks are 20 h apart still count against the same day (server time)."""
    rate = RateLimit(per_day=4)
    honest = RedisRateLimiter(redis, key, rate)
    ahead = RedisRateLimiter(redis, key, rate, clock=SkewedClock(+20 * 3600))
    behind = RedisRateLimiter(redis, key, rate, clock=SkewedClock(-20 * 3600))
    for limiter in (honest, ahead, behind, ahead):
        await limiter.acquire()
    for limiter in (honest, ahead, behind):
        with pytest.raises(RateLimitedError, match="daily quota"):
            await limiter.acquire()
    today = dt.datetime.now(dt.timezone.utc).date()
    assert int(await redis.get(honest.day_key(today)) or 0) == 4


async def test_redis_down_is_a_transport_error(key: str) -> None:
    """With Redis unreachable, acquire raises TransportError(request_sent=False), no redis type."""
    client = redis_asyncio.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))
    try:
        limiter = RedisRateLimiter(client, key, RateLimit(per_second=10))
        with pytest.raises(TransportError, match="rate budget in Redis is unavailable") as info:
            await limiter.acquire("customer.list")
        assert info.value.request_sent is False
    finally:
        await client.aclose()


# --- many processes, one budget ------------------------------------------------------------

RATE, BURST, PROCESSES, CUSTOMERS = 20.0, 2, 4, 80


async def test_four_processes_share_one_budget(redis_port: int, key: str) -> None:
    """Four OS processes with their own client and limiter stay within R + burst per second."""
    async with KometSandbox(
        seed=11, customers=CUSTOMERS, products=3, standing_orders=1, record_arrivals=True
    ) as box:
        ids = [c.id for c in box.data.customers]
        shares = [ids[i::PROCESSES] for i in range(PROCESSES)]
        env = {**os.environ, "KOMET_SANDBOX_TOKEN": box.token}
        url = f"redis://127.0.0.1:{redis_port}/0"
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER),
                url,
                key,
                str(RATE),
                str(BURST),
                box.base_url,
                ",".join(map(str, share)),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
            for share in shares
        ]
        outputs = [await asyncio.wait_for(w.communicate(), timeout=60) for w in workers]
        for worker, (_, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err.decode(errors="replace")
    fetched = sorted(i for out, _ in outputs for i in json.loads(out)["ids"])
    assert fetched == sorted(ids)
    arrivals = box.stats.arrivals
    assert arrivals is not None
    assert len(arrivals) == len(ids) == box.stats.total
    busiest = max_in_window(arrivals)
    span = max(arrivals) - min(arrivals)
    summary = f"busiest second {busiest} requests, {len(arrivals)} over {span:.2f} s"
    assert busiest <= RATE + BURST, summary
    # Shared, not per process: alone, each process could have gone 4x as fast.
    assert span >= (len(ids) - BURST) / RATE - 0.2, summary
