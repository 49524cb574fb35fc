"""Append-only, hash-chained audit log.

Each entry stores ``prev_hash`` (the previous entry's ``entry_hash``; 64 zeros for the first) and
``entry_hash`` = SHA-256 of the canonical JSON of all its fields including ``prev_hash``. The hash
and sequence number of the last entry are also kept in the ``settings`` table (``audit_head``) and
updated in the same transaction, and, once the transaction has committed, in a signed checkpoint
outside the database (:mod:`strategy.anchor`). Editing, deleting or reordering any entry makes
:func:`verify_chain` fail at the first bad entry; deleting the newest entries, rewriting the chain
with recomputed hashes or restoring an older copy of the database fails against the checkpoint.
Whether the tables agree with what the log says happened is :mod:`strategy.reconcile`'s job.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from core.i18n import N_
from strategy import tables as t
from strategy.canonical import canonical_json, content_hash, sha256_hex
from strategy.texts import Text

if TYPE_CHECKING:
    from strategy.auth import User
    from strategy.store import ReviewStore

GENESIS_HASH = "0" * 64
HEAD_KEY = "audit_head"

DATABASE_ID_KEY = "database_id"

ACTIONS = ("run_registered", "run_created", "persona_edited", "proposed", "draft_saved", "edited",
           "approved", "approval_refused", "rejected", "approval_voided", "overridden", "exported",
           "export_refused", "login", "login_failed", "login_refused", "logout", "session_ended",
           "kill_switch_on", "kill_switch_off", "user_added", "user_changed", "user_removed",
           "setup_token_issued", "model_signed_off", "veto_lifted", "override_approved",
           "override_declined", "account_cleared",
           # champion/challenger and next month's run (strategy.experiments, strategy.carry_over)
           "challenger_proposed", "challenger_approved", "challenger_approval_refused",
           "challenger_rejected", "challenger_ended", "carried_over", "sent_back_to_review",
           "veto_carried_over", "experiment_carried_over",
           # payments kept in a run folder (strategy.outcomes)
           "outcomes_loaded")

# Entries about someone who may have no right left (a refusal, a failed sign-in, a session that
# ended because the account was disabled); every other entry is an action its actor must still be
# entitled to, checked against the users table in the same transaction.
RECORDS_OF_ANYONE = ("login_failed", "login_refused", "logout", "session_ended", "approval_refused",
                     "export_refused", "challenger_approval_refused")

ENTRY_FIELDS = ("seq", "time", "user", "role", "action", "run_id", "persona_id", "content_hash",
                "details", "prev_hash")


@dataclass(frozen=True)
class AuditEntry:
    """One audit-log row; ``details`` is a dict (stored as canonical JSON)."""

    seq: int
    time: str
    user: str
    role: str
    action: str
    run_id: str | None
    persona_id: int | None
    content_hash: str | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str

    @classmethod
    def from_row(cls, row: Any) -> "AuditEntry":
        data = dict(row._mapping)
        data["details"] = json.loads(data["details"])
        return cls(**data)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_chain`: ``ok``, the first bad ``seq`` (or None) and a message."""

    ok: bool
    first_bad_seq: int | None
    message: str
    n_entries: int = 0
    head_hash: str = GENESIS_HASH
    anchored_seq: int | None = None


def now_utc() -> str:
    """Current time, UTC, ISO 8601 with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def entry_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the entry's fields (``details`` as its JSON text)."""
    return content_hash({name: fields[name] for name in ENTRY_FIELDS})


def append(conn: Connection, user: "User", action: str, *, run_id: str | None = None,
           persona_id: int | None = None, content: str | None = None,
           details: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry inside the caller's transaction (which must hold the write lock).

    ``content`` is the content hash the event is about (strategy, approval, export file).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if action not in RECORDS_OF_ANYONE:
        _check_actor(conn, user)
    head = conn.execute(select(t.settings.c.value).where(t.settings.c.key == HEAD_KEY)
                        .with_for_update()).scalar_one()
    head_seq, head_hash = json.loads(head)
    fields = {"seq": head_seq + 1, "time": now_utc(), "user": user.username, "role": user.role,
              "action": action, "run_id": run_id,
              "persona_id": None if persona_id is None else int(persona_id),
              "content_hash": content, "details": canonical_json(details or {}),
              "prev_hash": head_hash}
    fields["entry_hash"] = entry_hash(fields)
    conn.execute(insert(t.audit_log).values(**fields))
    conn.execute(update(t.settings).where(t.settings.c.key == HEAD_KEY).values(
        value=json.dumps([fields["seq"], fields["entry_hash"]]), updated_by=user.username,
        updated_at=fields["time"]))
    entry = AuditEntry(**{**fields, "details": details or {}})
    appended = conn.get_execution_options().get("audit_appended")
    if appended is not None:  # the store anchors the new head once the transaction commits
        appended.append(entry)
    return entry


def _check_actor(conn: Connection, user: "User") -> None:
    """A stored role acts only while the users table says the account exists, is enabled and
    holds that role: a session opened before a change cannot outlive it (the operating-system
    operator and the system are not stored users)."""
    from strategy.auth import ROLES, PermissionDenied

    if user.role not in ROLES:
        return
    row = conn.execute(select(t.users.c.role, t.users.c.disabled)
                       .where(t.users.c.username == user.username)).first()
    if row is None:
        raise PermissionDenied(f"{user.username} is no longer a user; sign in again")
    if row.disabled:
        raise PermissionDenied(f"{user.username}'s account is disabled")
    if row.role != user.role:
        raise PermissionDenied(f"{user.username} is {row.role} now, not {user.role}; sign in again")


def read_head(conn: Connection, *, lock: bool = False) -> tuple[int, str]:
    """(seq, entry_hash) of the newest entry, read inside ``conn``'s transaction."""
    query = select(t.settings.c.value).where(t.settings.c.key == HEAD_KEY)
    seq, head = json.loads(conn.execute(query.with_for_update() if lock else query).scalar_one())
    return int(seq), str(head)


def database_id(conn: Connection) -> str:
    """The random id of this review database (``settings.database_id``), naming its anchor."""
    return str(conn.execute(select(t.settings.c.value)
                            .where(t.settings.c.key == DATABASE_ID_KEY)).scalar_one())


def verify_chain(store: "ReviewStore") -> VerifyResult:
    """Recompute the chain and compare it with the stored hashes, the recorded head and the
    checkpoint anchored outside the database.

    Returns
    -------
    VerifyResult
        ``ok=True`` when every entry's hash, link and sequence number is intact, the last entry
        is the recorded head and the anchored entry is in the log unchanged; otherwise the first
        bad ``seq`` and what is wrong with it.
    """
    from strategy import anchor

    with store.engine.connect() as conn:
        rows = conn.execute(select(t.audit_log).order_by(t.audit_log.c.seq)).all()
        head = conn.execute(select(t.settings.c.value)
                            .where(t.settings.c.key == HEAD_KEY)).scalar_one()
        db_id = database_id(conn)
    prev, expected_seq, hashes = GENESIS_HASH, 1, {}
    for row in rows:
        fields = dict(row._mapping)
        seq = fields["seq"]
        if seq != expected_seq:
            return VerifyResult(False, expected_seq, Text(N_(
                "audit entry {expected} is missing (found entry {seq} next): entries were deleted or reordered"),
                expected=expected_seq, seq=seq), len(rows))
        if fields["prev_hash"] != prev:
            return VerifyResult(False, seq, Text(N_(
                "audit entry {seq} ({action} by {user}) does not link to entry {previous}: entries were deleted, "
                "inserted or reordered"), seq=seq, action=fields["action"], user=fields["user"], previous=seq - 1),
                len(rows))
        if entry_hash(fields) != fields["entry_hash"]:
            return VerifyResult(False, seq, Text(N_(
                "audit entry {seq} ({action} by {user}) was altered: its hash does not match its content"),
                seq=seq, action=fields["action"], user=fields["user"]), len(rows))
        prev, expected_seq = fields["entry_hash"], seq + 1
        hashes[seq] = prev
    last = expected_seq - 1
    head_seq, head_hash = json.loads(head)
    if (head_seq, head_hash) != (last, prev):
        bad = min(head_seq, last) + 1 if head_seq != last else head_seq
        return VerifyResult(False, bad, Text(N_(
            "the audit log ends at entry {last} but the recorded head is entry {head}: the newest entries were "
            "deleted or altered"), last=last, head=head_seq), len(rows))
    try:
        checkpoint = anchor.read_checkpoint(store.anchor_path)
    except anchor.AnchorError as err:
        return VerifyResult(False, None, str(err), len(rows))
    if checkpoint is None:
        if rows:
            return VerifyResult(False, None, Text(N_(
                "the audit log has {n} entries but no checkpoint exists at {path}: the anchor was deleted, the "
                "database was moved, or it was not written by this app ({env} names the anchor folder)"),
                n=len(rows), path=str(store.anchor_path), env=anchor.ANCHOR_DIR_ENV), len(rows))
    elif checkpoint.database_id != db_id:
        return VerifyResult(False, None, Text(N_(
            "the checkpoint at {path} belongs to database {anchored}, but this database says it is {current}: the "
            "database file was replaced or its id changed"), path=str(store.anchor_path),
            anchored=checkpoint.database_id, current=db_id), len(rows))
    elif checkpoint.seq > last:
        return VerifyResult(False, last + 1, Text(N_(
            "the audit log ends at entry {last} but entry {seq} was anchored at {time}: the newest entries were "
            "deleted or an older copy of the database was restored"), last=last, seq=checkpoint.seq,
            time=checkpoint.time), len(rows), prev, checkpoint.seq)
    elif hashes.get(checkpoint.seq) != checkpoint.entry_hash:
        return VerifyResult(False, checkpoint.seq, Text(N_(
            "audit entry {seq} differs from the one anchored at {time}: the log was rewritten (hashes recomputed) or "
            "replaced"), seq=checkpoint.seq, time=checkpoint.time), len(rows), prev, checkpoint.seq)
    anchored = None if checkpoint is None else checkpoint.seq
    return VerifyResult(True, None, f"audit log intact: {len(rows)} entries, head "
                        f"{prev[:12]}, anchored up to entry {anchored or 0}", len(rows), prev,
                        anchored)


def initial_head() -> str:
    """Value of the ``audit_head`` setting for an empty log."""
    return json.dumps([0, GENESIS_HASH])


__all__ = ["AuditEntry", "VerifyResult", "append", "verify_chain", "entry_hash", "sha256_hex"]
