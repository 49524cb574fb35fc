"""Personas: the map, a card per persona, comparison, the settings search, analyst edits, review list.

Discovery runs in ``application.pipeline`` through the cache in ``app_pages._personas_ui.run_cached``, and only
when the analyst presses "Find personas" (or when a run of this portfolio with these settings exists already:
then it is shown, never recomputed). Edits are applied by ``application.pipeline.apply_edit`` and saved as a
new run folder. This page only lays things out.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._numbers import number_columns
from app_pages._personas_ui import all_accounts_on_map, finished_run, record_saved_run, run_cached
from app_pages._state import (browser_time_zone, current_portfolio, current_run, current_settings, current_user,
                              page_language, portfolio_choice, require_role, show_error)
from application.pipeline import apply_edit
from core.charts import fit_width
from core.errors import UserError
from core.formats import (MISSING, format_count, format_money, format_number, format_percent, format_timestamp,
                          time_zone, zone_label)
from core.i18n import N_, _
from core.text import defang_markdown, escape_markdown
from core.workspace import runs_dir
from explain.reasons import feature_label
from personas import edits, mapview, views
from personas.names import display_descriptors, display_name
from portfolio.currency import currency_of_run

EDIT_LABELS = {"rename": N_("renamed"), "merge": N_("merged"), "split": N_("split"), "reduce": N_("reduced")}


def edit_label(action: str) -> str:
    return _(EDIT_LABELS[action]) if action in EDIT_LABELS else action


require_role()
language = page_language()
st.title(_("Personas"))
st.caption(_("Groups of debtors who behave alike, found by UMAP + HDBSCAN on behavioural columns only "
             "(never PII, age, gender or outcomes). Personas are proposals for people to check."))

# ---------------------------------------------------------------- settings and the explicit action
try:
    portfolio = current_portfolio()
except UserError as err:
    show_error(err)
    st.stop()

with st.container(border=True):
    # Persona names come in English and German in every run and follow the page's language (Account page):
    # the language is no run setting, so changing it never finds personas again.
    seed_col, search_col, button_col = st.columns([1.4, 1.8, 1.2], vertical_alignment="bottom")
    seed_col.number_input(_("Seed (same seed, same personas)"), min_value=0, step=1, key="seed_choice",
                          value=int(st.session_state.get("seed", 42)))
    search_col.toggle(_("Search the settings first"), key="search_choice",
                      value=bool(st.session_state.get("search", True)),
                      help=_("Tries several cluster sizes and neighbourhood widths on sub-samples and keeps the "
                             "best-scoring one; off: the configured defaults, about twice as fast."))
    find = button_col.button(_("Find personas"), type="primary", key="find_personas", width="stretch")
st.session_state["seed"] = int(st.session_state["seed_choice"])
st.session_state["search"] = bool(st.session_state["search_choice"])

settings, mapping_json = current_settings(), portfolio_choice().mapping_json
try:
    base = finished_run(portfolio, settings, mapping_json, current_run())
except UserError:
    base = None  # the chosen run cannot be read: it is not this portfolio's run either
if find:
    try:
        base = run_cached(portfolio, settings, mapping_json)
    except UserError as err:
        show_error(err)
        st.stop()
if base is None:
    st.info(_("No personas for **{name}** with these settings yet. Check the seed and the settings search, then "
              "press **Find personas**; a run of a few thousand accounts takes about a minute. The run is saved "
              "and recorded in the audit log; its persona names come in English and German and follow the "
              "language chosen on the Account page.").format(
        name=escape_markdown(portfolio_choice().filename)))
    st.stop()

edited_dir = st.session_state.get("persona_edited_dir")
if edited_dir and st.session_state.get("persona_edited_base") == base.run_id:
    st.session_state["run_dir"] = edited_dir
    run = current_run()
else:
    st.session_state["run_dir"] = str(runs_dir() / base.run_id)
    run = base
meta, metrics = run.meta, run.meta["metrics"]
currency = currency_of_run(meta)

# ---------------------------------------------------------------- what was found
target = meta["parameters"]["settings"].get("target")
rows = meta["rows"]
excluded = (sum(int(n) for n in rows["excluded"].values()) if isinstance(rows.get("excluded"), dict)
            else int(rows.get("read", 0)) - int(rows.get("used", 0)))
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
st.caption(" · ".join(parts))

cols = st.columns(5)
cols[0].metric(_("Personas"), metrics["personas"])
cols[1].metric(_("Noise share"), format_percent(metrics["noise_share"], language),
               help=_("Accounts HDBSCAN left unassigned in the fitted sample. They are kept: each gets its most "
                      "likely persona and is marked for review."))
if metrics.get("stability_ari") is not None:
    cols[2].metric(_("Stability (ARI)"), format_number(metrics["stability_ari"], language),
                   help=_("Adjusted Rand index between the final personas and fits on sub-samples with other seeds "
                          "(1 = identical); the run's confidence."))
if metrics.get("relative_validity") is not None:
    cols[3].metric(_("Relative validity"), format_number(metrics["relative_validity"], language),
                   help=_("HDBSCAN's DBCV approximation; higher = better separated."))
cols[4].metric(_("Needs review"), format_percent(metrics["needs_review_share"], language),
               help=_("Share of accounts a person should look at: uncertain persona, noise in the fitted sample, "
                      "or far from every persona."))
settled, verdict = views.settled_verdict(metrics)
{None: st.info, True: st.success, False: st.warning}[settled](verdict)
if "truth_ari" in metrics:
    st.caption(_("Agreement with the planted labels (truth ARI): {value}").format(
        value=format_number(metrics["truth_ari"], language)))

tab_map, tab_cards, tab_compare, tab_search, tab_edit, tab_review = st.tabs(
    [_("Map"), _("Personas"), _("Compare"), _("Settings search"), _("Edit"), _("Needs review")])

with tab_map:
    n_accounts = len(run.accounts)
    n_sample = int(run.accounts["x"].notna().sum())
    view = st.radio(_("Map shows"), ["points", "aggregated"], horizontal=True, key="map_view",
                    index=0 if mapview.default_map_view(n_accounts) == "points" else 1,
                    format_func={"points": _("Points (display sample of {n})").format(
                                     n=format_count(n_sample, language)),
                                 "aggregated": _("All accounts, aggregated on the server")}.get)
    named = views.with_names(run.accounts, language)  # the legend in the page's language
    scale = mapview.persona_scale(named)
    if view == "points":
        points = views.map_points(run.accounts, portfolio.frame, language)
        chart = mapview.point_chart(points, scale, n_accounts)
        title = (_("{shown} of {total} accounts drawn as points (display sample)") if len(points) < n_accounts
                 else _("{shown} of {total} accounts drawn as points")).format(
            shown=format_count(len(points), language), total=format_count(n_accounts, language))
        shown, total, cells = len(points), n_accounts, None
    else:
        placed = all_accounts_on_map(run, portfolio)
        cells = mapview.aggregate_map(placed, mapview.MAP_BINS)
        chart = mapview.cell_chart(cells, scale)
        title = _("{total} accounts drawn as {cells} cells (aggregated on the server)").format(
            total=format_count(int(cells["count"].sum()), language), cells=format_count(len(cells), language))
        shown, total = int(placed["x"].notna().sum()), len(placed)
    titled = chart.properties(title=title)
    st.altair_chart(fit_width(titled), width="stretch")
    caption = [(_("Map of {shown} of {total} accounts (display sample).") if shown < total
                else _("Map of {shown} of {total} accounts.")).format(shown=format_count(shown, language),
                                                                     total=format_count(total, language))]
    if cells is not None:
        caption.append(_("Each cell is coloured by its most common persona; pale cells mix personas."))
        if shown == total and n_sample < n_accounts:
            caption.append(_("Accounts outside the display sample sit at the mean position of their {k} nearest "
                             "sample accounts in feature space.").format(k=mapview.PLACEMENT_NEIGHBOURS))
    caption.append(_("Position is a 2-D UMAP of the features; nearby accounts behave alike, distances between "
                     "clumps mean little. The map opens as points up to {limit} accounts and aggregated above.")
                   .format(limit=format_count(mapview.POINTS_LIMIT, language)))
    st.caption(" ".join(caption))


def _figure(value) -> str:
    """A median as people write it: whole numbers without decimals (16, not 16.00)."""
    try:
        whole = float(value).is_integer()
    except (TypeError, ValueError):
        whole = False
    return format_number(value, language, 0 if whole else 2)


def _feature_line(entry: dict, medians: dict) -> str:
    """One distinguishing feature in words: its readable name, the direction, and both figures explained."""
    name = feature_label(str(entry.get("feature", "")), language)
    if entry.get("direction") == "higher":
        arrow = _("higher than in the portfolio")
    else:
        arrow = _("lower than in the portfolio")
    if entry.get("feature") in medians:  # a number column: medians
        figures = _("median {persona} here, {portfolio} in the portfolio").format(
            persona=_figure(entry.get("persona_value")), portfolio=_figure(entry.get("portfolio_value")))
    else:  # a yes/no flag or one level of a category: shares
        figures = _("{persona} of these accounts, {portfolio} of the portfolio").format(
            persona=format_percent(entry.get("persona_value"), language),
            portfolio=format_percent(entry.get("portfolio_value"), language))
    return f"{defang_markdown(name)} {'↑' if entry.get('direction') == 'higher' else '↓'} {arrow} ({figures})"


with tab_cards:
    st.caption(_("Each card lists the persona's size, its outcomes where the portfolio has them, and the three "
                 "features that set it apart most from the whole portfolio (↑ higher, ↓ lower)."))
    grid = st.columns(3)
    for i, profile in enumerate(run.profiles):
        with grid[i % 3].container(border=True):
            st.markdown(f"**{profile['persona_id']} · {escape_markdown(display_name(profile, language))}**")
            if display_descriptors(profile, language):
                st.caption(defang_markdown(" · ".join(display_descriptors(profile, language))))
            st.markdown(_("{n} accounts ({share}) · {balance} of the balance").format(
                n=format_count(profile["size"], language), share=format_percent(profile["share_accounts"], language),
                balance=format_percent(profile["share_balance"], language)))
            outcomes = []
            if profile.get("pay_rate") is not None:
                outcomes.append(_("Pay rate {value}").format(value=format_percent(profile["pay_rate"], language)))
            if profile.get("mean_recovery") is not None:
                outcomes.append(_("mean recovery {value}").format(
                    value=format_money(profile["mean_recovery"], currency, language)))
            if profile.get("mean_risk_score") is not None:
                outcomes.append(_("mean risk score {value}").format(
                    value=format_percent(profile["mean_risk_score"], language)))
            if outcomes:
                st.markdown(" · ".join(outcomes))
            medians = profile.get("medians") or {}
            st.markdown("\n".join(f"- {_feature_line(d, medians)}" for d in profile.get("distinguishing", [])[:3]))
            if profile.get("needs_review_count"):
                st.caption(_("{n} accounts need review").format(
                    n=format_count(profile["needs_review_count"], language)))

persona_ids = [p["persona_id"] for p in run.profiles]
label = {p["persona_id"]: f"{p['persona_id']}: {display_name(p, language)}" for p in run.profiles}


def comparison_table(profiles: list[dict], chosen: list[int]) -> pd.DataFrame:
    """Figures (rows) of the chosen personas (columns), with the whole portfolio's beside them."""
    chosen_profiles = [p for p in profiles if p["persona_id"] in set(chosen)]
    table: dict[str, dict[str, str]] = {}
    portfolio_column: dict[str, str] = {}
    portfolio_column[_("Accounts")] = format_count(len(run.accounts), language)
    portfolio_column[_("Share of accounts")] = format_percent(1.0, language)
    portfolio_column[_("Share of the balance")] = format_percent(1.0, language)
    sizes = sum(p["size"] for p in profiles) or 1

    def overall(key: str):  # the whole portfolio's figure: the personas' figures weighted by size
        if any(p.get(key) is None for p in profiles):
            return None
        return sum(p[key] * p["size"] for p in profiles) / sizes

    if overall("pay_rate") is not None:
        portfolio_column[_("Pay rate")] = format_percent(overall("pay_rate"), language)
    if overall("mean_recovery") is not None:
        portfolio_column[_("Mean recovery")] = format_money(overall("mean_recovery"), currency, language)
    if overall("mean_risk_score") is not None:
        portfolio_column[_("Mean risk score (P NOT paid)")] = format_percent(overall("mean_risk_score"), language)
    portfolio_column[_("Need review")] = format_count(sum(p["needs_review_count"] for p in profiles), language)
    for p in chosen_profiles:
        column = {_("Accounts"): format_count(p["size"], language),
                  _("Share of accounts"): format_percent(p["share_accounts"], language),
                  _("Share of the balance"): format_percent(p["share_balance"], language)}
        if p.get("pay_rate") is not None:
            column[_("Pay rate")] = format_percent(p["pay_rate"], language)
        if p.get("mean_recovery") is not None:
            column[_("Mean recovery")] = format_money(p["mean_recovery"], currency, language)
        if p.get("mean_risk_score") is not None:
            column[_("Mean risk score (P NOT paid)")] = format_percent(p["mean_risk_score"], language)
        column[_("Need review")] = format_count(p["needs_review_count"], language)
        for feature, medians in (p.get("medians") or {}).items():
            row = _("Median: {feature}").format(feature=feature_label(feature, language))
            column[row] = _figure(medians.get("persona"))
            portfolio_column[row] = _figure(medians.get("portfolio"))
        table[label[p["persona_id"]]] = column
    frame = pd.DataFrame(table)
    frame[_("Whole portfolio")] = pd.Series(portfolio_column)
    return frame.fillna(MISSING)


with tab_compare:
    chosen = st.multiselect(_("Personas to compare (two or more)"), persona_ids, default=persona_ids[:2],
                            format_func=label.get, key="compare_ids")
    if len(chosen) >= 2:
        st.dataframe(comparison_table(run.profiles, chosen), width="stretch")
        st.caption(_("Medians of the number columns; the last column is the whole portfolio."))
    else:
        st.info(_("Choose at least two personas."))

SEARCH_COLUMNS = {"n_neighbors": N_("Neighbours"), "min_cluster_share": N_("Min cluster share"),
                  "min_cluster_size_full": N_("Min cluster size"), "personas": N_("Personas"),
                  "noise_share": N_("Noise share"), "stability_ari": N_("Stability (ARI)"),
                  "relative_validity": N_("Relative validity"), "score": N_("Score"), "chosen": N_("Chosen")}


def search_column_label(key: str) -> str:
    return _(SEARCH_COLUMNS[key]) if key in SEARCH_COLUMNS else key


with tab_search:
    search = meta.get("settings_search") or {}
    searched = pd.DataFrame(search.get("table", []))
    chosen_row = search.get("chosen") or {}
    sub_rows = ((meta["parameters"]["settings"].get("discovery") or {}).get("search_rows"))
    if searched.empty:
        st.markdown(_("**Why {n} personas:** no settings search recorded.").format(n=metrics["personas"]))
    elif len(searched) == 1:
        st.markdown(_("**Why {n} personas:** the settings search was off; the configured setting was fitted and "
                      "its stability measured.").format(n=metrics["personas"]))
    elif chosen_row.get("score") is None:
        st.markdown(_("**Why {n} personas:** no setting gave two or more stable personas; the configured defaults "
                      "were kept.").format(n=metrics["personas"]))
    else:
        st.markdown(_("**Why {n} personas:** the chosen setting (neighbours {nn}, min cluster share {share}) had the "
                      "highest score of the {tried} settings tried.").format(
            n=metrics["personas"], nn=chosen_row.get("n_neighbors"),
            share=format_percent(chosen_row.get("min_cluster_share"), language), tried=len(searched)))
    if not searched.empty:
        st.caption(_("The search compares settings on sub-samples of {rows} accounts, so its figures (personas, "
                     "noise, relative validity) differ from the final fit's figures at the top of the page, which "
                     "are measured on all fitted accounts.").format(rows=format_count(sub_rows, language)
                                                                     if sub_rows else MISSING))
        shown = searched.copy()
        for column in ("min_cluster_share", "noise_share"):
            if column in shown:
                shown[column] = shown[column].map(lambda v: format_percent(v, language))
        for column in ("stability_ari", "relative_validity", "score"):
            if column in shown:
                shown[column] = shown[column].map(lambda v: format_number(v, language, 3))
        if "chosen" in shown:
            shown["chosen"] = shown["chosen"].map(lambda v: "✓" if v else "")
        st.dataframe(shown, hide_index=True, width="stretch",
                     column_config={c: search_column_label(c) for c in shown.columns})
    st.caption(_("score = 0.5 × stability + 0.3 × relative validity + 0.2 × (1 − noise share). "
                 "Larger min cluster share: fewer, bigger personas. More neighbours: broader structure."))


def _edit(make_edit) -> None:
    """Apply an edit to the shown run, save it as a new run folder and show that one."""
    try:
        edit = make_edit()
        updated = apply_edit(run, edit, portfolio)
        folder = updated.save(runs_dir() / updated.run_id, created_by=user)
        record_saved_run(folder, edit=edit)  # every persona edit is an audit entry
    except UserError as err:
        show_error(err)
        return
    st.session_state["persona_edited_dir"] = str(folder)
    st.session_state["persona_edited_base"] = base.run_id
    st.session_state["run_dir"] = str(folder)
    st.rerun()


user = getattr(current_user(), "username", None) or "analyst"
with tab_edit:
    st.caption(_("Edits are recorded with your name ({user}) and the time, kept with the run and re-applied when "
                 "the model assigns a new portfolio.").format(user=escape_markdown(user)))
    left, right = st.columns(2)
    with left.form("rename"):
        pid = st.selectbox(_("Rename persona"), persona_ids, format_func=label.get)
        new_name = st.text_input(_("New name"))
        if st.form_submit_button(_("Rename")):
            _edit(lambda: edits.rename(pid, new_name, user=user))
    with right.form("merge"):
        ids = st.multiselect(_("Merge personas (two or more)"), persona_ids, format_func=label.get)
        if st.form_submit_button(_("Merge")):
            _edit(lambda: edits.merge(ids, user=user))
    left, right = st.columns(2)
    with left.form("split"):
        pid_split = st.selectbox(_("Split persona"), persona_ids, format_func=label.get)
        parts_n = st.number_input(_("into parts"), min_value=2, max_value=6, value=2)
        if st.form_submit_button(_("Split")):
            _edit(lambda: edits.split(pid_split, int(parts_n), user=user, seed=int(meta["seed"])))
    with right.form("reduce"):
        target_n = st.number_input(_("Reduce to N personas (merge the most similar)"), min_value=1,
                                   max_value=max(1, len(persona_ids)), value=max(1, len(persona_ids) - 1))
        if st.form_submit_button(_("Reduce")):
            _edit(lambda: edits.reduce(int(target_n), user=user))
    if run.edits:
        zone = time_zone(browser_time_zone())
        recorded = pd.DataFrame([{
            "at": format_timestamp(edit.get("at"), language, zone), "user": edit.get("user"),
            "edit": edit_label(str(edit.get("action"))),
            "details": ", ".join(f"{k}={v}" for k, v in edit.items()
                                 if k not in ("action", "user", "at") and v is not None)} for edit in run.edits])
        st.dataframe(recorded, hide_index=True, width="stretch", column_config={
            "at": _("Time ({zone})").format(zone=zone_label(zone)), "user": _("User"), "edit": _("Edit"),
            "details": _("Details")})
        if st.button(_("Discard edits (show the run as found)")):
            st.session_state.pop("persona_edited_dir", None)
            st.session_state["run_dir"] = str(runs_dir() / base.run_id)
            st.rerun()

REVIEW_COLUMNS = {"account_id": N_("Account id"), "persona_id": N_("Persona"), "persona_name": N_("Persona name"),
                  "membership_probability": N_("Membership probability")}


def review_column_label(key: str) -> str:
    if key in REVIEW_COLUMNS:
        return _(REVIEW_COLUMNS[key])
    return feature_label(key, language) if key.isidentifier() and key == key.lower() else key


with tab_review:
    review = views.review_accounts(run.accounts, portfolio.frame, portfolio.roles, language=language)
    st.caption(_("{n} accounts need review: membership probability below the threshold, noise in the fitted "
                 "sample, or far from every persona. PII is masked. Showing up to {shown}, least certain first.")
               .format(n=format_count(int(run.accounts["needs_review"].sum()), language),
                       shown=format_count(len(review), language)))
    config = {c: review_column_label(str(c)) for c in review.columns}
    review, probability = number_columns(
        review, {"membership_probability": ("decimal", 2)}, language,
        labels={"membership_probability": _("Membership probability")},
        helps={"membership_probability": _("How surely the account belongs to its persona (0 to 1); low values "
                                           "need a person's look.")})
    config.update(probability)
    st.dataframe(review, hide_index=True, width="stretch", column_config=config)
