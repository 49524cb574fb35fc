"""Personas: the map, a card per persona, comparison, the settings search, analyst edits, review list.

Discovery runs in ``application.pipeline`` through the cache in ``app_pages._personas_ui.run_cached``; edits are applied
by ``application.pipeline.apply_edit`` and saved as a new run folder. This page only lays things out.
"""
from __future__ import annotations

import streamlit as st

from app_pages._personas_ui import all_accounts_on_map, record_saved_run, run_cached
from app_pages._state import (current_portfolio, current_run, current_settings, current_user, portfolio_choice,
                          require_role, show_error)
from personas import edits, mapview, views
from portfolio.report import rows_summary
from application.pipeline import apply_edit
from core.errors import UserError
from core.text import defang_markdown, escape_markdown
from core.workspace import runs_dir

require_role()
st.title("Personas")
st.caption("Groups of debtors who behave alike, found by UMAP + HDBSCAN on behavioural columns only "
           "(never PII, age, gender or outcomes). Personas are proposals for people to check.")

with st.sidebar:
    st.radio("Persona names", ["en", "de"], key="language_choice",
             index=0 if st.session_state.get("language", "en") == "en" else 1,
             format_func={"en": "English", "de": "Deutsch"}.get)
    st.number_input("Seed (same seed, same personas)", min_value=0, step=1, key="seed_choice",
                    value=int(st.session_state.get("seed", 42)))
st.session_state["language"] = st.session_state["language_choice"]
st.session_state["seed"] = int(st.session_state["seed_choice"])

try:
    portfolio = current_portfolio()
    base = run_cached(portfolio, current_settings(), portfolio_choice().mapping_json)
except UserError as err:
    show_error(err)
    st.stop()

edited_dir = st.session_state.get("persona_edited_dir")
if edited_dir and st.session_state.get("persona_edited_base") == base.run_id:
    st.session_state["run_dir"] = edited_dir
    run = current_run()
else:
    run = base
meta, metrics = run.meta, run.meta["metrics"]

target = meta["parameters"]["settings"].get("target")
st.caption(f"Portfolio **{escape_markdown(meta['source_name'])}** · {rows_summary(meta['rows'])} · fitted on "
           f"{meta['rows']['fitted']:,} · outcome column: {target or 'none (choose one on the Portfolio page)'}"
           f" · run `{run.run_id}`" + (f" · {len(run.edits)} edit(s), edit of run `{run.parent_run_id}`"
                                       if run.parent_run_id else ""))
cols = st.columns(5)
cols[0].metric("Personas", metrics["personas"])
cols[1].metric("Noise share", f"{metrics['noise_share']:.1%}", help="Accounts HDBSCAN left unassigned in the "
               "fitted sample. They are kept: each gets its most likely persona and needs_review.")
cols[2].metric("Stability (ARI)", "–" if metrics.get("stability_ari") is None else f"{metrics['stability_ari']:.2f}",
               help="Adjusted Rand index between the final personas and fits on sub-samples with other seeds "
               "(1 = identical); the run's confidence.")
cols[3].metric("Relative validity", "–" if metrics.get("relative_validity") is None
               else f"{metrics['relative_validity']:.2f}", help="HDBSCAN's DBCV approximation; higher = better separated.")
cols[4].metric("Needs review", f"{metrics['needs_review_share']:.1%}")
settled, verdict = views.settled_verdict(metrics)
(st.success if settled else st.info if settled is None else st.warning)(verdict)
if "truth_ari" in metrics:
    st.caption(f"Agreement with the planted labels (truth ARI): {metrics['truth_ari']:.2f}")

tab_map, tab_cards, tab_compare, tab_search, tab_edit, tab_review = st.tabs(
    ["Map", "Personas", "Compare", "Settings search", "Edit", "Needs review"])

with tab_map:
    n_accounts = len(run.accounts)
    n_sample = int(run.accounts["x"].notna().sum())
    view = st.radio("Map shows", ["points", "aggregated"], horizontal=True, key="map_view",
                    index=0 if mapview.default_map_view(n_accounts) == "points" else 1,
                    format_func={"points": f"Points (display sample of {n_sample:,})",
                                 "aggregated": "All accounts, aggregated on the server"}.get)
    scale = mapview.persona_scale(run.accounts)
    if view == "points":
        chart = mapview.point_chart(views.map_points(run.accounts, portfolio.frame), scale, n_accounts)
        caption = mapview.map_caption(run.accounts)
    else:
        placed = all_accounts_on_map(run, portfolio)
        cells = mapview.aggregate_map(placed, mapview.MAP_BINS)
        chart = mapview.cell_chart(cells, scale)
        caption = mapview.map_caption(placed, cells) + " Pale cells mix personas." + (
            f" Accounts outside the display sample sit at the mean position of their {mapview.PLACEMENT_NEIGHBOURS}"
            " nearest sample accounts in feature space." if placed["x"].notna().all() else "")
    st.altair_chart(chart, width="stretch")
    st.caption(f"{caption} Position is a 2-D UMAP of the features; nearby accounts behave alike, distances "
               f"between clumps mean little. The map opens as points up to {mapview.POINTS_LIMIT:,} accounts "
               "and aggregated above.")

with tab_cards:
    grid = st.columns(3)
    for i, profile in enumerate(run.profiles):
        card = views.card(profile)
        with grid[i % 3].container(border=True):
            st.markdown(f"**{card['id']} · {escape_markdown(card['name'])}**")
            if card["descriptors"]:
                st.caption(defang_markdown(card["descriptors"]))
            st.markdown(f"{card['size']} accounts ({card['share_accounts']}) · {card['share_balance']} of balance")
            st.markdown(f"Pay rate {card['pay_rate']} · mean recovery {card['mean_recovery']} · "
                        f"mean risk score {card['mean_risk_score']}")
            st.markdown("\n".join(f"- {defang_markdown(f)}" for f in card["features"]))
            if card["needs_review"]:
                st.caption(f"{card['needs_review']:,} accounts need review")

persona_ids = [p["persona_id"] for p in run.profiles]
label = {p["persona_id"]: f"{p['persona_id']}: {p['name']}" for p in run.profiles}

with tab_compare:
    chosen = st.multiselect("Personas to compare (two or more)", persona_ids, default=persona_ids[:2],
                            format_func=label.get, key="compare_ids")
    if len(chosen) >= 2:
        st.dataframe(views.comparison_table(run.profiles, chosen), width="stretch")
    else:
        st.info("Choose at least two personas.")

with tab_search:
    search = meta.get("settings_search") or {}
    st.markdown(f"**Why {metrics['personas']} personas:** {search.get('reason', 'no search recorded')}")
    st.dataframe(views.search_table(meta), hide_index=True, width="stretch")
    st.caption("score = 0.5 × stability + 0.3 × relative validity + 0.2 × (1 − noise share). "
               "Larger min cluster share: fewer, bigger personas. More neighbours: broader structure.")


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
    st.caption(f"Edits are recorded with your name ({escape_markdown(user)}) and the time, kept with the run and "
               "re-applied when the model assigns a new portfolio.")
    left, right = st.columns(2)
    with left.form("rename"):
        pid = st.selectbox("Rename persona", persona_ids, format_func=label.get)
        new_name = st.text_input("New name")
        if st.form_submit_button("Rename"):
            _edit(lambda: edits.rename(pid, new_name, user=user))
    with right.form("merge"):
        ids = st.multiselect("Merge personas (two or more)", persona_ids, format_func=label.get)
        if st.form_submit_button("Merge"):
            _edit(lambda: edits.merge(ids, user=user))
    left, right = st.columns(2)
    with left.form("split"):
        pid_split = st.selectbox("Split persona", persona_ids, format_func=label.get)
        parts = st.number_input("into parts", min_value=2, max_value=6, value=2)
        if st.form_submit_button("Split"):
            _edit(lambda: edits.split(pid_split, int(parts), user=user, seed=int(meta["seed"])))
    with right.form("reduce"):
        target_n = st.number_input("Reduce to N personas (merge the most similar)", min_value=1,
                                   max_value=max(1, len(persona_ids)), value=max(1, len(persona_ids) - 1))
        if st.form_submit_button("Reduce"):
            _edit(lambda: edits.reduce(int(target_n), user=user))
    if run.edits:
        st.dataframe(views.edits_table(run.edits), hide_index=True, width="stretch")
        if st.button("Discard edits (show the run as found)"):
            st.session_state.pop("persona_edited_dir", None)
            st.session_state["run_dir"] = str(runs_dir() / base.run_id)
            st.rerun()

with tab_review:
    review = views.review_accounts(run.accounts, portfolio.frame, portfolio.roles)
    st.caption(f"{int(run.accounts['needs_review'].sum()):,} accounts need review: membership probability "
               "below the threshold, noise in the fitted sample, or far from every persona. PII is masked. "
               f"Showing up to {len(review):,}, least certain first.")
    st.dataframe(review, hide_index=True, width="stretch")
