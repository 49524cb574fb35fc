"""Data for showing a run: verdict, names in the reader's language, map points, accounts to review (used
by the Personas page and the CLI; the page's texts and tables are in ``application.personas_page``)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from core.i18n import _, use_language
from personas.mapview import persona_label
from personas.names import name_column


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
