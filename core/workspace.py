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


def _user_dir(env: str, xdg: str, fallback: str) -> Path:
    explicit = os.environ.get(env)
    if explicit:
        return Path(explicit).expanduser().resolve()
    base = os.environ.get(xdg) or str(Path.home() / fallback)
    return (Path(base).expanduser() / "persona-collections").resolve()


def is_inside_workspace(path: Path) -> bool:
    """True when ``path`` lies in the workspace, where anyone who can write runs could change it."""
    workspace = Path(os.environ.get("PERSONAS_HOME", "workspace")).expanduser().resolve()
    path = Path(path).expanduser().resolve()
    return path == workspace or workspace in path.parents


def config_dir() -> Path:
    """Where the app keeps secrets it owns (the run-signing key): ``PERSONAS_CONFIG_DIR``, else
    ``$XDG_CONFIG_HOME/persona-collections`` or ``~/.config/persona-collections``; never the workspace."""
    return _user_dir("PERSONAS_CONFIG_DIR", "XDG_CONFIG_HOME", ".config")


def cache_dir() -> Path:
    """Where the app keeps compiled code (numba's cache): ``PERSONAS_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/persona-collections`` or ``~/.cache/persona-collections``; never the workspace."""
    return _user_dir("PERSONAS_CACHE_DIR", "XDG_CACHE_HOME", ".cache")
