"""The account plan: every account rule applied per account, on dated steps."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from portfolio.load import load_portfolio
from strategy.account_plan import plan_accounts
from strategy.catalogue import Step, Strategy
from strategy.contact_calendar import is_contact_day
from strategy.rulepacks import get_rulepack
from tests.strategy.german_flags import START, expected_flags, forbidden, german_portfolio

FIRM = Strategy(channel="sms", tone="firm", offer="settlement_discount", discount_pct=15.0,
                escalation="court_dunning", escalation_after_days=60, reminders_sent_before_escalation=2,
                credit_bureau_report=True, rationale="firm: court after 60 days")
#: Every channel in a week, WhatsApp and calls included, then an agency.
BUSY = Strategy(channel="whatsapp", tone="firm", offer="payment_link", rationale="busy", steps=[
    Step(0, "reminder", "whatsapp", "firm", "WhatsApp"), Step(0, "call", "phone", "firm", "Anruf"),
    Step(1, "reminder", "sms", "firm", "SMS"), Step(1, "reminder", "email", "firm", "E-Mail"),
    Step(2, "reminder", "push", "firm", "Push"), Step(3, "reminder", "letter", "firm", "Brief"),
    Step(14, "reminder", "letter", "firm", "2. Mahnung", notices=("agency",)),
    Step(45, "agency", None, "firm", "Inkasso")])


@pytest.fixture(scope="module")
def pack():
    return get_rulepack("de")


def planned(style: str = "JN", strategies=None, pack=None, **kwargs):
    raw = german_portfolio(style=style)
    personas = raw.pop("persona")
    loaded = load_portfolio(raw)
    accounts = loaded.frame.assign(persona_id=personas.to_numpy())
    plan = plan_accounts(strategies or {0: FIRM, 1: BUSY}, accounts, loaded.roles, pack or get_rulepack("de"),
                         START, **kwargs)
    return raw, plan


@pytest.mark.parametrize("style", ["JN", "01"])
def test_no_flagged_account_receives_a_step_its_flag_forbids(style, pack):
    raw, plan = planned(style, pack=pack)
    flags = expected_flags(raw)
    problems = {row.account_id: forbidden(flags[row.account_id], row.steps)
                for row in plan.itertuples() if forbidden(flags[row.account_id], row.steps)}
    assert problems == {}
    assert sum(flags[a]["dispute"] for a in plan["account_id"]) > 0  # the flags were there to check


def test_insolvency_stops_every_step(pack):
    _, plan = planned(pack=pack)
    row = plan.set_index("account_id").loc["F0-0000"]
    assert row.steps == [] and row.rules_applied == ["insolvency_stop"]
    assert row.strategy_executed.startswith("stopped") and "court after 60" not in row.strategy_executed


def test_an_open_dispute_gets_one_neutral_clarification_letter(pack):
    _, plan = planned(pack=pack)
    row = plan.set_index("account_id").loc["F0-0001"]
    assert [(s["action"], s["channel"], s["tone"]) for s in row.steps] == [("clarification", "letter", "neutral")]
    assert "dispute_hold" in row.rules_applied


def test_an_over_indebted_account_gets_a_referral_with_content_and_a_gentle_tone(pack):
    _, plan = planned(pack=pack)
    row = plan.set_index("account_id").loc["F0-0002"]
    referral = next(s for s in row.steps if s["action"] == "referral")
    assert "Schuldnerberatung" in referral["offer"]["to"] and "meine-schulden.de" in referral["offer"]["terms"]
    assert {s["tone"] for s in row.steps} == {"gentle"}
    assert not {"court", "agency", "credit_bureau"} & {s["action"] for s in row.steps}
    assert "hardship_protection" in row.rules_applied


@pytest.mark.parametrize("account", ["F0-0003", "F0-0004"])  # ERP flag, computed from the 2021 due date
def test_a_time_barred_claim_asks_only_for_voluntary_payment(account, pack):
    _, plan = planned(pack=pack)
    row = plan.set_index("account_id").loc[account]
    assert row.steps and not {"court", "agency", "credit_bureau"} & {s["action"] for s in row.steps}
    assert all("freiwillige Zahlung" in s["label"] for s in row.steps if s["action"] == "reminder")
    assert not any(s["notices"] for s in row.steps)
    assert "time_barred" in row.rules_applied and "court" not in row.strategy_executed


def test_an_objected_channel_is_never_used_and_the_step_goes_by_letter(pack):
    _, plan = planned(pack=pack)
    row = plan.set_index("account_id").loc["F0-0005"]
    assert row.steps[0]["channel"] == "letter" and "channel_objection" in row.rules_applied


def test_whatsapp_only_with_an_opt_in(pack):
    _, plan = planned(pack=pack)
    rows = plan.set_index("account_id")
    assert "whatsapp" in {s["channel"] for s in rows.loc["F1-0007"].steps}
    assert "whatsapp" not in {s["channel"] for s in rows.loc["F1-0010"].steps}
    assert "whatsapp_opt_in" in rows.loc["F1-0010"].rules_applied


def test_contact_steps_fall_on_contact_days_only(pack):
    _, plan = planned(pack=pack)
    days = {date.fromisoformat(s["date"]) for steps in plan["steps"] for s in steps if s["channel"]}
    assert days and all(is_contact_day(d, pack.contact) for d in days)
    assert not {date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 27), date(2027, 1, 1)} & days


def test_contacts_across_all_channels_stay_within_the_weekly_cap(pack):
    _, plan = planned(pack=pack)
    cap = pack.contact.max_contacts_per_week
    busy = plan[plan["persona_id"] == 1]
    for steps in busy["steps"]:
        contacts = sorted(date.fromisoformat(s["date"]) for s in steps if s["channel"])
        for day in contacts:
            assert sum(day <= d < day + timedelta(days=7) for d in contacts) <= cap
    assert busy["rules_applied"].map(lambda r: "contact_cap" in r).any()


def test_no_contact_in_the_quiet_period_after_a_conversation(pack):
    _, plan = planned(pack=pack)
    row = plan.set_index("account_id").loc["F0-0008"]
    talked = START - timedelta(days=2)
    first = min(date.fromisoformat(s["date"]) for s in row.steps if s["channel"])
    assert first > talked + timedelta(days=pack.contact.quiet_days_after_conversation)
    assert "quiet_period" in row.rules_applied


def test_a_small_balance_goes_to_neither_agency_nor_court(pack):
    _, plan = planned(pack=pack)
    row = plan.set_index("account_id").loc["F0-0009"]
    assert "court" not in {s["action"] for s in row.steps}
    assert "minimum_balance_enforcement" in row.rules_applied


def test_the_announcement_of_a_removed_step_is_removed_too(pack):
    _, plan = planned(pack=pack)
    row = plan.set_index("account_id").loc["F0-0009"]
    assert not any("court" in s["notices"] for s in row.steps)
    assert not any("Mahnverfahren" in s["label"] for s in row.steps)


def test_a_bureau_report_without_prior_notice_is_removed(pack):
    silent = Strategy(steps=[Step(0, "reminder", "letter"), Step(14, "reminder", "letter"),
                             Step(40, "credit_bureau", None)])
    _, plan = planned(strategies={0: silent, 1: silent}, pack=pack)
    clean = plan.set_index("account_id").loc["F0-0011"]
    assert "credit_bureau" not in {s["action"] for s in clean.steps}
    assert "credit_bureau_conditions" in clean.rules_applied
    assert "prior notice" in " ".join(clean.rule_notes)


def test_a_bureau_report_with_notice_two_letters_and_four_weeks_stays(pack):
    _, plan = planned(pack=pack)
    clean = plan.set_index("account_id").loc["F0-0011"]
    assert "credit_bureau" in {s["action"] for s in clean.steps}


def test_an_unknown_fact_is_said_to_be_unknown_not_read_as_no(pack):
    raw = german_portfolio().drop(columns=["Insolvenzverfahren"])
    raw.loc[raw["Fallnummer"] == "F0-0011", "Einwand erhoben"] = None
    personas = raw.pop("persona")
    loaded = load_portfolio(raw)
    plan = plan_accounts({0: FIRM, 1: BUSY}, loaded.frame.assign(persona_id=personas.to_numpy()),
                         loaded.roles, pack, START).set_index("account_id")
    row = plan.loc["F0-0011"]
    assert any(text.startswith("insolvency: unknown — no such column") for text in row.unknown_facts)
    assert any("empty for this account" in text for text in row.unknown_facts)
    assert row.needs_review and "disputed" in row.review_reason
    assert "credit_bureau" not in {s["action"] for s in row.steps}  # no dispute check possible


def test_the_persona_models_needs_review_is_kept(pack):
    raw = german_portfolio()
    personas = raw.pop("persona")
    loaded = load_portfolio(raw)
    accounts = loaded.frame.assign(persona_id=personas.to_numpy(), needs_review=False)
    accounts.loc[accounts["account_id"] == "F0-0012", "needs_review"] = True
    plan = plan_accounts({0: FIRM, 1: BUSY}, accounts, loaded.roles, pack, START).set_index("account_id")
    assert plan.loc["F0-0012"].needs_review and "persona assignment" in plan.loc["F0-0012"].review_reason
    assert not plan.loc["F0-0013"].needs_review


def test_an_account_no_channel_may_reach_goes_to_a_person(pack):
    only_sms = Strategy(channel="sms", steps=[Step(0, "reminder", "sms")])
    raw = pd.DataFrame({"Fallnummer": ["X1", "X2"], "Restforderung": [300.0, 300.0], "Tage im Verzug": [40, 40],
                        "SMS Widerspruch": ["J", "N"], "Brief Widerspruch": ["J", "N"]})
    loaded = load_portfolio(raw)
    plan = plan_accounts({0: only_sms}, loaded.frame.assign(persona_id=0), loaded.roles, pack, START)
    assert plan.loc[0, "steps"] == [] and plan.loc[0, "needs_review"]
    assert plan.loc[1, "steps"][0]["channel"] == "sms" and not plan.loc[1, "needs_review"]


def energy_plan(**columns):
    from strategy.settings import StrategySettings

    pack = get_rulepack("de", StrategySettings(utility_module=True))
    court = Strategy(channel="letter", tone="neutral", offer="payment_link", escalation="court_dunning",
                     escalation_after_days=30, reminders_sent_before_escalation=2)
    raw = pd.DataFrame({"Fallnummer": ["E1", "E2", "E3"], "Restforderung": [450.0, 450.0, 450.0],
                        "Tage im Verzug": [50, 50, 50], **columns})
    loaded = load_portfolio(raw)
    return pack, plan_accounts({0: court}, loaded.frame.assign(persona_id=0), loaded.roles, pack, START)


def test_energy_disconnection_is_threatened_four_weeks_and_announced_eight_working_days_ahead():
    from strategy.contact_calendar import add_working_days

    pack, plan = energy_plan(**{"Überschuldet": ["N", "J", "N"], "Vertrag beendet": ["N", "N", "J"]})
    steps = plan.loc[0, "steps"]
    threat = next(s for s in steps if s["action"] == "disconnection_threat")
    notice = next(s for s in steps if s["action"] == "disconnection_notice")
    cut = date.fromisoformat(notice["disconnection_on"])
    assert cut >= date.fromisoformat(threat["date"]) + timedelta(days=28)
    assert cut > add_working_days(date.fromisoformat(notice["date"]), 8, pack.contact)
    assert threat["offer"]["interest_free"] and 6 <= threat["offer"]["n_instalments"] <= 24
    assert "court" not in {s["action"] for s in steps}
    assert plan.loc[0, "needs_review"] and "monthly instalment" in plan.loc[0, "review_reason"]


def test_an_over_indebted_energy_customer_is_referred_to_haertefonds_and_jobcenter():
    _, plan = energy_plan(**{"Überschuldet": ["N", "J", "N"], "Vertrag beendet": ["N", "N", "J"]})
    referral = next(s for s in plan.loc[1, "steps"] if s["action"] == "referral")
    assert referral["offer"]["to"] == ["Schuldnerberatung", "Härtefonds", "Jobcenter"]
    assert "§ 22 Abs. 8 SGB II" in referral["offer"]["terms"]
    assert not {s["action"] for s in plan.loc[1, "steps"]} & {"disconnection_threat", "disconnection_notice"}


def test_an_ended_supply_contract_is_not_disconnected():
    _, plan = energy_plan(**{"Überschuldet": ["N", "J", "N"], "Vertrag beendet": ["N", "N", "J"]})
    assert not {s["action"] for s in plan.loc[2, "steps"]} & {"disconnection_threat", "disconnection_notice"}
    assert "energy_disconnection" in plan.loc[2, "rules_applied"]
