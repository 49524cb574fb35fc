"""The Audit page: the verified log, tampering shown by entry, the kill switch, model sign-off.

Runs ``app.py`` with ``AppTest`` as the users of the ``review_desk`` fixture (tests/app/conftest.py)
on a real pipeline run; the review database is this test's own SQLite file.
"""
from __future__ import annotations

import io
import sqlite3

import pandas as pd
import streamlit

from core.workspace import database_url

PAGE = "app_pages/5_audit.py"
STRATEGIES = "app_pages/4_strategies.py"


def _click(at, label: str):
    next(b for b in at.button if b.label == label).click()
    return at.run()


def _sql(statement: str, *params) -> None:
    """Change the review database behind the app's back, as someone with the file could."""
    with sqlite3.connect(database_url().removeprefix("sqlite:///")) as conn:
        conn.execute(statement, params)


def test_compliance_sees_the_intact_log_and_can_filter_it(review_desk):
    review_desk.propose_all("ana")
    at = review_desk.open("cleo", PAGE)
    assert not at.exception, at.exception
    assert any("Audit log intact" in s.value for s in at.success)
    log = at.dataframe[0].value
    n_personas = len(review_desk.run_view().persona_ids)
    assert (log["action"] == "proposed").sum() == n_personas
    assert "user_added" in set(log["action"]) and "run_registered" in set(log["action"])
    assert list(log["seq"]) == sorted(log["seq"], reverse=True), "newest first"

    at.multiselect[1].select("proposed")  # Action
    at.run()
    assert not at.exception, at.exception
    assert set(at.dataframe[0].value["action"]) == {"proposed"}


def test_an_edited_audit_row_makes_the_page_name_the_entry(review_desk):
    review_desk.propose_all("ana")
    seq = review_desk.store().audit_entries(action="proposed")[0].seq
    _sql("UPDATE audit_log SET user = 'mallory' WHERE seq = ?", seq)
    at = review_desk.open("cleo", PAGE)
    assert not at.exception, at.exception
    failure = next(e.value for e in at.error if "verification FAILED" in e.value)
    assert f"entry {seq}" in failure and "altered" in failure
    assert not any("intact" in s.value for s in at.success)


def test_a_deleted_audit_row_is_named_too(review_desk):
    review_desk.propose_all("ana")
    seq = review_desk.store().audit_entries(action="proposed")[2].seq
    _sql("DELETE FROM audit_log WHERE seq = ?", seq)
    at = review_desk.open("mia", PAGE)
    assert not at.exception, at.exception
    assert any(f"FAILED at entry {seq}" in e.value for e in at.error)


def test_the_kill_switch_stops_exports_and_allowing_them_again_restores_them(review_desk):
    review_desk.propose_all("ana")
    review_desk.approve_all("mia")

    at = review_desk.open("cleo", PAGE)
    at = _click(at, "Stop all exports")
    assert not at.exception, at.exception
    assert any("a reason is required" in e.value for e in at.error), "no stop without a reason"
    at.text_input(key="kill_reason").input("Model under investigation")
    at = _click(at, "Stop all exports")
    assert not at.exception, at.exception
    assert any("stopped" in e.value and "Model under investigation" in e.value for e in at.error)

    strategies = review_desk.open("mia", STRATEGIES)
    assert any("kill switch" in e.value for e in strategies.error), "the banner says exports stop"
    strategies = _click(strategies, "Prepare export")
    assert not strategies.exception, strategies.exception
    refusal = next(e.value for e in strategies.error if e.value.startswith("Export refused"))
    assert "kill switch" in refusal and "Model under investigation" in refusal
    assert len(strategies.get("download_button")) == 0

    at = _click(at, "Allow exports again")
    assert not at.exception, at.exception
    assert any("allowed again" in s.value for s in at.success)
    strategies = _click(strategies, "Prepare export")
    assert not strategies.exception, strategies.exception
    assert len(strategies.get("download_button")) >= 1
    actions = [e.action for e in review_desk.store().audit_entries()]
    assert {"kill_switch_on", "export_refused", "kill_switch_off", "exported"} <= set(actions)


def test_compliance_sign_off_is_recorded_and_shown(review_desk):
    at = review_desk.open("cleo", PAGE)
    at.text_input(key="sign_off_note").input("Checked SHAP drivers and fairness tables")
    at = _click(at, "Sign off this run's model and explanations")
    assert not at.exception, at.exception
    run_id = review_desk.run_view().run_id
    assert any("signed off by cleo" in i.value for i in at.info)
    assert review_desk.store().run_info(run_id)["model_signed_off_by"] == "cleo"
    entry = review_desk.store().audit_entries(action="model_signed_off")[0]
    assert entry.details["note"] == "Checked SHAP drivers and fairness tables"
    assert review_desk.store().verify_audit().ok


def test_an_analyst_reads_the_log_but_has_no_kill_switch_or_sign_off(review_desk):
    at = review_desk.open("ana", PAGE)
    assert not at.exception, at.exception
    labels = [b.label for b in at.button]
    assert "Stop all exports" not in labels
    assert "Sign off this run's model and explanations" not in labels
    assert any("Audit log intact" in s.value for s in at.success)


def test_the_log_download_escapes_a_formula_typed_as_a_reason(review_desk, monkeypatch):
    review_desk.store().set_kill_switch(review_desk.user("cleo"), True,
                                        '=HYPERLINK("http://evil.example")')
    downloads = {}
    original = streamlit.download_button

    def recording(label, data, *args, **kwargs):
        downloads[label] = data
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", recording)
    at = review_desk.open("cleo", PAGE)
    assert not at.exception, at.exception
    log = pd.read_csv(io.StringIO(downloads["Download these entries (CSV)"]), dtype=str,
                      keep_default_na=False)
    stopped = log[log["action"] == "kill_switch_on"]
    assert list(stopped["details"]) == ["\'reason: =HYPERLINK(\"http://evil.example\")"] or \
        all(not cell.startswith(("=", "+", "-", "@")) for cell in stopped["details"])


def test_a_name_typed_at_a_failed_sign_in_is_never_shown_only_its_keyed_hash(review_desk):
    from strategy.auth import authenticate, name_key

    typed = "my-secret-password-typed-as-name"
    assert authenticate(review_desk.store(), typed, "guess") is None
    at = review_desk.open("cleo", PAGE)
    assert not at.exception, at.exception
    log = at.dataframe[0].value
    failed = log[log["action"] == "login_failed"]
    assert list(failed["user"]) == ["(failed sign-in)"]
    assert name_key(typed) in failed["details"].iloc[0]
    assert not any(typed in str(cell) for cell in log.astype(str).to_numpy().ravel())


def test_stop_all_exports_stops_them_even_if_someone_stopped_them_meanwhile(review_desk):
    at = review_desk.open("cleo", PAGE)  # cleo sees exports allowed ...
    review_desk.store().set_kill_switch(review_desk.user("mia"), True, "Data breach drill")
    at.text_input(key="kill_reason").input("Model under investigation")
    at = _click(at, "Stop all exports")  # ... and her click must not turn them back on
    assert not at.exception, at.exception
    assert review_desk.store().kill_switch()["on"] is True


def test_a_signed_out_visitor_opening_the_page_file_directly_sees_only_a_sign_in_request():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / PAGE), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == ["Please sign in first."]
    assert not at.button and not at.dataframe and not at.title
