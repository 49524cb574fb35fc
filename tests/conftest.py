"""Shared test set-up: every test gets its own workspace and database, never the user's."""
from __future__ import annotations

import os
import sys
import tempfile

import pytest

# The run-signing key lives outside every test workspace, shared by the test run's processes (CLI
# subprocesses, the app server, Dask workers), never in the user's own ~/.config.
os.environ.setdefault("PERSONAS_CONFIG_DIR", tempfile.mkdtemp(prefix="personas-test-config-"))
# Module- and session-scoped fixtures run before the per-test workspace below exists: they too must
# never write the user's ./workspace (the CLI records runs in the workspace's review database).
os.environ.setdefault("PERSONAS_HOME", tempfile.mkdtemp(prefix="personas-test-home-"))

# UMAP kernels load from the app's compiled cache (prepared by `make test`) instead of compiling in
# every test process; fits run in this process before any pipeline call would enable it.
from application.numba_cache import enable_disk_cache  # noqa: E402

enable_disk_cache()


_MAIN_MODULE = sys.modules["__main__"]

#: The test files that take longest, longest first (a clean-clone CI run's JUnit report, 2026-12-02:
#: about 160 s for the two journeys down to about 9 s). ``make test`` hands whole files to its two
#: workers in collection order (``--dist loadfile --no-loadscope-reorder``): a long file handed out
#: last keeps one worker busy while the other has nothing left to do, so these go first and the many
#: short files fill in behind them, in their collection order. Refresh it when files grow (the
#: PostgreSQL variants made tests/strategy/test_export.py and test_challenger.py long, and they came last).
SLOWEST_FILES_FIRST = (
    "tests/browser/test_journey.py",
    "tests/browser/test_direct_urls.py",
    "tests/app/test_strategies_page.py",
    "tests/app/test_personas_at_scale.py",
    "tests/scale/test_dask_assign.py",
    "tests/app/test_pages_in_german.py",
    "tests/browser/test_monthly_cycle_browser.py",
    "tests/application/test_monthly_cycle_cli.py",
    "tests/personas/test_recovery.py",
    "tests/crash/test_crash_safety.py",
    "tests/portfolio/test_reader_properties.py",
    "tests/security/test_pii_masking.py",
    "tests/browser/test_session_cookie.py",
    "tests/strategy/test_export.py",
    "tests/portfolio/test_meaning_properties.py",
    "tests/app/test_personas_page.py",
    "tests/personas/test_risk_step.py",
    "tests/strategy/test_challenger.py",
    "tests/security/test_parser_bombs.py",
    "tests/application/test_apply.py",
    "tests/explain/test_risk_model.py",
    "tests/personas/test_run_checks.py",
    "tests/app/test_workspace_persistence.py",
    "tests/app/test_cycle_pages.py",
)


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, put :data:`SLOWEST_FILES_FIRST` first; every other file keeps its place
    (the sort is stable, and so is the order of tests inside a file)."""
    if not hasattr(config, "workerinput"):  # a run in one process: order changes nothing
        return
    rank = {path: position for position, path in enumerate(SLOWEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's script runner (``AppTest``) makes the page it runs ``sys.modules["__main__"]`` and
    leaves it there. A process started later by ``multiprocessing``'s spawn (Dask workers) re-runs the
    parent's ``__main__`` file: it would run the last page, outside any app. Put pytest's back."""
    yield
    sys.modules["__main__"] = _MAIN_MODULE


@pytest.fixture(autouse=True)
def _isolated_workspace(tmp_path, monkeypatch):
    """Point PERSONAS_HOME at a temporary folder so no test touches ./workspace."""
    home = tmp_path / "workspace"
    monkeypatch.setenv("PERSONAS_HOME", str(home))
    monkeypatch.delenv("PERSONAS_DB_URL", raising=False)
    monkeypatch.delenv("PERSONAS_PASSWORD", raising=False)
    return home


@pytest.fixture(autouse=True, scope="session")
def _browser_cookie():
    """``AppTest`` has no browser, so this plays its part for ``app_pages/_session.py``.

    The app reads the session token from the browser's HttpOnly cookie on every rerun. Here each
    ``AppTest`` has a cookie jar outside its session state (which the app clears when a session
    ends, as a browser's cookies are not in it either):

    * after a verified sign-in the app leaves a hand-over ticket and reruns; like a browser
      following the redirect to the cookie route, the ticket is redeemed into the jar;
    * a test that puts a ``strategy.auth.User`` in ``at.session_state["user"]`` (and has no
      cookie) is signed in as that user: the user is created in the test's database if missing (by
      an administrator, as the app requires) and a session is opened for it;
    * ``at.session_state["_test_cookie"] = value`` puts ``value`` in the jar (``None``: a browser
      without the cookie).
    """
    from app_pages import _session
    from tests.fake_browser import jar_get, jar_set

    def fake_token():
        import streamlit as st
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        from app_pages._state import get_store

        state = st.session_state
        browser = get_script_run_ctx().session_state._state  # the AppTest's own SessionState
        if "_test_cookie" in state:
            jar_set(browser, state["_test_cookie"])
            del state["_test_cookie"]
        known, token = jar_get(browser)
        if known:
            return token
        store = get_store()
        ticket = state.get("_handoff_ticket")
        if ticket:
            del state["_handoff_ticket"]
            return jar_set(browser, store.redeem_handoff(ticket, binding=None))
        claimed = state.get("user")
        if claimed is None or state.get("_signed_in_as") is not None:
            return None
        return jar_set(browser, store.open_session(_test_user(store, claimed)))

    # Session-wide (module-scoped fixtures run pages too); the real server never imports tests.
    real = _session.browser_token, _session.browser_binding
    _session.browser_token, _session.browser_binding = fake_token, lambda: None
    yield
    _session.browser_token, _session.browser_binding = real


def _test_user(store, claimed):
    """The database's own record of ``claimed`` (created by an administrator when missing)."""
    from strategy.auth import User, operator_user

    known = {row["username"]: row for row in store.list_users()}
    if claimed.username not in known:
        if not known:
            store.create_first_admin("test-admin", None, operator=operator_user())
            known["test-admin"] = {"role": "admin", "disabled": False}
        admin = next(name for name, row in known.items()
                     if row["role"] == "admin" and not row["disabled"])
        store.add_user(User(admin, "admin"), claimed.username, claimed.role, None)
        return claimed
    return User(claimed.username, known[claimed.username]["role"])


@pytest.fixture(autouse=True)
def _empty_cookie_jars():
    """Each test's fake browsers are thrown away with it (they hold their AppTest's state)."""
    yield
    from tests.fake_browser import COOKIE_JARS

    COOKIE_JARS.clear()


@pytest.fixture(scope="session")
def _postgres_server():
    """One throw-away PostgreSQL server per test process (tests/pg_server.py), started on first use."""
    from tests.pg_server import PostgresServer, server_programs

    programs = server_programs()
    if programs is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL's server programs (initdb, pg_ctl) are not installed: CI must run the review "
                        "store on PostgreSQL. Install them: apt-get install postgresql")
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed (apt-get install postgresql)")
    server = PostgresServer(programs)
    server.start()
    yield server
    server.stop()


def pytest_generate_tests(metafunc):
    """Tests using ``review_db_url`` run on SQLite; in a module that sets ``ALSO_ON_POSTGRESQL = True``
    (the review store's own behaviour: workflow, vetoes, audit chain, export, ...) on PostgreSQL too."""
    if "review_db_kind" in metafunc.fixturenames:
        kinds = ["sqlite", "postgresql"] if getattr(metafunc.module, "ALSO_ON_POSTGRESQL", False) else ["sqlite"]
        metafunc.parametrize("review_db_kind", kinds)


@pytest.fixture
def review_db_url(request, tmp_path, review_db_kind):
    """The review store's database: a SQLite file, or a database of its own on a real PostgreSQL server
    (``PERSONAS_DB_URL=postgresql+psycopg://...`` is documented, so it is tested, see above)."""
    if review_db_kind == "sqlite":
        return str(tmp_path / "review.db")
    return request.getfixturevalue("_postgres_server").new_schema_url()
