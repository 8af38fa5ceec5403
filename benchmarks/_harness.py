"""What every comparison shares: result rows, interleaved rounds, optional imports, servers."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

#: The repository root: child processes run ``python -m benchmarks...`` from here.
ROOT = Path(__file__).resolve().parent.parent

#: What a comparison tells the reader when a reference library is missing.
INSTALL_HINT = "skipped (pip install pydantic msgspec httpx)"


class Skipped(Exception):
    """A comparison cannot run here (a reference library is not installed)."""


@dataclasses.dataclass
class Row:
    """One contender of one comparison: its samples (one per round) and how to read them."""

    comparison: str
    contender: str
    unit: str
    samples: list[float] = dataclasses.field(default_factory=list)
    #: The row the others are divided by (one per comparison, or none).
    baseline: bool = False
    #: Samples taken with the garbage collector paused (structuring comparisons only).
    paused: list[float] | None = None
    #: The issue's target, quoted; never turned into a pass/fail.
    target: str = ""
    note: str = ""
    #: The value is already a ratio (or a count): print it, divide nothing by it.
    plain: bool = False


def ratio_row(
    comparison: str, contender: str, tops: list[float], bottoms: list[float], **kwargs: Any
) -> Row:
    """A plain row of per-round ratios ``tops[i] / bottoms[i]`` (rounds taken side by side)."""
    samples = [t / b for t, b in zip(tops, bottoms, strict=True)]
    return Row(comparison, contender, "ratio", samples, plain=True, **kwargs)


def median(values: list[float]) -> float:
    """The median (the mean of the middle two for an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def interleave(contenders: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run every contender once per round, rotating who goes first.

    Interleaving spreads slow drifts of a shared machine (another job, thermal
    throttling) over every contender instead of charging them to whoever ran
    last; rotating the order keeps "always first after a warm-up" from
    favouring one of them.
    """
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(contenders[name]())
    return samples


def optional(module: str) -> ModuleType | None:
    """Import a reference library lazily; ``None`` when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def require(module: str) -> Any:
    """Import a library the comparison cannot run without, or skip the comparison."""
    found = optional(module)
    if found is None:
        raise Skipped(INSTALL_HINT)
    return found


#: Whether :func:`server_process` gives the server a core of its own (``--shared-cores`` clears it).
PIN_CORES = True

#: The cores this process could use when it started: the split is made from these, not
#: from the client's current set, so a server started while another runs (the client
#: already on fewer cores) is split the same way instead of left on the client's core.
_ALL_CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def split_cores(server_pid: int) -> tuple[str, Callable[[], None]]:
    """Put the server on one core and this process (the client) on the others.

    Returns what was done, for the table's footer, and how to undo it. A
    process of its own does not give the server a core of its own: Linux
    wakes a process on the core of whoever woke it, so a sandbox woken by the
    client's request could run on the client's core and wait for the client
    to yield it. Its answers were then late by the client's own CPU work, which
    the clock had already counted once; a remote server never waits for the
    client's CPU. On the 2-vCPU VM, 2026-12-04, ``--only windows`` twice each
    way: wall/ideal 1.133 and 1.154 shared, 1.103 and 1.111 split; raw
    aiohttp's 1.033 and 1.048 shared, 1.018 and 1.002 split. Children started
    afterwards (the memory comparison's) inherit the client's cores.
    Nothing is pinned with one core, where ``sched_setaffinity`` is missing
    (macOS, Windows) or refused, or with ``--shared-cores``.
    """
    if not PIN_CORES:
        return "server and client share the cores (--shared-cores)", lambda: None
    if not hasattr(os, "sched_setaffinity"):
        return "cores shared (no sched_setaffinity here)", lambda: None
    cores = _ALL_CORES
    if len(cores) < 2:
        return "cores shared (one core)", lambda: None
    server, client = {cores[-1]}, set(cores[:-1])
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(server_pid, server)
        os.sched_setaffinity(0, client)
    except OSError as exc:
        return f"cores shared (sched_setaffinity refused: {exc})", lambda: None

    def undo() -> None:
        # What the client had before, so an inner server's exit leaves an outer's split.
        os.sched_setaffinity(0, before)

    return f"server on core {cores[-1]}, client on {_cores(client)}", undo


def _cores(cores: set[int]) -> str:
    ordered = sorted(cores)
    if len(ordered) > 1 and ordered[-1] - ordered[0] == len(ordered) - 1:
        return f"cores {ordered[0]}-{ordered[-1]}"
    return ("core " if len(ordered) == 1 else "cores ") + ",".join(map(str, ordered))


#: What the last :func:`split_cores` did, for the table's footer.
CORES_NOTE: list[str] = []


@contextlib.contextmanager
def server_process(*args: str, ready_timeout: float = 120.0) -> Iterator[int]:
    """Start ``python -m benchmarks._servers ARGS`` and yield the port it listens on.

    The server gets a process and a core of its own (:func:`split_cores`): in
    one process the server's work would share the client's event loop and be
    charged to the client being measured.
    """
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "benchmarks._servers", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        # Generating a large sandbox takes seconds; the port line says it is listening.
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"benchmark server {args} did not start (said {line!r})")
        note, undo = split_cores(proc.pid)
        if note not in CORES_NOTE:
            CORES_NOTE.append(note)
        try:
            yield int(line.split()[1])
        finally:
            undo()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_child(*args: str, timeout: float = 600.0) -> str:
    """Run ``python -m benchmarks.ARGS`` in a fresh process; return its last stdout line."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


class Stopwatch:
    """``with Stopwatch() as watch: ...`` then ``watch.seconds``."""

    seconds: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start
