"""Hypothesis profiles for the fuzz suite: deterministic and CI-sized by default.

The profiles are registered here but not loaded globally: each property is
decorated with :data:`FUZZ` (the ``komet-fuzz`` profile), so the rest of the
suite keeps Hypothesis' own defaults. ``KOMET_FUZZ_PROFILE=komet-fuzz-long``
runs ten times the examples, randomised, for a local soak.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "database": None,
    "print_blob": True,
}

#: CI: the same examples on every run (derandomized), 100 per property.
settings.register_profile("komet-fuzz", max_examples=100, derandomize=True, **_COMMON)
#: A longer local soak: random, ten times the examples.
settings.register_profile("komet-fuzz-long", max_examples=1000, derandomize=False, **_COMMON)

#: The settings every fuzz property runs with.
FUZZ = settings.get_profile(os.environ.get("KOMET_FUZZ_PROFILE", "komet-fuzz"))
