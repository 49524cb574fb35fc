"""Champion/challenger experiments under four-eyes review (mixed into :class:`ReviewStore`).

An analyst proposes (:meth:`ExperimentWorkflow.propose_challenger`) a challenger beside the persona's
proposed or approved champion; a manager who is not the proposer approves exactly the version
shown (:meth:`ExperimentWorkflow.approve_challenger`: number or version hash; stale refused); a
manager rejects, compliance rejects with a veto that blocks every challenger of the persona in the
run until compliance lifts it (a veto of the persona's strategy blocks experiments too). The
challenger passes the same guardrails as a champion. At approval the minimum sample per arm is
computed and stored (:func:`strategy.experiments.minimum_sample`). Policy: :mod:`strategy.experiments`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import UserError
from core.i18n import N_
from portfolio.currency import currency_of_run
from strategy import audit
from strategy import tables as t
from strategy.auth import PermissionDenied, User, require
from strategy.canonical import content_hash
from strategy.catalogue import Strategy
from strategy.context import context_from_profile, persona_rows, roles_of_run
from strategy.experiments import (DEFAULT_MIN_EFFECT, DEFAULT_PLANNED_DAYS, Experiment, base_pay_rate,
                                  challenger_variant, experiment_from_row, minimum_sample,
                                  new_experiment_id, share_problems)
from strategy.guardrails import check_strategy, violations
from strategy.mapping_view import StaleMappingError, check_reviewed
from strategy.texts import Term, Text, TextList

if TYPE_CHECKING:
    from strategy.run_view import RunView


def experiment_hash(run: "RunView", row: dict[str, Any]) -> str:
    """What an approval of the experiment binds: its id, the challenger's content, the shares,
    the duration and the minimum effect, the run, the persona definition and the account
    assignment (moving accounts between personas voids it, as it voids a mapping's approval)."""
    return content_hash({"experiment_id": row["experiment_id"], "run_id": run.run_id,
                         "challenger_sha256": row["challenger_hash"],
                         "challenger_share": float(row["challenger_share"]),
                         "holdout_share": float(row["holdout_share"]),
                         "planned_days": int(row["planned_days"]),
                         "min_detectable_effect": row["min_detectable_effect"],
                         "persona_definition": run.profile(row["persona_id"]),
                         "assignment_sha256": run.assignment_fingerprint()})


class ExperimentWorkflow:
    """Experiment methods of :class:`strategy.store.ReviewStore`."""

    # --- queries ------------------------------------------------------------------------------
    def get_experiment(self, run: "RunView", persona_id: int,
                       portfolio: pd.DataFrame | None = None) -> Experiment | None:
        """The persona's experiment in the run (any state) with guardrails, or ``None``."""
        with self.engine.connect() as conn:
            row = self._experiment_row(conn, run.run_id, persona_id)
            return None if row is None else self._experiment_view(conn, row, run, portfolio)

    def list_experiments(self, run: "RunView",
                         portfolio: pd.DataFrame | None = None) -> dict[int, Experiment]:
        """``{persona_id: Experiment}`` of every experiment of the run (any state)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.experiments).where(t.experiments.c.run_id == run.run_id)
                                .order_by(t.experiments.c.persona_id)).all()
            return {int(r.persona_id): self._experiment_view(conn, dict(r._mapping), run, portfolio)
                    for r in rows}

    # --- propose ------------------------------------------------------------------------------
    def propose_challenger(self, actor: User, run: "RunView", persona_id: int,
                           strategy: Strategy | None = None, *, challenger_share: float,
                           holdout_share: float = 0.0, planned_days: int = DEFAULT_PLANNED_DAYS,
                           min_effect: float | None = DEFAULT_MIN_EFFECT,
                           expected_version: int | None = None,
                           portfolio: pd.DataFrame | None = None) -> Experiment:
        """Propose a challenger for the persona (analyst); ``strategy=None``: a built-in variant of
        the champion (:func:`strategy.experiments.challenger_variant`).

        A new proposal replaces a proposed, rejected or ended experiment of the persona (with a new
        experiment id); replacing an approved one needs ``expected_version`` like any edit.
        """
        require(actor, "propose")
        profile = run.profile(persona_id)
        champion = self.find_mapping(run, persona_id)
        if champion is None or champion.state not in ("proposed", "approved"):
            state = Text(N_("no strategy")) if champion is None else \
                Text(N_("a {state} strategy"), state=Term(champion.state))
            raise UserError(Text(N_("persona {id} has {state}; a challenger is proposed beside a proposed or approved "
                                    "champion"), id=persona_id, state=state))
        context = self._persona_context(run, persona_id, portfolio)
        problems = share_problems(challenger_share, holdout_share, planned_days, min_effect,
                                  over_indebted=context.over_indebted(self.settings),
                                  settings=self.settings)
        if problems:
            raise UserError(Text(N_("challenger for persona {id} refused: {why}"), id=persona_id,
                                 why=TextList(problems, "; ")), lines=problems)
        if strategy is None:
            strategy = challenger_variant(champion.strategy, context, self.settings)
        if strategy.content_hash() == champion.strategy_hash:
            raise UserError(Text(N_("the challenger for persona {id} is the champion itself; change something "
                                    "(channel, tone, offer, steps)"), id=persona_id))
        try:
            with self._write() as conn:
                return self._propose_locked(conn, actor, run, profile, strategy, champion,
                                            challenger_share, holdout_share, planned_days,
                                            min_effect, expected_version, portfolio)
        except IntegrityError:
            raise StaleMappingError(f"persona {persona_id}'s experiment was created by someone else "
                                    "at the same moment; reload it") from None

    def _propose_locked(self, conn: Connection, actor: User, run: "RunView", profile: dict[str, Any],
                        strategy: Strategy, champion: Any, challenger_share: float,
                        holdout_share: float, planned_days: int, min_effect: float | None,
                        expected_version: int | None, portfolio: pd.DataFrame | None) -> Experiment:
        pid = int(profile["persona_id"])
        self._ensure_run(conn, actor, run)
        existing = self._experiment_row(conn, run.run_id, pid)
        if existing is not None and existing["state"] == "approved" and \
                expected_version != existing["version"]:
            raise StaleMappingError(
                f"persona {pid} has an approved experiment {existing['experiment_id']} (version "
                f"{existing['version']}); replacing it needs --version {existing['version']}")
        version_id = self._insert_version(conn, actor, run.run_id, pid, strategy, [])
        values = {"experiment_id": new_experiment_id(), "state": "proposed",
                  "challenger_share": float(challenger_share), "holdout_share": float(holdout_share),
                  "planned_days": int(planned_days),
                  "min_detectable_effect": None if min_effect is None else float(min_effect),
                  "champion_version_id": champion.strategy_version_id,
                  "challenger_version_id": version_id, "challenger_hash": strategy.content_hash(),
                  "proposed_by": actor.username, "approved_by": None, "approved_at": None,
                  "approval_hash": None, "min_sample_per_arm": None, "base_pay_rate": None,
                  "base_pay_rate_source": None, "started_run_id": run.run_id, "reason": None}
        if existing is None:
            conn.execute(insert(t.experiments).values(
                run_id=run.run_id, persona_id=pid, version=1, updated_by=actor.username,
                updated_at=audit.now_utc(), **values))
        else:
            self._update_experiment(conn, existing, actor, **values)
        audit.append(conn, actor, "challenger_proposed", run_id=run.run_id, persona_id=pid,
                     content=strategy.content_hash(),
                     details={"experiment_id": values["experiment_id"],
                              "challenger_share": values["challenger_share"],
                              "holdout_share": values["holdout_share"],
                              "planned_days": values["planned_days"],
                              "min_detectable_effect": values["min_detectable_effect"],
                              "champion_strategy_sha256": champion.strategy_hash,
                              "replaced": None if existing is None else existing["experiment_id"]})
        row = self._experiment_row(conn, run.run_id, pid)
        return self._experiment_view(conn, row, run, portfolio)

    # --- approve ------------------------------------------------------------------------------
    def approve_challenger(self, actor: User, run: "RunView", persona_id: int, *,
                           expected_version: int | None = None, expected_hash: str | None = None,
                           portfolio: pd.DataFrame | None = None) -> Experiment:
        """Approve the proposed experiment the manager was shown (four-eyes, guardrails, vetoes,
        house policy on shares); computes and stores the minimum sample per arm. A refused
        attempt is an audit entry (``challenger_approval_refused``)."""
        try:
            return self._approve_challenger(actor, run, persona_id, expected_version, expected_hash,
                                            portfolio)
        except UserError as refused:
            with self._write() as conn:
                audit.append(conn, actor or User("(not signed in)", "unknown"),
                             "challenger_approval_refused", run_id=run.run_id, persona_id=persona_id,
                             details={"reasons": refused.english_lines})
            raise

    def _approve_challenger(self, actor: User, run: "RunView", persona_id: int,
                            expected_version: int | None, expected_hash: str | None,
                            portfolio: pd.DataFrame | None) -> Experiment:
        require(actor, "approve")
        context = self._persona_context(run, persona_id, portfolio)
        with self._write() as conn:
            row = self._experiment_row(conn, run.run_id, persona_id)
            if row is None:
                raise UserError(Text(N_("persona {id} of run {run} has no challenger proposed"), id=persona_id,
                                     run=run.run_id))
            view = self._experiment_view(conn, row, run, portfolio)
            _check_reviewed(view, expected_version, expected_hash)
            blockers = self._experiment_blockers(conn, actor, view, run, context)
            if blockers:
                refused = N_("approval of the challenger of persona {id} refused: {why}")
                raise UserError(Text(refused, id=persona_id, why=TextList(blockers, "; ")),
                                lines=[Text(refused, id=persona_id, why=b) for b in blockers])
            rate, source = base_pay_rate(run.profile(persona_id))
            effect = row["min_detectable_effect"] or DEFAULT_MIN_EFFECT
            sample = minimum_sample(rate, effect)
            bound = experiment_hash(run, row)
            self._update_experiment(conn, row, actor, state="approved", approved_by=actor.username,
                                    approved_at=audit.now_utc(), approval_hash=bound, reason=None,
                                    min_sample_per_arm=sample, base_pay_rate=rate,
                                    base_pay_rate_source=source)
            audit.append(conn, actor, "challenger_approved", run_id=run.run_id, persona_id=persona_id,
                         content=bound, details={"experiment_id": row["experiment_id"],
                                                 "challenger_strategy_sha256": row["challenger_hash"],
                                                 "version": row["version"],
                                                 "challenger_share": row["challenger_share"],
                                                 "holdout_share": row["holdout_share"],
                                                 "planned_days": row["planned_days"],
                                                 "min_sample_per_arm": sample, "base_pay_rate": rate,
                                                 "base_pay_rate_source": source,
                                                 "min_detectable_effect": effect})
            row = self._experiment_row(conn, run.run_id, persona_id)
            return self._experiment_view(conn, row, run, portfolio)

    def _experiment_blockers(self, conn: Connection, actor: User, view: Experiment, run: "RunView",
                             context: Any) -> list[str]:
        out = []
        if actor.role != "manager":
            out.append(Text(N_("only a manager may approve")))
        if view.state != "proposed":
            out.append(Text(N_("the experiment is {state}, not proposed"), state=Term(view.state)))
        if actor.username == view.proposed_by:
            out.append(Text(N_("{user} proposed this challenger (four-eyes principle)"), user=actor.username))
        elif self._same_person(conn, actor.username, view.proposed_by):
            out.append(Text(N_("{user} and the proposer {proposer} are identities of the same person (four-eyes "
                               "principle)"), user=actor.username, proposer=view.proposed_by))
        champion = self._row(conn, run.run_id, view.persona_id)
        if champion is None or champion["state"] not in ("proposed", "approved"):
            out.append(Text(N_("the champion of persona {id} is {state}; a challenger runs beside a proposed or "
                               "approved champion"), id=view.persona_id,
                            state=Term("missing" if champion is None else champion["state"])))
        mapping_veto = self._active_veto(conn, run.run_id, view.persona_id)
        if mapping_veto is not None:
            out.append(mapping_veto.statement())
        if view.veto is not None and view.veto.active:
            out.append(Text(N_("challengers of this persona are vetoed: {veto}"), veto=view.veto.statement()))
        out += share_problems(view.challenger_share, view.holdout_share, view.planned_days,
                              view.min_detectable_effect,
                              over_indebted=context.over_indebted(self.settings), settings=self.settings)
        out += [Text(N_("challenger: {message}"), message=r.message) for r in violations(view.guardrails)]
        return out

    # --- reject, veto, end --------------------------------------------------------------------
    def reject_challenger(self, actor: User, run: "RunView", persona_id: int, reason: str, *,
                          expected_version: int | None = None, veto: bool | None = None) -> Experiment:
        """Reject (manager: a proposed one) or veto (compliance: proposed or approved) the
        persona's challenger, reason required. A compliance veto blocks every challenger of the
        persona in the run until compliance lifts it (:meth:`lift_challenger_veto`)."""
        require(actor, "reject")
        if not (reason or "").strip():
            raise UserError(Text(N_("a rejection needs a reason the analyst can act on")))
        is_veto = (actor.role == "compliance") if veto is None else bool(veto)
        if is_veto and actor.role != "compliance":
            raise PermissionDenied(f"{actor.username} ({actor.role}) may not veto; only a compliance "
                                   "reviewer vetoes (a manager rejects)")
        with self._write() as conn:
            row = self._experiment_row(conn, run.run_id, persona_id)
            if row is None:
                raise UserError(Text(N_("persona {id} of run {run} has no challenger proposed"), id=persona_id,
                                     run=run.run_id))
            if expected_version is not None and expected_version != row["version"]:
                raise StaleMappingError(f"persona {persona_id}'s experiment is at version "
                                        f"{row['version']}, not {expected_version}; reload it")
            allowed = ("proposed", "approved") if actor.role == "compliance" else ("proposed",)
            if row["state"] not in allowed:
                raise UserError(Text(N_("the experiment of persona {id} is {state}; {role} can reject only a {allowed} "
                                        "one"), id=persona_id, state=Term(row["state"]), role=actor.role,
                                     allowed=TextList((Term(a) for a in allowed), " or ")))
            if self._same_person(conn, actor.username, row["proposed_by"]):
                raise UserError(Text(N_("{user} proposed the challenger of persona {id}; someone else must review it "
                                        "(four-eyes principle)"), user=actor.username, id=persona_id))
            self._update_experiment(conn, row, actor, state="rejected", reason=reason.strip(),
                                    approved_by=None, approved_at=None, approval_hash=None)
            veto_id = None
            if is_veto and self._active_veto(conn, run.run_id, persona_id, "challenger") is None:
                veto_id = int(conn.execute(insert(t.vetoes).values(
                    run_id=run.run_id, persona_id=int(persona_id), scope="challenger",
                    strategy_sha256=row["challenger_hash"], reason=reason.strip(),
                    vetoed_by=actor.username, vetoed_at=audit.now_utc())).inserted_primary_key[0])
            audit.append(conn, actor, "challenger_rejected", run_id=run.run_id, persona_id=persona_id,
                         content=row["challenger_hash"],
                         details={"experiment_id": row["experiment_id"], "reason": reason.strip(),
                                  "veto": is_veto, "veto_id": veto_id, "previous_state": row["state"]})
            return self._experiment_view(conn, self._experiment_row(conn, run.run_id, persona_id), run)

    def lift_challenger_veto(self, actor: User, run: "RunView", persona_id: int, reason: str) -> None:
        """Compliance lifts its veto of the persona's challengers (reason required, audited)."""
        if actor is None or actor.role != "compliance":
            raise PermissionDenied("only a compliance reviewer lifts a veto")
        if not (reason or "").strip():
            raise UserError(Text(N_("lifting a veto needs a reason (what changed, who agreed)")))
        with self._write() as conn:
            veto = self._active_veto(conn, run.run_id, persona_id, "challenger")
            if veto is None:
                raise UserError(Text(N_("no compliance veto stands on the challengers of persona {id}"), id=persona_id))
            conn.execute(update(t.vetoes).where(t.vetoes.c.id == veto.id).values(
                lifted_by=actor.username, lifted_at=audit.now_utc(), lift_reason=reason.strip()))
            audit.append(conn, actor, "veto_lifted", run_id=run.run_id, persona_id=persona_id,
                         content=veto.strategy_sha256,
                         details={"veto_id": veto.id, "scope": "challenger", "reason": reason.strip(),
                                  "vetoed_by": veto.vetoed_by, "veto_reason": veto.reason})

    def end_experiment(self, actor: User, run: "RunView", persona_id: int, reason: str) -> Experiment:
        """A manager ends an approved experiment (all accounts back to the champion)."""
        require(actor, "approve")
        if not (reason or "").strip():
            raise UserError(Text(N_("ending an experiment needs a reason")))
        with self._write() as conn:
            row = self._experiment_row(conn, run.run_id, persona_id)
            if row is None or row["state"] != "approved":
                raise UserError(Text(N_("persona {id} has no approved experiment to end"), id=persona_id))
            self._update_experiment(conn, row, actor, state="ended", reason=reason.strip())
            audit.append(conn, actor, "challenger_ended", run_id=run.run_id, persona_id=persona_id,
                         content=row["approval_hash"],
                         details={"experiment_id": row["experiment_id"], "reason": reason.strip()})
            return self._experiment_view(conn, self._experiment_row(conn, run.run_id, persona_id), run)

    # --- internals ----------------------------------------------------------------------------
    def _persona_context(self, run: "RunView", persona_id: int, portfolio: pd.DataFrame | None) -> Any:
        rows = persona_rows(run.accounts if portfolio is not None else None, portfolio, persona_id)
        return context_from_profile(run.profile(persona_id), rows, self.settings,
                                    roles_of_run(run.meta), currency_of_run(run.meta))

    @staticmethod
    def _experiment_row(conn: Connection, run_id: str, persona_id: int) -> dict[str, Any] | None:
        row = conn.execute(select(t.experiments).where(
            t.experiments.c.run_id == run_id, t.experiments.c.persona_id == int(persona_id))).first()
        return None if row is None else dict(row._mapping)

    @staticmethod
    def _update_experiment(conn: Connection, row: dict[str, Any], actor: User, **values: Any) -> None:
        result = conn.execute(update(t.experiments).where(
            t.experiments.c.id == row["id"], t.experiments.c.version == row["version"]).values(
            version=row["version"] + 1, updated_by=actor.username, updated_at=audit.now_utc(),
            **values))
        if result.rowcount != 1:
            raise StaleMappingError(f"persona {row['persona_id']}'s experiment was changed by someone "
                                    "else at the same moment; reload it")

    def _experiment_view(self, conn: Connection, row: dict[str, Any], run: "RunView | None",
                         portfolio: pd.DataFrame | None = None) -> Experiment:
        version = self._version(conn, row["challenger_version_id"])
        experiment = experiment_from_row(row, version["content"])
        if run is not None and experiment.persona_id in run.persona_ids:
            context = self._persona_context(run, experiment.persona_id, portfolio)
            experiment.guardrails = check_strategy(experiment.challenger, context, self.settings)
            experiment.version_hash = experiment_hash(run, row)
            if experiment.state == "approved":
                experiment.approval_valid = row["approval_hash"] == experiment.version_hash
        experiment.veto = self._active_veto(conn, row["run_id"], row["persona_id"], "challenger")
        return experiment


def _check_reviewed(view: Experiment, expected_version: int | None, expected_hash: str | None) -> None:
    """The approver names the version of the experiment they reviewed; anything else is refused."""
    check_reviewed(view, expected_version, expected_hash,
                   subject=f"the challenger of persona {view.persona_id}", thing="the experiment")
