"""Persona profiles: size, balance share, outcomes, medians, flag shares and what sets each persona apart.

A profile is a plain dict (the ``personas.json`` schema in docs/architecture.md). Distinguishing
features are ranked by the standardised difference between the persona and the whole portfolio,
computed on the transformed features (log1p / robust scale) so one huge balance cannot dominate;
for categorical levels and 0/1 flags it is the difference in shares over the portfolio's standard
deviation of that indicator.

What a column means comes from the portfolio's column model (:mod:`portfolio.meanings`), never
from its name here: ``flag_shares`` holds, for every yes/no column with a meaning (dispute,
over-indebted, time-barred, insolvency, opt-out per channel ...), the share and count of the
persona's accounts flagged, and ``column_meanings`` the meaning of every column the profile
summarises, so that proposals and names read the profile without matching names.
``missing_shares`` holds, for every used column with missing values, the share of the persona's
and of the portfolio's accounts without a value, so that a persona defined by missing data is named
so (the distinguishing features are computed on imputed values and cannot show it).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from personas.features import FeatureBuilder
from portfolio.flags import flag_values
from portfolio.meanings import ColumnMeanings, Meaning
from portfolio.vocabulary import Outcome, outcome_by_name

TOP_DISTINGUISHING = 8


def outcome_columns(frame: pd.DataFrame, roles: Any, target: str | None = None,
                    target_event: str = "paid") -> dict[str, Any]:
    """Which columns the profiles summarise beyond the features, and which way round the outcome is.

    Returns ``{"pay": column|None, "pay_event": "paid"|"default", "recovery": column|None,
    "flags": {meaning: column}, "meanings": {column: meaning}}`` (kept in ``run.json`` so that
    profiles rebuilt after an edit summarise the same columns). A named ``target`` wins; otherwise
    the first 0/1 outcome column is the pay flag (its meaning ``outcome.not_paid`` flips it) and
    the first other numeric outcome the amount recovered. ``flags`` are the yes/no columns with a
    collections meaning (dispute, over-indebted, time-barred, opt-out ...).
    """
    meanings = _meanings_of(roles, frame)
    candidates = [c for c in (getattr(roles, "targets", []) or []) if c in frame.columns]
    if target and target in frame.columns and target not in candidates:
        candidates.insert(0, target)
    pay, event, recovery = None, "paid", None
    for column in candidates:
        values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        is_flag = values.dropna().isin([0, 1]).all() and values.notna().any()
        if is_flag and pay is None and (target is None or column == target):
            pay = column
            event = target_event if column == target else (
                "default" if meanings.get(column) == Outcome.NOT_PAID else "paid")
        elif not is_flag and recovery is None and values.notna().any():
            recovery = column
    flags = {m: c for c, m in meanings.items() if m in Meaning.FLAGS and c in frame.columns}
    flags = {m: flags[m] for m in Meaning.FLAGS if m in flags}
    return {"pay": pay, "pay_event": event, "recovery": recovery, "flags": flags,
            "meanings": {str(c): m for c, m in meanings.items() if c in frame.columns}}


def _meanings_of(roles: Any, frame: pd.DataFrame) -> dict[str, str]:
    """Column -> meaning from the roles; outcome columns of roles kept without meanings (older
    runs, hand-made roles) are read by :func:`portfolio.vocabulary.outcome_by_name`."""
    meanings = dict(ColumnMeanings.of(roles).meanings)
    if not getattr(roles, "meanings", None):
        for column in (getattr(roles, "targets", []) or []):
            found = outcome_by_name(column, frame[column]) if column in frame.columns else None
            if found:
                meanings[column] = found[0]
    return meanings


def _pay_flags(frame: pd.DataFrame, outcomes: dict[str, Any]) -> pd.Series | None:
    if not outcomes["pay"]:
        return None
    flag = pd.to_numeric(frame[outcomes["pay"]], errors="coerce").astype("float64")
    return flag if outcomes["pay_event"] == "paid" else 1 - flag


def _indicator_columns(builder: FeatureBuilder, frame: pd.DataFrame):
    """``(name, 0/1 column)`` for each categorical level and each binary flag (for shares), one at a
    time: at 1,000,000 accounts the ~40 columns together took ~0.6 GB, the largest part of the run's peak."""
    for spec in builder.specs_:
        series = frame[spec["column"]]
        if spec["kind"] == "categorical":
            onehot = builder._transform_categorical(spec, series) > 0
            for j, level in enumerate(spec["levels"]):
                yield f"{spec['column']} = {level}", onehot[:, j].astype(np.float64)
        elif spec.get("binary"):
            # float first: a yes/no column read as nullable booleans cannot hold the fill value
            yield spec["column"], pd.to_numeric(series, errors="coerce").astype("float64").fillna(
                spec["fill"]).to_numpy(float)


def _column_stats(frame: pd.DataFrame, builder: FeatureBuilder, X: np.ndarray, groups: np.ndarray) -> tuple:
    """Per-persona statistics, computed one column at a time (the same pandas operations as on whole
    frames, so the same figures, without holding every column at once).

    Returns ``(numeric, indicators)``: ``numeric`` maps each numeric column to ``(standardised
    difference per persona, raw median per persona, portfolio median)``; ``indicators`` maps each
    level or flag to ``(standardised difference per persona, persona share, portfolio share)``.
    """
    names = builder.feature_names_out_
    numeric: dict[str, tuple[pd.Series, pd.Series, float]] = {}
    for spec in builder.specs_:
        if spec["kind"] != "numeric" or spec.get("binary"):
            continue
        column = spec["column"]
        z = pd.Series(X[:, names.index(column)])
        std = z.std(ddof=0)
        diff = (z.groupby(groups).mean() - z.mean()) / (std if std != 0 else np.nan)
        raw = pd.Series(pd.to_numeric(frame[column], errors="coerce").to_numpy())
        numeric[column] = (diff, raw.groupby(groups).median(), raw.median())
    indicators: dict[str, tuple[pd.Series, pd.Series, float]] = {}
    for name, values in _indicator_columns(builder, frame):
        column = pd.Series(values)
        mean = column.mean()
        std = np.sqrt(mean * (1 - mean))
        by = column.groupby(groups).mean()
        indicators[name] = ((by - mean) / (std if std != 0 else np.nan), by, mean)
    return numeric, indicators


def build_profiles(frame: pd.DataFrame, assignments: pd.DataFrame, builder: FeatureBuilder,
                   X: np.ndarray, outcomes: dict[str, Any]) -> list[dict[str, Any]]:
    """One profile dict per persona id present in ``assignments`` (aligned with ``frame`` rows).

    ``X`` is the feature matrix of ``frame`` (no jitter); ``outcomes`` from :func:`outcome_columns`
    (its ``flags`` give ``flag_shares``, its ``meanings`` the ``column_meanings`` and the meaning of
    each distinguishing feature; ``outcomes`` saved before meanings existed give neither).
    """
    meanings = dict(outcomes.get("meanings") or {})
    flag_columns = {m: c for m, c in (outcomes.get("flags") or {}).items() if c in frame.columns}
    flags = {m: flag_values(frame[c]).to_numpy(dtype=float) for m, c in flag_columns.items()}
    labels = assignments["persona_id"].to_numpy()
    review = assignments["needs_review"].to_numpy()
    balance = pd.to_numeric(frame["balance"], errors="coerce").fillna(0).to_numpy(float)
    pay = _pay_flags(frame, outcomes)
    recovery = pd.to_numeric(frame[outcomes["recovery"]], errors="coerce") if outcomes["recovery"] else None
    numeric, indicators = _column_stats(frame, builder, X, labels)
    missing = missing_columns(builder, frame)
    total_balance = balance.sum() or 1.0
    profiles = []
    for persona in sorted(int(p) for p in np.unique(labels)):
        members = labels == persona
        distinguishing = [_entry(column, diff.at[persona], persona_values.at[persona], portfolio_value)
                          for stats in (numeric, indicators)
                          for column, (diff, persona_values, portfolio_value) in stats.items()]
        distinguishing = [d for d in distinguishing if d is not None]
        for entry in distinguishing:
            if entry["feature"] in meanings:
                entry["meaning"] = meanings[entry["feature"]]
        distinguishing.sort(key=lambda d: -abs(d["std_diff"]))
        profiles.append({
            "persona_id": persona,
            "name": f"Persona {persona}",
            "size": int(members.sum()),
            "share_accounts": float(members.mean()),
            "share_balance": float(balance[members].sum() / total_balance),
            "pay_rate": _mean_or_none(pay[members] if pay is not None else None),
            "mean_recovery": _mean_or_none(recovery[members] if recovery is not None else None),
            "mean_risk_score": None,
            "medians": {c: {"persona": _num(medians.at[persona]), "portfolio": _num(median)}
                        for c, (_diff, medians, median) in numeric.items()},
            "distinguishing": distinguishing[:TOP_DISTINGUISHING],
            "categorical_shares": _categorical_shares(builder, frame, members),
            "flag_shares": {m: _flag_share(flags[m][members], column) for m, column in flag_columns.items()},
            "missing_shares": {c: {"persona": round(float(v[members].mean()), 4), "portfolio": round(float(v.mean()), 4)}
                               for c, v in missing.items()},
            "column_meanings": dict(meanings),
            "needs_review_count": int(review[members].sum()),
        })
    return profiles


def missing_columns(builder: FeatureBuilder, frame: pd.DataFrame, kinds: tuple[str, ...] = ("numeric", "categorical")
                    ) -> dict[str, np.ndarray]:
    """True where an account has no value, for each used column (of ``kinds``) with any value missing."""
    out = {}
    for spec in (s for s in builder.specs_ if s["kind"] in kinds):
        series = frame[spec["column"]]
        absent = (series.isna() if spec["kind"] == "categorical"
                  else pd.to_numeric(series, errors="coerce").isna()).to_numpy(bool)
        if absent.any():
            out[str(spec["column"])] = absent
    return out


def _flag_share(flagged: np.ndarray, column: str) -> dict[str, Any]:
    """``{"share", "count", "known", "column"}``: flagged accounts among those with a yes or a no."""
    known = int(np.isfinite(flagged).sum())
    count = int((flagged == 1.0).sum())
    return {"share": round(count / known, 4) if known else None, "count": count, "known": known,
            "column": str(column)}


def _entry(feature: str, diff: float, persona_value: float, portfolio_value: float) -> dict[str, Any] | None:
    if diff is None or not np.isfinite(diff):
        return None
    return {"feature": feature, "std_diff": round(float(diff), 4),
            "direction": "higher" if diff > 0 else "lower",
            "persona_value": _num(persona_value), "portfolio_value": _num(portfolio_value)}


def _categorical_shares(builder: FeatureBuilder, frame: pd.DataFrame, members: np.ndarray) -> dict:
    shares = {}
    for column in builder.categorical_columns:
        values = frame.loc[members, column].astype("object").fillna("(missing)").astype(str)
        shares[column] = {str(k): round(float(v), 4) for k, v in values.value_counts(normalize=True).head(10).items()}
    return shares


def _mean_or_none(values: pd.Series | None) -> float | None:
    if values is None:
        return None
    values = pd.to_numeric(values, errors="coerce").dropna()
    return float(values.mean()) if len(values) else None


def _num(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def portfolio_shares(frame: pd.DataFrame, column: str) -> dict[str, float]:
    """Share of each level of ``column`` in the whole portfolio."""
    values = frame[column].astype("object").fillna("(missing)").astype(str)
    return {str(k): float(v) for k, v in values.value_counts(normalize=True).items()}
