"""Behavioural feature matrix for persona discovery: one object, fitted once, re-applied later.

Only columns with role ``feature`` plus ``balance`` and ``days_past_due`` are used (never the account
id, PII, sensitive attributes, outcomes, planted truth or excluded columns). Numeric columns get
median imputation (plus a missing-indicator), ``log1p`` when they are non-negative and heavy-tailed,
and robust scaling (median / IQR). Low-cardinality categoricals are one-hot encoded with rare levels
grouped as "other", and each one-hot group is weighted so that the whole column weighs like ONE
numeric feature (times ``categorical_weight``). With ``categorical_relevance`` on (the default) that
weight is further multiplied by the square root of the largest share of a numeric feature's variance
the categorical explains (correlation ratio, eta squared): a region planted independently of
behaviour gets almost no weight, a product that goes with very different balances keeps most of it.
Without this, a behaviour-free column splits every persona into one copy per level (measured: five
planted personas became 22 with a four-level region at full weight). Personas should differ in
behaviour, not merely in product or region.

The fitted state is plain JSON (``to_dict`` / ``from_dict``), so a saved model needs no pickle.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

REQUIRED_FEATURES = ("balance", "days_past_due")
OTHER_LEVEL = "other"
MISSING_LEVEL = "(missing)"


def feature_columns(frame: pd.DataFrame, roles: Any) -> list[str]:
    """The columns persona discovery may use: role ``feature`` plus balance and days past due."""
    listed = list(getattr(roles, "features", []) or [])
    columns = [c for c in REQUIRED_FEATURES if c in frame.columns]
    columns += [c for c in listed if c in frame.columns and c not in columns]
    return columns


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def _correlation_ratio(codes: np.ndarray, values: np.ndarray) -> float:
    """Share of the variance of ``values`` explained by the groups ``codes`` (eta squared, 0..1)."""
    total = float(np.var(values))
    if total <= 0:
        return 0.0
    counts = np.bincount(codes).astype(float)
    means = np.bincount(codes, weights=values) / np.maximum(counts, 1)
    between = float(np.sum(counts * (means - values.mean()) ** 2) / len(values))
    return min(max(between / total, 0.0), 1.0)


class FeatureBuilder:
    """Turn a portfolio's behavioural columns into a float32 matrix for UMAP and k-NN.

    Parameters
    ----------
    columns : list of str
        Columns to use (see :func:`feature_columns`).
    categorical_weight : float
        Weight of a whole categorical column relative to one numeric feature.
    max_levels : int
        Categoricals with more distinct values are left out (reason in ``excluded_``).
    rare_level_share : float
        Levels rarer than this share of rows are grouped into "other".
    skew_threshold : float
        Non-negative numeric columns with sample skewness above this are ``log1p``-transformed.
    categorical_relevance : bool
        Scale each categorical by sqrt(max eta squared) against the numeric features (see above).

    Attributes
    ----------
    specs_ : list of dict
        One fitted spec per used column (kind, imputation value, log, centre, scale, levels, weight).
    excluded_ : dict
        Column -> reason for columns that were offered but not used.
    feature_names_out_ : list of str
        Names of the output matrix columns.
    """

    def __init__(self, columns: list[str], *, categorical_weight: float = 1.0, max_levels: int = 20,
                 rare_level_share: float = 0.01, skew_threshold: float = 1.0,
                 categorical_relevance: bool = True) -> None:
        self.columns = list(columns)
        self.categorical_relevance = categorical_relevance
        self.categorical_weight = categorical_weight
        self.max_levels = max_levels
        self.rare_level_share = rare_level_share
        self.skew_threshold = skew_threshold

    # ------------------------------------------------------------------ fit
    def fit(self, frame: pd.DataFrame) -> "FeatureBuilder":
        self.specs_: list[dict[str, Any]] = []
        self.excluded_: dict[str, str] = {}
        for column in self.columns:
            if column not in frame.columns:
                self.excluded_[column] = "not in the portfolio"
                continue
            series = frame[column]
            if series.notna().sum() == 0:
                self.excluded_[column] = "all values are missing"
                continue
            if pd.api.types.is_datetime64_any_dtype(series):
                self.excluded_[column] = "dates are not used as persona features"
                continue
            spec = self._fit_categorical(column, series) if _is_categorical(series) \
                else self._fit_numeric(column, series)
            if spec is not None:
                self.specs_.append(spec)
        if self.categorical_relevance:
            self._weigh_by_relevance(frame)
        if not self.specs_:
            from core.errors import UserError

            raise UserError("No usable behavioural column: persona discovery needs at least balance "
                            "and days past due with values. Check the column roles.")
        self.feature_names_out_ = [name for spec in self.specs_ for name in self._output_names(spec)]
        return self

    def _fit_numeric(self, column: str, series: pd.Series) -> dict[str, Any] | None:
        values = pd.to_numeric(series, errors="coerce").astype("float64")
        observed = values.dropna()
        if observed.nunique() <= 1:
            self.excluded_[column] = "constant: the same value for every account"
            return None
        distinct = np.unique(observed.to_numpy())
        if len(distinct) == 2 and set(distinct) <= {0.0, 1.0}:
            # A 0/1 flag: left as 0/1 (one robust unit apart). Scaling a rare flag by its standard
            # deviation would put the few flagged accounts five or more units away from everyone.
            return {"column": column, "kind": "numeric", "fill": float(observed.median()), "log": False,
                    "centre": 0.0, "scale": 1.0, "missing_indicator": bool(values.isna().any()),
                    "discrete_step": 1.0, "binary": True}
        use_log = bool(observed.min() >= 0 and observed.skew() > self.skew_threshold)
        transformed = np.log1p(observed) if use_log else observed
        centre = float(transformed.median())
        q75, q25 = np.percentile(transformed, [75, 25])
        scale = float((q75 - q25) / 1.349)
        if not scale > 1e-9:  # many identical values (e.g. mostly zero counts): fall back to std
            scale = float(transformed.std()) or 1.0
        # Counts with few values (broken promises 0, 1, 2, ...) make UMAP with min_dist=0 cut each
        # persona into one clump per value; ``transform(jitter_seed=...)`` spreads them for UMAP only.
        discrete = bool(len(distinct) <= 30 and np.allclose(distinct, np.round(distinct)))
        step = float(np.min(np.diff(distinct))) if discrete else 0.0
        return {"column": column, "kind": "numeric", "fill": float(observed.median()), "log": use_log,
                "centre": centre, "scale": scale, "missing_indicator": bool(values.isna().any()),
                "discrete_step": step}

    def _fit_categorical(self, column: str, series: pd.Series) -> dict[str, Any] | None:
        text = series.astype("object").where(series.notna(), MISSING_LEVEL).astype(str)
        shares = text.value_counts(normalize=True)
        if len(shares) <= 1:
            self.excluded_[column] = "constant: the same value for every account"
            return None
        kept = [str(level) for level, share in shares.items() if share >= self.rare_level_share]
        other_share = float(shares[~shares.index.isin(kept)].sum())
        if len(kept) > self.max_levels or (len(shares) > self.max_levels and other_share > 0.5):
            self.excluded_[column] = (f"{len(shares)} distinct values: too many for a behavioural "
                                      f"category (at most {self.max_levels})")
            return None
        levels = sorted(kept)
        grouped = text.where(text.isin(levels), OTHER_LEVEL)
        if (~text.isin(levels)).any():
            levels.append(OTHER_LEVEL)
        p = grouped.value_counts(normalize=True).reindex(levels, fill_value=0.0).to_numpy()
        # Two accounts differ in a one-hot group with probability 1 - sum(p^2), adding 2 w^2 to the
        # squared distance; a robust-scaled numeric adds about 2 on average. Matching the two makes
        # the whole column weigh like one numeric feature, whatever its number of levels.
        gini = max(1.0 - float(np.sum(p ** 2)), 1e-6)
        weight = self.categorical_weight / math.sqrt(gini)
        return {"column": column, "kind": "categorical", "levels": levels, "weight": weight,
                "shares": {lvl: float(s) for lvl, s in zip(levels, p)}}

    def _weigh_by_relevance(self, frame: pd.DataFrame) -> None:
        numeric = [s for s in self.specs_ if s["kind"] == "numeric"]
        for spec in (s for s in self.specs_ if s["kind"] == "categorical"):
            codes = self._transform_categorical(spec, frame[spec["column"]]).argmax(axis=1)
            eta2 = [_correlation_ratio(codes, self._transform_numeric(num, frame[num["column"]])[:, 0])
                    for num in numeric]
            spec["relevance"] = float(max(eta2, default=1.0))
            spec["weight"] = spec["weight"] * math.sqrt(spec["relevance"])

    @staticmethod
    def _output_names(spec: dict[str, Any]) -> list[str]:
        if spec["kind"] == "numeric":
            names = [spec["column"]]
            if spec["missing_indicator"]:
                names.append(f"{spec['column']} (missing)")
            return names
        return [f"{spec['column']} = {level}" for level in spec["levels"]]

    # ------------------------------------------------------------------ transform
    def transform(self, frame: pd.DataFrame, jitter_seed: int | None = None) -> np.ndarray:
        """The feature matrix (float32, one row per account, columns ``feature_names_out_``).

        With ``jitter_seed``, discrete counts get uniform noise of +-half their step before the
        log and scaling (dequantisation): input for UMAP only, so that personas are not cut into
        one clump per count value. Assignment uses the matrix without jitter.
        """
        rng = np.random.default_rng(jitter_seed) if jitter_seed is not None else None
        blocks = []
        for spec in self.specs_:
            series = frame[spec["column"]] if spec["column"] in frame.columns \
                else pd.Series(np.nan, index=frame.index)
            if spec["kind"] == "numeric":
                jitter = None
                if rng is not None and spec.get("discrete_step"):
                    jitter = rng.uniform(-0.5, 0.5, len(series)) * spec["discrete_step"]
                blocks.append(self._transform_numeric(spec, series, jitter))
            else:
                blocks.append(self._transform_categorical(spec, series))
        return np.hstack(blocks).astype(np.float32, copy=False)

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self.fit(frame).transform(frame)

    @staticmethod
    def _transform_numeric(spec: dict[str, Any], series: pd.Series,
                           jitter: np.ndarray | None = None) -> np.ndarray:
        values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
        missing = np.isnan(values)
        values = np.where(missing, spec["fill"], values)
        if jitter is not None:
            values = values + jitter
        if spec["log"]:
            values = np.log1p(np.clip(values, 0.0, None))
        scaled = (values - spec["centre"]) / spec["scale"]
        # Extreme outliers would stretch UMAP's neighbourhoods; 10 robust units is far enough.
        scaled = np.clip(scaled, -10.0, 10.0)
        columns = [scaled]
        if spec["missing_indicator"]:
            columns.append(missing.astype("float64"))
        return np.column_stack(columns)

    @staticmethod
    def _transform_categorical(spec: dict[str, Any], series: pd.Series) -> np.ndarray:
        text = series.astype("object").where(series.notna(), MISSING_LEVEL).astype(str)
        levels = spec["levels"]
        if OTHER_LEVEL in levels:
            text = text.where(text.isin(levels), OTHER_LEVEL)
        codes = pd.Categorical(text, categories=levels).codes
        out = np.zeros((len(text), len(levels)), dtype="float64")
        rows = np.flatnonzero(codes >= 0)
        out[rows, codes[rows]] = spec["weight"]
        return out

    # ------------------------------------------------------------------ introspection and persistence
    @property
    def numeric_columns(self) -> list[str]:
        return [s["column"] for s in self.specs_ if s["kind"] == "numeric"]

    @property
    def categorical_columns(self) -> list[str]:
        return [s["column"] for s in self.specs_ if s["kind"] == "categorical"]

    @property
    def used_columns(self) -> list[str]:
        return [s["column"] for s in self.specs_]

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "categorical_weight": self.categorical_weight,
                "max_levels": self.max_levels, "rare_level_share": self.rare_level_share,
                "skew_threshold": self.skew_threshold, "categorical_relevance": self.categorical_relevance,
                "specs": self.specs_, "excluded": self.excluded_}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureBuilder":
        builder = cls(data["columns"], categorical_weight=data["categorical_weight"],
                      max_levels=data["max_levels"], rare_level_share=data["rare_level_share"],
                      skew_threshold=data["skew_threshold"],
                      categorical_relevance=data.get("categorical_relevance", True))
        builder.specs_ = data["specs"]
        builder.excluded_ = data["excluded"]
        builder.feature_names_out_ = [n for s in builder.specs_ for n in cls._output_names(s)]
        return builder
