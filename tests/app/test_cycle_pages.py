"""The monthly cycle in the app: apply a run to next month's file on the Portfolio page, read the drift
report on the Drift page, load payments and read KPIs and the champion/challenger read-out.

Runs ``app.py`` with ``AppTest`` on the ``review_desk`` run (tests/app/conftest.py): 1,500 generated
accounts, approved by a manager; month 2 comes from :mod:`sample_data.monthly`.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from tests.app.conftest import APP, REVIEW_TIMEOUT_S

DRIFT = "app_pages/8_drift.py"
KPIS = "app_pages/9_kpis.py"
PORTFOLIO = "app_pages/1_portfolio.py"


def _month2(review_desk, **shift) -> pd.DataFrame:
    from sample_data.generator import generate_portfolio
    from sample_data.monthly import next_month

    month1 = generate_portfolio(1_500, seed=11)  # the review_desk run's portfolio
    return next_month(month1, 11, shift=shift or None)


def _applied(review_desk, **shift):
    """Approve the run, apply it to month 2 with the review store; the new run sits beside the base run."""
    from application.apply import apply_run
    from portfolio.load import load_portfolio
    from runs import new_run_id

    review_desk.propose_all("ana")
    review_desk.approve_all("mia")
    store = review_desk.store()
    try:
        return apply_run(review_desk.run_dir, load_portfolio(_month2(review_desk, **shift), filename="month2.csv"),
                         out_dir=review_desk.run_dir.parent / new_run_id(), store=store,
                         actor=review_desk.user("ana"))
    finally:
        store.close()


def _open_run(review_desk, name: str, page: str, run_dir):
    at = review_desk.open(name, page)
    at.session_state["run_dir"] = str(run_dir)
    return at.run()


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [m.value for m in at.caption] + [m.value for m in at.info]
    parts += [m.value for m in at.success] + [m.value for m in at.warning]
    return "\n".join(str(p) for p in parts)


def test_a_run_that_was_not_applied_says_how_to_get_a_drift_report(review_desk):
    at = review_desk.open("ana", DRIFT)
    assert not at.exception, at.exception
    assert any("apply" in i.value and "drift report" in i.value for i in at.info)


def test_drift_page_shows_the_carried_over_month(review_desk):
    result = _applied(review_desk)
    assert not result.review_needed, result.drift["reasons"]
    at = _open_run(review_desk, "mia", DRIFT, result.path)
    assert not at.exception, at.exception
    assert any("carried over" in s.value for s in at.success)
    states = next(df.value for df in at.dataframe if "Strategy" in df.value.columns)
    assert set(states["Strategy"]) <= {"approved", "back to review"}
    table = next(df.value for df in at.dataframe if "Back to review" in df.value.columns)
    assert len(table) == len(result.drift["personas"])
    assert set(table["Back to review"]) == {"no"}
    assert any(df.value.columns.tolist() == ["Feature", "PSI", "Level"] for df in at.dataframe)


def test_drift_page_names_the_persona_sent_back_to_review(review_desk):
    result = _applied(review_desk, over_indebted=0.30)
    assert result.review_needed
    at = _open_run(review_desk, "mia", DRIFT, result.path)
    assert not at.exception, at.exception
    assert any("back to review" in w.value for w in at.warning)
    table = next(df.value for df in at.dataframe if "Back to review" in df.value.columns)
    sent_back = set(table.loc[table["Back to review"] == "yes", "Persona"])
    assert len(sent_back) == len(result.drift["review_personas"]) >= 1


def test_kpis_page_reads_payments_loaded_into_the_month(review_desk, tmp_path):
    from portfolio.payments import load_payments
    from strategy.outcomes import save_outcomes

    result = _applied(review_desk)
    accounts = result.accounts["account_id"].astype(str)
    rng = np.random.default_rng(0)
    paying = accounts.sample(frac=0.3, random_state=1)
    payments = pd.DataFrame({"account_id": paying.to_numpy(), "date": "2026-11-15",
                             "amount": rng.uniform(10, 200, len(paying)).round(2)})
    path = tmp_path / "payments.csv"
    payments.to_csv(path, index=False)
    save_outcomes(result.path, load_payments(path))

    at = _open_run(review_desk, "mia", KPIS, result.path)
    assert not at.exception, at.exception
    overview = at.dataframe[0].value
    recovery = [c for c in overview.columns if c.startswith("Recovery rate")]
    assert recovery, overview.columns
    month2 = overview.loc[overview["Month"] == 2, recovery[0]]
    assert len(month2) == 1 and 0 < float(month2.iloc[0]) < 1
    # month 1 has no payments: not available, never 0
    assert pd.isna(overview.loc[overview["Month"] == 1, recovery[0]]).all()
    assert "2 month(s)" in _texts(at)


def test_portfolio_page_applies_a_run_to_the_uploaded_month(review_desk):
    from app_pages._state import PortfolioChoice
    from streamlit.testing.v1 import AppTest

    review_desk.propose_all("ana")
    review_desk.approve_all("mia")
    data = _month2(review_desk).to_csv(index=False).encode("utf-8")
    at = AppTest.from_file(APP, default_timeout=REVIEW_TIMEOUT_S)
    at.session_state["user"] = review_desk.user("ana")
    at.session_state["portfolio_choice"] = PortfolioChoice(data, "month2.csv", hashlib.sha256(data).hexdigest())
    at.run()
    at.switch_page(PORTFOLIO)
    at.run()
    assert not at.exception, at.exception
    next(b for b in at.button if b.label == "Apply run to this file").click()
    at.run()
    assert not at.exception, at.exception
    assert any("approvals carried over" in s.value for s in at.success), [s.value for s in at.success]
    new_dir = at.session_state["run_dir"]
    assert new_dir != str(review_desk.run_dir)
    from strategy.run_view import load_run_view

    assert load_run_view(new_dir).parent_run_id == review_desk.run_view().run_id


@pytest.fixture(autouse=True)
def _no_warmup(monkeypatch):
    monkeypatch.setenv("PERSONAS_WARMUP", "0")
