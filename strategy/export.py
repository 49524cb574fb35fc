"""Export of approved persona -> strategy mappings: CSV, XLSX or JSON, with provenance.

Refused (:class:`ExportRefused`, one line per reason) while the kill switch is on, while any persona
of the run is not approved or its approval no longer matches, while a guardrail fails, while the
run's model is not signed off by compliance (``StrategySettings.require_model_sign_off``), and while
the audit log fails verification or disagrees with the tables (an approval without its ``approved``
entry, a kill switch flipped in the database: :mod:`strategy.reconcile`). The ``exported`` entry
records the file's SHA-256 and every approval hash, so ``personas audit verify --export FILE``
checks a file against the log (:mod:`strategy.export_check`). Written
atomically (temporary file, renamed by ``os.replace`` once the audit entry is committed), so a crash never leaves
a half-written file under the final name, and every export is an audit event with the file's hash.

* JSON: ``{"provenance": {...}, "personas": [...], "accounts": [...]}`` validated against
  ``docs/export_schema.json`` before writing.
* CSV: the table only (a dialler parses it as is) plus ``<name>.provenance.json`` beside it,
  which carries the CSV's SHA-256.
* XLSX: the table, a ``provenance`` sheet (key, value) and a ``persona_definitions`` sheet.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from glob import escape as glob_escape
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import jsonschema
import pandas as pd

from core.errors import UserError
from strategy import audit
from strategy.auth import User, require
from strategy.canonical import canonical_json, sha256_hex
from strategy.escape import escape_frame, xlsx_safe_cell
from strategy.export_tables import account_table, persona_table, provenance, to_json_records
from strategy.run_view import RunView, load_run_view

if TYPE_CHECKING:
    from strategy.store import ReviewStore

FORMATS = {"csv": "text/csv", "json": "application/json",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
LEVELS = ("personas", "accounts")
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "export_schema.json"
XLSX_CELL_LIMIT = 32_000


class ExportRefused(UserError):
    """The export is not allowed now; ``lines`` say why (unapproved personas, guardrails, kill switch)."""


@dataclass(frozen=True)
class ExportResult:
    """What was exported: the bytes (for a download button) and where they were written."""

    run_id: str
    format: str
    level: str
    filename: str
    mime: str
    content: bytes
    sha256: str
    rows: int
    provenance: dict[str, Any]
    path: Path | None = None
    provenance_path: Path | None = None
    audit_seq: int = 0
    provenance_content: bytes | None = field(default=None, repr=False)


@lru_cache(maxsize=1)
def export_schema() -> dict[str, Any]:
    """The published JSON schema of the JSON export (``docs/export_schema.json``)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def export_mappings(store: "ReviewStore", run: RunView | str | Path, actor: User, *, fmt: str,
                    out: str | Path | None = None, level: str = "personas",
                    portfolio: pd.DataFrame | None = None, include_columns: Sequence[str] = (),
                    settings: Any = None) -> ExportResult:
    """Export the approved mappings of ``run``.

    Parameters
    ----------
    store : ReviewStore
    run : RunView or path of a run directory
    actor : User
        The signed-in user (any role; the CLI operator without ``--user``). ``run`` and ``actor``
        are also accepted in the other order.
    fmt : {"csv", "xlsx", "json"}
    out : path, optional
        Where to write; ``None`` returns the bytes only (for a download button), still audited.
    level : {"personas", "accounts"}
        One row per persona, or one row per account with overrides applied.
    portfolio : DataFrame, optional
        Portfolio rows (``account_id`` + flags); enables per-account guardrails at account level.
    include_columns : sequence of str
        Portfolio columns (for example contact data, i.e. PII) to add at account level. Nothing
        from the portfolio is exported unless named here.

    Raises
    ------
    ExportRefused
        With one line per reason; the refusal itself is recorded in the audit log.
    """
    if isinstance(run, User):  # tolerate (store, user, run)
        run, actor = actor, run
    run = run if isinstance(run, RunView) else load_run_view(run)
    require(actor, "export")
    cfg = settings or store.settings
    if fmt not in FORMATS:
        raise UserError(f"export format {fmt!r} is not one of {', '.join(FORMATS)}")
    if level not in LEVELS:
        raise UserError(f"export level {level!r} is not one of {', '.join(LEVELS)}")
    missing = [c for c in include_columns if portfolio is None or c not in portfolio.columns]
    if missing:
        raise UserError(f"cannot include {', '.join(missing)}: not in the portfolio given")
    if portfolio is not None and "account_id" not in portfolio.columns:
        raise UserError("the portfolio has no account_id column")
    voided = store.revalidate_approvals(actor, run)
    temps: list[tuple[str, Path]] = []
    try:
        with store.transaction() as conn:  # holds the write lock: nothing changes meanwhile
            result = _export_locked(store, conn, run, actor, fmt, out, level, portfolio,
                                    list(include_columns), cfg, temps, voided)
        # The audit entry is committed before any file takes its final name: a crash in between
        # leaves an audited export without its file, never a file the audit log does not know.
        for temp, final in temps:
            os.replace(temp, final)
        temps.clear()
    except ExportRefused as refused:
        with store.transaction() as conn:
            audit.append(conn, actor, "export_refused", run_id=run.run_id,
                         details={"format": fmt, "level": level, "reasons": refused.lines})
        raise
    finally:
        for temp, _final in temps:
            Path(temp).unlink(missing_ok=True)
    return result


def _trail_refusals(store: "ReviewStore", run: RunView, cfg: Any) -> list[str]:
    """The audit trail must be intact, agree with the tables, and hold the run's sign-off."""
    from strategy.reconcile import reconcile, sign_off_entry

    verified = audit.verify_chain(store)
    if not verified.ok:
        return [f"the audit log failed verification ({verified.message}); exports are stopped "
                "until an administrator has investigated"]
    entries = store.audit_entries()
    lines = [f"the database and the audit log disagree: {line}" for line in reconcile(store, entries)]
    if getattr(cfg, "require_model_sign_off", True) and sign_off_entry(entries, run.run_id) is None:
        lines.append(f"the model and explanations of run {run.run_id} are not signed off by a "
                     "compliance reviewer (Audit page, or ask compliance)")
    return lines


def _refusals(store: "ReviewStore", run: RunView,
              portfolio: pd.DataFrame | None) -> tuple[list[str], dict[int, Any]]:
    lines = []
    switch = store.kill_switch()
    if switch.get("on"):
        lines.append(f"exports are stopped by the kill switch ({switch.get('updated_by')}: "
                     f"{switch.get('reason') or 'no reason given'})")
    mappings = {m.persona_id: m for m in store.list_mappings(run, portfolio)}
    for profile in run.profiles:
        pid, name = int(profile["persona_id"]), profile.get("name", "")
        mapping = mappings.get(pid)
        if mapping is None:
            lines.append(f"persona {pid} ({name}) has no strategy yet")
        elif mapping.state != "approved":
            lines.append(f"persona {pid} ({name}) is {mapping.state}, not approved")
        elif not mapping.approval_valid:
            lines.append(f"persona {pid} ({name}): the approval no longer matches its strategy "
                         "or persona definition")
        for result in (mapping.guardrails if mapping else []):
            if not result.passed:
                lines.append(f"persona {pid} ({name}): {result.message}")
    return lines, mappings


def _export_locked(store: "ReviewStore", conn: Any, run: RunView, actor: User, fmt: str,
                   out: str | Path | None, level: str, portfolio: pd.DataFrame | None,
                   include_columns: list[str], cfg: Any,
                   temps: list[tuple[str, Path]], voided: Sequence[int] = ()) -> ExportResult:
    lines, mappings = _refusals(store, run, portfolio)
    lines += _trail_refusals(store, run, cfg)
    lines = [f"persona {pid}: the approval was voided because the persona's definition or the accounts "
             "assigned to it changed since approval; a manager must review and approve it again"
             for pid in voided] + lines
    if lines:
        raise ExportRefused("export refused: " + "; ".join(lines), lines=lines)
    personas = persona_table(run, mappings)
    accounts = None
    if level == "accounts":
        accounts, problems = account_table(run, mappings, store.account_overrides(run.run_id),
                                           portfolio, include_columns, cfg)
        if problems:
            raise ExportRefused("export refused: " + "; ".join(problems), lines=problems)
    block = provenance(run, fmt=fmt, level=level, exported_by=actor.username, role=actor.role,
                       exported_at=audit.now_utc(), audit_head=audit.read_head(conn, lock=True),
                       run_info=store.run_info(run.run_id), include_columns=include_columns,
                       account_guardrails_checked=portfolio is not None)
    table = accounts if accounts is not None else personas
    content, sidecar = render(fmt, table, personas, accounts, block)
    digest = sha256_hex(content)
    stem = Path(out).name if out else f"{run.run_id}_{level}.{fmt}"
    path = Path(out) if out else None
    side_path = path.with_name(path.stem + ".provenance.json") if path and sidecar else None
    if path is not None:  # complete temporary files; the caller renames them after the commit
        temps.append((_write_temp(path, content), path))
        if side_path is not None:
            temps.append((_write_temp(side_path, sidecar), side_path))
    entry = audit.append(conn, actor, "exported", run_id=run.run_id, content=digest, details={
        "format": fmt, "level": level, "file": stem, "rows": int(len(table)),
        "personas": len(personas), "audit_head_sha256": block["audit_head_sha256"],
        "included_columns": include_columns,
        "approvals": {str(pid): m.approval_hash for pid, m in sorted(mappings.items())}})
    return ExportResult(run.run_id, fmt, level, stem, FORMATS[fmt], content, digest, int(len(table)),
                        block, path, side_path, entry.seq, sidecar)


def render(fmt: str, table: pd.DataFrame, personas: pd.DataFrame, accounts: pd.DataFrame | None,
           block: dict[str, Any]) -> tuple[bytes, bytes | None]:
    """File bytes of an export (and the CSV's provenance sidecar); text cells escaped in CSV/XLSX."""
    if fmt == "json":
        document = {"provenance": block, "personas": to_json_records(personas)}
        if accounts is not None:
            document["accounts"] = to_json_records(accounts)
        validate_document(document, accounts)
        return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"), None
    if fmt == "csv":
        content = escape_frame(table).to_csv(index=False, lineterminator="\r\n").encode("utf-8")
        sidecar = {**block, "csv_file_sha256": sha256_hex(content)}
        return content, json.dumps(sidecar, ensure_ascii=False, indent=2).encode("utf-8")
    return _xlsx(table, "accounts" if accounts is not None else "personas", block), None


def validate_document(document: dict[str, Any], accounts: pd.DataFrame | None = None) -> None:
    """Validate a JSON export against ``docs/export_schema.json``; :class:`UserError` if it fails.

    Account records differ mostly by ``account_id``; the schema has no constraint across fields
    of different records, so each distinct record (ignoring ``account_id``, which is checked on
    its own) is validated once instead of 100,000 times.
    """
    to_check = document
    if accounts is not None and len(accounts):
        ids = accounts["account_id"]
        if not all(isinstance(a, str) and a for a in ids):
            raise UserError("the export has an empty or non-text account_id")
        distinct = accounts.drop(columns="account_id").drop_duplicates().index
        to_check = {**document, "accounts": [document["accounts"][i] for i in distinct]}
    try:
        jsonschema.validate(to_check, export_schema())
    except jsonschema.ValidationError as err:
        raise UserError(f"the export does not match docs/export_schema.json: {err.message} "
                        f"at {'/'.join(map(str, err.absolute_path))}") from None


def _xlsx(table: pd.DataFrame, sheet: str, block: dict[str, Any]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    main = book.create_sheet(sheet)
    safe = escape_frame(table, xlsx_safe_cell)
    main.append(list(safe.columns))
    for row in safe.itertuples(index=False):
        main.append([None if _missing(v) else v for v in row])
    prov = book.create_sheet("provenance")
    prov.append(["key", "value"])
    for key, value in block.items():
        if key == "persona_definitions":
            continue
        text = value if isinstance(value, (str, int, float, bool)) or value is None \
            else canonical_json(value)
        prov.append([xlsx_safe_cell(key), xlsx_safe_cell(_clip(text))])
    defs = book.create_sheet("persona_definitions")
    defs.append(["persona_id", "definition_json"])
    for profile in block["persona_definitions"]:
        defs.append([profile.get("persona_id"), xlsx_safe_cell(_clip(canonical_json(profile)))])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > XLSX_CELL_LIMIT:
        return value[:XLSX_CELL_LIMIT] + " [cut: full text in the JSON export]"
    return value


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


STALE_TEMP_SECONDS = 600  # an export's own temporary file lives for seconds, never this long


def _sweep_stale_temps(final: Path) -> None:
    """Remove temporary files an earlier export of ``final`` left when it was killed (they may
    hold personal data): the same hidden name pattern, older than :data:`STALE_TEMP_SECONDS`."""
    import time

    for stale in final.parent.glob(f".{glob_escape(final.name)}.*.tmp"):
        try:
            if time.time() - stale.lstat().st_mtime > STALE_TEMP_SECONDS:
                stale.unlink()
        except OSError:
            continue


def _write_temp(final: Path, content: bytes) -> str:
    final.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale_temps(final)
    handle, temp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return temp
