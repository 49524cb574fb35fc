"""Each guardrail blocks its violation, names the rule and its source, and passes a compliant strategy."""
from __future__ import annotations

import pytest

from strategy.catalogue import Strategy, StrategyError
from strategy.context import PersonaContext
from strategy.guardrails import RULE_IDS, account_block_map, account_blocks, check_strategy, violations
from strategy.settings import StrategySettings

PERSONA = PersonaContext(persona_id=0, name="Steady payers", size=100, median_balance=800.0,
                         median_days_past_due=60, dispute_share=0.02)
COMPLIANT = Strategy(channel="letter", tone="firm", offer="instalment_plan", n_instalments=6,
                     escalation="court_dunning", escalation_after_days=60,
                     reminders_sent_before_escalation=2, credit_bureau_report=True)

VIOLATIONS = {
    "contact_hours": (COMPLIANT.with_changes(contact_start_hour=7), PERSONA, "1006.6(b)(1)(i)"),
    "call_frequency": (COMPLIANT.with_changes(channel="phone", max_call_attempts_per_7_days=8),
                       PERSONA, "1006.14(b)(2)"),
    "opt_out_included": (COMPLIANT.with_changes(channel="sms", includes_opt_out=False), PERSONA,
                         "1006.6(e)"),
    "opted_out_channel": (COMPLIANT.with_changes(channel="email"),
                          PersonaContext(median_balance=800.0, opt_out_shares={"email": 0.6}),
                          "1006.14(h)"),
    "escalation_min_balance": (COMPLIANT, PersonaContext(median_balance=45.0), "§ 13e RDG"),
    "time_barred": (COMPLIANT, PersonaContext(median_balance=800.0, time_barred_share=0.9),
                    "1006.26(b)"),
    "hardship_route": (COMPLIANT.with_changes(offer="reminder", n_instalments=None),
                       PersonaContext(median_balance=800.0, hardship_share=0.7),
                       "2023/2225"),
    "reminders_before_escalation": (COMPLIANT.with_changes(reminders_sent_before_escalation=0,
                                                           credit_bureau_report=False),
                                    PERSONA, "BGH III ZR 91/07"),
    "credit_bureau": (COMPLIANT.with_changes(reminders_sent_before_escalation=1), PERSONA,
                      "§ 31(2) Nr. 4 BDSG"),
}


def test_every_rule_has_a_violation_case():
    assert set(VIOLATIONS) == set(RULE_IDS)


def test_a_compliant_strategy_passes_every_rule():
    results = check_strategy(COMPLIANT, PERSONA)
    assert [r.rule_id for r in results] == list(RULE_IDS)
    assert not violations(results)


@pytest.mark.parametrize("rule_id", sorted(VIOLATIONS))
def test_each_guardrail_blocks_its_violation_naming_rule_and_source(rule_id):
    strategy, context, source = VIOLATIONS[rule_id]
    failed = violations(check_strategy(strategy, context))
    assert [r.rule_id for r in failed] == [rule_id]
    assert "VIOLATED" in failed[0].message and source in failed[0].message


def test_the_credit_bureau_needs_four_weeks_and_no_disputes():
    early = COMPLIANT.with_changes(escalation_after_days=14)
    assert "28 days" in violations(check_strategy(early, PERSONA))[0].message
    disputed = PersonaContext(median_balance=800.0, dispute_share=0.3)
    assert "dispute" in violations(check_strategy(COMPLIANT, disputed))[0].message


def test_a_hardship_persona_may_get_an_instalment_plan():
    hardship = PersonaContext(median_balance=800.0, hardship_share=0.7)
    plan = Strategy(offer="instalment_plan", n_instalments=12)
    assert not violations(check_strategy(plan, hardship))


def test_the_small_balance_threshold_is_configurable():
    context = PersonaContext(median_balance=150.0)
    assert not violations(check_strategy(COMPLIANT, context))
    strict = StrategySettings(legal_escalation_min_balance_eur=200.0)
    assert [r.rule_id for r in violations(check_strategy(COMPLIANT, context, strict))] == [
        "escalation_min_balance"]


def test_single_accounts_lose_the_steps_they_are_protected_from():
    account = {"account_id": "A1", "balance": 30.0, "days_past_due": 1500, "disputes": 1,
               "sms_opt_out": True}
    blocks = account_block_map(COMPLIANT.with_changes(channel="sms"), account)
    assert set(blocks) == {"channel", "escalation", "credit_bureau_report"}
    assert "§ 31(2) Nr. 4 BDSG" in blocks["credit_bureau_report"]
    assert account_blocks(COMPLIANT, {"account_id": "A2", "balance": 900.0}) == []


def test_structurally_invalid_strategies_are_refused_with_every_problem():
    with pytest.raises(StrategyError) as err:
        Strategy(channel="fax", offer="instalment_plan", contact_start_hour=20, contact_end_hour=9)
    assert len(err.value.lines) == 3
