"""Append-only, hash-chained audit log.

Each entry stores ``prev_hash`` (the previous entry's ``entry_hash``; 64 zeros for the first) and
``entry_hash`` = SHA-256 of the canonical JSON of all its fields including ``prev_hash``. The hash
and sequence number of the last entry are also kept in the ``settings`` table (``audit_head``) and
updated in the same transaction, so deleting the newest entries is detected too. Editing, deleting
or reordering any entry makes :func:`verify_chain` fail at the first bad entry.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from strategy import tables as t
from strategy.canonical import canonical_json, content_hash, sha256_hex

if TYPE_CHECKING:
    from strategy.auth import User
    from strategy.store import ReviewStore

GENESIS_HASH = "0" * 64
HEAD_KEY = "audit_head"

ACTIONS = ("run_registered", "proposed", "draft_saved", "edited", "approved", "rejected",
           "approval_voided", "overridden", "exported", "export_refused", "login", "login_failed",
           "logout", "kill_switch_on", "kill_switch_off", "user_added", "user_changed",
           "model_signed_off")

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
    return AuditEntry(**{**fields, "details": details or {}})


def read_head(conn: Connection, *, lock: bool = False) -> tuple[int, str]:
    """(seq, entry_hash) of the newest entry, read inside ``conn``'s transaction."""
    query = select(t.settings.c.value).where(t.settings.c.key == HEAD_KEY)
    seq, head = json.loads(conn.execute(query.with_for_update() if lock else query).scalar_one())
    return int(seq), str(head)


def verify_chain(store: "ReviewStore") -> VerifyResult:
    """Recompute the chain and compare it with the stored hashes and the recorded head.

    Returns
    -------
    VerifyResult
        ``ok=True`` when every entry's hash, link and sequence number is intact and the last entry
        is the recorded head; otherwise the first bad ``seq`` and what is wrong with it.
    """
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.audit_log).order_by(t.audit_log.c.seq)).all()
        head = conn.execute(select(t.settings.c.value)
                            .where(t.settings.c.key == HEAD_KEY)).scalar_one()
    prev, expected_seq = GENESIS_HASH, 1
    for row in rows:
        fields = dict(row._mapping)
        seq = fields["seq"]
        if seq != expected_seq:
            return VerifyResult(False, expected_seq, f"audit entry {expected_seq} is missing "
                                f"(found entry {seq} next): entries were deleted or reordered",
                                len(rows))
        if fields["prev_hash"] != prev:
            return VerifyResult(False, seq, f"audit entry {seq} ({fields['action']} by "
                                f"{fields['user']}) does not link to entry {seq - 1}: entries were "
                                "deleted, inserted or reordered", len(rows))
        if entry_hash(fields) != fields["entry_hash"]:
            return VerifyResult(False, seq, f"audit entry {seq} ({fields['action']} by "
                                f"{fields['user']}) was altered: its hash does not match its "
                                "content", len(rows))
        prev, expected_seq = fields["entry_hash"], seq + 1
    head_seq, head_hash = json.loads(head)
    if (head_seq, head_hash) != (expected_seq - 1, prev):
        bad = min(head_seq, expected_seq - 1) + 1 if head_seq != expected_seq - 1 else head_seq
        return VerifyResult(False, bad, f"the audit log ends at entry {expected_seq - 1} but the "
                            f"recorded head is entry {head_seq}: the newest entries were deleted "
                            "or altered", len(rows))
    return VerifyResult(True, None, f"audit log intact: {len(rows)} entries, head "
                        f"{prev[:12]}", len(rows), prev)


def initial_head() -> str:
    """Value of the ``audit_head`` setting for an empty log."""
    return json.dumps([0, GENESIS_HASH])


__all__ = ["AuditEntry", "VerifyResult", "append", "verify_chain", "entry_hash", "sha256_hex"]
