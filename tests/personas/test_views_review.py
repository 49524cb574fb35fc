"""The Needs review table: the least certain flagged accounts, joined to their portfolio rows, PII masked."""
from __future__ import annotations

import pandas as pd

from personas.views import review_accounts
from portfolio.roles import detect_roles


def _portfolio(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame({"account_id": [f"K{i:03d}" for i in range(n)], "balance": [100.0 + i for i in range(n)],
                         "days_past_due": [30] * n, "first_name": [f"Johanna{i}" for i in range(n)],
                         "email": [f"person{i}@example.de" for i in range(n)]},
                        index=range(1000, 1000 + n))  # a portfolio index is not 0..n-1 after excluded rows


def _accounts(frame: pd.DataFrame) -> pd.DataFrame:
    n = len(frame)
    return pd.DataFrame({"account_id": frame["account_id"].to_numpy(), "persona_id": [i % 3 for i in range(n)],
                         "persona_name": "P", "membership_probability": [(n - i) / n for i in range(n)],
                         "needs_review": [i % 2 == 0 for i in range(n)]})


def test_the_least_certain_flagged_accounts_come_first_with_their_portfolio_columns():
    frame = _portfolio()
    table = review_accounts(_accounts(frame), frame, detect_roles(frame), limit=5)
    assert list(table["account_id"]) == ["K038", "K036", "K034", "K032", "K030"]
    assert list(table["balance"]) == [138.0, 136.0, 134.0, 132.0, 130.0]


def test_personal_data_in_the_review_table_is_masked():
    frame = _portfolio()
    table = review_accounts(_accounts(frame), frame, detect_roles(frame))
    assert len(table) == 20
    assert not table["email"].str.contains("person", regex=False).any()
    assert table["email"].str.endswith("@example.de").all()
    assert not table["first_name"].str.contains("Johanna", regex=False).any()
