"""How many cross-validation folds a run uses, and that the run states the number it used."""
from __future__ import annotations

from explain.risk import RiskSettings, fit_risk_model
from tests.explain.conftest import portfolio_of


def test_small_portfolios_get_five_folds():
    assert RiskSettings().folds_for(49_999) == 5


def test_large_portfolios_get_three_folds_and_very_large_ones_two():
    assert RiskSettings().folds_for(50_000) == 3
    assert RiskSettings().folds_for(99_999) == 3
    assert RiskSettings().folds_for(100_000) == 2
    assert RiskSettings().folds_for(1_000_000) == 2


def test_an_explicit_fold_count_wins_at_any_size():
    assert RiskSettings(cv_folds=5).folds_for(1_000_000) == 5
    assert RiskSettings(cv_folds=4).folds_for(100) == 4


def test_settings_saved_by_older_runs_still_load_with_their_folds():
    old = {"cv_folds": 5, "max_iter": 300, "learning_rate": 0.06, "age_bands": [18, 30, 45, 60]}
    settings = RiskSettings.from_dict(old)
    assert settings.cv_folds == 5 and settings.folds_for(1_000_000) == 5
    assert RiskSettings.from_dict(settings.to_dict()) == settings


def test_run_json_and_model_card_state_the_folds_actually_used():
    p = portfolio_of(600, seed=4)
    settings = RiskSettings(three_folds_from_rows=500, bootstrap_resamples=5)  # 600 rows count as large
    result = fit_risk_model(p.frame, p.roles, target="paid_90d", settings=settings)
    section = result.run_json_section()
    assert section["cv_folds"] == 3 and section["settings"]["cv_folds"] == 3
    assert len(result.cv_iterations) == 3 and result.settings.cv_folds == 3
    assert "3-fold stratified cross-validation" in result.model_card()
