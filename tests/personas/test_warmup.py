"""The numba warm-up: started once per process in the background, without racing the pages' imports."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _in_a_fresh_process(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_warm_up_imports_first_then_starts_one_thread_per_process_that_finishes():
    # Two threads importing one package chain at once can deadlock (umap -> sklearn -> narwhals in the
    # warm-up thread, altair -> narwhals in a page): the imports must be done when the call returns.
    # One fresh process for both checks (each fresh interpreter pays the heavy imports again).
    out = _in_a_fresh_process(
        "import sys\n"
        "from application.warmup import warm_up_in_background, wait_for_warm_up, warm_up_status\n"
        "first = warm_up_in_background()\n"
        "print(all(m in sys.modules for m in ('umap', 'hdbscan', 'altair', 'narwhals')))\n"
        "second = warm_up_in_background()\n"
        "print(first is second, wait_for_warm_up(500), warm_up_status()['error'])")
    assert out.splitlines() == ["True", "True True None"]
