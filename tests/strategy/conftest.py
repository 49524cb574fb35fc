"""Fabricated run directories, portfolios and review stores for the strategy tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategy.auth import User
from tests.run_factory import save_fabricated_run
from tests.user_factory import add_users
from strategy.run_view import load_run_view
from strategy.store import ReviewStore

PERSONAS = [  # (id, name, balance median, dpd median, risk, pay_rate, hardship share, sms rate)
    (0, "Reliable early payers", 250.0, 15, 0.18, 0.82, 0.02, 0.45),
    (1, "Over-indebted hardship cases", 1800.0, 120, 0.74, 0.21, 0.70, 0.10),
    (2, "Serial promise breakers", 900.0, 95, 0.68, 0.30, 0.05, 0.20),
    (3, "Small forgotten balances", 45.0, 40, 0.40, 0.55, 0.03, 0.30),
]
N_PER_PERSONA = 100


def make_portfolio(seed: int = 7) -> pd.DataFrame:
    """A portfolio with contact history, PII columns and flags, 100 accounts per persona."""
    rng = np.random.default_rng(seed)
    parts = []
    for pid, _name, balance, dpd, _risk, _pay, hardship, sms_rate in PERSONAS:
        n = N_PER_PERSONA
        sms_attempts = rng.integers(0, 4, n)
        email_attempts = rng.integers(0, 3, n)
        parts.append(pd.DataFrame({
            "account_id": [f"A{pid}{i:04d}" for i in range(n)],
            "debtor_name": [f"Person {pid}-{i}" for i in range(n)],
            "email": [f"p{pid}.{i}@example.org" for i in range(n)],
            "balance": rng.lognormal(np.log(balance), 0.3, n).round(2),
            "days_past_due": rng.poisson(dpd, n),
            "sms_attempts": sms_attempts,
            "sms_responses": rng.binomial(sms_attempts, sms_rate),
            "email_attempts": email_attempts,
            "email_responses": rng.binomial(email_attempts, 0.15),
            "letter_attempts": rng.integers(0, 2, n),
            "letter_responses": 0,
            "phone_attempts": np.zeros(n, dtype=int) + (rng.random(n) < 0.1),
            "phone_responses": 0,
            "best_response_hour": rng.choice([7, 12, 18, 19, 22], n, p=[.1, .2, .3, .3, .1]),
            "payment_method": rng.choice(["sepa_direct_debit", "paypal", "bank_transfer"], n,
                                         p=[.6, .3, .1] if pid == 0 else [.2, .5, .3]),
            "hardship_flag": rng.random(n) < hardship,
            "disputes": (rng.random(n) < 0.04).astype(int),
            "broken_promises": rng.poisson(3 if pid == 2 else 0.3, n),
            "sms_opt_out": rng.random(n) < 0.05,
        }))
    return pd.concat(parts, ignore_index=True)


def make_profiles(portfolio: pd.DataFrame) -> list[dict]:
    """Profiles shaped like ``personas.json`` (see docs/architecture.md)."""
    total_balance = portfolio["balance"].sum()
    profiles = []
    for pid, name, _b, _d, risk, pay, _h, _s in PERSONAS:
        rows = portfolio[portfolio["account_id"].str.startswith(f"A{pid}")]
        medians = {col: {"persona": float(rows[col].median()),
                         "portfolio": float(portfolio[col].median())}
                   for col in ("balance", "days_past_due", "broken_promises", "disputes")}
        profiles.append({
            "persona_id": pid, "name": name, "size": len(rows),
            "share_accounts": len(rows) / len(portfolio),
            "share_balance": float(rows["balance"].sum() / total_balance),
            "pay_rate": pay, "mean_recovery": None, "mean_risk_score": risk,
            "medians": medians,
            "distinguishing": [{"feature": "balance", "std_diff": 0.8, "direction": "higher",
                                "persona_value": medians["balance"]["persona"],
                                "portfolio_value": medians["balance"]["portfolio"]}],
            "categorical_shares": {"hardship_flag": {
                "True": float(rows["hardship_flag"].mean()),
                "False": float(1 - rows["hardship_flag"].mean())}},
            "needs_review_count": 3,
        })
    return profiles


RUN_ID = "20261123-080000-5a0000c001"


def write_run(directory: Path, portfolio: pd.DataFrame, run_id: str = RUN_ID) -> Path:
    """A signed run folder with personas.json and accounts.parquet like the persona pipeline writes."""
    profiles = make_profiles(portfolio)
    pid = portfolio["account_id"].str[1].astype(int)
    accounts = pd.DataFrame({
        "account_id": portfolio["account_id"], "persona_id": pid,
        "persona_name": pid.map({p[0]: p[1] for p in PERSONAS}),
        "membership_probability": 0.9, "needs_review": False, "x": np.nan, "y": np.nan,
        "risk_score": pid.map({p[0]: p[4] for p in PERSONAS}),
    })
    save_fabricated_run(directory, run_id, profiles, accounts,
                        metrics={"personas": len(profiles), "noise_share": 0.0, "stability_ari": 0.91,
                                 "relative_validity": 0.42},
                        model={"target": "paid_90d", "roc_auc": 0.78}, portfolio=portfolio)
    return directory


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch):
    """Argon2 with the cheapest parameters: the tests check behaviour, not hashing cost."""
    from argon2 import PasswordHasher, profiles

    import strategy.auth
    monkeypatch.setattr(strategy.auth, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture(scope="session")
def portfolio_frame() -> pd.DataFrame:
    return make_portfolio()


@pytest.fixture
def run_dir(tmp_path, portfolio_frame) -> Path:
    return write_run(tmp_path / "runs" / RUN_ID, portfolio_frame)


@pytest.fixture
def run(run_dir):
    return load_run_view(run_dir)


ANALYST = User("alice", "analyst")
ANALYST2 = User("erin", "analyst")
MANAGER = User("bob", "manager")
MANAGER2 = User("dave", "manager")
COMPLIANCE = User("carol", "compliance")
ADMIN = User("root", "admin")


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "review.db"


@pytest.fixture
def store(review_db_url):
    """A store with users of every role (no passwords: password checks have their own tests), on SQLite
    and on PostgreSQL (tests/conftest.py ``review_db_url``)."""
    review = ReviewStore(review_db_url)
    add_users(review, (ADMIN, ANALYST, ANALYST2, MANAGER, MANAGER2, COMPLIANCE))
    yield review
    review.close()


def raw_sql(store: ReviewStore, *statements: str, **params) -> None:
    """Write straight into the store's database, past the store (what someone with database access
    could do): SQL both SQLite and PostgreSQL accept (quote ``"user"``: a reserved word in PostgreSQL)."""
    from sqlalchemy import text

    with store.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)
