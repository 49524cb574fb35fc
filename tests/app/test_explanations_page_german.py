"""The Explanations page for a German reader: the model card, the warnings and the reasons in German.

The run is made in English (its stored ``model_card.md`` and reasons stay English); the page writes
the card again from the run's figures in the reader's language and offers it as the download, beside
the card stored with the run. An English reader sees the stored card as it is.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.test_explanations_page import PAGE, TIMEOUT_S
from tests.app.test_pages_in_german import _english_terms
from tests.explain.test_explanations_in_german import _english_phrases


@pytest.fixture(scope="module")
def run_dir(risk_run_dir):
    return risk_run_dir


@pytest.fixture
def downloads(monkeypatch):
    """The label -> (data, file name) of every download button the page draws."""
    import streamlit

    seen = {}
    original = streamlit.download_button

    def recording(label, data=None, *args, **kwargs):
        seen[label] = (data, kwargs.get("file_name"))
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", recording)
    return seen


def _page(run_dir: Path, language: str | None, monkeypatch) -> AppTest:
    from strategy.auth import User

    if language:
        monkeypatch.setenv("PERSONAS_LANGUAGE", language)
    else:
        monkeypatch.delenv("PERSONAS_LANGUAGE", raising=False)
    monkeypatch.setenv("PERSONAS_HOME", str(run_dir.parent / "workspace"))
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT_S)
    at.session_state["user"] = User("ana", "analyst")
    at.session_state["run_dir"] = str(run_dir)
    at.run()
    assert not at.exception, at.exception
    return at


def _card(at: AppTest) -> str:
    """The card as shown, without the escapes the page adds (core.text.defang_markdown)."""
    tab = next(t for t in at.tabs if t.label in ("Modellkarte", "Model card"))
    return re.sub(r"\\(.)", r"\1", next(m.value for m in tab.markdown if "\n## " in m.value))


def test_the_page_in_german_shows_and_offers_the_german_model_card(run_dir, downloads, monkeypatch):
    at = _page(run_dir, "de", monkeypatch)
    card = _card(at)
    assert card.startswith("# Modellkarte: Risiko, NICHT zu bezahlen (paid_90d)")
    for heading in ("## Modellangaben", "## Vorgesehene Verwendung", "## Kennzahlen", "## Daten",
                    "## Ethische Überlegungen"):
        assert heading in card
    assert re.search(r"\| ROC-AUC \| 0,\d{3} \(0,\d{3}–0,\d{3}\) \|", card), "German decimals"
    assert "1.000 Konten" in card
    assert [p for p in _english_phrases("explain/model_card.py") if p in card] == []
    assert _english_terms(card) == [], "none of the app's own English UI words"
    data, name = downloads["Modellkarte herunterladen (Markdown)"]
    assert data.startswith("# Modellkarte") and name == "model_card_de.md"
    stored, stored_name = downloads["Beim Lauf gespeicherte Karte herunterladen (Markdown)"]
    assert stored == (run_dir / "model_card.md").read_text("utf-8") and stored_name == "model_card.md"
    assert stored.startswith("# Model card"), "the run keeps the card it was made with"


def test_the_page_in_german_writes_fairness_rules_and_reasons_in_german(run_dir, monkeypatch):
    at = _page(run_dir, "de", monkeypatch)
    fairness = next(t for t in at.tabs if t.label == "Fairness")
    assert any("Als hohes Risiko markiert = riskanteste 30 % der Konten (Risikowert ≥ 0," in c.value
               for c in fairness.caption)
    for warning in fairness.warning:
        assert "high-risk" not in warning.value and "accounts" not in warning.value, warning.value
    account = next(t for t in at.text_input if t.label == "Kontonummer")
    account.input(account.placeholder).run()
    assert not at.exception, at.exception
    reasons = next(m.value for m in at.markdown if m.value.startswith("**Hauptgründe:**"))
    assert "das Risiko" in reasons and "risk" not in reasons.replace("Risiko", ""), reasons


def test_the_page_in_english_shows_the_stored_card_as_it_is(run_dir, downloads, monkeypatch):
    at = _page(run_dir, None, monkeypatch)
    stored = (run_dir / "model_card.md").read_text("utf-8")
    assert _card(at).startswith("# Model card: risk of NOT paying (paid_90d)")
    data, name = downloads["Download model card (Markdown)"]
    assert data == stored and name == "model_card.md"
    assert "Download the card stored with the run (Markdown)" not in downloads
