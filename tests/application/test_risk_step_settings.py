"""The run passes the risk settings through; the run's own seed, language and currency always win."""
from __future__ import annotations

from application.risk_step import start_risk_step
from explain.settings import RiskSettings
from personas.settings import RunSettings
from portfolio.load import load_portfolio
from sample_data.generator import generate_portfolio


def test_the_risk_settings_reach_the_risk_step_with_the_runs_seed_and_language():
    portfolio = load_portfolio(generate_portfolio(200, seed=5))
    settings = RunSettings(target="paid_90d", seed=11, language="de", parallel_risk=False)
    step = start_risk_step(portfolio.frame, portfolio.roles, settings,
                           RiskSettings(rights_and_vulnerability_as_features=True, seed=1, language="en"))
    chosen = step.job.risk_settings
    assert chosen.rights_and_vulnerability_as_features is True
    assert (chosen.seed, chosen.language) == (11, "de")


def test_by_default_the_risk_step_leaves_rights_and_vulnerability_out():
    portfolio = load_portfolio(generate_portfolio(200, seed=5))
    step = start_risk_step(portfolio.frame, portfolio.roles, RunSettings(target="paid_90d", parallel_risk=False))
    assert step.job.risk_settings.rights_and_vulnerability_as_features is False
