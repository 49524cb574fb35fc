"""The 100k speed shortcuts (issue 16) give the same result as the long way round.

* The fitted accounts reuse the neighbours found while fitting (``PersonaModel.assign(...,
  fitted_rows=...)``): the same personas, probabilities and review flags as searching them again.
* TreeSHAP in the adaptive chunks gives the same values and reasons as one chunk.
* The risk model files written by the risk process (``RiskResult.model_files``) are what the run saves.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from application.numba_cache import enable_disk_cache
from explain.model_io import CLASSIFIER, MODEL_JSON, load_risk_model, risk_model_files
from explain.risk import RiskSettings, fit_risk_model
from explain.shapley import compute_shap
from personas.discovery import PersonaModel, stratified_sample
from personas.features import FeatureBuilder, feature_columns
from personas.settings import DiscoverySettings
from portfolio.load import load_portfolio
from sample_data.generator import generate_portfolio


@pytest.fixture(scope="module")
def portfolio():
    return load_portfolio(generate_portfolio(2_400, seed=5))


def test_fitted_rows_reuse_their_neighbours_with_the_same_result(portfolio):
    enable_disk_cache()
    frame = portfolio.frame.reset_index(drop=True)
    columns = [c for c in feature_columns(frame, portfolio.roles) if c not in ("true_persona", "paid_90d")]
    sample = stratified_sample(frame, 1_200, 3)
    builder = FeatureBuilder(columns).fit(frame.iloc[sample])
    X = builder.transform(frame)
    settings = DiscoverySettings(search=False, n_epochs=60, consolidate=False)
    model = PersonaModel(settings, seed=3).fit(X[sample])
    given = np.full(len(X), -1, dtype=np.int64)
    given[sample] = model.labels_

    searched = model.assign(X, given=given)
    reused = model.assign(X, given=given, fitted_rows=sample)
    assert model._known_neighbours(X, sample) is not None  # the shortcut was taken
    assert (model._known_neighbours(X, sample) >= 0).sum() == len(model.reference_X_)
    pd.testing.assert_series_equal(searched["persona_id"], reused["persona_id"])
    pd.testing.assert_series_equal(searched["needs_review"], reused["needs_review"])
    np.testing.assert_allclose(searched["membership_probability"], reused["membership_probability"], atol=1e-6)

    # Rows that are not the fitted ones (shifted positions) are searched, never given wrong neighbours.
    shifted = np.roll(X, 1, axis=0)
    assert model._known_neighbours(shifted, sample) is None
    pd.testing.assert_frame_equal(model.assign(shifted, fitted_rows=sample), model.assign(shifted))


def test_adaptive_shap_chunks_give_the_same_values_and_reasons(portfolio):
    frame = portfolio.frame.reset_index(drop=True)
    risk = fit_risk_model(frame, portfolio.roles, "paid_90d", "paid",
                          settings=RiskSettings(cv_folds=2, max_iter=30, bootstrap_resamples=5, threads=1))
    ids = frame["account_id"].astype(str)
    one = compute_shap(risk.model, frame, ids, cap=len(frame), seed=1, chunk_rows=len(frame))
    many = compute_shap(risk.model, frame, ids, cap=len(frame), seed=1, chunk_rows=500)
    assert many.chunks == 5 and one.chunks == 1
    np.testing.assert_allclose(many.values.to_numpy(), one.values.to_numpy(), rtol=0, atol=1e-12)
    assert many.reasons.to_pylist() == one.reasons.to_pylist()
    assert many.max_additivity_error <= 1e-6


def test_model_files_from_the_risk_process_are_the_ones_saved(portfolio, tmp_path):
    frame = portfolio.frame.reset_index(drop=True)
    risk = fit_risk_model(frame, portfolio.roles, "paid_90d", "paid",
                          settings=RiskSettings(cv_folds=2, max_iter=20, bootstrap_resamples=5, threads=1))
    risk.with_personas(np.zeros(len(frame), dtype=int))
    risk.model_files = risk_model_files(risk.model)
    risk.save(tmp_path)
    for name in (MODEL_JSON, CLASSIFIER):
        assert (tmp_path / name).read_bytes() == risk.model_files[name]
    loaded = load_risk_model(lambda name: (tmp_path / name).read_bytes())
    np.testing.assert_allclose(loaded.log_odds(frame), risk.model.log_odds(frame))


def test_a_prestarted_risk_process_takes_the_job_and_an_unused_one_is_ended(portfolio):
    from dataclasses import replace

    from application import risk_step
    from personas.settings import RunSettings

    frame = portfolio.frame.reset_index(drop=True)
    settings = RunSettings(target="paid_90d", target_event="paid", seed=5, parallel_risk_min_rows=100)
    risk = replace(RiskSettings(), cv_folds=2, max_iter=20, bootstrap_resamples=5)

    risk_step.prestart()
    waiting = risk_step._prestarted["process"]
    step = risk_step.start_risk_step(frame, portfolio.roles, settings, risk)
    assert step._process is waiting and "process" not in risk_step._prestarted
    result = step.result(np.zeros(len(frame), dtype=int))
    assert step.mode == "child process" and len(result.scores) == len(frame)
    assert result.model_files is not None  # written by the risk process

    risk_step.prestart()
    unused = risk_step._prestarted["process"]
    here = risk_step.start_risk_step(frame, portfolio.roles, replace(settings, parallel_risk=False), risk)
    assert here._process is None and unused.poll() is not None and "process" not in risk_step._prestarted
