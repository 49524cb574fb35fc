"""Metrics agree with scikit-learn; bootstrap intervals and gains behave."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score, roc_curve

from explain.metrics import bootstrap_metrics, gains_table, point_metrics, reliability_points


@pytest.fixture
def scored():
    rng = np.random.default_rng(3)
    risk = np.round(rng.random(3_000), 2)  # rounded: many ties, as with isotonic calibration
    return (rng.random(3_000) < risk).astype(int), risk


def test_point_metrics_match_scikit_learn(scored):
    event, risk = scored
    metrics = point_metrics(event, risk)
    fpr, tpr, _ = roc_curve(event, risk)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(event, risk), abs=1e-12)
    assert metrics["pr_auc"] == pytest.approx(average_precision_score(event, risk), abs=1e-12)
    assert metrics["brier"] == pytest.approx(brier_score_loss(event, risk), abs=1e-12)
    assert metrics["log_loss"] == pytest.approx(log_loss(event, risk), abs=1e-9)
    assert metrics["ks"] == pytest.approx(np.max(tpr - fpr), abs=1e-12)


def test_bootstrap_intervals_are_seeded_and_bracket_the_value(scored):
    event, risk = scored
    first = bootstrap_metrics(event, risk, resamples=100, seed=1)
    assert first == bootstrap_metrics(event, risk, resamples=100, seed=1)
    for values in first.values():
        assert values["ci_low"] <= values["value"] <= values["ci_high"]
        assert values["ci_high"] - values["ci_low"] < 0.1


def test_gains_start_with_the_riskiest_decile(scored):
    event, risk = scored
    gains = gains_table(event, risk)
    assert gains["decile"].tolist() == list(range(1, 11))
    assert gains["mean_risk_score"].is_monotonic_decreasing
    assert gains["cumulative_gain"].iloc[-1] == pytest.approx(1.0)
    assert gains["lift"].iloc[0] > 1.5


def test_reliability_curve_has_equal_count_bins(scored):
    event, risk = scored
    curve = reliability_points(event, risk)
    assert curve["accounts"].tolist() == [300] * 10
    assert np.abs(curve["mean_predicted_risk"] - curve["observed_not_paid_rate"]).max() < 0.1


def _reference_bootstrap(event, risk, resamples, seed, confidence):
    """The plain definition: resample accounts with replacement, score each resample with scikit-learn."""
    n = len(risk)
    rng = np.random.default_rng(seed)
    draws = {name: [] for name in ("roc_auc", "pr_auc", "brier", "log_loss", "ks")}
    for _ in range(resamples):
        rows = rng.integers(0, n, size=n)
        y, p = event[rows], risk[rows]
        fpr, tpr, _ = roc_curve(y, p)
        draws["roc_auc"].append(roc_auc_score(y, p))
        draws["pr_auc"].append(average_precision_score(y, p))
        draws["brier"].append(brier_score_loss(y, p))
        draws["log_loss"].append(log_loss(y, p, labels=[0, 1]))
        draws["ks"].append(np.max(tpr - fpr))
    tail = (1 - confidence) / 2 * 100
    return {name: tuple(np.percentile(values, [tail, 100 - tail])) for name, values in draws.items()}


@pytest.mark.parametrize("ties", [False, True])
def test_bootstrap_equals_resampling_accounts_and_scoring_each_resample(ties):
    rng = np.random.default_rng(8)
    risk = rng.random(400)
    risk = np.round(risk, 1) if ties else risk  # ties: several accounts share each threshold
    event = (rng.random(400) < risk).astype(int)
    fast = bootstrap_metrics(event, risk, resamples=60, seed=5, confidence=0.9)
    reference = _reference_bootstrap(event, risk, resamples=60, seed=5, confidence=0.9)
    for name, (low, high) in reference.items():
        assert fast[name]["ci_low"] == pytest.approx(low, abs=1e-12), name
        assert fast[name]["ci_high"] == pytest.approx(high, abs=1e-12), name


def test_bootstrap_intervals_repeat_with_the_seed_and_change_with_another(scored):
    event, risk = scored
    first = bootstrap_metrics(event, risk, resamples=30, seed=3)
    assert first == bootstrap_metrics(event, risk, resamples=30, seed=3)
    assert first != bootstrap_metrics(event, risk, resamples=30, seed=4)
