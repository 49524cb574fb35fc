"""``scripts/install_browser.sh`` on a new machine: the suite's two workers start it at the same moment.

On a machine without Chromium both pytest-xdist workers reach the browser fixture and run the script;
the second one's ``apt-get update`` failed at once on apt's list lock (exit 100) and its 15 browser
tests errored (clean-clone run of 2026-12-02 13:14). Here ``apt-get`` is a stand-in that holds a
"list lock" while it updates and fails like apt when the lock is taken, and the browser is a file in a
temporary folder: both installers must succeed, and only one may install.
"""
from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "install_browser.sh"

FAKE_APT = """#!/usr/bin/env bash
# apt-get's stand-in: `update` holds the list lock for a second (exit 100 when another holds it);
# `install` writes the browser and counts the installations.
set -u
case " $* " in
  *" update "*)
    exec 8>"$FAKE_ROOT/lists.lock"
    flock -n 8 || { echo "E: Could not get lock $FAKE_ROOT/lists.lock" >&2; exit 100; }
    sleep 1 ;;
  *" install "*)
    printf '#!/bin/sh\\necho "Chromium 1.0 (stand-in)"\\n' > "$PERSONAS_CHROMIUM"
    chmod +x "$PERSONAS_CHROMIUM"
    echo x >> "$FAKE_ROOT/installs" ;;
esac
"""


def _installer(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    apt = bin_dir / "apt-get"
    apt.write_text(FAKE_APT)
    apt.chmod(apt.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_ROOT": str(tmp_path),
            "PERSONAS_CHROMIUM": str(tmp_path / "chromium"), "TMPDIR": str(tmp_path)}


def test_two_installers_at_once_both_succeed_and_only_one_installs(tmp_path):
    if os.geteuid() != 0:  # the script installs with apt-get as root (or password-less sudo)
        import pytest

        pytest.skip("the installer runs as root in CI; this machine's user is not root")
    env = _installer(tmp_path)
    runs = [subprocess.Popen(["bash", str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    for run, (out, err) in zip(runs, outputs):
        assert run.returncode == 0, out + err
    assert (tmp_path / "installs").read_text().count("x") == 1
    assert any("already present" in out for out, _err in outputs)  # the second found the first's browser


def test_an_apt_lock_held_by_someone_else_is_waited_for_not_a_failure(tmp_path):
    if os.geteuid() != 0:
        import pytest

        pytest.skip("the installer runs as root in CI; this machine's user is not root")
    env = _installer(tmp_path)
    holder = subprocess.Popen(["flock", str(tmp_path / "lists.lock"), "sleep", "4"])  # an unattended upgrade
    try:
        done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    finally:
        holder.wait(timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "trying again" in done.stderr
    assert os.access(tmp_path / "chromium", os.X_OK)
