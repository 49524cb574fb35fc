"""The converted pages in German: no English UI word of the app's own, German numbers and dates.

Pages are opened signed in through ``app.py`` with ``AppTest`` (tests/conftest.py plays the browser).
The language comes, as in the app, from the user's saved choice (Account page), else
``PERSONAS_LANGUAGE``, else the browser's ``navigator.language`` (``AppTest.context["locale"]``).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
TIMEOUT_S = 240  # reading the 5,000-row sample on a busy two-core machine

#: The app's own English UI terms; none may show on a German page.
ENGLISH_TERMS = ("Upload", "Portfolio file", "Sign out", "Usable rows", "Excluded rows", "Rows read", "Validation",
                 "Column roles", "Risk model outcome", "Overview", "Next step", "Audit log intact", "Export history",
                 "Kill switch", "Stop all exports", "Add a user", "Change a user", "Change your password",
                 "Signed in as", "Language of the app", "Download", "No run is chosen", "Thresholds and methods",
                 "Load payments", "Monthly cycle", "Explanations", "Strategies", "Administer", "Risk score =",
                 # Personas page
                 "Find personas", "Seed", "Persona names", "Search the settings", "Noise share", "Stability",
                 "Relative validity", "Needs review", "Map shows", "Settings search", "Compare", "Rename persona",
                 "Merge personas", "Split persona", "Discard edits", "Personas to compare", "Pay rate",
                 "mean recovery", "mean risk score", "accounts need review", "of the balance", "higher than",
                 "lower than", "Membership probability", "Why", "Personas found", "rows read", "outcome column",
                 # Explanations page
                 "Performance", "Drivers", "Account look-up", "Fairness analysis", "Model card", "Proxy check",
                 "Dependence plot", "Account id", "Main reasons", "Model probability", "Portfolio base rate",
                 "NOT paid", "Lift and gains", "SHAP values for",
                 # Strategies page ("Journey" is left out: the evidence lines of strategy/proposals.py are
                 # still English, a later round's work)
                 "Propose strategies", "Proposed", "Approved", "Rejected", "Without strategy", "Save edits",
                 "Reload the table", "Review queue", "Override one account", "Prepare export", "Guardrails",
                 "Evidence", "Per-account preview", "History of this persona", "Approve", "Reject",
                 "Record override", "Clear for export", "Please sign in first")


def _open(page: str, name: str = "ana", role: str = "analyst", *, context: dict | None = None,
          run_dir: str | None = None) -> AppTest:
    from strategy.auth import User

    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.context = context or {}
    at.session_state["user"] = User(name, role)
    if run_dir:
        at.session_state["run_dir"] = run_dir
    at.run()
    assert not at.exception, at.exception
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def _shown(at: AppTest) -> str:
    """Every text a reader sees on the page and in the sidebar, with the labels of every widget."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error",
                 "metric", "button", "text_input", "selectbox", "multiselect", "radio", "checkbox", "tabs",
                 "expander"):
        for element in getattr(at, kind, []):
            for attribute in ("value", "label", "help", "placeholder"):
                value = getattr(element, attribute, None)
                if isinstance(value, str):
                    parts.append(value)
    for kind in ("download_button", "page_link", "file_uploader"):  # no typed accessor in AppTest
        for element in at.get(kind):
            parts += [str(getattr(element.proto, "label", "")), str(getattr(element.proto, "help", ""))]
    return "\n".join(parts)


def _english_terms(text: str) -> list[str]:
    return [term for term in ENGLISH_TERMS if re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text)]


@pytest.fixture
def german(monkeypatch):
    monkeypatch.setenv("PERSONAS_LANGUAGE", "de")


def test_the_check_would_notice_an_english_label():
    assert _english_terms("Bestandsdatei\nUsable rows\nAbmelden") == ["Usable rows"]
    assert _english_terms("Upload-Datei, Uploaded") == [], "whole words only"


def test_the_portfolio_page_in_german_shows_no_english_ui_word(german):
    at = _open("app_pages/1_portfolio.py")
    text = _shown(at)
    assert "Bestandsdatei" in text, "the uploader's label is read too"
    assert "Forderungsbestand" in [t.value for t in at.title]
    assert _english_terms(text) == []
    rows_read = next(m for m in at.metric if m.label == "Gelesene Zeilen")
    assert rows_read.value == "5.000", "German grouping"
    assert any(b.label == "Abmelden" for b in at.sidebar.button)


def test_the_browser_language_is_used_when_nothing_is_saved_or_set(monkeypatch):
    monkeypatch.delenv("PERSONAS_LANGUAGE", raising=False)
    at = _open("app_pages/7_account.py", context={"locale": "de-DE"})
    assert [t.value for t in at.title] == ["Benutzerkonto"]
    assert _english_terms(_shown(at)) == []
    english = _open("app_pages/7_account.py", name="bob", context={"locale": "en-US"})
    assert [t.value for t in english.title] == ["Account"]


def test_a_language_chosen_on_the_account_page_is_saved_and_wins_over_the_browser(monkeypatch):
    from core.workspace import database_url
    from strategy.preferences import saved_language
    from strategy.store import ReviewStore

    monkeypatch.delenv("PERSONAS_LANGUAGE", raising=False)
    at = _open("app_pages/7_account.py", context={"locale": "en-US"})
    next(s for s in at.selectbox if s.label == "Language of the app").set_value("de")
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Benutzerkonto"]
    store = ReviewStore(database_url())
    assert saved_language(store, "ana") == "de"
    store.close()
    again = _open("app_pages/5_audit.py", context={"locale": "en-US"})  # a new browser session
    assert [t.value for t in again.title] == ["Prüfprotokoll"]


def test_the_audit_page_in_german(german):
    at = _open("app_pages/5_audit.py", name="cleo", role="compliance")
    text = _shown(at)
    assert _english_terms(text) == []
    assert any("Prüfprotokoll unversehrt" in s.value for s in at.success)
    log = at.dataframe[0].value
    assert all(re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", t) for t in log["time"]), "01.12.2026 19:55"
    assert "Benutzer angelegt" in set(log["what"]), "actions in words"


def test_the_audit_download_is_a_german_excel_file(german, monkeypatch):
    import csv
    import io

    import streamlit

    downloads = {}
    original = streamlit.download_button

    def recording(label, data=None, *args, **kwargs):
        downloads[label] = data
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", recording)
    _open("app_pages/5_audit.py", name="cleo", role="compliance", context={"timezone": "Europe/Berlin"})
    data = downloads["Diese Einträge herunterladen (CSV)"]
    assert data.startswith("\ufeff"), "UTF-8 with BOM for Excel"
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff")), delimiter=";"))
    header = "Zeit (Europe/Berlin)"  # the browser's time zone, said once in the header
    assert header in rows[0] and len(rows) > 1
    assert all(re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", row[rows[0].index(header)]) for row in rows[1:])


def test_the_users_and_account_pages_in_german(german):
    admin = _open("app_pages/6_admin.py", name="root", role="admin")
    assert [t.value for t in admin.title] == ["Benutzer"]
    assert _english_terms(_shown(admin)) == []
    account = _open("app_pages/7_account.py")
    assert _english_terms(_shown(account)) == []
    assert any("Analyst" in m.value for m in account.markdown)


def test_the_sign_in_page_in_german(german):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception, at.exception
    labels = {t.label for t in at.text_input}
    assert {"Benutzername", "Passwort"} <= labels or any("Einrichtungscode" in label for label in labels)
    assert _english_terms(_shown(at)) == []


def test_the_monthly_cycle_pages_in_german_without_a_run(german):
    for page, title in (("app_pages/8_drift.py", "Verschiebungen"), ("app_pages/9_kpis.py", "Kennzahlen")):
        at = _open(page)
        assert [t.value for t in at.title] == [title]
        assert _english_terms(_shown(at)) == []
        assert any("Kein Lauf gewählt" in i.value for i in at.info)


def test_the_monthly_cycle_pages_in_german_on_an_applied_month(german, review_desk):
    from tests.app.test_cycle_pages import _applied

    result = _applied(review_desk)
    drift = _open("app_pages/8_drift.py", run_dir=str(result.path))
    assert [t.label for t in drift.tabs] == ["Personas", "Merkmale", "Risikowert", "Schwellen und Methoden"]
    assert _english_terms(_shown(drift)) == []
    assert any("Konten in diesem Monat gegenüber" in m.value for m in [*drift.success, *drift.warning])
    kpis = _open("app_pages/9_kpis.py", run_dir=str(result.path))
    assert [t.label for t in kpis.tabs][0] == "Überblick"
    assert _english_terms(_shown(kpis)) == []
    assert any("Monat(e) in der Kette dieses Laufs" in c.value for c in kpis.caption)


# ---------------------------------------------------------------- the pages converted in the second round
def _small_portfolio(rows: int, seed: int):
    import hashlib

    from app_pages._state import PortfolioChoice
    from sample_data.generator import generate_portfolio

    data = generate_portfolio(rows, seed=seed).to_csv(index=False).encode()
    return PortfolioChoice(data, "klein.csv", hashlib.sha256(data).hexdigest(), currency="EUR")


def personas_found(rows: int, seed: int, context: dict | None = None) -> AppTest:
    """An analyst's app after "Find personas" on a small generated portfolio (the page in the language
    the environment or ``context`` gives)."""
    from strategy.auth import User

    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    if context is not None:
        at.context = context
    at.session_state["user"] = User("ana", "analyst")
    at.session_state["portfolio_choice"] = _small_portfolio(rows, seed=seed)
    at.run()
    at.switch_page("app_pages/2_personas.py").run()
    at.button(key="find_personas").click().run()
    assert not at.exception, at.exception
    return at


def test_the_personas_page_in_german_before_and_after_find_personas(german):
    from strategy.auth import User

    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state["user"] = User("ana", "analyst")
    at.session_state["portfolio_choice"] = _small_portfolio(500, seed=77)
    at.run()
    at.switch_page("app_pages/2_personas.py").run()
    assert not at.exception, at.exception
    before = _shown(at)
    assert _english_terms(before) == []
    assert at.button(key="find_personas").label == "Personas finden"
    assert not at.selectbox, "persona names follow the page's language: no selector, no run per language"
    assert any("Personas finden" in i.value for i in at.info), "nothing runs until the button is pressed"

    at.button(key="find_personas").click().run()
    assert not at.exception, at.exception
    assert [t.label for t in at.tabs] == ["Karte", "Personas", "Vergleich", "Einstellungssuche", "Bearbeiten",
                                          "Zu prüfen"]
    text = _shown(at)
    assert _english_terms(text) == [], _english_terms(text)
    assert any(m.label == "Anteil Rauschen" and re.fullmatch(r"\d+,\d %", m.value) for m in at.metric)
    cards = [m.value for m in at.markdown if " Konten (" in m.value]
    assert cards and all(re.search(r"\d,\d %", c) for c in cards), "German percentages on the cards"
    assert not any("–" in m.value for m in at.markdown if "Zahlungsquote" in m.value), "no empty figures"
    compare = next(t for t in at.tabs if t.label == "Vergleich").dataframe[0].value
    assert "Gesamter Bestand" in compare.columns and compare["Gesamter Bestand"].ne("").all()
    review = next(t for t in at.tabs if t.label == "Zu prüfen").dataframe[0]
    columns = json.loads(review.proto.columns)  # the column config the browser receives
    assert columns["membership_probability"]["label"] == "Zugehörigkeitswahrscheinlichkeit", columns


def _card_names(at: AppTest) -> dict[int, str]:
    """The persona cards' headings ``**<id> · <name>**`` as ``{id: name}``."""
    found = (re.fullmatch(r"\*\*(\d+) · (.+)\*\*", m.value) for m in at.markdown)
    return {int(m.group(1)): m.group(2).replace("\\", "") for m in found if m}


def test_switching_the_language_relabels_the_run_and_never_makes_a_new_one(monkeypatch):
    """Issue 18: a run found in English is the same run in German (same folder, same fingerprint, no
    new run in the workspace); only the names and the words around them change."""
    from app_pages._state import PIPELINE_CALLS, list_runs
    from application.pipeline import load_run
    from runs import manifest_fingerprint

    monkeypatch.delenv("PERSONAS_LANGUAGE", raising=False)
    at = personas_found(500, seed=78, context={"locale": "en-US"})
    calls, runs = PIPELINE_CALLS["count"], [r["run_id"] for r in list_runs()]
    run_dir = at.session_state["run_dir"]
    fingerprint = manifest_fingerprint(run_dir)
    english = _card_names(at)
    assert len(runs) == 1 and english

    at.switch_page("app_pages/7_account.py").run()
    next(s for s in at.selectbox if s.label == "Language of the app").set_value("de").run()
    assert not at.exception, at.exception
    at.switch_page("app_pages/2_personas.py").run()
    assert not at.exception, at.exception
    german = _card_names(at)
    assert [t.value for t in at.title] == ["Personas"] and any(m.label == "Anteil Rauschen" for m in at.metric)
    assert PIPELINE_CALLS["count"] == calls, "nothing recomputed"
    assert [r["run_id"] for r in list_runs()] == runs, "no new run in the workspace"
    assert at.session_state["run_dir"] == run_dir and manifest_fingerprint(run_dir) == fingerprint
    profiles = load_run(run_dir).profiles
    assert english == {p["persona_id"]: p["names"]["en"] for p in profiles}
    assert german == {p["persona_id"]: p["names"]["de"] for p in profiles} and german != english
    legend = json.loads(next(t for t in at.tabs if t.label == "Karte").get("vega_lite_chart")[0].proto.spec)
    domain = legend["encoding"]["color"]["scale"]["domain"]
    assert domain == [f"{pid}: {name}" for pid, name in sorted(german.items())], "the map legend in German"

    at.switch_page("app_pages/7_account.py").run()  # and back: the same run, in English again
    next(s for s in at.selectbox if s.label == "Sprache der App").set_value("en").run()
    at.switch_page("app_pages/2_personas.py").run()
    assert _card_names(at) == english and PIPELINE_CALLS["count"] == calls
    assert [r["run_id"] for r in list_runs()] == runs


def test_the_explanations_page_in_german(german, risk_run_dir):
    at = _open("app_pages/3_explanations.py", run_dir=str(risk_run_dir))
    assert [t.value for t in at.title] == ["Erklärungen"]
    assert [t.label for t in at.tabs] == ["Güte", "Einflussgrößen", "Personas", "Konto nachschlagen", "Fairness",
                                          "Modellkarte"]
    account = next(t for t in at.text_input if t.label == "Kontonummer")
    account.input(account.placeholder).run()
    assert not at.exception, at.exception
    # The model card is a document of explain/ (translated in a later round): not part of this page's words.
    text = "\n".join(line for line in _shown(at).split("\n# Model card")[0].splitlines())
    assert _english_terms(text) == [], _english_terms(text)
    score = next(m for m in at.metric if m.label.startswith("Risikowert"))
    assert re.fullmatch(r"\d+,\d %", score.value), score.value


def test_the_strategies_page_in_german(german, review_desk):
    review_desk.propose_all()
    at = review_desk.open("mia", "app_pages/4_strategies.py")
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Strategien"]
    assert {m.label for m in at.metric} >= {"Vorgeschlagen", "Freigegeben", "Abgelehnt", "Ohne Strategie"}
    assert any(b.label == "Freigeben" for b in at.button)
    from core.i18n import use_language

    with use_language("de"):  # a widget's format_func runs here, in the test's thread, not in the page's rerun
        assert any(s.label == "Persona" and "(vorgeschlagen)" in s.format_func(s.value) for s in at.selectbox)
    assert _english_terms(_shown(at)) == [], _english_terms(_shown(at))
    analyst = review_desk.open("ana", "app_pages/4_strategies.py")
    assert any(b.label == "Änderungen speichern" for b in analyst.button)
    assert _english_terms(_shown(analyst)) == [], _english_terms(_shown(analyst))

