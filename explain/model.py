"""The risk model: gradient-boosted trees, out-of-fold scores, optional calibration, final refit.

The trees model the event "NOT paid" (class 1), so their raw output is the log-odds of NOT paying
and SHAP values on it need no sign flip. Reported per-account scores are out-of-fold: each account
is scored by a model that never saw it. The final model, refit on all rows, serves SHAP and new data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from explain.features import FeatureEncoder
from explain.cores import fit_threads
from explain.settings import RiskSettings

Progress = Callable[[str, float], None]


def new_classifier(settings: RiskSettings) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=settings.max_iter, learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes, min_samples_leaf=settings.min_samples_leaf,
        l2_regularization=settings.l2_regularization, early_stopping=True, validation_fraction=0.1,
        n_iter_no_change=20, random_state=settings.seed,
    )


@dataclass
class Calibrator:
    """Maps raw log-odds of NOT paying to a calibrated probability (isotonic or sigmoid)."""

    method: str
    model: Any = None

    def fit(self, log_odds: np.ndarray, event: np.ndarray) -> "Calibrator":
        if self.method == "isotonic":
            self.model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            self.model.fit(log_odds, event)
        else:
            self.model = LogisticRegression(C=1e6).fit(log_odds.reshape(-1, 1), event)
        return self

    def predict(self, log_odds: np.ndarray) -> np.ndarray:
        if self.method == "isotonic":
            return np.asarray(self.model.predict(log_odds), dtype=float)
        return self.model.predict_proba(np.asarray(log_odds).reshape(-1, 1))[:, 1]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def brier(event: np.ndarray, risk: np.ndarray) -> float:
    return float(np.mean((np.asarray(risk) - event) ** 2))


@dataclass
class CalibrationDecision:
    """Whether the scores are calibrated, how, and the out-of-fold Brier scores behind the choice."""

    calibrated: bool
    method: str | None
    brier_uncalibrated: float
    brier_by_method: dict[str, float] = field(default_factory=dict)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"calibrated": self.calibrated, "method": self.method,
                "brier_uncalibrated": self.brier_uncalibrated,
                "brier_by_method": self.brier_by_method, "reason": self.reason}


@dataclass
class RiskModel:
    """Encoder + refit trees + optional calibrator: scores new portfolios the same way.

    ``log_odds(frame)`` is the raw tree output (what SHAP explains); ``risk_score(frame)`` is the
    probability of NOT paying, calibrated when the run decided to calibrate.
    """

    encoder: FeatureEncoder
    classifier: HistGradientBoostingClassifier
    calibrator: Calibrator | None = None

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.encoder.transform(frame)

    def log_odds(self, frame: pd.DataFrame) -> np.ndarray:
        return self.classifier.decision_function(self.matrix(frame))

    def risk_score(self, frame: pd.DataFrame) -> np.ndarray:
        raw = self.log_odds(frame)
        return self.calibrator.predict(raw) if self.calibrator else sigmoid(raw)


@dataclass
class FitOutcome:
    model: RiskModel
    oof_log_odds: np.ndarray
    oof_uncalibrated: np.ndarray
    oof_risk: np.ndarray
    calibration: CalibrationDecision
    folds: np.ndarray
    iterations: list[int]
    matrix: pd.DataFrame  # the encoded features of every account (what the fairness proxy check reads)
    fit_rows: int = 0  # accounts the folds and the refit learnt from (all, or the sample above fit_max_rows)


def fit_cross_validated(frame: pd.DataFrame, event: np.ndarray, encoder: FeatureEncoder,
                        settings: RiskSettings, progress: Progress | None = None) -> FitOutcome:
    """Stratified k-fold out-of-fold log-odds, the calibration decision, and the refit.

    The encoder's level lists are learnt from the whole portfolio's feature columns (no outcome is
    involved), so the codes are the same in every fold and in the final model.

    Above ``settings.fit_max_rows`` accounts the folds and the refit learn from a seeded sample of that
    many, stratified by outcome, and every other account is scored by the refit model, which never saw
    it: every reported score is still out of sample, and the metrics are computed on all accounts.
    """
    X = encoder.transform(frame)
    n_folds = settings.folds_for(len(X))
    fit_rows = _fit_sample(event, settings)
    X_fit, event_fit = (X, event) if fit_rows is None else (X.iloc[fit_rows], event[fit_rows])
    splitter = StratifiedKFold(n_folds, shuffle=True, random_state=settings.seed)
    oof_fit = np.empty(len(X_fit))
    folds_fit = np.empty(len(X_fit), dtype=np.int16)
    iterations = []
    for k, (train, test) in enumerate(splitter.split(X_fit, event_fit)):
        with fit_threads():  # two threads once the run's discovery is over (explain/cores.py)
            clf = new_classifier(settings).fit(X_fit.iloc[train], event_fit[train])
        _check_classes(clf)
        oof_fit[test] = clf.decision_function(X_fit.iloc[test])
        folds_fit[test] = k
        iterations.append(int(clf.n_iter_))
        if progress:
            progress("risk model", (k + 1) / (n_folds + 1))
    with fit_threads():
        final = new_classifier(settings).fit(X_fit, event_fit)
    _check_classes(final)
    if fit_rows is None:
        oof, folds = oof_fit, folds_fit
    else:  # accounts outside the sample: scored by the refit model, which did not learn from them
        oof = final.decision_function(X)
        oof[fit_rows] = oof_fit
        folds = np.random.default_rng(settings.seed).integers(0, n_folds, len(X)).astype(np.int16)
        folds[fit_rows] = folds_fit
    decision, oof_risk, calibrator = decide_calibration(oof, event, folds, settings)
    if progress:
        progress("risk model", 1.0)
    model = RiskModel(encoder, final, calibrator)
    return FitOutcome(model, oof, sigmoid(oof), oof_risk, decision, folds, iterations, X,
                      len(X_fit))


def _fit_sample(event: np.ndarray, settings: RiskSettings) -> np.ndarray | None:
    """Sorted row positions of the seeded, outcome-stratified sample the model learns from; ``None``
    when the portfolio is not larger than ``settings.fit_max_rows`` (then it learns from all)."""
    cap = settings.fit_max_rows
    if cap is None or len(event) <= cap:
        return None
    rng = np.random.default_rng(settings.seed)
    chosen = []
    for value in (0, 1):
        rows = np.flatnonzero(event == value)
        take = int(round(cap * len(rows) / len(event)))
        chosen.append(rng.choice(rows, size=min(take, len(rows)), replace=False))
    return np.sort(np.concatenate(chosen))


def _check_classes(clf: HistGradientBoostingClassifier) -> None:
    # decision_function is the log-odds of classes_[1]; it must be the event "NOT paid" (1).
    assert list(clf.classes_) == [0, 1], f"unexpected classes {clf.classes_}"


def decide_calibration(oof: np.ndarray, event: np.ndarray, folds: np.ndarray, settings: RiskSettings):
    """Calibrate only when cross-fitted calibration lowers the out-of-fold Brier score.

    Each candidate calibrator is fitted on the other folds' out-of-fold scores and applied to the
    held-out fold, so its Brier score is an honest out-of-sample figure, comparable to the raw one.
    """
    raw = sigmoid(oof)
    base = brier(event, raw)
    methods = {"auto": ["isotonic", "sigmoid"], "none": []}.get(settings.calibration, [settings.calibration])
    scores, fitted = {}, {}
    for method in methods:
        crossfit = np.empty(len(oof))
        for k in np.unique(folds):
            held = folds == k
            crossfit[held] = Calibrator(method).fit(oof[~held], event[~held]).predict(oof[held])
        scores[method] = brier(event, crossfit)
        fitted[method] = crossfit
    if not methods:
        return (CalibrationDecision(False, None, base, {}, "calibration switched off in the settings"),
                raw, None)
    best = min(scores, key=scores.get)
    if scores[best] < base - settings.calibration_min_gain:
        reason = (f"{best} calibration lowered the out-of-fold Brier score from {base:.4f} to "
                  f"{scores[best]:.4f}")
        calibrator = Calibrator(best).fit(oof, event)
        return CalibrationDecision(True, best, base, scores, reason), fitted[best], calibrator
    reason = (f"not calibrated: no method lowered the out-of-fold Brier score {base:.4f} by at least "
              f"{settings.calibration_min_gain} (best: {best}, {scores[best]:.4f})")
    return CalibrationDecision(False, None, base, scores, reason), raw, None
