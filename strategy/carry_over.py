"""Carry a run's approvals to next month's run (made by ``apply`` with the same fitted models).

For every persona of the new run whose mapping was approved in the base run:

* not sent back by the drift report: the new run gets the same strategy content, **approved**, with
  the approving manager and time of the original (the approval hash is bound to the new run, its
  persona definition and its accounts, so export checks it like any approval), and an audit entry
  ``carried_over`` naming the base run, the drift report's SHA-256, the original approval and the
  actor (``system:apply`` or the CLI operator). An approved experiment carries too, with the same
  ``experiment_id`` so every account keeps its arm (:mod:`strategy.arms`), and the run where it
  began (``started_run_id``): ``experiment_carried_over``.
* sent back (``review_personas``): the base strategy as a **proposal** (state ``proposed``, proposer
  and last editor of the original, so four-eyes still holds), which needs a fresh approval; audit
  entry ``sent_back_to_review`` with the drift report's reason. Its approved experiment comes as a
  proposal too (same experiment id).

A standing compliance veto carries whatever the persona's state: the vetoed persona stays vetoed
(its mapping arrives ``rejected`` with the veto's reason) and a veto of its challengers stays too
(``veto_carried_over``). Everything happens in one transaction; running it again changes nothing for
personas that already have a mapping in the new run.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from core.errors import UserError
from core.i18n import N_
from strategy import audit
from strategy import tables as t
from strategy.auth import PermissionDenied, User
from strategy.canonical import canonical_json, content_hash, plain
from strategy.experiment_workflow import experiment_hash
from strategy.mapping_view import approval_hash
from strategy.texts import Text, TextList, text_from_dict

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from strategy.run_view import RunView
    from strategy.store import ReviewStore

#: The actor ``application.apply`` passes when no person runs it.
SYSTEM_ACTOR = User("system:apply", "system")
CARRYING_ROLES = ("system", "operator", "manager", "admin")


def carry_over(store: "ReviewStore", actor: User, base_run_id: str, new_run: "RunView", *,
               review_personas: set[int], drift: dict[str, Any]) -> dict[str, list[int]]:
    """Carry the approvals of ``base_run_id`` to ``new_run`` (see the module docstring).

    Parameters
    ----------
    store : ReviewStore
    actor : User
        ``SYSTEM_ACTOR`` (``system:apply``), the CLI operator, or a manager/administrator.
    base_run_id : str
        The run whose approvals carry (``new_run.parent_run_id``).
    new_run : RunView
        Next month's run, registered in the store first.
    review_personas : set of int
        Personas the drift report sends back to review.
    drift : dict
        The drift report (``drift.json``); its SHA-256 and per-persona reasons go into the audit log.

    Returns
    -------
    dict
        ``{"carried": [ids], "review": [ids], "not_approved_in_base": [ids], "vetoed": [ids],
        "experiments": [ids]}``: personas approved and carried, sent back as proposals, without an
        approval in the base run (nothing carried; ``vetoed`` ones keep their veto), and personas
        whose approved experiment carried.
    """
    if actor is None or actor.role not in CARRYING_ROLES:
        who = "nobody signed in" if actor is None else f"{actor.username} ({actor.role})"
        raise PermissionDenied(f"{who} may not carry approvals to a new run; it is done by apply "
                               "(system) or a manager")
    if base_run_id == new_run.run_id:
        raise UserError(f"run {base_run_id} cannot carry its approvals to itself")
    drift_sha = content_hash(plain(drift or {}))
    reasons = _drift_reasons(drift)
    review = {int(p) for p in review_personas}
    out: dict[str, list[int]] = {"carried": [], "review": [], "not_approved_in_base": [], "vetoed": [],
                                 "experiments": []}
    with store.transaction() as conn:
        if conn.execute(select(t.runs.c.run_id).where(t.runs.c.run_id == base_run_id)).first() is None:
            raise UserError(f"run {base_run_id} is not in the review database: nothing was approved "
                            "in it to carry over")
        store._ensure_run(conn, actor, new_run)
        base = {int(r.persona_id): dict(r._mapping) for r in conn.execute(
            select(t.mappings).where(t.mappings.c.run_id == base_run_id))}
        context = {"base_run_id": base_run_id, "drift_sha256": drift_sha}
        for pid in new_run.persona_ids:
            row = base.get(pid)
            if store._row(conn, new_run.run_id, pid) is not None:
                continue  # carried before (or worked on already): never overwritten
            _carry_vetoes(store, conn, actor, base_run_id, new_run, pid, context)
            mapping_veto = store._active_veto(conn, base_run_id, pid)
            if row is None or row["state"] != "approved" or mapping_veto is not None:
                out["not_approved_in_base"].append(pid)
                if row is not None and mapping_veto is not None:
                    _insert_mapping(store, conn, actor, new_run, row, "rejected",
                                    **_reason(Text(N_("vetoed in run {run}: {reason}"), run=base_run_id,
                                                   reason=mapping_veto.reason)))
                    out["vetoed"].append(pid)
                continue
            failing = _guardrail_failures(store, conn, new_run, pid, row["strategy_version_id"])
            if pid in review or failing:
                parts = [reasons.get(pid) if pid in review else None,
                         *(Text(N_("on this month's accounts: {message}"), message=m) for m in failing)]
                why = TextList([p for p in parts if p], "; ")
                _send_back(store, conn, actor, new_run, row, context, why or None)
                out["review"].append(pid)
            else:
                _carry(store, conn, actor, new_run, row, context)
                out["carried"].append(pid)
            base_experiment = store._experiment_row(conn, base_run_id, pid)
            challenger_fails = base_experiment is not None and base_experiment.get("challenger_version_id") and \
                _guardrail_failures(store, conn, new_run, pid, base_experiment["challenger_version_id"])
            carried = pid in out["carried"] and not challenger_fails
            if _carry_experiment(store, conn, actor, base_run_id, new_run, pid,
                                 "approved" if carried else "proposed", context):
                out["experiments"].append(pid)
    return out


def _guardrail_failures(store: "ReviewStore", conn: "Connection", new_run: "RunView", pid: int,
                        version_id: int) -> list[str]:
    """Why the strategy version fails a guardrail on the new month's accounts (empty: it passes).

    An approval was given on last month's accounts; the rules are checked again on this month's, so a
    persona whose share of disputes or over-indebted accounts rose past a limit goes back to a person
    instead of being carried into an export that would be refused (or, worse, executed)."""
    import json

    from portfolio.currency import currency_of_run
    from strategy.catalogue import Strategy
    from strategy.context import context_from_profile, persona_rows, roles_of_run
    from strategy.guardrails import check_strategy

    strategy = Strategy.from_dict(json.loads(store._version(conn, version_id)["content"]))
    portfolio = new_run.portfolio
    rows = persona_rows(new_run.accounts if portfolio is not None else None, portfolio, pid)
    context = context_from_profile(new_run.profile(pid), rows, store.settings, roles_of_run(new_run.meta),
                                   currency_of_run(new_run.meta))
    return [result.message for result in check_strategy(strategy, context, store.settings) if not result.passed]


def _drift_reasons(drift: dict[str, Any] | None) -> dict[int, str]:
    out = {}
    for entry in (drift or {}).get("personas") or []:
        try:
            english = entry.get("reason")
            out[int(entry["persona_id"])] = (text_from_dict(entry.get("reason_text"), str(english)) if english
                                             else Text(N_("the drift report sends it back")))
        except (KeyError, TypeError, ValueError):
            continue
    return out


#: The reason an experiment carried to a new run waits for review (stored in English; shown with ``_()``).
EXPERIMENT_BACK_TO_REVIEW = N_("back to review after drift (same experiment id: arms unchanged)")


def _reason(text: Text) -> dict[str, Any]:
    """A mapping's reason as stored: the English text and its language-neutral form beside it."""
    return {"reason": str(text), "reason_text": canonical_json(text.to_dict())}


def _insert_mapping(store: "ReviewStore", conn: "Connection", actor: User, new_run: "RunView",
                    row: dict[str, Any], state: str, **values: Any) -> tuple[int, str]:
    """A mapping in the new run with the base row's strategy content; (version id, content hash)."""
    version = store._version(conn, row["strategy_version_id"])
    version_id = int(conn.execute(insert(t.strategy_versions).values(
        run_id=new_run.run_id, persona_id=int(row["persona_id"]), content_hash=version["content_hash"],
        content=version["content"], evidence=version["evidence"],
        evidence_codes=version.get("evidence_codes"), created_by=version["created_by"],
        created_at=audit.now_utc())).inserted_primary_key[0])
    defaults = {"proposed_by": row["proposed_by"], "last_edited_by": row["last_edited_by"],
                "approved_by": None, "approved_at": None, "approval_hash": None, "reason": None}
    conn.execute(insert(t.mappings).values(
        run_id=new_run.run_id, persona_id=int(row["persona_id"]), state=state,
        strategy_version_id=version_id, version=1, updated_by=actor.username,
        updated_at=audit.now_utc(), **{**defaults, **values}))
    return version_id, version["content_hash"]


def _carry(store: "ReviewStore", conn: "Connection", actor: User, new_run: "RunView",
           row: dict[str, Any], context: dict[str, str]) -> None:
    pid = int(row["persona_id"])
    strategy_sha = store._version(conn, row["strategy_version_id"])["content_hash"]
    bound = approval_hash(new_run, pid, strategy_sha)
    _insert_mapping(store, conn, actor, new_run, row, "approved", approved_by=row["approved_by"],
                    approved_at=row["approved_at"], approval_hash=bound)
    audit.append(conn, actor, "carried_over", run_id=new_run.run_id, persona_id=pid, content=bound,
                 details={**context, "approved_by": row["approved_by"], "approved_at": row["approved_at"],
                          "base_approval_sha256": row["approval_hash"], "strategy_sha256": strategy_sha,
                          "persona_definition_sha256": new_run.persona_definition_hash(pid),
                          "assignment_sha256": new_run.assignment_fingerprint()})


def _send_back(store: "ReviewStore", conn: "Connection", actor: User, new_run: "RunView",
               row: dict[str, Any], context: dict[str, str], reason: str | None) -> None:
    pid = int(row["persona_id"])
    why = reason or Text(N_("the drift report sends this persona back to review"))
    _, strategy_sha = _insert_mapping(store, conn, actor, new_run, row, "proposed",
                                      **_reason(Text(N_("back to review after drift: {why}"), why=why)))
    audit.append(conn, actor, "sent_back_to_review", run_id=new_run.run_id, persona_id=pid,
                 content=strategy_sha,
                 details={**context, "reason": str(why), "reason_text": why.to_dict(),
                          "approved_in_base_by": row["approved_by"],
                          "base_approval_sha256": row["approval_hash"]})


def _carry_experiment(store: "ReviewStore", conn: "Connection", actor: User, base_run_id: str,
                      new_run: "RunView", pid: int, state: str, context: dict[str, str]) -> bool:
    base = store._experiment_row(conn, base_run_id, pid)
    if base is None or base["state"] != "approved" or \
            store._active_veto(conn, base_run_id, pid, "challenger") is not None:
        return False
    version = store._version(conn, base["challenger_version_id"])
    version_id = int(conn.execute(insert(t.strategy_versions).values(
        run_id=new_run.run_id, persona_id=pid, content_hash=version["content_hash"],
        content=version["content"], evidence=version["evidence"],
        evidence_codes=version.get("evidence_codes"), created_by=version["created_by"],
        created_at=audit.now_utc())).inserted_primary_key[0])
    champion = store._row(conn, new_run.run_id, pid)
    keep = ("experiment_id", "challenger_share", "holdout_share", "planned_days", "min_detectable_effect",
            "challenger_hash", "proposed_by", "min_sample_per_arm", "base_pay_rate",
            "base_pay_rate_source")
    values = {k: base[k] for k in keep}
    values.update(run_id=new_run.run_id, persona_id=pid, state=state, challenger_version_id=version_id,
                  champion_version_id=None if champion is None else champion["strategy_version_id"],
                  started_run_id=base["started_run_id"] or base_run_id, version=1,
                  updated_by=actor.username, updated_at=audit.now_utc(), reason=None,
                  approved_by=None, approved_at=None, approval_hash=None)
    if state == "approved":
        values.update(approved_by=base["approved_by"], approved_at=base["approved_at"],
                      approval_hash=experiment_hash(new_run, values))
    else:
        values["reason"] = EXPERIMENT_BACK_TO_REVIEW
    conn.execute(insert(t.experiments).values(**values))
    audit.append(conn, actor, "experiment_carried_over", run_id=new_run.run_id, persona_id=pid,
                 content=values["approval_hash"] or base["challenger_hash"],
                 details={**context, "experiment_id": base["experiment_id"], "state": state,
                          "approved_by": base["approved_by"], "approved_at": base["approved_at"],
                          "base_approval_sha256": base["approval_hash"],
                          "started_run_id": values["started_run_id"]})
    return True


def _carry_vetoes(store: "ReviewStore", conn: "Connection", actor: User, base_run_id: str,
                  new_run: "RunView", pid: int, context: dict[str, str]) -> None:
    for scope in ("mapping", "challenger"):
        veto = store._active_veto(conn, base_run_id, pid, scope)
        if veto is None or store._active_veto(conn, new_run.run_id, pid, scope) is not None:
            continue
        veto_id = int(conn.execute(insert(t.vetoes).values(
            run_id=new_run.run_id, persona_id=pid, strategy_sha256=veto.strategy_sha256,
            reason=veto.reason, vetoed_by=veto.vetoed_by, vetoed_at=veto.vetoed_at,
            scope=None if scope == "mapping" else scope)).inserted_primary_key[0])
        audit.append(conn, actor, "veto_carried_over", run_id=new_run.run_id, persona_id=pid,
                     content=veto.strategy_sha256,
                     details={**context, "scope": scope, "veto_id": veto_id, "base_veto_id": veto.id,
                              "vetoed_by": veto.vetoed_by, "reason": veto.reason})
