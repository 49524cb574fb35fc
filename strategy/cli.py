"""Subcommands ``users``, ``review``, ``export`` and ``audit`` of ``python -m personas``.

Passwords are read from ``PERSONAS_PASSWORD`` or asked at the prompt, never taken from a flag.
Refusals and bad input raise :class:`~core.errors.UserError` (exit 1) or
:class:`~core.errors.UsageError` (exit 2); the dispatcher prints them without a traceback.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from core.errors import UsageError, UserError
from core.text import terminal_safe
from strategy.auth import User, operator_user

PASSWORD_ENV = "PERSONAS_PASSWORD"
AUTOMATION_BIAS = ("Reminder: the proposal is generated from data. Check the evidence and the "
                   "guardrails yourself; do not approve because the system suggested it.")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``users``, ``review``, ``export`` and ``audit`` subcommands."""
    _register_users(subparsers)
    _register_review(subparsers)
    _register_export(subparsers)
    _register_audit(subparsers)


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None,
                        help="review database: a file path or a SQLAlchemy URL "
                             "(default: PERSONAS_DB_URL or personas.db in the workspace)")


def _register_users(subparsers: argparse._SubParsersAction) -> None:
    from strategy.cli_users import register_users

    register_users(subparsers, _db_arg, _missing_action)


def _register_review(subparsers: argparse._SubParsersAction) -> None:
    review = subparsers.add_parser(
        "review", help="list, propose, approve or reject persona strategies (four-eyes)",
        description="Review persona -> strategy mappings. The password of --user is read from "
                    "PERSONAS_PASSWORD or asked at the prompt. Whoever proposed or last edited a "
                    "mapping cannot approve it.")
    review.add_argument("action", choices=("list", "propose", "approve", "reject"))
    _db_arg(review)
    review.add_argument("--run", required=True, help="run directory (run.json, personas.json, ...)")
    review.add_argument("--persona", type=int, default=None,
                        help="persona id (required for approve and reject; propose without it "
                             "proposes every persona without an open proposal)")
    review.add_argument("--user", required=True, help="your user name")
    review.add_argument("--reason", default=None, help="why (required for reject)")
    review.add_argument("--portfolio", default=None,
                        help="portfolio file of the run: adds contact-history evidence to "
                             "proposals and per-account facts to the guardrails")
    review.set_defaults(func=run_review)


def _register_export(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser(
        "export", help="export approved mappings (csv, xlsx, json) with provenance",
        description="Export only approved mappings; refused (exit 1, with the reasons) while any "
                    "persona is unapproved, a guardrail fails or the kill switch is on.")
    _db_arg(export)
    export.add_argument("--run", required=True, help="run directory")
    export.add_argument("--format", required=True, choices=("csv", "xlsx", "json"))
    export.add_argument("--level", default="personas", choices=("personas", "accounts"),
                        help="one row per persona (default) or per account for a dialler")
    export.add_argument("--out", required=True, help="output file")
    export.add_argument("--user", default=None,
                        help="sign in as this user (password from PERSONAS_PASSWORD or prompt); "
                             "without it the export is recorded as the operating-system user")
    export.add_argument("--portfolio", default=None,
                        help="portfolio file: per-account guardrails (opt-outs, disputes, small or "
                             "time-barred balances) at --level accounts")
    export.add_argument("--include-column", action="append", default=[], dest="include_columns",
                        metavar="COLUMN", help="add a portfolio column (e.g. contact data: PII) "
                                               "to the account file; repeatable")
    export.set_defaults(func=run_export)


def _register_audit(subparsers: argparse._SubParsersAction) -> None:
    audit_parser = subparsers.add_parser("audit", help="verify or list the audit log")
    actions = audit_parser.add_subparsers(dest="audit_command", metavar="ACTION",
                                          parser_class=type(audit_parser))
    verify = actions.add_parser(
        "verify", help="check the hash chain, its anchor outside the database, and that the "
                       "tables agree with the log (exit 0 intact, 1 not)")
    _db_arg(verify)
    verify.add_argument("--export", default=None, metavar="FILE",
                        help="also check an exported file (or its .provenance.json) against the "
                             "log: unchanged since export, approvals as the log records them")
    verify.set_defaults(func=run_audit_verify)
    listing = actions.add_parser("list", help="print audit entries")
    _db_arg(listing)
    listing.add_argument("--user", default=None)
    listing.add_argument("--action", default=None)
    listing.add_argument("--run-id", default=None)
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=run_audit_list)
    audit_parser.set_defaults(func=lambda _args: _missing_action(audit_parser))


def _missing_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


# --- helpers -----------------------------------------------------------------------------------
def _store(args: argparse.Namespace):
    from strategy.store import ReviewStore

    return ReviewStore(args.db)


def _password(prompt: str, confirm: bool = False) -> str:
    password = os.environ.get(PASSWORD_ENV)
    if password is not None:
        return password
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError(f"no password: set {PASSWORD_ENV} or run in a terminal to be asked")
    password = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat the password: ") != password:
        raise UserError("the two passwords differ")
    return password


def _sign_in(store, username: str) -> User:
    user = store.sign_in(username, _password(f"Password for {username}: "))  # lockout applies
    if user is None:
        raise UserError(f"could not sign in as {username}: unknown or disabled user, or wrong "
                        "password")
    return user


def _portfolio(path: str | None):
    if path is None:
        return None
    from portfolio.load import load_portfolio

    loaded = load_portfolio(Path(path))
    if not loaded.report.is_usable:
        raise UserError(f"{path} cannot be used", lines=loaded.report.lines())
    return loaded.frame


# --- commands ----------------------------------------------------------------------------------
def run_review(args: argparse.Namespace) -> int:
    """``review list|propose|approve|reject``."""
    from strategy.run_view import load_run_view

    if args.action in ("approve", "reject") and args.persona is None:
        raise UsageError(f"review {args.action} needs --persona ID: each persona's strategy is "
                         "reviewed on its own")
    if args.action == "reject" and not (args.reason or "").strip():
        raise UsageError("review reject needs --reason TEXT")
    run = load_run_view(args.run)
    if args.persona is not None:
        run.profile(args.persona)
    store = _store(args)
    user = _sign_in(store, args.user)
    portfolio = _portfolio(args.portfolio)
    if args.action == "list":
        return _review_list(store, run, portfolio, args.persona)
    if args.action == "propose":
        return _review_propose(store, run, user, portfolio, args.persona)
    mapping = store.get_mapping(run, args.persona, portfolio)
    if args.action == "approve":
        print(AUTOMATION_BIAS, file=sys.stderr)
        mapping = store.approve(user, run, args.persona, expected_version=mapping.version,
                                portfolio=portfolio)
        print(f"persona {args.persona} ({terminal_safe(mapping.persona_name)}): approved by "
              f"{user.username}; approval {mapping.approval_hash[:12]}")
    else:
        mapping = store.reject(user, run, args.persona, args.reason,
                               expected_version=mapping.version)
        print(f"persona {args.persona} ({terminal_safe(mapping.persona_name)}): rejected by "
              f"{user.username}: {terminal_safe(mapping.reason)}")
    return 0


def _review_list(store, run, portfolio, persona: int | None) -> int:
    by_id = {m.persona_id: m for m in store.list_mappings(run, portfolio)}
    for pid in ([persona] if persona is not None else run.persona_ids):
        name = terminal_safe(run.profile(pid).get("name", ""))  # names and reasons are typed text
        mapping = by_id.get(pid)
        if mapping is None:
            print(f"{pid}\t{name}\tno strategy")
            continue
        s = mapping.strategy
        failed = [r.rule_id for r in mapping.guardrails if not r.passed]
        print(f"{pid}\t{name}\t{mapping.state} v{mapping.version}\t{s.channel} {s.tone} {s.offer} "
              f"escalation={s.escalation}\tproposed by {mapping.proposed_by}"
              + (f"\tapproved by {mapping.approved_by}" if mapping.approved_by else "")
              + (f"\treason: {terminal_safe(mapping.reason)}" if mapping.reason else "")
              + (f"\tGUARDRAILS FAILED: {', '.join(failed)}" if failed else "\tguardrails ok"))
    return 0


def _review_propose(store, run, user: User, portfolio, persona: int | None) -> int:
    from strategy.context import roles_of_run
    from portfolio.currency import currency_of_run
    from strategy.proposals import propose_strategies

    proposals = propose_strategies(run.profiles, run.accounts if portfolio is not None else None,
                                   portfolio, store.settings, roles=roles_of_run(run.meta),
                                   currency=currency_of_run(run.meta))
    for proposal in proposals:
        if persona is not None and proposal.persona_id != persona:
            continue
        current = store.find_mapping(run, proposal.persona_id)
        if persona is None and current is not None and current.state in ("proposed", "approved"):
            print(f"persona {proposal.persona_id} ({terminal_safe(proposal.persona_name)}): already "
                  f"{current.state}, left as it is")
            continue
        mapping = store.propose(user, run, proposal.persona_id, proposal.strategy,
                                expected_version=current.version if current else None,
                                evidence=proposal.evidence)
        print(f"persona {proposal.persona_id} ({terminal_safe(proposal.persona_name)}): proposed "
              f"{terminal_safe(mapping.strategy.rationale)}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """``export``: exit 1 with the reasons when refused."""
    from strategy.export import export_mappings
    from strategy.run_view import load_run_view

    run = load_run_view(args.run)
    store = _store(args)
    user = _sign_in(store, args.user) if args.user else operator_user()
    portfolio = _portfolio(args.portfolio)
    if args.include_columns and portfolio is None:
        raise UsageError("--include-column needs --portfolio")
    if args.level == "accounts" and portfolio is None:
        print("note: without --portfolio, per-account guardrails (opt-outs, disputes, small or "
              "time-barred balances) are not applied", file=sys.stderr)
    result = export_mappings(store, run, user, fmt=args.format, out=Path(args.out),
                             level=args.level, portfolio=portfolio,
                             include_columns=args.include_columns)
    print(f"exported {result.rows} {args.level} rows to {result.path} (sha256 {result.sha256})")
    if result.provenance_path:
        print(f"provenance: {result.provenance_path}")
    return 0


def run_audit_verify(args: argparse.Namespace) -> int:
    """``audit verify [--export FILE]``: exit 0 when intact, 1 naming what is wrong."""
    from strategy.audit import verify_chain
    from strategy.reconcile import reconcile

    if args.db and "://" not in str(args.db) and not Path(args.db).exists():
        raise UserError(f"there is no review database at {args.db}")
    store = _store(args)
    result = verify_chain(store)
    if not result.ok:
        print(f"error: {terminal_safe(result.message)}", file=sys.stderr)
        return 1
    print(result.message)
    problems = reconcile(store)
    for line in problems:
        print(f"error: the database and the audit log disagree: {terminal_safe(line)}",
              file=sys.stderr)
    if args.export:
        from strategy.export_check import check_export

        checked = check_export(store, args.export)
        for line in checked.lines:
            print(terminal_safe(line) if checked.ok else f"error: {terminal_safe(line)}",
                  file=sys.stdout if checked.ok else sys.stderr)
        if not checked.ok:
            return 1
    return 1 if problems else 0


def run_audit_list(args: argparse.Namespace) -> int:
    entries = _store(args).audit_entries(user=args.user, action=args.action, run_id=args.run_id,
                                         limit=args.limit, newest_first=True)
    for e in entries:
        print(terminal_safe(f"{e.seq}\t{e.time}\t{e.user} ({e.role})\t{e.action}\t"
                            f"{e.run_id or ''}\t{'' if e.persona_id is None else e.persona_id}\t"
                            f"{e.details}").replace("\\t", "\t"))
    return 0
