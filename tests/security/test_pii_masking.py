"""Personal data (names, e-mail, phone, IBAN, street) never appears unmasked where the app shows data,
and never leaves in an export unless someone asked for it explicitly.

The checks collect every piece of text a page renders (all dataframe cells, markdown, captions,
alerts, metrics, widget labels and options) and look for the raw values of the PII columns.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from strategy.auth import User

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data" / "sample_portfolio.csv"
ANALYST = User("ana", "analyst")
TIMEOUT_S = 240
MIN_LENGTH = 6  # shorter values (first names like "Ali") could appear by coincidence


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


def raw_pii_values(source: Path | bytes, filename: str) -> set[str]:
    """Distinctive raw values of the columns the reader classes as PII."""
    from portfolio.load import load_portfolio

    portfolio = load_portfolio(source, filename=filename)
    assert portfolio.roles.pii, "the sample must contain PII columns for this test to mean anything"
    values = set()
    for column in portfolio.roles.pii:
        for value in portfolio.frame[column].dropna().astype(str):
            if len(value.strip()) >= MIN_LENGTH:
                values.add(value.strip())
    return values


def rendered_text(at: AppTest) -> list[str]:
    """Every string the page shows: dataframe cells and headers, text elements, widget labels/options."""
    texts: list[str] = []
    for frame_element in list(at.dataframe) + list(at.get("arrow_data_frame")):
        frame = frame_element.value if hasattr(frame_element, "value") else None
        if isinstance(frame, pd.DataFrame):
            texts += [str(c) for c in frame.columns]
            texts += [str(value) for value in frame.to_numpy().ravel()]
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning",
                 "error", "metric", "code", "text", "json", "table"):
        for element in at.get(kind):
            texts.append(str(getattr(element, "value", "")))
            texts.append(str(getattr(element, "label", "")))
    for widget in list(at.selectbox) + list(at.multiselect) + list(at.radio):
        texts += [str(option) for option in widget.options]
    return texts


def leaked(texts: list[str], raw: set[str]) -> list[str]:
    joined = "\n".join(texts)
    return sorted(value for value in raw if value in joined)


def _portfolio_page(data: bytes, filename: str) -> AppTest:
    PortfolioChoice = state_module().PortfolioChoice

    at = AppTest.from_file(str(declared_pages()["1_portfolio.py"]), default_timeout=TIMEOUT_S)
    at.session_state["user"] = ANALYST
    at.session_state["portfolio_choice"] = PortfolioChoice(data, filename,
                                                           hashlib.sha256(data).hexdigest())
    at.run()
    assert not at.exception, at.exception
    return at  # AppTest renders expander content whether or not it is expanded


def test_portfolio_page_shows_no_raw_personal_data_of_the_sample():
    data = SAMPLE.read_bytes()
    raw = raw_pii_values(data, SAMPLE.name)
    at = _portfolio_page(data, SAMPLE.name)
    texts = rendered_text(at)
    assert any("***" in t for t in texts), "the masked preview is shown (positive control)"
    assert leaked(texts, raw) == []


def test_the_leak_check_would_notice_an_unmasked_preview(monkeypatch):
    """Mutation control: with masking switched off, the same check must find the raw values."""
    import portfolio.mask

    monkeypatch.setattr(portfolio.mask, "mask_pii", lambda frame, roles: frame)
    data = SAMPLE.read_bytes()
    at = _portfolio_page(data, SAMPLE.name)
    assert leaked(rendered_text(at), raw_pii_values(data, SAMPLE.name)) != []


def test_problem_rows_and_messages_show_no_raw_personal_data(tmp_path):
    """Rows excluded by validation are listed with row number and reason, never with their PII."""
    from sample_data.generator import GERMAN_COLUMNS, generate_portfolio, write_portfolio

    frame = generate_portfolio(400, seed=9, language="de")
    balance = GERMAN_COLUMNS["balance"]
    frame[balance] = frame[balance].astype(object)
    frame.loc[[3, 50, 120], balance] = "kein Betrag"          # not an amount
    frame.loc[[7], GERMAN_COLUMNS["account_id"]] = frame.loc[8, GERMAN_COLUMNS["account_id"]]  # duplicate id
    frame.loc[[11], GERMAN_COLUMNS["email"]] = "=HYPERLINK(\"http://evil.example\")"
    path = write_portfolio(frame, tmp_path / "mit_fehlern.csv")
    data = path.read_bytes()

    raw = {str(v).strip() for column in ("first_name", "last_name", "email", "phone", "iban", "street")
           for v in frame[GERMAN_COLUMNS[column]].dropna() if len(str(v).strip()) >= MIN_LENGTH}
    at = _portfolio_page(data, path.name)
    texts = rendered_text(at)
    assert leaked(texts, raw) == []


# ---------------------------------------------------------------- exports
needs_export = pytest.mark.skipif(not (REPO / "strategy" / "export.py").exists(),
                                  reason="strategy/export.py not written yet")


def _approved_review(review):
    """The fabricated run with both personas approved, and a portfolio frame with contact data."""
    from strategy.auth import User as _User

    store, run, run_dir = review
    manager = _User("mia", "manager")
    for pid in run.persona_ids:
        mapping = store.get_mapping(run, pid)
        store.approve(manager, run, pid, expected_version=mapping.version)
    store.sign_off_model(_User("cleo", "compliance"), run, "checked")
    accounts = run.accounts
    portfolio = pd.DataFrame({
        "account_id": accounts["account_id"].astype(str),
        "balance": 100.0, "days_past_due": 30,
        "email": [f"person.{i}@example.org" for i in range(len(accounts))],
        "iban": [f"DE89370400440532{i:06d}" for i in range(len(accounts))],
    })
    return store, run, manager, portfolio


def _export_text(result) -> str:
    if result.format == "xlsx":
        import io

        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(result.content), read_only=True)
        return "\n".join(str(cell) for sheet in book.worksheets
                         for row in sheet.iter_rows(values_only=True) for cell in row)
    return result.content.decode("utf-8")


@needs_export
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_account_export_carries_no_personal_data_unless_asked_for(review, fmt):
    from strategy.export import export_mappings

    store, run, manager, portfolio = _approved_review(review)
    result = export_mappings(store, run, manager, fmt=fmt, level="accounts", portfolio=portfolio)
    text = _export_text(result)
    assert result.rows == len(portfolio)
    assert "S0000" in text  # positive control: the accounts are there
    for column in ("email", "iban"):
        assert not any(value in text for value in portfolio[column]), f"{column} values exported"
    assert "example.org" not in text and "DE893704" not in text


@needs_export
def test_personal_data_is_exported_only_when_named_and_the_audit_log_says_so(review):
    from strategy.export import export_mappings

    store, run, manager, portfolio = _approved_review(review)
    result = export_mappings(store, run, manager, fmt="csv", level="accounts", portfolio=portfolio,
                             include_columns=["email"])
    text = result.content.decode("utf-8")
    assert portfolio["email"].iloc[0] in text
    assert not any(value in text for value in portfolio["iban"]), "only the named column is exported"
    entry = store.export_history(run.run_id)[0]
    assert entry.details["included_columns"] == ["email"]


# ---------------------------------------------------------------- pages that show a run
@pytest.fixture(scope="module")
def german_run(tmp_path_factory):
    """A 1,200-row German portfolio with an outcome, discovered once through the Personas page."""
    import os

    from sample_data.generator import GERMAN_COLUMNS, generate_portfolio, write_portfolio

    home = tmp_path_factory.mktemp("pii_workspace")
    old_home = os.environ.get("PERSONAS_HOME")
    os.environ["PERSONAS_HOME"] = str(home)
    try:
        path = write_portfolio(generate_portfolio(1_200, seed=21, language="de"),
                               tmp_path_factory.mktemp("pii_upload") / "konten.csv")
        data = path.read_bytes()
        at = AppTest.from_file(str(declared_pages()["2_personas.py"]), default_timeout=900)
        at.session_state["user"] = ANALYST
        at.session_state["portfolio_choice"] = state_module().PortfolioChoice(
            data, path.name, hashlib.sha256(data).hexdigest())
        at.session_state["target"] = GERMAN_COLUMNS["paid_90d"]
        at.run()
        at.button(key="find_personas").click().run()  # discovery runs only on the button
        assert not at.exception, at.exception
        yield {"data": data, "name": path.name, "personas_page": at,
               "run_dir": Path(at.session_state["run_dir"]), "home": home}
    finally:
        if old_home is None:
            os.environ.pop("PERSONAS_HOME", None)
        else:
            os.environ["PERSONAS_HOME"] = old_home


@pytest.mark.slow
def test_personas_page_shows_no_raw_personal_data(german_run):
    page = german_run["personas_page"]
    texts = rendered_text(page)
    assert any(m.label == "Personas" for m in page.metric), "discovery ran (positive control)"
    assert any("***" in t for t in texts), "the review list shows masked PII (positive control)"
    assert leaked(texts, raw_pii_values(german_run["data"], german_run["name"])) == []


@pytest.mark.slow
def test_explanations_page_and_account_look_up_show_no_raw_personal_data(german_run, monkeypatch):
    monkeypatch.setenv("PERSONAS_HOME", str(german_run["home"]))
    import pandas as pd

    accounts = pd.read_parquet(german_run["run_dir"] / "accounts.parquet")
    at = AppTest.from_file(str(declared_pages()["3_explanations.py"]), default_timeout=600)
    at.session_state["user"] = ANALYST
    at.session_state["run_dir"] = str(german_run["run_dir"])
    at.session_state["explain_account_id"] = str(accounts["account_id"].iloc[0])
    at.run()
    assert not at.exception, at.exception
    texts = rendered_text(at)
    assert any(m.label.startswith("Risk score (P NOT paid") for m in at.metric), \
        "the account look-up did not render (positive control)"
    assert leaked(texts, raw_pii_values(german_run["data"], german_run["name"])) == []


@pytest.mark.slow
def test_saved_run_artefacts_hold_no_raw_personal_data(german_run):
    """What the run keeps on disk (tables, profiles, model card, metadata) carries no PII values."""
    raw = raw_pii_values(german_run["data"], german_run["name"])
    texts = []
    for path in german_run["run_dir"].rglob("*"):
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            texts += [str(c) for c in frame.columns] + [str(v) for v in frame.to_numpy().ravel()]
        elif path.suffix in {".json", ".md", ".txt", ".csv"}:
            texts.append(path.read_text(encoding="utf-8", errors="ignore"))
    assert texts, "the run folder is empty"
    assert leaked(texts, raw) == []
