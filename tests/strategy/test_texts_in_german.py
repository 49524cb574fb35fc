"""The strategy domain's texts for people: English as before, German for a German reader.

A text is written once (English, the catalogue's message id) with its values kept apart
(``strategy.texts``); it is rendered in the reader's language where it is shown. Stored texts keep
their English and add the language-neutral form; a record from before the form existed shows its
English.
"""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
from sqlalchemy import update

from core.i18n import use_language
from strategy import tables as t
from strategy.catalogue import Strategy
from strategy.context import PersonaContext
from strategy.guardrails import account_block_map, check_strategy
from strategy.proposals import propose_strategies
from strategy.readout import verdict
from strategy.texts import Money, Text, render, render_stored, text_from_dict
from tests.strategy.conftest import ANALYST, make_profiles

#: English sentences the German rendering must not contain (words of the English messages).
ENGLISH = re.compile(r"\b(VIOLATED|passed|does not lie|house policy|unknown|Risk level|Ability to pay|"
                     r"Willingness to pay|Contactability|Expected effect|accounts|stable|share|too few|"
                     r"needed|the base value|whole portfolio|column|persona is)\b")


def _strategy(**changes) -> Strategy:
    base = dict(channel="phone", contact_start_hour=7, contacts_per_week=9, max_call_attempts_per_7_days=9,
                escalation="court_dunning", escalation_after_days=10, credit_bureau_report=True,
                reminders_sent_before_escalation=0, contact_weekdays=("mon", "sun"))
    return Strategy(**{**base, **changes})


def test_a_guardrail_failure_reads_in_german_and_english_is_unchanged():
    context = PersonaContext(median_balance=50.0, dispute_share=0.4, time_barred_share=0.5)
    failed = {r.rule_id: r for r in check_strategy(_strategy(), context) if not r.passed}
    hours = failed["contact_hours"]
    assert str(hours.message).startswith("Contact hours VIOLATED: contact window 07:00-18:00 does not lie within "
                                         "08:00-20:00 (house policy")
    german = hours.text("de")
    assert german.startswith("Kontaktzeiten VERLETZT: Kontaktfenster 07:00-18:00 liegt nicht innerhalb von "
                             "08:00-20:00 (Hausregel")
    days = failed["contact_days"].text("de")
    assert "Kontakt am So ist nicht erlaubt (erlaubt: Mo, Di, Mi, Do, Fr, Sa)" in days
    bureau = failed["credit_bureau"].text("de")
    assert "Meldung an eine Auskunftei nicht erlaubt" in bureau and "40 % bestreiten die Forderung" in bureau
    for result in failed.values():
        text = result.text("de")
        assert not ENGLISH.search(text), text
        assert "Schuld " not in text and "Schulden" not in text
    with use_language("de"):  # the current language is the default
        assert hours.text() == german
    with use_language("en"):
        assert hours.text() == str(hours.message)


def test_amounts_and_shares_follow_the_readers_conventions():
    text = Text("{share:.0%} of {n:,} accounts, {amount} ({moved:+.1f} pp)", share=0.64, n=12345,
                amount=Money(1234.5, "EUR"), moved=-2.5)
    assert text == "64% of 12,345 accounts, €1,234.50 (-2.5 pp)"
    assert text.render("de") == "64 % of 12.345 accounts, 1.234,50 € (-2,5 pp)"


def test_account_protections_name_the_step_in_german():
    blocks = account_block_map(_strategy(channel="sms", max_call_attempts_per_7_days=0, contacts_per_week=1),
                               {"account_id": "A1", "balance": 20.0, "disputes": 1, "sms_opt_out": 1})
    assert blocks["escalation"].startswith("escalation: the debtor disputes the claim: Mahnsperre")
    german = render(blocks["escalation"], "de")
    assert german.startswith("Eskalation: der Schuldner bestreitet die Forderung: Mahnsperre")
    assert render(blocks["channel"], "de").startswith("Kanal SMS: Widerspruch gegen SMS")


def test_proposal_evidence_reads_in_german(portfolio_frame):
    accounts = pd.DataFrame({"account_id": portfolio_frame["account_id"],
                             "persona_id": portfolio_frame["account_id"].str[1].astype(int)})
    proposal = propose_strategies(make_profiles(portfolio_frame), accounts, portfolio_frame)[1]
    english = list(proposal.evidence)
    assert any(line.startswith("Ability to pay low:") for line in english)
    german = [render(line, "de") for line in proposal.evidence]
    assert any(line.startswith("Zahlungsfähigkeit niedrig:") for line in german)
    assert any(line.startswith("Zahlungsbereitschaft") and "bestreiten die Forderung" in line for line in german)
    assert any(line.startswith("Risikostufe hoch: mittlerer Risikowert") for line in german)
    assert any(line.startswith("Mahnlauf: Tag 0") for line in german)
    assert any(line.startswith("Erwartete Wirkung:") for line in german)
    for line in german:
        assert not ENGLISH.search(line), line


def test_stored_evidence_is_shown_in_german_and_an_old_version_in_english(store, run, portfolio_frame):
    proposal = propose_strategies(make_profiles(portfolio_frame))[3]
    mapping = store.propose(ANALYST, run, 3, proposal.strategy, evidence=proposal.evidence)
    assert [str(line) for line in mapping.evidence] == [str(line) for line in proposal.evidence]
    with use_language("de"):
        shown = [render(line) for line in store.get_mapping(run, 3).evidence]
    assert shown[0].startswith("Risikostufe") and all(not ENGLISH.search(line) for line in shown)
    with store.engine.begin() as conn:  # a version written before evidence had codes
        conn.execute(update(t.strategy_versions).values(evidence_codes=None))
    old = store.get_mapping(run, 3).evidence
    with use_language("de"):
        assert [render(line) for line in old] == [str(line) for line in proposal.evidence]


def _drift_base(shares: dict[int, float], n: int):
    ids = np.concatenate([[pid] * int(round(share * n)) for pid, share in shares.items()])
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(len(ids))], "persona_id": ids,
                             "needs_review": False})
    return SimpleNamespace(run_id="20261201-000000-aaaaaaaaaa", meta={}, accounts=accounts,
                           profiles=[{"persona_id": pid, "name": f"P{pid}"} for pid in shares])


def _drift_report():
    from application.drift import drift_report

    base = _drift_base({0: 0.5, 1: 0.3, 2: 0.2}, 4000)
    ids = np.concatenate([[pid] * int(round(share * 4000)) for pid, share in {0: 0.4, 1: 0.3, 2: 0.3}.items()])
    new = pd.DataFrame({"account_id": [f"N{i}" for i in range(len(ids))], "persona_id": ids, "needs_review": False})
    report = drift_report(base, new, pd.DataFrame(index=range(len(new))),
                          base_frame=pd.DataFrame(index=range(len(base.accounts))), specs=[])
    return json.loads(json.dumps(report))  # as drift.json stores it


def test_a_drift_reason_is_stored_in_english_with_its_code_and_shown_in_german():
    from application.cycle_views import drift_reasons, persona_drift_table

    report = _drift_report()
    moved = report["personas"][0]
    assert moved["reason"].startswith("share 50.0% → 40.0% (-10.0 pp, more than 5 pp")
    assert moved["reason_text"]["join"][0]["code"].startswith("{label} {base:.1%} → {new:.1%}")
    german = render_stored(moved["reason"], moved["reason_text"], "de")
    assert german.startswith("Anteil 50,0 % → 40,0 % (-10,0 Prozentpunkte, mehr als 5 Prozentpunkte")
    assert not ENGLISH.search(german)
    with use_language("de"):
        table = persona_drift_table(report)
        reasons = drift_reasons(report)
    assert table["Begründung"].iloc[1].startswith("stabil: Anteil 30,0 % → 30,0 %")
    assert reasons[0].startswith("Persona 0 P0: Anteil 50,0 %") and not ENGLISH.search(reasons[0])


def test_an_old_drift_report_without_codes_still_shows_its_english():
    from application.cycle_views import drift_reasons, persona_drift_table

    report = _drift_report()
    for persona in report["personas"]:
        persona.pop("reason_text")
    report.pop("reasons_text")
    with use_language("de"):
        assert persona_drift_table(report)["Begründung"].iloc[0] == report["personas"][0]["reason"]
        assert drift_reasons(report) == report["reasons"]
    assert render_stored("an old reason", None, "de") == "an old reason"
    assert text_from_dict({"not": "a code"}, "kept") == "kept"


def test_a_readout_verdict_reads_in_german():
    from application.cycle_views import verdict_label

    few = verdict(1200, 2500, -0.01, 0.05)
    assert few == "too few accounts (1,200 of 2,500 needed)"
    assert render(few, "de") == "zu wenige Konten (1.200 von 2.500 nötig)"
    winner = verdict(3000, 2500, 0.01, 0.05)
    assert winner == "challenger better" and render(winner, "de") == "Challenger besser"
    with use_language("de"):
        assert verdict_label(few) == "zu wenige Konten (1.200 von 2.500 nötig)"
        assert verdict_label(verdict(3000, 2500, -0.02, 0.03)) == "kein Unterschied"


def test_a_persona_sent_back_after_drift_shows_its_reason_in_german_and_an_old_row_in_english(
        store, run, tmp_path):
    from strategy.carry_over import SYSTEM_ACTOR, carry_over
    from strategy.run_view import load_run_view
    from tests.strategy.conftest import MANAGER, make_portfolio, write_run

    for proposal in propose_strategies(run.profiles)[:2]:
        mapping = store.propose(ANALYST, run, proposal.persona_id, proposal.strategy, evidence=proposal.evidence)
        store.approve(MANAGER, run, proposal.persona_id, expected_version=mapping.version)
    new_id = "20261223-080000-5a0000c002"
    new_run = load_run_view(write_run(tmp_path / "runs" / new_id, make_portfolio(seed=8), new_id))
    drift = _drift_report()  # persona 0 moved 10 points: back to review
    carry_over(store, SYSTEM_ACTOR, run.run_id, new_run, review_personas={0}, drift=drift)
    reason = store.get_mapping(new_run, 0).reason
    assert str(reason).startswith("back to review after drift: share 50.0% → 40.0%")
    german = render(reason, "de")
    assert german.startswith("nach Drift zurück zur Prüfung: Anteil 50,0 % → 40,0 %") and not ENGLISH.search(german)
    entry = store.audit_entries(action="sent_back_to_review", run_id=new_id)[0]
    assert entry.details["reason"].startswith("share 50.0%")  # the log keeps the English
    assert render_stored(entry.details["reason"], entry.details["reason_text"], "de").startswith("Anteil 50,0 %")
    with store.engine.begin() as conn:  # a row written before reasons had codes
        conn.execute(update(t.mappings).where(t.mappings.c.run_id == new_id).values(reason_text=None))
    old = store.get_mapping(new_run, 0).reason
    assert render(old, "de") == str(reason)
