"""Sessions end the moment their user loses the right to them, and a Streamlit session id is worth
nothing without the browser's session cookie.

Library tests use explicit times (``now=``), never sleeps. App tests run ``app.py`` with
``AppTest``; the browser and its cookie are played by tests/conftest.py.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.security.conftest import ADMIN, ANALYST, COMPLIANCE, MANAGER
from core.errors import UserError
from strategy.auth import User
from strategy.clock import utc_now
from tests.fake_browser import browser_cookie

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
STRATEGIES = "app_pages/4_strategies.py"


# ---------------------------------------------------------------- the library
@pytest.mark.parametrize("change, why", [
    (lambda s: s.set_disabled(ADMIN, "mia", True), "account disabled"),
    (lambda s: s.set_role(ADMIN, "mia", "analyst"), "role changed"),
    (lambda s: s.remove_user(ADMIN, "mia"), "account removed"),
    (lambda s: s.set_password(ADMIN, "mia", "reset by the admin"), "password reset"),
], ids=["disabled", "demoted", "removed", "password reset"])
def test_a_change_to_the_user_ends_their_open_session_at_once(review, change, why):
    store, _run, _ = review
    token = store.open_session(MANAGER)
    assert store.session_user(token) == MANAGER
    change(store)
    user, ended = store.check_session(token)
    assert user is None and why in ended


def test_a_role_changed_in_the_database_behind_the_apps_back_ends_the_session(review):
    import sqlite3

    store, _run, _ = review
    token = store.open_session(MANAGER)
    with sqlite3.connect(store.engine.url.database) as conn:
        conn.execute("UPDATE users SET role = 'analyst' WHERE username = 'mia'")
    assert store.check_session(token) == (None, "role changed from manager to analyst")


def test_an_idle_session_ends_after_the_idle_timeout(review):
    store, _run, _ = review
    token = store.open_session(ANALYST)
    idle = timedelta(minutes=store.security.idle_timeout_minutes)
    assert store.session_user(token, now=utc_now() + idle - timedelta(seconds=5)) == ANALYST
    assert store.check_session(token, now=utc_now() + 2 * idle + timedelta(seconds=5)) \
        == (None, "idle timeout")


def test_an_active_session_still_ends_after_the_absolute_timeout(review):
    store, _run, _ = review
    token = store.open_session(ANALYST)
    now, step = utc_now(), timedelta(minutes=store.security.idle_timeout_minutes / 2)
    limit = timedelta(hours=store.security.absolute_timeout_hours)
    while now - utc_now() < limit - 2 * step:  # active every half idle period
        now += step
        assert store.session_user(token, now=now) == ANALYST
    assert store.check_session(token, now=now + 2 * step)[1] == "absolute timeout"


def test_a_session_ended_by_sign_out_cannot_be_used_again(review):
    store, _run, _ = review
    token = store.open_session(ANALYST)
    store.end_session(token, "signed out")
    assert store.session_user(token) is None
    assert store.audit_entries(action="logout")[-1].user == "ana"


def test_the_database_keeps_only_a_hash_of_each_session_token(review):
    import sqlite3

    store, _run, _ = review
    token = store.open_session(ANALYST)
    dump = "\n".join(sqlite3.connect(store.engine.url.database).iterdump())
    assert token not in dump


def test_a_hand_over_ticket_works_once_and_only_for_the_browser_it_was_issued_to(review):
    store, _run, _ = review
    ticket = store.issue_handoff(ANALYST, binding="browser-secret")
    with pytest.raises(UserError, match="another browser"):
        store.redeem_handoff(ticket, binding="someone-else")
    with pytest.raises(UserError, match="another browser"):
        store.redeem_handoff(ticket, binding=None)
    token = store.redeem_handoff(ticket, binding="browser-secret")
    assert store.session_user(token) == ANALYST
    with pytest.raises(UserError, match="used already"):
        store.redeem_handoff(ticket, binding="browser-secret")


def test_a_hand_over_ticket_expires(review):
    from strategy.settings import SecuritySettings
    from strategy.store import ReviewStore

    store, _run, _ = review
    instant = ReviewStore(store.url, security=SecuritySettings(handoff_seconds=-1))
    ticket = instant.issue_handoff(ANALYST)
    with pytest.raises(UserError, match="expired"):
        instant.redeem_handoff(ticket)


def test_a_hand_over_ticket_of_a_user_disabled_meanwhile_is_refused(review):
    store, _run, _ = review
    ticket = store.issue_handoff(MANAGER)
    store.set_disabled(ADMIN, "mia", True)
    with pytest.raises(UserError, match="account changed"):
        store.redeem_handoff(ticket)


# ---------------------------------------------------------------- the app
def _open(user: User, run_dir, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["user"] = user
    at.session_state["run_dir"] = str(run_dir)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page)
        at.run()
    return at


def test_a_disabled_users_next_action_in_an_open_session_is_refused(review):
    store, run, run_dir = review
    at = _open(MANAGER, run_dir, STRATEGIES)
    assert "Approve" in [b.label for b in at.button]  # positive control
    store.set_disabled(ADMIN, "mia", True)
    next(b for b in at.button if b.label == "Approve").click()
    at.run()
    assert not at.exception, at.exception
    assert store.get_mapping(run, run.persona_ids[0]).state == "proposed"
    assert [t.value for t in at.title] == ["Persona collections"]
    assert any("account disabled" in i.value for i in at.info)
    assert "user" not in at.session_state and "run_dir" not in at.session_state


def test_a_demoted_users_next_action_in_an_open_session_is_refused(review):
    store, run, run_dir = review
    at = _open(MANAGER, run_dir, STRATEGIES)
    store.set_role(ADMIN, "mia", "analyst")
    next(b for b in at.button if b.label == "Approve").click()
    at.run()
    assert not at.exception, at.exception
    assert store.get_mapping(run, run.persona_ids[0]).state == "proposed"
    assert not store.audit_entries(action="approved")
    assert [t.value for t in at.title] == ["Persona collections"]


def test_a_reused_session_without_the_cookie_signs_nobody_in(review):
    """What a second browser gets when it reconnects with a signed-in Streamlit session id: the
    session state is there, the cookie is not."""
    _store, _run, run_dir = review
    at = _open(COMPLIANCE, run_dir)
    assert any(b.label == "Sign out" for b in at.sidebar.button)
    at.session_state["_test_cookie"] = None  # the other browser sends no session cookie
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Persona collections"]
    assert not any(b.label == "Sign out" for b in at.sidebar.button)
    assert "run_dir" not in at.session_state  # nothing of the victim's state stays around


def test_another_users_cookie_in_the_same_streamlit_session_clears_the_state(review):
    store, _run, run_dir = review
    at = _open(MANAGER, run_dir)
    at.session_state["manager_notes"] = "only for mia"
    at.session_state["_test_cookie"] = store.open_session(ANALYST)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["user"] == ANALYST
    assert "manager_notes" not in at.session_state


def test_signing_in_through_the_form_hands_the_session_to_the_cookie(review):
    store, _run, _ = review
    store.set_password(ADMIN, "ana", "analyst-pass-1")
    at = AppTest.from_file(APP, default_timeout=180).run()
    fields = {f.label: f for f in at.text_input}
    fields["User name"].input("ana")
    fields["Password"].input("analyst-pass-1")
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["user"] == ANALYST
    token = browser_cookie(at)
    assert store.session_user(token) == ANALYST
    assert store.audit_entries(action="login")[-1].user == "ana"
