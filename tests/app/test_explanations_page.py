"""The Explanations page opens on a small run with a risk model and looks up one account.

Runs ``app_pages/3_explanations.py`` with Streamlit's ``AppTest`` (no browser), signed in as an analyst.
The run comes from ``application.pipeline``; a copy of it whose risk model was altered is refused.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
PAGE = str(REPO / "app_pages" / "3_explanations.py")
TIMEOUT_S = 120


@pytest.fixture(scope="module")
def run_dir(risk_run_dir):
    """One saved run with a risk model for all tests here (tests/app/conftest.py, ``risk_run_dir``)."""
    return risk_run_dir


def _page(run_dir: Path | None) -> AppTest:
    from strategy.auth import User

    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT_S)
    at.session_state["user"] = User("ana", "analyst")
    if run_dir is not None:
        at.session_state["run_dir"] = str(run_dir)
    at.run()
    return at


def test_page_shows_the_model_and_looks_up_one_account(run_dir):
    at = _page(run_dir)
    assert not at.exception
    assert "NOT paid" in " ".join(c.value for c in at.caption)
    account_box = next(t for t in at.text_input if t.label == "Account id")
    account_box.input("AKT-0000007").run()
    assert not at.exception
    texts = " ".join(m.value for m in at.markdown)
    assert "Main reasons:" in texts and ("raises risk" in texts or "lowers risk" in texts)
    assert any(m.label.startswith("Risk score") for m in at.metric)


def test_unknown_account_gives_a_clear_message(run_dir):
    at = _page(run_dir)
    next(t for t in at.text_input if t.label == "Account id").input("NO-SUCH-ID").run()
    assert not at.exception
    assert any("No account 'NO-SUCH-ID'" in w.value for w in at.warning)


def test_without_a_risk_model_the_page_says_how_to_get_one():
    at = _page(None)
    assert not at.exception
    assert any("--target paid_90d" in i.value for i in at.info)


def test_page_opens_inside_the_app_for_a_compliance_reviewer(run_dir):
    import shutil

    from core.workspace import runs_dir
    from strategy.auth import User

    shutil.copytree(run_dir, runs_dir() / "run-for-review")  # the sidebar's run picker lists the workspace
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S)
    at.session_state["user"] = User("cleo", "compliance")
    at.run()
    at.switch_page("app_pages/3_explanations.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Explanations"]
    assert any(m.value.startswith("# Model card") for m in at.markdown)


def test_a_run_whose_risk_model_was_swapped_is_refused_with_a_message(run_dir, tmp_path):
    copy = Path(shutil.copytree(run_dir, tmp_path / "copy"))
    (copy / "risk" / "classifier.skops").write_bytes(b"PK\x03\x04 crafted")
    at = _page(copy)
    assert not at.exception
    assert any("changed since the run was saved" in e.value for e in at.error)
