"""Regression guard: assigning and scoring accounts costs the same per row at 2,000 and at 16,000 rows.

A ratio, not an absolute time, so it holds on a laptop and on a busy CI runner alike: the per-row
cost at 16,000 rows divided by the per-row cost at 2,000 rows must stay below 2.5 (the minimum of
three repeats of each size). Anything quadratic (a pairwise distance matrix over all new accounts, a
Python loop over pairs, a per-row DataFrame lookup) multiplies the ratio by about 8 and fails.

The persona model is built through its public persistence format (``persona_model.json`` +
``reference.npz``, as a saved run holds it) from the planted personas, so the test pays neither UMAP
nor numba compilation; the risk model is a small ``fit_risk_model``.
"""
from __future__ import annotations

import io
import json
import time

import numpy as np
import pandas as pd
import pytest

from explain.risk import RiskSettings, fit_risk_model
from personas.discovery import PersonaModel
from personas.features import FeatureBuilder, feature_columns
from application.pipeline import assign_frame
from personas.settings import DiscoverySettings
from portfolio.load import load_portfolio
from sample_data.generator import generate_portfolio

SMALL, LARGE = 2_000, 16_000
MAX_PER_ROW_RATIO = 2.5
REPEATS = 3


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """Features, a persona model (reference = planted personas of 3,000 accounts) and a risk model."""
    train = load_portfolio(generate_portfolio(3_000, seed=7))
    builder = FeatureBuilder(feature_columns(train.frame, train.roles)).fit(train.frame)
    X = builder.transform(train.frame)
    labels = pd.Categorical(train.frame["true_persona"]).codes.astype(np.int64)
    settings = DiscoverySettings()
    meta = {"settings": settings.to_dict(), "seed": 7, "params": {}, "metrics": {}, "far_distance": 10.0,
            "names": {str(p): f"Persona {p}" for p in np.unique(labels)}}
    buffer = io.BytesIO()
    np.savez(buffer, X=X, base_labels=labels)
    model = PersonaModel.from_bytes(json.dumps(meta).encode("utf-8"), buffer.getvalue())
    risk = fit_risk_model(train.frame, train.roles, "paid_90d", "paid",
                          settings=RiskSettings(cv_folds=2, max_iter=40, bootstrap_resamples=5, threads=1))
    return builder, model, risk


def _assign_and_score(frame: pd.DataFrame, builder, model, risk) -> pd.DataFrame:
    portfolio = load_portfolio(frame)
    personas = assign_frame(model, builder, portfolio.frame)  # what `personas assign` runs
    scores = risk.score(portfolio.frame)
    personas["risk_score"], personas["reasons"] = scores["risk_score"].to_numpy(), scores["reasons"].to_numpy()
    return personas


def _best_seconds(frame: pd.DataFrame, fitted) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = _assign_and_score(frame, *fitted)
        best = min(best, time.perf_counter() - started)
        assert len(result) == len(frame)
    return best


def test_per_row_cost_of_assign_and_score_does_not_grow_with_size(fitted):
    large = generate_portfolio(LARGE, seed=11)
    small = large.iloc[:SMALL].copy()
    _assign_and_score(small, *fitted)  # first call imports shap and fills caches: not timed
    small_s, large_s = _best_seconds(small, fitted), _best_seconds(large, fitted)
    per_row_ratio = (large_s / LARGE) / (small_s / SMALL)
    assert per_row_ratio < MAX_PER_ROW_RATIO, (
        f"assign + score took {small_s:.2f} s for {SMALL:,} rows and {large_s:.2f} s for {LARGE:,} rows: "
        f"the per-row cost grew {per_row_ratio:.1f}x (limit {MAX_PER_ROW_RATIO}x) - something is superlinear")
