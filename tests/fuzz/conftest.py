"""Hypothesis profiles for the fuzz run of the reader and validator.

``make fuzz`` (= ``pytest tests/fuzz --hypothesis-profile=fuzz``) runs many examples within a budget of a
few minutes; without the profile (the normal suite) each fuzz test runs only a handful of examples.
"""
from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# The strategies live next to the portfolio tests; share them rather than copy them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "portfolio"))

settings.register_profile(
    "fuzz",
    max_examples=1_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.register_profile("fuzz-smoke", max_examples=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
