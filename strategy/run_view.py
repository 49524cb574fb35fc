"""Read what the strategy workflow needs from a run directory, without the persona pipeline.

Only plain formats are read: ``run.json``, ``personas.json`` and ``accounts.parquet``. Nothing
is unpickled.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from portfolio.errors import UserError
from strategy.canonical import content_hash, plain

ACCOUNT_COLUMNS = ("account_id", "persona_id")


@dataclass
class RunView:
    """A run as the review workflow sees it.

    Attributes
    ----------
    run_dir : Path
    run_id : str
    meta : dict
        Content of ``run.json`` (data_sha256, metrics, model section, ...).
    profiles : list of dict
        Content of ``personas.json``, one profile per persona.
    """

    run_dir: Path
    run_id: str
    meta: dict[str, Any]
    profiles: list[dict[str, Any]]
    _accounts: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def persona_ids(self) -> list[int]:
        """Persona ids in the order of ``personas.json``."""
        return [int(p["persona_id"]) for p in self.profiles]

    def profile(self, persona_id: int) -> dict[str, Any]:
        """The profile dict of ``persona_id``; :class:`UserError` if the run has no such persona."""
        for profile in self.profiles:
            if int(profile["persona_id"]) == int(persona_id):
                return profile
        raise UserError(f"run {self.run_id} has no persona {persona_id}; its personas are "
                        f"{', '.join(map(str, self.persona_ids))}")

    def persona_definition_hash(self, persona_id: int) -> str:
        """SHA-256 of the persona's profile as written in ``personas.json``."""
        return content_hash(self.profile(persona_id))

    def personas_hash(self) -> str:
        """SHA-256 of all persona definitions of the run."""
        return content_hash(self.profiles)

    @property
    def accounts(self) -> pd.DataFrame:
        """``accounts.parquet`` (account_id, persona_id, persona_name, ...), read on first use."""
        if self._accounts is None:
            path = self.run_dir / "accounts.parquet"
            if not path.exists():
                raise UserError(f"{path} is missing: the run directory is incomplete")
            frame = pd.read_parquet(path)
            missing = [c for c in ACCOUNT_COLUMNS if c not in frame.columns]
            if missing:
                raise UserError(f"{path} lacks the columns {', '.join(missing)}")
            frame["account_id"] = frame["account_id"].astype(str)
            self._accounts = frame
        return self._accounts


def load_run_view(run_dir: str | Path) -> RunView:
    """Read ``run.json`` and ``personas.json`` of a run directory.

    Raises
    ------
    UserError
        When the folder or a file is missing or is not valid JSON, naming the file.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise UserError(f"run directory {path} does not exist")
    meta = _read_json(path / "run.json")
    profiles = _read_json(path / "personas.json")
    if not isinstance(meta, dict) or "run_id" not in meta:
        raise UserError(f"{path / 'run.json'} has no run_id")
    if not isinstance(profiles, list) or not all(isinstance(p, dict) and "persona_id" in p
                                                 for p in profiles):
        raise UserError(f"{path / 'personas.json'} must be a list of profiles with persona_id")
    return RunView(path, str(meta["run_id"]), meta, plain(profiles))


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise UserError(f"{path} is missing: the run directory is incomplete")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path} is not valid JSON ({err})") from None
