"""Nobody reaches what their role does not allow: not signed out, not by opening a page file directly,
not by calling the library.

Page files are run on their own with ``AppTest.from_file(<page file>)`` and a signed-in user of the
wrong role in the session state, which is what a person gets by typing the page's address.
Every refusal test has a positive control (the right role sees the action), so a renamed button
cannot make a refusal test pass by accident.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from strategy.auth import PermissionDenied, User

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 180

ANALYST = User("ana", "analyst")
MANAGER = User("mia", "manager")
COMPLIANCE = User("cleo", "compliance")
ADMIN = User("root", "admin")

# The Strategies page imports the export module while it renders.
needs_export = pytest.mark.skipif(not (REPO / "strategy" / "export.py").exists(),
                                  reason="strategy/export.py not written yet (the Strategies page needs it)")

def declared_pages() -> dict[str, Path]:
    """Page files as app.py declares them (``st.Page("folder/N_name.py")``), by file name.

    Read from app.py so that the tests follow the pages wherever the app shell keeps them.
    """
    source = (REPO / "app.py").read_text(encoding="utf-8")
    return {Path(rel).name: REPO / rel for rel in re.findall(r'st\.Page\(\s*"([^"]+\.py)"', source)}


PAGE_FILES = sorted(declared_pages())


def _page(name: str, user: User | None, run_dir: Path | None = None) -> AppTest:
    at = AppTest.from_file(str(declared_pages()[name]), default_timeout=TIMEOUT_S)
    if user is not None:
        at.session_state["user"] = user
    if run_dir is not None:
        at.session_state["run_dir"] = str(run_dir)
    at.run()
    assert not at.exception, at.exception
    return at


def _buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


# ---------------------------------------------------------------- signed out
@pytest.mark.parametrize("page_file", PAGE_FILES)
def test_a_page_opened_directly_without_signing_in_shows_nothing_but_a_request_to_sign_in(page_file):
    at = _page(page_file, user=None)
    assert [w.value for w in at.warning] == ["Please sign in first."]
    shown = [kind for kind in ("title", "dataframe", "metric", "button", "text_input", "selectbox",
                               "markdown", "error", "success", "info")
             if len(getattr(at, kind))]
    assert shown == [], f"{page_file} shows {shown} to a visitor who is not signed in"


# ---------------------------------------------------------------- the Strategies page
@needs_export
def test_analyst_opening_the_strategies_page_gets_no_approve_or_reject(review):
    _store, _run, run_dir = review
    at = _page("4_strategies.py", ANALYST, run_dir)
    buttons = _buttons(at)
    assert "Approve" not in buttons
    assert not any(label.startswith(("Reject", "Veto")) for label in buttons)
    assert "Save edits" in buttons  # positive control: the analyst's own action is there


@needs_export
def test_compliance_can_veto_but_never_approve(review):
    _store, _run, run_dir = review
    at = _page("4_strategies.py", COMPLIANCE, run_dir)
    buttons = _buttons(at)
    assert "Approve" not in buttons
    assert "Veto (reject)" in buttons
    assert "Save edits" not in buttons


@needs_export
def test_manager_can_approve_but_not_edit_or_propose(review):
    _store, _run, run_dir = review
    at = _page("4_strategies.py", MANAGER, run_dir)
    buttons = _buttons(at)
    assert "Approve" in buttons  # positive control
    assert "Save edits" not in buttons
    assert not any(label.startswith("Propose") for label in buttons)


def test_a_manager_cannot_propose_and_so_never_approves_their_own_proposal(review):
    from strategy.catalogue import Strategy

    store, run, _run_dir = review
    with pytest.raises(PermissionDenied):
        store.propose(MANAGER, run, run.persona_ids[0], Strategy())
    assert store.get_mapping(run, run.persona_ids[0]).proposed_by == ANALYST.username


# ---------------------------------------------------------------- the Users page
@pytest.mark.parametrize("user", [ANALYST, MANAGER, COMPLIANCE], ids=lambda u: u.role)
def test_users_page_refuses_everyone_but_admins(review, user):
    at = _page("6_admin.py", user)
    assert any("needs the role admin" in e.value for e in at.error)
    assert len(at.dataframe) == 0 and len(at.text_input) == 0 and len(at.button) == 0
    assert not any(t.value == "Users" for t in at.title)


def test_admin_sees_the_users_page(review):
    at = _page("6_admin.py", ADMIN)
    assert any(t.value == "Users" for t in at.title)
    names = set(at.dataframe[0].value["username"])
    assert {"ana", "mia", "cleo", "root"} <= names
    assert not any("hash" in column for column in at.dataframe[0].value.columns)


# ---------------------------------------------------------------- the Audit page
def test_analyst_cannot_stop_exports_or_sign_off_the_model(review):
    _store, _run, run_dir = review
    at = _page("5_audit.py", ANALYST, run_dir)
    buttons = _buttons(at)
    assert "Stop all exports" not in buttons
    assert not any(label.startswith("Sign off") for label in buttons)
    assert any("intact" in s.value for s in at.success)  # the analyst may read the log


def test_only_compliance_signs_off_the_model(review):
    _store, _run, run_dir = review
    assert any(b.startswith("Sign off") for b in _buttons(_page("5_audit.py", COMPLIANCE, run_dir)))
    assert not any(b.startswith("Sign off") for b in _buttons(_page("5_audit.py", MANAGER, run_dir)))


# ---------------------------------------------------------------- the library refuses too
def test_the_store_refuses_an_approval_by_an_analyst(review):
    store, run, _ = review
    mapping = store.get_mapping(run, run.persona_ids[0])
    with pytest.raises(PermissionDenied):
        store.approve(ANALYST, run, run.persona_ids[0], expected_version=mapping.version)
    assert store.get_mapping(run, run.persona_ids[0]).state == "proposed"


def test_the_store_refuses_an_approval_by_compliance_and_admin(review):
    store, run, _ = review
    mapping = store.get_mapping(run, run.persona_ids[0])
    for user in (COMPLIANCE, ADMIN):
        with pytest.raises(PermissionDenied):
            store.approve(user, run, run.persona_ids[0], expected_version=mapping.version)


def test_the_store_refuses_user_management_and_kill_switch_to_an_analyst(review):
    store, _run, _ = review
    with pytest.raises(PermissionDenied):
        store.add_user(ANALYST, "mallory", "admin", "a-long-password")
    with pytest.raises(PermissionDenied):
        store.set_role(ANALYST, "ana", "admin")
    with pytest.raises(PermissionDenied):
        store.set_kill_switch(ANALYST, True, "no reason")
    assert store.get_user("mallory") is None
    assert store.get_user("ana").role == "analyst"


def test_the_store_refuses_every_action_without_a_user(review):
    store, run, _ = review
    mapping = store.get_mapping(run, run.persona_ids[0])
    with pytest.raises(PermissionDenied):
        store.approve(None, run, run.persona_ids[0], expected_version=mapping.version)
    with pytest.raises(PermissionDenied):
        store.add_user(None, "mallory", "admin", "a-long-password")
