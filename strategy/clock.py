"""UTC time as the review store writes it: ISO 8601 with microseconds, comparable as text."""
from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time, UTC (aware)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``moment`` as the store writes times (``2026-12-01T08:00:00.000000+00:00``)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse(text: str) -> datetime:
    """A time written by :func:`iso` (or :func:`strategy.audit.now_utc`) back as an aware datetime."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
