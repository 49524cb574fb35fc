"""What the Personas page shows of a run: its captions, persona cards, tables and labels (no streamlit here).

The page (``app_pages/2_personas.py``) lays out widgets; these functions choose the texts and build the
tables from a run (its ``meta``, ``accounts``, ``profiles`` and ``edits``), in the reader's language:
texts through ``_()`` (the language the page set), figures through ``core.formats`` with ``language``.
Kept apart from the page so that what a reader sees can be tested without a browser or ``AppTest``.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from core.formats import (MISSING, format_count, format_money, format_number, format_percent, format_timestamp,
                          zone_label)
from core.i18n import N_, _
from core.text import defang_markdown, escape_markdown
from explain.reasons import feature_label
from personas.mapview import PLACEMENT_NEIGHBOURS, POINTS_LIMIT
from personas.names import display_descriptors, display_name

#: Analyst edits in words (English catalogue source; shown with :func:`edit_label`).
EDIT_LABELS = {"rename": N_("renamed"), "merge": N_("merged"), "split": N_("split"), "reduce": N_("reduced"),
               "keep_apart": N_("kept apart")}
#: Headers of the settings-search table (shown with :func:`search_column_label`).
SEARCH_COLUMNS = {"n_neighbors": N_("Neighbours"), "min_cluster_share": N_("Min cluster share"),
                  "min_cluster_size_full": N_("Min cluster size"), "personas": N_("Personas"),
                  "noise_share": N_("Noise share"), "stability_ari": N_("Stability (ARI)"),
                  "relative_validity": N_("Relative validity"), "score": N_("Score"), "chosen": N_("Chosen")}
#: Headers of the review list's own columns; the masked portfolio columns are named by :func:`feature_label`.
REVIEW_COLUMNS = {"account_id": N_("Account id"), "persona_id": N_("Persona"), "persona_name": N_("Persona name"),
                  "membership_probability": N_("Membership probability")}
#: The outcome figures of a persona: (profile key, row label, how it is written); cards and comparison agree.
OUTCOMES = (("pay_rate", N_("Pay rate"), "percent"), ("mean_recovery", N_("Mean recovery"), "money"),
            ("mean_risk_score", N_("Mean risk score (P NOT paid)"), "percent"))
#: The same outcomes as one phrase each on a persona card (joined with " · ").
CARD_OUTCOMES = {"pay_rate": N_("Pay rate {value}"), "mean_recovery": N_("mean recovery {value}"),
                 "mean_risk_score": N_("mean risk score {value}")}


def edit_label(action: str) -> str:
    """An edit's action in the reader's language; an action this version does not know stays as saved."""
    return _(EDIT_LABELS[action]) if action in EDIT_LABELS else action


def search_column_label(key: str) -> str:
    """A settings-search column's header; a column added by a later version keeps its key."""
    return _(SEARCH_COLUMNS[key]) if key in SEARCH_COLUMNS else key


def review_column_label(key: str, language: str) -> str:
    """A review-list column's header: the run's own columns by name, portfolio columns (snake_case) by their
    readable feature name, anything else (a column named by the portfolio's file) as it is."""
    if key in REVIEW_COLUMNS:
        return _(REVIEW_COLUMNS[key])
    return feature_label(key, language) if key.isidentifier() and key == key.lower() else key


def open_cut_choices(metrics: dict[str, Any], profiles: list[dict], language: str) -> dict[str, tuple[list[int], str]]:
    """The pairs told apart only by a missing value that no one has decided on, for the Edit tab's
    "keep apart" choice: ``{label: (persona ids, column)}``."""
    from personas.missing_cuts import open_cuts

    label = persona_labels(profiles, language)
    return {_("{a} and {b} ({column})").format(a=label.get(c["personas"][0], c["personas"][0]),
                                               b=label.get(c["personas"][1], c["personas"][1]), column=c["column"]):
            (list(c["personas"]), c["column"]) for c in open_cuts(metrics.get("missing_cuts"))}


def persona_labels(profiles: list[dict], language: str) -> dict[int, str]:
    """``{persona_id: "id: name"}``, the label of a persona in pickers and as a comparison column."""
    return {p["persona_id"]: f"{p['persona_id']}: {display_name(p, language)}" for p in profiles}


# ---------------------------------------------------------------------------- what was found
def excluded_rows(rows: dict[str, Any]) -> int:
    """Rows of the file left out of the run: the per-reason counts when saved, else read minus used (older runs)."""
    if isinstance(rows.get("excluded"), dict):
        return sum(int(n) for n in rows["excluded"].values())
    return int(rows.get("read", 0)) - int(rows.get("used", 0))


def run_caption(run: Any, language: str) -> str:
    """The line under the settings: portfolio, rows read/used/excluded/fitted, outcome column, run (and the
    run it edits), so that a figure on the page can be traced to its run folder."""
    meta, rows = run.meta, run.meta["rows"]
    target = meta["parameters"]["settings"].get("target")
    excluded = excluded_rows(rows)
    parts = [_("Portfolio **{name}**").format(name=escape_markdown(meta["source_name"])),
             _("{read} rows read, {used} used").format(read=format_count(rows.get("read"), language),
                                                       used=format_count(rows.get("used"), language)),
             *([_("{n} excluded").format(n=format_count(excluded, language))] if excluded else []),
             _("fitted on {n}").format(n=format_count(rows["fitted"], language)),
             (_("outcome column: {column}").format(column=escape_markdown(target)) if target
              else _("outcome column: none (choose one on the Portfolio page)")),
             _("run `{run}`").format(run=run.run_id)]
    if run.parent_run_id:
        parts.append(_("{n} edit(s), edit of run `{run}`").format(n=len(run.edits), run=run.parent_run_id))
    return " · ".join(parts)


# ---------------------------------------------------------------------------- the map
def map_view_labels(n_sample: int, language: str) -> dict[str, str]:
    """The two map views in words, the points view with the size of the display sample it draws."""
    return {"points": _("Points (display sample of {n})").format(n=format_count(n_sample, language)),
            "aggregated": _("All accounts, aggregated on the server")}


def points_title(shown: int, total: int, language: str) -> str:
    """The point map's title: how many of the run's accounts are drawn, saying when it is only the sample."""
    text = (_("{shown} of {total} accounts drawn as points (display sample)") if shown < total
            else _("{shown} of {total} accounts drawn as points"))
    return text.format(shown=format_count(shown, language), total=format_count(total, language))


def cells_title(cells: pd.DataFrame, language: str) -> str:
    """The aggregated map's title: the accounts counted in its cells and the number of cells."""
    return _("{total} accounts drawn as {cells} cells (aggregated on the server)").format(
        total=format_count(int(cells["count"].sum()), language), cells=format_count(len(cells), language))


def map_caption(shown: int, total: int, n_sample: int, n_accounts: int, aggregated: bool, language: str) -> str:
    """What the map under the chart draws and how to read it: the share of accounts on it, what a cell's colour
    means, where accounts outside the display sample were placed, and what positions mean."""
    caption = [(_("Map of {shown} of {total} accounts (display sample).") if shown < total
                else _("Map of {shown} of {total} accounts.")).format(shown=format_count(shown, language),
                                                                     total=format_count(total, language))]
    if aggregated:
        caption.append(_("Each cell is coloured by its most common persona; pale cells mix personas."))
        if shown == total and n_sample < n_accounts:
            caption.append(_("Accounts outside the display sample sit at the mean position of their {k} nearest "
                             "sample accounts in feature space.").format(k=PLACEMENT_NEIGHBOURS))
    caption.append(_("Position is a 2-D UMAP of the features; nearby accounts behave alike, distances between "
                     "clumps mean little. The map opens as points up to {limit} accounts and aggregated above.")
                   .format(limit=format_count(POINTS_LIMIT, language)))
    return " ".join(caption)


# ---------------------------------------------------------------------------- persona cards
def median_figure(value: Any, language: str) -> str:
    """A median as people write it: whole numbers without decimals (16, not 16.00)."""
    try:
        whole = float(value).is_integer()
    except (TypeError, ValueError):
        whole = False
    return format_number(value, language, 0 if whole else 2)


def feature_line(entry: dict, medians: dict, language: str) -> str:
    """One distinguishing feature in words: its readable name, the direction, and both figures explained
    (medians for a number column, shares for a yes/no flag or one level of a category)."""
    name = feature_label(str(entry.get("feature", "")), language)
    higher = entry.get("direction") == "higher"
    arrow = _("higher than in the portfolio") if higher else _("lower than in the portfolio")
    if entry.get("feature") in medians:
        figures = _("median {persona} here, {portfolio} in the portfolio").format(
            persona=median_figure(entry.get("persona_value"), language),
            portfolio=median_figure(entry.get("portfolio_value"), language))
    else:
        figures = _("{persona} of these accounts, {portfolio} of the portfolio").format(
            persona=format_percent(entry.get("persona_value"), language),
            portfolio=format_percent(entry.get("portfolio_value"), language))
    return f"{defang_markdown(name)} {'↑' if higher else '↓'} {arrow} ({figures})"


def _outcome(value: Any, kind: str, currency: Any, language: str) -> str:
    return format_money(value, currency, language) if kind == "money" else format_percent(value, language)


def card(profile: dict, currency: Any, language: str, top: int = 3) -> dict[str, str]:
    """The texts of a persona's card (Markdown, ``""`` for a part that is not shown): ``title``,
    ``descriptors``, ``size``, ``outcomes`` (only those the portfolio has), ``features`` (a list of the
    ``top`` distinguishing features) and ``review`` (how many of its accounts need review)."""
    outcomes = [_(CARD_OUTCOMES[key]).format(value=_outcome(profile[key], kind, currency, language))
                for key, _label, kind in OUTCOMES if profile.get(key) is not None]
    medians = profile.get("medians") or {}
    descriptors = display_descriptors(profile, language)
    return {
        "title": f"**{profile['persona_id']} · {escape_markdown(display_name(profile, language))}**",
        "descriptors": defang_markdown(" · ".join(descriptors)) if descriptors else "",
        "size": _("{n} accounts ({share}) · {balance} of the balance").format(
            n=format_count(profile["size"], language), share=format_percent(profile["share_accounts"], language),
            balance=format_percent(profile["share_balance"], language)),
        "outcomes": " · ".join(outcomes),
        "features": "\n".join(f"- {feature_line(d, medians, language)}"
                              for d in profile.get("distinguishing", [])[:top]),
        "review": (_("{n} accounts need review").format(n=format_count(profile["needs_review_count"], language))
                   if profile.get("needs_review_count") else ""),
    }


# ---------------------------------------------------------------------------- comparison
def _figures_column(figures: dict[str, Any], currency: Any, language: str) -> dict[str, str]:
    """A comparison column's figure rows (size, shares, the outcomes present, review count), in one order
    for a persona and for the whole portfolio."""
    column = {_("Accounts"): format_count(figures["size"], language),
              _("Share of accounts"): format_percent(figures["share_accounts"], language),
              _("Share of the balance"): format_percent(figures["share_balance"], language)}
    for key, label, kind in OUTCOMES:
        if figures.get(key) is not None:
            column[_(label)] = _outcome(figures[key], kind, currency, language)
    column[_("Need review")] = format_count(figures["needs_review_count"], language)
    return column


def portfolio_figures(profiles: list[dict], n_accounts: int) -> dict[str, Any]:
    """The whole portfolio's figures from its personas': every account, all of the balance, and each outcome
    as the personas' values weighted by size (``None`` when a persona lacks it)."""
    sizes = sum(p["size"] for p in profiles) or 1

    def overall(key: str) -> float | None:
        if any(p.get(key) is None for p in profiles):
            return None
        return sum(p[key] * p["size"] for p in profiles) / sizes

    return {"size": n_accounts, "share_accounts": 1.0, "share_balance": 1.0,
            **{key: overall(key) for key, _label, _kind in OUTCOMES},
            "needs_review_count": sum(p["needs_review_count"] for p in profiles)}


def comparison_table(profiles: list[dict], chosen: list[int], n_accounts: int, currency: Any,
                     language: str) -> pd.DataFrame:
    """Figures (rows) of the chosen personas (columns, labelled by :func:`persona_labels`), with the whole
    portfolio's beside them: outcomes, medians and the share of accounts without a value per column that
    has missing values; a figure a column lacks is ``MISSING``."""
    label = persona_labels(profiles, language)
    portfolio_column = _figures_column(portfolio_figures(profiles, n_accounts), currency, language)
    table: dict[str, dict[str, str]] = {}
    chosen_profiles = [p for p in profiles if p["persona_id"] in set(chosen)]  # in the run's order
    for p in chosen_profiles:
        column = _figures_column(p, currency, language)
        for feature, medians in (p.get("medians") or {}).items():
            row = _("Median: {feature}").format(feature=feature_label(feature, language))
            column[row] = median_figure(medians.get("persona"), language)
            portfolio_column[row] = median_figure(medians.get("portfolio"), language)
        for feature, shares in (p.get("missing_shares") or {}).items():  # what a missing-value cut is about
            row = _("Without a value: {feature}").format(feature=feature_label(feature, language))
            column[row] = format_percent(shares.get("persona"), language)
            portfolio_column[row] = format_percent(shares.get("portfolio"), language)
        table[label[p["persona_id"]]] = column
    frame = pd.DataFrame(table)
    frame[_("Whole portfolio")] = pd.Series(portfolio_column)
    return frame.fillna(MISSING)


# ---------------------------------------------------------------------------- settings search
def search_verdict(meta: dict[str, Any], language: str) -> str:
    """Why the run has its number of personas, from its settings search: none recorded, search off, no setting
    stable enough (defaults kept), or the best-scoring setting of those tried."""
    search = meta.get("settings_search") or {}
    tried, chosen = len(search.get("table") or []), search.get("chosen") or {}
    n = meta["metrics"]["personas"]
    if not tried:
        return _("**Why {n} personas:** no settings search recorded.").format(n=n)
    if tried == 1:
        return _("**Why {n} personas:** the settings search was off; the configured setting was fitted and "
                 "its stability measured.").format(n=n)
    if chosen.get("score") is None:
        return _("**Why {n} personas:** no setting gave two or more stable personas; the configured defaults "
                 "were kept.").format(n=n)
    return _("**Why {n} personas:** the chosen setting (neighbours {nn}, min cluster share {share}) had the "
             "highest score of the {tried} settings tried.").format(
        n=n, nn=chosen.get("n_neighbors"), share=format_percent(chosen.get("min_cluster_share"), language),
        tried=tried)


def search_rows_caption(meta: dict[str, Any], language: str) -> str:
    """Why the search's figures differ from the final fit's: they were measured on sub-samples (of this size)."""
    sub_rows = (meta["parameters"]["settings"].get("discovery") or {}).get("search_rows")
    return _("The search compares settings on sub-samples of {rows} accounts, so its figures (personas, "
             "noise, relative validity) differ from the final fit's figures at the top of the page, which "
             "are measured on all fitted accounts.").format(rows=format_count(sub_rows, language)
                                                             if sub_rows else MISSING)


def search_table(meta: dict[str, Any], language: str) -> pd.DataFrame:
    """The settings tried (one row each) with shares as percentages, scores to three decimals and a tick on
    the chosen one; empty when the run recorded no search. Headers: :func:`search_column_label`."""
    shown = pd.DataFrame((meta.get("settings_search") or {}).get("table", []))
    for column in ("min_cluster_share", "noise_share"):
        if column in shown:
            shown[column] = shown[column].map(lambda v: format_percent(v, language))
    for column in ("stability_ari", "relative_validity", "score"):
        if column in shown:
            shown[column] = shown[column].map(lambda v: format_number(v, language, 3))
    if "chosen" in shown:
        shown["chosen"] = shown["chosen"].map(lambda v: "✓" if v else "")
    return shown


# ---------------------------------------------------------------------------- edits and review
def edits_table(recorded: list[dict[str, Any]], language: str, zone: Any) -> pd.DataFrame:
    """The run's analyst edits (columns ``at``, ``user``, ``edit``, ``details``): the time in the reader's
    time ``zone``, the action in words and the edit's other settings as ``key=value``."""
    return pd.DataFrame([{
        "at": format_timestamp(edit.get("at"), language, zone), "user": edit.get("user"),
        "edit": edit_label(str(edit.get("action"))),
        "details": ", ".join(f"{k}={v}" for k, v in edit.items()
                             if k not in ("action", "user", "at") and v is not None)} for edit in recorded])


def edits_column_labels(zone: Any) -> dict[str, str]:
    """Headers of :func:`edits_table`, the time's with the zone it is written in."""
    return {"at": _("Time ({zone})").format(zone=zone_label(zone)), "user": _("User"), "edit": _("Edit"),
            "details": _("Details")}


def review_caption(n_review: int, n_shown: int, language: str) -> str:
    """What the review list holds: why accounts are on it, how many there are and how many are shown."""
    return (_("{n} accounts need review: membership probability below the threshold, noise in the fitted "
              "sample, or far from every persona. PII is masked. Showing up to {shown}, least certain first.")
            .format(n=format_count(n_review, language), shown=format_count(n_shown, language)))
