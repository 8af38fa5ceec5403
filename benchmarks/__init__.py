"""Benchmarks for komet_async: ``python -m benchmarks`` (see benchmarks/README.md).

Each comparison lives in its own module and runs its contenders side by side,
in interleaved rounds, against local servers it starts itself.
"""
