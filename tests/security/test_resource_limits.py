"""What a crash or a kill leaves behind: no orphaned risk child, no stale export temporaries, no
traceback on a full disk. (The parser budgets for Parquet and XLSX are tested in
``test_parser_bombs.py``.)"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.security.conftest import ADMIN, COMPLIANCE, MANAGER  # the security suite's users (imported at collection)

REPO = Path(__file__).resolve().parents[2]

PARENT = """
import os, subprocess, sys, time
env = dict(os.environ, PERSONAS_RISK_PARENT=str(os.getpid()))
child = subprocess.Popen([sys.executable, "-m", "application.risk_step"], stdin=subprocess.PIPE,
                         env=env, cwd=sys.argv[1])
print(child.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in state  # a zombie has ended; only its reaping is left


def test_the_risk_child_dies_when_its_parent_is_killed():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(REPO)], stdout=subprocess.PIPE,
                              env=env, text=True)
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(300):  # a bound on waiting, not a timing assertion
        if not _alive(child):
            break
        time.sleep(0.1)
    assert not _alive(child), "the risk child outlived its killed parent"


def test_an_export_removes_temporaries_a_killed_export_left_behind(review, tmp_path):
    from strategy.export import STALE_TEMP_SECONDS, export_mappings

    store, run, _ = review
    for pid in run.persona_ids:
        store.approve(MANAGER, run, pid, expected_version=store.get_mapping(run, pid).version)
    store.sign_off_model(COMPLIANCE, run, "checked")
    out = tmp_path / "dialler.csv"
    stale = tmp_path / ".dialler.csv.abc123.tmp"
    stale.write_text("IBAN DE89370400440532013000")
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    fresh = tmp_path / ".dialler.csv.def456.tmp"  # another export's, still being written
    fresh.write_text("in progress")
    export_mappings(store, run, MANAGER, fmt="csv", out=out)
    assert not stale.exists() and fresh.exists() and out.exists()


def test_a_full_disk_is_one_line_not_a_traceback(review, tmp_path, monkeypatch, capsys):
    import errno

    from application.cli import main

    store, run, run_dir = review
    for pid in run.persona_ids:
        store.approve(MANAGER, run, pid, expected_version=store.get_mapping(run, pid).version)
    store.sign_off_model(COMPLIANCE, run, "checked")
    store.set_password(ADMIN, "mia", "mia-long-secret")

    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "x.csv"))

    monkeypatch.setattr("strategy.export._write_temp", disk_full)
    monkeypatch.setenv("PERSONAS_PASSWORD", "mia-long-secret")
    code = main(["export", "--db", store.engine.url.database, "--run", str(run_dir),
                 "--format", "csv", "--out", str(tmp_path / "x.csv"), "--user", "mia"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == [f"error: No space left on device ({tmp_path / 'x.csv'})"]
