"""The monthly cycle from the command line, end to end on the generator's data, as the people use it:

month 1: ``sample`` → ``run`` → ``review propose`` → ``review approve`` (champion and a challenger, four
eyes) → ``review sign-off-model`` → ``export``; month 2: ``sample --base`` → ``apply`` (approvals and the
experiment carry over) → sign-off → ``export`` (same arm for every account in both months) →
``sample-payments`` (a planted challenger effect) → ``outcomes load`` → ``readout``.

The read-out must recover the planted effect's sign on the persona that holds the planted archetype and
its 95 % interval must cover the true difference the generator wrote. Experiment ids are random in the
app; here they are fixed so that the test is deterministic.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from application.cli import main

ROWS = 4_000
PLANTED = "temporarily_strained"


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch):
    """Argon2 with the cheapest parameters: some forty sign-ins check behaviour, not hashing cost."""
    from argon2 import PasswordHasher, profiles

    import strategy.auth
    monkeypatch.setattr(strategy.auth, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """``cli(user, *argv)`` runs a command as ``user`` (password through the environment)."""
    db = tmp_path / "review.db"
    monkeypatch.setenv("PERSONAS_PASSWORD", "root-secret-pw")
    assert main(["users", "add", "root", "--role", "admin", "--db", str(db)]) == 0
    monkeypatch.setenv("PERSONAS_ADMIN_PASSWORD", "root-secret-pw")
    for name, role in (("ana", "analyst"), ("mia", "manager"), ("cleo", "compliance")):
        monkeypatch.setenv("PERSONAS_PASSWORD", f"{name}-secret-pw")
        assert main(["users", "add", name, "--role", role, "--admin", "root", "--db", str(db)]) == 0
    monkeypatch.delenv("PERSONAS_ADMIN_PASSWORD")
    counter = iter(range(1000))
    fixed = lambda: f"exp-fixed-{next(counter)}"  # noqa: E731
    monkeypatch.setattr("strategy.experiments.new_experiment_id", fixed)
    monkeypatch.setattr("strategy.experiment_workflow.new_experiment_id", fixed)

    def run(user, *argv):
        if user:
            monkeypatch.setenv("PERSONAS_PASSWORD", f"{user}-secret-pw")
            argv = (*argv, "--user", user)
        return main([*argv, "--db", str(db)] if argv[0] in ("review", "export", "readout", "apply") else list(argv))
    return run


def _listing(cli, capsys, run_dir) -> dict[int, dict]:
    capsys.readouterr()
    assert cli("mia", "review", "list", "--run", str(run_dir), "--json") == 0
    return {r["persona_id"]: r for r in json.loads(capsys.readouterr().out)}


def _approve_everything(cli, capsys, run_dir, with_challengers: bool) -> None:
    """Approve every proposed strategy (and with_challengers: propose and approve a challenger for each
    persona), then compliance signs off the run's model."""
    for pid, record in _listing(cli, capsys, run_dir).items():
        if record["state"] != "approved":
            assert cli("mia", "review", "approve", str(pid), "--run", str(run_dir),
                       "--version", str(record["version"])) == 0
    if with_challengers:
        for pid in _listing(cli, capsys, run_dir):
            assert cli("ana", "review", "propose", str(pid), "--run", str(run_dir), "--challenger",
                       "--share", "0.5", "--days", "30") == 0
        for pid, record in _listing(cli, capsys, run_dir).items():
            experiment = record["experiment"]
            assert experiment and experiment["state"] == "proposed"
            assert cli("mia", "review", "approve", str(pid), "--run", str(run_dir), "--challenger",
                       "--version", str(experiment["version"])) == 0
    assert cli("cleo", "review", "sign-off-model", "--run", str(run_dir), "--reason", "checked") == 0


def _export(cli, run_dir, out) -> pd.DataFrame:
    assert cli("mia", "export", "--run", str(run_dir), "--level", "accounts", "--format", "csv",
               "--out", str(out)) == 0
    return pd.read_csv(out, dtype={"account_id": str}, comment="#")


def test_two_months_from_the_command_line(cli, tmp_path, capsys):
    m1, m2 = tmp_path / "month1.csv", tmp_path / "month2.csv"
    run1, run2 = tmp_path / "run1", tmp_path / "run2"
    assert main(["sample", "--rows", str(ROWS), "--seed", "7", "--out", str(m1)]) == 0
    assert main(["run", str(m1), "--out", str(run1), "--no-search", "--target", "paid_90d",
                 "--truth-col", "true_persona", "--one-process"]) == 0
    assert cli("ana", "review", "propose", "--run", str(run1)) == 0
    _approve_everything(cli, capsys, run1, with_challengers=True)
    export1 = _export(cli, run1, tmp_path / "export1.csv")
    assert set(export1["arm"]) == {"champion", "challenger"}

    assert main(["sample", "--base", str(m1), "--seed", "7", "--out", str(m2)]) == 0
    capsys.readouterr()
    assert cli("mia", "apply", str(run1), str(m2), "--out", str(run2)) == 0
    printed = capsys.readouterr().out
    assert "review needed: no" in printed, printed
    carried = _listing(cli, capsys, run2)
    sent_back = {pid for pid, r in carried.items() if r["state"] != "approved"}
    # Nothing drifted, so only a guardrail that fails on this month's accounts sends a persona back
    # (on this seed: a persona's dispute share rose past the credit-bureau limit).
    for pid in sent_back:
        assert carried[pid]["state"] == "proposed" and "this month's accounts" in carried[pid]["reason"]
        assert cli("ana", "review", "propose", str(pid), "--run", str(run2)) == 0  # a compliant proposal
        assert cli("ana", "review", "propose", str(pid), "--run", str(run2), "--challenger", "--share", "0.5",
                   "--days", "30") == 0  # and a compliant challenger
    assert all(r["experiment"] and r["experiment"]["state"] == ("proposed" if pid in sent_back else "approved")
               for pid, r in carried.items())
    _approve_everything(cli, capsys, run2, with_challengers=False)
    for pid, record in _listing(cli, capsys, run2).items():
        if record["experiment"]["state"] == "proposed":
            assert cli("mia", "review", "approve", str(pid), "--run", str(run2), "--challenger",
                       "--version", str(record["experiment"]["version"])) == 0
    export2 = _export(cli, run2, tmp_path / "export2.csv")
    both = export1.merge(export2, on="account_id", suffixes=("_1", "_2"))
    same = both[both["experiment_id_1"] == both["experiment_id_2"]]
    assert len(same) > ROWS // 2, "most experiments carry over with their id"
    assert (same["arm_1"] == same["arm_2"]).all(), "an account changed arm within an experiment"

    payments, truth = tmp_path / "zahlungen.csv", tmp_path / "truth.json"
    assert main(["sample-payments", "--export", str(tmp_path / "export2.csv"), "--portfolio", str(m2),
                 "--out", str(payments), "--truth", str(truth), "--language", "de", "--effect", "0.15"]) == 0
    assert main(["outcomes", "load", str(run2), str(payments)]) == 0
    capsys.readouterr()
    assert cli(None, "readout", str(run2), "--json") == 0
    result = json.loads(capsys.readouterr().out)

    true = {row["persona_id"]: row for row in json.loads(truth.read_text())["personas"]}
    planted = max(true, key=lambda pid: true[pid]["pay_rate_difference"])
    assert true[planted]["pay_rate_difference"] > 0.05
    (row,) = [d for d in result["differences"]
              if d["persona_id"] == planted and d["comparison"].startswith("challenger")]
    assert row["pay_rate_difference"] > 0, "the read-out missed the planted effect's sign"
    assert row["pay_rate_low"] <= true[planted]["pay_rate_difference"] <= row["pay_rate_high"]
