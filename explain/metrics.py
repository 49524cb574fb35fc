"""Performance of the risk score: metrics with bootstrap intervals, ROC/PR/reliability curves, gains.

Every function takes ``event`` (1 = NOT paid) and ``risk`` (probability of NOT paying). A bootstrap
resample is a vector of counts (account drawn k times = weight k); the accounts are
ranked once and each resample's metrics come from weighted counts in that order
(:mod:`explain.weighted_ranking`), O(n) per resample.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from explain.weighted_ranking import RankedOutcomes

METRIC_NAMES = ("roc_auc", "pr_auc", "brier", "log_loss", "ks")  # the order RankedOutcomes.metrics returns


def _ranked_rates(event: np.ndarray, risk: np.ndarray, weights: np.ndarray):
    """Weighted true/false positive counts at each distinct threshold, riskiest first.

    ``weights`` has shape (resamples, n). Returns tp, fp (resamples, thresholds) and totals.
    """
    order = np.argsort(-risk, kind="mergesort")
    sorted_risk = risk[order]
    w = weights[:, order]
    y = event[order].astype(float)
    tp = np.cumsum(w * y, axis=1)
    fp = np.cumsum(w * (1 - y), axis=1)
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_risk)), len(risk) - 1]
    return tp[:, last_of_tie], fp[:, last_of_tie], tp[:, -1:], fp[:, -1:]


def metric_matrix(event: np.ndarray, risk: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """All metrics for each row of ``weights`` (a weight of k = that account drawn k times)."""
    ranked = RankedOutcomes.rank(event, risk)
    scratch = ranked.scratch()
    values = np.array([ranked.metrics(row, scratch) for row in np.atleast_2d(weights)]).reshape(-1, 5)
    return {name: values[:, k] for k, name in enumerate(METRIC_NAMES)}


def point_metrics(event: np.ndarray, risk: np.ndarray) -> dict[str, float]:
    """The metrics on the data as it is (one weight per account)."""
    values = metric_matrix(event, risk, np.ones((1, len(risk))))
    return {name: float(v[0]) for name, v in values.items()}


def bootstrap_metrics(event: np.ndarray, risk: np.ndarray, *, resamples: int = 200, seed: int = 42,
                      confidence: float = 0.95) -> dict[str, dict[str, float]]:
    """Each metric as ``{value, ci_low, ci_high}``: percentile intervals over seeded resamples.

    Resample ``r`` draws ``n`` account positions uniformly with replacement
    (``numpy.random.default_rng(seed).integers``, one call per resample); an account drawn k times
    weighs k. Drawing positions is ~10x cheaper than a multinomial over ``n`` categories and gives
    the same distribution. Memory: one vector of counts plus about 15 floats per account (the
    ranking and its working arrays), ~130 MB at 1,000,000 rows.
    """
    n = len(risk)
    ranked = RankedOutcomes.rank(event, risk)
    scratch = ranked.scratch()
    rng = np.random.default_rng(seed)
    draws = [ranked.metrics(np.bincount(rng.integers(0, n, size=n), minlength=n), scratch)
             for _ in range(resamples)]
    point = ranked.metrics(np.ones(n), scratch)
    values = np.array(draws, dtype=float).reshape(-1, len(METRIC_NAMES))
    return {name: _interval(point[k], values[:, k], confidence) for k, name in enumerate(METRIC_NAMES)}


def _interval(value: float, draws: np.ndarray, confidence: float) -> dict[str, float]:
    tail = (1 - confidence) / 2 * 100
    draws = draws[np.isfinite(draws)]
    low, high = np.percentile(draws, [tail, 100 - tail]) if len(draws) else (np.nan, np.nan)
    return {"value": float(value), "ci_low": float(low), "ci_high": float(high)}


def roc_points(event: np.ndarray, risk: np.ndarray, max_points: int = 200) -> pd.DataFrame:
    """False and true positive rate at each threshold (thinned to about ``max_points``)."""
    tp, fp, pos, neg = _ranked_rates(np.asarray(event, float), np.asarray(risk, float), np.ones((1, len(risk))))
    table = pd.DataFrame({"false_positive_rate": np.r_[0, fp[0] / neg[0, 0]],
                          "true_positive_rate": np.r_[0, tp[0] / pos[0, 0]],
                          "threshold": np.r_[1.0, np.sort(np.unique(risk))[::-1]]})
    return _thin(table, max_points)


def pr_points(event: np.ndarray, risk: np.ndarray, max_points: int = 200) -> pd.DataFrame:
    """Precision and recall of "NOT paid" at each threshold (thinned to about ``max_points``)."""
    tp, fp, pos, _ = _ranked_rates(np.asarray(event, float), np.asarray(risk, float), np.ones((1, len(risk))))
    table = pd.DataFrame({"recall": tp[0] / pos[0, 0], "precision": tp[0] / (tp[0] + fp[0]),
                          "threshold": np.sort(np.unique(risk))[::-1]})
    return _thin(table, max_points)


def _thin(table: pd.DataFrame, max_points: int) -> pd.DataFrame:
    if len(table) <= max_points:
        return table.reset_index(drop=True)
    keep = np.unique(np.r_[np.linspace(0, len(table) - 1, max_points).round().astype(int)])
    return table.iloc[keep].reset_index(drop=True)


def reliability_points(event: np.ndarray, risk: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Reliability curve: mean predicted risk vs observed NOT-paid rate in equal-count bins."""
    frame = pd.DataFrame({"event": event, "risk": risk})
    frame["bin"] = pd.qcut(frame["risk"].rank(method="first"), bins, labels=False)
    table = frame.groupby("bin").agg(mean_predicted_risk=("risk", "mean"),
                                     observed_not_paid_rate=("event", "mean"),
                                     accounts=("event", "size")).reset_index(drop=True)
    return table


def gains_table(event: np.ndarray, risk: np.ndarray, groups: int = 10) -> pd.DataFrame:
    """Lift and cumulative gains by risk decile; decile 1 = the riskiest 10 % of accounts."""
    frame = pd.DataFrame({"event": event, "risk": risk})
    frame["decile"] = pd.qcut(frame["risk"].rank(method="first", ascending=False), groups,
                              labels=list(range(1, groups + 1))).astype(int)
    table = frame.groupby("decile").agg(accounts=("event", "size"), not_paid=("event", "sum"),
                                        mean_risk_score=("risk", "mean"),
                                        min_risk_score=("risk", "min")).reset_index()
    overall = frame["event"].mean()
    table["not_paid_rate"] = table["not_paid"] / table["accounts"]
    table["lift"] = table["not_paid_rate"] / overall if overall > 0 else np.nan
    table["cumulative_share_of_accounts"] = table["accounts"].cumsum() / len(frame)
    table["cumulative_gain"] = table["not_paid"].cumsum() / max(frame["event"].sum(), 1)
    table["cumulative_lift"] = table["cumulative_gain"] / table["cumulative_share_of_accounts"]
    return table
