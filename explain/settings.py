"""Settings of the risk model, its explanations and the fairness audit, with defaults in one place."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

LANGUAGES = ("en", "de")
TARGET_EVENTS = ("paid", "default")
CALIBRATION_CHOICES = ("auto", "isotonic", "sigmoid", "none")


@dataclass(frozen=True)
class RiskSettings:
    """How the risk model is trained, explained and audited.

    The risk score is always the probability that an account is NOT paid within the outcome window
    (0..1, higher = riskier).

    Parameters
    ----------
    cv_folds : int | None
        Stratified cross-validation folds; every reported per-account score is out-of-fold. None
        (the default) chooses by size, see :meth:`folds_for`; a number always wins.
    three_folds_from_rows : int
        Automatic folds: 5 below this many rows, 3 from it upward. At 50,000 rows every training fold
        still has more than 33,000 accounts; measured at 100,000 rows, 3 folds gave the same
        out-of-fold ROC AUC as 5 (0.8867 both) in 3.6 s instead of 5.8 s.
    two_folds_from_rows : int
        Automatic folds: 2 from this many rows upward (each training fold still holds half of at least
        100,000 accounts; every score stays out-of-fold). Measured on the generated 100,000-account
        portfolio: out-of-fold ROC AUC 0.8821 with 2 folds against 0.8823 with 3, Brier 0.1376 against
        0.1375, in about 60 % of the risk model's CPU time.
    seed : int
        Seed for the folds, the model, the bootstrap and every sample.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization :
        Gradient-boosting settings (scikit-learn ``HistGradientBoostingClassifier``). learning_rate 0.1
        with at most 200 trees: measured at 100,000 rows it matched 0.06 with 300 trees (out-of-fold
        ROC AUC 0.8867 vs 0.8869, Brier 0.1348 vs 0.1346) in half the fitting time, and SHAP costs
        time in proportion to the number of trees.
    fit_max_rows : int or None
        The cross-validation folds and the refit learn from at most this many accounts (a seeded sample
        stratified by outcome); every other account is scored by the refit model, which never saw it, so
        every reported score stays out of sample and the metrics use all accounts. Fitting is most of the
        risk model's time at a million accounts (four fits of 200 trees on 667,000-1,000,000 rows); with
        300,000 the folds still train on 200,000 accounts each. None: always all accounts.
    max_categories : int
        Levels kept per categorical feature; rarer levels are pooled as "(other)".
    calibration : str
        "auto" calibrates (isotonic or sigmoid, cross-fitted on the out-of-fold scores) only when that
        lowers the out-of-fold Brier score; "isotonic"/"sigmoid" try only that method; "none" never.
    calibration_min_gain : float
        Smallest drop in the Brier score that counts as an improvement (smaller gains are noise).
    threads : int | None
        OpenMP threads for the trees. None: one thread per 50,000 rows (at least one), because on a
        shared machine extra threads on small data make fitting many times slower, not faster.
    bootstrap_resamples : int
        Resamples for the percentile confidence intervals of every metric.
    confidence : float
        Coverage of the intervals (0.95 = 2.5th to 97.5th percentile).
    shap_max_rows : int
        Every account's SHAP values are computed (exact TreeSHAP, in chunks) and give its reasons, at
        every size. This many accounts (all of them up to this size, else a seeded sample) keep their
        full table of values: the global importance, beeswarm, dependence and persona charts and
        ``shap_values.parquet`` use it; a waterfall outside it is computed on request.
    beeswarm_points : int
        Points per feature in the beeswarm data (seeded sample of the explained accounts).
    language : str
        "en" or "de" for the plain-language reasons.
    currency : str or None
        ISO code of the portfolio's amounts (the run's currency, :mod:`portfolio.currency`); amounts
        in reasons are written with it, or without a currency when ``None`` (unknown or mixed).
    high_risk_share : float | None
        Fairness cut-off: the riskiest share of accounts is "flagged" (default top 30 %).
    high_risk_threshold : float | None
        Alternatively a risk-score threshold (0..1); used instead of the share when given.
    min_group_size : int
        Groups smaller than this are marked "small" and left out of the ratio and difference.
    adverse_impact_warning : float
        Adverse impact ratio below which a warning is raised (four-fifths rule: 0.8).
    parity_difference_warning : float
        Demographic parity difference (highest minus lowest flagged rate) above which a warning is raised.
    proxy_auc_threshold : float
        A feature that predicts a sensitive attribute with cross-validated AUC at or above this is
        flagged as a possible proxy.
    proxy_max_rows : int
        The proxy check fits on all accounts up to this many, else on a seeded sample of this many,
        stratified by group (the AUC's standard error at 10,000 accounts is about 0.007, far below
        the distance that matters around ``proxy_auc_threshold``; 20,000 took 0.8 s more at 100,000
        accounts for no change in a flag). The report states the sample size.
    age_bands : tuple
        Left edges of the age bands (years); the last band is open-ended.
    rights_and_vulnerability_as_features : bool
        Whether columns that record a debtor exercising a right (dispute, objection / opt-out to a
        channel, time-barred claim) or a vulnerability (over-indebtedness, insolvency) may be model
        features. Default False: they feed the guardrails (the account-level rules), not the score,
        so that disputing a claim or objecting to a channel never makes a debtor look riskier and
        vulnerability is protected, not scored. True lets the model use them; run.json and the model
        card then say so, column by column. Which column means what comes from the column model
        (:mod:`portfolio.meanings`), whatever the column is called.
    """

    cv_folds: int | None = None
    three_folds_from_rows: int = 50_000
    two_folds_from_rows: int = 100_000
    seed: int = 42
    max_iter: int = 200
    learning_rate: float = 0.1
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    max_categories: int = 50
    fit_max_rows: int | None = 300_000
    calibration: str = "auto"
    calibration_min_gain: float = 0.0005
    threads: int | None = None
    bootstrap_resamples: int = 200
    confidence: float = 0.95
    shap_max_rows: int = 20_000
    beeswarm_points: int = 1_000
    language: str = "en"
    currency: str | None = None
    high_risk_share: float | None = 0.30
    high_risk_threshold: float | None = None
    min_group_size: int = 30
    adverse_impact_warning: float = 0.8
    parity_difference_warning: float = 0.10
    proxy_auc_threshold: float = 0.65
    proxy_max_rows: int = 10_000
    age_bands: tuple[int, ...] = field(default=(18, 30, 45, 60))
    rights_and_vulnerability_as_features: bool = False

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, not {self.language!r}")
        if self.calibration not in CALIBRATION_CHOICES:
            raise ValueError(f"calibration must be one of {CALIBRATION_CHOICES}, not {self.calibration!r}")
        if self.cv_folds is not None and self.cv_folds < 2:
            raise ValueError("cv_folds must be at least 2 (or None: chosen by portfolio size)")
        if self.proxy_max_rows < 2:
            raise ValueError("proxy_max_rows must be at least 2")
        if self.high_risk_threshold is None and self.high_risk_share is None:
            raise ValueError("give high_risk_share or high_risk_threshold")

    def folds_for(self, n_rows: int) -> int:
        """Cross-validation folds for a portfolio of ``n_rows`` accounts.

        An explicit ``cv_folds`` wins; otherwise 5 folds below ``three_folds_from_rows``, 3 from there
        and 2 from ``two_folds_from_rows`` on (each training fold then still holds half of a large portfolio).
        """
        if self.cv_folds is not None:
            return int(self.cv_folds)
        if n_rows >= self.two_folds_from_rows:
            return 2
        return 3 if n_rows >= self.three_folds_from_rows else 5

    def resolved(self, n_rows: int) -> "RiskSettings":
        """These settings with the fold count fixed to what ``n_rows`` accounts get (what a run records)."""
        return replace(self, cv_folds=self.folds_for(n_rows))

    def thread_count(self, rows: int) -> int:
        if self.threads:
            return int(self.threads)
        import os

        return max(1, min(os.cpu_count() or 1, rows // 50_000))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["age_bands"] = list(self.age_bands)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RiskSettings":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "age_bands" in known:
            known["age_bands"] = tuple(known["age_bands"])
        return cls(**known)
