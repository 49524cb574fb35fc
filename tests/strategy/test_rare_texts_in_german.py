"""Issue 18: the rarer strategy texts in the reader's language (German complete), English unchanged.

Limitation bases, the CLI read-out table, refusals (strategy files, overrides, rejections, veto
lifts, `audit verify --export`) and journey step labels.
"""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from core.errors import UserError
from core.i18n import use_language
from strategy.catalogue import Step, Strategy, StrategyError
from strategy.texts import render
from tests.strategy.conftest import ANALYST, COMPLIANCE, MANAGER, MANAGER2
from tests.strategy.test_readout import planted  # noqa: F401 (a fixture)

SMS = Strategy(channel="sms", offer="payment_link", tone="friendly", rationale="cheap and read")


# ---------------------------------------------------------------- 1. limitation bases
def test_limitation_bases_are_german_inside_a_german_time_barred_text_and_english_as_before():
    from strategy.guardrails import account_protections
    from strategy.limitation import decide

    _end, barred, basis = decide(date(2020, 3, 15), None, date(2022, 5, 1), titled=False, erp_flag=0.0,
                                 today=date(2026, 12, 1))
    assert barred
    assert str(basis) == ("computed from due date 15.03.2020 (§§ 195, 199 BGB: end of 2020 + 3 years); restarted "
                          "by part-payment on 01.05.2022 (§ 212 BGB); the ERP flag says not time-barred: check "
                          "acknowledgements the portfolio lacks")
    assert render(basis, "de") == ("berechnet aus dem Fälligkeitsdatum 15.03.2020 (§§ 195, 199 BGB: Ende 2020 + 3 "
                                   "Jahre); Neubeginn durch Teilzahlung am 01.05.2022 (§ 212 BGB); laut "
                                   "ERP-Kennzeichen nicht verjährt: Anerkenntnisse prüfen, die im Forderungsbestand "
                                   "fehlen")
    assert str(decide(None, None, None, titled=False, erp_flag=1.0, today=date(2026, 12, 1))[2]) == "ERP flag"
    assert render(decide(None, None, None, titled=False, erp_flag=float("nan"), today=date(2026, 12, 1))[2],
                  "de") == "unbekannt: kein Fälligkeitsdatum"
    assert render(decide(date(2000, 1, 1), None, None, titled=True, erp_flag=float("nan"),
                         today=date(2026, 12, 1))[2], "de").startswith("tituliert: 30 Jahre (§ 197 BGB)")

    reason = account_protections({"balance": 900.0, "Fälligkeitsdatum": "15.03.2021"},
                                 today=date(2025, 1, 1))["time_barred"]
    assert "computed from due date 15.03.2021 (§§ 195, 199 BGB: end of 2021 + 3 years)" in str(reason)
    with use_language("de"):
        german = render(reason)
    assert "berechnet aus dem Fälligkeitsdatum 15.03.2021 (§§ 195, 199 BGB: Ende 2021 + 3 Jahre)" in german
    assert "computed" not in german and "years" not in german


def test_an_estimated_due_date_is_said_in_german_too():
    from strategy.limitation import account_limitation

    _end, barred, basis = account_limitation({"days_past_due": 2000}, {}, date(2026, 12, 1))
    assert barred and str(basis).startswith("estimated from days past due (due about ")
    assert render(basis, "de").startswith("geschätzt aus den Verzugstagen (fällig etwa am ")


# ---------------------------------------------------------------- 2. the read-out table
def _readout():
    from strategy.readout import Readout, verdict

    rows = pd.DataFrame([
        {"persona_id": 0, "persona_name": "Quick payers", "arm": "champion", "accounts": 1200, "pay_rate": 0.5,
         "pay_rate_low": 0.47, "pay_rate_high": 0.53, "collected": 12345.5, "collected_per_eur": 0.1234,
         "contact_cost": None},
        {"persona_id": 0, "persona_name": "Quick payers", "arm": "holdout", "accounts": 100, "pay_rate": None,
         "pay_rate_low": None, "pay_rate_high": None, "collected": 0.0, "collected_per_eur": None,
         "contact_cost": 1500.25}])
    differences = pd.DataFrame([{
        "persona_id": 0, "comparison": "champion − holdout", "pay_rate_difference": 0.051, "pay_rate_low": -0.01,
        "pay_rate_high": 0.11, "collected_per_eur_difference": 0.0123, "collected_per_eur_low": None,
        "collected_per_eur_high": 0.02, "min_sample_per_arm": 1500, "min_sample_source": "stored with the experiment",
        "verdict": verdict(100, 1500, -0.01, 0.11, "champion better", "holdout better")}])
    for column in ("min_sample_source", "verdict"):  # as readout() keeps them: texts, not pandas strings
        differences[column] = pd.Series([differences.at[0, column]], dtype=object)
    differences.at[0, "verdict"] = verdict(100, 1500, -0.01, 0.11, "champion better", "holdout better")
    return Readout("R1", rows, differences, ("2026-12-01", None),
                   {"payments_used": 2500, "accounts_paying": 700, "accounts": 1300})


def test_the_readout_table_is_german_in_german_and_english_as_before():
    result = _readout()
    english = result.lines("en")
    assert english == result.lines()  # English is the default
    assert english[0] == "read-out of run R1: 2,500 payments (dated 2026-12-01 to -) by 700 of the run's 1,300 accounts"
    assert english[3] == ("  arm         accounts  pay rate (95% CI)         collected  per € balance  contact cost")
    assert english[4] == ("  champion       1,200  50.0% (47.0%–53.0%)       12,345.50         0.1234 not available")
    assert english[5] == ("  holdout          100  not available                  0.00  not available      1,500.25")
    assert english[6].startswith("  champion − holdout: pay rate +5.1 points (95% CI -1.0 points to +11.0 points), "
                                 "collected per € +0.0123 (95% CI not available to +0.0200); minimum sample 1,500")
    assert english[7] == "    verdict: too few accounts (100 of 1,500 needed)"
    with use_language("de"):
        german = result.lines()
    text = "\n".join(german)
    assert german[0] == ("Auswertung von Lauf R1: 2.500 Zahlungen (vom 01.12.2026 bis -) von 700 der 1.300 Konten "
                         "des Laufs")
    for word in ("Testgruppe", "Konten", "Zahlungsquote (95-%-KI)", "eingezogen", "Kontaktkosten",
                 "Kontrollgruppe", "nicht verfügbar", "Champion − Kontrollgruppe: Zahlungsquote +5,1 Prozentpunkte",
                 "Mindeststichprobe 1.500 je Testgruppe", "Ergebnis: zu wenige Konten", "1.200", "12.345,50",
                 "50,0 %"):
        assert word in text, word
    for english_word in ("pay rate", "verdict", "not available", "holdout", "points", "accounts"):
        assert english_word not in text, english_word
    assert result.lines() == english  # the current language is English again


# ---------------------------------------------------------------- 3. refusals
def test_a_strategy_file_error_is_german_and_its_english_stays():
    with pytest.raises(StrategyError) as caught:
        Strategy.from_dict({**SMS.to_dict(), "offer": "deferral", "contacts_per_week": 30})
    err = caught.value
    assert err.english_lines == ["contacts_per_week must be between 0 and 21",
                                 "a deferral (Stundung) needs deferral_days between 7 and 180"]
    with use_language("de"):
        assert err.lines == ["contacts_per_week muss zwischen 0 und 21 liegen",
                             "Eine Stundung braucht deferral_days zwischen 7 und 180"]
        assert str(err) == "contacts_per_week muss zwischen 0 und 21 liegen; Eine Stundung braucht deferral_days " \
                           "zwischen 7 und 180"
    with pytest.raises(StrategyError) as unknown:
        Strategy.from_dict({**SMS.to_dict(), "colour": "red"})
    with use_language("de"):
        assert str(unknown.value) == "unbekannte Felder der Strategie: colour"
    with pytest.raises(StrategyError) as step:
        Step(3, "dance", None, "friendly")
    assert str(step.value).startswith("step action 'dance' is not one of reminder, offer")
    with use_language("de"):
        assert str(step.value).startswith("Die Aktion 'dance' eines Schritts ist keine von reminder, offer")


def test_override_reject_and_veto_refusals_are_german_and_the_audit_log_keeps_english(store, run):
    override_id = store.override_account(MANAGER, run, "A00001", persona_id=1, reason="asked")
    with pytest.raises(UserError) as own:
        store.approve_override(MANAGER, run, override_id)
    assert str(own.value).endswith("a second person must approve it (four-eyes principle)")
    with use_language("de"):
        assert "eine zweite Person muss sie freigeben (Vier-Augen-Prinzip)" in str(own.value)
    assert store.audit_entries(action="approval_refused")[-1].details["reasons"][0].endswith(
        "a second person must approve it (four-eyes principle)")
    store.approve_override(MANAGER2, run, override_id)
    with pytest.raises(UserError) as again, use_language("de"):
        store.decline_override(MANAGER2, run, override_id, "changed my mind")
    with use_language("de"):
        assert str(again.value) == f"Abweichung {override_id} von Konto A00001 ist bereits freigegeben (von dave)"
    assert again.value.english == f"override {override_id} of account A00001 is approved already (by dave)"
    for call, english, german in (
            (lambda: store.override_account(MANAGER, run, "A00001", persona_id=1, reason=" "),
             "an account override needs a reason", "Eine Abweichung für ein Konto braucht eine Begründung"),
            (lambda: store.override_account(MANAGER, run, "nope", persona_id=1, reason="x"),
             f"account nope is not in run {run.run_id}", f"Konto nope ist nicht in Lauf {run.run_id}"),
            (lambda: store.reject(MANAGER, run, 0, "", expected_version=1),
             "a rejection needs a reason the analyst can act on",
             "Eine Ablehnung braucht eine Begründung, nach der der Analyst handeln kann"),
            (lambda: store.lift_veto(COMPLIANCE, run, 0, " "),
             "lifting a veto needs a reason (what changed, who agreed)",
             "Das Aufheben eines Vetos braucht eine Begründung (was sich geändert hat, wer zugestimmt hat)"),
            (lambda: store.lift_veto(COMPLIANCE, run, 0, "checked"),
             f"no compliance veto stands on persona 0 of run {run.run_id}",
             f"Auf Persona 0 von Lauf {run.run_id} liegt kein Compliance-Veto"),
            (lambda: store.lift_veto(MANAGER, run, 0, "checked"),
             "carol (manager) may not lift a veto; only a compliance reviewer does",
             "carol (manager) darf kein Veto aufheben; das darf nur ein Compliance-Prüfer")):
        with pytest.raises(UserError) as refused:
            call()
        assert refused.value.english == english.replace("carol", MANAGER.username)
        with use_language("de"):
            assert str(refused.value) == german.replace("carol", MANAGER.username)


def test_a_rejection_of_the_wrong_state_names_the_state_in_german(store, run):
    store.propose(ANALYST, run, 0, SMS)
    version = store.get_mapping(run, 0).version
    store.approve(MANAGER, run, 0, expected_version=version)
    approved = store.get_mapping(run, 0).version
    with pytest.raises(UserError) as refused:
        store.reject(MANAGER2, run, 0, "not like this", expected_version=approved)
    assert refused.value.english == "persona 0 is approved; manager can reject only a proposed mapping"
    with use_language("de"):
        assert str(refused.value) == ("Persona 0 ist freigegeben; manager kann nur eine vorgeschlagene Zuordnung "
                                      "ablehnen")


def test_export_check_lines_and_refusals_are_german(store, tmp_path):
    from strategy.export_check import check_export

    with pytest.raises(UserError) as missing:
        check_export(store, tmp_path / "nothing.csv")
    with use_language("de"):
        assert str(missing.value) == f"Die Datei {tmp_path / 'nothing.csv'} gibt es nicht"
    stray = tmp_path / "stray.csv"
    stray.write_text("a,b\n1,2\n", encoding="utf-8")
    checked = check_export(store, stray)
    assert not checked.ok and checked.lines[0].startswith("stray.csv (sha256 ")
    assert checked.lines[0].endswith("matches no export in the audit log: it was changed after export, or not "
                                     "exported from this database")
    with use_language("de"):
        assert render(checked.lines[0]).endswith("passt zu keinem Export im Prüfprotokoll: Die Datei wurde nach dem "
                                                 "Export geändert oder nicht aus dieser Datenbank exportiert")


def test_what_an_override_changes_is_said_in_the_readers_language():
    from strategy.review_queue import override_change, override_status_text

    row = {"persona_id": 3, "strategy": {"channel": "letter"}}
    assert override_change(row) == "persona 3, channel letter"
    assert render(override_change(row), "de") == "Persona 3, Kanal Brief"
    assert render(override_status_text("pending"), "de") == "offen" and override_status_text("pending") == "pending"


# ---------------------------------------------------------------- 4. journey step labels
def test_journey_step_labels_follow_the_reader_not_the_rulepack():
    from strategy.journey import describe_steps_text, journey_of, step_label
    from strategy.journey_view import journey_table
    from strategy.guardrails import resolve_rulepack

    letter = Strategy(channel="letter", offer="reminder", tone="neutral", rationale="r",
                      escalation="court_dunning", escalation_after_days=30, reminders_sent_before_escalation=2,
                      credit_bureau_report=True)
    german_pack = resolve_rulepack("de")
    steps = journey_of(letter, german_pack)
    assert steps[0].label == "Zahlungserinnerung (1. Mahnung)"  # the journey keeps its label (keys unchanged)
    assert journey_table(letter, german_pack, "en")["step"].tolist()[:2] == [
        "Payment reminder (reminder 1)", "Final reminder announcing court action with notice of a possible "
                                         "credit-bureau report"]
    with use_language("de"):
        german = journey_table(letter, german_pack)["step"].tolist()
    assert german[:2] == ["Zahlungserinnerung (1. Mahnung)", "Letzte Mahnung mit Ankündigung des gerichtlichen "
                                                             "Mahnverfahrens mit Hinweis auf eine mögliche Meldung "
                                                             "an eine Auskunftei"]
    assert step_label("Reminder 3", "de") == "3. Mahnung" and step_label("3. Mahnung", "en") == "Reminder 3"
    assert step_label("Brief an Frau Muster", "en") == "Brief an Frau Muster"  # typed by a person: as it is
    described = describe_steps_text(steps)
    assert str(described).startswith("day 0: reminder by letter, Payment reminder (reminder 1)")
    assert render(described, "de").startswith("Tag 0: ") and "Zahlungserinnerung (1. Mahnung)" in render(described,
                                                                                                         "de")


def test_a_real_readout_gives_its_verdicts_and_sample_sources_in_german(planted):
    from strategy.readout import readout

    run, payments, experiments, _truth = planted
    result = readout(run, payments, experiments)
    assert "verdict: challenger better" in "\n".join(result.lines())
    with use_language("de"):
        text = "\n".join(result.lines())
    assert "Ergebnis: Challenger besser" in text and "Challenger − Champion: Zahlungsquote +" in text
    assert "verdict" not in text and "computed from" not in text and "stored with" not in text
