"""``personas apply RUN_DIR NEXT_FILE --out NEW_RUN_DIR [--db DB] [--user U]``: next month.

Assigns personas and risk scores to NEXT_FILE with the fitted models of the run in RUN_DIR (nothing is
refitted), writes a new run (its own id, ``parent_run_id`` = the base run, ``drift.json``) and, with
``--db``, carries the approvals of personas that did not drift over (the others go back to review).
Bad input is one line on stderr (exit 1 or 2), and nothing is written (:mod:`application.apply`).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.errors import Message, UsageError, UserError
from core.formats import format_count, format_number, format_percent
from core.i18n import N_, _


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``apply`` subcommand."""
    parser = subparsers.add_parser(
        "apply", help=_("apply a run to next month's portfolio: personas, risk scores, drift, carried approvals"),
        description=_("Give every account of NEXT_FILE the persona and risk score of the run in RUN_DIR (its "
                      "fitted models, never refitted), compare the month with the run (persona shares with 95 %% "
                      "intervals, PSI per feature, accounts far from every persona, risk score shift) and write "
                      "a new run with drift.json. With --db, approvals of personas that did not drift carry over "
                      "and the others go back to review. Exit 1 for unusable input, nothing written."))
    parser.add_argument("run_dir", metavar="RUN_DIR",
                        help=_("the base run (written by `personas run` or `apply`)"))
    parser.add_argument("file", metavar="NEXT_FILE", help=_("next month's portfolio (.csv, .xlsx or .parquet)"))
    parser.add_argument("--out", required=True, metavar="NEW_RUN_DIR",
                        help=_("run folder to write (must not exist)"))
    parser.add_argument("--mapping", metavar="FILE.json", help=_("JSON object: source column -> role or meaning"))
    parser.add_argument("--db", default=None, help=_("review database (file path or SQLAlchemy URL): carry the "
                                                     "base run's approvals over"))
    parser.add_argument("--user", default=None, help=_("with --db: carry over as this user (password from "
                                                       "PERSONAS_PASSWORD or prompt); default: the operator"))
    parser.add_argument("--share-shift", type=float, default=None, metavar="PP",
                        help=_("percentage points a persona's share may move before it goes back to review "
                               "(default 5)"))
    parser.set_defaults(func=apply_command)


def apply_command(args: argparse.Namespace) -> int:
    from application.apply import apply_run
    from application.cli_run import load_checked_portfolio
    from application.drift import DriftThresholds

    if os.path.lexists(args.out):
        raise UserError(Message(N_("--out {folder} exists already; a run is never written over another. "
                                   "Choose a new folder."), folder=args.out))
    if not Path(args.run_dir).is_dir():
        raise UsageError(Message(N_("{folder}: run directory not found."), folder=args.run_dir))
    if args.user is not None and args.db is None:
        raise UsageError(Message(N_("--user needs --db (the review database the approvals are in).")))
    thresholds = DriftThresholds()
    if args.share_shift is not None:
        if not 0 < args.share_shift < 100:
            raise UsageError(Message(N_("--share-shift must be between 0 and 100 percentage points, not {value}."),
                                     value=str(args.share_shift)))
        thresholds = DriftThresholds(share_shift=args.share_shift / 100)
    from runs import open_run

    open_run(args.run_dir)  # a run that does not verify stops here, before the file is read
    portfolio = load_checked_portfolio(args.file, args.mapping)
    store = actor = None
    if args.db is not None:
        from strategy.auth import operator_user
        from strategy.cli import _sign_in
        from strategy.store import ReviewStore

        store = ReviewStore(args.db)
        actor = _sign_in(store, args.user) if args.user else operator_user()
    try:
        result = apply_run(args.run_dir, portfolio, out_dir=args.out, store=store, actor=actor,
                           thresholds=thresholds, progress=_progress)
    finally:
        if store is not None:
            store.close()
    _summary(result, args)
    return 0


def _progress(stage: str, fraction: float) -> None:
    print(f"  [{fraction:4.0%}] {stage}", file=sys.stderr, flush=True)


def _summary(result, args: argparse.Namespace) -> None:
    from application.cycle_views import drift_reasons, shown_texts

    drift = result.drift
    print(_("{file}: {n} accounts (base run {run}: {base}), assigned with the base run's models").format(
        file=args.file, n=format_count(drift["accounts"]["new"]), run=result.base_run_id,
        base=format_count(drift["accounts"]["base"])))
    for p in drift["personas"]:
        flag = _("REVIEW") if p["review_needed"] else _("ok")
        print(f"  {p['persona_id']:>3}  {format_percent(p['base_share']):>6} → {format_percent(p['new_share']):>6} "
              f"(95% {format_percent(p['low'])}–{format_percent(p['high'])})  {flag:6}  {p['name']}")
    far = drift["far_from_every_persona"]
    print("  " + _("far from every persona: {base} → {new}").format(base=format_percent(far["base_share"]),
                                                                    new=format_percent(far["share"])))
    risk = drift["risk"]
    if risk.get("available"):
        print("  " + _("risk score: mean {base} → {new}, PSI {psi}").format(
            base=format_number(risk["mean_base"], decimals=3), new=format_number(risk["mean_new"], decimals=3),
            psi=format_number(risk["score_psi"], decimals=3)))
    shifted = [f"{f['feature']} {format_number(f['psi'])}" for f in drift["features"] if f["level"] != "stable"]
    if shifted:
        print("  " + _("features that moved (PSI): {features}").format(features=", ".join(shifted[:6])))
    if drift["review_needed"]:
        print(_("review needed: yes"))
        for reason in drift_reasons(drift):
            print(f"  - {reason}")
    else:
        print(_("review needed: no (nothing drifted beyond the thresholds)"))
    for warning in shown_texts(drift.get("warnings"), drift.get("warnings_text")):
        print("  " + _("note: {note}").format(note=warning))
    carry = result.carry
    if carry is not None:
        print(_("approvals carried over: {carried}; back to review: {review}; not approved in the base run: "
                "{not_approved}").format(carried=_ids(carry.get("carried")), review=_ids(carry.get("review")),
                                         not_approved=_ids(carry.get("not_approved_in_base"))))
    else:
        print(_("approvals: not carried over (no --db given)"))
    print(_("wrote {folder} (run {run}, parent {parent}) with drift.json").format(
        folder=result.path, run=result.run_id, parent=result.base_run_id))
    db = f" --db {args.db}" if args.db else ""
    if result.drift["review_needed"]:
        print(_("next: review the personas sent back ({command}), then a manager approves them").format(
            command=f"personas review list --run {result.path}{db} --user U"))
    # The month's scores and reasons are new outputs of the model: compliance signs them off per run.
    print(_("next: compliance signs off this month's model use ({command})").format(
        command=f"personas review sign-off-model --run {result.path}{db} --user U"))
    print(_("next: {command}").format(
        command=f"personas export --run {result.path} --level accounts --format csv --out EXPORT.csv{db}"))


def _ids(values) -> str:
    return ", ".join(map(str, values)) if values else _("none")
