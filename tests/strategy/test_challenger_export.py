"""Exports with an approved champion/challenger experiment: an ``arm`` per account, the challenger's
steps in its arm, no collection contact in the holdout, the experiment per persona."""
from __future__ import annotations

import csv
import io
import json
from datetime import date

import jsonschema
import pytest

from strategy.arms import assign_arms
from strategy.experiments import arm_config
from strategy.export import ExportRefused, export_mappings, export_schema, validate_document
from strategy.proposals import propose_strategies
from tests.strategy.conftest import ANALYST, COMPLIANCE, MANAGER

START = date(2026, 12, 7)


@pytest.fixture
def experiment(store, run):
    """All champions approved, a challenger with a holdout for persona 0, the model signed off."""
    for proposal in propose_strategies(run.profiles, run.accounts, run.portfolio):
        mapping = store.propose(ANALYST, run, proposal.persona_id, proposal.strategy,
                                evidence=proposal.evidence)
        store.approve(MANAGER, run, proposal.persona_id, expected_version=mapping.version,
                      portfolio=run.portfolio)
    store.propose_challenger(ANALYST, run, 0, challenger_share=0.4, holdout_share=0.2,
                             portfolio=run.portfolio)
    store.sign_off_model(COMPLIANCE, run, "checked")
    return store.approve_challenger(MANAGER, run, 0, expected_version=1, portfolio=run.portfolio)


def accounts_json(store, run):
    result = export_mappings(store, run, MANAGER, fmt="json", level="accounts", start=START)
    return json.loads(result.content)


def test_every_account_has_the_arm_its_hash_gives(store, run, experiment):
    document = accounts_json(store, run)
    jsonschema.validate(document, export_schema())
    rows = {r["account_id"]: r for r in document["accounts"]}
    members = run.accounts[run.accounts["persona_id"] == 0]["account_id"]
    expected = dict(zip(members, assign_arms(members, arm_config(experiment))))
    assert {a: rows[a]["arm"] for a in expected if a in rows} == {a: arm for a, arm in expected.items() if a in rows}
    assert {r["arm"] for r in rows.values() if r["persona_id"] != 0} == {"champion"}
    assert {r["experiment_id"] for r in rows.values() if r["persona_id"] == 0} == {experiment.experiment_id}
    assert document["provenance"]["account_plan"]["accounts_per_arm"]["holdout"] > 0


def test_challenger_accounts_receive_the_challengers_steps(store, run, experiment):
    rows = accounts_json(store, run)["accounts"]
    challenger = [r for r in rows if r["arm"] == "challenger"]
    champion = [r for r in rows if r["arm"] == "champion" and r["persona_id"] == 0]
    assert challenger and champion
    assert {r["strategy_sha256"] for r in challenger} == {experiment.challenger_hash}
    first = experiment.challenger.channel
    assert sum(r["channel"] == first for r in challenger) / len(challenger) > 0.8
    assert all(r["channel"] != first for r in champion if "channel_objection" not in r["rules_applied"])


def test_holdout_accounts_get_no_collection_contact_and_say_so(store, run, experiment):
    rows = accounts_json(store, run)["accounts"]
    holdout = [r for r in rows if r["arm"] == "holdout"]
    assert holdout
    for record in holdout:
        assert "holdout" in record["rules_applied"] and "holdout" in record["strategy_executed"]
        assert {s["action"] for s in record["steps"]} <= {"clarification", "referral"}
        assert record["strategy_sha256"] is None and record["escalation"] == "none"
    kept = run.portfolio.set_index("account_id")
    owed = set(kept.index[(kept["disputes"] == 1) | kept["hardship_flag"]])  # a reply or a referral
    assert all(r["steps"] == [] for r in holdout if r["account_id"] not in owed)
    assert all(len(r["steps"]) == 1 for r in holdout if r["account_id"] in owed)


def test_a_holdout_account_with_collection_steps_fails_validation(store, run, experiment):
    document = accounts_json(store, run)
    record = next(r for r in document["accounts"] if r["arm"] == "holdout")
    champion = next(r for r in document["accounts"] if r["arm"] == "champion" and r["steps"])
    record["steps"] = champion["steps"]
    with pytest.raises(Exception, match="holdout"):
        validate_document(document)


def test_csv_has_the_arm_column_and_the_persona_export_lists_the_experiment(store, run, experiment):
    result = export_mappings(store, run, MANAGER, fmt="csv", level="accounts", start=START)
    rows = list(csv.DictReader(io.StringIO(result.content.decode("utf-8"))))
    assert {r["arm"] for r in rows} == {"champion", "challenger", "holdout"}
    personas = json.loads(export_mappings(store, run, MANAGER, fmt="json").content)
    jsonschema.validate(personas, export_schema())
    by_id = {p["persona_id"]: p for p in personas["personas"]}
    assert by_id[0]["experiment_id"] == experiment.experiment_id
    assert by_id[0]["challenger_share"] == 0.4 and by_id[0]["holdout_share"] == 0.2
    assert by_id[0]["min_sample_per_arm"] == experiment.min_sample_per_arm
    assert json.loads(by_id[0]["challenger_strategy"])["channel"] == experiment.challenger.channel
    assert by_id[1]["experiment_id"] is None
    assert personas["provenance"]["experiments"][0]["experiment_id"] == experiment.experiment_id


def test_a_proposed_challenger_is_not_applied(store, run, experiment):
    store.propose_challenger(ANALYST, run, 2, challenger_share=0.3, portfolio=run.portfolio)
    rows = accounts_json(store, run)["accounts"]
    assert {r["arm"] for r in rows if r["persona_id"] == 2} == {"champion"}


def test_an_approved_challenger_that_fails_a_guardrail_stops_the_export(store, run, experiment,
                                                                        monkeypatch):
    from strategy import experiment_workflow
    from strategy.guardrails import GuardrailResult

    real = experiment_workflow.check_strategy

    def failing(strategy, context, settings):
        results = real(strategy, context, settings)
        if strategy.content_hash() == experiment.challenger_hash:
            results.append(GuardrailResult("contact_cap", False, "too many contacts", "test", "law"))
        return results
    monkeypatch.setattr(experiment_workflow, "check_strategy", failing)
    with pytest.raises(ExportRefused, match="too many contacts"):
        accounts_json(store, run)


def test_xlsx_has_the_arm_column(store, run, experiment):
    from openpyxl import load_workbook

    result = export_mappings(store, run, MANAGER, fmt="xlsx", level="accounts", start=START)
    book = load_workbook(io.BytesIO(result.content), read_only=True)
    values = list(book["accounts"].iter_rows(values_only=True))
    column = values[0].index("arm")
    assert {row[column] for row in values[1:]} == {"champion", "challenger", "holdout"}


def test_audit_verify_checks_the_experiment_of_an_export(store, run, experiment, tmp_path):
    from strategy.export_check import check_export

    out = tmp_path / "accounts.json"
    export_mappings(store, run, MANAGER, fmt="json", level="accounts", start=START, out=out)
    assert check_export(store, out).ok
