"""The Personas page runs discovery on a small portfolio, shows it, and records an analyst's rename.

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


def test_the_personas_page_shows_a_run_and_records_a_rename_without_exceptions():
    at = _page_on_small_sample()
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Personas"
    assert any(m.label == "Personas" for m in at.metric)
    assert "run_dir" in at.session_state

    next(t for t in at.text_input if t.label == "New name").input("Early small payers")
    next(b for b in at.button if b.label == "Rename").click()
    at.run()
    assert not at.exception, at.exception
    assert "persona_edited_dir" in at.session_state
    assert any("Early small payers" in m.value for m in at.markdown)

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
