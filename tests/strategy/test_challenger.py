"""Champion/challenger experiments under four-eyes review: who may approve, vetoes, stale versions,
the house policy on shares, and the minimum sample computed at approval."""
from __future__ import annotations

import json

import pytest

from application.cli import main
from core.errors import UserError
from strategy.auth import PermissionDenied, User
from strategy.experiments import DEFAULT_BASE_PAY_RATE, experiments_for_run, minimum_sample
from strategy.mapping_view import StaleMappingError
from strategy.proposals import propose_strategies
from tests.strategy.conftest import ADMIN, ANALYST, ANALYST2, COMPLIANCE, MANAGER, MANAGER2

ALSO_ON_POSTGRESQL = True  # the store's behaviour on a real PostgreSQL server too (tests/conftest.py)


@pytest.fixture
def champions(store, run):
    """Every persona's proposed strategy approved by a manager."""
    for proposal in propose_strategies(run.profiles):
        mapping = store.propose(ANALYST, run, proposal.persona_id, proposal.strategy,
                                evidence=proposal.evidence)
        store.approve(MANAGER, run, proposal.persona_id, expected_version=mapping.version)
    return store


def test_a_built_in_challenger_differs_from_the_champion_and_passes_the_guardrails(champions, run):
    experiment = champions.propose_challenger(ANALYST, run, 0, challenger_share=0.2)
    champion = champions.get_mapping(run, 0).strategy
    assert experiment.state == "proposed" and experiment.proposed_by == ANALYST.username
    assert experiment.challenger.content_hash() != champion.content_hash()
    assert experiment.challenger.channel != champion.channel
    assert experiment.guardrails and all(g.passed for g in experiment.guardrails)
    assert experiment.min_sample_per_arm is None  # computed at approval


def test_the_proposer_cannot_approve_the_challenger_nor_another_identity_of_theirs(champions, run):
    champions.propose_challenger(ANALYST, run, 0, challenger_share=0.2)
    with pytest.raises(PermissionDenied):
        champions.approve_challenger(ANALYST, run, 0, expected_version=1)
    champions.add_user(ADMIN, "alice.mgr", "manager", None, person="alice")
    with pytest.raises(UserError, match="same person"):
        champions.approve_challenger(User("alice.mgr", "manager"), run, 0, expected_version=1)
    assert champions.get_experiment(run, 0).state == "proposed"
    refused = champions.audit_entries(action="challenger_approval_refused")
    assert len(refused) == 2 and refused[-1].details["reasons"]


def test_a_manager_approves_and_the_minimum_sample_is_stored(champions, run):
    champions.propose_challenger(ANALYST, run, 0, challenger_share=0.2, holdout_share=0.05,
                                 planned_days=60, min_effect=0.05)
    experiment = champions.approve_challenger(MANAGER2, run, 0, expected_version=1)
    pay_rate = run.profile(0)["pay_rate"]
    assert experiment.state == "approved" and experiment.approved_by == MANAGER2.username
    assert experiment.base_pay_rate == pay_rate and "outcome" in experiment.base_pay_rate_source
    assert experiment.min_sample_per_arm == minimum_sample(pay_rate, 0.05) > 100
    assert experiment.approval_valid is True
    stored = experiments_for_run(champions, run.run_id)
    assert list(stored) == [0] and stored[0].experiment_id == experiment.experiment_id
    entry = champions.audit_entries(action="challenger_approved")[-1]
    assert entry.details["min_sample_per_arm"] == experiment.min_sample_per_arm


def test_without_an_outcome_column_the_default_pay_rate_is_used_and_labelled(champions, run):
    for profile in run.profiles:
        profile["pay_rate"] = None
    champions.propose_challenger(ANALYST, run, 2, challenger_share=0.1)
    experiment = champions.approve_challenger(MANAGER, run, 2, expected_version=1)
    assert experiment.base_pay_rate == DEFAULT_BASE_PAY_RATE
    assert "default" in experiment.base_pay_rate_source and "assumption" in experiment.base_pay_rate_source


def test_a_compliance_veto_blocks_every_later_challenger_until_lifted(champions, run):
    champions.propose_challenger(ANALYST, run, 0, challenger_share=0.2)
    vetoed = champions.reject_challenger(COMPLIANCE, run, 0, "SMS first is not allowed for this book")
    assert vetoed.state == "rejected" and vetoed.veto is not None
    again = champions.propose_challenger(ANALYST2, run, 0, challenger_share=0.1)
    with pytest.raises(UserError, match="vetoed"):
        champions.approve_challenger(MANAGER, run, 0, expected_version=again.version)
    assert champions.get_mapping(run, 0).state == "approved"  # the champion is not affected
    champions.lift_challenger_veto(COMPLIANCE, run, 0, "letter wording agreed")
    assert champions.approve_challenger(MANAGER, run, 0, expected_version=again.version).state == "approved"


def test_a_veto_of_the_persona_strategy_blocks_its_challenger(champions, run):
    champions.propose_challenger(ANALYST, run, 3, challenger_share=0.2)
    champions.reject(COMPLIANCE, run, 3, "not this persona", expected_version=champions.get_mapping(run, 3).version)
    with pytest.raises(UserError, match="compliance veto"):
        champions.approve_challenger(MANAGER, run, 3, expected_version=1)


def test_a_manager_rejects_but_not_their_own_proposal(champions, run):
    champions.propose_challenger(ANALYST, run, 0, challenger_share=0.2)
    rejected = champions.reject_challenger(MANAGER, run, 0, "too big a share for a first test")
    assert rejected.state == "rejected" and rejected.veto is None
    with pytest.raises(PermissionDenied):
        champions.reject_challenger(MANAGER, run, 0, "a veto", veto=True)


def test_a_stale_version_or_hash_is_refused(champions, run):
    first = champions.propose_challenger(ANALYST, run, 0, challenger_share=0.2)
    second = champions.propose_challenger(ANALYST2, run, 0, challenger_share=0.3)
    assert second.version == first.version + 1 and second.experiment_id != first.experiment_id
    with pytest.raises(StaleMappingError, match="version"):
        champions.approve_challenger(MANAGER, run, 0, expected_version=first.version)
    with pytest.raises(StaleMappingError, match="not the current content"):
        champions.approve_challenger(MANAGER, run, 0, expected_hash=first.version_hash)
    with pytest.raises(UserError, match="say which version"):
        champions.approve_challenger(MANAGER, run, 0)
    approved = champions.approve_challenger(MANAGER, run, 0, expected_hash=second.version_hash[:16])
    assert approved.state == "approved" and approved.challenger_share == 0.3


@pytest.mark.parametrize("kwargs, message", [
    ({"challenger_share": 0.6}, "at most 0.5"),
    ({"challenger_share": 0.0}, "more than 0"),
    ({"challenger_share": 0.2, "holdout_share": 0.3}, "holdout share"),
    ({"challenger_share": 0.2, "planned_days": 5}, "14 to 365 days"),
    ({"challenger_share": 0.2, "min_effect": 1.5}, "minimum effect"),
])
def test_shares_outside_house_policy_are_refused(champions, run, kwargs, message):
    with pytest.raises(UserError, match=message):
        champions.propose_challenger(ANALYST, run, 0, **kwargs)
    assert champions.get_experiment(run, 0) is None


def test_no_holdout_for_an_over_indebted_persona(champions, run):
    with pytest.raises(UserError, match="over-indebted"):
        champions.propose_challenger(ANALYST, run, 1, challenger_share=0.2, holdout_share=0.05)
    assert champions.propose_challenger(ANALYST, run, 1, challenger_share=0.2).holdout_share == 0.0


def test_a_challenger_needs_a_champion(store, run):
    with pytest.raises(UserError, match="no strategy"):
        store.propose_challenger(ANALYST, run, 0, challenger_share=0.2)


# ---------------------------------------------------------------- the CLI
@pytest.fixture
def cli(tmp_path, monkeypatch, run_dir):
    db = tmp_path / "cli.db"
    monkeypatch.setenv("PERSONAS_PASSWORD", "root-secret-pw")
    assert main(["users", "add", "root", "--role", "admin", "--db", str(db)]) == 0
    monkeypatch.setenv("PERSONAS_ADMIN_PASSWORD", "root-secret-pw")
    for name, role in (("ana", "analyst"), ("max", "manager"), ("cleo", "compliance")):
        monkeypatch.setenv("PERSONAS_PASSWORD", f"{name}-secret-pw")
        assert main(["users", "add", name, "--role", role, "--admin", "root", "--db", str(db)]) == 0

    def review(user, action, *extra):
        monkeypatch.setenv("PERSONAS_PASSWORD", f"{user}-secret-pw")
        return main(["review", action, *extra, "--db", str(db), "--run", str(run_dir), "--user", user])
    assert review("ana", "propose") == 0
    for pid in range(4):
        assert review("max", "approve", str(pid), "--version", "1") == 0
    return review


def show(cli, capsys, pid):
    capsys.readouterr()
    assert cli("max", "show", str(pid), "--json") == 0
    return json.loads(capsys.readouterr().out)[0]


def test_cli_proposes_shows_and_approves_a_challenger(cli, capsys):
    assert cli("ana", "propose", "0", "--challenger", "--share", "0.2", "--holdout", "0.05",
               "--days", "45", "--min-effect", "0.04") == 0
    record = show(cli, capsys, 0)["experiment"]
    assert record["state"] == "proposed" and record["challenger_share"] == 0.2
    assert record["holdout_share"] == 0.05 and record["planned_days"] == 45
    assert record["min_sample_per_arm"] is None
    assert cli("ana", "approve", "0", "--challenger", "--version", "1") == 1
    assert "manager" in capsys.readouterr().err
    assert cli("max", "approve", "0", "--challenger", "--version", "1") == 0
    out = capsys.readouterr().out
    record = show(cli, capsys, 0)["experiment"]
    assert record["state"] == "approved" and record["min_sample_per_arm"] > 0
    assert f"minimum sample {record['min_sample_per_arm']:,} accounts per arm" in out
    assert cli("max", "show", "0") == 0
    text = capsys.readouterr().out
    assert "challenger: experiment" in text and "champion 75% / challenger 20% / holdout 5%" in text


def test_cli_refuses_a_stale_challenger_version(cli, capsys):
    assert cli("ana", "propose", "2", "--challenger", "--share", "0.2") == 0
    assert cli("ana", "propose", "2", "--challenger", "--share", "0.25") == 0
    capsys.readouterr()
    assert cli("max", "approve", "2", "--challenger", "--version", "1") == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "version 2" in err
    assert cli("max", "approve", "2", "--challenger") == 2


def test_cli_takes_a_challenger_strategy_from_a_json_file(cli, capsys, tmp_path):
    document = tmp_path / "challenger.json"
    document.write_text(json.dumps({"channel": "letter", "tone": "friendly", "offer": "instalment_plan",
                                    "n_instalments": 6, "rationale": "letter with a plan"}))
    assert cli("ana", "propose", "3", "--challenger", "--share", "0.1", "--strategy", str(document)) == 0
    record = show(cli, capsys, 3)["experiment"]
    assert record["challenger_strategy"]["offer"] == "instalment_plan"
    bad = tmp_path / "bad.json"
    bad.write_text('{"channel": "pigeon"}')
    capsys.readouterr()
    assert cli("ana", "propose", "3", "--challenger", "--share", "0.1", "--strategy", str(bad)) == 1
    assert "pigeon" in capsys.readouterr().err


def test_cli_compliance_vetoes_a_challenger(cli, capsys):
    assert cli("ana", "propose", "0", "--challenger", "--share", "0.2") == 0
    assert cli("cleo", "reject", "0", "--challenger", "--reason", "not before the audit") == 0
    assert cli("ana", "propose", "0", "--challenger", "--share", "0.2") == 0
    capsys.readouterr()
    assert cli("max", "approve", "0", "--challenger", "--version", "3") == 1
    assert "vetoed" in capsys.readouterr().err
    assert cli("ana", "propose", "0", "--share", "0.2") == 2  # --share without --challenger


def test_a_database_from_before_experiments_gains_the_table_and_the_veto_scope(db_path, run):
    import sqlite3

    from strategy.store import ReviewStore
    from tests.user_factory import add_users

    old = ReviewStore(db_path)
    add_users(old, (ADMIN, ANALYST, MANAGER, COMPLIANCE))
    old.close()
    with sqlite3.connect(db_path) as conn:  # as the release before champion/challenger left it
        conn.execute("DROP TABLE experiments")
        conn.execute("ALTER TABLE vetoes DROP COLUMN scope")
    store = ReviewStore(db_path)
    try:
        for proposal in propose_strategies(run.profiles)[:1]:
            store.propose(ANALYST, run, 0, proposal.strategy)
            store.approve(MANAGER, run, 0, expected_version=1)
        store.propose_challenger(ANALYST, run, 0, challenger_share=0.2)
        assert store.reject_challenger(COMPLIANCE, run, 0, "not yet").veto.scope == "challenger"
        assert store.get_mapping(run, 0).veto is None  # a challenger veto leaves the champion alone
    finally:
        store.close()


def test_an_experiment_approved_in_the_database_without_an_audit_entry_is_reported(champions, run):
    from sqlalchemy import update

    from strategy import tables as t
    from strategy.reconcile import reconcile

    champions.propose_challenger(ANALYST, run, 0, challenger_share=0.2)
    assert reconcile(champions) == []
    with champions.engine.begin() as conn:
        conn.execute(update(t.experiments).values(state="approved", approved_by="bob",
                                                  approval_hash="0" * 64))
    assert any("experiment of persona 0" in line for line in reconcile(champions))


def test_cli_export_after_a_challenger_approval_writes_the_arm(cli, capsys, tmp_path, run_dir, monkeypatch):
    import csv

    assert cli("ana", "propose", "0", "--challenger", "--share", "0.3", "--holdout", "0.1") == 0
    assert cli("max", "approve", "0", "--challenger", "--version", "1") == 0
    assert cli("cleo", "sign-off-model", "--reason", "model card checked") == 0
    out = tmp_path / "accounts.csv"
    monkeypatch.setenv("PERSONAS_PASSWORD", "max-secret-pw")
    assert main(["export", "--db", str(tmp_path / "cli.db"), "--run", str(run_dir), "--format", "csv",
                 "--level", "accounts", "--out", str(out), "--user", "max"]) == 0
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    arms = {r["arm"] for r in rows if r["persona_id"] == "0"}
    assert arms == {"champion", "challenger", "holdout"}
    assert {r["arm"] for r in rows if r["persona_id"] != "0"} == {"champion"}


def test_a_workspace_that_allows_no_holdout_refuses_one(db_path, run):
    from strategy.settings import StrategySettings
    from strategy.store import ReviewStore
    from tests.user_factory import add_users

    store = ReviewStore(db_path, settings=StrategySettings(allow_holdout=False))
    try:
        add_users(store, (ADMIN, ANALYST, MANAGER))
        store.propose(ANALYST, run, 0, propose_strategies(run.profiles)[0].strategy)
        with pytest.raises(UserError, match="allows no holdout"):
            store.propose_challenger(ANALYST, run, 0, challenger_share=0.2, holdout_share=0.05)
        assert store.propose_challenger(ANALYST, run, 0, challenger_share=0.2).holdout_share == 0.0
    finally:
        store.close()
