"""Above fit_max_rows the model learns from a seeded, outcome-stratified sample; every account is still
scored out of sample, explained, and the card says how the model was fitted."""
from __future__ import annotations

import dataclasses

import numpy as np

from explain.features import event_vector
from explain.model import _fit_sample
from explain.risk import RiskResult, fit_risk_model
from tests.explain.conftest import FAST, DirReader


def test_the_fitting_sample_is_seeded_and_keeps_the_outcome_rate():
    event = (np.random.default_rng(0).random(10_000) < 0.3).astype(int)
    settings = dataclasses.replace(FAST, fit_max_rows=2_000)
    rows = _fit_sample(event, settings)
    assert len(rows) == 2_000 and len(np.unique(rows)) == 2_000
    assert abs(event[rows].mean() - event.mean()) < 0.001
    assert np.array_equal(rows, _fit_sample(event, settings))  # same seed, same sample
    assert _fit_sample(event, dataclasses.replace(FAST, fit_max_rows=10_000)) is None


def test_a_sampled_fit_scores_and_explains_every_account(generator_portfolio, risk_5k, tmp_path):
    p = generator_portfolio
    settings = dataclasses.replace(FAST, fit_max_rows=2_500)
    sampled = fit_risk_model(p.frame, p.roles, target="paid_90d", target_event="paid", settings=settings)
    assert sampled.fitted_on == 2_500 and sampled.n_accounts == 5_000 and sampled.sampled_fit
    assert sampled.scores["risk_score"].between(0, 1).all() and len(sampled.scores) == 5_000
    assert sampled.scores["reasons"].map(len).gt(0).all()
    # metrics on all accounts, honest and close to the fit on all of them
    full_auc = risk_5k.metrics["roc_auc"]["value"]
    assert abs(sampled.metrics["roc_auc"]["value"] - full_auc) < 0.02
    section = sampled.run_json_section()
    assert section["fit_rows"] == 2_500 and section["rows"] == 5_000
    card = sampled.model_card()
    assert "seeded sample of 2,500 of the 5,000 accounts" in card
    sampled.save(tmp_path)
    assert RiskResult.load(DirReader(tmp_path)).fitted_on == 2_500
    # below the cap nothing changes: the model learns from every account
    assert not risk_5k.sampled_fit and "refit on all 5,000 accounts" in risk_5k.model_card()
    event = event_vector(p.frame, "paid_90d", "paid")
    assert len(event) == 5_000
