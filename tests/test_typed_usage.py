"""The typed usage file (checked by mypy --strict in CI) also runs: its calls are real usage.

It lives in ``tests/typecheck``, not ``tests/typing``: a ``typing`` directory would shadow
the standard library for scripts run from ``tests/`` (``tests/redis_worker.py``).
"""

from __future__ import annotations

from .typecheck import usage


async def test_typed_usage_runs_against_the_sandboxes() -> None:
    """tests/typing/usage.py exercises the public API against the bundled sandboxes and passes."""
    await usage.main()
