"""Data for showing a run: verdict, names in the reader's language, map points, accounts to review (used
by the Personas page and the CLI; the page's texts and tables are in ``application.personas_page``)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from core.i18n import N_, _, use_language
from personas.mapview import persona_label
from personas.names import name_column


def settled_verdict(metrics: dict[str, Any], language: str | None = None,
                    names: dict[int, str] | None = None) -> tuple[bool | None, str]:
    """The plain verdict on a run's personas: (settled?, one sentence for the analyst), in ``language``
    (default: the current one).

    ``metrics`` is ``run.json`` ``metrics``; the confidence is the final fit's stability, lowered when
    k-means told the same number of personas groups the accounts differently (see
    ``personas.discovery.confidence``; ``confidence_limited_by`` says which). ``None`` for runs saved
    before the verdict existed. Personas told apart only by a missing value (``missing_cuts``,
    :mod:`personas.missing_cuts`) make a run not settled and are named, by ``names`` (persona id -> name)
    where given.
    """
    if language is not None:
        with use_language(language):
            return settled_verdict(metrics, names=names)
    from personas.missing_cuts import open_cuts

    settled, text = _confidence_verdict(metrics)
    cuts = metrics.get("missing_cuts") or []
    if settled is None or not cuts:
        return settled, text
    kept = [_("{a} and {b} differ mainly in whether {column} has a value; {user} decided that this is behaviour and "
              "kept them apart.").format(a=_label(c["personas"][0], names), b=_label(c["personas"][1], names),
                                           column=c["column"], user=c["kept_apart_by"])
            for c in cuts if c.get("kept_apart_by")]
    cuts = open_cuts(cuts)
    if not cuts:
        return settled, " ".join([text, *kept])
    if settled:  # stable, but told apart by a missing value
        from core.formats import format_number

        text = _("Personas NOT settled, although fits on other sub-samples and seeds find the same personas "
                 "(confidence {value}, at least {threshold}):").format(
            value=format_number(metrics["confidence"], decimals=2),
            threshold=format_number(metrics.get("settled_threshold", 0.8), decimals=2))
    return False, " ".join([text, *missing_cut_sentences(cuts, names), *kept])


def missing_cut_sentences(cuts: list[dict[str, Any]], names: dict[int, str] | None = None,
                          shown: int = 3) -> list[str]:
    """One sentence per pair of personas told apart only by a missing value (the first ``shown``), and
    what to decide, in the current language."""
    from core.formats import format_count, format_percent

    sentences = []
    for cut in cuts[:shown]:
        (a, b), (share_a, share_b) = cut["personas"], cut["missing_shares"]
        template = (N_("{a} and {b} differ mainly in whether {column} has a value (missing for {share_a} and {share_b} "
                       "of their accounts); too few of them have one to compare them otherwise.")
                    if cut.get("valley_ratio_recorded") is None else
                    N_("{a} and {b} differ mainly in whether {column} has a value (missing for {share_a} and {share_b} "
                       "of their accounts); the accounts that have one look alike in both."))
        sentences.append(_(template).format(a=_label(a, names), b=_label(b, names), column=cut["column"],
                                            share_a=format_percent(share_a, decimals=0),
                                            share_b=format_percent(share_b, decimals=0)))
    if len(cuts) > shown:
        sentences.append(_("{n} more such pairs are listed in run.json (metrics, missing_cuts).").format(
            n=format_count(len(cuts) - shown)))
    sentences.append(_("Every fit finds such a cut alike, so stability cannot say whether the missing value is "
                       "behaviour (an account that never answered) or a gap in the export. Decide before acting on the "
                       "Edit tab: keep the personas apart if it is behaviour (recorded with your name), merge them "
                       "if it is not."))
    return sentences


def _label(persona: int, names: dict[int, str] | None) -> str:
    """``Persona 3 (Digital payers)``, or ``Persona 3`` without a name, in the current language."""
    name = (names or {}).get(int(persona))
    return _("Persona {id} ({name})").format(id=persona, name=name) if name else _("Persona {id}").format(id=persona)


def _confidence_verdict(metrics: dict[str, Any]) -> tuple[bool | None, str]:
    """The verdict of the confidence alone (stability, lowered by the k-means agreement), in the current
    language."""
    from core.formats import format_number

    value, threshold = metrics.get("confidence"), metrics.get("settled_threshold", 0.8)
    settled = None if metrics.get("settled") is None or value is None else bool(value >= threshold)
    if settled is None:
        return None, _("Settled: unknown (this run was saved before confidence was measured; find the personas again).")
    shown = {"value": format_number(value, decimals=2),
             "threshold": format_number(threshold, decimals=2)}
    if settled:
        return True, _("Personas settled: confidence {value} (at least {threshold}); fits on other sub-samples and "
                        "seeds find the same personas.").format(**shown)
    if metrics.get("confidence_limited_by") == "kmeans_agreement":
        agreement = format_number(metrics.get("kmeans_agreement") or 0.0, decimals=2)
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
