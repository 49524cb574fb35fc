"""The Portfolio page: every column with role, meaning and reason, correctable; rows excluded per
reason; an outcome coded 1/2 asks which value is the event before any run."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
PAGE = "app_pages/1_portfolio.py"
TIMEOUT_S = 180


def export(rows: int = 300) -> bytes:
    """A generated portfolio without an id column, an outcome coded 1/2 and 20 % empty balances."""
    from sample_data.generator import generate_portfolio

    frame = generate_portfolio(rows, seed=4)
    frame["outcome_class"] = np.where(frame["paid_90d"] == 1, 1, 2)
    frame = frame.drop(columns=["account_id", "paid_90d", "amount_recovered_90d"])
    frame.loc[np.arange(0, rows, 5), "balance"] = np.nan
    return frame.to_csv(index=False).encode("utf-8")


@pytest.fixture
def page(tmp_path):
    from app_pages._state import PortfolioChoice
    from strategy.auth import User

    data = export()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state["user"] = User(username="ana", role="analyst")
    at.session_state["portfolio_choice"] = PortfolioChoice(data, "export.csv", hashlib.sha256(data).hexdigest(),
                                                           json.dumps({"outcome_class": "target"}))
    at.session_state["upload_id"] = "test-upload"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _table(at) -> pd.DataFrame:
    return at.data_editor(key="role_editor").value


def test_every_column_is_listed_with_role_meaning_and_reason(page):
    table = _table(page)
    header = export().decode("utf-8").splitlines()[0].split(",")
    assert set(header) <= set(table["name"])
    assert {"name", "role", "meaning", "reason"} <= set(table.columns)
    assert (table["reason"].str.len() > 0).all()
    assert table.set_index("name").at["balance", "role"] == "balance"


def test_a_file_without_ids_is_usable_and_says_its_ids_are_row_numbers(page):
    assert not any("cannot be used" in e.value for e in page.error)
    assert any("no account id column" in i.value for i in page.info)
    assert _table(page).set_index("column").at["account_id", "generated"]


def test_rows_excluded_are_shown_per_reason(page):
    counts = next(d.value for d in page.dataframe if "reason" in d.value.columns and "rows" in d.value.columns)
    assert counts.set_index("reason")["rows"].to_dict() == {"balance is empty or NaN": 60}


def test_a_changed_role_is_applied_as_a_mapping(page):
    row = int(_table(page).reset_index(drop=True).index[_table(page)["name"] == "sector"][0])
    page.session_state["role_editor"] = {"edited_rows": {row: {"role": "excluded"}}, "added_rows": [],
                                         "deleted_rows": []}
    page.run()
    next(b for b in page.button if b.label == "Apply changes").click().run()

    assert not page.exception, page.exception
    assert json.loads(page.session_state["portfolio_choice"].mapping_json)["sector"] == "excluded"
    assert _table(page).set_index("name").at["sector", "role"] == "excluded"


def test_an_outcome_coded_1_2_asks_which_value_is_the_event(page):
    outcome = next(s for s in page.selectbox if s.label == "Outcome column the risk model learns from")
    outcome.select("outcome_class").run()
    assert not page.exception, page.exception
    assert any("Choose which value" in w.value for w in page.warning)

    value = next(s for s in page.selectbox if "which value is the event" in s.label)
    value.select("2").run()
    page.radio[0].set_value("default").run()

    assert page.session_state["target_event_value"] == "2"
    assert page.session_state["target_event"] == "default"
    assert any("'2' = the account was NOT paid" in c.value for c in page.caption)


def test_a_portfolio_without_a_currency_column_says_currency_unknown_and_can_be_set(page):
    captions = " ".join(c.value for c in page.caption)
    assert "Currency unknown" in captions and "€" not in captions
    box = next(t for t in page.text_input if t.label.startswith("Currency of the amounts"))
    box.input("usd").run()
    assert not page.exception, page.exception
    captions = " ".join(c.value for c in page.caption)
    assert "Currency: **USD**" in captions
    assert page.session_state["amount_unit_choice"] == "USD"
