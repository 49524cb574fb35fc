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

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from scipy.stats import norm, rankdata
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from core.i18n import N_, _, current_language, use_language
from core.threads import limit_threads
from explain.settings import RiskSettings
from portfolio.vocabulary import Protected, protected_meaning

MISSING_GROUP = "(missing)"  #: the group of accounts without a value (stored as is; shown through group_label)
UNDER_AGE = "under {age}"  #: the group below the first age band (stored in English; shown through group_label)
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
                labels[numbers.notna() & bands.isna()] = UNDER_AGE.format(age=edges[0])
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


# ---------------------------------------------------------------------------- texts shown to people
# The report keeps its English texts (run.json, fairness/summary.json: read by old code) and, beside
# each warning, a language-neutral ``{"code", "params"}`` (``warning_codes`` of each attribute's
# summary); pages and the model card render those in the reader's language. A run saved before the
# codes existed shows its English texts.
_WARNINGS = {
    "small_groups": N_("{attribute}: groups {groups} have fewer than {min_size} accounts; their figures are not "
                       "reliable."),
    "too_few_groups": N_("{attribute}: fewer than two groups large enough to compare."),
    "adverse_impact": N_("{attribute}: adverse impact ratio {ratio} < {threshold} (group {low} is flagged "
                         "high-risk more often than {high}); a warning for review, not a verdict."),
    "parity": N_("{attribute}: flagged high-risk rates differ by {points} percentage points between groups "
                 "({lowest} to {highest}, p = {p_value}; warning above {threshold} when not explained by chance)."),
    "overstates": N_("{attribute}: for group {group} the score overstates the observed NOT-paid rate ({score} vs "
                     "{observed})."),
    "understates": N_("{attribute}: for group {group} the score understates the observed NOT-paid rate ({score} "
                      "vs {observed})."),
    "proxy_features": N_("{attribute}: the features {features} predict it (AUC ≥ {threshold} {basis}); review "
                         "them as possible proxies."),
    "proxy_together": N_("{attribute}: the features together predict it (AUC ≥ {threshold} {basis}); the score "
                         "may carry it indirectly."),
}


def _number(value: float, decimals: int) -> str:
    from core.formats import format_number

    return format_number(value, decimals=decimals)


def _percent(value: float, decimals: int) -> str:
    from core.formats import format_percent

    return format_percent(value, decimals=decimals)


def _setting(value: float) -> str:
    """A threshold as the settings write it (0.8, 0.65), with the reader's decimal mark."""
    text = f"{value:g}"
    return text.replace(".", ",") if current_language() == "de" else text


def group_label(group: object) -> str:
    """A group as the reader's language writes it: "(missing)", "under 18" and number bands ("0.5–3")
    are the app's own labels and are translated; the portfolio's own values are shown as they are."""
    text = str(group)
    if current_language() == "en":
        return text
    if text == MISSING_GROUP:
        return _("(missing)")
    match = re.fullmatch(r"under (\d+)", text)
    if match:
        return _("under {age}").format(age=match.group(1))
    if re.fullmatch(r"-?\d+(\.\d+)?(e[+-]?\d+)?(–-?\d+(\.\d+)?(e[+-]?\d+)?|\+)", text):
        return text.replace(".", ",")
    return text


def _groups(groups: list) -> str:
    return ", ".join(group_label(g) for g in groups)


def basis_text(accounts: int, sampled: bool) -> str:
    """Which accounts a proxy AUC comes from, in words ("on a 10,000-account sample")."""
    from core.formats import format_count

    if sampled:
        return _("on a {n}-account sample").format(n=format_count(accounts))
    return _("on all {n} accounts").format(n=format_count(accounts))


def render_warning(code: dict[str, Any]) -> str:
    """One warning from its ``{"code", "params"}`` in the current language."""
    p = dict(code.get("params") or {})
    kind = code.get("code")
    if kind not in _WARNINGS:
        return str(code.get("text", ""))
    values: dict[str, Any] = {"attribute": p.get("attribute", "")}
    if kind == "small_groups":
        values.update(groups=_groups(p["groups"]), min_size=p["min_size"])
    elif kind == "adverse_impact":
        values.update(ratio=_number(p["ratio"], 2), threshold=_setting(p["threshold"]),
                      low=group_label(p["low"]), high=group_label(p["high"]))
    elif kind == "parity":
        values.update(points=_number(100 * p["difference"], 1), lowest=_percent(p["lowest"], 1),
                      highest=_percent(p["highest"], 1), p_value=_number(p["p_value"], 3),
                      threshold=_percent(p["threshold"], 0))
    elif kind in ("overstates", "understates"):
        values.update(group=group_label(p["group"]), score=_number(p["score"], 2),
                      observed=_number(p["observed"], 2))
    elif kind in ("proxy_features", "proxy_together"):
        values.update(features=", ".join(p.get("features") or []), threshold=_setting(p["threshold"]),
                      basis=basis_text(int(p["accounts"]), bool(p["sampled"])))
    return _(_WARNINGS[kind]).format(**values)


def warning_texts(report: "FairnessReport", settings: RiskSettings | None = None,
                  language: str | None = None) -> list[str]:
    """The report's warnings in ``language`` (default: the current language): the stored English texts
    in English and for a run saved before warnings had codes; otherwise rendered from the codes."""
    with use_language(language or current_language()):
        if current_language() == "en":
            return list(report.warnings)
        codes = [s.get("warning_codes") for s in report.summary]
        if any(c is None for c in codes):
            return list(report.warnings)
        return [render_warning(code) for attribute in codes for code in attribute]


def cutoff_rule_text(report: "FairnessReport", settings: RiskSettings, language: str | None = None) -> str:
    """How "flagged high-risk" was chosen, in ``language``: the stored English rule in English, else
    rebuilt from the settings and the recorded cut-off."""
    with use_language(language or current_language()):
        if current_language() == "en":
            return report.cutoff_rule
        if settings.high_risk_threshold is not None:
            return _("risk score ≥ {threshold}").format(threshold=_number(settings.high_risk_threshold, 2))
        return _("riskiest {share} of accounts (risk score ≥ {threshold})").format(
            share=_percent(settings.high_risk_share, 0), threshold=_number(report.cutoff, 3))


def _warn(summary: dict[str, Any], text: str, code: str, **params: Any) -> None:
    """Record one warning: its English text (as always) and its code with the values to render it."""
    summary["warnings"].append(text)
    summary["warning_codes"].append({"code": code, "params": params})


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
    with limit_threads(settings.thread_count(len(frame))):
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
        texts, codes = _proxy_warnings(column, proxy, settings)
        warnings.extend(texts)
        summary["warning_codes"].extend(codes)
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
        "calibration_gap_groups": [], "warnings": [], "warning_codes": [],
    }
    if summary["small_groups"]:
        _warn(summary, f"{column}: groups {', '.join(summary['small_groups'])} have fewer than "
                       f"{settings.min_group_size} accounts; their figures are not reliable.",
              "small_groups", attribute=column, groups=[str(g) for g in summary["small_groups"]],
              min_size=int(settings.min_group_size))
    if len(compared) < 2:
        _warn(summary, f"{column}: fewer than two groups large enough to compare.", "too_few_groups",
              attribute=column)
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
        _warn(summary,
              f"{column}: adverse impact ratio {ratio:.2f} < {settings.adverse_impact_warning} (group "
              f"{low} is flagged high-risk more often than {high}); a warning for review, not a verdict.",
              "adverse_impact", attribute=column, ratio=ratio, threshold=float(settings.adverse_impact_warning),
              low=str(low), high=str(high))
    parity = summary["demographic_parity_difference"]
    if parity > settings.parity_difference_warning and p_value < 0.05:
        summary["parity_warning"] = True
        _warn(summary,
              f"{column}: flagged high-risk rates differ by {parity:.1%} between groups ({flagged.min():.1%} "
              f"to {flagged.max():.1%}, p = {p_value:.3f}; warning above {settings.parity_difference_warning:.0%} "
              "when not explained by chance).",
              "parity", attribute=column, difference=float(parity), lowest=float(flagged.min()),
              highest=float(flagged.max()), p_value=float(p_value),
              threshold=float(settings.parity_difference_warning))
    summary["disparity_warning"] = bool(summary["adverse_impact_warning"] or summary["parity_warning"])
    # a gap only counts when it is also larger than twice its sampling error (small groups are noisy)
    rate = compared["observed_not_paid_rate"].clip(0.01, 0.99)
    noise = 2 * np.sqrt(rate * (1 - rate) / compared["accounts"])
    gap = compared[(compared["calibration_gap"].abs() > np.maximum(CALIBRATION_GAP_WARNING, noise))]
    summary["calibration_gap_groups"] = gap["group"].tolist()
    for _index, row in gap.iterrows():
        word = "over" if row["calibration_gap"] > 0 else "under"
        _warn(summary,
              f"{column}: for group {row['group']} the score {word}states the observed NOT-paid rate "
              f"({row['mean_risk_score']:.2f} vs {row['observed_not_paid_rate']:.2f}).",
              f"{word}states", attribute=column, group=str(row["group"]), score=float(row["mean_risk_score"]),
              observed=float(row["observed_not_paid_rate"]))
    return summary


def _two_proportion_p(first: pd.Series, second: pd.Series) -> float:
    """Two-sided p-value that two groups' flagged rates differ only by chance (pooled z-test)."""
    n1, n2 = float(first["accounts"]), float(second["accounts"])
    p1, p2 = float(first["flagged_rate"]), float(second["flagged_rate"])
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 1.0 if se == 0 else float(2 * norm.sf(abs(p1 - p2) / se))


def _proxy_warnings(column: str, proxy: pd.DataFrame,
                    settings: RiskSettings) -> tuple[list[str], list[dict[str, Any]]]:
    """The proxy warnings of one attribute: English texts and their codes."""
    flagged_features = proxy.loc[proxy["flagged"] & (proxy["feature"] != "(all features)"), "feature"]
    with use_language("en"):
        basis = proxy_basis(proxy)
    params = {"attribute": column, "threshold": float(settings.proxy_auc_threshold),
              "accounts": int(proxy["accounts"].max()) if len(proxy) else 0,
              "sampled": bool(proxy["sampled"].any()) if len(proxy) else False}
    if len(flagged_features):
        return ([f"{column}: the features {', '.join(flagged_features)} predict it "
                 f"(AUC ≥ {settings.proxy_auc_threshold} {basis}); review them as possible proxies."],
                [{"code": "proxy_features", "params": dict(params, features=[str(f) for f in flagged_features])}])
    if proxy["flagged"].any():
        return ([f"{column}: the features together predict it (AUC ≥ {settings.proxy_auc_threshold} "
                 f"{basis}); the score may carry it indirectly."],
                [{"code": "proxy_together", "params": params}])
    return [], []


def proxy_basis(proxy: pd.DataFrame) -> str:
    """Which accounts a proxy table's AUCs come from, in words ("on a 10,000-account sample")."""
    if proxy.empty:
        return _("on no accounts (too few groups to compare)")
    if "accounts" not in proxy.columns:  # tables saved before the sample size was recorded
        return _("on all usable accounts")
    return basis_text(int(proxy["accounts"].max()), bool(proxy["sampled"].any()))


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
        for k, (_train, test) in enumerate(splitter.split(X, y)):
            folds[test] = k
        for feature in X.columns:
            rows.append((feature, _binned_auc(X[feature].to_numpy(), y, folds)))
        model = HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=8, max_bins=32, early_stopping=False,
                                               random_state=settings.seed)
        with limit_threads(settings.thread_count(len(used))):  # threads for the rows fitted, not the portfolio
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
