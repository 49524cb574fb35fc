"""Amounts in proposal evidence, guardrails and account blocks are in the run's currency: $ / USD for a
USD portfolio (never €), "currency unknown" without a currency, € when the run says EUR; the minimum
balance threshold in EUR applies only to EUR (or unknown) portfolios."""
from __future__ import annotations

import pandas as pd
import pytest

from portfolio.currency import Currency, currency_of_run, portfolio_currency
from strategy.catalogue import Strategy
from strategy.context import PersonaContext
from strategy.guardrails import account_block_map, check_strategy
from strategy.proposals import propose_strategies
from strategy.settings import StrategySettings
from tests.strategy.test_flag_evidence import german_export, run_like

COURT = Strategy(channel="letter", tone="firm", offer="instalment_plan", n_instalments=6,
                 escalation="court_dunning", escalation_after_days=60, reminders_sent_before_escalation=2,
                 credit_bureau_report=True)


def _texts(proposals) -> str:
    return " ".join(" ".join(p.evidence) + " " + " ".join(g.message for g in p.guardrails) for p in proposals)


@pytest.fixture(scope="module")
def usd_run():
    frame = german_export()
    frame["currency"] = "USD"
    roles, data, accounts, profiles = run_like(frame)
    return roles, data, accounts, profiles, portfolio_currency(data, roles)


def test_a_usd_portfolio_shows_dollars_in_evidence_and_never_euros(usd_run):
    roles, data, accounts, profiles, currency = usd_run
    assert currency.code == "USD"
    proposals = propose_strategies(profiles, accounts, data, roles=roles, currency=currency)
    text = _texts(proposals)
    assert "median balance $" in text
    assert "€" not in text


def test_without_a_currency_amounts_say_currency_unknown_once(usd_run):
    roles, data, accounts, profiles, _ = usd_run
    plain = data.drop(columns=["currency"])
    currency = portfolio_currency(plain)
    proposals = propose_strategies(profiles, accounts, plain, roles=roles, currency=currency)
    for proposal in proposals:
        ability = next(e for e in proposal.evidence if e.startswith("Ability to pay"))
        if "median balance" in ability:
            assert ability.count("currency unknown") == 1
    assert "€" not in _texts(proposals) and "EUR)" not in _texts(proposals)


def test_a_run_that_says_eur_shows_euros(usd_run):
    _, data, accounts, profiles, _ = usd_run
    currency = currency_of_run({"parameters": {"currency": {"code": "EUR", "source": "setting",
                                                            "reason": "set with --currency EUR"}}})
    text = _texts(propose_strategies(profiles, currency=currency))
    assert "median balance €" in text and "$" not in text


def test_the_eur_threshold_is_not_applied_to_a_usd_portfolio():
    context = PersonaContext(median_balance=45.0, currency=Currency.of_code("USD"))
    result = next(r for r in check_strategy(COURT, context) if r.rule_id == "escalation_min_balance")
    assert result.passed
    assert "threshold in EUR not applied: portfolio currency USD" in result.message
    assert "$45.00" in result.message
    blocks = account_block_map(COURT, {"balance": 30.0}, currency=Currency.of_code("USD"))
    assert "escalation" not in blocks


def test_the_eur_threshold_applies_to_eur_and_to_an_unknown_currency_and_says_which():
    eur = PersonaContext(median_balance=45.0, currency=Currency.of_code("EUR"))
    result = next(r for r in check_strategy(COURT, eur) if r.rule_id == "escalation_min_balance")
    assert not result.passed and "€45.00" in result.message and "€100.00" in result.message
    unknown = PersonaContext(median_balance=45.0, currency=Currency())
    result = next(r for r in check_strategy(COURT, unknown) if r.rule_id == "escalation_min_balance")
    assert not result.passed and "currency unknown" in result.message and "€" not in result.message
    assert "100.00 EUR" in result.message
    blocks = account_block_map(COURT, {"balance": 30.0}, currency=Currency.of_code("EUR"))
    assert blocks["escalation"] == "escalation: balance €30.00 below €100.00 (proportionality)"


def test_a_threshold_in_usd_applies_to_a_usd_portfolio():
    cfg = StrategySettings(legal_escalation_min_balance_eur=50.0, legal_escalation_min_balance_currency="USD")
    context = PersonaContext(median_balance=45.0, currency=Currency.of_code("USD"))
    result = next(r for r in check_strategy(COURT, context, cfg) if r.rule_id == "escalation_min_balance")
    assert not result.passed and "$50.00" in result.message
