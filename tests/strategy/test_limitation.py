"""Limitation (Verjährung) on examples worked by hand: §§ 195, 199 year-end rule, § 212 restart,
§§ 203/204 suspension, § 197 thirty years once titled; and a German portfolio's status per account."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from strategy.limitation import account_limitation, limitation_date, limitation_status

TODAY = date(2025, 6, 1)


def test_the_regular_period_ends_three_years_after_the_end_of_the_year_the_claim_arose():
    # Due 15.03.2021. § 199 Abs. 1: the period begins at the end of 2021 (31.12.2021, 24:00);
    # § 195: three years -> it ends at the end of 31.12.2024. From 01.01.2025 the claim is time-barred.
    assert limitation_date(date(2021, 3, 15)) == date(2024, 12, 31)
    # Due on New Year's Eve or New Year's Day: the year decides, not the day.
    assert limitation_date(date(2021, 12, 31)) == date(2024, 12, 31)
    assert limitation_date(date(2022, 1, 1)) == date(2025, 12, 31)


def test_a_part_payment_restarts_a_full_period_from_the_day_after_without_the_year_end_rule():
    # Due 15.03.2021, regular end 31.12.2024. Part-payment on 10.06.2023 (before that end), § 212 Abs. 1
    # Nr. 1: the period begins anew. The payment day is not counted (§ 187 Abs. 1), so the new period
    # runs from 11.06.2023; three years end with the day carrying the event's date (§ 188 Abs. 2):
    # 10.06.2026. The year-end rule of § 199 governs only the first beginning, not a restart.
    assert limitation_date(date(2021, 3, 15), part_payment=date(2023, 6, 10)) == date(2026, 6, 10)


def test_an_acknowledgement_restarts_like_a_part_payment_and_the_latest_event_counts():
    # Acknowledged 02.02.2022 -> end 02.02.2025; then part-paid 01.12.2024 (before 02.02.2025) -> 01.12.2027.
    assert limitation_date(date(2021, 3, 15), acknowledged=date(2022, 2, 2)) == date(2025, 2, 2)
    assert limitation_date(date(2021, 3, 15), acknowledged=date(2022, 2, 2),
                           part_payment=date(2024, 12, 1)) == date(2027, 12, 1)


def test_a_payment_after_the_claim_is_time_barred_restarts_nothing():
    # Regular end 31.12.2024; a payment on 15.01.2025 comes too late (it may be kept, § 214 Abs. 2,
    # but the claim stays time-barred).
    assert limitation_date(date(2021, 3, 15), part_payment=date(2025, 1, 15)) == date(2024, 12, 31)


def test_a_restart_on_29_february_ends_on_28_february():
    # § 188 Abs. 3: the corresponding day is missing in 2027, so the period ends on its month's last day.
    assert limitation_date(date(2023, 5, 1), part_payment=date(2024, 2, 29)) == date(2027, 2, 28)


def test_suspended_days_are_added_to_the_end():
    # Negotiations for 40 days (§ 203), § 209: not counted -> 31.12.2024 + 40 days = 09.02.2025.
    assert limitation_date(date(2021, 3, 15), suspended_days=40) == date(2025, 2, 9)
    with pytest.raises(ValueError):
        limitation_date(date(2021, 3, 15), suspended_days=-1)


def test_a_titled_claim_runs_thirty_years_from_the_title():
    # Judgment final on 04.05.2020 (§ 197 Abs. 1 Nr. 3, § 201): ends 04.05.2050.
    assert limitation_date(date(2015, 3, 1), titled_on=date(2020, 5, 4)) == date(2050, 5, 4)


def german_portfolio() -> tuple[pd.DataFrame, dict[str, str]]:
    frame = pd.DataFrame({
        "Fälligkeitsdatum": ["15.03.2021", "15.03.2021", None, "01.01.2019", "20.08.2024", "15.03.2021"],
        "letzte_Teilzahlung": ["", "10.06.2023", "", "", "", ""],
        "anerkannt_am": ["", "", "", "", "", ""],
        "Verjährt": ["N", "N", "J", "N", "N", ""],
        "tituliert": ["N", "N", "N", "J", "N", "0"],
    }, index=[10, 11, 12, 13, 14, 15])
    meanings = {"Fälligkeitsdatum": "due_date", "letzte_Teilzahlung": "last_payment_on",
                "anerkannt_am": "acknowledged_on", "Verjährt": "time_barred", "tituliert": "titled"}
    return frame, meanings


def test_the_portfolio_status_says_how_each_account_was_decided():
    frame, meanings = german_portfolio()
    status = limitation_status(frame, meanings, TODAY)

    assert list(status.index) == list(frame.index)
    assert str(status["limitation_date"].dtype).startswith("datetime64")
    assert status["time_barred"].tolist() == [True, False, True, False, False, True]
    assert status.at[10, "limitation_date"] == pd.Timestamp("2024-12-31")
    assert "computed from due date 15.03.2021" in status.at[10, "basis"]
    assert "ERP flag says not time-barred" in status.at[10, "basis"]
    assert status.at[11, "limitation_date"] == pd.Timestamp("2026-06-10")
    assert "restarted by part-payment on 10.06.2023" in status.at[11, "basis"]
    assert status.at[12, "basis"].startswith("ERP flag") and pd.isna(status.at[12, "limitation_date"])
    assert status.at[13, "basis"].startswith("titled: 30 years")
    assert status.at[14, "limitation_date"] == pd.Timestamp("2027-12-31")


def test_without_a_due_date_the_status_is_unknown_not_time_barred():
    status = limitation_status(pd.DataFrame({"x": [1]}), {}, TODAY)
    assert status.at[0, "basis"] == "unknown: no due date" and not status.at[0, "time_barred"]
    assert pd.isna(status.at[0, "limitation_date"])


def test_days_past_due_give_an_estimate_when_there_is_no_due_date_column():
    # 1,100 days before 01.06.2025 is 28.05.2022 -> end of 2022 + 3 years = 31.12.2025: not time-barred,
    # though a blunt "more than 3 x 365 days past due" screen would block it. 1,300 days -> 09.11.2021
    # -> 31.12.2024: time-barred.
    status = limitation_status(pd.DataFrame({"days_past_due": [1100, 1300]}), {}, TODAY)
    assert status["time_barred"].tolist() == [False, True]
    assert status.at[0, "basis"].startswith("estimated from days past due")


def test_one_account_is_decided_like_the_portfolio():
    frame, meanings = german_portfolio()
    status = limitation_status(frame, meanings, TODAY)
    for index, row in frame.iterrows():
        end, barred, basis = account_limitation(row.to_dict(), meanings, TODAY)
        assert barred == status.at[index, "time_barred"] and basis == status.at[index, "basis"]
