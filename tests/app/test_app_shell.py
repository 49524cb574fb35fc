"""The app shell: sign-in, first-run administrator, sign-out, and the Portfolio page behind it.

Runs ``app.py`` with Streamlit's ``AppTest`` (no browser): each test has its own workspace and
review database (the autouse fixture in tests/conftest.py sets ``PERSONAS_HOME``).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.workspace import database_url

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
TIMEOUT_S = 180  # reading and validating the 5,000-row sample on a busy machine

PASSWORDS = {"ana": "analyst-pass-1", "mia": "manager-pass-1", "root": "admin-pass-123"}
ROLES = {"ana": "analyst", "mia": "manager", "root": "admin"}


@pytest.fixture
def users():
    """Local accounts of an analyst, a manager and an admin in this test's database."""
    from strategy.auth import User
    from strategy.store import ReviewStore
    from tests.user_factory import add_users

    store = ReviewStore(database_url())
    add_users(store, [User(name, role) for name, role in ROLES.items()], PASSWORDS)
    store.close()
    return PASSWORDS


def declared_pages() -> dict[str, Path]:
    """Page files as app.py declares them (``st.Page("folder/N_name.py")``), by file name.

    Read from app.py so that the tests follow the pages wherever the app shell keeps them.
    """
    source = (REPO / "app.py").read_text(encoding="utf-8")
    return {Path(rel).name: REPO / rel for rel in re.findall(r'st\.Page\(\s*"([^"]+\.py)"', source)}


def state_module():
    """The app's shared page-state module (``<pages folder>._state``)."""
    import importlib

    folder = next(iter(declared_pages().values())).parent.name
    return importlib.import_module(f"{folder}._state")


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    return at


def _sign_in(at: AppTest, username: str, password: str) -> AppTest:
    by_label = {field.label: field for field in at.text_input}
    by_label["User name"].input(username)
    by_label["Password"].input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    return at


def _texts(at: AppTest) -> str:
    """Everything the page shows as text (titles, markdown, captions, alerts, metrics)."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success",
                 "warning", "error", "metric"):
        for element in getattr(at, kind):
            parts.append(str(getattr(element, "value", "")))
            parts.append(str(getattr(element, "label", "")))
    return "\n".join(parts)


# ---------------------------------------------------------------- signed out
def test_signed_out_visitor_sees_only_the_sign_in_form(users):
    at = _app()
    assert not at.exception
    assert [t.value for t in at.title] == ["Persona collections"]
    assert [field.label for field in at.text_input] == ["User name", "Password"]
    assert at.text_input[1].proto.type == at.text_input[1].proto.PASSWORD, "the password is masked"
    assert [b.label for b in at.button] == ["Sign in"]
    assert len(at.dataframe) == 0 and len(at.metric) == 0
    assert len(at.sidebar.button) == 0, "no sign-out or navigation before signing in"


def _setup_token() -> str:
    """The one-time token an operator reads on the server console (a fresh one, as the CLI's
    ``users setup-token`` gives)."""
    from strategy.store import ReviewStore

    store = ReviewStore(database_url())
    try:
        return store.issue_setup_token()
    finally:
        store.close()


def _create_first_admin(at: AppTest, token: str, name: str, password: str) -> AppTest:
    fields = {field.label: field for field in at.text_input}
    fields["Setup token"].input(token)
    fields["Administrator user name"].input(name)
    fields["Password (at least 12 characters)"].input(password)
    next(b for b in at.button if b.label == "Create administrator").click()
    return at.run()


def test_first_run_offers_to_create_the_first_administrator_with_the_setup_token():
    at = _app()
    assert not at.exception
    assert [field.label for field in at.text_input] == ["Setup token", "Administrator user name",
                                                        "Password (at least 12 characters)"]
    at = _create_first_admin(at, _setup_token(), "root", "admin-pass-123")
    assert not at.exception
    assert [field.label for field in at.text_input] == ["User name", "Password"]

    from strategy.store import ReviewStore

    store = ReviewStore(database_url())
    assert [(u["username"], u["role"]) for u in store.list_users()] == [("root", "admin")]
    store.close()


def test_the_first_administrator_cannot_be_created_without_the_setup_token():
    at = _create_first_admin(_app(), "guessed-token", "root", "admin-pass-123")
    assert not at.exception
    assert any("setup token is not valid" in e.value for e in at.error)
    from strategy.store import ReviewStore

    assert ReviewStore(database_url()).count_users() == 0


def test_first_administrator_needs_a_password_of_twelve_characters():
    at = _create_first_admin(_app(), _setup_token(), "root", "short")
    assert not at.exception
    assert any("at least 12 characters" in e.value for e in at.error)
    from strategy.store import ReviewStore

    assert ReviewStore(database_url()).count_users() == 0


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(users):
    at = _sign_in(_app(), "ana", "not-the-password")
    assert not at.exception
    assert any("not correct" in e.value for e in at.error)
    assert "user" not in at.session_state
    assert [t.value for t in at.title] == ["Persona collections"]


# ---------------------------------------------------------------- signed in
def test_analyst_signs_in_and_sees_the_portfolio_page_on_the_bundled_sample(users):
    at = _sign_in(_app(), "ana", users["ana"])
    assert not at.exception, at.exception
    assert at.session_state["user"].role == "analyst"
    assert "Portfolio" in [t.value for t in at.title]
    assert any("ana" in m.value for m in at.sidebar.markdown), "the sidebar names the user"
    rows_read = next(m for m in at.metric if m.label == "Rows read")
    assert rows_read.value.replace(",", "").replace(".", "") == "5000"
    assert not any("cannot be used" in e.value for e in at.error)


def test_portfolio_page_on_an_uploaded_german_csv(users, tmp_path):
    import hashlib

    PortfolioChoice = state_module().PortfolioChoice  # the page's own state type
    from sample_data.generator import GERMAN_COLUMNS, generate_portfolio, write_portfolio

    path = write_portfolio(generate_portfolio(1_500, seed=5, language="de"), tmp_path / "offen.csv")
    data = path.read_bytes()
    at = _sign_in(_app(), "ana", users["ana"])
    at.session_state["portfolio_choice"] = PortfolioChoice(data, path.name,
                                                           hashlib.sha256(data).hexdigest())
    at.session_state["upload_id"] = "test-upload"
    at.run()
    assert not at.exception, at.exception
    assert any(path.name in c.value for c in at.caption)
    rows_read = next(m for m in at.metric if m.label == "Rows read")
    assert rows_read.value.replace(",", "").replace(".", "") == "1500"
    outcome = next(s for s in at.selectbox if s.label.startswith("Outcome column"))
    assert GERMAN_COLUMNS["paid_90d"] in outcome.options
    outcome.select(GERMAN_COLUMNS["paid_90d"])
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["target"] == GERMAN_COLUMNS["paid_90d"]


# Signing out is walked in the browser test (tests/browser/test_journey.py signs out three times):
# AppTest does not deliver a click on a widget that app.py draws in the sidebar around
# st.navigation (the rerun goes to the page file), so it cannot be tested here.
