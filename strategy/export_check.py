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
from core.i18n import N_
from strategy.audit import verify_chain
from strategy.reconcile import DECISIONS
from strategy.texts import Term, Text

if TYPE_CHECKING:
    from strategy.audit import AuditEntry
    from strategy.store import ReviewStore


@dataclass
class ExportCheck:
    """What :func:`check_export` found: ``ok`` and one line per finding (``lines``: each a
    :class:`~strategy.texts.Text`, the English line that ``render()`` writes in the reader's language)."""

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
            return str(sidecar["csv_file_sha256"]), Text(N_("the CSV described by {file}"), file=path.name)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise UserError(Text(N_("{file} is not a provenance file written by this app"), file=str(path))) from None
    return _digest(path), path.name


def check_export(store: "ReviewStore", file: str | Path) -> ExportCheck:
    """Check ``file`` (an export or its provenance sidecar) against the audit log."""
    path = Path(file)
    if not path.is_file():
        raise UserError(Text(N_("there is no file {file}"), file=str(path)))
    chain = verify_chain(store)
    if not chain.ok:
        return ExportCheck(False, [Text(N_("the audit log failed verification: {problem}"), problem=chain.message)])
    digest, what = _target_digest(path)
    entries = store.audit_entries()
    exports = [e for e in entries if e.action == "exported" and e.content_hash == digest]
    if not exports:
        return ExportCheck(False, [Text(N_("{what} (sha256 {digest}) matches no export in the audit log: it was "
                                           "changed after export, or not exported from this database"),
                                        what=what, digest=digest[:12])])
    entry = exports[-1]
    lines: list[str] = [Text(N_("{what} is export entry {seq}: run {run}, {format} {level}, {rows} rows, by {user} "
                                "({role}) at {time}"), what=what, seq=entry.seq, run=entry.run_id,
                             format=str(entry.details.get("format")), level=str(entry.details.get("level")),
                             rows=str(entry.details.get("rows")), user=entry.user, role=entry.role,
                             time=str(entry.time))]
    if entry.details.get("level") == "accounts" and "rulepack" in entry.details:
        lines.append(Text(N_("account rules of the {rulepack} rulepack applied, journeys from {start}; {held} "
                             "accounts held back for a person's review (listed in the file's provenance)"),
                          rulepack=str(entry.details["rulepack"]), start=str(entry.details.get("journey_start")),
                          held=str(entry.details.get("held_accounts", 0))))
    approvals = entry.details.get("approvals")
    if approvals is None:
        return ExportCheck(False, lines + [Text(N_("the export entry lists no approvals (written by an older "
                                                   "version); its approvals cannot be checked"))], entry)
    problems = _approval_problems(entries, entry, approvals) + _experiment_problems(entries, entry)
    if problems:
        return ExportCheck(False, lines + problems, entry)
    lines.append(Text(N_("its {n} approvals match approved entries of the log"), n=str(len(approvals))))
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
            problems.append(Text(N_("persona {persona}: the exported approval {approval} is not the approval in "
                                    "force at export time (the log shows {found})"), persona=pid_text,
                                 approval=str(approval)[:12], found=_found(decision)))
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
            problems.append(Text(N_("persona {persona}: the exported experiment {experiment} is not the experiment "
                                    "approval in force at export time (the log shows {found})"), persona=pid_text,
                                 experiment=str(applied.get("experiment_id")), found=_found(decision)))
    return problems


def _found(decision: "AuditEntry | None") -> Text:
    """What the log shows in force: nothing, or the decision's action, user and entry."""
    if decision is None:
        return Text(N_("nothing"))
    return Text(N_("{action} by {user} (entry {seq})"), action=Term(decision.action), user=decision.user,
                seq=str(decision.seq))
