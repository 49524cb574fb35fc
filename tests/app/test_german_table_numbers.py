"""Number columns of the app's tables in the reader's language (issue 18): Streamlit's own number formats
follow the browser (percent) or always write a decimal point (``"%.3f"``), so German tables show text
written by core/formats.py (app_pages/_numbers.py)."""
from __future__ import annotations

import math
import re

import pandas as pd
import pytest

DRIFT = "app_pages/8_drift.py"
POINT_DECIMAL = re.compile(r"\d\.\d")  # "0.812", "12.5%": an English decimal


def _de(text: str) -> str:
    from core.i18n import translator

    return translator("de")._(text)


# ---------------------------------------------------------------- the helper
def test_in_english_the_frame_is_unchanged_and_the_columns_are_number_columns():
    import streamlit as st

    from app_pages._numbers import number_columns

    frame = pd.DataFrame({"name": ["a", "b"], "share": [0.125, math.nan], "psi": [0.8123, 1234.5]})
    shown, config = number_columns(frame, {"share": ("percent", 1), "psi": ("decimal", 3), "absent": ("decimal", 2)},
                                   "en", labels={"share": "Share"}, helps={"psi": "Population stability"})
    assert shown is frame
    assert config == {"share": st.column_config.NumberColumn("Share", format="percent"),
                      "psi": st.column_config.NumberColumn(None, help="Population stability", format="%.3f")}


def test_in_german_the_columns_are_text_with_comma_decimals_in_their_place():
    import streamlit as st

    from app_pages._numbers import number_columns

    frame = pd.DataFrame({"name": ["a", "b"], "share": [0.125, math.nan], "psi": [0.8123, 1234.5]})
    shown, config = number_columns(frame, {"share": ("percent", 1), "psi": ("decimal", 3)}, "de",
                                   labels={"share": "Anteil"})
    assert shown.columns.tolist() == ["name", "share", "psi"]
    assert shown["share"].tolist() == ["12,5 %", "–"]
    assert shown["psi"].tolist() == ["0,812", "1.234,500"]
    assert frame["share"].iloc[0] == 0.125, "the caller's frame is not changed"
    assert config == {"share": st.column_config.TextColumn("Anteil"), "psi": st.column_config.TextColumn(None)}


# ---------------------------------------------------------------- the pages, as a German user
def _frame(at, *columns: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if set(columns) <= set(df.value.columns))


def test_the_explanations_tables_write_german_decimals(risk_run_dir, monkeypatch):
    from tests.app.test_explanations_page_german import _page

    at = _page(risk_run_dir, "de", monkeypatch)
    metrics = _frame(at, "metric", "value")
    values = [v for v in metrics["value"] if v != "–"]
    assert values and all(re.fullmatch(r"-?\d+,\d{3}", v) for v in values), values
    gains = _frame(at, "cumulative_gain")
    assert all(re.fullmatch(r"\d+,\d %", v) for v in gains["cumulative_gain"]), gains["cumulative_gain"].tolist()
    for frame in (metrics[["value", "ci_low", "ci_high"]], gains):
        assert not any(POINT_DECIMAL.search(str(v)) for v in frame.to_numpy().ravel()), frame


def test_the_drift_tables_write_german_shares_and_psi(review_desk, monkeypatch):
    from tests.app.test_cycle_pages import _applied
    from tests.app.test_pages_in_german import _open

    monkeypatch.setenv("PERSONAS_WARMUP", "0")
    result = _applied(review_desk)
    monkeypatch.setenv("PERSONAS_LANGUAGE", "de")
    at = _open(DRIFT, run_dir=str(result.path))
    base, new = _de("Base share"), _de("New share")
    shares = _frame(at, base, new)
    assert len(shares) == len(result.drift["personas"]) >= 1
    for column in (base, new):
        assert all(re.fullmatch(r"\d+,\d %", v) for v in shares[column]), shares[column].tolist()
    psi = _frame(at, "Feature", "PSI")["PSI"]
    assert len(psi) and all(re.fullmatch(r"\d+,\d{3}", v) for v in psi), psi.tolist()
    assert not any(POINT_DECIMAL.search(str(v)) for v in [*shares[base], *shares[new], *psi])


def test_the_kpi_overview_writes_german_percentages_and_a_dash_when_not_available(review_desk, tmp_path,
                                                                                   monkeypatch):
    import numpy as np

    from portfolio.payments import load_payments
    from strategy.outcomes import save_outcomes
    from tests.app.test_cycle_pages import _applied
    from tests.app.test_pages_in_german import _open

    monkeypatch.setenv("PERSONAS_WARMUP", "0")
    result = _applied(review_desk)
    paying = result.accounts["account_id"].astype(str).sample(frac=0.3, random_state=1)
    payments = pd.DataFrame({"account_id": paying.to_numpy(), "date": "2026-11-15",
                             "amount": np.random.default_rng(0).uniform(10, 200, len(paying)).round(2)})
    payments.to_csv(tmp_path / "payments.csv", index=False)
    save_outcomes(result.path, load_payments(tmp_path / "payments.csv"))
    monkeypatch.setenv("PERSONAS_LANGUAGE", "de")
    at = _open("app_pages/9_kpis.py", name="mia", role="manager", run_dir=str(result.path))
    overview = at.dataframe[0].value
    month = _de("Month")
    recovery = [c for c in overview.columns if c == _de("Recovery rate (collected / opening balance)")]
    assert recovery, overview.columns
    by_month = dict(zip(overview[month], overview[recovery[0]]))
    assert re.fullmatch(r"\d+,\d %", by_month[2]), by_month
    assert by_month[1] == "–", "month 1 has no payments: not available, never 0"


def test_the_personas_review_table_writes_german_probabilities(monkeypatch):
    import json

    from tests.app.test_pages_in_german import personas_found

    monkeypatch.setenv("PERSONAS_LANGUAGE", "de")
    at = personas_found(500, seed=77)
    review = next(t for t in at.tabs if t.label == "Zu prüfen").dataframe[0]
    probabilities = review.value["membership_probability"]
    assert len(probabilities) and all(re.fullmatch(r"[01],\d\d", v) for v in probabilities), probabilities.tolist()
    column = json.loads(review.proto.columns)["membership_probability"]
    assert column["label"] == _de("Membership probability") and column["help"], column
