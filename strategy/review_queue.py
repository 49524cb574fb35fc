"""Account-level review: overrides that need a second person, and the queue of held accounts.

Approving a persona's strategy is not a review of each of its accounts (GDPR Art. 22). Two things
keep an account out of an account-level export until a person has looked at it:

* an **account override** (another persona or strategy for one account) counts only once a second
  person approved it: :meth:`AccountReview.override_account` records it as *pending*,
  :meth:`AccountReview.approve_override` by a different manager or compliance reviewer (never the
  author, nor another identity of the same person) makes it count, and
  :meth:`AccountReview.decline_override` drops it;
* an account the plan marks ``needs_review`` is held until a manager or compliance reviewer who
  did not propose or last edit its persona's strategy clears it
  (:meth:`AccountReview.clear_account`). A clearance is bound to the strategy the account would
  receive then; a changed strategy needs a new look.

:func:`held_accounts` lists what an export must hold back, with the reason. Every override,
approval, decline and clearance is an audit entry, and only an approval or clearance with its
audit entry counts (a row written straight into the database does not).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, insert, or_, select, update

from core.errors import UserError
from core.i18n import N_
from strategy import audit
from strategy import tables as t
from strategy.auth import PermissionDenied, User, require
from strategy.catalogue import Strategy
from strategy.context import truthy
from strategy.texts import Term, Text, TextList

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from strategy.run_view import RunView
    from strategy.store import ReviewStore

#: Roles that may clear a needs_review account or approve another person's override.
ACCOUNT_REVIEW_ROLES = ("manager", "compliance")
OVERRIDE_STATUSES = ("pending", "approved", "declined", "superseded")
#: An override's status in words (the database keeps the keys).
OVERRIDE_STATUS_WORDS = {"pending": N_("pending"), "approved": N_("approved"), "declined": N_("declined"),
                         "superseded": N_("superseded")}
HELD_COLUMNS = ["account_id", "reason"]
#: Why the persona model flags an account (the plan's ``review_reason`` when no account plan is at hand).
PERSONA_UNCERTAIN = N_("persona assignment uncertain")


def _review_reasons() -> dict[str, Any]:
    from strategy.account_plan import REVIEW_TEXTS

    return {str(text): text for text in (*REVIEW_TEXTS, Text(PERSONA_UNCERTAIN))}


class _Reasons(dict):
    """English review reasons -> their texts (built on first use: the account plan imports this module's
    neighbours)."""

    def get(self, key, default=None):  # noqa: D401
        if not self:
            self.update(_review_reasons())
        return super().get(key, default)


REVIEW_REASONS = _Reasons()
OVERRIDE_COLUMNS = ["id", "run_id", "account_id", "persona_id", "strategy_version_id", "reason",
                    "created_by", "created_at", "status", "decided_by", "decided_at",
                    "decision_reason", "strategy"]
CLEARANCE_COLUMNS = ["id", "run_id", "account_id", "persona_id", "strategy_sha256", "reason",
                     "cleared_by", "cleared_at"]


class AccountReview:
    """Override and review-queue methods of :class:`strategy.store.ReviewStore`."""

    engine: "Engine"

    # --- overrides ----------------------------------------------------------------------------
    def override_account(self, actor: User, run: "RunView", account_id: str, *, reason: str,
                         persona_id: int | None = None, strategy: Strategy | None = None) -> int:
        """Propose another persona and/or strategy for one account (manager or compliance, reason
        required). It is *pending* until a second person approves it (:meth:`approve_override`);
        an earlier pending override of the account is superseded. Returns the override's id."""
        require(actor, "override")
        if not (reason or "").strip():
            raise UserError(Text(N_("an account override needs a reason")))
        if persona_id is None and strategy is None:
            raise UserError(Text(N_("an override changes the persona, the strategy, or both")))
        if persona_id is not None:
            run.profile(persona_id)
        account_id = str(account_id).strip()
        if account_id not in set(run.accounts["account_id"]):
            raise UserError(Text(N_("account {account} is not in run {run}"), account=account_id, run=run.run_id))
        with self._write() as conn:
            self._ensure_run(conn, actor, run)
            version_id = None
            if strategy is not None:
                version_id = self._insert_version(conn, actor, run.run_id, -1, strategy, [])
            superseded = [r.id for r in conn.execute(select(t.account_overrides.c.id).where(
                t.account_overrides.c.run_id == run.run_id,
                t.account_overrides.c.account_id == account_id, _pending()))]
            if superseded:
                conn.execute(update(t.account_overrides)
                             .where(t.account_overrides.c.id.in_(superseded))
                             .values(status="superseded"))
            override_id = int(conn.execute(insert(t.account_overrides).values(
                run_id=run.run_id, account_id=account_id, persona_id=persona_id,
                strategy_version_id=version_id, reason=reason.strip(), created_by=actor.username,
                created_at=audit.now_utc(), status="pending")).inserted_primary_key[0])
            audit.append(conn, actor, "overridden", run_id=run.run_id, persona_id=persona_id,
                         content=strategy.content_hash() if strategy else None,
                         details={"account_id": account_id, "reason": reason.strip(),
                                  "override_id": override_id, "status": "pending",
                                  "superseded": superseded})
        return override_id

    def approve_override(self, actor: User, run: "RunView", override_id: int,
                         note: str = "") -> dict[str, Any]:
        """The second person approves a pending override (manager or compliance, not its author
        nor another identity of the author's person); from now on the export applies it. A refused
        attempt is an audit entry too."""
        try:
            return self._decide_override(actor, run, int(override_id), "approved", note)
        except UserError as refused:
            with self._write() as conn:
                audit.append(conn, actor or User("(not signed in)", "unknown"), "approval_refused",
                             run_id=run.run_id,
                             details={"override_id": int(override_id), "reasons": refused.english_lines})
            raise

    def decline_override(self, actor: User, run: "RunView", override_id: int,
                         reason: str) -> dict[str, Any]:
        """Drop a pending override (manager or compliance, the author too: a withdrawal); the
        account then follows its persona's strategy again. A reason is required."""
        if not (reason or "").strip():
            raise UserError(Text(N_("declining an override needs a reason")))
        return self._decide_override(actor, run, int(override_id), "declined", reason.strip())

    def _decide_override(self, actor: User, run: "RunView", override_id: int, status: str,
                         note: str) -> dict[str, Any]:
        require(actor, "override")
        with self._write() as conn:
            row = conn.execute(select(t.account_overrides).where(
                t.account_overrides.c.id == override_id,
                t.account_overrides.c.run_id == run.run_id)).first()
            if row is None:
                raise UserError(Text(N_("run {run} has no account override {override}"), run=run.run_id,
                                     override=override_id))
            row = dict(row._mapping)
            current = row["status"] or "pending"
            if current != "pending":
                state = override_status_text(current)
                raise UserError(Text(N_("override {override} of account {account} is {state} already (by {user})"),
                                     override=override_id, account=row["account_id"], state=state,
                                     user=row["decided_by"]) if row["decided_by"] else
                                Text(N_("override {override} of account {account} is {state} already"),
                                     override=override_id, account=row["account_id"], state=state))
            if status == "approved" and self._same_person(conn, actor.username, row["created_by"]):
                raise UserError(Text(N_("{user} recorded override {override} (or is the same person); a second "
                                        "person must approve it (four-eyes principle)"),
                                     user=actor.username, override=override_id))
            if status == "approved":
                self._check_override_strategy(conn, run, row)
            now = audit.now_utc()
            conn.execute(update(t.account_overrides).where(t.account_overrides.c.id == override_id)
                         .values(status=status, decided_by=actor.username, decided_at=now,
                                 decision_reason=note or None))
            audit.append(conn, actor, "override_approved" if status == "approved"
                         else "override_declined", run_id=run.run_id, persona_id=row["persona_id"],
                         details={"override_id": override_id, "account_id": row["account_id"],
                                  "created_by": row["created_by"], "note": note})
        return {**row, "status": status, "decided_by": actor.username, "decided_at": now,
                "decision_reason": note or None}

    def _check_override_strategy(self, conn: Connection, run: "RunView",
                                 row: dict[str, Any]) -> None:
        """An override strategy must pass the persona-level guardrails before it can count."""
        from portfolio.currency import currency_of_run
        from strategy.context import context_from_profile, roles_of_run
        from strategy.guardrails import check_strategy, violations

        if row["strategy_version_id"] is None:
            return
        strategy = Strategy.from_dict(json.loads(self._version(conn, row["strategy_version_id"])
                                                 ["content"]))
        pid = row["persona_id"] if row["persona_id"] is not None else \
            run.persona_of(row["account_id"])
        if pid is None:
            return
        context = context_from_profile(run.profile(pid), None, self.settings,
                                       roles_of_run(run.meta), currency_of_run(run.meta))
        failed = violations(check_strategy(strategy, context, self.settings))
        if failed:
            raise UserError(Text(N_("override {override} cannot be approved: its strategy fails a guardrail"),
                                 override=row["id"]),
                            lines=[Text(N_("override {override}: {problem}"), override=row["id"], problem=r.message)
                                   for r in failed])

    def override_list(self, run_id: str, status: str | None = None) -> pd.DataFrame:
        """Overrides of the run (oldest first) with their status and the strategy dict;
        ``status`` one of :data:`OVERRIDE_STATUSES` to filter (pending includes rows from before
        overrides needed a second person)."""
        query = (select(t.account_overrides, t.strategy_versions.c.content)
                 .outerjoin(t.strategy_versions,
                            t.account_overrides.c.strategy_version_id == t.strategy_versions.c.id)
                 .where(t.account_overrides.c.run_id == run_id).order_by(t.account_overrides.c.id))
        if status == "pending":
            query = query.where(_pending())
        elif status is not None:
            if status not in OVERRIDE_STATUSES:
                raise UserError(Text(N_("override status {status} is not one of {allowed}"),
                                     status=repr(status), allowed=", ".join(OVERRIDE_STATUSES)))
            query = query.where(t.account_overrides.c.status == status)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for row in rows:
            content = row.pop("content")
            row["strategy"] = json.loads(content) if content else None
            row["status"] = row["status"] or "pending"
        return pd.DataFrame.from_records(rows, columns=OVERRIDE_COLUMNS)

    def account_overrides(self, run_id: str) -> pd.DataFrame:
        """The overrides that count (approved by a second person), latest per account last; what an
        account-level export applies. Pending ones: :meth:`pending_overrides`."""
        return self.override_list(run_id, "approved")

    def pending_overrides(self, run_id: str) -> pd.DataFrame:
        """Overrides waiting for a second person."""
        return self.override_list(run_id, "pending")

    # --- needs_review accounts ------------------------------------------------------------------
    def clear_account(self, actor: User, run: "RunView", account_id: str, reason: str) -> int:
        """A person looked at a ``needs_review`` account and lets it go out with the strategy it
        would receive now (manager or compliance who did not propose or last edit its persona's
        strategy; reason required). Returns the clearance id."""
        if actor is None or actor.role not in ACCOUNT_REVIEW_ROLES:
            who = "nobody signed in" if actor is None else f"{actor.username} ({actor.role})"
            raise PermissionDenied(f"{who} may not clear an account for export; this needs the "
                                   f"role {' or '.join(ACCOUNT_REVIEW_ROLES)}")
        if not (reason or "").strip():
            raise UserError(Text(N_("clearing an account needs a reason (what you checked)")))
        account_id = str(account_id).strip()
        persona_id = run.persona_of(account_id)
        if persona_id is None:
            raise UserError(Text(N_("account {account} is not in run {run}"), account=account_id, run=run.run_id))
        with self._write() as conn:
            self._ensure_run(conn, actor, run)
            approved = self._latest_approved_override(conn, run.run_id, account_id)
            if approved is not None and approved["persona_id"] is not None:
                persona_id = int(approved["persona_id"])
            mapping = self._row(conn, run.run_id, persona_id)
            for other in {mapping["proposed_by"], mapping["last_edited_by"]} if mapping else ():
                if other and self._same_person(conn, actor.username, other):
                    raise UserError(Text(N_("{user} proposed or last edited persona {persona}'s strategy; someone "
                                            "else must review account {account} (four-eyes principle)"),
                                         user=actor.username, persona=persona_id, account=account_id))
            strategy_hash = _effective_hash(conn, approved, mapping)
            clearance_id = int(conn.execute(insert(t.account_clearances).values(
                run_id=run.run_id, account_id=account_id, persona_id=persona_id,
                strategy_sha256=strategy_hash, reason=reason.strip(), cleared_by=actor.username,
                cleared_at=audit.now_utc())).inserted_primary_key[0])
            audit.append(conn, actor, "account_cleared", run_id=run.run_id, persona_id=persona_id,
                         content=strategy_hash,
                         details={"account_id": account_id, "reason": reason.strip(),
                                  "clearance_id": clearance_id})
        return clearance_id

    def account_clearances(self, run_id: str) -> pd.DataFrame:
        """Clearances of needs_review accounts in the run (oldest first)."""
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                select(t.account_clearances).where(t.account_clearances.c.run_id == run_id)
                .order_by(t.account_clearances.c.id))]
        return pd.DataFrame.from_records(rows, columns=CLEARANCE_COLUMNS)

    def effective_strategy_hashes(self, run_id: str
                                  ) -> tuple[dict[int, str], dict[str, str | None]]:
        """({persona_id: current strategy hash}, {account_id: hash of its latest approved
        override's strategy, or None}): what a clearance must still match."""
        with self.engine.connect() as conn:
            personas = {int(r.persona_id): r.content_hash for r in conn.execute(
                select(t.mappings.c.persona_id, t.strategy_versions.c.content_hash)
                .join(t.strategy_versions,
                      t.mappings.c.strategy_version_id == t.strategy_versions.c.id)
                .where(t.mappings.c.run_id == run_id))}
            # The latest approved override of an account wins (as at export); one without a
            # strategy (a persona move only) maps to None: the persona's strategy applies.
            accounts = {r.account_id: r.content_hash for r in conn.execute(
                select(t.account_overrides.c.account_id, t.strategy_versions.c.content_hash)
                .outerjoin(t.strategy_versions,
                      t.account_overrides.c.strategy_version_id == t.strategy_versions.c.id)
                .where(t.account_overrides.c.run_id == run_id,
                       t.account_overrides.c.status == "approved")
                .order_by(t.account_overrides.c.id))}
        return personas, accounts

    @staticmethod
    def _latest_approved_override(conn: Connection, run_id: str,
                                  account_id: str) -> dict[str, Any] | None:
        row = conn.execute(select(t.account_overrides).where(
            t.account_overrides.c.run_id == run_id, t.account_overrides.c.account_id == account_id,
            t.account_overrides.c.status == "approved")
            .order_by(t.account_overrides.c.id.desc())).first()
        return None if row is None else dict(row._mapping)


def held_accounts(store: "ReviewStore", run_id: str, plan: pd.DataFrame) -> pd.DataFrame:
    """Accounts of ``plan`` an account-level export must not send, with the reason.

    Parameters
    ----------
    store : ReviewStore
    run_id : str
    plan : DataFrame
        One row per account: ``account_id``, ``persona_id``, ``needs_review`` (bool or a yes/no
        flag; missing column: none needs review) and optionally ``review_reason``.

    Returns
    -------
    DataFrame
        Columns ``account_id`` (str), ``reason`` (str), in plan order: accounts with an override
        waiting for its second person, and ``needs_review`` accounts no person has cleared for the
        strategy they would receive now.
    """
    if plan is None or plan.empty:
        return pd.DataFrame(columns=HELD_COLUMNS)
    ids = plan["account_id"].astype(str)
    reasons: dict[str, list[str]] = {}
    pending = store.pending_overrides(run_id)
    for row in pending.itertuples(index=False):
        reasons.setdefault(str(row.account_id), []).append(
            Text(N_("override {id} by {user} waits for a second person to approve it"), id=row.id,
                 user=row.created_by))
    unaudited = _unaudited_decisions(store, run_id)
    for row in store.account_overrides(run_id).itertuples(index=False):
        if int(row.id) in unaudited["override"]:
            reasons.setdefault(str(row.account_id), []).append(
                Text(N_("override {id} is marked approved by {user} but the audit log records no such approval"),
                     id=row.id, user=row.decided_by))
    if "needs_review" in plan.columns:
        flagged = _flags(plan["needs_review"])
        if flagged.any():
            _needs_review_reasons(store, run_id, plan[flagged], unaudited["clearance"], reasons)
    out = [(a, TextList(dict.fromkeys(reasons[a]), "; ")) for a in dict.fromkeys(ids) if a in reasons]
    return pd.DataFrame(out, columns=HELD_COLUMNS)


def _needs_review_reasons(store: "ReviewStore", run_id: str, flagged: pd.DataFrame,
                          unaudited: set[int], reasons: dict[str, list[str]]) -> None:
    personas, overridden = store.effective_strategy_hashes(run_id)
    latest = {str(r.account_id): r for r in store.account_clearances(run_id).itertuples(index=False)
              if int(r.id) not in unaudited}
    why = flagged["review_reason"] if "review_reason" in flagged.columns else \
        pd.Series("", index=flagged.index)
    for account_id, persona_id, review_reason in zip(flagged["account_id"].astype(str),
                                                     flagged["persona_id"], why):
        text = str(review_reason).strip() if isinstance(review_reason, str) else ""
        shown = review_reason if hasattr(review_reason, "render") else REVIEW_REASONS.get(text, text)
        flagged_as = Text(N_("needs review ({why})"), why=shown) if text else Text(N_("needs review"))
        clearance = latest.get(account_id)
        expected = overridden.get(account_id) or personas.get(_int_or_none(persona_id))
        if clearance is None:
            reasons.setdefault(account_id, []).append(
                Text(N_("{flagged}: not yet cleared by a person"), flagged=flagged_as))
        elif clearance.strategy_sha256 != expected:
            reasons.setdefault(account_id, []).append(
                Text(N_("{flagged}: cleared by {user} at {time} for a strategy that has changed since; needs a new "
                        "look"), flagged=flagged_as, user=clearance.cleared_by, time=clearance.cleared_at))


def _unaudited_decisions(store: "ReviewStore", run_id: str) -> dict[str, set[int]]:
    """Override approvals and clearances in the tables that the audit log does not record."""
    logged_overrides = {(e.details.get("override_id"), e.user) for e in
                        store.audit_entries(action="override_approved", run_id=run_id)}
    logged_clearances = {(e.details.get("clearance_id"), e.user) for e in
                         store.audit_entries(action="account_cleared", run_id=run_id)}
    overrides = {int(r.id) for r in store.account_overrides(run_id).itertuples(index=False)
                 if (int(r.id), r.decided_by) not in logged_overrides}
    clearances = {int(r.id) for r in store.account_clearances(run_id).itertuples(index=False)
                  if (int(r.id), r.cleared_by) not in logged_clearances}
    return {"override": overrides, "clearance": clearances}


def review_plan(run: "RunView", store: "ReviewStore | None" = None) -> pd.DataFrame:
    """The run's accounts as a minimal plan (account_id, persona_id, needs_review,
    review_reason) from the persona assignment's own ``needs_review`` flag, for when no
    account plan (:mod:`strategy.account_plan`) is at hand. With ``store``, an approved override's
    persona replaces the assigned one (as at export)."""
    accounts = run.accounts
    flag = _flags(accounts["needs_review"]) if "needs_review" in accounts.columns \
        else np.zeros(len(accounts), dtype=bool)
    plan = pd.DataFrame({"account_id": accounts["account_id"].astype(str).to_numpy(),
                         "persona_id": accounts["persona_id"].astype(int).to_numpy(),
                         "needs_review": flag,
                         "review_reason": np.where(flag, PERSONA_UNCERTAIN, "")})
    if store is not None:
        latest = {str(r.account_id): r.persona_id for r in
                  store.account_overrides(run.run_id).itertuples(index=False)}  # later rows win
        moved = {a: int(p) for a, p in latest.items() if pd.notna(p)}
        if moved:
            plan["persona_id"] = [moved.get(a, p) for a, p in zip(plan["account_id"],
                                                                   plan["persona_id"])]
    return plan


def _flags(values: pd.Series) -> np.ndarray:
    """A needs_review column as booleans (bool dtype as is; yes/no tokens read by the flag model)."""
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).to_numpy(dtype=bool)
    return truthy(values.fillna(False)).to_numpy(dtype=bool)


def _pending():
    return or_(t.account_overrides.c.status.is_(None), t.account_overrides.c.status == "pending")


def _effective_hash(conn: Connection, approved: dict[str, Any] | None,
                    mapping: dict[str, Any] | None) -> str | None:
    version_id = (approved or {}).get("strategy_version_id") or \
        (mapping or {}).get("strategy_version_id")
    if version_id is None:
        return None
    return conn.execute(select(t.strategy_versions.c.content_hash)
                        .where(t.strategy_versions.c.id == version_id)).scalar()


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def override_change(override: Any) -> str:
    """What an account override changes, in words ("persona 3, channel letter"); ``override`` is a row
    of ``store.override_list`` (a named tuple or a dict). A :class:`~strategy.texts.TextList`: the
    English words, ``render()`` in the reader's language."""
    get = override.get if isinstance(override, dict) else lambda name: getattr(override, name, None)
    persona, strategy = get("persona_id"), get("strategy")
    change = []
    if persona is not None and persona == persona:  # NaN when the override keeps the persona
        change.append(Text(N_("persona {persona}"), persona=str(int(persona))))
    if isinstance(strategy, dict):
        change.append(Text(N_("channel {channel}"), channel=Term(str(strategy.get("channel")))))
    return TextList(change, ", ")


def override_status_text(status: Any) -> Any:
    """An override's status as a text in the reader's language (an unknown status as it is)."""
    key = str(status)
    return Text(OVERRIDE_STATUS_WORDS[key]) if key in OVERRIDE_STATUS_WORDS else key
