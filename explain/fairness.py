"""Fairness screens of the risk score for each sensitive attribute, and a proxy check of the features.

Sensitive attributes never feed the model; they are read here only to audit it. The screens are
warnings for a human reviewer, not verdicts:

* score distribution and the share flagged high-risk per group, with counts (groups below
  ``min_group_size`` are marked small and left out of the ratio and the difference);
* adverse impact ratio: lowest favourable rate / highest, favourable = NOT flagged high-risk; below
  0.8 is a warning (four-fifths rule, 29 CFR 1607.4(D));
* demographic parity difference: highest minus lowest flagged rate (warning above 10 points when a
  two-proportion test says it is not chance, p < 0.05);
* calibration within groups: mean risk score against the observed NOT-paid rate per group;
* proxy check: how well the model's features predict the attribute (cross-validated AUC), on
  all accounts up to ``proxy_max_rows``, else on a seeded sample stratified by group (stated).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from sklearn.ensemble import HistGradientBoostingClassifier
from scipy.stats import norm, rankdata
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from explain.settings import RiskSettings
from portfolio.vocabulary import Protected, protected_meaning

MISSING_GROUP = "(missing)"
CALIBRATION_GAP_WARNING = 0.05  # |mean score - observed rate| above which a group is called out


def age_band_labels(edges: tuple[int, ...]) -> list[str]:
    labels = [f"{lo}–{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:])]
    return labels + [f"{edges[-1]}+"]


def is_age(column: str, meaning: str | None = None) -> bool:
    """Whether a sensitive column is an age: its meaning in the portfolio's column model, else the
    portfolio vocabulary's reading of its name (for roles kept without meanings)."""
    if meaning is None:
        found = protected_meaning(column)
        meaning = found[0] if found else None
    return meaning == Protected.AGE


def group_labels(column: str, values: pd.Series, settings: RiskSettings,
                 meaning: str | None = None) -> pd.Series:
    """Group of each account: age in bands (18–29, 30–44, 45–59, 60+), other numbers in quartiles.

    ``meaning`` is the column's meaning (``"protected.age"`` for an age); see :func:`is_age`.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        age = is_age(column, meaning)
        if age or values.nunique() > 12:
            if age:
                edges = list(settings.age_bands)
                bands = pd.cut(numbers, bins=edges + [np.inf], right=False, labels=age_band_labels(settings.age_bands))
                labels = bands.astype(object).where(bands.notna(), None)
                labels[numbers.notna() & bands.isna()] = f"under {edges[0]}"
            else:
                labels = pd.qcut(numbers, 4, duplicates="drop").astype(object).map(
                    lambda iv: None if iv is None or iv != iv else f"{iv.left:g}–{iv.right:g}")
            return labels.fillna(MISSING_GROUP).astype(str)
    text = values.astype(object).where(values.notna(), MISSING_GROUP)
    return text.astype(str)


def high_risk_cutoff(risk: np.ndarray, settings: RiskSettings) -> tuple[float, str]:
    """The risk score at or above which an account counts as flagged, and how it was chosen."""
    if settings.high_risk_threshold is not None:
        return float(settings.high_risk_threshold), f"risk score ≥ {settings.high_risk_threshold:.2f}"
    threshold = float(np.quantile(risk, 1 - settings.high_risk_share))
    return threshold, (f"riskiest {settings.high_risk_share:.0%} of accounts "
                       f"(risk score ≥ {threshold:.3f})")


@dataclass
class FairnessReport:
    """Group tables, one summary per attribute, the proxy check, and the warnings in words."""

    groups: pd.DataFrame
    summary: list[dict[str, Any]]
    proxies: pd.DataFrame
    cutoff: float
    cutoff_rule: str
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff, "cutoff_rule": self.cutoff_rule, "attributes": self.summary,
                "warnings": self.warnings}


def fairness_report(frame: pd.DataFrame, sensitive: list[str], risk: np.ndarray, event: np.ndarray,
                    features: pd.DataFrame, settings: RiskSettings,
                    meanings: dict[str, str] | None = None) -> FairnessReport:
    """All fairness screens for each sensitive column present in ``frame``.

    ``meanings`` (column -> meaning, from the portfolio's roles) says which column is an age.
    """
    with threadpool_limits(settings.thread_count(len(frame))):
        return _fairness_report(frame, sensitive, risk, event, features, settings, meanings or {})


def _fairness_report(frame, sensitive, risk, event, features, settings, meanings) -> FairnessReport:
    cutoff, rule = high_risk_cutoff(risk, settings)
    flagged = risk >= cutoff
    tables, summaries, proxies, warnings = [], [], [], []
    for column in [c for c in sensitive if c in frame.columns]:
        groups = group_labels(column, frame[column], settings, meanings.get(column)).to_numpy()
        table = _group_table(column, groups, risk, event, flagged, settings)
        summary = _summarise(column, table, settings)
        tables.append(table)
        summaries.append(summary)
        warnings.extend(summary["warnings"])
        proxy = proxy_check(column, groups, features, table, settings)
        proxies.append(proxy)
        summary.update(proxy_accounts=int(proxy["accounts"].max()) if len(proxy) else 0,
                       proxy_sampled=bool(proxy["sampled"].any()))
        warnings.extend(_proxy_warnings(column, proxy, settings))
    return FairnessReport(
        pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(),
        summaries, pd.concat(proxies, ignore_index=True) if proxies else pd.DataFrame(),
        cutoff, rule, warnings)


def _group_table(column: str, groups: np.ndarray, risk: np.ndarray, event: np.ndarray,
                 flagged: np.ndarray, settings: RiskSettings) -> pd.DataFrame:
    data = pd.DataFrame({"group": groups, "risk": risk, "event": event, "flagged": flagged})
    grouped = data.groupby("group", sort=True)
    table = grouped.agg(accounts=("risk", "size"), mean_risk_score=("risk", "mean"),
                        median_risk_score=("risk", "median"), flagged_rate=("flagged", "mean"),
                        observed_not_paid_rate=("event", "mean")).reset_index()
    for q in (0.1, 0.25, 0.75, 0.9):
        table[f"risk_score_p{int(q * 100)}"] = grouped["risk"].quantile(q).to_numpy()
    table.insert(0, "attribute", column)
    table["share_of_accounts"] = table["accounts"] / len(data)
    table["small_group"] = table["accounts"] < settings.min_group_size
    table["favourable_rate"] = 1 - table["flagged_rate"]
    table["calibration_gap"] = table["mean_risk_score"] - table["observed_not_paid_rate"]
    return table


def _summarise(column: str, table: pd.DataFrame, settings: RiskSettings) -> dict[str, Any]:
    compared = table[~table["small_group"] & (table["group"] != MISSING_GROUP)]
    summary: dict[str, Any] = {
        "attribute": column, "groups": int(len(table)), "groups_compared": int(len(compared)),
        "small_groups": table.loc[table["small_group"], "group"].tolist(),
        "adverse_impact_ratio": None, "lowest_group": None, "highest_group": None,
        "demographic_parity_difference": None, "adverse_impact_warning": False, "parity_warning": False,
        "disparity_warning": False, "difference_p_value": None,
        "calibration_gap_groups": [], "warnings": [],
    }
    if summary["small_groups"]:
        summary["warnings"].append(f"{column}: groups {', '.join(summary['small_groups'])} have fewer than "
                                   f"{settings.min_group_size} accounts; their figures are not reliable.")
    if len(compared) < 2:
        summary["warnings"].append(f"{column}: fewer than two groups large enough to compare.")
        return summary
    favourable = compared.set_index("group")["favourable_rate"]
    low, high = favourable.idxmin(), favourable.idxmax()
    ratio = float(favourable[low] / favourable[high]) if favourable[high] > 0 else float("nan")
    flagged = compared["flagged_rate"]
    p_value = _two_proportion_p(compared.loc[flagged.idxmax()], compared.loc[flagged.idxmin()])
    summary["difference_p_value"] = p_value
    summary.update(adverse_impact_ratio=ratio, lowest_group=str(low), highest_group=str(high),
                   demographic_parity_difference=float(flagged.max() - flagged.min()),
                   adverse_impact_warning=bool(ratio < settings.adverse_impact_warning))
    if summary["adverse_impact_warning"]:
        summary["warnings"].append(
            f"{column}: adverse impact ratio {ratio:.2f} < {settings.adverse_impact_warning} (group "
            f"{low} is flagged high-risk more often than {high}); a warning for review, not a verdict.")
    parity = summary["demographic_parity_difference"]
    if parity > settings.parity_difference_warning and p_value < 0.05:
        summary["parity_warning"] = True
        summary["warnings"].append(
            f"{column}: flagged high-risk rates differ by {parity:.1%} between groups ({flagged.min():.1%} "
            f"to {flagged.max():.1%}, p = {p_value:.3f}; warning above {settings.parity_difference_warning:.0%} "
            "when not explained by chance).")
    summary["disparity_warning"] = bool(summary["adverse_impact_warning"] or summary["parity_warning"])
    # a gap only counts when it is also larger than twice its sampling error (small groups are noisy)
    rate = compared["observed_not_paid_rate"].clip(0.01, 0.99)
    noise = 2 * np.sqrt(rate * (1 - rate) / compared["accounts"])
    gap = compared[(compared["calibration_gap"].abs() > np.maximum(CALIBRATION_GAP_WARNING, noise))]
    summary["calibration_gap_groups"] = gap["group"].tolist()
    for _, row in gap.iterrows():
        word = "over" if row["calibration_gap"] > 0 else "under"
        summary["warnings"].append(
            f"{column}: for group {row['group']} the score {word}states the observed NOT-paid rate "
            f"({row['mean_risk_score']:.2f} vs {row['observed_not_paid_rate']:.2f}).")
    return summary


def _two_proportion_p(first: pd.Series, second: pd.Series) -> float:
    """Two-sided p-value that two groups' flagged rates differ only by chance (pooled z-test)."""
    n1, n2 = float(first["accounts"]), float(second["accounts"])
    p1, p2 = float(first["flagged_rate"]), float(second["flagged_rate"])
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 1.0 if se == 0 else float(2 * norm.sf(abs(p1 - p2) / se))


def _proxy_warnings(column: str, proxy: pd.DataFrame, settings: RiskSettings) -> list[str]:
    flagged_features = proxy.loc[proxy["flagged"] & (proxy["feature"] != "(all features)"), "feature"]
    basis = proxy_basis(proxy)
    if len(flagged_features):
        return [f"{column}: the features {', '.join(flagged_features)} predict it "
                f"(AUC ≥ {settings.proxy_auc_threshold} {basis}); review them as possible proxies."]
    if proxy["flagged"].any():
        return [f"{column}: the features together predict it (AUC ≥ {settings.proxy_auc_threshold} "
                f"{basis}); the score may carry it indirectly."]
    return []


def proxy_basis(proxy: pd.DataFrame) -> str:
    """Which accounts a proxy table's AUCs come from, in words ("on a 10,000-account sample")."""
    if proxy.empty:
        return "on no accounts (too few groups to compare)"
    if "accounts" not in proxy.columns:  # tables saved before the sample size was recorded
        return "on all usable accounts"
    accounts = int(proxy["accounts"].max())
    return f"on a {accounts:,}-account sample" if proxy["sampled"].any() else f"on all {accounts:,} accounts"


def stratified_sample(labels: np.ndarray, size: int, seed: int, floor: int = 0) -> np.ndarray:
    """Sorted positions of a seeded sample of at most ``size`` rows that keeps each label's share.

    A label whose proportional share would be under ``floor`` rows gets ``floor`` (all its rows when
    it has fewer), so a small but compared group is not sampled away; the others share the rest in
    proportion to their sizes (largest remainders). Without room for the floors, plain proportions.
    """
    _, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = _largest_remainders(counts, size)
    lifted = np.minimum(counts, floor)
    low = quota < lifted
    if low.any() and lifted[low].sum() < size:
        quota[low] = lifted[low]
        quota[~low] = _largest_remainders(counts[~low], size - int(lifted[low].sum()))
    quota = np.minimum(quota, counts)
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(codes == k), quota[k], replace=False) for k in range(len(counts))]
    return np.sort(np.concatenate(picked))


def _largest_remainders(counts: np.ndarray, size: int) -> np.ndarray:
    """Whole numbers proportional to ``counts`` that add up to ``size``."""
    exact = counts * size / max(int(counts.sum()), 1)
    quota = np.floor(exact).astype(int)
    quota[np.argsort(quota - exact, kind="stable")[: size - int(quota.sum())]] += 1
    return quota


def _proxy_rows(mask: np.ndarray, groups: np.ndarray, settings: RiskSettings) -> np.ndarray:
    """Positions the proxy check fits on: every kept row up to ``proxy_max_rows``, else a sample."""
    rows = np.flatnonzero(mask)
    if len(rows) <= settings.proxy_max_rows:
        return rows
    picked = stratified_sample(groups[rows], settings.proxy_max_rows, settings.seed, settings.min_group_size)
    return rows[picked]


def proxy_check(column: str, groups: np.ndarray, features: pd.DataFrame, table: pd.DataFrame,
                settings: RiskSettings) -> pd.DataFrame:
    """Cross-validated AUC with which each feature (and all together) predicts the attribute.

    Each feature: out-of-fold group shares per feature bin (deciles, or levels). All together: a
    small gradient-boosting model. Multi-group attributes use the macro one-vs-rest AUC; rows in
    small or missing groups are left out. 0.5 = no information, 1.0 = the attribute is revealed.
    Above ``settings.proxy_max_rows`` usable rows the AUCs come from a seeded sample of that many,
    stratified by group; ``accounts`` and ``sampled`` in the table say so.
    """
    keep_groups = table.loc[~table["small_group"] & (table["group"] != MISSING_GROUP), "group"]
    mask = np.isin(groups, keep_groups.to_numpy())
    rows, used = [], np.array([], dtype=int)
    if len(keep_groups) >= 2 and mask.sum() >= 3 * settings.min_group_size:
        used = _proxy_rows(mask, groups, settings)
        y = pd.Categorical(groups[used]).codes
        X = features.iloc[used]
        splitter = StratifiedKFold(3, shuffle=True, random_state=settings.seed)
        folds = np.empty(len(y), dtype=int)
        for k, (_, test) in enumerate(splitter.split(X, y)):
            folds[test] = k
        for feature in X.columns:
            rows.append((feature, _binned_auc(X[feature].to_numpy(), y, folds)))
        model = HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=8, max_bins=32, early_stopping=False,
                                               random_state=settings.seed)
        with threadpool_limits(settings.thread_count(len(used))):  # threads for the rows fitted, not the portfolio
            proba = cross_val_predict(model, X, y, cv=splitter, method="predict_proba")
        rows.append(("(all features)", _macro_auc(y, proba)))
    table_out = pd.DataFrame(rows, columns=["feature", "auc"])
    table_out.insert(0, "attribute", column)
    table_out["flagged"] = table_out["auc"] >= settings.proxy_auc_threshold
    table_out["accounts"] = len(used)
    table_out["sampled"] = len(used) < int(mask.sum())
    return table_out.sort_values("auc", ascending=False, ignore_index=True)


def _binned_auc(values: np.ndarray, y: np.ndarray, folds: np.ndarray) -> float:
    finite = np.isfinite(values)
    bins = np.zeros(len(values), dtype=np.int64)  # bin 0 = missing
    if finite.any():
        unique = np.unique(values[finite])
        if len(unique) <= 20:
            bins[finite] = 1 + np.searchsorted(unique, values[finite])
        else:
            edges = np.unique(np.quantile(values[finite], np.linspace(0, 1, 11)[1:-1]))
            bins[finite] = 1 + np.searchsorted(edges, values[finite], side="right")
    n_classes, n_bins = int(y.max()) + 1, int(bins.max()) + 1
    prior = np.bincount(y, minlength=n_classes) / len(y)
    proba = np.empty((len(y), n_classes))
    for k in np.unique(folds):
        train, test = folds != k, folds == k
        counts = np.bincount(bins[train] * n_classes + y[train], minlength=n_bins * n_classes)
        counts = counts.reshape(n_bins, n_classes)
        shares = (counts + prior) / (counts.sum(axis=1, keepdims=True) + 1)  # smoothed towards the prior
        proba[test] = shares[bins[test]]
    return _macro_auc(y, proba)


def _macro_auc(y: np.ndarray, proba: np.ndarray) -> float:
    scores = []
    for k in range(proba.shape[1]):
        positive = y == k
        n_pos = int(positive.sum())
        if 0 < n_pos < len(y):
            ranks = rankdata(proba[:, k])  # Mann-Whitney: AUC from the ranks of the positives
            scores.append((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(y) - n_pos)))
    return float(np.mean(scores)) if scores else float("nan")
