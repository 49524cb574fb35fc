"""Persona profiles: size, balance share, outcomes, medians and what sets each persona apart.

A profile is a plain dict (the ``personas.json`` schema in docs/architecture.md). Distinguishing
features are ranked by the standardised difference between the persona and the whole portfolio,
computed on the transformed features (log1p / robust scale) so one huge balance cannot dominate;
for categorical levels and 0/1 flags it is the difference in shares over the portfolio's standard
deviation of that indicator.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from personas.features import FeatureBuilder

TOP_DISTINGUISHING = 8
PAID_WORDS = ("paid", "bezahlt", "zahlung", "cured", "recovered_flag")
DEFAULT_WORDS = ("default", "ausfall", "not_paid", "unpaid", "charged_off")


def outcome_columns(frame: pd.DataFrame, roles: Any, target: str | None = None,
                    target_event: str = "paid") -> dict[str, Any]:
    """Which outcome column gives the pay rate and which the recovery, and which way round.

    Returns ``{"pay": column|None, "pay_event": "paid"|"default", "recovery": column|None}``.
    A named ``target`` wins; otherwise the first 0/1 outcome column is the pay flag (a name
    saying "default" flips it) and the first other numeric outcome the amount recovered.
    """
    candidates = [c for c in (getattr(roles, "targets", []) or []) if c in frame.columns]
    if target and target in frame.columns and target not in candidates:
        candidates.insert(0, target)
    pay, event, recovery = None, "paid", None
    for column in candidates:
        values = pd.to_numeric(frame[column], errors="coerce")
        is_flag = values.dropna().isin([0, 1]).all() and values.notna().any()
        if is_flag and pay is None and (target is None or column == target):
            pay = column
            lowered = column.lower()
            event = target_event if column == target else (
                "default" if any(w in lowered for w in DEFAULT_WORDS) else "paid")
        elif not is_flag and recovery is None and values.notna().any():
            recovery = column
    return {"pay": pay, "pay_event": event, "recovery": recovery}


def _pay_flags(frame: pd.DataFrame, outcomes: dict[str, Any]) -> pd.Series | None:
    if not outcomes["pay"]:
        return None
    flag = pd.to_numeric(frame[outcomes["pay"]], errors="coerce")
    return flag if outcomes["pay_event"] == "paid" else 1 - flag


def _indicator_columns(builder: FeatureBuilder, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """0/1 columns for each categorical level and each binary flag (for shares)."""
    out: dict[str, np.ndarray] = {}
    for spec in builder.specs_:
        series = frame[spec["column"]]
        if spec["kind"] == "categorical":
            onehot = builder._transform_categorical(spec, series) > 0
            for j, level in enumerate(spec["levels"]):
                out[f"{spec['column']} = {level}"] = onehot[:, j].astype(np.float64)
        elif spec.get("binary"):
            out[spec["column"]] = pd.to_numeric(series, errors="coerce").fillna(spec["fill"]).to_numpy(float)
    return out


def build_profiles(frame: pd.DataFrame, assignments: pd.DataFrame, builder: FeatureBuilder,
                   X: np.ndarray, outcomes: dict[str, Any]) -> list[dict[str, Any]]:
    """One profile dict per persona id present in ``assignments`` (aligned with ``frame`` rows).

    ``X`` is the feature matrix of ``frame`` (no jitter); ``outcomes`` from :func:`outcome_columns`.
    """
    labels = assignments["persona_id"].to_numpy()
    review = assignments["needs_review"].to_numpy()
    balance = pd.to_numeric(frame["balance"], errors="coerce").fillna(0).to_numpy(float)
    pay = _pay_flags(frame, outcomes)
    recovery = pd.to_numeric(frame[outcomes["recovery"]], errors="coerce") if outcomes["recovery"] else None
    names = builder.feature_names_out_
    numeric = [s for s in builder.specs_ if s["kind"] == "numeric" and not s.get("binary")]
    z = pd.DataFrame({s["column"]: X[:, names.index(s["column"])] for s in numeric})
    z_mean, z_std = z.mean(), z.std(ddof=0).replace(0, np.nan)
    raw = pd.DataFrame({s["column"]: pd.to_numeric(frame[s["column"]], errors="coerce").to_numpy()
                        for s in numeric})
    raw_median = raw.median()
    indicators = pd.DataFrame(_indicator_columns(builder, frame))
    ind_mean = indicators.mean()
    ind_std = np.sqrt(ind_mean * (1 - ind_mean)).replace(0, np.nan)
    groups = pd.Series(labels)
    z_by, raw_by, ind_by = z.groupby(groups).mean(), raw.groupby(groups).median(), indicators.groupby(groups).mean()
    total_balance = balance.sum() or 1.0
    profiles = []
    for persona in sorted(int(p) for p in np.unique(labels)):
        members = labels == persona
        distinguishing = []
        for column in z.columns:
            diff = (z_by.at[persona, column] - z_mean[column]) / z_std[column]
            distinguishing.append(_entry(column, diff, raw_by.at[persona, column], raw_median[column]))
        for column in indicators.columns:
            diff = (ind_by.at[persona, column] - ind_mean[column]) / ind_std[column]
            distinguishing.append(_entry(column, diff, ind_by.at[persona, column], ind_mean[column]))
        distinguishing = [d for d in distinguishing if d is not None]
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
            "medians": {c: {"persona": _num(raw_by.at[persona, c]), "portfolio": _num(raw_median[c])}
                        for c in raw.columns},
            "distinguishing": distinguishing[:TOP_DISTINGUISHING],
            "categorical_shares": _categorical_shares(builder, frame, members),
            "needs_review_count": int(review[members].sum()),
        })
    return profiles


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
