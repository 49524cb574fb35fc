"""Drift between a run and next month's accounts, with a decision: carry approvals over, or review.

:func:`drift_report` compares the accounts of a new month (assigned with the base run's own fitted
models, see :mod:`application.apply`) with the base run and returns a JSON-safe dict (written as the new
run's ``drift.json``, shown on the Drift page, passed to the audit log by ``strategy.carry_over``):

``personas``
    per persona: base share (``accounts.parquet`` of the base run), new share with a 95 % **Wilson
    score interval** (``low``, ``high``), the share of its accounts far from every persona, and the
    decision. A persona goes back to review when its share moved by more than
    ``share_shift`` (5 percentage points) **and** the base share lies outside the new share's interval
    (a move a month of sampling noise does not explain), or when the share of its accounts far from
    every persona rose by more than ``far_rise`` (5 pp) and the base value is outside that interval.
``features``
    per column the personas are built on, the population stability index
    ``PSI = sum((new - base) * ln(new / base))`` over bins: numeric columns on the base run's deciles
    (edges from the base values, duplicates merged, open first and last bin), categorical columns on
    the base run's levels plus one bin for levels the base never had, and missing values as a bin of
    their own in both. Empty bins count as ``PSI_FLOOR`` (0.0001) so the logarithm stays finite.
    ``level``: "stable" below 0.1, "moderate" from 0.1, "major" from 0.25 (the usual credit-scoring
    convention). A major shift is a warning by default: what matters for an approval is whether accounts
    moved between personas or away from every persona, which the shares measure directly; with
    ``major_feature_sends_all`` it sends every persona back to review.
``far_from_every_persona``
    the share of accounts farther from every reference account of the persona model than the model's
    own limit (``far_distance_``: twice the 99th percentile of the reference's nearest-neighbour
    distance; ``assign`` flags these accounts ``needs_review``), new against base. An account identical
    to a reference account is measured to its next neighbour in both months, as the limit was set.
    A rise above ``far_rise`` outside the interval means behaviour the personas do not describe: every
    persona goes back to review. ``needs_review_share`` (low membership or far) is reported beside it.
``risk``
    with a risk model: PSI of the risk score (base deciles), mean score base and new; PSI from 0.25 or a
    mean shift above ``score_mean_shift`` (0.10) sends every persona back to review. Once the base run
    has outcomes (``strategy.outcomes.read_outcomes``), the AUC of the base run's scores against who did
    not pay, compared with the model's cross-validated AUC (a drop above ``auc_drop``, 0.05, sends every
    persona back), and calibration (mean score against the observed not-paid rate; reported, and a
    decision only when ``calibration_gap`` is set, since a payments file may cover a shorter window than
    the model's target).

Every decision carries a plain reason. ``review_needed`` is true when any persona needs review.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.i18n import N_
from strategy.texts import Text, TextList, text_from_dict

PSI_FLOOR = 1e-4
MISSING = "(missing)"
OTHER = "(level not in the base run)"


@dataclass(frozen=True)
class DriftThresholds:
    """When approvals carry over. Shares and rises are fractions (0.05 = 5 percentage points)."""

    share_shift: float = 0.05
    confidence: float = 0.95
    psi_moderate: float = 0.10
    psi_major: float = 0.25
    major_feature_sends_all: bool = False
    far_rise: float = 0.05
    score_psi_major: float = 0.25
    score_mean_shift: float = 0.10
    auc_drop: float = 0.05
    calibration_gap: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "DriftThresholds":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


# ---------------------------------------------------------------------------- statistics
def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (``(0, 1)`` for ``n`` = 0)."""
    if n <= 0:
        return 0.0, 1.0
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def psi(base_shares: np.ndarray, new_shares: np.ndarray) -> float:
    """Population stability index of two bin distributions (each summing to 1; empty bins floored)."""
    b = np.maximum(np.asarray(base_shares, dtype=float), PSI_FLOOR)
    n = np.maximum(np.asarray(new_shares, dtype=float), PSI_FLOOR)
    return float(np.sum((n - b) * np.log(n / b)))


def numeric_bins(base: pd.Series, new: pd.Series, bins: int = 10) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Shares of base and new in the base's decile bins, plus a missing bin (labels last)."""
    b = pd.to_numeric(base, errors="coerce").to_numpy(dtype=float)
    n = pd.to_numeric(new, errors="coerce").to_numpy(dtype=float)
    known = b[~np.isnan(b)]
    inner = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1])) if len(known) else np.array([])
    edges = np.concatenate([[-np.inf], inner, [np.inf]])

    def shares(values: np.ndarray) -> np.ndarray:
        present = values[~np.isnan(values)]
        # right-closed bins: (-inf, q1], (q1, q2], ... as deciles are usually cut
        counts = np.bincount(np.searchsorted(edges[1:-1], present, side="left"), minlength=len(edges) - 1)
        return np.append(counts, np.isnan(values).sum()) / max(len(values), 1)

    labels = [f"≤ {inner[0]:g}" if len(inner) else "all"] + [f"{lo:g} – {hi:g}" for lo, hi in zip(inner[:-1], inner[1:])]
    if len(inner):
        labels.append(f"> {inner[-1]:g}")
    return shares(b), shares(n), labels + [MISSING]


def categorical_bins(base: pd.Series, new: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Shares of base and new per base level, one bin for levels new to the base, one for missing."""
    def text(values: pd.Series) -> pd.Series:
        return values.astype("object").where(values.notna(), None).map(lambda v: None if v is None else str(v))

    b, n = text(base), text(new)
    levels = sorted(set(b.dropna()))
    labels = levels + [OTHER, MISSING]

    def shares(values: pd.Series) -> np.ndarray:
        counts = values.dropna().value_counts()
        row = [int(counts.get(level, 0)) for level in levels]
        row.append(int(counts[~counts.index.isin(levels)].sum()))
        row.append(int(values.isna().sum()))
        return np.array(row, dtype=float) / max(len(values), 1)

    return shares(b), shares(n), labels


def _level(value: float, t: DriftThresholds) -> str:
    return "major" if value >= t.psi_major else "moderate" if value >= t.psi_moderate else "stable"


# ---------------------------------------------------------------------------- parts of the report
def feature_drift(base_frame: pd.DataFrame, new_frame: pd.DataFrame, specs: list[dict[str, Any]],
                  thresholds: DriftThresholds) -> list[dict[str, Any]]:
    """One entry per model column: feature, kind, psi, level, bins (label, base, new)."""
    out = []
    for spec in specs:
        column = spec["column"]
        if column not in base_frame.columns or column not in new_frame.columns:
            continue
        if spec.get("kind") == "numeric":
            b, n, labels = numeric_bins(base_frame[column], new_frame[column])
        else:
            b, n, labels = categorical_bins(base_frame[column], new_frame[column])
        value = psi(b, n)
        out.append({"feature": str(column), "kind": str(spec.get("kind", "numeric")), "psi": round(value, 4),
                    "level": _level(value, thresholds),
                    "bins": [{"bin": label, "base": round(float(x), 4), "new": round(float(y), 4)}
                             for label, x, y in zip(labels, b, n)]})
    return sorted(out, key=lambda f: -f["psi"])


def far_flags(model: Any, X: np.ndarray) -> np.ndarray:
    """True where an account is farther from every reference account than the model's limit."""
    from sklearn.neighbors import NearestNeighbors

    reference = np.asarray(model.reference_X_, dtype=np.float32)
    limit = float(getattr(model, "far_distance_", np.inf))
    if len(reference) < 2 or not np.isfinite(limit) or len(X) == 0:
        return np.zeros(len(X), dtype=bool)
    index = NearestNeighbors(n_neighbors=2, algorithm="brute").fit(reference)
    dist, _ = index.kneighbors(np.asarray(X, dtype=np.float32))
    nearest = np.where(dist[:, 0] <= 1e-9, dist[:, 1], dist[:, 0])
    return nearest > limit


def _share_decision(label: str, base: float, new: float, count: int, n: int, rise_only: bool,
                    limit: float, t: DriftThresholds) -> tuple[float, float, bool, str]:
    low, high = wilson_interval(count, n, t.confidence)
    moved = new - base
    outside = not (low <= base <= high)
    big = (moved > limit) if rise_only else (abs(moved) > limit)
    values = dict(label=Text(label), base=base, new=new, moved=moved * 100, limit=limit * 100,
                  confidence=t.confidence, low=low, high=high)
    if big and outside:
        return low, high, True, Text(N_("{label} {base:.1%} → {new:.1%} ({moved:+.1f} pp, more than {limit:g} pp, "
                                        "and the base value is outside the {confidence:.0%} interval "
                                        "{low:.1%}–{high:.1%})"), **values)
    if big:
        return low, high, False, Text(N_("{label} {base:.1%} → {new:.1%} ({moved:+.1f} pp), but the base value is "
                                         "inside the {confidence:.0%} interval {low:.1%}–{high:.1%}: within "
                                         "sampling noise"), **values)
    return low, high, False, Text(N_("{label} {base:.1%} → {new:.1%} ({moved:+.1f} pp, limit {limit:g} pp)"),
                                  **values)


def risk_drift(base_scores: pd.Series | None, new_scores: pd.Series | None, thresholds: DriftThresholds,
               *, base_meta: dict[str, Any] | None = None, base_accounts: pd.DataFrame | None = None,
               outcomes: pd.DataFrame | None = None) -> dict[str, Any]:
    """Risk score shift (PSI on base deciles, mean shift) and, with outcomes, AUC and calibration."""
    if base_scores is None or new_scores is None:
        why = Text(N_("the base run has no risk model"))
        return {"available": False, "reason": str(why), "reason_text": why.to_dict(), "review_needed": False,
                "reasons": [], "reasons_text": []}
    b = pd.to_numeric(base_scores, errors="coerce")
    n = pd.to_numeric(new_scores, errors="coerce")
    bs, ns, _ = numeric_bins(b, n)
    value = psi(bs, ns)
    shift = float(n.mean() - b.mean())
    reasons = []
    if value >= thresholds.score_psi_major:
        reasons.append(Text(N_("risk score PSI {psi:.3f} (from {major:g}: major shift)"), psi=float(value),
                            major=thresholds.score_psi_major))
    if abs(shift) > thresholds.score_mean_shift:
        reasons.append(Text(N_("mean risk score {base:.3f} → {new:.3f} (shift {shift:+.3f}, limit ±{limit:g})"),
                            base=float(b.mean()), new=float(n.mean()), shift=shift,
                            limit=thresholds.score_mean_shift))
    out: dict[str, Any] = {"available": True, "score_psi": round(value, 4), "score_level": _level(value, thresholds),
                           "mean_base": round(float(b.mean()), 4), "mean_new": round(float(n.mean()), 4),
                           "mean_shift": round(shift, 4), "outcomes": None}
    if outcomes is not None and base_accounts is not None and "risk_score" in base_accounts.columns:
        out["outcomes"] = _outcome_checks(base_accounts, outcomes, base_meta or {}, thresholds, reasons)
    out["review_needed"] = bool(reasons)
    out["reasons"], out["reasons_text"] = _english(reasons), _codes(reasons)
    return out


def _english(texts: list[Any]) -> list[str]:
    """The English of texts (what ``drift.json`` has always stored)."""
    return [str(text) for text in texts]


def _codes(texts: list[Any]) -> list[Any]:
    """The language-neutral forms stored beside them (``strategy.texts``; ``None`` for a plain text)."""
    return [text.to_dict() if hasattr(text, "to_dict") else None for text in texts]


def _outcome_checks(accounts: pd.DataFrame, payments: pd.DataFrame, meta: dict[str, Any],
                    t: DriftThresholds, reasons: list[str]) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    paid = set(payments.loc[pd.to_numeric(payments["amount"], errors="coerce") > 0, "account_id"].astype(str))
    not_paid = (~accounts["account_id"].astype(str).isin(paid)).to_numpy(dtype=int)
    score = pd.to_numeric(accounts["risk_score"], errors="coerce").to_numpy(dtype=float)
    keep = ~np.isnan(score)
    result: dict[str, Any] = {"accounts": int(keep.sum()), "not_paid_rate": round(float(not_paid[keep].mean()), 4),
                              "mean_score": round(float(score[keep].mean()), 4)}
    if len(set(not_paid[keep])) < 2:
        result["auc"] = None
        note = Text(N_("everyone paid or no one did: no AUC"))
        result["note"], result["note_text"] = str(note), note.to_dict()
        return result
    auc = float(roc_auc_score(not_paid[keep], score[keep]))
    cv = ((meta.get("model") or {}).get("roc_auc") or {}).get("value")
    gap = float(score[keep].mean() - not_paid[keep].mean())
    result.update(auc=round(auc, 4), cv_auc=None if cv is None else round(float(cv), 4),
                  calibration_gap=round(gap, 4), calibration=_deciles(score[keep], not_paid[keep]))
    if cv is not None and float(cv) - auc > t.auc_drop:
        reasons.append(Text(N_("AUC on the paid outcomes {auc:.3f}, cross-validated {cv:.3f}: dropped by more "
                               "than {drop:g}"), auc=auc, cv=float(cv), drop=t.auc_drop))
    if t.calibration_gap is not None and abs(gap) > t.calibration_gap:
        reasons.append(Text(N_("calibration: mean score {score:.3f}, observed not-paid rate {rate:.3f} (gap above "
                               "{gap:g})"), score=float(score[keep].mean()), rate=float(not_paid[keep].mean()),
                            gap=t.calibration_gap))
    return result


def _deciles(score: np.ndarray, event: np.ndarray) -> list[dict[str, float]]:
    frame = pd.DataFrame({"score": score, "event": event})
    frame["bin"] = pd.qcut(frame["score"].rank(method="first"), min(10, len(frame)), labels=False)
    grouped = frame.groupby("bin").agg(predicted=("score", "mean"), observed=("event", "mean"), n=("event", "size"))
    return [{"predicted": round(float(r.predicted), 4), "observed": round(float(r.observed), 4), "accounts": int(r.n)}
            for r in grouped.itertuples()]


# ---------------------------------------------------------------------------- the report
def drift_report(base: Any, new_accounts: pd.DataFrame, new_frame: pd.DataFrame, *, base_frame: pd.DataFrame,
                 specs: list[dict[str, Any]], base_far: np.ndarray | None = None,
                 new_far: np.ndarray | None = None, thresholds: DriftThresholds | None = None,
                 outcomes: pd.DataFrame | None = None) -> dict[str, Any]:
    """The drift report of ``new_accounts`` against the run ``base`` (see the module docstring).

    Parameters
    ----------
    base : RunView-like
        ``run_id``, ``meta``, ``profiles`` and ``accounts`` (account_id, persona_id, needs_review, risk_score).
    new_accounts : DataFrame
        The new month assigned with the base run's models: persona_id, needs_review, risk_score (optional).
    new_frame, base_frame : DataFrame
        The portfolios (rows aligned with the accounts) whose model columns the PSI compares.
    specs : list of dict
        The feature builder's column specs (``column``, ``kind``).
    base_far, new_far : bool arrays, optional
        Far from every persona (:func:`far_flags`), aligned with the accounts.
    outcomes : DataFrame, optional
        Payments of the base run's accounts (account_id, amount), for AUC and calibration.
    """
    t = thresholds or DriftThresholds()
    base_acc = base.accounts
    names = {int(p["persona_id"]): str(p.get("name", "")) for p in base.profiles}
    n_base, n_new = len(base_acc), len(new_accounts)
    base_ids = base_acc["persona_id"].to_numpy(dtype=np.int64)
    new_ids = new_accounts["persona_id"].to_numpy(dtype=np.int64)
    far_new = np.zeros(n_new, bool) if new_far is None else np.asarray(new_far, bool)
    far_base = np.zeros(n_base, bool) if base_far is None else np.asarray(base_far, bool)

    features = feature_drift(base_frame, new_frame, specs, t)
    major = [f for f in features if f["level"] == "major"]
    far = _far_section(far_base, far_new, base_acc, new_accounts, t)
    risk = risk_drift(base_acc["risk_score"] if "risk_score" in base_acc.columns else None,
                      new_accounts["risk_score"] if "risk_score" in new_accounts.columns else None, t,
                      base_meta=base.meta, base_accounts=base_acc, outcomes=outcomes)

    everyone: list[Any] = []
    warnings = []
    if major:
        text = Text(N_("major shift (PSI ≥ {major:g}) in {features}"), major=t.psi_major,
                    features=TextList(Text("{feature} ({psi:.2f})", feature=f["feature"], psi=float(f["psi"]))
                                      for f in major))
        (everyone if t.major_feature_sends_all else warnings).append(text)
    if far["review_needed"]:
        everyone.append(text_from_dict(far["reason_text"], far["reason"]))
    everyone.extend(text_from_dict(code, english) for code, english in
                    zip(risk.get("reasons_text") or [], risk.get("reasons") or []))

    personas = []
    for pid in sorted(set(names) | set(np.unique(base_ids).tolist()) | set(np.unique(new_ids).tolist())):
        in_base, in_new = base_ids == pid, new_ids == pid
        base_share, new_share = float(in_base.mean()) if n_base else 0.0, float(in_new.mean()) if n_new else 0.0
        low, high, moved, reason = _share_decision(N_("share"), base_share, new_share, int(in_new.sum()), n_new,
                                                   False, t.share_shift, t)
        reasons = [reason] if moved else []
        base_far_share = float(far_base[in_base].mean()) if in_base.any() else 0.0
        new_far_share = float(far_new[in_new].mean()) if in_new.any() else 0.0
        _, _, far_moved, far_reason = _share_decision(N_("far from every persona"), base_far_share, new_far_share,
                                                      int(far_new[in_new].sum()), int(in_new.sum()), True,
                                                      t.far_rise, t)
        if far_moved:
            reasons.append(far_reason)
        own = bool(reasons)
        reasons.extend(Text(N_("whole portfolio: {reason}"), reason=r) for r in everyone)
        why = TextList(reasons, "; ") if reasons else Text(N_("stable: {reason}"), reason=reason)
        personas.append({"persona_id": int(pid), "name": names.get(int(pid), ""),
                         "base_accounts": int(in_base.sum()), "new_accounts": int(in_new.sum()),
                         "base_share": round(base_share, 4), "new_share": round(new_share, 4),
                         "low": round(low, 4), "high": round(high, 4),
                         "shift_pp": round((new_share - base_share) * 100, 2),
                         "far_share": round(new_far_share, 4), "base_far_share": round(base_far_share, 4),
                         "review_needed": bool(reasons), "own_drift": own,
                         "reason": str(why), "reason_text": why.to_dict()})
    review = [p["persona_id"] for p in personas if p["review_needed"]]
    summary = [Text(N_("persona {id} {name}: {reason}"), id=p["persona_id"], name=p["name"],
                    reason=text_from_dict(p["reason_text"])) for p in personas if p["own_drift"]] + everyone
    return {
        "base_run_id": base.run_id, "accounts": {"base": n_base, "new": n_new},
        "review_needed": bool(review), "review_personas": review,
        "reasons": _english(summary), "reasons_text": _codes(summary),
        "warnings": _english(warnings), "warnings_text": _codes(warnings),
        "personas": personas,
        "features": features,
        "far_from_every_persona": far,
        "risk": risk,
        "thresholds": t.to_dict(),
        "methods": {"interval": f"Wilson score interval, {t.confidence:.0%}, of the new share; a share moved when "
                                "it changed by more than share_shift and the base share is outside that interval",
                    "psi": "sum((new - base) * ln(new / base)); numeric: base deciles, categorical: base levels "
                           "+ one bin for new levels; missing values a bin of their own; empty bins 0.0001",
                    "far": "nearest reference account farther than the persona model's far_distance_ (twice the "
                           "99th percentile of the reference's nearest-neighbour distance)"},
        "methods_text": {"interval": Text(N_(
            "Wilson score interval, {confidence:.0%}, of the new share; a share moved when it changed by more than "
            "share_shift and the base share is outside that interval"), confidence=t.confidence).to_dict(),
            "psi": Text(N_("sum((new - base) * ln(new / base)); numeric: base deciles, categorical: base levels + "
                           "one bin for new levels; missing values a bin of their own; empty bins 0.0001")).to_dict(),
            "far": Text(N_("nearest reference account farther than the persona model's far_distance_ (twice the "
                           "99th percentile of the reference's nearest-neighbour distance)")).to_dict()},
    }


def _far_section(far_base: np.ndarray, far_new: np.ndarray, base_acc: pd.DataFrame, new_acc: pd.DataFrame,
                 t: DriftThresholds) -> dict[str, Any]:
    base_share = float(far_base.mean()) if len(far_base) else 0.0
    share = float(far_new.mean()) if len(far_new) else 0.0
    low, high, moved, reason = _share_decision(N_("accounts far from every persona"), base_share, share,
                                               int(far_new.sum()), len(far_new), True, t.far_rise, t)
    review_of = lambda frame: float(frame["needs_review"].mean()) if "needs_review" in frame.columns and len(frame) else None  # noqa: E731
    return {"share": round(share, 4), "base_share": round(base_share, 4), "low": round(low, 4),
            "high": round(high, 4), "review_needed": moved, "reason": str(reason), "reason_text": reason.to_dict(),
            "needs_review_share": review_of(new_acc), "base_needs_review_share": review_of(base_acc)}
