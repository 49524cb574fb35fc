"""What the strategy workflow needs from a run folder, without the persona pipeline.

The folder is opened through :func:`runs.open_run` (signed manifest, every file's SHA-256), and
only plain formats are read: ``run.json``, ``personas.json`` and ``accounts.parquet``. Nothing is
unpickled.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import UserError
from runs import RunFolder, open_run
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
    folder: RunFolder | None = field(default=None, repr=False)
    _accounts: pd.DataFrame | None = field(default=None, repr=False)
    _assignment: str | None = field(default=None, repr=False)

    @property
    def parent_run_id(self) -> str | None:
        return self.meta.get("parent_run_id")

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
            frame = self.folder.read_parquet("accounts.parquet") if self.folder is not None else pd.read_parquet(path)
            missing = [c for c in ACCOUNT_COLUMNS if c not in frame.columns]
            if missing:
                raise UserError(f"{path} lacks the columns {', '.join(missing)}")
            frame["account_id"] = frame["account_id"].astype(str)
            self._accounts = frame
        return self._accounts

    def assignment_fingerprint(self) -> str:
        """SHA-256 of which account belongs to which persona (sorted ``account_id`` -> ``persona_id``).

        An approval binds it: moving accounts between personas after approval voids the approval,
        whatever the profiles say.
        """
        if self._assignment is None:
            pairs = self.accounts[["account_id", "persona_id"]].astype({"persona_id": "int64"})
            pairs = pairs.sort_values(["account_id", "persona_id"], kind="stable")
            lines = pairs["account_id"].str.cat(pairs["persona_id"].astype(str), sep="\t")
            self._assignment = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
        return self._assignment


def load_run_view(run_dir: str | Path | RunFolder) -> RunView:
    """Open a run folder (verified: see :func:`runs.open_run`) as the review workflow sees it.

    Raises
    ------
    UserError
        When the folder is missing, unsigned, altered or incomplete, naming the file and what to do.
    """
    folder = run_dir if isinstance(run_dir, RunFolder) else open_run(run_dir)
    profiles = folder.read_json("personas.json")
    return RunView(folder.path, folder.run_id, folder.meta, plain(profiles), folder)
