"""The Strategies page: propose → four-eyes approval → export, with edits, refusals and stale saves.

Runs ``app.py`` with Streamlit's ``AppTest`` (no browser), signed in through ``session_state`` as
the users of the ``review_desk`` fixture (tests/app/conftest.py): analysts ana and bob, managers
mia and max, compliance cleo, admin root. The run is a real pipeline run on 1,500 generated
accounts, so the proposals, evidence and guardrails are the library's own.
"""
from __future__ import annotations

import io

import pandas as pd
import pytest

from strategy.escape import FORMULA_TRIGGERS

PAGE = "app_pages/4_strategies.py"
FORMULA = '=HYPERLINK("http://evil.example","pay here")'


def _labels(at) -> list[str]:
    return [b.label for b in at.button]


def _click(at, label: str):
    next(b for b in at.button if b.label == label).click()
    return at.run()


def _metric(at, label: str) -> int:
    return int(next(m for m in at.metric if m.label == label).value)


def _value(element) -> str:
    try:
        return str(element.value)
    except Exception:  # elements AppTest cannot read
        return ""


def _edit(at, edited_rows: dict[int, dict]) -> None:
    """Type into the mapping table as an analyst would (seeded edit state of the data editor)."""
    key = at.data_editor[0].key
    at.session_state[key] = {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- the whole walk
def test_analyst_proposes_a_manager_approves_every_persona_and_the_csv_export_is_safe(
        review_desk, in_page_order):
    run = review_desk.run_view()
    n = len(run.persona_ids)

    at = review_desk.sign_in("ana", PAGE)
    assert not at.exception, at.exception
    assert at.session_state["run_dir"] == str(review_desk.run_dir), "the sidebar picked the run"
    at = _click(at, f"Propose strategies for {n} persona(s) without one")
    assert not at.exception, at.exception
    assert _metric(at, "Proposed") == n
    assert any("Proposed strategies for" in s.value for s in at.success)
    assert "Approve" not in _labels(at)
    _edit(at, {0: {"rationale": FORMULA}})
    at = _click(at, "Save edits")
    assert not at.exception, at.exception
    assert any("Saved edits to persona(s) 0" in s.value for s in at.success)

    at = review_desk.sign_in("mia", PAGE)
    tables = [list(d.value.columns) for d in at.dataframe]
    preview = ["account_id", "rules changed", "steps executed", "needs_review"]
    assert tables[0][:2] == ["persona_id", "persona_name"], "the mapping table first"
    assert ["version id", "by"] in [t[:2] for t in tables], "the history"
    rest = [t for t in tables[1:] if t[:2] != ["version id", "by"]]
    assert preview in rest, "the per-account preview shows which rules change an account's steps"
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart"), "the journey timeline"
    assert all(t in (preview, ["account_id", "reason"]) for t in rest), \
        "per account only the rule preview and the review queue (ids, rules, reasons); no raw per-account table"
    for index, pid in enumerate(run.persona_ids):
        at.selectbox(key="review_persona").select_index(index)
        at.run()
        order = in_page_order(at)
        reminder = next(i for i, e in enumerate(order) if "Automation bias" in _value(e))
        approve = next(i for i, e in enumerate(order) if getattr(e, "label", None) == "Approve")
        assert reminder < approve, "the automation-bias reminder stands above the approve button"
        at = _click(at, "Approve")
        assert not at.exception, at.exception
        assert any(f"Persona {pid} approved by mia" in s.value for s in at.success)
    assert _metric(at, "Approved") == n and _metric(at, "Proposed") == 0

    signed = _click(review_desk.open("cleo", "app_pages/5_audit.py"),  # export needs the sign-off
                    "Sign off this run's model and explanations")
    assert not signed.exception, signed.exception
    at.radio(key="export_format").set_value("csv")
    at = _click(at, "Prepare export")
    assert not at.exception, at.exception
    assert [d.label for d in at.get("download_button")][0].startswith("Download ")
    table = pd.read_csv(io.BytesIO(at.session_state["export_ready"].content), dtype=str,
                        keep_default_na=False)
    assert sorted(table["persona_id"].astype(int)) == sorted(run.persona_ids), "one row per persona"
    assert set(table["approved_by"]) == {"mia"}
    unescaped = [c for c in table.to_numpy().ravel() if c.startswith(FORMULA_TRIGGERS)
                 and not _is_number(c)]
    assert unescaped == []
    assert "'" + FORMULA in set(table["rationale"])
    assert [e.action for e in review_desk.store().export_history()] == ["exported"]


# ---------------------------------------------------------------- who sees what
def test_an_analyst_sees_neither_the_approve_button_nor_the_reject_button(review_desk):
    review_desk.propose_all("ana")
    at = review_desk.open("bob", PAGE)  # an analyst who did not propose: still no approval
    assert not at.exception, at.exception
    for index in range(len(review_desk.run_view().persona_ids)):
        at.selectbox(key="review_persona").select_index(index)
        at.run()
        assert "Approve" not in _labels(at) and "Reject" not in _labels(at)
        assert not any("Automation bias" in w.value for w in at.warning)


def test_a_guardrail_violation_blocks_approval_naming_the_rule(review_desk):
    review_desk.propose_all("ana")
    run, store = review_desk.run_view(), review_desk.store()
    pid = run.persona_ids[0]
    current = store.get_mapping(run, pid)
    late = current.strategy.with_changes(contact_start_hour=19, contact_end_hour=23)
    store.edit(review_desk.user("bob"), run, pid, late, expected_version=current.version)
    at = review_desk.open("mia", PAGE)
    at.selectbox(key="review_persona").set_value(pid)
    at.run()
    assert not at.exception, at.exception
    assert "Approve" not in _labels(at)
    assert any("Approval not possible" in w.value and "Contact hours" in w.value for w in at.warning)
    assert any(m.value.startswith("❌ Contact hours") for m in at.markdown)


def test_a_proposer_who_became_manager_is_told_why_they_cannot_approve(review_desk):
    review_desk.propose_all("ana")
    review_desk.store().set_role(review_desk.user("root"), "ana", "manager")
    at = review_desk.open("ana", PAGE, role="manager")
    assert not at.exception, at.exception
    assert "Approve" not in _labels(at)
    assert any("Approval not possible" in w.value and "four-eyes" in w.value for w in at.warning)


def test_an_approval_of_a_mapping_edited_meanwhile_is_refused_with_a_clear_message(review_desk):
    review_desk.propose_all("ana")
    run = review_desk.run_view()
    pid = run.persona_ids[0]
    at = review_desk.open("mia", PAGE)  # mia sees version 1 ...
    store = review_desk.store()
    current = store.get_mapping(run, pid)
    store.edit(review_desk.user("bob"), run, pid, current.strategy.with_changes(tone="firm"),
               expected_version=current.version)  # ... bob changes it before she clicks
    at = _click(at, "Approve")
    assert not at.exception, at.exception
    assert any("changed by bob" in e.value and "reload" in e.value for e in at.error)
    assert store.get_mapping(run, pid).state == "proposed", "the unseen version is not approved"


def test_a_rejection_needs_a_reason_and_the_analyst_then_reads_it(review_desk):
    review_desk.propose_all("ana")
    pid = review_desk.run_view().persona_ids[0]
    at = review_desk.open("mia", PAGE)
    at = _click(at, "Reject")
    assert not at.exception, at.exception
    assert any("needs a reason" in e.value for e in at.error)
    assert review_desk.store().get_mapping(review_desk.run_view(), pid).state == "proposed"

    at.text_input(key=f"reason_{pid}").input("Phone at 20:00 is too late for this persona")
    at = _click(at, "Reject")
    assert not at.exception, at.exception
    assert review_desk.store().get_mapping(review_desk.run_view(), pid).state == "rejected"
    at = review_desk.open("ana", PAGE)
    at.selectbox(key="review_persona").set_value(pid)
    at.run()
    assert any("too late for this persona" in m.value for m in at.markdown)


def test_compliance_can_veto_an_approved_mapping(review_desk):
    review_desk.propose_all("ana")
    review_desk.approve_all("mia")
    pid = review_desk.run_view().persona_ids[0]
    at = review_desk.open("cleo", PAGE)
    assert "Approve" not in _labels(at)
    at.text_input(key=f"reason_{pid}").input("Model not signed off yet")
    at = _click(at, "Veto (reject)")
    assert not at.exception, at.exception
    assert review_desk.store().get_mapping(review_desk.run_view(), pid).state == "rejected"


# ---------------------------------------------------------------- editing in the table
def test_an_edit_in_the_table_is_saved_and_voids_the_approval(review_desk):
    review_desk.propose_all("ana")
    review_desk.approve_all("mia")
    run = review_desk.run_view()
    pid = run.persona_ids[1]
    channel = "email" if review_desk.store().get_mapping(run, pid).strategy.channel == "letter" \
        else "letter"
    at = review_desk.open("ana", PAGE)
    _edit(at, {1: {"channel": channel, "max_call_attempts_per_7_days": 0}})
    at = _click(at, "Save edits")
    assert not at.exception, at.exception
    mapping = review_desk.store().get_mapping(run, pid)
    assert mapping.strategy.channel == channel and mapping.strategy.max_call_attempts_per_7_days == 0
    assert mapping.state == "proposed" and mapping.approved_by is None
    assert mapping.last_edited_by == "ana"


def test_an_inconsistent_edit_is_refused_naming_the_problem(review_desk):
    review_desk.propose_all("ana")
    at = review_desk.open("ana", PAGE)
    _edit(at, {0: {"contact_start_hour": 20, "contact_end_hour": 9}})
    at = _click(at, "Save edits")
    assert not at.exception, at.exception
    assert any("Persona" in e.value and "contact window 20-9" in e.value for e in at.error)
    assert review_desk.store().get_mapping(review_desk.run_view(),
                                           review_desk.run_view().persona_ids[0]).version == 1


def test_a_stale_edit_says_who_changed_it_keeps_the_attempt_and_reloads(review_desk):
    review_desk.propose_all("ana")
    run = review_desk.run_view()
    pid = run.persona_ids[0]
    at = review_desk.open("ana", PAGE)  # ana opens the table at version 1 ...
    store = review_desk.store()
    current = store.get_mapping(run, pid)
    bobs, anas = [t for t in ("firm", "friendly", "neutral") if t != current.strategy.tone][:2]
    store.edit(review_desk.user("bob"), run, pid, current.strategy.with_changes(tone=bobs),
               expected_version=current.version)  # ... bob saves first
    _edit(at, {0: {"tone": anas}})
    at = _click(at, "Save edits")
    assert not at.exception, at.exception
    assert any("changed by bob" in e.value and "reload" in e.value for e in at.error)
    assert any(f'"tone": "{anas}"' in c.value for c in at.code), "the unsaved attempt is shown"
    assert store.get_mapping(run, pid).strategy.tone == bobs, "bob's change is not overwritten"

    at = _click(at, "Reload the table (discard unsaved edits)")
    assert not at.exception and not at.error
    assert at.data_editor[0].value.set_index("persona_id").at[pid, "tone"] == bobs


def test_strategy_from_row_reads_back_a_table_row_and_names_a_bad_number(review_desk):
    from app_pages._mapping_table import strategy_from_row, table_for_editing
    from strategy.catalogue import StrategyError

    review_desk.propose_all("ana")
    run, store = review_desk.run_view(), review_desk.store()
    rows = table_for_editing(store.mappings_frame(run)).to_dict("records")
    for row in rows:
        assert strategy_from_row(row) == store.get_mapping(run, int(row["persona_id"])).strategy
    with pytest.raises(StrategyError, match="Instalments must be a number"):
        strategy_from_row({**rows[0], "offer": "instalment_plan", "n_instalments": "six"})
    assert strategy_from_row({**rows[0], "offer": "instalment_plan",
                              "n_instalments": "6"}).n_instalments == 6


# ---------------------------------------------------------------- export
@pytest.mark.parametrize("fmt", ["xlsx", "json"])
def test_approved_mappings_export_as_xlsx_and_json_from_the_page(review_desk, fmt):
    review_desk.propose_all("ana")
    review_desk.approve_all("mia")
    at = review_desk.open("cleo", PAGE)
    at.radio(key="export_format").set_value(fmt)
    at = _click(at, "Prepare export")
    assert not at.exception, at.exception
    result = at.session_state["export_ready"]
    assert result.filename.endswith(f".{fmt}") and result.content
    assert [d.label for d in at.get("download_button")] == [f"Download {result.filename}"]
    if fmt == "json":
        import json

        document = json.loads(result.content)
        assert len(document["personas"]) == len(review_desk.run_view().persona_ids)



def test_export_is_refused_with_the_reasons_until_every_persona_is_approved(review_desk):
    review_desk.propose_all("ana")
    at = review_desk.open("mia", PAGE)
    at = _click(at, "Prepare export")
    assert not at.exception, at.exception
    refusal = next(e.value for e in at.error if e.value.startswith("Export refused"))
    assert "not approved" in refusal
    assert len(at.get("download_button")) == 0


# ---------------------------------------------------------------- per-account override
def test_a_manager_overrides_one_account_with_a_reason_and_it_reaches_the_account_export(
        review_desk):
    review_desk.propose_all("ana")
    review_desk.approve_all("mia")
    run = review_desk.run_view()
    account = str(run.accounts["account_id"].iloc[0])
    at = review_desk.open("max", PAGE)
    at.text_input(key="override_account").input(account)
    at.selectbox(key="override_channel").set_value("letter")
    at = _click(at, "Record override")
    assert not at.exception, at.exception
    assert any("override needs a reason" in e.value for e in at.error)

    at.text_input(key="override_reason").input("Debtor asked for letters only (call log 12.11.)")
    at = _click(at, "Record override")
    assert not at.exception, at.exception
    assert any(f"Override for account {account} recorded" in s.value for s in at.success)
    assert "Approve override" not in _labels(at), "its author cannot approve it"
    assert review_desk.store().pending_overrides(run.run_id)["account_id"].tolist() == [account]

    at = review_desk.open("mia", PAGE)  # the second person
    at = _click(at, "Approve override")
    assert not at.exception, at.exception
    assert any("approved by mia" in s.value for s in at.success)
    assert review_desk.store().pending_overrides(run.run_id).empty

    at.radio(key="export_level").set_value("accounts")
    at = _click(at, "Prepare export")
    assert not at.exception, at.exception
    result = at.session_state["export_ready"]
    rows = pd.read_csv(io.BytesIO(result.content), dtype=str, keep_default_na=False)
    held = {h["account_id"] for h in result.held}
    assert len(rows) + len(held) == len(run.accounts), "held accounts are left out, and listed"
    assert account not in held
    assert rows.set_index("account_id").at[account, "channel"] == "letter"


def test_a_signed_out_visitor_opening_the_page_file_directly_sees_only_a_sign_in_request():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / PAGE), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == ["Please sign in first."]
    assert not at.button and not at.dataframe and not at.title
