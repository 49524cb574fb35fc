"""What a run keeps of its portfolio: every row and column except direct identifiers, each with a reason."""
from __future__ import annotations

import pandas as pd

from application.run_portfolio import RunPortfolio, run_portfolio
from portfolio.load import load_portfolio

NAMES = ["Anna Schmidt", "Peter Müller", "Maria Weber", "Thomas Fischer", "Julia Wagner", "Michael Becker"] * 5


def _frame() -> pd.DataFrame:
    n = len(NAMES)
    return pd.DataFrame({"Aktenzeichen": [f"AZ-{i:04d}" for i in range(n)],
                         "Offener Betrag": [100.0 + i for i in range(n)],
                         "Verzugstage": [float(10 * i) for i in range(n)],
                         "E-Mail": [f"kunde{i}@example.de" for i in range(n)],
                         "Info1": NAMES,
                         "Forderung bestritten": ["J" if i % 4 == 0 else "N" for i in range(n)]})


def test_identifiers_are_left_out_with_reasons_and_everything_else_is_kept():
    portfolio = load_portfolio(_frame(), filename="erp.csv")
    kept = run_portfolio(portfolio)
    assert list(kept.frame.columns) == ["account_id", "balance", "days_past_due", "Forderung bestritten"]
    assert list(kept.frame["account_id"]) == list(portfolio.frame["account_id"])
    reasons = {item["column"]: item["reason"] for item in kept.left_out}
    assert set(reasons) == {"E-Mail", "Info1"} and "person names" in reasons["Info1"]
    assert kept.renamed == {"Aktenzeichen": "account_id", "Offener Betrag": "balance", "Verzugstage": "days_past_due"}


def test_a_name_column_the_mapping_made_a_feature_is_still_left_out():
    portfolio = load_portfolio(_frame(), filename="erp.csv", mapping={"Info1": "feature"})
    assert portfolio.roles.roles["Info1"] == "feature"
    kept = run_portfolio(portfolio)
    assert "Info1" not in kept.frame.columns
    assert any(item["column"] == "Info1" and "although its role is feature" in item["reason"]
               for item in kept.left_out)


def test_the_section_records_hash_rows_columns_and_survives_a_round_trip():
    portfolio = load_portfolio(_frame(), filename="erp.csv")
    kept = run_portfolio(portfolio)
    section = kept.section(portfolio.sha256)
    assert section["sha256"] == kept.sha256 and section["data_sha256"] == portfolio.sha256
    assert section["rows"] == len(NAMES) and section["file"] == "portfolio.parquet"
    again = RunPortfolio.from_bytes(kept.parquet, section)
    assert again.section(portfolio.sha256) == section
    pd.testing.assert_frame_equal(again.frame, kept.frame)


def test_mixed_type_text_columns_are_stored_as_text():
    frame = _frame().assign(Notiz=[1, "zwei", 3.5, None, "fünf", 6] * 5)
    kept = run_portfolio(load_portfolio(frame, filename="erp.csv"))
    assert kept.frame["Notiz"].tolist()[:3] == ["1", "zwei", "3.5"]
