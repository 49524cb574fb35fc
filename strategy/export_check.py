"""Check an exported file against the audit log (``personas audit verify --export FILE``).

A file passes when the audit log is intact, an ``exported`` entry carries the file's SHA-256 (so
not one byte changed since export), and every approval that entry lists matches an ``approved``
entry of the same run and persona with the same approval hash, written before the export and not
undone (edited, rejected, voided) in between. A CSV's provenance sidecar is checked through the CSV
it names. For an account-level export the check also says which rulepack's account rules were
applied and how many accounts were held back for review.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import UserError
from strategy.audit import verify_chain
from strategy.reconcile import DECISIONS

if TYPE_CHECKING:
    from strategy.audit import AuditEntry
    from strategy.store import ReviewStore


@dataclass
class ExportCheck:
    """What :func:`check_export` found: ``ok`` and one line per finding (``lines``)."""

    ok: bool
    lines: list[str] = field(default_factory=list)
    entry: "AuditEntry | None" = None


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _target_digest(path: Path) -> tuple[str, str]:
    """(SHA-256 to look up, what it is): a provenance sidecar stands for the CSV it names."""
    if path.name.endswith(".provenance.json"):
        try:
            sidecar = json.loads(path.read_text(encoding="utf-8"))
            return str(sidecar["csv_file_sha256"]), f"the CSV described by {path.name}"
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise UserError(f"{path} is not a provenance file written by this app") from None
    return _digest(path), path.name


def check_export(store: "ReviewStore", file: str | Path) -> ExportCheck:
    """Check ``file`` (an export or its provenance sidecar) against the audit log."""
    path = Path(file)
    if not path.is_file():
        raise UserError(f"there is no file {path}")
    chain = verify_chain(store)
    if not chain.ok:
        return ExportCheck(False, [f"the audit log failed verification: {chain.message}"])
    digest, what = _target_digest(path)
    entries = store.audit_entries()
    exports = [e for e in entries if e.action == "exported" and e.content_hash == digest]
    if not exports:
        return ExportCheck(False, [f"{what} (sha256 {digest[:12]}) matches no export in the audit "
                                   "log: it was changed after export, or not exported from this "
                                   "database"])
    entry = exports[-1]
    lines = [f"{what} is export entry {entry.seq}: run {entry.run_id}, {entry.details.get('format')}"
             f" {entry.details.get('level')}, {entry.details.get('rows')} rows, by {entry.user} "
             f"({entry.role}) at {entry.time}"]
    if entry.details.get("level") == "accounts" and "rulepack" in entry.details:
        lines.append(f"account rules of the {entry.details['rulepack']} rulepack applied, journeys from "
                     f"{entry.details.get('journey_start')}; {entry.details.get('held_accounts', 0)} "
                     "accounts held back for a person's review (listed in the file's provenance)")
    approvals = entry.details.get("approvals")
    if approvals is None:
        return ExportCheck(False, lines + ["the export entry lists no approvals (written by an "
                                           "older version); its approvals cannot be checked"], entry)
    problems = _approval_problems(entries, entry, approvals) + _experiment_problems(entries, entry)
    if problems:
        return ExportCheck(False, lines + problems, entry)
    lines.append(f"its {len(approvals)} approvals match approved entries of the log")
    return ExportCheck(True, lines, entry)


def _approval_problems(entries: list["AuditEntry"], export: "AuditEntry",
                       approvals: dict[str, str]) -> list[str]:
    latest: dict[int, "AuditEntry"] = {}
    for e in entries:
        if e.seq >= export.seq:
            break
        if e.run_id == export.run_id and e.action in DECISIONS and e.persona_id is not None:
            latest[int(e.persona_id)] = e
    problems = []
    for pid_text, approval in sorted(approvals.items(), key=lambda kv: int(kv[0])):
        decision = latest.get(int(pid_text))
        if decision is None or decision.action not in ("approved", "carried_over") or decision.content_hash != approval:
            found = "nothing" if decision is None else \
                f"{decision.action} by {decision.user} (entry {decision.seq})"
            problems.append(f"persona {pid_text}: the exported approval {str(approval)[:12]} is "
                            f"not the approval in force at export time (the log shows {found})")
    return problems


def _experiment_problems(entries: list["AuditEntry"], export: "AuditEntry") -> list[str]:
    """Each experiment the export applied matches the experiment approval in force at export time."""
    from strategy.reconcile import EXPERIMENT_DECISIONS

    latest: dict[int, "AuditEntry"] = {}
    for e in entries:
        if e.seq >= export.seq:
            break
        if e.run_id == export.run_id and e.action in EXPERIMENT_DECISIONS and e.persona_id is not None:
            latest[int(e.persona_id)] = e
    problems = []
    for pid_text, applied in sorted((export.details.get("experiments") or {}).items(),
                                    key=lambda kv: int(kv[0])):
        decision = latest.get(int(pid_text))
        if decision is None or decision.action not in ("challenger_approved", "experiment_carried_over") \
                or decision.content_hash != applied.get("approval"):
            found = "nothing" if decision is None else f"{decision.action} by {decision.user} (entry {decision.seq})"
            problems.append(f"persona {pid_text}: the exported experiment {applied.get('experiment_id')} is not "
                            f"the experiment approval in force at export time (the log shows {found})")
    return problems
