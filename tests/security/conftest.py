"""A fabricated run with proposed strategies, and users of every role, for the access-control tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategy.auth import User
from tests.run_factory import save_fabricated_run
from tests.user_factory import add_users

ANALYST = User("ana", "analyst")
MANAGER = User("mia", "manager")
COMPLIANCE = User("cleo", "compliance")
ADMIN = User("root", "admin")
ALL_USERS = (ANALYST, MANAGER, COMPLIANCE, ADMIN)

PERSONAS = ((0, "Reliable early payers", 220.0, 18.0), (1, "Small forgotten balances", 60.0, 35.0))


RUN_ID = "20261123-080000-5ec0000001"


def write_run(directory: Path, run_id: str = RUN_ID) -> Path:
    """run.json, personas.json and accounts.parquet shaped like the pipeline's (docs/architecture.md)."""
    accounts, profiles = [], []
    for pid, name, balance, dpd in PERSONAS:
        ids = [f"S{pid}{i:03d}" for i in range(30)]
        accounts.append(pd.DataFrame({"account_id": ids, "persona_id": pid, "persona_name": name,
                                      "membership_probability": 0.9, "needs_review": False,
                                      "x": np.nan, "y": np.nan, "risk_score": 0.3}))
        profiles.append({
            "persona_id": pid, "name": name, "size": 30, "share_accounts": 0.5, "share_balance": 0.5,
            "pay_rate": 0.7, "mean_recovery": None, "mean_risk_score": 0.3,
            "medians": {"balance": {"persona": balance, "portfolio": 150.0},
                        "days_past_due": {"persona": dpd, "portfolio": 25.0}},
            "distinguishing": [], "categorical_shares": {}, "needs_review_count": 0})
    frame = pd.concat(accounts, ignore_index=True)
    # the run's own copy; export tests add contact columns (phone, e-mail) the copy leaves out
    portfolio = pd.DataFrame({"account_id": frame["account_id"], "balance": 100.0, "days_past_due": 30})
    save_fabricated_run(directory, run_id, profiles, frame,
                        data_sha256="ef" * 32, source_name="security.csv", portfolio=portfolio)
    return directory


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch):
    """Argon2 with the cheapest parameters: the tests check behaviour, not hashing cost."""
    from argon2 import PasswordHasher, profiles

    import strategy.auth
    monkeypatch.setattr(strategy.auth, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def review(_isolated_workspace):
    """(store, run view, run_dir): users of every role, both personas proposed by the analyst."""
    from core.workspace import database_url, runs_dir
    from strategy.catalogue import Strategy
    from strategy.run_view import load_run_view
    from strategy.store import ReviewStore

    run_dir = write_run(runs_dir() / RUN_ID)
    store = ReviewStore(database_url())
    add_users(store, (ADMIN, ANALYST, MANAGER, COMPLIANCE))
    run = load_run_view(run_dir)
    for pid in run.persona_ids:
        store.propose(ANALYST, run, pid, Strategy(rationale="test proposal"))
    yield store, run, run_dir
    store.close()
