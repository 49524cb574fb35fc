"""Hypothesis profiles for the fuzz run of the reader and validator.

``make fuzz`` (= ``pytest tests/fuzz --hypothesis-profile=fuzz``) runs ``FUZZ_EXAMPLES`` examples per
property (default 1,500: about 3-4 minutes for the five properties on a shared 2-core machine; 600
examples took 87 s). Set ``FUZZ_EXAMPLES=10000`` for a longer hunt. Without
the profile (the normal suite) each fuzz test runs only a handful of examples.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# The strategies live next to the portfolio tests; share them rather than copy them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "portfolio"))

settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "1500")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.register_profile("fuzz-smoke", max_examples=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
