"""Personas: the map, a card per persona, comparison, the settings search, analyst edits, review list.

Discovery runs in ``application.pipeline`` through the cache in ``app_pages._personas_ui.run_cached``, and only
when the analyst presses "Find personas" (or when a run of this portfolio with these settings exists already:
then it is shown, never recomputed). Edits are applied by ``application.pipeline.apply_edit`` and saved as a
new run folder. This page only lays things out.
"""
from __future__ import annotations

import streamlit as st

from app_pages._numbers import number_columns
from app_pages._personas_ui import all_accounts_on_map, finished_run, record_saved_run, run_cached
from app_pages._state import (browser_time_zone, current_portfolio, current_run, current_settings, current_user,
                              page_language, portfolio_choice, require_role, show_error)
from application import personas_page as shown_run
from application.pipeline import apply_edit
from core.charts import fit_width
from core.errors import UserError
from core.formats import format_number, format_percent, time_zone
from core.i18n import _
from core.text import escape_markdown
from core.workspace import runs_dir
from personas import edits, mapview, views
from personas.names import display_names
from portfolio.currency import currency_of_run

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
st.caption(shown_run.run_caption(run, language))

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
settled, verdict = views.settled_verdict(metrics, names=display_names(run.profiles, language))
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
                    format_func=shown_run.map_view_labels(n_sample, language).get)
    named = views.with_names(run.accounts, language)  # the legend in the page's language
    scale = mapview.persona_scale(named)
    if view == "points":
        points = views.map_points(run.accounts, portfolio.frame, language)
        chart = mapview.point_chart(points, scale, n_accounts)
        title = shown_run.points_title(len(points), n_accounts, language)
        shown, total, cells = len(points), n_accounts, None
    else:
        placed = all_accounts_on_map(run, portfolio)
        cells = mapview.aggregate_map(placed, mapview.MAP_BINS)
        chart = mapview.cell_chart(cells, scale)
        title = shown_run.cells_title(cells, language)
        shown, total = int(placed["x"].notna().sum()), len(placed)
    titled = chart.properties(title=title)
    st.altair_chart(fit_width(titled), width="stretch")
    st.caption(shown_run.map_caption(shown, total, n_sample, n_accounts, cells is not None, language))


with tab_cards:
    st.caption(_("Each card lists the persona's size, its outcomes where the portfolio has them, and the three "
                 "features that set it apart most from the whole portfolio (↑ higher, ↓ lower)."))
    grid = st.columns(3)
    for i, profile in enumerate(run.profiles):
        with grid[i % 3].container(border=True):
            texts = shown_run.card(profile, currency, language)
            st.markdown(texts["title"])
            if texts["descriptors"]:
                st.caption(texts["descriptors"])
            st.markdown(texts["size"])
            if texts["outcomes"]:
                st.markdown(texts["outcomes"])
            st.markdown(texts["features"])
            if texts["review"]:
                st.caption(texts["review"])

persona_ids = [p["persona_id"] for p in run.profiles]
label = shown_run.persona_labels(run.profiles, language)


cut_choices = shown_run.open_cut_choices(metrics, run.profiles, language)  # pairs the verdict asks about

with tab_compare:  # opens on the first pair the verdict asks about
    first = next(iter(cut_choices.values()))[0] if cut_choices else persona_ids[:2]
    chosen = st.multiselect(_("Personas to compare (two or more)"), persona_ids, default=first,
                            format_func=label.get, key="compare_ids")
    if len(chosen) >= 2:
        st.dataframe(shown_run.comparison_table(run.profiles, chosen, len(run.accounts), currency, language),
                     width="stretch")
        st.caption(_("Medians of the number columns; the last column is the whole portfolio."))
    else:
        st.info(_("Choose at least two personas."))

with tab_search:
    st.markdown(shown_run.search_verdict(meta, language))
    searched = shown_run.search_table(meta, language)
    if not searched.empty:
        st.caption(shown_run.search_rows_caption(meta, language))
        st.dataframe(searched, hide_index=True, width="stretch",
                     column_config={c: shown_run.search_column_label(c) for c in searched.columns})
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
    if cut_choices:
        with st.form("keep_apart"):
            cut = st.selectbox(_("Told apart only by a missing value: keep apart (the missing value is behaviour)"),
                               list(cut_choices))
            if st.form_submit_button(_("Keep apart")):
                _edit(lambda: edits.keep_apart(*cut_choices[cut], user=user))
    if run.edits:
        zone = time_zone(browser_time_zone())
        st.dataframe(shown_run.edits_table(run.edits, language, zone), hide_index=True, width="stretch",
                     column_config=shown_run.edits_column_labels(zone))
        if st.button(_("Discard edits (show the run as found)")):
            st.session_state.pop("persona_edited_dir", None)
            st.session_state["run_dir"] = str(runs_dir() / base.run_id)
            st.rerun()

with tab_review:
    review = views.review_accounts(run.accounts, portfolio.frame, portfolio.roles, language=language)
    st.caption(shown_run.review_caption(int(run.accounts["needs_review"].sum()), len(review), language))
    config = {c: shown_run.review_column_label(str(c), language) for c in review.columns}
    review, probability = number_columns(
        review, {"membership_probability": ("decimal", 2)}, language,
        labels={"membership_probability": _("Membership probability")},
        helps={"membership_probability": _("How surely the account belongs to its persona (0 to 1); low values "
                                           "need a person's look.")})
    config.update(probability)
    st.dataframe(review, hide_index=True, width="stretch", column_config=config)
