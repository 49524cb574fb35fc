"""Where the app keeps its runs and its review database.

``PERSONAS_HOME`` (default ``./workspace``) holds ``runs/<run_id>/`` and the SQLite file
``personas.db``. ``PERSONAS_DB_URL`` points the review store at another database instead,
for example ``postgresql+psycopg://user@host/personas``.
"""
from __future__ import annotations

import os
from pathlib import Path


def workspace_dir() -> Path:
    """The workspace folder, created on first use."""
    path = Path(os.environ.get("PERSONAS_HOME", "workspace")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Folder of saved runs, one sub-folder per run id."""
    path = workspace_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """SQLAlchemy URL of the review store: ``PERSONAS_DB_URL`` or a SQLite file in the workspace."""
    url = os.environ.get("PERSONAS_DB_URL")
    if url:
        return url
    return f"sqlite:///{workspace_dir() / 'personas.db'}"
