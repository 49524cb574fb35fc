"""`personas review` as a manager and a compliance reviewer use it: evidence, versions, vetoes,
overrides with a second person, and the review queue."""
from __future__ import annotations

import json

import pytest

from application.cli import main


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    """An administrator, then an analyst, two managers and a compliance reviewer."""
    db = tmp_path / "cli.db"
    monkeypatch.setenv("PERSONAS_PASSWORD", "root-secret-pw")
    assert main(["users", "add", "root", "--role", "admin", "--db", str(db)]) == 0
    monkeypatch.setenv("PERSONAS_ADMIN_PASSWORD", "root-secret-pw")
    for name, role in (("ana", "analyst"), ("max", "manager"), ("mia", "manager"),
                       ("cleo", "compliance")):
        monkeypatch.setenv("PERSONAS_PASSWORD", f"{name}-secret-pw")
        assert main(["users", "add", name, "--role", role, "--admin", "root", "--db", str(db)]) == 0
    monkeypatch.delenv("PERSONAS_ADMIN_PASSWORD")
    return db


@pytest.fixture
def review(cli_db, run_dir, monkeypatch):
    """``review(user, action, *args)``: run ``personas review`` as ``user``; returns the exit code."""
    def _review(user, action, *extra, run=run_dir):
        monkeypatch.setenv("PERSONAS_PASSWORD", f"{user}-secret-pw")
        return main(["review", action, *extra, "--db", str(cli_db), "--run", str(run),
                     "--user", user])
    return _review


@pytest.fixture
def proposed(review, capsys):
    assert review("ana", "propose") == 0
    capsys.readouterr()
    return review


def listing(review, capsys, *extra):
    capsys.readouterr()
    assert review("max", "list", "--json", *extra) == 0
    return {r["persona_id"]: r for r in json.loads(capsys.readouterr().out)}


# ---------------------------------------------------------------- what the manager sees
def test_list_json_gives_persona_state_version_and_hash_per_mapping(proposed, capsys):
    records = listing(proposed, capsys)
    assert sorted(records) == [0, 1, 2, 3]
    for record in records.values():
        assert record["state"] == "proposed" and record["version"] == 1
        assert len(record["hash"]) == 64
        assert 0 < record["share_accounts"] <= 1 and 0 < record["share_balance"] <= 1
        assert record["evidence"] and record["guardrails"]


def test_show_prints_evidence_guardrails_shares_version_and_hash(proposed, capsys):
    record = listing(proposed, capsys)[1]
    assert proposed("max", "show", "1") == 0
    out = capsys.readouterr().out
    assert "proposed v1" in out and record["hash"] in out
    assert f"{record['share_accounts']:.1%} of accounts" in out
    assert f"{record['share_balance']:.1%} of balance" in out
    assert "evidence: " in out and ("ok   " in out or "FAIL " in out)
    assert "review approve 1 --version 1" in out


# ---------------------------------------------------------------- approve the version shown
def test_approve_without_a_version_is_refused_naming_the_current_one(proposed, capsys):
    assert proposed("max", "approve", "0") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "version 1" in err and "--version" in err


def test_approve_with_a_stale_version_is_refused(proposed, capsys, cli_db, run_dir):
    from strategy.auth import User
    from strategy.run_view import load_run_view
    from strategy.store import ReviewStore

    store, run = ReviewStore(cli_db), load_run_view(run_dir)
    current = store.get_mapping(run, 0)  # the analyst changes it after the manager listed it
    store.edit(User("ana", "analyst"), run, 0, current.strategy.with_changes(tone="neutral"),
               expected_version=current.version)
    assert proposed("max", "approve", "0", "--version", "1") == 1
    err = capsys.readouterr().err
    assert "you reviewed version 1" in err and "now at version 2" in err
    assert store.get_mapping(run, 0).state == "proposed"
    assert proposed("max", "approve", "0", "--version", "2") == 0


def test_approve_by_hash_prefix(proposed, capsys):
    digest = listing(proposed, capsys)[0]["hash"]
    assert proposed("max", "approve", "0", "--hash", digest[:12]) == 0
    assert "approved by max" in capsys.readouterr().out
    assert listing(proposed, capsys)[0]["state"] == "approved"


# ---------------------------------------------------------------- veto
def test_a_vetoed_mapping_cannot_be_approved_until_compliance_lifts_the_veto(proposed, capsys):
    assert proposed("cleo", "reject", "0", "--reason", "wording reads as a threat") == 0
    assert "compliance veto" in capsys.readouterr().out
    assert proposed("ana", "propose", "0") == 0  # the same content proposed again
    version = listing(proposed, capsys)[0]["version"]
    assert proposed("max", "approve", "0", "--version", str(version)) == 1
    assert "compliance veto by cleo" in capsys.readouterr().err
    assert proposed("max", "lift-veto", "0", "--reason", "ok") == 1  # a manager cannot lift it
    assert proposed("cleo", "lift-veto", "0") == 2  # a reason is required
    assert proposed("cleo", "lift-veto", "0", "--reason", "wording changed in the letter system") == 0
    assert proposed("max", "approve", "0", "--version", str(version)) == 0
    assert proposed("max", "list") == 0
    assert "VETO" not in capsys.readouterr().out


def test_list_shows_a_standing_veto(proposed, capsys):
    assert proposed("cleo", "reject", "2", "--reason", "no court for this persona") == 0
    capsys.readouterr()
    assert proposed("max", "show", "2") == 0
    assert "VETO by cleo" in capsys.readouterr().out
    assert listing(proposed, capsys)[2]["veto"]["active"] is True


# ---------------------------------------------------------------- overrides and the queue
def test_an_override_by_one_person_counts_only_after_a_second_approves_it(proposed, capsys):
    assert proposed("max", "override", "A00001", "--persona", "1",
                    "--reason", "job loss reported") == 0
    out = capsys.readouterr().out
    override_id = out.split()[1]
    assert proposed("max", "queue") == 0
    assert "A00001\toverride" in capsys.readouterr().out
    assert proposed("max", "approve-override", override_id) == 1  # the author
    assert "second person" in capsys.readouterr().err
    assert proposed("mia", "approve-override", override_id) == 0
    assert proposed("max", "overrides") == 0
    assert "approved by mia" in capsys.readouterr().out
    assert proposed("max", "queue", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_clear_account_releases_a_needs_review_account(review, capsys, run_dir, tmp_path):
    from tests.run_factory import save_fabricated_run
    from strategy.run_view import load_run_view

    base = load_run_view(run_dir)
    accounts = base.accounts.copy()
    accounts["needs_review"] = accounts["account_id"] == "A20005"  # an uncertain assignment
    flagged = save_fabricated_run(tmp_path / "flagged", "20261124-080000-5a0000c002",
                                  base.profiles, accounts).path
    assert review("ana", "propose", run=flagged) == 0
    capsys.readouterr()
    assert review("max", "queue", "--json", run=flagged) == 0
    assert [r["account_id"] for r in json.loads(capsys.readouterr().out)] == ["A20005"]
    assert review("max", "show", "2", run=flagged) == 0
    assert "1 account(s) held" in capsys.readouterr().out
    assert review("mia", "clear-account", "A20005", run=flagged) == 2  # a reason is required
    assert review("mia", "clear-account", "A20005", "--reason", "checked the file",
                  run=flagged) == 0
    capsys.readouterr()
    assert review("max", "queue", "--json", run=flagged) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_review_actions_say_what_they_need(proposed, capsys):
    assert proposed("max", "show") == 2
    assert proposed("max", "approve-override") == 2
    assert proposed("max", "override", "A00001", "--reason", "x") == 2
    assert proposed("max", "approve", "zero", "--version", "1") == 2
    assert proposed("max", "approve", "0", "--hash", "abc") == 1
    assert "Traceback" not in capsys.readouterr().err


def test_only_compliance_signs_off_the_model_from_the_command_line(review, capsys, cli_db):
    assert review("max", "sign-off-model", "--reason", "looks fine") == 1  # a manager may not
    assert "compliance" in capsys.readouterr().err
    assert review("cleo", "sign-off-model") == 2  # says what was checked
    assert review("cleo", "sign-off-model", "--reason", "model card, SHAP and fairness read") == 0
    assert "signed off by cleo" in capsys.readouterr().out
    assert main(["audit", "list", "--db", str(cli_db)]) == 0
    assert "model_signed_off" in capsys.readouterr().out
