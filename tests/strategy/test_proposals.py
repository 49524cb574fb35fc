"""Proposals: one per persona, with evidence, guardrail-clean by construction."""
from __future__ import annotations

import pandas as pd
from hypothesis import given, settings, strategies as st

from tests.strategy.conftest import make_profiles
from strategy.catalogue import Strategy
from strategy.contact_history import wilson_interval
from strategy.guardrails import violations
from strategy.proposals import propose_strategies
from strategy.settings import StrategySettings


def _accounts(portfolio: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"account_id": portfolio["account_id"],
                         "persona_id": portfolio["account_id"].str[1].astype(int)})


def test_each_persona_gets_one_proposal_with_evidence(portfolio_frame):
    profiles = make_profiles(portfolio_frame)
    proposals = propose_strategies(profiles, _accounts(portfolio_frame), portfolio_frame)
    assert [p.persona_id for p in proposals] == [0, 1, 2, 3]
    assert all(p.evidence and isinstance(p.strategy, Strategy) for p in proposals)
    assert all(set(p.axes) == {"risk", "ability_to_pay", "willingness_to_pay", "contactability"}
               for p in proposals)


def test_the_hardship_persona_gets_a_hardship_referral(portfolio_frame):
    proposals = propose_strategies(make_profiles(portfolio_frame))
    hardship = proposals[1]
    assert hardship.strategy.offer == "hardship_referral"
    assert hardship.strategy.escalation == "none"


def test_small_balances_are_never_escalated(portfolio_frame):
    small = propose_strategies(make_profiles(portfolio_frame))[3]
    assert small.strategy.escalation == "none"


def test_channel_evidence_has_wilson_intervals_and_a_minimum_sample(portfolio_frame):
    proposal = propose_strategies(make_profiles(portfolio_frame), _accounts(portfolio_frame),
                                  portfolio_frame)[0]
    sms = next(c for c in proposal.channels if c.channel == "sms")
    assert (sms.ci_low, sms.ci_high) == wilson_interval(sms.responses, sms.attempts)
    assert sms.ci_low < sms.rate < sms.ci_high
    assert any("not enough evidence" in line for line in proposal.evidence)  # phone: 11 attempts
    assert proposal.strategy.channel == "sms"


def test_best_hour_is_clamped_into_the_allowed_window(portfolio_frame):
    late = portfolio_frame.assign(best_response_hour=23)
    proposal = propose_strategies(make_profiles(late), _accounts(late), late)[0]
    latest = StrategySettings().latest_contact_hour
    assert proposal.strategy.contact_end_hour <= latest
    assert any(f"moved to {latest - 1:02d}:00" in line for line in proposal.evidence)


def test_wilson_interval_matches_a_known_value():
    low, high = wilson_interval(10, 100)
    assert round(low, 4) == 0.0552 and round(high, 4) == 0.1744


profile_values = st.fixed_dictionaries({
    "mean_risk_score": st.one_of(st.none(), st.floats(0, 1)),
    "pay_rate": st.one_of(st.none(), st.floats(0, 1)),
    "balance": st.floats(0, 50_000), "dpd": st.floats(0, 3000),
    "broken": st.floats(0, 10), "hardship": st.floats(0, 1), "dispute": st.floats(0, 1),
})


@settings(max_examples=60, deadline=None)
@given(profile_values)
def test_every_proposal_passes_every_guardrail(values):
    profile = {"persona_id": 5, "name": "Generated", "size": 50,
               "mean_risk_score": values["mean_risk_score"], "pay_rate": values["pay_rate"],
               "medians": {"balance": {"persona": values["balance"], "portfolio": 500.0},
                           "days_past_due": {"persona": values["dpd"], "portfolio": 60.0},
                           "broken_promises": {"persona": values["broken"], "portfolio": 0.0}},
               "categorical_shares": {"hardship_flag": {"True": values["hardship"]},
                                      "disputed": {"yes": values["dispute"]}}}
    proposal = propose_strategies([profile])[0]
    assert not violations(list(proposal.guardrails))


def test_a_violation_that_cannot_be_fixed_is_shown_not_hidden():
    profile = {"persona_id": 9, "name": "Nobody to reach", "size": 40, "mean_risk_score": 0.2,
               "categorical_shares": {f"{ch}_opt_out": {"True": 1.0} for ch in
                                      ("sms", "email", "letter", "phone", "app_push", "whatsapp")}}
    proposal = propose_strategies([profile])[0]
    failed = violations(list(proposal.guardrails))
    assert [r.rule_id for r in failed] == ["opted_out_channel"]
    assert any(line.startswith("Not compliant, needs a person's decision") for line in proposal.evidence)


def test_an_effect_is_stated_only_where_the_portfolio_holds_evidence(portfolio_frame):
    with_history = propose_strategies(make_profiles(portfolio_frame), _accounts(portfolio_frame),
                                      portfolio_frame)[0]
    assert with_history.strategy.channel == "sms"
    assert "got a response" in with_history.expected_effect and "95% CI" in with_history.expected_effect
    assert "not a payment rate" in with_history.expected_effect
    without = propose_strategies(make_profiles(portfolio_frame))[0]
    assert without.expected_effect.startswith("Expected effect: unknown")
    assert "not a forecast" in without.expected_effect  # the past pay rate is not sold as a prediction
    assert without.expected_effect in without.evidence


def test_a_proposal_carries_its_journey(portfolio_frame):
    proposal = propose_strategies(make_profiles(portfolio_frame))[2]
    assert proposal.journey and proposal.journey[0].day == 0
    assert [s["action"] for s in proposal.to_dict()["journey"]] == [s.action for s in proposal.journey]
    assert any(line.startswith("Journey: ") for line in proposal.evidence)
