"""Defaults of a champion/challenger experiment that the command line shows in its help.

Kept apart from :mod:`strategy.experiments`, which imports SQLAlchemy and pandas: building the
command line's parsers must not pay for them (``personas users add`` never opens an experiment).
"""
from __future__ import annotations

#: Days an experiment is planned to run unless the proposer says otherwise (``--days``).
DEFAULT_PLANNED_DAYS = 60
#: Smallest difference in pay rate the experiment is sized to detect (``--min-effect``).
DEFAULT_MIN_EFFECT = 0.05
