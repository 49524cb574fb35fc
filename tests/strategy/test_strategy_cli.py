"""The whole review flow from the command line: users -> propose -> approve -> export -> verify."""
from __future__ import annotations

import json
import sqlite3

import jsonschema
import pytest
from openpyxl import load_workbook

from application.cli import main
from strategy.export import export_schema


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    """An administrator (the first one, created by the OS operator), then users added by them."""
    db = tmp_path / "cli.db"
    monkeypatch.setenv("PERSONAS_PASSWORD", "root-secret-pw")
    assert main(["users", "add", "root", "--role", "admin", "--db", str(db)]) == 0
    monkeypatch.setenv("PERSONAS_ADMIN_PASSWORD", "root-secret-pw")
    for name, role in (("ana", "analyst"), ("max", "manager"), ("cleo", "compliance")):
        monkeypatch.setenv("PERSONAS_PASSWORD", f"{role}-secret")
        assert main(["users", "add", name, "--role", role, "--admin", "root", "--db", str(db)]) == 0
    monkeypatch.delenv("PERSONAS_ADMIN_PASSWORD")
    return db


def sign_off(db, run_dir):
    from strategy.auth import User
    from strategy.run_view import load_run_view
    from strategy.store import ReviewStore

    ReviewStore(db).sign_off_model(User("cleo", "compliance"), load_run_view(run_dir), "checked")


def as_user(monkeypatch, password):
    monkeypatch.setenv("PERSONAS_PASSWORD", password)


def review(db, run_dir, action, user, *extra):
    return main(["review", action, "--db", str(db), "--run", str(run_dir), "--user", user, *extra])


def test_the_whole_flow_runs_from_the_command_line(cli_db, run_dir, tmp_path, monkeypatch, capsys):
    as_user(monkeypatch, "analyst-secret")
    assert review(cli_db, run_dir, "propose", "ana") == 0
    as_user(monkeypatch, "manager-secret")
    for pid in range(4):
        assert review(cli_db, run_dir, "approve", "max", "--persona", str(pid),
                      "--version", "1") == 0
    capsys.readouterr()
    assert review(cli_db, run_dir, "list", "max") == 0
    assert capsys.readouterr().out.count("approved by max") == 4
    sign_off(cli_db, run_dir)
    for fmt in ("csv", "json", "xlsx"):
        out = tmp_path / "exports" / f"mappings.{fmt}"
        assert main(["export", "--db", str(cli_db), "--run", str(run_dir), "--format", fmt,
                     "--out", str(out), "--user", "max"]) == 0
        assert out.exists()
    jsonschema.validate(json.loads((tmp_path / "exports" / "mappings.json").read_text()),
                        export_schema())
    assert (tmp_path / "exports" / "mappings.provenance.json").exists()
    assert load_workbook(tmp_path / "exports" / "mappings.xlsx").sheetnames[0] == "personas"
    assert main(["export", "--db", str(cli_db), "--run", str(run_dir), "--format", "csv",
                 "--level", "accounts", "--out", str(tmp_path / "accounts.csv")]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--db", str(cli_db)]) == 0
    assert "intact" in capsys.readouterr().out


def test_the_proposer_cannot_approve_from_the_command_line(cli_db, run_dir, monkeypatch, capsys):
    as_user(monkeypatch, "analyst-secret")
    assert review(cli_db, run_dir, "propose", "ana", "--persona", "0") == 0
    assert review(cli_db, run_dir, "approve", "ana", "--persona", "0") == 1
    assert "may not approve" in capsys.readouterr().err


def test_a_wrong_password_is_refused(cli_db, run_dir, monkeypatch, capsys):
    as_user(monkeypatch, "not-the-password")
    assert review(cli_db, run_dir, "list", "max") == 1
    assert "could not sign in as max" in capsys.readouterr().err


def test_a_password_flag_does_not_exist(cli_db, run_dir):
    with pytest.raises(SystemExit) as exit_:
        review(cli_db, run_dir, "list", "max", "--password", "manager-secret")
    assert exit_.value.code == 2


def test_reject_needs_a_reason_and_approve_a_persona(cli_db, run_dir, monkeypatch):
    as_user(monkeypatch, "manager-secret")
    assert review(cli_db, run_dir, "reject", "max", "--persona", "0") == 2
    assert review(cli_db, run_dir, "approve", "max") == 2


def test_export_is_refused_with_the_reason_while_personas_are_unapproved(cli_db, run_dir, tmp_path,
                                                                       monkeypatch, capsys):
    as_user(monkeypatch, "analyst-secret")
    review(cli_db, run_dir, "propose", "ana")
    out = tmp_path / "refused.csv"
    assert main(["export", "--db", str(cli_db), "--run", str(run_dir), "--format", "csv",
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "persona 0 (Reliable early payers) is proposed, not approved" in err
    assert not out.exists()


def test_audit_verify_names_the_first_tampered_entry(cli_db, capsys):
    with sqlite3.connect(cli_db) as conn:
        conn.execute("UPDATE audit_log SET user = 'mallory' WHERE seq = 2")
    assert main(["audit", "verify", "--db", str(cli_db)]) == 1
    assert "audit entry 2" in capsys.readouterr().err


def test_audit_verify_of_a_missing_database_is_an_error(tmp_path, capsys):
    assert main(["audit", "verify", "--db", str(tmp_path / "nope.db")]) == 1


def test_db_accepts_a_sqlalchemy_url_and_propose_uses_the_portfolio(cli_db, run_dir, tmp_path,
                                                                     portfolio_frame, monkeypatch,
                                                                     capsys):
    portfolio_file = tmp_path / "portfolio.csv"
    portfolio_frame.to_csv(portfolio_file, index=False)
    as_user(monkeypatch, "analyst-secret")
    url = f"sqlite:///{cli_db}"
    # a file that is not the run's source data is refused (the run keeps its own copy)
    assert main(["review", "propose", "--db", url, "--run", str(run_dir), "--user", "ana",
                 "--persona", "0", "--portfolio", str(portfolio_file)]) == 1
    assert "is not the portfolio" in capsys.readouterr().err
    assert main(["review", "propose", "--db", url, "--run", str(run_dir), "--user", "ana",
                 "--persona", "0"]) == 0  # the run's own portfolio copy gives the contact history
    assert "by sms" in capsys.readouterr().out
    from strategy.run_view import load_run_view
    from strategy.store import ReviewStore
    mapping = ReviewStore(cli_db).get_mapping(load_run_view(run_dir), 0)
    assert any(line.startswith("SMS:") and "95% CI" in line for line in mapping.evidence)
