"""Fixtures for the review pages (Strategies, Audit, Users) under ``app.py`` with ``AppTest``.

One real pipeline run on a generated portfolio of 1,500 accounts is built once per session (the
slow part; only tests that ask for ``review_desk`` build it). Each test then gets its own workspace
(``PERSONAS_HOME`` from tests/conftest.py), a copy of the run in it, a fresh review database with
one user per role, and the run's portfolio chosen as on the Portfolio page, so the guardrails see
the accounts. The app's store is cached by database URL, so tests never share a database.

The Explanations tests (several files) share one run with a risk model the same way: built once per
session (``risk_run_source``), copied once per module (``risk_run_dir``).
"""
from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
REVIEW_TIMEOUT_S = 300  # a busy two-core machine
REVIEW_USERS = {"ana": "analyst", "bob": "analyst", "mia": "manager", "max": "manager",
                "cleo": "compliance", "root": "admin"}


@pytest.fixture(scope="session")
def review_run_source(tmp_path_factory) -> SimpleNamespace:
    """A saved run made by ``run_pipeline`` from a generated CSV (built once per session)."""
    from application.pipeline import run_pipeline
    from personas.settings import DiscoverySettings, RunSettings
    from portfolio.load import load_portfolio
    from sample_data.generator import generate_portfolio, write_portfolio

    tmp = tmp_path_factory.mktemp("review_run")
    with pytest.MonkeyPatch.context() as monkeypatch:  # the autouse workspace is per test
        monkeypatch.setenv("PERSONAS_HOME", str(tmp / "workspace"))
        csv = write_portfolio(generate_portfolio(1_500, seed=11), tmp / "accounts.csv")
        data = csv.read_bytes()
        portfolio = load_portfolio(data, filename=csv.name)
        result = run_pipeline(portfolio, RunSettings(
            discovery=DiscoverySettings(search=False, stability_resamples=2, n_epochs=100), seed=42))
        run_dir = tmp / "runs" / result.run_id
        result.save(run_dir)
    return SimpleNamespace(run_dir=run_dir, data=data, filename=csv.name, frame=portfolio.frame)


@pytest.fixture(scope="session")
def risk_run_source(tmp_path_factory) -> Path:
    """A saved run with a risk model on 1,000 generated accounts, made by ``run_pipeline`` once per
    session (per pytest-xdist worker). The Explanations tests each take their own copy of it
    (:func:`risk_run_dir`): building it costs about as much as all tests of one of those files."""
    from application.pipeline import run_pipeline
    from personas.settings import DiscoverySettings, RunSettings
    from portfolio.load import load_portfolio
    from sample_data.generator import generate_portfolio

    tmp = tmp_path_factory.mktemp("risk_run")
    with pytest.MonkeyPatch.context() as monkeypatch:  # the autouse workspace is per test
        monkeypatch.setenv("PERSONAS_HOME", str(tmp / "workspace"))
        result = run_pipeline(load_portfolio(generate_portfolio(1_000, seed=3)), RunSettings(
            discovery=DiscoverySettings(search=False, stability_resamples=2, n_epochs=100),
            target="paid_90d", target_event="paid", seed=42))
        result.save(tmp / "run")
    return tmp / "run"


@pytest.fixture(scope="module")
def risk_run_dir(risk_run_source, tmp_path_factory) -> Path:
    """This module's own copy of :func:`risk_run_source`: what a test writes into its run folder stays
    in its module, as when each module made its own run."""
    return Path(shutil.copytree(risk_run_source, tmp_path_factory.mktemp("risk_run_copy") / "run"))


@dataclass
class ReviewDesk:
    """A test's workspace: the run, its users, and helpers to open pages signed in as one of them."""

    run_dir: Path
    data: bytes
    filename: str
    frame: Any = field(repr=False)

    def user(self, name: str, role: str | None = None):
        from strategy.auth import User

        return User(name, role or REVIEW_USERS[name])

    def store(self):
        from core.workspace import database_url
        from strategy.store import ReviewStore

        return ReviewStore(database_url())

    def run_view(self):
        from strategy.run_view import load_run_view

        return load_run_view(self.run_dir)

    def open(self, name: str, page: str, role: str | None = None) -> AppTest:
        """``app.py`` signed in as ``name`` (in ``role``) with this run and portfolio, on ``page``."""
        from app_pages._state import PortfolioChoice

        at = AppTest.from_file(APP, default_timeout=REVIEW_TIMEOUT_S)
        at.session_state["user"] = self.user(name, role)
        at.session_state["run_dir"] = str(self.run_dir)
        at.session_state["portfolio_choice"] = PortfolioChoice(
            self.data, self.filename, hashlib.sha256(self.data).hexdigest())
        at.run()
        assert not at.exception, at.exception
        at.switch_page(page)
        return at.run()

    def sign_in(self, name: str, page: str) -> AppTest:
        """Sign in through the form of ``app.py`` (real argon2 password check), then open ``page``."""
        from app_pages._state import PortfolioChoice

        password = f"{name}-password-1"
        store = self.store()
        store.set_password(self.user("root"), name, password)  # reset by the administrator
        store.close()
        at = AppTest.from_file(APP, default_timeout=REVIEW_TIMEOUT_S).run()
        fields = {field.label: field for field in at.text_input}
        fields["User name"].input(name)
        fields["Password"].input(password)
        next(b for b in at.button if b.label == "Sign in").click()
        at.session_state["portfolio_choice"] = PortfolioChoice(  # as if chosen on the Portfolio page
            self.data, self.filename, hashlib.sha256(self.data).hexdigest())
        at.run()
        assert not at.exception, at.exception
        assert at.session_state["user"] == self.user(name)
        at.switch_page(page)
        return at.run()

    def propose_all(self, name: str = "ana") -> None:
        """Propose the library's strategies for every persona, as ``name`` (an analyst)."""
        from strategy.proposals import propose_strategies

        run, store = self.run_view(), self.store()
        for proposal in propose_strategies(run.profiles, accounts=run.accounts,
                                           portfolio_frame=self.frame):
            store.propose(self.user(name), run, proposal.persona_id, proposal.strategy,
                          evidence=proposal.evidence)
        store.close()

    def approve_all(self, name: str = "mia", *, sign_off: bool = True) -> None:
        """Approve every mapping as ``name``; with ``sign_off`` compliance (cleo) also signs off
        the run's model, which export requires."""
        run, store = self.run_view(), self.store()
        for mapping in store.list_mappings(run):
            store.approve(self.user(name), run, mapping.persona_id,
                          expected_version=mapping.version, portfolio=self.frame)
        if sign_off:
            store.sign_off_model(self.user("cleo"), run, "checked for the test")
        store.close()


@pytest.fixture
def review_desk(review_run_source) -> Iterator[ReviewDesk]:
    """This test's workspace with a copy of the run and one user per role."""
    from core.workspace import runs_dir
    from tests.user_factory import add_users

    run_dir = runs_dir() / review_run_source.run_dir.name
    shutil.copytree(review_run_source.run_dir, run_dir)
    desk = ReviewDesk(run_dir, review_run_source.data, review_run_source.filename,
                      review_run_source.frame)
    store = desk.store()
    # No passwords (no argon2 work): tests sign in through the session state (tests/conftest.py).
    add_users(store, [desk.user(name) for name in sorted(REVIEW_USERS, key=lambda n: n != "root")])
    store.close()
    yield desk


# ---------------------------------------------------------------- reading what a page shows
def page_elements(node) -> Iterator[Any]:
    """Every element of an AppTest tree in page order (blocks flattened)."""
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for key in sorted(children):
        yield from page_elements(children[key])


@pytest.fixture
def in_page_order():
    """``in_page_order(at)``: the page's elements in the order a reader sees them."""
    return lambda at: list(page_elements(at.main))


@pytest.fixture
def texts():
    """``texts(at)``: everything the page shows as text (titles, markdown, alerts, metrics)."""
    def _texts(at: AppTest) -> str:
        parts = []
        for kind in ("title", "subheader", "markdown", "caption", "info", "success", "warning",
                     "error", "metric"):
            for element in getattr(at, kind):
                parts += [str(getattr(element, "value", "")), str(getattr(element, "label", ""))]
        return "\n".join(parts)
    return _texts


@pytest.fixture
def map_chart():
    """``map_chart(at)``: the Vega-Lite spec (dict) of the chart on the Personas page's Map tab."""
    import json

    def _spec(at: AppTest) -> dict[str, Any]:
        tab = next(t for t in at.tabs if t.label == "Map")
        charts = tab.get("vega_lite_chart")
        assert len(charts) == 1, f"the Map tab shows {len(charts)} charts"
        return json.loads(charts[0].proto.spec)
    return _spec
