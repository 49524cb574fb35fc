"""Which days a debtor may be contacted, and working-day arithmetic for notice periods.

German house policy (:mod:`strategy.rulepacks.germany`): contact on working days only, never on a
Sunday or a public holiday. Public holidays are those of the ``holidays`` library (federal holidays,
plus the Land's own when the policy names a subdivision such as ``"BY"``), never a list of our own.

Notice periods of the energy module count *Werktage*. In German statutes a Werktag is every day
except Sundays and public holidays, so Saturday counts (§ 193 BGB names Saturday separately
because it is a Werktag; § 3 Abs. 2 BUrlG says so expressly). :func:`add_working_days` therefore
counts Monday to Saturday by default. The BGH read "Werktag" without Saturday for the rent deadline
of § 556b BGB (VIII ZR 129/09); pass ``include_saturday=False`` to take that stricter reading, which
only makes a notice period longer, never shorter.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import holidays

if TYPE_CHECKING:
    from strategy.rulepacks.base import ContactPolicy

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How far :func:`next_contact_day` looks before deciding the policy allows no day at all.
_SEARCH_LIMIT_DAYS = 731


@lru_cache(maxsize=32)
def _calendar(country: str, subdivision: str | None) -> holidays.HolidayBase:
    # Years are filled in lazily by the library on first lookup of a date in that year.
    return holidays.country_holidays(country, subdiv=subdivision)


def public_holiday(day: date, country: str | None, subdivision: str | None = None) -> str | None:
    """The name of the public holiday on ``day`` (``"German Unity Day"``), else ``None``.

    ``subdivision`` adds the Land's own holidays (``"BY"``: Epiphany, Corpus Christi ...);
    ``None`` checks federal holidays only. ``country`` ``None`` means no holiday calendar.
    """
    if country is None:
        return None
    return _calendar(country, subdivision).get(day)


def is_public_holiday(day: date, policy: "ContactPolicy") -> bool:
    """Whether ``day`` is a public holiday in the policy's country and Land."""
    return public_holiday(day, policy.holiday_country, policy.subdivision) is not None


def is_contact_day(day: date, policy: "ContactPolicy") -> bool:
    """Whether the debtor may be contacted on ``day`` under ``policy``.

    A contact day is one of ``policy.weekdays`` and, when ``policy.no_public_holidays``, not a
    public holiday of ``policy.holiday_country`` / ``policy.subdivision``.
    """
    if WEEKDAY_NAMES[day.weekday()] not in policy.weekdays:
        return False
    return not (policy.no_public_holidays and is_public_holiday(day, policy))


def next_contact_day(day: date, policy: "ContactPolicy") -> date:
    """``day`` itself when it is a contact day, else the first contact day after it.

    Raises
    ------
    ValueError
        When the policy allows no day at all (no weekdays).
    """
    for offset in range(_SEARCH_LIMIT_DAYS):
        candidate = day + timedelta(days=offset)
        if is_contact_day(candidate, policy):
            return candidate
    raise ValueError(f"the contact policy allows no day between {day} and {day + timedelta(_SEARCH_LIMIT_DAYS)}")


def is_working_day(day: date, policy: "ContactPolicy", *, include_saturday: bool = True) -> bool:
    """A Werktag: Monday to Saturday (Friday with ``include_saturday=False``), not a public holiday."""
    last = 5 if include_saturday else 4
    return day.weekday() <= last and not is_public_holiday(day, policy)


def add_working_days(day: date, n: int, policy: "ContactPolicy", *, include_saturday: bool = True) -> date:
    """The ``n``-th working day (Werktag) after ``day``; ``day`` itself is not counted (§ 187 Abs. 1 BGB).

    ``add_working_days(announced_on, 8, policy)`` is the last day of an 8-Werktage notice given on
    ``announced_on``; the noticed step may happen on the day after it at the earliest. Holidays
    are those of the policy's country and Land (:func:`is_public_holiday`). ``n`` = 0 returns
    ``day``.

    Examples
    --------
    Announcement on Monday 2025-12-22 with 8 Werktage, federal holidays: 23, 24, 27, 29, 30, 31
    December, 2 and 3 January (25/26 December and 1 January are holidays, 28 December a Sunday),
    so the period ends on Saturday 2026-01-03.
    """
    if n < 0:
        raise ValueError("n must be 0 or more working days")
    current, counted = day, 0
    while counted < n:
        current += timedelta(days=1)
        if is_working_day(current, policy, include_saturday=include_saturday):
            counted += 1
    return current
