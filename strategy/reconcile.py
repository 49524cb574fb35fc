"""Do the tables say what the audit log says happened?

The hash chain proves the log was not rewritten; it says nothing about rows written straight into
the other tables. Anyone who can write the database file could insert an approval, flip the kill
switch, add an administrator or replace a password hash without an audit entry. This module replays
the log and compares:

* **users**: who exists, with which role, enabled or not, and the SHA-256 of each stored credential
  (recorded in ``user_added`` / ``user_changed``);
* **kill switch**: on or off as the newest ``kill_switch_on``/``kill_switch_off`` entry says;
* **approvals**: every mapping in state ``approved`` must have, as its newest decision entry, an
  ``approved`` entry by the same manager with the same approval hash;
* **model sign-offs**: a run marked signed off must have a ``model_signed_off`` entry by that
  compliance reviewer.

``personas audit verify`` and the Audit page report each difference; export refuses while there is
any (:func:`strategy.export.export_mappings`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from core.i18n import N_
from strategy import tables as t
from strategy.texts import Text
from strategy.users import credential_digest

if TYPE_CHECKING:
    from strategy.audit import AuditEntry
    from strategy.store import ReviewStore

# Entries that decide a mapping's state; the newest one is what the mapping must show.
DECISIONS = ("draft_saved", "proposed", "edited", "approved", "rejected", "approval_voided",
             "carried_over", "sent_back_to_review")
#: Decisions that leave a mapping approved: a manager's approval, or that approval carried to next
#: month's run (:mod:`strategy.carry_over`; the entry names the approving manager).
APPROVING = ("approved", "carried_over")
_UNKNOWN = object()  # credential of an entry written before credentials were recorded


@dataclass(frozen=True)
class Decision:
    """The newest decision entry of one persona's mapping."""

    seq: int
    action: str
    user: str
    content_hash: str | None


def latest_decisions(entries: list["AuditEntry"], run_id: str | None = None
                     ) -> dict[tuple[str, int], Decision]:
    """``{(run_id, persona_id): newest decision}`` from the log (optionally of one run)."""
    out: dict[tuple[str, int], Decision] = {}
    for e in entries:
        if e.action in DECISIONS and e.persona_id is not None and e.run_id \
                and (run_id is None or e.run_id == run_id):
            user = e.details.get("approved_by", e.user) if e.action == "carried_over" else e.user
            out[(e.run_id, int(e.persona_id))] = Decision(e.seq, e.action, user, e.content_hash)
    return out


def approval_problems(store: "ReviewStore", entries: list["AuditEntry"],
                      run_id: str | None = None) -> list[str]:
    """Approved mappings without a matching ``approved`` entry (one line each)."""
    decisions = latest_decisions(entries, run_id)
    query = select(t.mappings).where(t.mappings.c.state == "approved")
    if run_id is not None:
        query = query.where(t.mappings.c.run_id == run_id)
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(t.mappings.c.run_id, t.mappings.c.persona_id)).all()
    lines = []
    for row in rows:
        latest = decisions.get((row.run_id, int(row.persona_id)))
        where = Text(N_("persona {id} of run {run}"), id=row.persona_id, run=row.run_id)
        if latest is None or latest.action not in APPROVING:
            lines.append(Text(N_("{where} is approved in the database (by {user}) but the audit log records no such "
                                 "approval{newest}"), where=where, user=row.approved_by,
                              newest=Text(N_(" (its newest decision is {action} by {user})"), action=latest.action,
                                          user=latest.user) if latest else ""))
        elif latest.content_hash != row.approval_hash or latest.user != row.approved_by:
            lines.append(Text(N_("{where}: the approval in the database (by {user}, {hash}) differs from audit entry "
                                 "{seq} (by {logged_by}, {logged_hash})"), where=where, user=row.approved_by,
                              hash=str(row.approval_hash)[:12], seq=latest.seq, logged_by=latest.user,
                              logged_hash=str(latest.content_hash)[:12]))
    return lines


#: Entries that decide an experiment's state (:mod:`strategy.experiment_workflow`).
EXPERIMENT_DECISIONS = ("challenger_proposed", "challenger_approved", "challenger_rejected",
                        "challenger_ended", "experiment_carried_over")


def experiment_problems(store: "ReviewStore", entries: list["AuditEntry"]) -> list[str]:
    """Approved experiments without a matching ``challenger_approved`` (or carried) entry."""
    latest: dict[tuple[str, int], "AuditEntry"] = {}
    for e in entries:
        if e.action in EXPERIMENT_DECISIONS and e.run_id and e.persona_id is not None:
            latest[(e.run_id, int(e.persona_id))] = e
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.experiments).where(t.experiments.c.state == "approved")
                            .order_by(t.experiments.c.run_id, t.experiments.c.persona_id)).all()
    lines = []
    for row in rows:
        entry = latest.get((row.run_id, int(row.persona_id)))
        approver = None if entry is None else (
            entry.details.get("approved_by") if entry.action == "experiment_carried_over" else entry.user)
        if entry is None or entry.action not in ("challenger_approved", "experiment_carried_over") \
                or entry.content_hash != row.approval_hash or approver != row.approved_by:
            lines.append(Text(N_("the experiment of persona {id} of run {run} is approved in the database (by {user}) "
                                 "but the audit log records no such approval"), id=row.persona_id, run=row.run_id,
                              user=row.approved_by))
    return lines


def sign_off_entry(entries: list["AuditEntry"], run_id: str) -> "AuditEntry | None":
    """The newest ``model_signed_off`` entry of the run by a compliance reviewer, or ``None``."""
    found = None
    for e in entries:
        if e.action == "model_signed_off" and e.run_id == run_id and e.role == "compliance":
            found = e
    return found


def _sign_off_problems(store: "ReviewStore", entries: list["AuditEntry"]) -> list[str]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.runs).where(t.runs.c.model_signed_off_by.is_not(None))).all()
    lines = []
    for row in rows:
        entry = sign_off_entry(entries, row.run_id)
        if entry is None or entry.user != row.model_signed_off_by:
            lines.append(Text(N_("run {run} is marked as signed off by {user} but the audit log records no such "
                                 "sign-off"), run=row.run_id, user=row.model_signed_off_by))
    return lines


def _kill_switch_problems(store: "ReviewStore", entries: list["AuditEntry"]) -> list[str]:
    expected, reason, seq = False, "", None
    for e in entries:
        if e.action in ("kill_switch_on", "kill_switch_off"):
            expected, reason, seq = e.action == "kill_switch_on", e.details.get("reason", ""), e.seq
    actual = store.kill_switch()
    if bool(actual.get("on")) != expected:
        said = (Text(N_("entry {seq} turned it on"), seq=seq) if expected else
                Text(N_("entry {seq} turned it off"), seq=seq)) if seq else Text(N_("it was never switched"))
        message = (N_("the kill switch is on in the database but the audit log says it is off ({said})")
                   if actual.get("on") else
                   N_("the kill switch is off in the database but the audit log says it is on ({said})"))
        return [Text(message, said=said)]
    if expected and actual.get("reason", "") != reason:
        return [Text(N_("the kill switch's reason in the database differs from the audit log's"))]
    return []


def _expected_users(entries: list["AuditEntry"]) -> dict[str, dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    for e in entries:
        name = e.details.get("username") if isinstance(e.details, dict) else None
        if e.action == "user_added" and name:
            users[name] = {"role": e.details.get("role"), "disabled": False,
                           "credential": e.details.get("credential", _UNKNOWN)}
        elif e.action == "user_changed" and name in users:
            users[name].update(e.details.get("after") or {})
            if "credential" in e.details:
                users[name]["credential"] = e.details["credential"]
            elif "password" in (e.details.get("changed") or []):
                users[name]["credential"] = _UNKNOWN
        elif e.action == "user_removed" and name:
            users.pop(name, None)
    return users


def _user_problems(store: "ReviewStore", entries: list["AuditEntry"]) -> list[str]:
    expected = _expected_users(entries)
    with store.engine.connect() as conn:
        rows = {r.username: r for r in conn.execute(select(t.users)).all()}
    lines = []
    for name in sorted(set(expected) | set(rows)):
        want, row = expected.get(name), rows.get(name)
        if want is None:
            lines.append(Text(N_("user {name} ({role}) is in the users table but no audit entry added them"),
                              name=name, role=row.role))
        elif row is None:
            lines.append(Text(N_("user {name} is missing from the users table but no audit entry removed them"),
                              name=name))
        elif row.role != want["role"] or bool(row.disabled) != bool(want["disabled"]):
            lines.append(f"user {name} is {row.role}{', disabled' if row.disabled else ''} in the "
                         f"users table but the audit log says {want['role']}"
                         f"{', disabled' if want['disabled'] else ''}")
        elif want["credential"] is not _UNKNOWN and \
                credential_digest(row.password_hash) != want["credential"]:
            lines.append(Text(N_("user {name}'s password hash was replaced without an audit entry"), name=name))
    return lines


def reconcile(store: "ReviewStore", entries: list["AuditEntry"] | None = None) -> list[str]:
    """Every difference between the tables and the audit log, one line each (empty: none)."""
    entries = store.audit_entries() if entries is None else entries
    return (_user_problems(store, entries) + _kill_switch_problems(store, entries)
            + approval_problems(store, entries) + _sign_off_problems(store, entries)
            + experiment_problems(store, entries))
