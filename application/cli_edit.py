"""``personas edit RUN_DIR --rename ID NAME | --merge ID ID … | --split ID | --reduce N | --keep-apart ID ID COLUMN
--user NAME --out NEW_DIR``.

An analyst's edit from the command line, the same operation the Personas page performs: it writes a
*new* run (its own id, ``parent_run_id`` = the edited run, who and when in ``run.json``), so edits can
be reproduced and reviewed outside the app and approvals of the original run are never touched.
Merges, splits and reductions recompute profiles on the run's own portfolio: the copy the run keeps
(``portfolio.parquet``), or, for a run saved before runs kept one, ``--portfolio`` (checked against
the run's data hash); a rename needs nothing else. ``--keep-apart`` records the decision that two
personas the run's verdict names as told apart only by whether COLUMN has a value differ in behaviour
(:mod:`personas.missing_cuts`); it needs nothing else either. The new run keeps the same portfolio copy.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from core.errors import Message, UsageError, UserError
from core.formats import format_count, format_percent
from core.i18n import N_, _


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``edit`` subcommand."""
    edit = subparsers.add_parser(
        "edit", help=_("rename, merge, split or reduce personas of a run, or keep two apart; writes a new run"),
        description=_("Apply one analyst edit to the run in RUN_DIR and write the result as a new run "
                      "(own id, parent = RUN_DIR's run) to --out. The original run is left as it is."))
    edit.add_argument("run_dir", metavar="RUN_DIR",
                      help=_("a run folder written by `personas run` or an earlier edit"))
    action = edit.add_mutually_exclusive_group(required=True)
    action.add_argument("--rename", nargs=2, metavar=("ID", "NAME"), help=_("give persona ID a new name"))
    action.add_argument("--merge", nargs="+", type=int, metavar="ID",
                        help=_("merge two or more personas into one"))
    action.add_argument("--split", type=int, metavar="ID", help=_("split persona ID (into --parts parts)"))
    action.add_argument("--reduce", type=int, metavar="N",
                        help=_("merge the most similar personas until N remain"))
    action.add_argument("--keep-apart", nargs=3, metavar=("ID", "ID", "COLUMN"),
                        help=_("decide that two personas told apart only by whether COLUMN has a value differ in "
                               "behaviour (the run's verdict names such pairs)"))
    edit.add_argument("--parts", type=int, default=2, metavar="K",
                      help=_("with --split: number of parts (default 2)"))
    edit.add_argument("--name", metavar="NAME", help=_("with --merge: name of the merged persona"))
    edit.add_argument("--user", required=True, metavar="NAME", help=_("who makes the edit (recorded in the run)"))
    edit.add_argument("--out", required=True, metavar="NEW_RUN_DIR",
                      help=_("folder for the new run (must not exist)"))
    edit.add_argument("--portfolio", metavar="FILE",
                      help=_("the run's portfolio file; merge, split and reduce need it only for a run that "
                             "does not keep its portfolio (runs saved before they did)"))
    edit.add_argument("--mapping", metavar="FILE.json", help=_("the role mapping the run was made with"))
    edit.set_defaults(func=edit_command)


def edit_command(args: argparse.Namespace) -> int:
    from application.pipeline import apply_edit, load_run
    from personas import edits

    if os.path.lexists(args.out):
        raise UserError(Message(N_("--out {folder} exists already; an edit is written as a new run folder."),
                                folder=args.out))
    user = " ".join(str(args.user).split())
    if not user:
        raise UsageError(Message(N_("--user must name who makes the edit.")))
    run = load_run(Path(args.run_dir))
    if args.rename:
        persona_id = _persona_id(args.rename[0])
        edit = edits.rename(persona_id, args.rename[1], user=user)
    elif args.merge:
        edit = edits.merge(args.merge, user=user, name=args.name)
    elif args.split is not None:
        edit = edits.split(args.split, args.parts, user=user, seed=int(run.meta["seed"]))
    elif args.keep_apart:
        ids = [_persona_id(value, "--keep-apart") for value in args.keep_apart[:2]]
        edit = edits.keep_apart(ids, args.keep_apart[2], user=user)
    else:
        edit = edits.reduce(args.reduce, user=user)
    portfolio = _portfolio(args) if args.portfolio else None
    if portfolio is None and edit["action"] not in ("rename", "keep_apart") and run.portfolio is None:
        raise UsageError(Message(N_("--{action} recomputes the persona profiles and run {run} does not keep its "
                                    "portfolio: give it with --portfolio FILE (and --mapping if the run used one)."),
                                 action=edit["action"], run=run.run_id))
    updated = apply_edit(run, edit, portfolio)
    out = updated.save(Path(args.out), created_by=user)
    _record_edit(out, edit)
    print(_("run {run} (edit of {base} by {user}): {action}; {n} personas").format(
        run=updated.run_id, base=run.run_id, user=user, action=edit["action"],
        n=format_count(updated.meta["metrics"]["personas"])))
    for profile in updated.profiles:
        print(f"  {profile['persona_id']:>3}  {format_percent(profile['share_accounts']):>6}  {profile['name']}")
    from personas.names import display_names
    from personas.views import settled_verdict

    print("  " + settled_verdict(updated.meta["metrics"], names=display_names(updated.profiles))[1])
    print(_("wrote {folder}").format(folder=out))
    return 0


def _record_edit(out: Path, edit: dict) -> None:
    """The edit is an audit entry of the review database (``persona_edited``), made by the
    operating-system account that ran the command; ``--user`` is recorded with it as typed."""
    from strategy.auth import operator_user
    from strategy.run_view import load_run_view
    from strategy.store import ReviewStore

    store = ReviewStore()
    try:
        store.record_run(operator_user(), load_run_view(out), edit=edit)
    finally:
        store.close()


def _persona_id(text: str, option: str = "--rename") -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(Message(N_("{option}: {value} is not a persona id (a whole number)."),
                                 option=option, value=repr(text))) from None


def _portfolio(args: argparse.Namespace):
    from application.cli_run import load_checked_portfolio

    return load_checked_portfolio(args.portfolio, args.mapping)
