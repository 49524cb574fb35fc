"""The Portfolio page says what is wrong with a file in the page's language and what to do in the app:
a text file that is no portfolio shows no usable rows beside "cannot be used", and the missing columns
are fixed in the column table on the page, not with a command-line mapping file."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
PAGE = "app_pages/1_portfolio.py"
TIMEOUT_S = 180
NOTE = b"hello world\nthis is a note\nanother line\n"


def _open(data: bytes, name: str, language: str, monkeypatch) -> AppTest:
    from app_pages._state import PortfolioChoice
    from strategy.auth import User

    monkeypatch.setenv("PERSONAS_LANGUAGE", language)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state["user"] = User(username="ana", role="analyst")
    at.session_state["portfolio_choice"] = PortfolioChoice(data, name, hashlib.sha256(data).hexdigest(),
                                                           json.dumps({}))
    at.session_state["upload_id"] = "test-upload"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("language, usable, table_hint, cannot", [
    ("en", "Usable rows", "in the column table above", "cannot be used"),
    ("de", "Verwendbare Zeilen", "in der Spaltentabelle oben", "kann erst verwendet werden"),
])
def test_a_text_file_that_is_no_portfolio_says_what_to_do_in_the_app(language, usable, table_hint, cannot,
                                                                      monkeypatch):
    at = _open(NOTE, "notiz.txt", language, monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[usable] == "0"  # never "2" beside "cannot be used"
    errors = [e.value for e in at.error]
    assert any(cannot in e for e in errors)
    missing = [e for e in errors if "balance" in e and "days_past_due" not in e]
    assert missing and table_hint in missing[0]
    assert not any("--mapping" in e for e in errors)  # a web user writes no command-line mapping file
    assert not at.subheader or all(s.value not in ("Overview", "Überblick") for s in at.subheader)


def test_validation_messages_and_reasons_are_german_on_a_german_page(monkeypatch):
    data = ("Konto;Offener Betrag;Tage überfällig;Branche\n"
            + "".join(f"K{i};{i},50;{i % 90};{'telecom' if i % 2 else 'energie'}\n" for i in range(40))
            + "K99;abc;12;telecom\n").encode("utf-8")
    at = _open(data, "bestand.csv", "de", monkeypatch)
    errors = [e.value for e in at.error]
    assert any("Spalte 'Offener Betrag' (balance): 1 Wert ist keine Zahl" in e and "Zeile 42" in e for e in errors)
    table = at.data_editor(key="role_editor").value.set_index("name")
    assert table.at["Offener Betrag", "reason"] == "deutsches Synonym 'offener betrag' für balance erkannt"
    assert table.at["Offener Betrag", "role"] == "balance"  # values stay the machine's
    reasons = next(d.value for d in at.dataframe if "reason" in d.value.columns and "rows" in d.value.columns)
    assert reasons["reason"].tolist() == ["offener Betrag ist keine Zahl"]
