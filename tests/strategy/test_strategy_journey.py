"""Journeys: a strategy as a ladder of dated steps, derived from its fields or given explicitly."""
from __future__ import annotations

from datetime import date

import pytest

from strategy.catalogue import Step, Strategy, StrategyError
from strategy.journey import (BUREAU_AFTER_FIRST_REMINDER_DAYS, abwendung_terms, deferral_terms,
                              instalment_schedule, instalment_terms, journey_of)

COURT = Strategy(channel="letter", tone="firm", offer="instalment_plan", n_instalments=6,
                 escalation="court_dunning", escalation_after_days=60, reminders_sent_before_escalation=2,
                 credit_bureau_report=True)


def test_a_stored_strategy_keeps_its_content_hash():
    """Strategies approved before journeys existed keep their approvals: no empty field in the JSON."""
    assert Strategy().content_hash() == "f6ec4088261fa385e34c9bcb0cdcc6a8212bdd73a39691e60a1f226cfd767d82"
    assert "steps" not in Strategy().to_dict() and "deferral_days" not in Strategy().to_dict()


def test_the_derived_ladder_is_reminder_reminder_then_escalation():
    steps = journey_of(COURT)
    assert [s.action for s in steps] == ["reminder", "reminder", "court", "credit_bureau"]
    assert [s.day for s in steps][:2] == [0, 14] and steps[2].day == 60
    assert steps[1].notices == ("court", "credit_bureau")  # the prior notice § 31 BDSG asks for
    assert "Mahnbescheid" in steps[2].label
    assert steps[3].day >= BUREAU_AFTER_FIRST_REMINDER_DAYS


def test_a_sms_strategy_with_a_bureau_report_sends_two_written_reminders_first():
    steps = journey_of(COURT.with_changes(channel="sms"))
    written = [s for s in steps if s.action == "reminder" and s.channel in ("letter", "email")]
    report = next(s for s in steps if s.action == "credit_bureau")
    assert len([s for s in written if s.day < report.day]) >= 2


def test_a_phone_strategy_starts_with_a_call():
    phone = Strategy(channel="phone", max_call_attempts_per_7_days=3, contacts_per_week=3)
    assert journey_of(phone)[0].action == "call" and journey_of(phone)[0].channel == "phone"


def test_app_push_is_push_in_the_journey():
    assert journey_of(Strategy(channel="app_push"))[0].channel == "push"


def test_explicit_steps_replace_the_derived_ladder_and_survive_storage():
    explicit = Strategy(steps=[{"day": 10, "action": "reminder", "channel": "email", "label": "2"},
                               {"day": 0, "action": "deferral", "channel": "letter",
                                "offer": deferral_terms(30)}])
    assert [s.day for s in journey_of(explicit)] == [0, 10]
    again = Strategy.from_dict(explicit.to_dict())
    assert again == explicit and again.content_hash() == explicit.content_hash()


def test_an_unknown_action_is_refused():
    with pytest.raises(StrategyError, match="action 'sue'"):
        Step(0, "sue")


def test_a_deferral_needs_its_days():
    with pytest.raises(StrategyError, match="deferral"):
        Strategy(offer="deferral")
    assert Strategy(offer="deferral", deferral_days=30).deferral_days == 30


def test_an_instalment_plan_has_a_schedule_that_adds_up():
    schedule = instalment_schedule(100.0, instalment_terms(3), date(2027, 1, 31))
    assert [s["amount"] for s in schedule] == [33.33, 33.33, 33.34]
    assert [s["due"] for s in schedule] == ["2027-02-14", "2027-03-14", "2027-04-14"]


def test_the_abwendungsvereinbarung_is_interest_free_for_6_to_18_months():
    small, large = abwendung_terms(250.0), abwendung_terms(900.0)
    assert small["interest_free"] and small["n_instalments"] == 6
    assert 6 <= large["n_instalments"] <= 18 and large["n_instalments"] > small["n_instalments"]
