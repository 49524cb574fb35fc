"""SHAP values of the refit risk model, on the log-odds of NOT paying, and the views built on them.

TreeExplainer explains the raw output of the trees (``decision_function``), which is the log-odds of
class 1 = "NOT paid", so a positive value raises the risk score. For every explained account
base value + sum of SHAP values equals that log-odds; :func:`compute_shap` checks it to 1e-6.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explain.model import RiskModel, sigmoid
from explain.reasons import feature_label, format_values

ADDITIVITY_TOLERANCE = 1e-6


class AdditivityError(RuntimeError):
    """Base value + SHAP values did not add up to the model's log-odds: the explanation is wrong."""


@dataclass
class ShapTable:
    """SHAP values (log-odds of NOT paying) and the feature values they explain, per account.

    ``values`` and ``feature_values`` are indexed by account_id with one column per feature;
    categorical feature values are their level names.
    """

    values: pd.DataFrame
    feature_values: pd.DataFrame
    base_value: float
    n_accounts: int
    sampled: bool
    seed: int
    seconds: float
    max_additivity_error: float

    @property
    def features(self) -> list[str]:
        return list(self.values.columns)

    @property
    def log_odds(self) -> pd.Series:
        return self.base_value + self.values.sum(axis=1)

    # ------------------------------------------------------------------ global views
    def global_importance(self, language: str = "en") -> pd.DataFrame:
        """Mean |SHAP| per feature (log-odds), largest first."""
        mean_abs = self.values.abs().mean()
        table = pd.DataFrame({"feature": mean_abs.index, "mean_abs_shap": mean_abs.to_numpy()})
        table["label"] = [feature_label(f, language) for f in table["feature"]]
        return table.sort_values("mean_abs_shap", ascending=False, ignore_index=True)

    def beeswarm(self, max_points: int = 1000, seed: int = 42, language: str = "en",
                 currency: str | None = None) -> pd.DataFrame:
        """Long table for a beeswarm plot: a seeded sample of accounts, one row per feature.

        ``value_percentile`` (0..1) colours the points: the feature value's rank among the explained
        accounts (categorical features use their level's mean rank order by level code).
        """
        n = len(self.values)
        rows = np.sort(np.random.default_rng(seed).choice(n, size=min(max_points, n), replace=False))
        parts = []
        for feature in self.features:
            raw = self.feature_values[feature]
            rank = _percentile(raw)
            parts.append(pd.DataFrame({
                "account_id": self.values.index[rows],
                "feature": feature, "label": feature_label(feature, language),
                "shap": self.values[feature].to_numpy()[rows],
                "feature_value": format_values(feature, raw.iloc[rows], language, currency),
                "value_percentile": rank[rows],
            }))
        table = pd.concat(parts, ignore_index=True)
        order = self.global_importance(language)["feature"].tolist()
        table["importance_rank"] = table["feature"].map({f: i for i, f in enumerate(order)})
        return table

    def dependence(self, feature: str, language: str = "en", currency: str | None = None) -> pd.DataFrame:
        """SHAP value of one feature against its value, one row per explained account."""
        raw = self.feature_values[feature]
        return pd.DataFrame({"account_id": self.values.index, "value": raw.to_numpy(),
                             "shown_value": format_values(feature, raw, language, currency),
                             "shap": self.values[feature].to_numpy()})

    # ------------------------------------------------------------------ one account
    def waterfall(self, account_id: str, language: str = "en", currency: str | None = None) -> dict:
        """Base value, each feature's contribution (log-odds) largest first, the total and probability.

        ``probability`` is the refit model's uncalibrated probability of NOT paying; the reported
        risk score is out-of-fold (and calibrated when the run calibrated), so it can differ a little.
        """
        if account_id not in self.values.index:
            raise KeyError(account_id)
        contributions = self.values.loc[account_id]
        shown = {f: format_values(f, self.feature_values.loc[[account_id], f], language, currency)[0]
                 for f in self.features}
        table = pd.DataFrame({"feature": contributions.index, "contribution": contributions.to_numpy()})
        table["label"] = [feature_label(f, language) for f in table["feature"]]
        table["value"] = [shown[f] for f in table["feature"]]
        table = table.reindex(table["contribution"].abs().sort_values(ascending=False).index)
        table = table.reset_index(drop=True)
        table["end"] = self.base_value + table["contribution"].cumsum()
        table["start"] = table["end"] - table["contribution"]
        log_odds = float(self.base_value + contributions.sum())
        return {"account_id": account_id, "base_value": self.base_value, "log_odds": log_odds,
                "probability": float(sigmoid(log_odds)), "base_probability": float(sigmoid(self.base_value)),
                "contributions": table}

    # ------------------------------------------------------------------ personas
    def persona_explanation(self, persona_ids: pd.Series, language: str = "en") -> pd.DataFrame:
        """Per persona and feature: mean SHAP in the persona minus the portfolio mean (log-odds).

        Positive ``difference``: this feature pushes the persona's risk of NOT paying above average.
        ``persona_ids`` is indexed by account_id; accounts without SHAP values are left out.
        """
        ids = persona_ids.reindex(self.values.index)
        known = ids.notna().to_numpy()
        values = self.values[known]
        portfolio_mean = values.mean()
        means = values.groupby(ids[known].to_numpy()).mean()
        sizes = ids[known].value_counts()
        table = means.stack().rename("persona_mean_shap").reset_index()
        table.columns = ["persona_id", "feature", "persona_mean_shap"]
        table["portfolio_mean_shap"] = table["feature"].map(portfolio_mean)
        table["difference"] = table["persona_mean_shap"] - table["portfolio_mean_shap"]
        table["direction"] = np.where(table["difference"] > 0, "raises risk", "lowers risk")
        table["label"] = [feature_label(f, language) for f in table["feature"]]
        table["accounts"] = table["persona_id"].map(sizes).astype(int)
        table["persona_id"] = table["persona_id"].astype(int)
        table["abs_difference"] = table["difference"].abs()
        return table.sort_values(["persona_id", "abs_difference"], ascending=[True, False],
                                 ignore_index=True).drop(columns="abs_difference")

    # ------------------------------------------------------------------ storage
    def to_frame(self) -> pd.DataFrame:
        """shap_values.parquet: account_id, one column per feature, base_value and log_odds."""
        table = self.values.reset_index(names="account_id")
        table["base_value"] = self.base_value
        table["log_odds"] = self.log_odds.to_numpy()
        return table

    def meta(self) -> dict:
        return {"scale": "log-odds of NOT paying", "accounts_explained": len(self.values),
                "accounts_total": self.n_accounts, "sampled": self.sampled, "sample_seed": self.seed,
                "base_value": self.base_value, "seconds": round(self.seconds, 3),
                "max_additivity_error": self.max_additivity_error}

    @classmethod
    def from_frames(cls, shap_frame: pd.DataFrame, feature_values: pd.DataFrame, meta: dict) -> "ShapTable":
        values = shap_frame.set_index("account_id").drop(columns=["base_value", "log_odds"])
        features = feature_values.set_index("account_id").reindex(values.index)
        return cls(values, features, float(meta["base_value"]), int(meta["accounts_total"]),
                   bool(meta["sampled"]), int(meta["sample_seed"]), float(meta["seconds"]),
                   float(meta["max_additivity_error"]))


def _percentile(raw: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(raw):
        return raw.rank(pct=True).to_numpy(dtype=float, na_value=np.nan)
    codes = pd.Categorical(raw.astype(object)).codes.astype(float)
    codes[codes < 0] = np.nan
    return pd.Series(codes).rank(pct=True).to_numpy(dtype=float, na_value=np.nan)


def explained_rows(n: int, cap: int, seed: int) -> tuple[np.ndarray, bool]:
    """All row positions up to ``cap``, else a seeded sample of ``cap`` positions (sorted)."""
    if n <= cap:
        return np.arange(n), False
    return np.sort(np.random.default_rng(seed).choice(n, size=cap, replace=False)), True


def compute_shap(model: RiskModel, frame: pd.DataFrame, account_ids: pd.Series, *, cap: int,
                 seed: int) -> ShapTable:
    """Exact TreeSHAP values for every account (or a seeded sample of ``cap``), additivity checked."""
    import shap  # heavy import, only when explaining

    rows, sampled = explained_rows(len(frame), cap, seed)
    subset = frame.iloc[rows]
    X = model.matrix(subset)
    started = time.perf_counter()
    explainer = shap.TreeExplainer(model.classifier)
    values = np.asarray(explainer.shap_values(X), dtype=float)
    if values.ndim == 3:  # some shap versions return one slice per class
        values = values[..., 1]
    base = float(np.ravel(explainer.expected_value)[-1])
    seconds = time.perf_counter() - started
    error = check_additivity(values, base, model.classifier.decision_function(X))
    index = pd.Index(account_ids.iloc[rows].astype(str).to_numpy(), name="account_id")
    shap_frame = pd.DataFrame(values, index=index, columns=model.encoder.features)
    feature_values = display_values(model, subset).set_axis(index)
    return ShapTable(shap_frame, feature_values, base, len(frame), sampled, seed, seconds, error)


def check_additivity(values: np.ndarray, base: float, log_odds: np.ndarray) -> float:
    """Largest |base + sum(SHAP) - log-odds|; raises :class:`AdditivityError` above 1e-6."""
    error = float(np.max(np.abs(base + values.sum(axis=1) - log_odds))) if len(values) else 0.0
    if not error <= ADDITIVITY_TOLERANCE:
        raise AdditivityError(f"SHAP values do not add up to the model's log-odds (max error {error:.2e} "
                              f"> {ADDITIVITY_TOLERANCE:.0e}); the explanation cannot be trusted.")
    return error


def display_values(model: RiskModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Feature values as the model saw them: numbers as floats, categoricals as level names."""
    encoded = model.matrix(frame)
    out = {}
    for feature in model.encoder.features:
        if feature in model.encoder.categories_:
            out[feature] = pd.Series(model.encoder.decode(feature, encoded[feature].to_numpy()),
                                     index=frame.index, dtype=object)
        else:
            out[feature] = encoded[feature]
    return pd.DataFrame(out, index=frame.index)
