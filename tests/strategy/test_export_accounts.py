"""Account-level export: built from the account plan on exactly the run's stored portfolio.

A German portfolio with insolvency, dispute, over-indebtedness, time-barred and objection flags
(J/N and 0/1, column names the sample generator never writes): no flagged account receives a
step its flag forbids in any format; without the run's portfolio the export is refused.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date

import jsonschema
import pytest
from openpyxl import load_workbook

from tests.strategy.conftest import ANALYST, COMPLIANCE, MANAGER
from portfolio.load import load_portfolio
from strategy.catalogue import Step, Strategy
from strategy.export import ExportRefused, export_mappings, export_schema
from strategy.run_view import load_run_view
from tests.run_factory import save_fabricated_run
from tests.strategy.german_flags import START, expected_flags, forbidden, german_portfolio, steps_of_cell

RUN_ID = "20261201-080000-9e0000c013"
FIRM = Strategy(channel="sms", tone="firm", offer="settlement_discount", discount_pct=15.0,
                escalation="court_dunning", escalation_after_days=60, reminders_sent_before_escalation=2,
                credit_bureau_report=True, rationale="firm: Mahnbescheid after 60 days")
CALLS = Strategy(channel="phone", contacts_per_week=3, max_call_attempts_per_7_days=3, tone="firm",
                 offer="instalment_plan", n_instalments=6, escalation="external_agency",
                 escalation_after_days=45, reminders_sent_before_escalation=2,
                 rationale="firm calls, agency after 45 days", steps=[
                     Step(0, "call", "phone", "firm", "Anruf"), Step(1, "reminder", "sms", "firm", "SMS"),
                     Step(2, "reminder", "email", "firm", "E-Mail"),
                     Step(3, "reminder", "whatsapp", "firm", "WhatsApp"),
                     Step(14, "reminder", "letter", "firm", "Letzte Mahnung", notices=("agency",)),
                     Step(45, "agency", None, "firm", "Inkasso")])


def german_run(tmp_path, style="JN", *, keep_portfolio=True, needs_review=()):
    raw = german_portfolio(style=style)
    personas = raw.pop("persona")
    loaded = load_portfolio(raw)
    frame = loaded.frame
    names = {0: "Firm letters", 1: "Phone first"}
    accounts = frame[["account_id"]].assign(
        persona_id=personas.to_numpy(), persona_name=personas.map(names).to_numpy(),
        membership_probability=0.9, needs_review=frame["account_id"].isin(needs_review).to_numpy())
    profiles = [{"persona_id": pid, "name": name, "size": int((personas == pid).sum()),
                 "share_accounts": 0.5, "share_balance": 0.5, "pay_rate": 0.4, "mean_risk_score": 0.6,
                 "medians": {"balance": {"persona": 500.0, "portfolio": 500.0},
                             "days_past_due": {"persona": 80.0, "portfolio": 80.0}}}
                for pid, name in names.items()]
    folder = save_fabricated_run(tmp_path / RUN_ID, RUN_ID, profiles, accounts,
                                 portfolio=frame if keep_portfolio else None,
                                 roles=loaded.roles.to_dict(), data_sha256=loaded.sha256)
    return load_run_view(folder.path), raw, loaded


def approve(store, run, strategies=None):
    for pid, strategy in (strategies or {0: FIRM, 1: CALLS}).items():
        mapping = store.propose(ANALYST, run, pid, strategy, evidence=["test"])
        store.approve(MANAGER, run, pid, expected_version=mapping.version)
    store.sign_off_model(COMPLIANCE, run, "checked")


def exported_rows(result) -> list[dict]:
    if result.format == "json":
        return json.loads(result.content)["accounts"]
    if result.format == "csv":
        rows = list(csv.DictReader(io.StringIO(result.content.decode("utf-8"), newline="")))
    else:
        book = load_workbook(io.BytesIO(result.content), read_only=True)
        values = list(book["accounts"].iter_rows(values_only=True))
        rows = [dict(zip(values[0], row)) for row in values[1:]]
    return [{**row, "steps": steps_of_cell(row["steps"])} for row in rows]


@pytest.mark.parametrize("style", ["JN", "01"])
@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx"])
def test_no_flagged_account_receives_a_forbidden_step_in_any_format(store, tmp_path, style, fmt):
    run, raw, _ = german_run(tmp_path, style)
    approve(store, run)
    result = export_mappings(store, run, MANAGER, fmt=fmt, level="accounts", start=START)
    rows = exported_rows(result)
    flags = expected_flags(raw)
    assert len(rows) + len(result.held) == len(raw)
    problems = {row["account_id"]: found for row in rows
                if (found := forbidden(flags[row["account_id"]], row["steps"]))}
    assert problems == {}
    escalated = [row for row in rows if flags[row["account_id"]]["dispute"] or flags[row["account_id"]]["hardship"]]
    assert escalated and all(row["escalation"] == "none" for row in escalated)


def test_the_json_export_lists_steps_and_validates_against_the_schema(store, tmp_path):
    run, raw, _ = german_run(tmp_path)
    approve(store, run)
    result = export_mappings(store, run, MANAGER, fmt="json", level="accounts", start=START)
    document = json.loads(result.content)
    jsonschema.validate(document, export_schema())
    record = next(r for r in document["accounts"] if r["account_id"] == "F0-0011")
    assert [s["action"] for s in record["steps"]][-2:] == ["court", "credit_bureau"]
    assert {"day", "date", "channel", "action"} <= set(record["steps"][0])
    assert record["needs_review"] is False and record["rules_applied"] is not None
    assert document["provenance"]["rulepack"] == "de"
    assert document["provenance"]["journey_start"] == START.isoformat()


def test_an_account_whose_escalation_was_removed_does_not_carry_the_persona_rationale(store, tmp_path):
    run, raw, _ = german_run(tmp_path)
    approve(store, run)
    rows = {r["account_id"]: r for r in exported_rows(
        export_mappings(store, run, MANAGER, fmt="csv", level="accounts", start=START))}
    disputed = rows["F0-0001"]
    assert "Mahnbescheid after 60" not in disputed["strategy_executed"]
    assert "clarification" in disputed["strategy_executed"] and "dispute_hold" in disputed["rules_applied"]
    assert disputed["escalation"] == "none" and disputed["credit_bureau_report"] == "False"


def test_app_push_is_exported_as_push(store, tmp_path):
    run, _, _ = german_run(tmp_path)
    approve(store, run, {0: Strategy(channel="app_push", rationale="push"), 1: Strategy(rationale="letter")})
    rows = exported_rows(export_mappings(store, run, MANAGER, fmt="json", level="accounts", start=START))
    channels = {s["channel"] for r in rows if r["persona_id"] == 0 for s in r["steps"]}
    assert "push" in channels and "app_push" not in channels


def test_an_account_level_export_of_a_run_without_its_portfolio_is_refused(store, tmp_path):
    run, _, loaded = german_run(tmp_path, keep_portfolio=False)
    approve(store, run)
    for given in (None, loaded.frame):
        with pytest.raises(ExportRefused, match="keeps no portfolio"):
            export_mappings(store, run, MANAGER, fmt="csv", level="accounts", portfolio=given,
                            out=tmp_path / "accounts.csv")
    assert not (tmp_path / "accounts.csv").exists()
    assert store.audit_entries(action="export_refused")


def test_an_account_level_export_with_another_portfolio_is_refused(store, tmp_path):
    run, _, loaded = german_run(tmp_path)
    approve(store, run)
    other = loaded.frame.copy()
    other.loc[1, "balance"] = 99_999.0
    with pytest.raises(ExportRefused, match="portfolio"):
        export_mappings(store, run, MANAGER, fmt="json", level="accounts", portfolio=other, start=START)
    same = export_mappings(store, run, MANAGER, fmt="json", level="accounts", portfolio=loaded.frame,
                           start=START)
    assert same.rows > 0


def test_accounts_needing_review_are_held_back_and_listed(store, tmp_path):
    run, _, _ = german_run(tmp_path, needs_review=("F0-0011", "F1-0013"))
    approve(store, run)
    result = export_mappings(store, run, MANAGER, fmt="json", level="accounts", start=START)
    exported = {r["account_id"] for r in json.loads(result.content)["accounts"]}
    held = {h["account_id"] for h in result.held}
    assert {"F0-0011", "F1-0013"} <= held and not held & exported
    assert {h["account_id"] for h in result.provenance["held_accounts"]} == held


def test_exported_contact_steps_avoid_holidays_and_respect_the_weekly_cap(store, tmp_path):
    from strategy.contact_calendar import is_contact_day
    from strategy.export import rulepack_for

    run, _, _ = german_run(tmp_path)
    approve(store, run)
    policy = rulepack_for(run, store.settings).contact
    rows = exported_rows(export_mappings(store, run, MANAGER, fmt="json", level="accounts", start=START))
    for row in rows:
        contacts = sorted(date.fromisoformat(s["date"]) for s in row["steps"] if s["channel"])
        assert all(is_contact_day(d, policy) for d in contacts)
        assert all(sum(0 <= (other - d).days < 7 for other in contacts) <= policy.max_contacts_per_week
                   for d in contacts)


def test_the_audit_check_of_an_account_export_names_the_rulepack_and_the_held_accounts(store, tmp_path):
    from strategy.export_check import check_export

    run, _, _ = german_run(tmp_path, needs_review=("F0-0011",))
    approve(store, run)
    result = export_mappings(store, run, MANAGER, fmt="csv", level="accounts", start=START,
                             out=tmp_path / "dialler.csv")
    checked = check_export(store, result.path)
    assert checked.ok and any("de rulepack" in line and "1 accounts held back" in line for line in checked.lines)
