"""Contact days under the German house policy (no Sundays, no federal or Land holidays) and Werktage for
notice periods (Monday to Saturday without public holidays)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from strategy.contact_calendar import add_working_days, is_contact_day, next_contact_day, public_holiday
from strategy.rulepacks import get_rulepack
from strategy.settings import StrategySettings

FEDERAL = get_rulepack("de").contact
BAVARIA = get_rulepack("de", StrategySettings(holiday_subdivision="BY")).contact


def test_sundays_and_federal_holidays_are_no_contact_days():
    assert is_contact_day(date(2025, 10, 2), FEDERAL)  # Thursday
    assert not is_contact_day(date(2025, 10, 3), FEDERAL)  # German Unity Day
    assert not is_contact_day(date(2025, 10, 5), FEDERAL)  # Sunday
    assert is_contact_day(date(2025, 10, 4), FEDERAL)  # Saturday is a working day
    assert not is_contact_day(date(2025, 10, 4), replace(FEDERAL, weekdays=("mon", "tue", "wed", "thu", "fri")))


def test_land_holidays_count_when_the_land_is_set():
    epiphany = date(2025, 1, 6)  # a Monday; a holiday in Bavaria, not federally
    assert public_holiday(epiphany, "DE", "BY") is not None and public_holiday(epiphany, "DE") is None
    assert is_contact_day(epiphany, FEDERAL) and not is_contact_day(epiphany, BAVARIA)


def test_the_next_contact_day_skips_easter():
    # Good Friday 18.04.2025, Saturday 19th is a working day; from Sunday 20th the next is Tuesday 22nd
    # (Easter Monday 21st is a holiday).
    assert next_contact_day(date(2025, 4, 18), FEDERAL) == date(2025, 4, 19)
    assert next_contact_day(date(2025, 4, 20), FEDERAL) == date(2025, 4, 22)
    assert next_contact_day(date(2025, 4, 22), FEDERAL) == date(2025, 4, 22)


def test_eight_werktage_count_saturdays_but_not_sundays_or_holidays():
    # Announced Monday 22.12.2025: 23 (1), 24 (2), [25, 26 holidays], 27 Sat (3), [28 Sun], 29 (4), 30 (5),
    # 31 (6), [01.01. holiday], 02 (7), 03 Sat (8) -> the period ends on 03.01.2026.
    assert add_working_days(date(2025, 12, 22), 8, FEDERAL) == date(2026, 1, 3)
    # Without Saturdays (the stricter reading): 23, 24, 29, 30, 31, 02, 05, 06 -> 06.01.2026.
    assert add_working_days(date(2025, 12, 22), 8, FEDERAL, include_saturday=False) == date(2026, 1, 6)
    assert add_working_days(date(2025, 12, 22), 0, FEDERAL) == date(2025, 12, 22)
