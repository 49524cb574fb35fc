"""Tables and chart data for showing a run (used by the Personas page; no streamlit here)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from core.i18n import _, use_language
from personas.mapview import persona_label
from personas.names import display_descriptors, display_name, name_column


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def settled_verdict(metrics: dict[str, Any], language: str | None = None) -> tuple[bool | None, str]:
    """The plain verdict on a run's personas: (settled?, one sentence for the analyst), in ``language``
    (default: the current one).

    ``metrics`` is ``run.json`` ``metrics``; the confidence is the final fit's stability, lowered when
    k-means told the same number of personas groups the accounts differently (see
    ``personas.discovery.confidence``; ``confidence_limited_by`` says which). ``None`` for runs saved
    before the verdict existed.
    """
    if language is not None:
        with use_language(language):
            return settled_verdict(metrics)
    from core.formats import format_number

    settled, value = metrics.get("settled"), metrics.get("confidence")
    threshold = metrics.get("settled_threshold", 0.8)
    if settled is None or value is None:
        return None, _("Settled: unknown (this run was saved before confidence was measured; find the personas again).")
    shown = {"value": format_number(value, language, decimals=2),
             "threshold": format_number(threshold, language, decimals=2)}
    if settled:
        return True, _("Personas settled: confidence {value} (at least {threshold}); fits on other sub-samples and "
                        "seeds find the same personas.").format(**shown)
    if metrics.get("confidence_limited_by") == "kmeans_agreement":
        agreement = format_number(metrics.get("kmeans_agreement") or 0.0, language, decimals=2)
        return False, _("Personas NOT settled: confidence {value} (below {threshold}); k-means told the same number "
                         "of personas groups the accounts differently (agreement {agreement}), so a persona may "
                         "hold several behaviours. Treat them as a draft: try another seed or fewer columns, and "
                         "look at the largest persona before acting on it.").format(agreement=agreement, **shown)
    return False, _("Personas NOT settled: confidence {value} (below {threshold}); fits on other sub-samples and "
                     "seeds find different personas. Treat them as a draft: try another seed, more fitted accounts "
                     "or fewer columns before acting on them.").format(**shown)


def with_names(accounts: pd.DataFrame, language: str | None = None) -> pd.DataFrame:
    """``accounts`` with ``persona_name`` in ``language`` (default: the current language), for tables and
    the map; the run's own frame is not changed. A run saved with one language keeps its names."""
    column = name_column(accounts.columns, language)
    if column == "persona_name":
        return accounts
    return accounts.assign(persona_name=accounts[column])


def card(profile: dict[str, Any], top: int = 3, language: str | None = None) -> dict[str, Any]:
    """What a persona card shows: name, size, shares, outcomes and its top distinguishing features."""
    features = [f"{d['feature']} {'↑' if d['direction'] == 'higher' else '↓'} "
                f"({_num(d['persona_value'], 2)} vs {_num(d['portfolio_value'], 2)})"
                for d in profile["distinguishing"][:top]]
    return {"id": profile["persona_id"], "name": display_name(profile, language), "size": f"{profile['size']:,}",
            "share_accounts": _pct(profile["share_accounts"]), "share_balance": _pct(profile["share_balance"]),
            "pay_rate": _pct(profile.get("pay_rate")), "mean_recovery": _num(profile.get("mean_recovery"), 2),
            "mean_risk_score": _pct(profile.get("mean_risk_score")), "features": features,
            "needs_review": profile["needs_review_count"],
            "descriptors": " · ".join(display_descriptors(profile, language))}


def comparison_table(profiles: list[dict[str, Any]], persona_ids: list[int],
                     language: str | None = None) -> pd.DataFrame:
    """Side-by-side persona figures and feature medians (rows) for the chosen personas (columns)."""
    chosen = [p for p in profiles if p["persona_id"] in set(persona_ids)]
    if not chosen:
        return pd.DataFrame()
    rows: dict[str, dict[str, Any]] = {}
    for p in chosen:
        column = f"{p['persona_id']}: {display_name(p, language)}"
        figures = {"accounts": f"{p['size']:,}", "share of accounts": _pct(p["share_accounts"]),
                   "share of balance": _pct(p["share_balance"]), "pay rate": _pct(p.get("pay_rate")),
                   "mean recovery": _num(p.get("mean_recovery"), 2),
                   "mean risk score (P not paid)": _pct(p.get("mean_risk_score")),
                   "needs review": str(p["needs_review_count"])}
        for feature, medians in p["medians"].items():
            figures[f"median {feature}"] = _num(medians["persona"], 2)
        rows[column] = figures
    table = pd.DataFrame(rows)
    table["portfolio"] = pd.Series({f"median {f}": _num(m["portfolio"], 2)
                                    for f, m in chosen[0]["medians"].items()})
    return table.fillna("")


def search_table(meta: dict[str, Any]) -> pd.DataFrame:
    """The settings search as a table (one row per setting tried)."""
    search = meta.get("settings_search") or {}
    table = pd.DataFrame(search.get("table", []))
    if table.empty:
        return table
    table = table.rename(columns={"min_cluster_share": "min cluster share",
                                  "min_cluster_size_full": "min cluster size",
                                  "n_neighbors": "neighbours", "noise_share": "noise share",
                                  "stability_ari": "stability (ARI)", "relative_validity": "relative validity"})
    return table


def map_points(accounts: pd.DataFrame, frame: pd.DataFrame, language: str | None = None) -> pd.DataFrame:
    """Display-sample accounts with map coordinates, persona (named in ``language``), balance and days
    past due for tooltips."""
    shown = with_names(accounts[accounts["x"].notna()], language)
    extra = frame[["account_id", "balance", "days_past_due"]].copy()
    extra["account_id"] = extra["account_id"].astype(str)
    points = shown.merge(extra, on="account_id", how="left")
    points["persona"] = persona_label(points["persona_id"], points["persona_name"])
    return points


def review_accounts(accounts: pd.DataFrame, frame: pd.DataFrame, roles: Any, limit: int = 500,
                    language: str | None = None) -> pd.DataFrame:
    """Accounts flagged ``needs_review`` (lowest membership first) with PII masked.

    Only the rows shown are masked (masking is per value in Python: ~1 s per 100,000 accounts,
    paid on every rerun of the page if the whole portfolio were masked).
    """
    from portfolio.mask import mask_pii

    flagged = with_names(accounts[accounts["needs_review"]].sort_values("membership_probability").head(limit),
                         language)
    keep = ["account_id", "persona_id", "persona_name", "membership_probability"]
    ids = frame["account_id"].astype(str).to_numpy()
    rows = pd.Series(ids).isin(flagged["account_id"].astype(str)).to_numpy()
    shown = frame[rows].assign(account_id=ids[rows])
    return flagged[keep].merge(mask_pii(shown, roles), on="account_id", how="left")


def edits_table(recorded: list[dict[str, Any]]) -> pd.DataFrame:
    """The analyst edits of a run: when, who, what."""
    rows = []
    for edit in recorded:
        detail = {k: v for k, v in edit.items() if k not in ("action", "user", "at")}
        rows.append({"at (UTC)": edit["at"], "user": edit["user"], "edit": edit["action"],
                     "details": ", ".join(f"{k}={v}" for k, v in detail.items() if v is not None)})
    return pd.DataFrame(rows)
