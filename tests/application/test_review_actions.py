"""The texts and decisions behind the review widgets (application/review_actions.py), without Streamlit."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from application import review_actions as texts
from core.errors import UserError
from core.i18n import use_language
from strategy.catalogue import Strategy
from strategy.guardrails import GuardrailResult
from strategy.run_view import load_run_view
from strategy.store import ReviewStore
from strategy.texts import Term, Text
from tests.strategy.conftest import ADMIN, ANALYST, COMPLIANCE, MANAGER, RUN_ID, make_portfolio, write_run
from tests.user_factory import add_users

LETTER = Strategy(channel="letter", offer="payment_link", tone="neutral", rationale="read at home")


@pytest.fixture
def store(tmp_path):
    review = ReviewStore(tmp_path / "review.db")
    add_users(review, (ADMIN, ANALYST, MANAGER, COMPLIANCE))
    yield review
    review.close()


@pytest.fixture
def run(tmp_path):
    return load_run_view(write_run(tmp_path / "runs" / RUN_ID, make_portfolio()))


# ---------------------------------------------------------------- labels and who may see what
def test_values_and_roles_are_named_in_the_readers_language():
    with use_language("de"):
        assert texts.value_label("instalment_plan") == "Ratenzahlung"
        assert texts.role_label("compliance") == "Compliance-Prüfer"
    assert texts.value_label("instalment_plan") == "instalment plan"
    assert texts.value_label(3) == "3"
    assert texts.role_label("auditor") == "auditor"  # a role the app does not know keeps its name


def test_access_is_refused_to_nobody_and_to_the_wrong_role_but_never_to_an_admin():
    assert texts.access_refusal(None, ("manager",)) == ("warning", "Please sign in first.")
    assert texts.access_refusal(ANALYST, ("manager", "compliance")) == (
        "error", "This action needs the role manager or compliance reviewer; you are signed in as analyst.")
    assert texts.access_refusal(ADMIN, ("manager",)) is None
    assert texts.access_refusal(MANAGER, ("manager",)) is None
    assert texts.access_refusal(ANALYST, ()) is None


# ---------------------------------------------------------------- guardrails and the next persona
def test_guardrail_lines_tick_or_cross_and_name_a_source_the_message_does_not_name():
    results = [GuardrailResult("window", True, "Calls only 08:00-21:00", "§ 4 UWG"),
               GuardrailResult("opt_out", False, "Respects the SMS opt-out (§ 7 UWG)", "§ 7 UWG")]
    first, second = texts.guardrail_lines(results)
    assert first == "✅ Calls only 08\\:00-21\\:00 :gray[\\(§ 4 UWG\\)]"
    assert second == "❌ Respects the SMS opt-out \\(§ 7 UWG\\)"  # the message names its source already


def test_after_an_approval_the_next_proposed_persona_is_shown_then_the_first_then_none():
    mappings = [SimpleNamespace(persona_id=p, state=s) for p, s in
                [(0, "proposed"), (1, "approved"), (2, "draft"), (3, "proposed")]]
    assert texts.next_pending_persona(mappings, after=1) == 3
    assert texts.next_pending_persona(mappings, after=3) == 0
    assert texts.next_pending_persona([m for m in mappings if m.state != "proposed"], after=0) is None


# ---------------------------------------------------------------- what a reviewer is shown
def test_a_veto_and_an_approval_name_who_when_and_why_as_text():
    veto = SimpleNamespace(vetoed_by="carol", reason="no *letters* on Sundays")
    shown = texts.veto_text(veto, "1 Dec 2026, 09:00 (UTC)")
    assert shown.startswith("Compliance veto by carol at 1 Dec 2026, 09:00 (UTC): no \\*letters\\* on Sundays.")
    assert texts.approved_text("bob_m", "now") == "Approved by bob\\_m at now."


def test_blockers_are_joined_in_the_readers_language():
    blockers = [Text("only a manager may approve"), Text("the mapping is {state}, not proposed", state="draft")]
    assert texts.blockers_text(blockers) == (
        "Approval not possible: only a manager may approve; the mapping is draft, not proposed")


def test_the_approval_caption_names_the_version_and_the_first_16_hash_digits():
    caption = texts.approve_caption(4, "0123456789abcdef" * 4)
    assert "version 4" in caption and "`0123456789abcdef`" in caption
    assert "`0123456789abcdef0" not in caption
    assert "hash ``" in texts.approve_caption(1, None)


def test_managers_reject_proposals_and_compliance_may_also_veto_an_approved_mapping():
    assert texts.may_reject("manager", "proposed") and not texts.may_reject("manager", "approved")
    assert texts.may_reject("compliance", "approved") and not texts.may_reject("compliance", "draft")
    assert texts.reject_label("manager") == "Reject"
    assert texts.reject_label("compliance") == "Veto (reject)"


# ---------------------------------------------------------------- account overrides
def test_an_override_that_keeps_the_channel_records_no_strategy(store, run):
    assert texts.override_strategy(store, run, "A00001", persona=1, channel=None) is None


def test_an_override_of_the_channel_changes_only_the_channel_of_the_accounts_own_persona(store, run):
    store.propose(ANALYST, run, 0, LETTER)
    strategy = texts.override_strategy(store, run, "A00001", persona=None, channel="sms")
    assert strategy == LETTER.with_changes(channel="sms")


def test_an_override_to_a_persona_without_a_mapping_starts_from_the_default_strategy(store, run):
    assert texts.override_strategy(store, run, "A00001", persona=2, channel="email") == \
        Strategy().with_changes(channel="email")


def test_override_choices_and_messages():
    run = SimpleNamespace(profile=lambda p: {"name": "Serial promise breakers"})
    assert texts.persona_option_label(run, None) == "keep its persona"
    assert texts.persona_option_label(run, 2) == "2 · Serial promise breakers"
    assert texts.channel_option_label(None) == "keep the persona's channel"
    assert texts.channel_option_label("email") == "e-mail"
    assert texts.override_recorded_text("A_1", 7).startswith("Override for account A\\_1 recorded (override 7)")
    assert texts.override_decided_text(7, "dave", True) == "Override 7 approved by dave."
    assert texts.override_decided_text(7, "dave", False) == "Override 7 declined by dave."
    assert (texts.decline_label(True), texts.decline_label(False)) == ("Withdraw", "Decline")


def test_a_waiting_override_is_one_list_item_with_its_change_and_reason():
    row = SimpleNamespace(id=3, account_id="A00001", persona_id=2.0, strategy={"channel": "letter"},
                          created_by="alice", reason="moved *abroad*")
    assert texts.pending_override_line(row) == \
        "- Override 3: account A00001 → persona 2, channel letter; by alice: moved \\*abroad\\*"


# ---------------------------------------------------------------- the review queue and export
def test_clearing_without_an_account_asks_for_one(store, run):
    with pytest.raises(UserError, match="choose an account of the queue to clear"):
        texts.clear_account(store, MANAGER, run, "", "looked at it")


def test_clearing_an_account_of_another_run_is_refused_by_the_store(store, run):
    with pytest.raises(UserError, match="account Z999 is not in run"):
        texts.clear_account(store, MANAGER, run, "Z999", "looked at it")


def test_held_reasons_are_shown_in_the_readers_language():
    reasons = pd.Series([Text("channel {channel}", channel=Term("letter"))], dtype=object)
    held = pd.DataFrame({"account_id": ["A1"], "reason": reasons})
    with use_language("de"):
        assert texts.held_for_display(held)["reason"].tolist() == ["Kanal Brief"]
    assert isinstance(held["reason"][0], Text)  # the queue itself is left as it was


def test_export_texts():
    assert texts.export_level_label("personas") == "one row per persona"
    assert texts.export_level_label("accounts") == "one row per account (for the dialler / letter system)"
    assert texts.export_refusal_text(["not approved: *3*", "kill switch on"]) == \
        "Export refused:\n\n- not approved: \\*3\\*\n\n- kill switch on"
    assert texts.held_back_text(2).startswith("2 account(s) were held back from this file")
    assert texts.provenance_filename("plan.2026.csv") == "plan.2026.provenance.json"
    assert texts.EXPORT_FORMATS == {"csv": "CSV", "xlsx": "Excel (XLSX)", "json": "JSON"}


def test_flash_messages_keep_their_paragraphs_and_show_markdown_as_text():
    assert texts.escaped_paragraphs("a *b*\n\nc_d") == "a \\*b\\*\n\nc\\_d"
    assert texts.approval_done_text(2, "bob", 3) == "Persona 2 approved by bob (version 3)."
    assert texts.cleared_text("A7", "carol") == "Account A7 cleared for export by carol."


def test_the_automation_bias_warning_is_translated_where_it_is_shown():
    from core.i18n import _

    with use_language("de"):
        assert _(texts.AUTOMATION_BIAS) != texts.AUTOMATION_BIAS
