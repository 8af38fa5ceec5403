"""Generated functions: source built from a class's own field definitions, compiled once.

The converters (structuring) and the request models (validation, encoding)
unroll their per-field work into one straight-line function per class, as
attrs and cattrs do for ``__init__`` and their hooks: it runs on every call,
and a loop over the fields cost a step, a tuple unpack and a ``getattr`` each.
"""

from __future__ import annotations

from typing import Any

__all__ = ["generated_function"]


def generated_function(name: str, lines: list[str], scope: dict[str, Any], what: str) -> Any:
    """Compile ``lines`` (the source of ``def name(...)``) in ``scope``; return the function.

    ``what`` names it in tracebacks (``<komet_async what>``). The source must be
    built from a class's own field definitions only (names, kinds, and values
    passed by reference through ``scope``): never from data.
    """
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<komet_async {what}>", "exec"), scope)  # noqa: S102
    return scope[name]
