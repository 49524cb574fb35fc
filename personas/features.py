"""Behavioural feature matrix for persona discovery: one object, fitted once, re-applied later.

Only columns with role ``feature`` plus ``balance`` and ``days_past_due`` are used (never the account
id, PII, sensitive attributes, outcomes, planted truth or excluded columns). Numeric columns get
``log1p`` when they are non-negative and heavy-tailed and robust scaling (median / IQR);
low-cardinality categoricals are one-hot encoded with rare levels grouped as "other".

With ``relevance`` on (the default) the builder learns from the numeric structure of the data which
parts of the input describe behaviour (:mod:`personas.structure`), because personas should differ in
behaviour, not merely in product, region or data quality:

* every numeric column is weighted by how well the *other* columns predict its group structure
  (leave-one-column-out correlation ratio): a column of pure noise gets almost no weight;
* a categorical is weighed per level, not per column: a level that goes with the behavioural groups
  (e.g. one sector carried by one persona) is kept as a 0/1 flag, levels that do not are left out of
  the distances (they are still reported in the profiles);
* a missing-value indicator is kept only when missingness goes with behaviour (a persona that is
  never reached has no contact rate); values missing at random get no indicator, and every missing
  value is imputed from the nearest group of accounts alike in their other columns rather than by
  the median, so that "value unknown" does not become a persona of its own; where the missing flag
  is kept (missingness is behaviour) the value is filled with the observed median instead
  (``missing_fill``), because the flag already says what matters and values borrowed from
  different look-alike groups cut the persona into pieces (recovery suite, missing by persona).
  Builders saved without ``missing_fill`` keep the look-alike imputation they were fitted with;
* a column that is (nearly) a step function of a finer one (a dunning level cut from days past due,
  :func:`personas.structure.coarse_copies`; written as text, "1. Mahnung", or as a J/N flag:
  :func:`personas.structure.categorical_copies`) is left out of the distances (``copy_of``, minimal
  weight): it says little the days do not, and its layers cut personas apart.

Measured on the recovery suite (``benchmarks.recovery``; numbers in the README): a behaviour-free
column at full weight split every persona (five planted personas became 22 with a four-level region);
the former per-column relevance weighting still kept a sector with one marking level at weight 0.61
and split the other personas by sector.

The fitted state is plain JSON (``to_dict`` / ``from_dict``), so a saved model needs no pickle.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from personas.structure import (NUMERIC_MIN_WEIGHT, STRUCTURE_ROWS, categorical_copies, coarse_copies,
                                 correlation_ratio, flag_weight, group_moments, impute, learn_structure)

REQUIRED_FEATURES = ("balance", "days_past_due")
OTHER_LEVEL = "other"
MISSING_LEVEL = "(missing)"
#: How a column whose missing flag is kept is filled: "median" (the observed median, one value), or
#: None for the nearest-group imputation every other column gets.
FLAGGED_FILL = "median"


def feature_columns(frame: pd.DataFrame, roles: Any) -> list[str]:
    """The columns persona discovery may use: role ``feature`` plus balance and days past due."""
    listed = list(getattr(roles, "features", []) or [])
    columns = [c for c in REQUIRED_FEATURES if c in frame.columns]
    columns += [c for c in listed if c in frame.columns and c not in columns]
    return columns


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


_correlation_ratio = correlation_ratio  # the name older code imports


def _level_codes(spec: dict[str, Any], onehot: np.ndarray) -> np.ndarray:
    """Each account's level of a categorical (-1 for none and for :data:`MISSING_LEVEL`: a value that
    is not there is no step of anything, and a J/N flag cut from days past due stays a copy of the
    days when some accounts have no flag)."""
    codes = np.where(onehot.any(axis=1), onehot.argmax(axis=1), -1)
    if MISSING_LEVEL in spec["levels"]:
        codes[codes == spec["levels"].index(MISSING_LEVEL)] = -1
    return codes


class FeatureBuilder:
    """Turn a portfolio's behavioural columns into a float32 matrix for UMAP and k-NN.

    Parameters
    ----------
    columns : list of str
        Columns to use (see :func:`feature_columns`).
    categorical_weight : float
        Weight of a categorical relative to one numeric feature: with ``relevance``, the value of a
        kept level's 0/1 flag; without, the weight of the whole one-hot group.
    max_levels : int
        Categoricals with more distinct values are left out (reason in ``excluded_``).
    rare_level_share : float
        Levels rarer than this share of rows are grouped into "other".
    skew_threshold : float
        Non-negative numeric columns with sample skewness above this are ``log1p``-transformed.
    categorical_relevance : bool
        Weigh categoricals by relevance at all (off: every one-hot group weighs like one numeric
        feature). Without ``relevance``: each column scaled by sqrt(max eta squared) against the
        numeric features (the former weighting, kept for comparison).
    relevance : bool
        Learn weights from the numeric structure (:mod:`personas.structure`): numeric columns by how
        well the other columns predict them, categoricals per level, missing indicators only where
        missingness goes with behaviour, imputation from the nearest group of similar accounts.

    Attributes
    ----------
    specs_ : list of dict
        One fitted spec per used column (kind, imputation value, log, centre, scale, levels, weight,
        relevance; ``level_values`` and ``missing_weight`` say what enters the matrix).
    excluded_ : dict
        Column -> reason for columns that were offered but not used.
    feature_names_out_ : list of str
        Names of the output matrix columns.
    imputer_ : dict or None
        Group centroids (scaled units) that fill missing numeric values; ``None``: the median.
    """

    def __init__(self, columns: list[str], *, categorical_weight: float = 1.0, max_levels: int = 20,
                 rare_level_share: float = 0.01, skew_threshold: float = 1.0,
                 categorical_relevance: bool = True, relevance: bool = True) -> None:
        self.columns = list(columns)
        self.categorical_relevance = categorical_relevance
        self.relevance = relevance
        self.categorical_weight = categorical_weight
        self.max_levels = max_levels
        self.rare_level_share = rare_level_share
        self.skew_threshold = skew_threshold

    # ------------------------------------------------------------------ fit
    def fit(self, frame: pd.DataFrame) -> "FeatureBuilder":
        self.specs_: list[dict[str, Any]] = []
        self.excluded_: dict[str, str] = {}
        self.imputer_: dict[str, Any] | None = None
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
        if not self.specs_:
            from core.errors import UserError

            raise UserError("No usable behavioural column: persona discovery needs at least balance "
                            "and days past due with values. Check the column roles.")
        if self.relevance:
            self._learn_relevance(frame)
        elif self.categorical_relevance:
            self._weigh_by_relevance(frame)
        self.feature_names_out_ = [name for spec in self.specs_ for name in self._output_names(spec)]
        return self

    def _fit_numeric(self, column: str, series: pd.Series) -> dict[str, Any] | None:
        values = pd.to_numeric(series, errors="coerce").astype("float64")
        observed = values.dropna()
        if observed.nunique() <= 1:
            self.excluded_[column] = "constant: the same value for every account"
            return None
        distinct = np.unique(observed.to_numpy())
        missing = bool(values.isna().any())
        if len(distinct) == 2 and set(distinct) <= {0.0, 1.0}:
            # A 0/1 flag: left as 0/1 (one robust unit apart). Scaling a rare flag by its standard
            # deviation would put the few flagged accounts five or more units away from everyone.
            return {"column": column, "kind": "numeric", "fill": float(observed.median()), "log": False,
                    "centre": 0.0, "scale": 1.0, "missing_indicator": missing,
                    "discrete_step": 1.0, "binary": True, "weight": 1.0, "missing_weight": float(missing)}
        use_log = bool(observed.min() >= 0 and observed.skew() > self.skew_threshold)
        transformed = np.log1p(observed) if use_log else observed
        centre = float(transformed.median())
        q75, q25 = np.percentile(transformed, [75, 25])
        scale = float((q75 - q25) / 1.349)
        if not scale > 1e-9:  # many identical values (e.g. mostly zero counts): fall back to std
            scale = float(transformed.std()) or 1.0
        # Whole-number columns (broken promises 0, 1, 2, ...; days; log-ins) make UMAP with min_dist=0
        # cut each persona into one clump per value, and their spikes look like gaps between personas;
        # ``transform(jitter_seed=...)`` spreads them for UMAP only. Any number of distinct values:
        # an over-dispersed count with 60 values still has its spikes at 0, 1, 2.
        discrete = bool(np.allclose(distinct, np.round(distinct)))
        step = float(np.min(np.diff(distinct))) if discrete else 0.0
        return {"column": column, "kind": "numeric", "fill": float(observed.median()), "log": use_log,
                "centre": centre, "scale": scale, "missing_indicator": missing,
                "discrete_step": step, "weight": 1.0, "missing_weight": float(missing)}

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
                "level_values": [weight] * len(levels),
                "shares": {lvl: float(s) for lvl, s in zip(levels, p)}}

    def _weigh_by_relevance(self, frame: pd.DataFrame) -> None:
        """The former per-column weighting (``relevance=False``): sqrt(max eta squared)."""
        numeric = [s for s in self.specs_ if s["kind"] == "numeric"]
        for spec in (s for s in self.specs_ if s["kind"] == "categorical"):
            codes = self._transform_categorical(spec, frame[spec["column"]]).argmax(axis=1)
            eta2 = [correlation_ratio(codes, self._transform_numeric(num, frame[num["column"]])[:, 0])
                    for num in numeric]
            spec["relevance"] = float(max(eta2, default=1.0))
            spec["weight"] = spec["weight"] * math.sqrt(spec["relevance"])
            spec["level_values"] = [spec["weight"]] * len(spec["levels"])

    def _learn_relevance(self, frame: pd.DataFrame) -> None:
        """Weights from the numeric structure (see :mod:`personas.structure`)."""
        if len(frame) > STRUCTURE_ROWS:  # a fixed sample: the same frame always gives the same weights
            frame = frame.iloc[np.sort(np.random.default_rng(0).choice(len(frame), STRUCTURE_ROWS, replace=False))]
        numeric = [s for s in self.specs_ if s["kind"] == "numeric"]
        categorical = [s for s in self.specs_ if s["kind"] == "categorical"]
        if not numeric:  # nothing to learn from: categoricals keep their one-hot weights
            return
        Z = np.column_stack([self._scaled_numeric(s, frame[s["column"]]) for s in numeric])
        onehots = {s["column"]: self._transform_categorical(s, frame[s["column"]]) > 0 for s in categorical}
        codes = {s["column"]: _level_codes(s, onehots[s["column"]]) for s in categorical}
        for column, i in categorical_copies(codes, Z).items():  # "1. Mahnung", "2. Mahnung" of the days
            spec = next(s for s in categorical if s["column"] == column)
            spec.update(copy_of=numeric[i]["column"], relevance=0.0, weight=1e-3,
                        level_values=[0.0] * len(spec["levels"]))
            categorical.remove(spec)
        indicators = {(s["column"], level): onehots[s["column"]][:, i]
                      for s in categorical for i, level in enumerate(s["levels"])}
        coarse = coarse_copies(Z)
        for j, i in coarse.items():  # a dunning level cut from days past due: in the profiles only
            numeric[j].update(copy_of=numeric[i]["column"], relevance=0.0, redundancy=1.0,
                              weight=NUMERIC_MIN_WEIGHT, missing_weight=0.0)
        kept = [j for j in range(len(numeric)) if j not in coarse]
        learned = learn_structure(Z[:, kept], indicators)
        for spec, eta2, miss, weight, copies in zip([numeric[j] for j in kept], learned["numeric"],
                                                    learned["missing"], learned["weights"], learned["redundancy"]):
            # a behaviour measured twice (gross and net balance) weighs like one measured once
            spec["relevance"], spec["redundancy"] = round(float(eta2), 4), round(float(copies), 3)
            spec["weight"] = round(float(weight) / math.sqrt(copies), 4)
            if miss is not None:
                spec["missing_relevance"] = round(float(miss), 4)
                spec["missing_weight"] = round(flag_weight(miss), 4)
                if spec["missing_weight"] > 0 and FLAGGED_FILL:
                    spec["missing_fill"] = FLAGGED_FILL
        for spec in categorical if self.categorical_relevance else []:
            eta2 = [learned["levels"][(spec["column"], level)] for level in spec["levels"]]
            values = [round(self.categorical_weight * flag_weight(e), 4) for e in eta2]
            spec["level_relevance"] = [round(float(e), 4) for e in eta2]
            spec["level_values"] = values
            spec["relevance"] = round(float(max(eta2)), 4)
            # what the profiles see for a present level (> 0 for every level, so shares stay countable)
            spec["weight"] = max(float(max(values)), 1e-3)
        if any(s["missing_indicator"] for s in numeric):
            centroids, spread = group_moments(Z, learned["labels"]) if coarse else \
                (learned["centroids"], learned["spread"])
            self.imputer_ = {"columns": [s["column"] for s in numeric],
                             "centroids": np.round(centroids, 6).tolist(),
                             "spread": np.round(spread, 6).tolist()}

    @staticmethod
    def _output_names(spec: dict[str, Any]) -> list[str]:
        if spec["kind"] == "numeric":
            names = [spec["column"]]
            if spec["missing_indicator"] and spec.get("missing_weight", 1.0) > 0:
                names.append(f"{spec['column']} (missing)")
            return names
        values = spec.get("level_values") or [spec["weight"]] * len(spec["levels"])
        return [f"{spec['column']} = {level}" for level, value in zip(spec["levels"], values) if value > 0]

    # ------------------------------------------------------------------ transform
    def transform(self, frame: pd.DataFrame, jitter_seed: int | None = None) -> np.ndarray:
        """The feature matrix (float32, one row per account, columns ``feature_names_out_``).

        With ``jitter_seed``, discrete counts get uniform noise of +-half their step before the
        log and scaling (dequantisation): input for UMAP only, so that personas are not cut into
        one clump per count value. Assignment uses the matrix without jitter.
        """
        rng = np.random.default_rng(jitter_seed) if jitter_seed is not None else None
        numeric = [s for s in self.specs_ if s["kind"] == "numeric"]
        columns = {s["column"]: self._column(frame, s["column"]) for s in self.specs_}
        plain = np.column_stack([self._scaled_numeric(s, columns[s["column"]]) for s in numeric]) \
            if numeric else np.zeros((len(frame), 0))
        scaled = plain
        if rng is not None:
            jittered = []
            for j, spec in enumerate(numeric):
                jitter = None
                if spec.get("discrete_step"):
                    jitter = rng.uniform(-0.5, 0.5, len(frame)) * spec["discrete_step"]
                jittered.append(self._scaled_numeric(spec, columns[spec["column"]], jitter)
                                if jitter is not None else plain[:, j])
            scaled = np.column_stack(jittered) if jittered else plain
        filled = self._fill_missing(numeric, scaled, plain, rng)
        blocks, position = [], {s["column"]: j for j, s in enumerate(numeric)}
        for spec in self.specs_:
            if spec["kind"] == "numeric":
                j = position[spec["column"]]
                blocks.append(filled[:, j:j + 1] * spec.get("weight", 1.0))
                if spec["missing_indicator"] and spec.get("missing_weight", 1.0) > 0:
                    blocks.append(np.isnan(plain[:, j:j + 1]) * spec.get("missing_weight", 1.0))
            else:
                onehot = self._transform_categorical(spec, columns[spec["column"]]) > 0
                values = np.asarray(spec.get("level_values") or [spec["weight"]] * len(spec["levels"]))
                blocks.append(onehot[:, values > 0] * values[values > 0])
        return _stack_float32(blocks)

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self.fit(frame).transform(frame)

    @staticmethod
    def _column(frame: pd.DataFrame, column: str) -> pd.Series:
        return frame[column] if column in frame.columns else pd.Series(np.nan, index=frame.index)

    def _fill_missing(self, numeric: list[dict[str, Any]], scaled: np.ndarray, plain: np.ndarray,
                      rng: np.random.Generator | None = None) -> np.ndarray:
        """Missing values: from the nearest group's centroid (``imputer_``) or the column median.

        With ``rng`` (the jittered matrix for UMAP) imputed values get their group's spread, so that
        accounts with an unknown value do not sit on one exact point and clump into a persona.
        """
        if not np.isnan(scaled).any():
            return scaled
        filled = self._impute(numeric, scaled, plain, rng)
        for j, spec in enumerate(numeric):
            if spec.get("missing_fill") == "median":
                gone = np.isnan(plain[:, j])
                filled[gone, j] = self._scaled_value(spec, spec["fill"])
        return filled

    def _impute(self, numeric: list[dict[str, Any]], scaled: np.ndarray, plain: np.ndarray,
                rng: np.random.Generator | None = None) -> np.ndarray:
        if self.imputer_ is not None and self.imputer_["columns"] == [s["column"] for s in numeric]:
            weights = np.array([s.get("weight", 1.0) for s in numeric])
            spread = self.imputer_.get("spread")
            return impute(scaled, np.asarray(self.imputer_["centroids"], dtype=np.float64), weights,
                          choose_on=plain, rng=rng,
                          spread=None if spread is None else np.asarray(spread, dtype=np.float64))
        medians = np.array([self._scaled_value(s, s["fill"]) for s in numeric])
        return np.where(np.isnan(scaled), medians[None, :], scaled)

    @staticmethod
    def _scaled_value(spec: dict[str, Any], value: float) -> float:
        value = math.log1p(max(value, 0.0)) if spec["log"] else value
        return float(np.clip((value - spec["centre"]) / spec["scale"], -10.0, 10.0))

    @staticmethod
    def _scaled_numeric(spec: dict[str, Any], series: pd.Series, jitter: np.ndarray | None = None) -> np.ndarray:
        """Log (when fitted so) and robust scaling; NaN where the value is missing."""
        values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
        if jitter is not None and spec["log"] and spec.get("discrete_step"):
            # Spread each count uniformly over its interval AFTER the log: jittering before the log
            # makes the density rise within every interval (a saw-tooth whose dips looked like gaps
            # between personas, e.g. portal log-ins 0, 1, 2 ...); zero stays above zero.
            half = spec["discrete_step"] / 2
            low = np.log1p(np.clip(values - half, 0.0, None))
            high = np.log1p(np.clip(values + half, 0.0, None))
            values = low + (jitter / spec["discrete_step"] + 0.5) * (high - low)
        elif spec["log"]:
            values = np.log1p(np.clip(values if jitter is None else values + jitter, 0.0, None))
        elif jitter is not None:
            values = values + jitter
        # Extreme outliers would stretch UMAP's neighbourhoods; 10 robust units is far enough.
        return np.clip((values - spec["centre"]) / spec["scale"], -10.0, 10.0)

    @staticmethod
    def _transform_numeric(spec: dict[str, Any], series: pd.Series,
                           jitter: np.ndarray | None = None) -> np.ndarray:
        """Median-filled scaled values and the 0/1 missing indicator (unweighted)."""
        values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
        missing = np.isnan(values)
        values = np.where(missing, spec["fill"], values)
        if jitter is not None:
            values = values + jitter
        if spec["log"]:
            values = np.log1p(np.clip(values, 0.0, None))
        scaled = np.clip((values - spec["centre"]) / spec["scale"], -10.0, 10.0)
        columns = [scaled]
        if spec["missing_indicator"]:
            columns.append(missing.astype("float64"))
        return np.column_stack(columns)

    @staticmethod
    def _transform_categorical(spec: dict[str, Any], series: pd.Series) -> np.ndarray:
        """One-hot of the levels times the column weight (every present level > 0)."""
        levels = spec["levels"]
        codes = _value_levels(series, levels)
        out = np.zeros((len(codes), len(levels)), dtype="float64")
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

    @property
    def behaviour_columns(self) -> list[int]:
        """Positions in the matrix of the numeric behaviour (no indicators, no categorical levels)."""
        numeric = set(self.numeric_columns)
        return [i for i, name in enumerate(self.feature_names_out_) if name in numeric]

    @staticmethod
    def describe(spec: dict[str, Any]) -> str:
        """How one column enters the matrix, in words (``run.json`` ``columns.used[].transform``)."""
        if spec["kind"] == "categorical" and spec.get("copy_of"):
            return (f"levels are (nearly) steps of {spec['copy_of']} (a coarser copy of it): not in the "
                    "distances (shown in the profiles)")
        if spec["kind"] == "categorical":
            values = spec.get("level_values") or [spec["weight"]] * len(spec["levels"])
            if "level_relevance" not in spec:
                return "one-hot, weighted as one feature"
            kept = [level for level, value in zip(spec["levels"], values) if value > 0]
            if not kept:
                return "no level goes with behaviour: not in the distances (shown in the profiles)"
            return (f"0/1 flag for {', '.join(kept)} (goes with behaviour); other levels not in the "
                    "distances (shown in the profiles)")
        text = "0/1 flag" if spec.get("binary") else ("log1p, " if spec["log"] else "") + "robust scaling"
        if spec.get("copy_of"):
            return text + (f", (nearly) a step function of {spec['copy_of']} (a coarser copy of it): not in "
                           "the distances (shown in the profiles)")
        if "relevance" in spec:
            text += f", weight {spec.get('weight', 1.0):.2f}"
            if spec.get("redundancy", 1.0) >= 1.5:
                text += f" (measured about {spec['redundancy']:.1f} times)"
            if spec.get("weight", 1.0) < 0.1:
                text += " (not predicted by the other behaviours: noise)"
        if spec.get("missing_indicator"):
            text += ("; missing values imputed from similar accounts, 'missing' kept as behaviour"
                     if spec.get("missing_weight", 1.0) > 0 else "; missing values imputed from similar accounts")
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "categorical_weight": self.categorical_weight,
                "max_levels": self.max_levels, "rare_level_share": self.rare_level_share,
                "skew_threshold": self.skew_threshold, "categorical_relevance": self.categorical_relevance,
                "relevance": self.relevance, "specs": self.specs_, "excluded": self.excluded_,
                "imputer": self.imputer_}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureBuilder":
        builder = cls(data["columns"], categorical_weight=data["categorical_weight"],
                      max_levels=data["max_levels"], rare_level_share=data["rare_level_share"],
                      skew_threshold=data["skew_threshold"],
                      categorical_relevance=data.get("categorical_relevance", True),
                      relevance=data.get("relevance", False))
        builder.specs_ = data["specs"]
        builder.excluded_ = data["excluded"]
        builder.imputer_ = data.get("imputer")
        builder.feature_names_out_ = [n for s in builder.specs_ for n in cls._output_names(s)]
        return builder


def _value_levels(series: pd.Series, levels: list[str]) -> np.ndarray:
    """Position in ``levels`` of each value as text (missing values as :data:`MISSING_LEVEL`, values
    outside the levels as :data:`OTHER_LEVEL` when that is a level), -1 where there is none.

    A column of text is coded through its distinct values (its values are their own text); any
    other column is turned into text value by value (``1`` and ``1.0`` are different levels).
    """
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        codes, distinct = pd.factorize(series, use_na_sentinel=True)
        position = {level: i for i, level in enumerate(levels)}
        fallback = position.get(OTHER_LEVEL, -1)
        lookup = np.array([position.get(str(value), fallback) for value in distinct]
                          + [position.get(MISSING_LEVEL, fallback)], dtype=np.int64)
        return lookup[codes]  # the missing values' code -1 takes the last entry
    text = series.astype("object").where(series.notna(), MISSING_LEVEL).astype(str)
    if OTHER_LEVEL in levels:
        text = text.where(text.isin(levels), OTHER_LEVEL)
    return pd.Categorical(text, categories=levels).codes


def _stack_float32(blocks: list[np.ndarray]) -> np.ndarray:
    """``np.hstack(blocks).astype(float32)`` written block by block into one float32 array: the same
    values (each float64 rounded once), without the float64 matrix in between (232 MB at 1,000,000
    accounts of 29 features; stacking and converting it was a third of the transform's time at 100,000)."""
    rows = blocks[0].shape[0] if blocks else 0
    out = np.empty((rows, sum(b.shape[1] for b in blocks)), dtype=np.float32)
    start = 0
    for block in blocks:
        out[:, start:start + block.shape[1]] = block
        start += block.shape[1]
    return out
