"""The Personas page finds personas on a small portfolio when asked, shows them, and records an analyst's rename.

Runs ``app_pages/2_personas.py`` with Streamlit's ``AppTest`` (no browser), signed in as an analyst.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from streamlit.testing.v1 import AppTest


REPO = Path(__file__).resolve().parents[2]
PAGE = str(REPO / "app_pages" / "2_personas.py")
TIMEOUT_S = 300


def _page_on_small_sample() -> AppTest:
    from app_pages._state import PortfolioChoice
    from sample_data.generator import generate_portfolio
    from strategy.auth import User

    data = generate_portfolio(600, seed=5).to_csv(index=False).encode()
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT_S)
    at.session_state["user"] = User("ana", "analyst")
    at.session_state["portfolio_choice"] = PortfolioChoice(data, "small.csv", hashlib.sha256(data).hexdigest())
    return at


def _find(at: AppTest) -> AppTest:
    """Press "Find personas" (discovery runs only on the button)."""
    at.button(key="find_personas").click().run()
    assert not at.exception, at.exception
    return at


def test_opening_the_page_runs_nothing_until_find_personas_is_pressed():
    from app_pages._state import PIPELINE_CALLS

    at = _page_on_small_sample()
    before = PIPELINE_CALLS["count"]
    at.run()
    assert not at.exception, at.exception
    assert PIPELINE_CALLS["count"] == before, "opening the page starts no discovery"
    assert "run_dir" not in at.session_state and not at.metric
    button = at.button(key="find_personas")
    assert button.label == "Find personas" and button.proto.type == "primary"
    assert at.number_input(key="seed_choice").value == 42
    assert not at.selectbox, "no persona-name language: names follow the page's language, never a new run"
    assert at.toggle(key="search_choice").value is True
    assert any("press **Find personas**" in i.value for i in at.info)

    _find(at)
    assert PIPELINE_CALLS["count"] == before + 1
    assert any(m.label == "Personas" for m in at.metric)
    at.tabs[0].radio[0].set_value("points").run()  # any rerun: the run is shown, not recomputed
    assert not at.exception, at.exception
    assert PIPELINE_CALLS["count"] == before + 1 and any(m.label == "Personas" for m in at.metric)

    at.number_input(key="seed_choice").set_value(7).run()  # other settings: not run until pressed
    assert not at.exception, at.exception
    assert PIPELINE_CALLS["count"] == before + 1 and not at.metric
    at.number_input(key="seed_choice").set_value(42).run()  # back to the run's settings: shown again
    assert PIPELINE_CALLS["count"] == before + 1 and any(m.label == "Personas" for m in at.metric)


def test_the_personas_page_shows_a_run_and_records_a_rename_without_exceptions():
    at = _page_on_small_sample()
    at.run()
    assert not at.exception, at.exception
    _find(at)
    assert at.title[0].value == "Personas"
    assert any(m.label == "Personas" for m in at.metric)
    assert "run_dir" in at.session_state

    # The run's own verdict, as run.json has it: a warning saying NOT settled below the threshold.
    from application.pipeline import load_run

    metrics = load_run(at.session_state["run_dir"]).meta["metrics"]
    shown = (at.success if metrics["settled"] else at.warning)
    verdict = next(v.value for v in shown if "settled" in v.value)
    assert ("NOT settled" in verdict) is (not metrics["settled"])
    assert f"{metrics['confidence']:.2f}" in verdict

    next(t for t in at.text_input if t.label == "New name").input("Early small payers")
    next(b for b in at.button if b.label == "Rename").click()
    at.run()
    assert not at.exception, at.exception
    assert "persona_edited_dir" in at.session_state
    assert any("Early small payers" in m.value for m in at.markdown)

    renamed = next(p for p in load_run(at.session_state["persona_edited_dir"]).profiles
                   if p["name"] == "Early small payers")
    assert renamed["names"] == {"en": "Early small payers", "de": "Early small payers"}, "the analyst's text"

    # The edit is a run of its own: its own id, its parent named, who made it, listed beside the base.
    from app_pages._state import list_runs

    runs = list_runs()
    assert len(runs) == 2 and len({r["run_id"] for r in runs}) == 2
    edited = next(r for r in runs if r["parent_run_id"])
    base = next(r for r in runs if not r["parent_run_id"])
    assert edited["parent_run_id"] == base["run_id"] and "edit of" in edited["label"]
    assert at.session_state["run_dir"] == edited["run_dir"]
    assert any(f"edit of run `{base['run_id']}`" in c.value for c in at.caption)


def test_a_small_portfolio_opens_the_map_as_points_and_can_show_every_account_in_cells(map_chart):
    at = _page_on_small_sample()
    at.run()
    assert not at.exception, at.exception
    _find(at)
    view = at.radio(key="map_view")
    assert view.value == "points", "600 accounts: at most 20,000, so points by default"
    assert view.options[0] == "Points (display sample of 600)"
    points = map_chart(at)
    assert points["title"] == "600 of 600 accounts drawn as points"

    view.set_value("aggregated").run()
    assert not at.exception, at.exception
    cells = map_chart(at)
    assert cells["title"].startswith("600 accounts drawn as ") and "cells" in cells["title"]
    assert cells["encoding"]["color"]["scale"] == points["encoding"]["color"]["scale"], "same colour per persona"


def test_a_discovery_run_and_a_persona_edit_in_the_app_are_audit_entries():
    from app_pages._state import PortfolioChoice, list_runs
    from core.workspace import database_url
    from sample_data.generator import generate_portfolio
    from strategy.auth import User
    from strategy.store import ReviewStore

    data = generate_portfolio(500, seed=23).to_csv(index=False).encode()  # not cached by another test
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT_S)
    at.session_state["user"] = User("ana", "analyst")
    at.session_state["portfolio_choice"] = PortfolioChoice(data, "audited.csv",
                                                           hashlib.sha256(data).hexdigest())
    at.run()
    _find(at)
    next(t for t in at.text_input if t.label == "New name").input("Renamed for the audit")
    next(b for b in at.button if b.label == "Rename").click()
    at.run()
    assert not at.exception, at.exception
    runs = {bool(r["parent_run_id"]): r["run_id"] for r in list_runs()}
    entries = ReviewStore(database_url()).audit_entries()
    created = [e for e in entries if e.action == "run_created"]
    edited = [e for e in entries if e.action == "persona_edited"]
    assert [(e.user, e.run_id) for e in created] == [("ana", runs[False])]
    assert [(e.user, e.run_id) for e in edited] == [("ana", runs[True])]
    assert edited[0].details["edit"]["action"] == "rename"
    assert edited[0].details["parent_run_id"] == runs[False]


def test_a_pair_told_apart_only_by_a_missing_value_is_named_and_the_analyst_can_keep_it_apart():
    """A German export whose unreachable persona has no contact rate ("Kontaktquote"): the verdict
    names the pairs that differ only in that, and keeping them apart on the Edit tab is an edit with
    the analyst's name that the verdict then reports."""
    from app_pages._state import PortfolioChoice
    from application.pipeline import load_run
    from benchmarks.worlds import world
    from strategy.auth import User

    data = world("missing_by_persona").make(3_000, 11).drop(columns=["true_persona"]).to_csv(index=False).encode()
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT_S)
    at.session_state["user"] = User("ana", "analyst")
    at.session_state["portfolio_choice"] = PortfolioChoice(data, "kontaktquote.csv", hashlib.sha256(data).hexdigest())
    at.run()
    _find(at)
    cuts = load_run(at.session_state["run_dir"]).meta["metrics"]["missing_cuts"]
    assert cuts, "this export's personas differ in whether Kontaktquote has a value"
    verdict = next(w.value for w in at.warning if "NOT settled" in w.value)
    assert "differ mainly in whether Kontaktquote has a value" in verdict
    # the Compare tab opens on the first pair the verdict names, with the share of accounts without a value
    assert at.multiselect(key="compare_ids").value == list(cuts[0]["personas"])
    compared = at.tabs[2].dataframe[0].value
    missing_row = next(row for row in compared.index if row.startswith("Without a value:") and "ontakt" in row)
    from core.formats import format_percent

    # every account of these personas is in the check (under 2,000 each), so the shares are the same
    assert sorted(compared.loc[missing_row].iloc[:2]) == sorted(format_percent(v, "en")
                                                                for v in cuts[0]["missing_shares"])
    choice = next(s for s in at.selectbox if s.label.startswith("Told apart only by a missing value"))
    assert len(choice.options) == len(cuts)
    for _ in cuts:
        next(b for b in at.button if b.label == "Keep apart").click()
        at.run()
        assert not at.exception, at.exception
    edited = load_run(at.session_state["persona_edited_dir"])
    assert [e["action"] for e in edited.edits] == ["keep_apart"] * len(cuts)
    assert all(c["kept_apart_by"] == "ana" for c in edited.meta["metrics"]["missing_cuts"])
    shown = [v.value for v in (*at.success, *at.warning) if "settled" in v.value]
    assert any("ana decided that this is behaviour" in v for v in shown)
    assert not any(s.label.startswith("Told apart only by a missing value") for s in at.selectbox)
