"""Each guardrail of the active rulepack blocks its violation, names the rule, its source and whether it
is law or house policy, and passes a compliant strategy; single accounts lose the steps they are
protected from."""
from __future__ import annotations

from datetime import date

import pytest

from strategy.catalogue import Strategy, StrategyError
from strategy.context import PersonaContext
from strategy.guardrails import (
    RULE_IDS, account_block_map, account_blocks, account_protections, check_strategy, repair, violations,
)
from strategy.rulepacks import get_rulepack
from strategy.settings import StrategySettings

GERMAN = get_rulepack("de")
US = get_rulepack("us")
PERSONA = PersonaContext(persona_id=0, name="Steady payers", size=100, median_balance=800.0,
                         median_days_past_due=60, dispute_share=0.02)
COMPLIANT = Strategy(channel="letter", tone="firm", offer="instalment_plan", n_instalments=6,
                     escalation="court_dunning", escalation_after_days=60,
                     reminders_sent_before_escalation=2, credit_bureau_report=True)
TODAY = date(2026, 12, 1)

# rule id -> (strategy, persona, text the message must carry) for the German pack
GERMAN_VIOLATIONS = {
    "contact_hours": (COMPLIANT.with_changes(contact_start_hour=9, contact_end_hour=21), PERSONA,
                      "no statutory contact hours"),
    "contact_days": (COMPLIANT.with_changes(contact_weekdays=("mon", "sun")), PERSONA, "sun"),
    "contact_cap": (COMPLIANT.with_changes(channel="sms", contacts_per_week=21), PERSONA,
                    "cap across all channels"),
    "opt_out_included": (COMPLIANT.with_changes(channel="sms", includes_opt_out=False), PERSONA,
                         "Art. 21 Abs. 4 DSGVO"),
    "opted_out_channel": (COMPLIANT.with_changes(channel="email"),
                          PersonaContext(median_balance=800.0, opt_out_shares={"email": 0.6}),
                          "Art. 21 Abs. 1 DSGVO"),
    "whatsapp_opt_in": (COMPLIANT.with_changes(channel="whatsapp"), PERSONA, "no such column"),
    "escalation_min_balance": (COMPLIANT, PersonaContext(median_balance=45.0), "no statutory minimum"),
    "time_barred": (COMPLIANT, PersonaContext(median_balance=800.0, time_barred_share=0.9), "§ 214 Abs. 1 BGB"),
    "hardship_route": (COMPLIANT.with_changes(offer="reminder", n_instalments=None),
                       PersonaContext(median_balance=800.0, hardship_share=0.7), "§ 22 Abs. 8 SGB II"),
    "reminders_before_escalation": (COMPLIANT.with_changes(reminders_sent_before_escalation=0,
                                                           credit_bureau_report=False),
                                    PERSONA, "§ 286 Abs. 2 Nr. 1 BGB"),
    "credit_bureau": (COMPLIANT.with_changes(reminders_sent_before_escalation=1), PERSONA,
                      "§ 31 Abs. 2 Satz 1 BDSG"),
}
US_VIOLATIONS = {
    "contact_hours": (COMPLIANT.with_changes(contact_start_hour=7), PERSONA, "1006.6(b)(1)(i)"),
    "call_frequency": (COMPLIANT.with_changes(channel="phone", max_call_attempts_per_7_days=8), PERSONA,
                       "1006.14(b)(2)"),
    "time_barred": (COMPLIANT, PersonaContext(median_balance=800.0, time_barred_share=0.9), "1006.26(b)"),
}


def test_every_check_of_the_german_pack_but_the_informational_one_has_a_violation_case():
    assert set(GERMAN.check_ids) - set(GERMAN_VIOLATIONS) == {"dispute_hold"}
    assert set(GERMAN.check_ids) <= set(RULE_IDS) and set(US.check_ids) <= set(RULE_IDS)


@pytest.mark.parametrize("pack", [GERMAN, US], ids=["de", "us"])
def test_a_compliant_strategy_passes_every_rule(pack):
    results = check_strategy(COMPLIANT, PERSONA, rulepack=pack)
    assert [r.rule_id for r in results] == list(pack.check_ids)
    assert not violations(results)


@pytest.mark.parametrize("rule_id", sorted(GERMAN_VIOLATIONS))
def test_each_german_guardrail_blocks_its_violation_naming_rule_source_and_kind(rule_id):
    strategy, context, text = GERMAN_VIOLATIONS[rule_id]
    failed = violations(check_strategy(strategy, context))  # German is the default pack
    assert [r.rule_id for r in failed] == [rule_id]
    rule = GERMAN.rule(rule_id)
    assert "VIOLATED" in failed[0].message and text in failed[0].message
    assert failed[0].source == rule.source and failed[0].kind == rule.kind
    assert failed[0].message.endswith(f"; {rule.kind_label})")


@pytest.mark.parametrize("rule_id", sorted(US_VIOLATIONS))
def test_each_us_guardrail_cites_regulation_f(rule_id):
    strategy, context, text = US_VIOLATIONS[rule_id]
    failed = violations(check_strategy(strategy, context, rulepack="us"))
    assert [r.rule_id for r in failed] == [rule_id]
    assert text in failed[0].message and failed[0].kind == "law"


def test_the_us_window_until_21_is_a_german_violation():
    evening = COMPLIANT.with_changes(contact_start_hour=18, contact_end_hour=21)
    assert not violations(check_strategy(evening, PERSONA, rulepack="us"))
    assert [r.rule_id for r in violations(check_strategy(evening, PERSONA))] == ["contact_hours"]


def test_the_german_cap_counts_every_channel_not_only_calls():
    many_emails = COMPLIANT.with_changes(channel="email", contacts_per_week=7)
    assert [r.rule_id for r in violations(check_strategy(many_emails, PERSONA))] == ["contact_cap"]
    assert not violations(check_strategy(many_emails, PERSONA, rulepack="us"))


def test_whatsapp_needs_enough_opt_ins():
    from strategy.context import FlagFact
    whatsapp = COMPLIANT.with_changes(channel="whatsapp")
    few = PersonaContext(median_balance=800.0, facts={"opt_in.whatsapp": FlagFact("opt_in.whatsapp", 0.2, 2, 10, "WA")})
    most = PersonaContext(median_balance=800.0, facts={"opt_in.whatsapp": FlagFact("opt_in.whatsapp", 0.8, 8, 10, "WA")})
    assert [r.rule_id for r in violations(check_strategy(whatsapp, few))] == ["whatsapp_opt_in"]
    assert not violations(check_strategy(whatsapp, most))


def test_the_credit_bureau_needs_four_weeks_no_disputes_and_prior_notice():
    early = COMPLIANT.with_changes(escalation_after_days=14)
    assert "28 days" in violations(check_strategy(early, PERSONA))[0].message
    disputed = PersonaContext(median_balance=800.0, dispute_share=0.3)
    assert "dispute" in violations(check_strategy(COMPLIANT, disputed))[0].message
    passed = next(r for r in check_strategy(COMPLIANT, PERSONA) if r.rule_id == "credit_bureau")
    assert "prior notice" in passed.message


def test_a_hardship_persona_may_get_an_instalment_plan_but_no_escalation():
    hardship = PersonaContext(median_balance=800.0, hardship_share=0.7)
    plan = Strategy(offer="instalment_plan", n_instalments=12)
    assert not violations(check_strategy(plan, hardship))
    assert "Schuldnerberatung" in next(r.message for r in check_strategy(plan, hardship)
                                      if r.rule_id == "hardship_route")
    assert [r.rule_id for r in violations(check_strategy(COMPLIANT, hardship))] == ["hardship_route"]


def test_the_small_balance_threshold_is_configurable_house_policy():
    context = PersonaContext(median_balance=150.0)
    assert not violations(check_strategy(COMPLIANT, context))
    strict = StrategySettings(legal_escalation_min_balance_eur=200.0)
    failed = violations(check_strategy(COMPLIANT, context, strict))
    assert [r.rule_id for r in failed] == ["escalation_min_balance"] and failed[0].kind == "house_policy"


@pytest.mark.parametrize("rule_id", sorted(GERMAN_VIOLATIONS))
def test_every_german_violation_has_a_repair_that_removes_it(rule_id):
    strategy, context, _ = GERMAN_VIOLATIONS[rule_id]
    if rule_id == "opted_out_channel":
        strategy = strategy.with_changes(channel="email")
    fixed = strategy.with_changes(**repair(rule_id, strategy, context))
    assert rule_id not in {r.rule_id for r in violations(check_strategy(fixed, context))}


# ---------------------------------------------------------------------------- per account
def test_single_accounts_lose_the_steps_they_are_protected_from():
    account = {"account_id": "A1", "balance": 30.0, "days_past_due": 1500, "disputes": 1,
               "sms_opt_out": True}
    blocks = account_block_map(COMPLIANT.with_changes(channel="sms"), account, today=TODAY)
    assert set(blocks) == {"channel", "escalation", "credit_bureau_report"}
    assert "§ 31 Abs. 2 Satz 1 Nr. 4 lit. d BDSG" in blocks["credit_bureau_report"]
    assert "Art. 21 Abs. 1 DSGVO" in blocks["channel"]
    assert account_blocks(COMPLIANT, {"account_id": "A2", "balance": 900.0}, today=TODAY) == []


@pytest.mark.parametrize("flag, rule_id", [("J", True), ("ja", True), ("1", True), (1, True), ("N", False),
                                           (0, False), ("nein", False)])
def test_german_and_numeric_flags_protect_accounts(flag, rule_id):
    account = {"account_id": "A1", "balance": 900.0, "Überschuldet": flag, "Insolvenz": flag, "Bestritten": flag}
    found = account_protections(account, today=TODAY)
    expected = {"insolvency_stop", "dispute_hold", "hardship_protection"}
    assert (expected <= set(found)) is rule_id and (expected & set(found) == set()) is (not rule_id)


def test_insolvency_stops_everything_and_over_indebtedness_removes_enforcement():
    insolvent = account_block_map(COMPLIANT, {"balance": 900.0, "Insolvenz": "J"}, today=TODAY)
    assert set(insolvent) == {"stop", "escalation", "credit_bureau_report"}
    assert "§ 89 InsO" in insolvent["stop"]
    over = account_block_map(COMPLIANT, {"balance": 900.0, "Überschuldet": "J"}, today=TODAY)
    assert set(over) == {"escalation", "credit_bureau_report"} and "Schuldnerberatung" in over["escalation"]


def test_time_barred_follows_the_limitation_date_not_a_days_past_due_screen():
    # Due 15.03.2021: limitation ends 31.12.2024; a part-payment on 10.06.2023 restarts it to 10.06.2026.
    barred = {"balance": 900.0, "Fälligkeitsdatum": "15.03.2021"}
    restarted = {**barred, "letzte_Teilzahlung": "10.06.2023"}
    assert "time_barred" in account_protections(barred, today=date(2025, 1, 1))
    assert "time_barred" not in account_protections(restarted, today=date(2025, 1, 1))
    assert "time_barred" in account_protections(restarted, today=date(2026, 6, 11))
    flagged = {"balance": 900.0, "Verjährt": "J", "days_past_due": 40}
    assert "escalation" in account_block_map(COMPLIANT, flagged, today=TODAY)


def test_whatsapp_without_opt_in_loses_the_channel_and_a_recent_conversation_means_quiet():
    whatsapp = COMPLIANT.with_changes(channel="whatsapp")
    assert "channel" in account_block_map(whatsapp, {"balance": 900.0, "whatsapp_opt_in": "N"}, today=TODAY)
    assert "channel" not in account_block_map(whatsapp, {"balance": 900.0, "whatsapp_opt_in": "J"}, today=TODAY)
    quiet = account_protections({"balance": 900.0, "letztes_Gespraech": "28.11.2026"}, today=TODAY)
    assert "no contact before 06.12.2026" in quiet["quiet_period"]


def test_german_account_reasons_never_cite_us_law():
    account = {"balance": 30.0, "Insolvenz": "J", "Bestritten": "J", "Überschuldet": "J", "Verjährt": "J",
               "SMS Widerspruch": "J", "letztes_Gespraech": "30.11.2026"}
    reasons = " ".join(account_protections(account, today=TODAY).values())
    assert "CFR" not in reasons and "U.S.C." not in reasons


def test_structurally_invalid_strategies_are_refused_with_every_problem():
    with pytest.raises(StrategyError) as err:
        Strategy(channel="fax", offer="instalment_plan", contact_start_hour=20, contact_end_hour=9)
    assert len(err.value.lines) == 3
