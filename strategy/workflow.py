"""Persona -> strategy mappings under four-eyes review (mixed into :class:`ReviewStore`).

States: ``draft`` -> ``proposed`` -> ``approved`` | ``rejected`` (reason required) -> proposed
again by a new proposal or edit. The user who proposed or last edited a mapping never approves it;
only managers approve; managers and compliance reject. A compliance rejection is a *veto* (also of
an approved mapping): it stands across every later version of that persona's mapping in the run,
the same content proposed again or a changed one, until a compliance reviewer lifts it
(:meth:`MappingWorkflow.lift_veto`, audited). An approval is bound to SHA-256 of (strategy content,
persona definition, run id, account assignment), the mapping's *version hash*; an edit or a changed
persona definition voids it. Every save and every approval passes the version (or version hash)
the user was shown; a stale one raises :class:`StaleMappingError` naming the current version and
changes nothing. Per-account overrides and the review queue live in :mod:`strategy.review_queue`.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import UserError
from core.i18n import N_, persona_name
from portfolio.currency import currency_of_run
from strategy import audit
from strategy import tables as t
from strategy.auth import PermissionDenied, User, require
from strategy.canonical import canonical_json
from strategy.catalogue import Strategy
from strategy.context import context_from_profile, persona_rows, roles_of_run
from strategy.guardrails import check_strategy
from strategy.texts import Term, Text, TextList, evidence_codes, stored_evidence, stored_reason
from strategy.mapping_view import STATES, MappingView, StaleMappingError, Veto, approval_hash, check_reviewed

__all__ = ["STATES", "MappingView", "MappingWorkflow", "StaleMappingError", "Veto", "approval_hash"]

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from strategy.run_view import RunView
    from strategy.settings import StrategySettings


def _scope_is(scope: str) -> Any:
    """Vetoes of ``scope``: ``"mapping"`` (also rows from before vetoes had a scope) or
    ``"challenger"``."""
    if scope == "mapping":
        return or_(t.vetoes.c.scope.is_(None), t.vetoes.c.scope == "mapping")
    return t.vetoes.c.scope == scope



class MappingWorkflow:
    """Mapping methods of :class:`strategy.store.ReviewStore`."""

    engine: "Engine"
    settings: "StrategySettings"

    # --- runs ---------------------------------------------------------------------------------
    def register_run(self, actor: User, run: "RunView") -> None:
        """Record the run (idempotent); the first registration is an audit event."""
        require(actor, "register_run")
        with self._write() as conn:
            self._ensure_run(conn, actor, run)

    def _ensure_run(self, conn: Connection, actor: User, run: "RunView") -> None:
        if conn.execute(select(t.runs.c.run_id).where(t.runs.c.run_id == run.run_id)).first():
            return
        conn.execute(insert(t.runs).values(
            run_id=run.run_id, data_sha256=run.meta.get("data_sha256"),
            personas_sha256=run.personas_hash(), registered_by=actor.username,
            registered_at=audit.now_utc()))
        audit.append(conn, actor, "run_registered", run_id=run.run_id, content=run.personas_hash(),
                     details={"data_sha256": run.meta.get("data_sha256"),
                              "personas": len(run.profiles)})

    def sign_off_model(self, actor: User, run: "RunView", note: str = "") -> None:
        """Compliance signs off the run's model and explanations."""
        require(actor, "sign_off_model")
        with self._write() as conn:
            self._ensure_run(conn, actor, run)
            now = audit.now_utc()
            conn.execute(update(t.runs).where(t.runs.c.run_id == run.run_id).values(
                model_signed_off_by=actor.username, model_signed_off_at=now))
            audit.append(conn, actor, "model_signed_off", run_id=run.run_id,
                         content=run.personas_hash(), details={"note": note})

    def run_info(self, run_id: str) -> dict[str, Any] | None:
        """The run's registration and model sign-off, or ``None`` if not registered."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.runs).where(t.runs.c.run_id == run_id)).first()
        return None if row is None else dict(row._mapping)

    # --- mutations ----------------------------------------------------------------------------
    def save_draft(self, actor: User, run: "RunView", persona_id: int, strategy: Strategy, *,
                   expected_version: int | None = None, evidence: Sequence[str] = ()) -> MappingView:
        """Save a strategy without submitting it for review (state ``draft``)."""
        return self._save(actor, run, persona_id, strategy, "draft", "draft_saved",
                          expected_version, evidence, permission="propose")

    def propose(self, actor: User, run: "RunView", persona_id: int, strategy: Strategy | None = None,
                *, expected_version: int | None = None, evidence: Sequence[str] = ()) -> MappingView:
        """Submit a strategy (or the current draft when ``strategy`` is None) for review."""
        if strategy is None:
            strategy = self.get_mapping(run, persona_id).strategy
        return self._save(actor, run, persona_id, strategy, "proposed", "proposed",
                          expected_version, evidence, permission="propose")

    def edit(self, actor: User, run: "RunView", persona_id: int, strategy: Strategy, *,
             expected_version: int, evidence: Sequence[str] | None = None) -> MappingView:
        """Save a new strategy version; an approved or rejected mapping goes back to ``proposed``."""
        return self._save(actor, run, persona_id, strategy, None, "edited", expected_version,
                          evidence, permission="edit")

    def approve(self, actor: User, run: "RunView", persona_id: int, *,
                expected_version: int | None = None, expected_hash: str | None = None,
                portfolio: pd.DataFrame | None = None) -> MappingView:
        """Approve the proposed version the manager was shown.

        ``expected_version`` (the version number) and/or ``expected_hash`` (the version hash, or a
        prefix of at least 12 hex digits) name it; a missing or stale one is refused naming the
        current version. Refused too: a non-manager, the proposer or last editor or another identity
        of theirs, a failed guardrail, and a standing compliance veto. A refused attempt is an
        audit entry too.
        """
        try:
            return self._approve(actor, run, persona_id, expected_version, expected_hash, portfolio)
        except UserError as refused:
            self._record_refused_approval(actor, run, persona_id, refused)
            raise

    def _record_refused_approval(self, actor: User | None, run: "RunView", persona_id: int,
                                 refused: UserError) -> None:
        with self._write() as conn:
            audit.append(conn, actor or User("(not signed in)", "unknown"), "approval_refused",
                         run_id=run.run_id, persona_id=persona_id,
                         details={"reasons": refused.english_lines})

    def _approve(self, actor: User, run: "RunView", persona_id: int, expected_version: int | None,
                 expected_hash: str | None, portfolio: pd.DataFrame | None) -> MappingView:
        require(actor, "approve")
        with self._write() as conn:
            row = self._row(conn, run.run_id, persona_id)
            if row is None:
                raise UserError(Text(N_("persona {persona} of run {run} has no strategy yet"), persona=persona_id,
                                     run=run.run_id))
            view = self._view(conn, row, run, portfolio)
            self._check_reviewed_version(view, expected_version, expected_hash)
            blockers = view.approval_blockers(actor)
            if any(self._same_person(conn, actor.username, other) and actor.username != other
                   for other in {row["proposed_by"], row["last_edited_by"]} if other):
                blockers.append(Text(N_("{user} and the proposer or last editor are identities of the same "
                                        "person (four-eyes principle)"), user=actor.username))
            if blockers:
                refused = N_("approval of persona {id} refused: {why}")
                raise UserError(Text(refused, id=persona_id, why=TextList(blockers, "; ")),
                                lines=[Text(refused, id=persona_id, why=b) for b in blockers])
            bound = approval_hash(run, persona_id, view.strategy_hash)
            now = audit.now_utc()
            self._update(conn, row, actor, state="approved", approved_by=actor.username,
                         approved_at=now, approval_hash=bound, reason=None)
            audit.append(conn, actor, "approved", run_id=run.run_id, persona_id=persona_id,
                         content=bound, details={"strategy_sha256": view.strategy_hash,
                                                 "version": row["version"],
                                                 "persona_definition_sha256":
                                                     run.persona_definition_hash(persona_id),
                                                 "assignment_sha256": run.assignment_fingerprint()})
        return self.get_mapping(run, persona_id)

    @staticmethod
    def _check_reviewed_version(view: MappingView, expected_version: int | None,
                                expected_hash: str | None) -> None:
        """The approver names the version they reviewed; anything else is refused."""
        check_reviewed(view, expected_version, expected_hash, subject=f"persona {view.persona_id}",
                       thing="the mapping")

    def reject(self, actor: User, run: "RunView", persona_id: int, reason: str, *,
               expected_version: int, veto: bool | None = None) -> MappingView:
        """Reject (manager) or veto (compliance) with a required reason.

        A compliance rejection is a veto unless ``veto=False``: it blocks approval of this
        persona's mapping in the run, whatever version is proposed next, until compliance lifts it
        (:meth:`lift_veto`). Only compliance vetoes.
        """
        require(actor, "reject")
        if not (reason or "").strip():
            raise UserError(Text(N_("a rejection needs a reason the analyst can act on")))
        is_veto = (actor.role == "compliance") if veto is None else bool(veto)
        if is_veto and actor.role != "compliance":
            raise PermissionDenied(Text(N_("{user} ({role}) may not veto; only a compliance reviewer vetoes "
                                           "(a manager rejects)"), user=actor.username, role=actor.role))
        with self._write() as conn:
            row = self._locked_row(conn, run.run_id, persona_id, expected_version, None)
            allowed = ("proposed", "approved", "rejected") if actor.role == "compliance" \
                else ("proposed",)
            if row["state"] not in allowed:
                refusal = (N_("persona {persona} is {state}; {role} can reject only a proposed mapping")
                           if allowed == ("proposed",) else
                           N_("persona {persona} is {state}; {role} can reject only a proposed or approved or "
                              "rejected mapping"))
                raise UserError(Text(refusal, persona=persona_id, state=Term(row["state"]), role=actor.role))
            if actor.username in {row["proposed_by"], row["last_edited_by"]}:
                raise UserError(Text(N_("{user} proposed or last edited persona {persona}; someone else must "
                                        "review it (four-eyes principle)"), user=actor.username, persona=persona_id))
            strategy_hash = self._strategy_hash(conn, row["strategy_version_id"])
            self._update(conn, row, actor, state="rejected", reason=reason.strip(),
                         approved_by=None, approved_at=None, approval_hash=None)
            veto_id = None
            if is_veto and self._active_veto(conn, run.run_id, persona_id) is None:
                veto_id = int(conn.execute(insert(t.vetoes).values(
                    run_id=run.run_id, persona_id=int(persona_id), strategy_sha256=strategy_hash,
                    reason=reason.strip(), vetoed_by=actor.username,
                    vetoed_at=audit.now_utc())).inserted_primary_key[0])
            audit.append(conn, actor, "rejected", run_id=run.run_id, persona_id=persona_id,
                         content=strategy_hash,
                         details={"reason": reason.strip(), "veto": is_veto, "veto_id": veto_id,
                                  "previous_state": row["state"]})
        return self.get_mapping(run, persona_id)

    def lift_veto(self, actor: User, run: "RunView", persona_id: int, reason: str) -> Veto:
        """Lift the standing compliance veto of a persona's mapping (compliance, reason required).

        The mapping keeps its state; a manager may approve a proposed version afterwards.
        """
        if actor is None or actor.role != "compliance":
            who = Text(N_("nobody signed in")) if actor is None else \
                Text("{user} ({role})", user=actor.username, role=actor.role)
            raise PermissionDenied(Text(N_("{who} may not lift a veto; only a compliance reviewer does"), who=who))
        if not (reason or "").strip():
            raise UserError(Text(N_("lifting a veto needs a reason (what changed, who agreed)")))
        run.profile(persona_id)
        with self._write() as conn:
            veto = self._active_veto(conn, run.run_id, persona_id)
            if veto is None:
                raise UserError(Text(N_("no compliance veto stands on persona {persona} of run {run}"),
                                     persona=persona_id, run=run.run_id))
            now = audit.now_utc()
            conn.execute(update(t.vetoes).where(t.vetoes.c.id == veto.id).values(
                lifted_by=actor.username, lifted_at=now, lift_reason=reason.strip()))
            audit.append(conn, actor, "veto_lifted", run_id=run.run_id, persona_id=persona_id,
                         content=veto.strategy_sha256,
                         details={"veto_id": veto.id, "reason": reason.strip(),
                                  "vetoed_by": veto.vetoed_by, "vetoed_at": veto.vetoed_at,
                                  "veto_reason": veto.reason})
        return Veto(**{**veto.__dict__, "lifted_by": actor.username, "lifted_at": now,
                       "lift_reason": reason.strip()})

    @staticmethod
    def _active_veto(conn: Connection, run_id: str, persona_id: int,
                     scope: str = "mapping") -> Veto | None:
        row = conn.execute(select(t.vetoes).where(
            t.vetoes.c.run_id == run_id, t.vetoes.c.persona_id == int(persona_id),
            t.vetoes.c.lifted_at.is_(None), _scope_is(scope)).order_by(t.vetoes.c.id.desc())).first()
        return None if row is None else Veto(**dict(row._mapping))

    def revalidate_approvals(self, actor: User, run: "RunView") -> list[int]:
        """Void approvals whose persona definition changed since approval; returns their ids."""
        voided = []
        with self._write() as conn:
            rows = conn.execute(select(t.mappings).where(t.mappings.c.run_id == run.run_id,
                                                         t.mappings.c.state == "approved")).all()
            for row in rows:
                row = dict(row._mapping)
                strategy_hash = self._strategy_hash(conn, row["strategy_version_id"])
                if row["persona_id"] in run.persona_ids and row["approval_hash"] == approval_hash(
                        run, row["persona_id"], strategy_hash):
                    continue
                self._update(conn, row, actor, state="proposed", approved_by=None,
                             approved_at=None, approval_hash=None)
                audit.append(conn, actor, "approval_voided", run_id=run.run_id,
                             persona_id=row["persona_id"], content=row["approval_hash"],
                             details={"why": "persona definition or account assignment changed "
                                              "since approval"})
                voided.append(row["persona_id"])
        return voided

    # --- internals ----------------------------------------------------------------------------
    def _save(self, actor: User, run: "RunView", persona_id: int, strategy: Strategy,
              state: str | None, action: str, expected_version: int | None,
              evidence: Sequence[str] | None, *, permission: str) -> MappingView:
        require(actor, permission)
        run.profile(persona_id)
        try:
            return self._save_locked(actor, run, persona_id, strategy, state, action,
                                     expected_version, evidence)
        except IntegrityError:  # PostgreSQL: another session created the mapping meanwhile
            raise StaleMappingError(Text(N_("persona {persona}'s mapping was created by someone else at the same "
                                            "moment; reload it"), persona=persona_id), strategy) from None

    def _save_locked(self, actor: User, run: "RunView", persona_id: int, strategy: Strategy,
                     state: str | None, action: str, expected_version: int | None,
                     evidence: Sequence[str] | None) -> MappingView:
        with self._write() as conn:
            self._ensure_run(conn, actor, run)
            existing = self._row(conn, run.run_id, persona_id)
            if existing is None:
                if expected_version not in (None, 0):
                    raise StaleMappingError(Text(N_("persona {persona} has no mapping any more; reload"),
                                                 persona=persona_id), strategy)
                if state is None:
                    raise UserError(Text(N_("persona {persona} has no strategy yet; propose one first"),
                                         persona=persona_id))
            else:
                self._locked_row(conn, run.run_id, persona_id, expected_version, strategy)
                if evidence is None:
                    evidence = stored_evidence(self._version(conn, existing["strategy_version_id"]))
            version_id = self._insert_version(conn, actor, run.run_id, persona_id, strategy,
                                              list(evidence or []))
            new_state = state or ("draft" if existing and existing["state"] == "draft"
                                  else "proposed")
            values = {"state": new_state, "strategy_version_id": version_id,
                      "approved_by": None, "approved_at": None, "approval_hash": None,
                      "last_edited_by": actor.username}
            if state == "proposed":
                values["proposed_by"] = actor.username
            if existing is None:
                now = audit.now_utc()
                conn.execute(insert(t.mappings).values(
                    run_id=run.run_id, persona_id=int(persona_id), version=1,
                    updated_by=actor.username, updated_at=now, reason=None,
                    proposed_by=values.pop("proposed_by", None), **values))
            else:
                self._update(conn, existing, actor, **values)
            details = {"strategy_version_id": version_id, "state": new_state}
            if existing is not None and existing["state"] == "approved":
                details["approval_voided"] = existing["approval_hash"]
            audit.append(conn, actor, action, run_id=run.run_id, persona_id=persona_id,
                         content=strategy.content_hash(), details=details)
        return self.get_mapping(run, persona_id)

    def _locked_row(self, conn: Connection, run_id: str, persona_id: int,
                    expected_version: int | None, attempted: Strategy | None) -> dict[str, Any]:
        row = self._row(conn, run_id, persona_id)
        if row is None:
            raise UserError(Text(N_("persona {persona} of run {run} has no strategy yet"), persona=persona_id,
                                 run=run_id))
        if expected_version is None:
            raise UserError(Text(N_("say which version of persona {persona}'s mapping you opened (it is at "
                                    "version {version})"), persona=persona_id, version=row["version"]))
        if row["version"] != expected_version:
            raise StaleMappingError(Text(N_(
                "persona {persona}'s mapping was changed by {user} at {time} since you opened it (version "
                "{opened}, now {version}); reload it and apply your change again"), persona=persona_id,
                user=row["updated_by"], time=str(row["updated_at"]), opened=expected_version,
                version=row["version"]), attempted)
        return row

    @staticmethod
    def _update(conn: Connection, row: dict[str, Any], actor: User, **values: Any) -> None:
        if "reason" in values:  # a new reason (typed, or none) replaces the app's words about the old one
            values.setdefault("reason_text", None)
        result = conn.execute(update(t.mappings).where(
            t.mappings.c.id == row["id"], t.mappings.c.version == row["version"]).values(
            version=row["version"] + 1, updated_by=actor.username, updated_at=audit.now_utc(),
            **values))
        if result.rowcount != 1:  # only possible without the write lock (e.g. PostgreSQL race)
            raise StaleMappingError(Text(N_("persona {persona}'s mapping was changed by someone else at the same "
                                            "moment; reload it"), persona=row["persona_id"]))

    @staticmethod
    def _row(conn: Connection, run_id: str, persona_id: int) -> dict[str, Any] | None:
        row = conn.execute(select(t.mappings).where(t.mappings.c.run_id == run_id,
                                                    t.mappings.c.persona_id == int(persona_id))
                           ).first()
        return None if row is None else dict(row._mapping)

    @staticmethod
    def _insert_version(conn: Connection, actor: User, run_id: str, persona_id: int,
                        strategy: Strategy, evidence: list[str]) -> int:
        result = conn.execute(insert(t.strategy_versions).values(
            run_id=run_id, persona_id=int(persona_id), content_hash=strategy.content_hash(),
            content=strategy.canonical_json(), evidence=canonical_json(evidence),
            evidence_codes=evidence_codes(evidence), created_by=actor.username, created_at=audit.now_utc()))
        return int(result.inserted_primary_key[0])

    @staticmethod
    def _version(conn: Connection, version_id: int) -> dict[str, Any]:
        return dict(conn.execute(select(t.strategy_versions).where(
            t.strategy_versions.c.id == version_id)).one()._mapping)

    def _strategy_hash(self, conn: Connection, version_id: int) -> str:
        return self._version(conn, version_id)["content_hash"]

    def _view(self, conn: Connection, row: dict[str, Any], run: "RunView | None",
              portfolio: pd.DataFrame | None = None) -> MappingView:
        version = self._version(conn, row["strategy_version_id"])
        strategy = Strategy.from_dict(json.loads(version["content"]))
        name, guardrails, valid, version_hash = "", [], None, None
        if run is not None and row["persona_id"] in run.persona_ids:
            profile = run.profile(row["persona_id"])
            name = persona_name(profile)
            rows = persona_rows(run.accounts if portfolio is not None else None, portfolio,
                                row["persona_id"])
            guardrails = check_strategy(
                strategy, context_from_profile(profile, rows, self.settings, roles_of_run(run.meta),
                                               currency_of_run(run.meta)),
                self.settings)
            version_hash = approval_hash(run, row["persona_id"], version["content_hash"])
            if row["state"] == "approved":
                valid = row["approval_hash"] == version_hash
        return MappingView(
            run_id=row["run_id"], persona_id=row["persona_id"], persona_name=name,
            state=row["state"], version=row["version"], strategy=strategy,
            strategy_version_id=row["strategy_version_id"], strategy_hash=version["content_hash"],
            evidence=stored_evidence(version), proposed_by=row["proposed_by"],
            last_edited_by=row["last_edited_by"], approved_by=row["approved_by"],
            approved_at=row["approved_at"], approval_hash=row["approval_hash"],
            reason=stored_reason(row), updated_by=row["updated_by"], updated_at=row["updated_at"],
            guardrails=guardrails, approval_valid=valid, version_hash=version_hash,
            veto=self._active_veto(conn, row["run_id"], row["persona_id"]))
