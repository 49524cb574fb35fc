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
  ``docs/export_schema.json`` before writing; each account lists its dated ``steps``.
* Account level: built from the account plan (:mod:`strategy.account_plan`) on exactly the run's
  stored portfolio; refused when the run keeps none or a portfolio given differs from it.
  Accounts the review queue holds (``needs_review`` not yet cleared, overrides waiting for a
  second person: :func:`strategy.review_queue.held_accounts`) are left out and listed in
  :attr:`ExportResult.held` and the provenance block.
* CSV: the table only (a dialler parses it as is) plus ``<name>.provenance.json`` beside it,
  which carries the CSV's SHA-256.
* XLSX: the table, a ``provenance`` sheet (key, value) and a ``persona_definitions`` sheet.
* Champion/challenger: a persona's *approved* experiment (:mod:`strategy.experiments`) splits its
  accounts into arms by a seeded hash of the account id (:mod:`strategy.arms`); every account row
  carries ``arm`` and ``experiment_id``, challenger-arm accounts start from the challenger's journey,
  holdout accounts get no collection contact, and all pass the same account rules. Persona rows
  and ``provenance.experiments`` describe each experiment. An approved experiment whose approval no
  longer matches, whose challenger fails a guardrail or whose challengers are vetoed stops the export.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from glob import escape as glob_escape
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import jsonschema
import pandas as pd

from core.errors import UserError
from core.i18n import N_
from strategy import audit
from strategy.auth import User, require
from strategy.canonical import canonical_json, sha256_hex
from strategy.escape import escape_frame, xlsx_safe_cell
from strategy.export_tables import (account_table, flat_cells, override_problems, persona_table, plan_inputs,
                                    provenance, run_portfolio, to_json_records)
from strategy.clock import utc_now
from strategy.run_view import RunView, load_run_view
from strategy.texts import Term, Text, TextList

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
    held: tuple[dict[str, str], ...] = ()
    plan_summary: dict[str, Any] | None = None


@lru_cache(maxsize=1)
def export_schema() -> dict[str, Any]:
    """The published JSON schema of the JSON export (``docs/export_schema.json``)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def export_mappings(store: "ReviewStore", run: RunView | str | Path, actor: User, *, fmt: str,
                    out: str | Path | None = None, level: str = "personas",
                    portfolio: Any = None, include_columns: Sequence[str] = (),
                    settings: Any = None, start: date | None = None,
                    rulepack: Any = None) -> ExportResult:
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
        One row per persona, or one row per account: the steps it receives after every account
        rule, approved overrides applied, held accounts left out (:mod:`strategy.account_plan`).
    portfolio : DataFrame or loaded portfolio, optional
        At account level only compared with the run's stored portfolio (which is what is used):
        a different one is refused. It supplies ``include_columns`` the stored copy leaves out.
        At persona level it feeds the guardrails when the run keeps no portfolio.
    include_columns : sequence of str
        Portfolio columns (for example contact data, i.e. PII) to add at account level. Nothing
        from the portfolio is exported unless named here.
    start : date, optional
        Day 0 of every account's journey (default: today, UTC).
    rulepack : RulePack, optional
        The account rules and contact policy (default: the workspace's, see :func:`rulepack_for`).

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
    given = getattr(portfolio, "frame", portfolio)
    if given is not None and "account_id" not in given.columns:
        raise UserError("the portfolio has no account_id column")
    voided = store.revalidate_approvals(actor, run)
    temps: list[tuple[str, Path]] = []
    try:
        frame, portfolio_lines = _portfolio_for(run, portfolio, level)
        available = set(frame.columns if frame is not None else ()) | set(
            given.columns if given is not None else ())
        missing = [c for c in include_columns if c not in available]
        if missing:
            raise UserError(f"cannot include {', '.join(missing)}: not in the run's portfolio nor in "
                            "the portfolio given")
        account_inputs = _AccountInputs(frame, given, start or utc_now().date(),
                                        rulepack or rulepack_for(run, cfg)) \
            if level == "accounts" and not portfolio_lines else None
        with store.transaction() as conn:  # holds the write lock: nothing changes meanwhile
            result = _export_locked(store, conn, run, actor, fmt, out, level,
                                    frame if frame is not None else given,
                                    list(include_columns), cfg, temps, voided, account_inputs,
                                    portfolio_lines)
        # The audit entry is committed before any file takes its final name: a crash in between
        # leaves an audited export without its file, never a file the audit log does not know.
        for temp, final in temps:
            os.replace(temp, final)
        temps.clear()
    except ExportRefused as refused:
        with store.transaction() as conn:
            audit.append(conn, actor, "export_refused", run_id=run.run_id,
                         details={"format": fmt, "level": level, "reasons": refused.english_lines})
        raise
    finally:
        for temp, _final in temps:
            Path(temp).unlink(missing_ok=True)
    return result


def _portfolio_for(run: RunView, portfolio: Any, level: str) -> tuple[pd.DataFrame | None, list[str]]:
    """The run's stored portfolio (checked against ``portfolio`` when given) and the refusal lines:
    at account level a run without one is refused; at any level a portfolio that is not the run's."""
    if level != "accounts" and getattr(run, "portfolio", None) is None:
        return None, []
    return run_portfolio(run, portfolio)


@dataclass(frozen=True)
class _AccountInputs:
    frame: pd.DataFrame | None
    given: pd.DataFrame | None
    start: date
    rulepack: Any


def rulepack_for(run: RunView, settings: Any = None) -> Any:
    """The rulepack of an export, built with the workspace settings: ``PERSONAS_RULEPACK``, the
    settings' ``rulepack``, else German (:func:`strategy.rulepacks.rulepack_choice`)."""
    from strategy.rulepacks import active_rulepack

    return active_rulepack(run.meta, settings)


def _held(store: "ReviewStore", run_id: str, plan: pd.DataFrame) -> pd.DataFrame:
    """Accounts the review queue holds back (H3's :func:`strategy.review_queue.held_accounts`)."""
    from strategy.review_queue import held_accounts

    return held_accounts(store, run_id, plan)


def _account_level(store: "ReviewStore", run: RunView, mappings: dict[int, Any], inputs: _AccountInputs,
                   include_columns: list[str], cfg: Any, experiments: dict[int, Any] | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """(exported account table, held accounts, provenance additions); ExportRefused on problems.

    Accounts of a persona with an approved experiment are split into arms by
    :func:`strategy.arms.arms_of_accounts` (seeded by the experiment id); challenger-arm accounts
    start from the challenger's journey, holdout accounts get no collection contact."""
    from portfolio.currency import currency_of_run
    from strategy.account_plan import plan_accounts, plan_summary
    from strategy.arms import arms_of_accounts
    from strategy.context import roles_of_run
    from strategy.experiments import arm_config

    accounts, strategies, account_strategies, overrides, missing = plan_inputs(
        run, mappings, store.account_overrides(run.run_id), inputs.frame)
    problems = override_problems(run, inputs.frame, overrides, cfg)
    if missing:
        problems.append(f"{len(missing)} accounts of run {run.run_id} are not in its stored portfolio "
                        f"(e.g. {', '.join(map(str, missing[:3]))}): the run folder is inconsistent")
    if problems:
        raise ExportRefused("export refused: " + "; ".join(problems), lines=problems)
    meanings = getattr(run, "meanings", None) or roles_of_run(run.meta)
    experiments = experiments or {}
    arms = arms_of_accounts(accounts, {pid: arm_config(e) for pid, e in experiments.items()})
    plan = plan_accounts(strategies, accounts, meanings, inputs.rulepack, inputs.start,
                         account_strategies=account_strategies, settings=cfg,
                         currency=currency_of_run(run.meta), arms=arms.tolist(),
                         challenger_strategies={pid: e.challenger for pid, e in experiments.items()})
    held = _held(store, run.run_id, plan)
    held_ids = set(held["account_id"].astype(str))
    sent = plan[~plan["account_id"].isin(held_ids)].reset_index(drop=True)
    include = inputs.given if inputs.given is not None and all(
        c in inputs.given.columns for c in include_columns) else inputs.frame
    if include is not None:
        include = include.assign(account_id=include["account_id"].astype(str))
    table = account_table(run, sent, mappings, overrides, account_strategies, include, include_columns,
                          experiments)
    block = {"rulepack": getattr(inputs.rulepack, "name", None), "journey_start": inputs.start.isoformat(),
             "account_plan": plan_summary(plan),
             "held_accounts": [{"account_id": str(a), "reason": str(r)}
                               for a, r in zip(held["account_id"], held["reason"])]}
    return table, held, block


def _trail_refusals(store: "ReviewStore", run: RunView, cfg: Any) -> list[str]:
    """The audit trail must be intact, agree with the tables, and hold the run's sign-off."""
    from strategy.reconcile import reconcile, sign_off_entry

    verified = audit.verify_chain(store)
    if not verified.ok:
        return [Text(N_("the audit log failed verification ({problem}); exports are stopped until an administrator "
                        "has investigated"), problem=verified.message)]
    entries = store.audit_entries()
    lines = [Text(N_("the database and the audit log disagree: {problem}"), problem=line)
             for line in reconcile(store, entries)]
    if getattr(cfg, "require_model_sign_off", True) and sign_off_entry(entries, run.run_id) is None:
        lines.append(Text(N_("the model and explanations of run {run} are not signed off by a compliance reviewer "
                             "(Audit page, or ask compliance)"), run=run.run_id))
    return lines


def _refusals(store: "ReviewStore", run: RunView,
              portfolio: pd.DataFrame | None) -> tuple[list[str], dict[int, Any]]:
    lines = []
    switch = store.kill_switch()
    if switch.get("on"):
        lines.append(Text(N_("exports are stopped by the kill switch ({user}: {reason})"),
                          user=switch.get("updated_by"),
                          reason=switch.get("reason") or Text(N_("no reason given"))))
    mappings = {m.persona_id: m for m in store.list_mappings(run, portfolio)}
    for profile in run.profiles:
        pid, name = int(profile["persona_id"]), profile.get("name", "")
        mapping = mappings.get(pid)
        if mapping is None:
            lines.append(Text(N_("persona {id} ({name}) has no strategy yet"), id=pid, name=name))
        elif mapping.state != "approved":
            lines.append(Text(N_("persona {id} ({name}) is {state}, not approved"), id=pid, name=name,
                              state=Term(mapping.state)))
        elif not mapping.approval_valid:
            lines.append(Text(N_("persona {id} ({name}): the approval no longer matches its strategy or persona "
                                 "definition"), id=pid, name=name))
        for result in (mapping.guardrails if mapping else []):
            if not result.passed:
                lines.append(Text("{persona}: {message}", persona=Text(N_("persona {id} ({name})"), id=pid, name=name),
                                  message=result.message))
    return lines, mappings


def _experiments(store: "ReviewStore", run: RunView,
                 portfolio: pd.DataFrame | None) -> tuple[list[str], dict[int, Any]]:
    """The run's approved experiments and why they stop the export: an approval that no longer
    matches (persona definition or accounts changed), a challenger failing a guardrail, a veto.
    Proposed, rejected and ended experiments are not applied (all accounts follow the champion)."""
    lines, approved = [], {}
    for pid, experiment in store.list_experiments(run, portfolio).items():
        if experiment.state != "approved":
            continue
        where = Text(N_("persona {id}: the challenger of experiment {experiment}"), id=pid,
                     experiment=experiment.experiment_id)
        if not experiment.approval_valid:
            lines.append(Text(N_("{where} is approved for another persona definition or other accounts; a manager "
                                 "must review and approve it again (or end it)"), where=where))
        if experiment.veto is not None and experiment.veto.active:
            lines.append(Text("{where}: {veto}", where=where, veto=experiment.veto.statement()))
        lines += [Text("{where}: {message}", where=where, message=r.message)
                  for r in experiment.guardrails if not r.passed]
        approved[pid] = experiment
    return lines, approved


def _export_locked(store: "ReviewStore", conn: Any, run: RunView, actor: User, fmt: str,
                   out: str | Path | None, level: str, portfolio: pd.DataFrame | None,
                   include_columns: list[str], cfg: Any,
                   temps: list[tuple[str, Path]], voided: Sequence[int] = (),
                   account_inputs: _AccountInputs | None = None,
                   portfolio_lines: Sequence[str] = ()) -> ExportResult:
    lines, mappings = _refusals(store, run, portfolio)
    experiment_lines, experiments = _experiments(store, run, portfolio)
    lines += experiment_lines + _trail_refusals(store, run, cfg) + list(portfolio_lines)
    lines = [Text(N_("persona {id}: the approval was voided because the persona's definition or the accounts "
                     "assigned to it changed since approval; a manager must review and approve it again"), id=pid)
             for pid in voided] + lines
    if lines:
        raise ExportRefused(Text(N_("export refused: {reasons}"), reasons=TextList(lines, "; ")), lines=lines)
    personas = persona_table(run, mappings, experiments)
    accounts, held, plan_block = None, None, None
    if level == "accounts":
        accounts, held, plan_block = _account_level(store, run, mappings, account_inputs, include_columns,
                                                    cfg, experiments)
    block = provenance(run, fmt=fmt, level=level, exported_by=actor.username, role=actor.role,
                       exported_at=audit.now_utc(), audit_head=audit.read_head(conn, lock=True),
                       run_info=store.run_info(run.run_id), include_columns=include_columns,
                       account_guardrails_checked=accounts is not None, account_plan=plan_block,
                       experiments=experiments)
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
        **({} if plan_block is None else {"rulepack": plan_block["rulepack"],
                                          "journey_start": plan_block["journey_start"],
                                          "held_accounts": len(plan_block["held_accounts"])}),
        "approvals": {str(pid): m.approval_hash for pid, m in sorted(mappings.items())},
        "experiments": {str(pid): {"experiment_id": e.experiment_id, "approval": e.approval_hash}
                        for pid, e in sorted(experiments.items())}})
    return ExportResult(run.run_id, fmt, level, stem, FORMATS[fmt], content, digest, int(len(table)),
                        block, path, side_path, entry.seq, sidecar,
                        tuple(plan_block["held_accounts"]) if plan_block else (),
                        plan_block["account_plan"] if plan_block else None)


def render(fmt: str, table: pd.DataFrame, personas: pd.DataFrame, accounts: pd.DataFrame | None,
           block: dict[str, Any]) -> tuple[bytes, bytes | None]:
    """File bytes of an export (and the CSV's provenance sidecar); text cells escaped in CSV/XLSX."""
    if fmt == "json":
        document = {"provenance": block, "personas": to_json_records(personas)}
        if accounts is not None:
            document["accounts"] = to_json_records(accounts)
        validate_document(document, accounts)
        return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"), None
    table = flat_cells(table)
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
    records = document.get("accounts")
    if records:
        if not all(isinstance(r.get("account_id"), str) and r.get("account_id") for r in records):
            raise UserError("the export has an empty or non-text account_id")
        distinct: dict[str, dict[str, Any]] = {}
        for record in records:
            distinct.setdefault(canonical_json({k: v for k, v in record.items() if k != "account_id"}),
                                record)
        to_check = {**document, "accounts": list(distinct.values())}
    try:
        jsonschema.validate(to_check, export_schema())
    except jsonschema.ValidationError as err:
        raise UserError(f"the export does not match docs/export_schema.json: {err.message} "
                        f"at {'/'.join(map(str, err.absolute_path))}") from None
    problems = arm_problems(document)
    if problems:
        raise UserError("the export's arms are inconsistent: " + "; ".join(problems[:5]), lines=problems)


#: What a holdout account may still receive: what the debtor is owed, never collection.
HOLDOUT_ACTIONS = frozenset({"clarification", "referral", "stop"})


def arm_problems(document: dict[str, Any]) -> list[str]:
    """Checks across records the schema cannot express: an account outside the champion arm belongs
    to an experiment of the provenance block and its persona; a holdout account receives no
    collection step and says so in ``rules_applied``."""
    experiments = {(e["persona_id"], e["experiment_id"])
                   for e in (document.get("provenance") or {}).get("experiments") or []}
    out = []
    for record in document.get("accounts") or []:
        arm, where = record.get("arm", "champion"), f"account {record.get('account_id')}"
        if arm == "champion" and record.get("experiment_id") is None:
            continue
        if (record.get("persona_id"), record.get("experiment_id")) not in experiments:
            out.append(f"{where} is in arm {arm} of experiment {record.get('experiment_id')}, which the "
                       "provenance does not list for its persona")
        if arm == "holdout" and not record.get("override"):
            collection = sorted({s["action"] for s in record.get("steps") or []} - HOLDOUT_ACTIONS)
            if collection or "holdout" not in (record.get("rules_applied") or []):
                out.append(f"{where} is in the holdout but receives {', '.join(collection) or 'no holdout rule'}")
    return out


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
