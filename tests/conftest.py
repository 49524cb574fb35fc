"""Shared test set-up: every test gets its own workspace and database, never the user's."""
from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".numba_cache"))
# The run-signing key lives outside every test workspace, shared by the test run's processes (CLI
# subprocesses, the app server, Dask workers), never in the user's own ~/.config.
os.environ.setdefault("PERSONAS_CONFIG_DIR", tempfile.mkdtemp(prefix="personas-test-config-"))


@pytest.fixture(autouse=True)
def _isolated_workspace(tmp_path, monkeypatch):
    """Point PERSONAS_HOME at a temporary folder so no test touches ./workspace."""
    home = tmp_path / "workspace"
    monkeypatch.setenv("PERSONAS_HOME", str(home))
    monkeypatch.delenv("PERSONAS_DB_URL", raising=False)
    monkeypatch.delenv("PERSONAS_PASSWORD", raising=False)
    return home
