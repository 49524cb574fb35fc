"""Switching pages re-renders from the cache: the persona pipeline runs once per portfolio and settings,
and only when the analyst presses "Find personas".

Runs ``app.py`` with Streamlit's ``AppTest`` (no browser), signed in as an analyst through session
state. AppTest runs the scripts in this process, so ``app_pages._state.PIPELINE_CALLS`` (how often the
pipeline really ran) is visible here. Streamlit's caches live for the whole process, so the test
uses a portfolio no other test uses and counts the calls it causes itself.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from streamlit.testing.v1 import AppTest


REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
TIMEOUT_S = 300  # the first Personas visit runs UMAP (and compiles numba) on a busy machine


def _signed_in_app_on_a_small_portfolio() -> AppTest:
    from app_pages._state import PortfolioChoice
    from sample_data.generator import generate_portfolio
    from strategy.auth import User

    data = generate_portfolio(700, seed=913).to_csv(index=False).encode()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state["user"] = User(username="ana", role="analyst")
    at.session_state["portfolio_choice"] = PortfolioChoice(data, "cache_test.csv", hashlib.sha256(data).hexdigest())
    return at


def _open(at: AppTest, page: str) -> None:
    at.switch_page(page).run()
    assert not at.exception, at.exception


def _find(at: AppTest) -> None:
    at.button(key="find_personas").click().run()
    assert not at.exception, at.exception


def test_switching_pages_and_back_does_not_run_the_pipeline_again():
    from app_pages._state import PIPELINE_CALLS

    at = _signed_in_app_on_a_small_portfolio()
    at.run()
    assert not at.exception, at.exception
    before = PIPELINE_CALLS["count"]

    _open(at, "app_pages/2_personas.py")
    assert at.title[0].value == "Personas"
    assert PIPELINE_CALLS["count"] == before, "opening the page runs nothing"
    _find(at)
    assert PIPELINE_CALLS["count"] == before + 1, "the button runs the pipeline once"

    _open(at, "app_pages/1_portfolio.py")
    _open(at, "app_pages/2_personas.py")
    assert at.title[0].value == "Personas"
    assert any(m.label == "Personas" for m in at.metric), "the run is shown again without pressing the button"
    assert PIPELINE_CALLS["count"] == before + 1, "a page switch must re-render from the cache, not re-run"


def test_a_second_session_on_the_same_portfolio_reuses_the_cached_run():
    from app_pages._state import PIPELINE_CALLS

    first = _signed_in_app_on_a_small_portfolio()
    first.run()
    _open(first, "app_pages/2_personas.py")
    _find(first)
    count = PIPELINE_CALLS["count"]

    second = _signed_in_app_on_a_small_portfolio()
    second.run()
    _open(second, "app_pages/2_personas.py")
    assert any(m.label == "Personas" for m in second.metric), "the finished run is shown without the button"
    assert PIPELINE_CALLS["count"] == count, "same data hash and settings: served from the cache"
