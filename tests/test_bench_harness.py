"""The benchmark harness's core split: the server alone on the last core, the client on the rest."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from benchmarks import _harness


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A process that sleeps until it is killed, standing in for a server."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def pinning() -> Iterator[None]:
    """PIN_CORES and this process's cores are as they were after the test."""
    before = _harness.PIN_CORES
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        yield
    finally:
        _harness.PIN_CORES = before
        if cores is not None:
            os.sched_setaffinity(0, cores)


def test_cores_are_named_as_a_range_or_a_list() -> None:
    """The footer names one core, a contiguous range, or a comma list."""
    assert _harness._cores({0}) == "core 0"
    assert _harness._cores({0, 1, 2}) == "cores 0-2"
    assert _harness._cores({0, 2}) == "cores 0,2"


@pytest.mark.usefixtures("pinning")
def test_shared_cores_pins_nothing(child: subprocess.Popen[bytes]) -> None:
    """With PIN_CORES off (--shared-cores) nothing is pinned and the footer says so."""
    _harness.PIN_CORES = False
    can_look = hasattr(os, "sched_getaffinity")
    server_before = os.sched_getaffinity(child.pid) if can_look else None
    note, undo = _harness.split_cores(child.pid)
    assert note == "server and client share the cores (--shared-cores)"
    if can_look:
        assert os.sched_getaffinity(child.pid) == server_before
    undo()


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs sched_setaffinity and two or more cores",
)
@pytest.mark.usefixtures("pinning")
def test_split_gives_the_server_the_last_core_and_undo_restores_the_client(
    child: subprocess.Popen[bytes],
) -> None:
    """The server gets the last core, the client the others, and undo gives the client all back."""
    _harness.PIN_CORES = True
    cores = sorted(os.sched_getaffinity(0))
    note, undo = _harness.split_cores(child.pid)
    assert os.sched_getaffinity(child.pid) == {cores[-1]}
    assert os.sched_getaffinity(0) == set(cores[:-1])
    assert note == f"server on core {cores[-1]}, client on {_harness._cores(set(cores[:-1]))}"
    undo()
    assert os.sched_getaffinity(0) == set(cores)


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs sched_setaffinity and two or more cores",
)
@pytest.mark.usefixtures("pinning")
def test_a_server_started_inside_another_is_split_the_same_way(
    child: subprocess.Popen[bytes],
) -> None:
    """A nested split pins its server to the last core too, and its undo keeps the outer split."""
    _harness.PIN_CORES = True
    cores = sorted(os.sched_getaffinity(0))
    _, undo_outer = _harness.split_cores(child.pid)
    inner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        note, undo_inner = _harness.split_cores(inner.pid)
        assert os.sched_getaffinity(inner.pid) == {cores[-1]}
        assert note == f"server on core {cores[-1]}, client on {_harness._cores(set(cores[:-1]))}"
        undo_inner()
        assert os.sched_getaffinity(0) == set(cores[:-1])
    finally:
        inner.kill()
        inner.wait()
    undo_outer()
    assert os.sched_getaffinity(0) == set(cores)
