"""Payments kept in the run folder they judge: ``outcomes/payments-<n>.parquet`` plus a JSON note.

Every ``outcomes load`` adds a new numbered load (``payments-1``, ``payments-2`` ...) through
:func:`runs.folder.attach`, so the run stays signed and verifiable and nothing loaded before is
changed. The read-out reads all loads together. Two rules keep the sum honest:

* a file whose bytes were loaded before (same SHA-256) is refused;
* rows of a new load that repeat a row of an earlier load (same account, date and amount, counted
  with multiplicity) are left out and reported: overlapping exports would otherwise count a payment
  twice. Repeats *within* one file are kept (two equal payments on a day can be real) and reported
  by :func:`portfolio.payments.load_payments`.

Each load's note (``payments-<n>.json``) records the source file's name and SHA-256, when it was
loaded, the rows read, used and left out, and the payments for accounts the run does not hold.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from core.errors import UserError
from core.i18n import N_
from portfolio.payments import ACCOUNT_ID, AMOUNT, COLUMNS, PAID_ON, PaymentsFile
from runs import RunFolder, open_run
from runs.folder import OUTCOMES, attach
from strategy.texts import Text

_LOAD = re.compile(rf"^{OUTCOMES}/payments-(\d+)\.parquet$")


@dataclass(frozen=True)
class SavedOutcomes:
    """What one ``outcomes load`` did (for the command line and the app)."""

    path: Path  #: the Parquet file written in the run folder
    load: int  #: its number (1 for the first load)
    note: dict  #: the load's JSON note (file, sha256, rows, overlap, accounts not in the run)

    def lines(self) -> list[str]:
        note = self.note
        rows = note["rows"]
        out = [Text(N_("saved as {file} (load {load}); the read-out reads every load of this run together, and a "
                       "file already loaded is refused"), file=f"{OUTCOMES}/{self.path.name}", load=self.load)]
        out.append(Text(N_("{saved:,} payments saved for {accounts:,} of the run's accounts ({payments:,} payments), "
                           "total {total:,.2f}"), saved=int(rows["saved"]), accounts=int(note["accounts_in_run"]),
                        payments=int(note["payments_in_run"]), total=float(note["total_amount"])))
        if rows["repeated_earlier_loads"]:
            out.append(Text(N_("warning: {n:,} rows repeat payments of an earlier load (same account, date and amount) "
                               "and were left out: the exports overlap"), n=int(rows["repeated_earlier_loads"])))
        if note["payments_not_in_run"]:
            out.append(Text(N_("warning: {payments:,} payments are for {accounts:,} accounts this run does not hold (e.g. "
                               "{examples}); kept, but the read-out ignores them"),
                            payments=int(note["payments_not_in_run"]), accounts=int(note["accounts_not_in_run"]),
                            examples=", ".join(note["examples_not_in_run"])))
        return out


def save_outcomes(run_dir: str | Path | RunFolder, payments: PaymentsFile, *,
                  now: datetime | None = None) -> Path:
    """Keep ``payments`` in the run folder as the next load; return the Parquet file's path.

    Raises
    ------
    UserError
        When the same file was loaded before, no row is new, or none of its accounts is in the run.
    """
    return save_outcomes_report(run_dir, payments, now=now).path


def save_outcomes_report(run_dir: str | Path | RunFolder, payments: PaymentsFile, *,
                         now: datetime | None = None) -> SavedOutcomes:
    """Like :func:`save_outcomes`, returning what was saved and left out (:class:`SavedOutcomes`)."""
    folder = run_dir if isinstance(run_dir, RunFolder) else open_run(run_dir)
    folder = open_run(folder.path)  # fresh: another load may have been attached since it was opened
    notes = load_notes(folder)
    for note in notes:
        if note.get("sha256") == payments.sha256:
            raise UserError(Text(N_("{file}: this file (SHA-256 {sha}…) was loaded into run {run} already as load {load} "
                                    "({name}, {time}); it is not loaded twice. Load only new payment files."),
                                 file=payments.source_name, sha=payments.sha256[:12], run=folder.run_id,
                                 load=note["load"], name=note.get("file"), time=note.get("loaded_at")))
    earlier = read_outcomes(folder)
    frame = payments.frame[list(COLUMNS)].copy()
    frame, repeated = _without_earlier_rows(frame, earlier)
    if frame.empty:
        raise UserError(Text(N_("{file}: every payment in it was loaded before (same account, date and amount as an "
                                "earlier load of run {run}); nothing was saved."), file=payments.source_name,
                             run=folder.run_id))
    accounts = set(folder.read_parquet("accounts.parquet", columns=["account_id"])["account_id"].astype(str))
    in_run = frame[ACCOUNT_ID].isin(accounts)
    if not in_run.any():
        examples = ", ".join(frame[ACCOUNT_ID].drop_duplicates().head(3))
        raise UserError(Text(N_("{file}: none of its {n:,} account ids (e.g. {examples}) is an account of run {run}; "
                                "wrong run or wrong file? Nothing was saved."), file=payments.source_name,
                             n=int(frame[ACCOUNT_ID].nunique()), examples=examples, run=folder.run_id))
    load = max((int(n["load"]) for n in notes), default=0) + 1
    outside = frame.loc[~in_run, ACCOUNT_ID]
    note = {
        "load": load, "file": payments.source_name, "sha256": payments.sha256,
        "loaded_at": (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "columns": dict(payments.columns),
        "rows": {**payments.report.rows_section(), "repeated_earlier_loads": int(repeated), "saved": int(len(frame))},
        "first_date": _iso(frame[PAID_ON].min()), "last_date": _iso(frame[PAID_ON].max()),
        "total_amount": round(float(frame[AMOUNT].sum()), 2),
        "payments_in_run": int(in_run.sum()), "accounts_in_run": int(frame.loc[in_run, ACCOUNT_ID].nunique()),
        "payments_not_in_run": int((~in_run).sum()), "accounts_not_in_run": int(outside.nunique()),
        "examples_not_in_run": [str(v) for v in outside.drop_duplicates().head(3)],
        "warnings": [p.message for p in payments.report.warnings],
    }
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    stem = f"{OUTCOMES}/payments-{load}"
    attached = attach(folder.path, {f"{stem}.parquet": buffer.getvalue(),
                                    f"{stem}.json": json.dumps(note, indent=1, ensure_ascii=False).encode("utf-8")})
    return SavedOutcomes(attached.path / f"{stem}.parquet", load, note)


def keep_payments(run: object, source: object, *, filename: str, store: object, actor: object,
                  **options: object) -> SavedOutcomes:
    """Check a payments file, keep it in ``run``'s folder as the next load and record the load in the audit
    log of ``store`` as ``actor``: what the app's KPIs page and ``personas outcomes load`` both do.
    ``source`` is a path, bytes or a binary file; ``options`` go to :func:`portfolio.payments.load_payments`."""
    from portfolio.payments import load_payments

    saved = save_outcomes_report(_folder(run), load_payments(source, filename=filename, **options))
    store.record_outcomes(actor, run if hasattr(run, "profiles") else _view(run), saved.note)
    return saved


def _view(run: object):
    from strategy.run_view import load_run_view

    return load_run_view(_folder(run))


def load_notes(run: object) -> list[dict]:
    """The notes of every load of a run (verified), in load order."""
    folder = _folder(run)
    loads = sorted(int(m.group(1)) for m in (_LOAD.match(name) for name in folder.files) if m)
    return [folder.read_json(f"{OUTCOMES}/payments-{n}.json") for n in loads
            if folder.has(f"{OUTCOMES}/payments-{n}.json")]


def read_outcomes(run: object) -> pd.DataFrame | None:
    """Every payment loaded into the run (all loads; verified), or ``None`` when none was loaded.

    Parameters
    ----------
    run : RunFolder, RunView (anything with a ``folder``) or a path

    Returns
    -------
    DataFrame
        ``account_id`` (str), ``paid_on`` (datetime64[ns]), ``amount`` (float) and ``load`` (int).
    """
    folder = _folder(run)
    loads = sorted((int(m.group(1)), name) for name in folder.files if (m := _LOAD.match(name)))
    if not loads:
        return None
    parts = []
    for number, name in loads:
        frame = folder.read_parquet(name)
        frame[ACCOUNT_ID] = frame[ACCOUNT_ID].astype(str)
        frame[PAID_ON] = pd.to_datetime(frame[PAID_ON]).astype("datetime64[ns]")
        frame[AMOUNT] = frame[AMOUNT].astype("float64")
        parts.append(frame[list(COLUMNS)].assign(load=number))
    return pd.concat(parts, ignore_index=True)


def _folder(run: object) -> RunFolder:
    if isinstance(run, RunFolder):
        return run
    folder = getattr(run, "folder", None)
    if isinstance(folder, RunFolder):
        return folder
    if isinstance(run, (str, Path)):
        return open_run(run)
    raise UserError(f"cannot read outcomes of a {type(run).__name__}; give a run folder.")


def _without_earlier_rows(frame: pd.DataFrame, earlier: pd.DataFrame | None) -> tuple[pd.DataFrame, int]:
    """``frame`` without rows that repeat rows of earlier loads (counted with multiplicity)."""
    if earlier is None or earlier.empty:
        return frame.reset_index(drop=True), 0
    keys = list(COLUMNS)
    old = earlier[keys].assign(_k=earlier.groupby(keys, sort=False).cumcount())
    new = frame.assign(_k=frame.groupby(keys, sort=False).cumcount())
    merged = new.merge(old.assign(_seen=True), on=keys + ["_k"], how="left")
    seen = merged["_seen"].fillna(False).astype(bool).to_numpy()
    return frame[~seen].reset_index(drop=True), int(seen.sum())


def _iso(value: object) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()
