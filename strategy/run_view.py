"""What the strategy workflow needs from a run folder, without the persona pipeline.

The folder is opened through :func:`runs.open_run` (signed manifest, every file's SHA-256), and
only plain formats are read: ``run.json``, ``personas.json``, ``accounts.parquet`` and the run's
copy of its portfolio, ``portfolio.parquet``. Nothing is unpickled.

The portfolio copy is what every account-level check and export works on: the manager and the
compliance reviewer do not hold the analyst's upload, and the CLI must not need it.
:func:`check_portfolio_matches` refuses a portfolio given from elsewhere that is not the run's.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import UserError
from core.hashing import sha256_file
from portfolio.meanings import ColumnMeanings, detect_meanings
from portfolio.roles import ColumnRoles
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
    _portfolio: pd.DataFrame | None = field(default=None, repr=False)
    _portfolio_read: bool = field(default=False, repr=False)

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

    def persona_of(self, account_id: str) -> int | None:
        """The persona ``account_id`` belongs to in this run, ``None`` for an account it does not hold."""
        rows = self.accounts.loc[self.accounts["account_id"] == str(account_id).strip(), "persona_id"]
        return int(rows.iloc[0]) if len(rows) else None

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

    @property
    def has_portfolio(self) -> bool:
        """Whether the run keeps its portfolio (runs saved before runs kept one do not)."""
        return isinstance(self.meta.get("portfolio"), dict)

    @property
    def portfolio(self) -> pd.DataFrame | None:
        """The run's copy of its portfolio, read (verified against the signed manifest) on first use.

        One row per account of the run, in the order of the run: ``account_id`` (text), ``balance``,
        ``days_past_due`` and every other column of the upload under its source name, without direct
        identifiers (``meta["portfolio"]["left_out"]`` says which and why). ``None`` for a run saved
        without one. :attr:`meanings` says which column means what.
        """
        if not self._portfolio_read:
            folder = self.folder if self.folder is not None else open_run(self.run_dir)
            frame = folder.read_portfolio()
            if frame is not None and "account_id" in frame.columns:
                frame["account_id"] = frame["account_id"].astype(str)
            self._portfolio, self._portfolio_read = frame, True
        return self._portfolio

    @property
    def roles(self) -> ColumnRoles | None:
        """The column model the run was made with (``run.json`` ``roles``), or ``None`` for runs saved
        before columns had meanings."""
        data = self.meta.get("roles")
        if not isinstance(data, dict) or "roles" not in data or "meanings" not in data:
            return None
        return ColumnRoles.from_dict(data)

    @property
    def meanings(self) -> ColumnMeanings:
        """Which column means what (dispute, opt-out per channel, due date ...), for the run's portfolio.

        The run's column model when ``run.json`` records it; for older runs the profiles'
        ``column_meanings``, else the portfolio model's reading of the kept portfolio; else none.
        """
        roles = self.roles
        if roles is not None:
            return roles.column_meanings
        recorded: dict[str, str] = {}
        for profile in self.profiles:
            recorded.update({str(k): str(v) for k, v in (profile.get("column_meanings") or {}).items() if v})
        if recorded:
            return ColumnMeanings(recorded)
        frame = self.portfolio
        return detect_meanings(frame) if frame is not None else ColumnMeanings()

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


# ---------------------------------------------------------------------------- is this the run's portfolio?
def check_portfolio_matches(run: Any, frame_or_path: Any) -> None:
    """Raise :class:`UserError` unless ``frame_or_path`` is the portfolio ``run`` was made from.

    Parameters
    ----------
    run : RunView, RunResult, RunFolder or run.json dict
        Anything with the run's ``meta`` (its ``data_sha256``: SHA-256 of the source data).
    frame_or_path : path, Portfolio or DataFrame
        A file path (its bytes' SHA-256 must be the run's data hash); a loaded portfolio
        (``portfolio.load.Portfolio``: its ``sha256``); or a frame of accounts, compared value by value
        with the run's kept copy (every kept column, same rows in the same order) or, for a run that
        keeps none, hashed as :func:`portfolio.load.load_portfolio` hashes a frame.
    """
    meta = _meta_of(run)
    run_id, expected = meta.get("run_id", "?"), meta.get("data_sha256")
    source = meta.get("source_name") or "its source file"
    if isinstance(frame_or_path, (str, os.PathLike)):
        path = Path(frame_or_path)
        if not path.is_file():
            raise UserError(f"{path}: no such file; give the portfolio file run {run_id} was made from ({source}).")
        given, what = sha256_file(path), str(path)
    elif isinstance(frame_or_path, pd.DataFrame):
        kept = _kept_frame(run)
        if kept is not None:
            problem = _frame_difference(kept, frame_or_path, meta.get("portfolio") or {})
            if problem:
                raise UserError(f"the accounts given are not the portfolio of run {run_id}: {problem}. "
                                f"Use the copy the run keeps, or the file it was made from ({source}).")
            return
        given, what = _frame_sha256(frame_or_path), "the table given"
    elif isinstance(getattr(frame_or_path, "sha256", None), str):
        given = frame_or_path.sha256
        what = str(getattr(frame_or_path, "source_name", None) or "the portfolio given")
    else:
        raise UserError(f"cannot tell whether {type(frame_or_path).__name__} is the portfolio of run {run_id}; "
                        "give a file path, a loaded portfolio or a table of accounts.")
    if given != expected:
        raise UserError(f"{what} is not the portfolio run {run_id} was made from: its data hash "
                        f"{given[:12]}… differs from the run's {str(expected)[:12]}…. An account-level check "
                        f"or export must use the run's own accounts: the copy the run keeps, or the file it "
                        f"was made from ({source}).")


def _meta_of(run: Any) -> dict[str, Any]:
    meta = run if isinstance(run, dict) else getattr(run, "meta", None)
    if not isinstance(meta, dict) or "data_sha256" not in meta:
        raise UserError("not a run: its run.json (with data_sha256) is missing.")
    return meta


def _kept_frame(run: Any) -> pd.DataFrame | None:
    """The run's copy of its portfolio from a RunView, RunResult or RunFolder, else ``None``."""
    if isinstance(run, RunView):
        return run.portfolio
    if isinstance(run, RunFolder):
        return run.read_portfolio()
    kept = getattr(run, "portfolio", None)  # application.pipeline.RunResult: a RunPortfolio
    frame = getattr(kept, "frame", kept)
    return frame if isinstance(frame, pd.DataFrame) else None


def _frame_difference(kept: pd.DataFrame, given: pd.DataFrame, section: dict[str, Any]) -> str | None:
    """What differs between the kept copy and ``given`` (source names of the required columns allowed)."""
    given = given.rename(columns={src: dst for src, dst in (section.get("renamed") or {}).items()
                                  if src in given.columns and dst not in given.columns})
    missing = [str(c) for c in kept.columns if c not in given.columns]
    if missing:
        return f"it lacks the column(s) {', '.join(missing[:5])}"
    if len(given) != len(kept):
        return f"it has {len(given):,} accounts, the run {len(kept):,}"
    ours = kept.reset_index(drop=True).astype({"account_id": str}, errors="ignore")
    theirs = given[list(kept.columns)].reset_index(drop=True).astype({"account_id": str}, errors="ignore")
    if "account_id" in ours.columns and not ours["account_id"].equals(theirs["account_id"]):
        return "its accounts (account_id) differ or are in another order"
    for column in ours.columns:
        # equal values may differ in dtype (int vs float, str vs object): compare their text then
        if not ours[column].equals(theirs[column]) and \
                ours[[column]].to_csv(index=False) != theirs[[column]].to_csv(index=False):
            return f"the values of column {column!r} differ"
    return None


def _frame_sha256(frame: pd.DataFrame) -> str:
    """How :func:`portfolio.load.load_portfolio` hashes a frame given to it directly."""
    text = frame.reset_index(drop=True).to_csv(index=False)
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
