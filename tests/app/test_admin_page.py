"""The Users page: administrators add and change users; nobody else can open it.

Runs ``app.py`` (and the page file on its own) with ``AppTest``; users come from the
``review_desk`` fixture (tests/app/conftest.py).
"""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from strategy.auth import User, authenticate

PAGE = "app_pages/6_admin.py"
PAGE_FILE = str(Path(__file__).resolve().parents[2] / PAGE)


def _click(at, label: str):
    next(b for b in at.button if b.label == label).click()
    return at.run()


def _add_user(at, name: str, role: str, password: str):
    next(t for t in at.text_input if t.label == "User name").input(name)
    next(s for s in at.selectbox if s.label == "Role").set_value(role)
    next(t for t in at.text_input if t.label.startswith("Initial password")).input(password)
    return _click(at, "Add user")


def test_admin_adds_an_analyst_who_can_then_sign_in(review_desk):
    at = review_desk.open("root", PAGE)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Users"]
    at = _add_user(at, "nora", "analyst", "nora-pass-1234")
    assert not at.exception, at.exception
    assert any("nora added as analyst" in s.value for s in at.success)
    assert "nora" in set(at.dataframe[0].value["username"])
    store = review_desk.store()
    assert authenticate(store, "nora", "nora-pass-1234") == User("nora", "analyst")
    added = store.audit_entries(action="user_added")[-1]
    assert added.user == "root"
    assert {k: added.details[k] for k in ("username", "role")} == {"username": "nora",
                                                                   "role": "analyst"}


def test_a_short_initial_password_is_refused(review_desk):
    at = review_desk.open("root", PAGE)
    at = _add_user(at, "nora", "analyst", "short")
    assert not at.exception, at.exception
    assert any("at least 12 characters" in e.value for e in at.error)
    assert review_desk.store().get_user("nora") is None


def test_admin_disables_a_user(review_desk):
    at = review_desk.open("root", PAGE)
    next(s for s in at.selectbox if s.label == "User").set_value("bob")
    at.run()
    at = _click(at, "Disable account")
    assert not at.exception, at.exception
    assert any("bob can no longer sign in" in s.value for s in at.success)
    assert review_desk.store().get_user("bob") is None


def test_a_manager_opening_the_users_page_file_directly_is_refused(review_desk):
    at = AppTest.from_file(PAGE_FILE, default_timeout=120)
    at.session_state["user"] = User("mia", "manager")
    at.run()
    assert not at.exception, at.exception
    assert any("needs the role admin" in e.value for e in at.error)
    assert not at.button and not at.text_input and not at.dataframe


def test_the_users_page_is_not_in_a_non_admins_navigation(review_desk):
    at = review_desk.open("mia", "app_pages/4_strategies.py")
    try:
        at.switch_page(PAGE)
    except ValueError:  # AppTest refuses a page the navigation does not register
        return
    at.run()
    assert not at.exception, at.exception
    assert "Users" not in [t.value for t in at.title]
    assert "Add user" not in [b.label for b in at.button]
