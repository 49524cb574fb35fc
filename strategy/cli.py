"""Subcommands ``users``, ``review``, ``export`` and ``audit`` of ``python -m personas``.

Passwords are read from ``PERSONAS_PASSWORD`` or asked at the prompt, never taken from a flag.
Refusals and bad input raise :class:`~core.errors.UserError` (exit 1) or
:class:`~core.errors.UsageError` (exit 2); the dispatcher prints them without a traceback.
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from core.errors import Message, UsageError, UserError
from core.formats import format_count, format_percent
from core.i18n import N_, _
from core.text import terminal_safe
from strategy.auth import PermissionDenied, User, operator_user
from strategy.catalogue import CHANNELS
from strategy.texts import render, render_stored

PASSWORD_ENV = "PERSONAS_PASSWORD"
AUTOMATION_BIAS = N_("Reminder: the proposal is generated from data. Check the evidence and the "
                     "guardrails yourself; do not approve because the system suggested it.")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``users``, ``review``, ``export`` and ``audit`` subcommands."""
    _register_users(subparsers)
    _register_review(subparsers)
    _register_export(subparsers)
    _register_audit(subparsers)


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None,
                        help=_("review database: a file path or a SQLAlchemy URL "
                               "(default: PERSONAS_DB_URL or personas.db in the workspace)"))


def _register_users(subparsers: argparse._SubParsersAction) -> None:
    from strategy.cli_users import register_users

    register_users(subparsers, _db_arg, _missing_action)


REVIEW_ACTIONS = ("list", "show", "propose", "approve", "reject", "lift-veto", "override",
                  "overrides", "approve-override", "decline-override", "clear-account", "queue",
                  "sign-off-model", "end-experiment")
REVIEW_HELP = N_("""\
Review persona -> strategy mappings. The password of --user is read from PERSONAS_PASSWORD or
asked at the prompt. Whoever proposed or last edited a mapping cannot approve it.

  list [--json]                   every persona: evidence, guardrails, share of accounts and
                                  balance, state, version and version hash
  show PERSONA [--json]           the same for one persona
  propose [PERSONA]               propose strategies (analyst)
  approve PERSONA --version N     approve exactly the version you were shown (or --hash H,
                                  at least 12 hex digits); a stale one is refused
  reject PERSONA --reason R       reject; by compliance a veto (unless --no-veto) that blocks
                                  approval of every later version until compliance lifts it
  lift-veto PERSONA --reason R    compliance lifts its veto
  override ACCOUNT --reason R [--persona P] [--channel C]
                                  another persona and/or channel for one account: pending
                                  until a second person approves it
  overrides                       the run's account overrides with their status
  approve-override ID             the second person approves an override
  decline-override ID --reason R  drop a pending override
  clear-account ACCOUNT --reason R
                                  release a needs_review account after looking at it
  queue [--json]                  accounts an account-level export holds back, with the reason

Champion/challenger experiments (list and show print them under the persona):
""")


def _review_help() -> str:
    from strategy.cli_challenger import CHALLENGER_HELP

    return _(REVIEW_HELP) + _(CHALLENGER_HELP)


def _register_review(subparsers: argparse._SubParsersAction) -> None:
    review = subparsers.add_parser(
        "review", help=_("list, show, propose, approve or reject persona strategies (four-eyes); "
                         "vetoes, account overrides and the review queue"),
        description=_review_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    review.add_argument("action", choices=REVIEW_ACTIONS)
    review.add_argument("target", nargs="?", default=None,
                        help=_("persona id (show, approve, reject, lift-veto, propose), account id "
                               "(override, clear-account) or override id (approve-override, "
                               "decline-override)"))
    _db_arg(review)
    review.add_argument("--run", required=True, help=_("run directory (run.json, personas.json, ...)"))
    review.add_argument("--persona", type=int, default=None,
                        help=_("persona id (instead of TARGET); for override: the persona to move "
                               "the account to"))
    review.add_argument("--account", default=None, help=_("account id (instead of TARGET)"))
    review.add_argument("--override", type=int, default=None, dest="override_id",
                        help=_("override id (instead of TARGET), as `review overrides` prints it"))
    review.add_argument("--version", type=int, default=None,
                        help=_("approve: the version number `review show` printed"))
    review.add_argument("--hash", default=None, dest="version_hash",
                        help=_("approve: the version hash `review show` printed (a prefix of at "
                               "least 12 hex digits will do)"))
    review.add_argument("--channel", default=None, choices=CHANNELS,
                        help=_("override: contact the account only by this channel"))
    review.add_argument("--no-veto", action="store_true",
                        help=_("reject as compliance without a standing veto"))
    review.add_argument("--json", action="store_true", help=_("list, show, queue: print JSON"))
    review.add_argument("--user", required=True, help=_("your user name"))
    review.add_argument("--reason", default=None,
                        help=_("why (required for reject, lift-veto, override, decline-override and "
                               "clear-account)"))
    review.add_argument("--portfolio", default=None,
                        help=_("portfolio file of the run: adds contact-history evidence to "
                               "proposals and per-account facts to the guardrails (default: the "
                               "portfolio kept in the run folder, when there is one)"))
    from strategy.cli_challenger import add_challenger_arguments

    add_challenger_arguments(review)
    review.set_defaults(func=run_review)


def _register_export(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser(
        "export", help=_("export approved mappings (csv, xlsx, json) with provenance"),
        description=_("Export only approved mappings; refused (exit 1, with the reasons) while any "
                      "persona is unapproved, a guardrail fails or the kill switch is on."))
    _db_arg(export)
    export.add_argument("--run", required=True, help=_("run directory"))
    export.add_argument("--format", required=True, choices=("csv", "xlsx", "json"))
    export.add_argument("--level", default="personas", choices=("personas", "accounts"),
                        help=_("one row per persona (default) or per account for a dialler"))
    export.add_argument("--out", required=True, help=_("output file"))
    export.add_argument("--user", default=None,
                        help=_("sign in as this user (password from PERSONAS_PASSWORD or prompt); "
                               "without it the export is recorded as the operating-system user"))
    export.add_argument("--portfolio", default=None,
                        help=_("portfolio file: per-account guardrails (opt-outs, disputes, small or "
                               "time-barred balances) at --level accounts"))
    export.add_argument("--include-column", action="append", default=[], dest="include_columns",
                        metavar="COLUMN", help=_("add a portfolio column (e.g. contact data: PII) "
                                                 "to the account file; repeatable"))
    export.set_defaults(func=run_export)


def _register_audit(subparsers: argparse._SubParsersAction) -> None:
    audit_parser = subparsers.add_parser("audit", help=_("verify or list the audit log"))
    actions = audit_parser.add_subparsers(dest="audit_command", metavar="ACTION",
                                          parser_class=type(audit_parser))
    verify = actions.add_parser(
        "verify", help=_("check the hash chain, its anchor outside the database, and that the "
                         "tables agree with the log (exit 0 intact, 1 not)"))
    _db_arg(verify)
    verify.add_argument("--export", default=None, metavar="FILE",
                        help=_("also check an exported file (or its .provenance.json) against the "
                               "log: unchanged since export, approvals as the log records them"))
    verify.set_defaults(func=run_audit_verify)
    listing = actions.add_parser("list", help=_("print audit entries"))
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
        raise UsageError(Message(N_("no password: set {variable} or run in a terminal to be asked"),
                                 variable=PASSWORD_ENV))
    password = getpass.getpass(prompt)
    if confirm and getpass.getpass(_("Repeat the password: ")) != password:
        raise UserError(Message(N_("the two passwords differ")))
    return password


def _sign_in(store, username: str) -> User:
    user = store.sign_in(username, _password(_("Password for {user}: ").format(user=username)))  # lockout applies
    if user is None:
        raise UserError(Message(N_("could not sign in as {user}: unknown or disabled user, or wrong password"),
                                user=username))
    return user


def _portfolio(path: str | None):
    if path is None:
        return None
    from portfolio.load import load_portfolio

    loaded = load_portfolio(Path(path))
    if not loaded.report.is_usable:
        raise UserError(Message(N_("{file} cannot be used"), file=path),
                        lines=loaded.report.lines(language=None))
    return loaded.frame


# --- review commands ---------------------------------------------------------------------------
NEEDS_REASON = ("reject", "lift-veto", "override", "decline-override", "clear-account", "sign-off-model")
PERSONA_ACTIONS = ("list", "show", "propose", "approve", "reject", "lift-veto", "end-experiment")


def run_review(args: argparse.Namespace) -> int:
    """``review ACTION``: see ``review --help``."""
    from strategy.run_view import load_run_view

    _check_review_args(args)
    run = load_run_view(args.run)
    if args.persona is not None:
        run.profile(args.persona)
    store = _store(args)
    user = _sign_in(store, args.user)
    if args.challenger:
        from strategy.cli_challenger import run_challenger

        return run_challenger(store, run, user, args, _review_portfolio(args, run))
    if args.action in ("list", "show"):
        return _review_list(store, run, _review_portfolio(args, run), args.persona, args.json)
    if args.action == "queue":
        return _review_queue(store, run, args.json)
    if args.action == "propose":
        return _review_propose(store, run, user, _review_portfolio(args, run), args.persona)
    if args.action in ("approve", "reject", "lift-veto"):
        return _review_decide(store, run, user, args)
    if args.action == "sign-off-model":  # compliance: the model card, SHAP and fairness were checked
        store.sign_off_model(user, run, args.reason)
        print(_("run {run}: model and explanations signed off by {user}").format(run=run.run_id, user=user.username))
        return 0
    return _review_accounts(store, run, user, args)


def _check_review_args(args: argparse.Namespace) -> None:
    """Fold TARGET into --persona / --account / --override and check what each action needs."""
    action = args.action
    if action in PERSONA_ACTIONS and args.target is not None:
        if args.persona is not None:
            raise UsageError(Message(N_("review {action}: give the persona once (TARGET or --persona)"),
                                     action=action))
        args.persona = _number(args.target, Message(N_("review {action}: persona"), action=action))
    elif action in ("override", "clear-account"):
        args.account = args.account or args.target
        if not args.account:
            raise UsageError(Message(N_("review {action} needs an account id (`review {action} ACCOUNT`)"),
                                     action=action))
    elif action in ("approve-override", "decline-override"):
        if args.override_id is None and args.target is not None:
            args.override_id = _number(args.target, Message(N_("review {action}: override id"), action=action))
        if args.override_id is None:
            raise UsageError(Message(N_("review {action} needs the override id `review overrides` prints"),
                                     action=action))
    elif args.target is not None:
        raise UsageError(Message(N_("review {action} takes no {value}"), action=action, value=repr(args.target)))
    if action in ("show", "approve", "reject", "lift-veto") and args.persona is None:
        raise UsageError(Message(N_("review {action} needs --persona ID (or `review {action} ID`): each "
                                    "persona's strategy is reviewed on its own"), action=action))
    if action in NEEDS_REASON and not (args.reason or "").strip():
        raise UsageError(Message(N_("review {action} needs --reason TEXT"), action=action))
    if action == "override" and args.persona is None and args.channel is None:
        raise UsageError(Message(N_("review override needs --persona P and/or --channel C")))
    if args.json and action not in ("list", "show", "queue"):
        raise UsageError(Message(N_("review {action} has no --json output"), action=action))
    from strategy.cli_challenger import check_challenger_args

    check_challenger_args(args)


def _number(text: str, what: Message) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(Message(N_("{what} {value} is not a number"), what=what, value=repr(text))) from None


def _review_portfolio(args: argparse.Namespace, run):
    """The portfolio the run folder keeps (verified; a --portfolio file must be that same data), else
    --portfolio for a run saved before runs kept one, else ``None``."""
    from strategy.run_view import check_portfolio_matches

    kept = getattr(run, "portfolio", None)
    if args.portfolio and kept is not None:
        check_portfolio_matches(run, args.portfolio)
        return kept
    if args.portfolio:
        return _portfolio(args.portfolio)
    return kept


def _review_list(store, run, portfolio, persona: int | None, as_json: bool) -> int:
    """``review list`` / ``review show``: what a reviewer judges, per persona."""
    from strategy.mapping_view import review_record
    from strategy.review_queue import held_accounts, review_plan

    by_id = {m.persona_id: m for m in store.list_mappings(run, portfolio)}
    experiments = store.list_experiments(run, portfolio)
    held = held_accounts(store, run.run_id, review_plan(run, store))
    persona_of = dict(zip(run.accounts["account_id"].astype(str),
                          run.accounts["persona_id"].astype(int)))
    held_per_persona = held["account_id"].map(persona_of).value_counts().to_dict()
    records = []
    for pid in [persona] if persona is not None else run.persona_ids:
        record = review_record(run, by_id.get(pid), pid)
        record["held_for_review"] = int(held_per_persona.get(pid, 0))
        record["guardrails_basis"] = "accounts" if portfolio is not None else "persona profile"
        record["experiment"] = experiments[pid].to_dict() if pid in experiments else None
        records.append(record)
    if as_json:
        print(json.dumps(records, ensure_ascii=False, indent=2))
        return 0
    if portfolio is None:
        print(_("note: guardrails checked against the persona profiles only (no portfolio: give "
                "--portfolio for per-account facts)"))
    for record in records:
        for line in _record_lines(record, full=persona is not None):
            print(line)
    return 0


def _percent(share: float | None) -> str:
    return _("unknown") if share is None else format_percent(share)


def _record_lines(record: dict, *, full: bool) -> list[str]:
    """The text block of one persona: a tab-separated head line, then evidence and guardrails.

    Every text a person typed or a file brought (names, reasons, evidence) is shown with control
    characters as escapes (:func:`terminal_safe`)."""
    ts = terminal_safe
    pid, name = record["persona_id"], ts(record["persona_name"])
    shares = _("{accounts_share} of accounts ({accounts}), {balance_share} of balance").format(
        accounts_share=_percent(record["share_accounts"]), accounts=format_count(record["accounts"]),
        balance_share=_percent(record["share_balance"]))
    if record["state"] == "none":
        return [f"{pid}\t{name}\t{_('no strategy')}\t{shares}"]
    s, guardrails = record["strategy"], record["guardrails"]
    failed = [g["rule_id"] for g in guardrails if not g["passed"]]
    digest = record["hash"] if full else (record["hash"] or "")[:16]
    head = (f"{pid}\t{name}\t{record['state']} v{record['version']}\thash {digest}\t{shares}\t"
            f"{s['channel']} {s['tone']} {s['offer']} escalation={s['escalation']}\t"
            + _("proposed by {user}").format(user=record["proposed_by"])
            + ("\t" + _("approved by {user}").format(user=record["approved_by"]) if record["approved_by"] else "")
            + ("\t" + _("reason: {reason}").format(reason=ts(record["reason"])) if record["reason"] else "")
            + ("\t" + _("GUARDRAILS FAILED: {rules}").format(rules=", ".join(failed)) if failed
               else "\t" + _("guardrails ok")))
    lines = [head]
    veto = record.get("veto")
    if veto:
        lines.append("  " + _("VETO by {user} at {time}: {reason} (stands until compliance lifts it: review "
                              "lift-veto)").format(user=veto["vetoed_by"], time=veto["vetoed_at"],
                                                   reason=ts(veto["reason"])))
    if record["held_for_review"]:
        lines.append("  " + _("{n} account(s) held from account-level export until a person clears them (review "
                              "queue)").format(n=format_count(record["held_for_review"])))
    if s.get("rationale"):
        lines.append("  " + _("rationale: {text}").format(text=ts(s["rationale"])))
    lines += ["  " + _("evidence: {text}").format(text=ts(render(line)))
              for line in record["evidence"] or [_("none recorded")]]
    lines += [f"  {'ok  ' if g['passed'] else 'FAIL'} {ts(render_stored(g['message'], g.get('text')))}"
              for g in guardrails]
    if full and record["state"] == "proposed":
        lines.append("  " + _("to approve exactly this: {command}   (or --hash {digest})").format(
            command=f"review approve {pid} --version {record['version']}", digest=(record["hash"] or "")[:16]))
    from strategy.cli_challenger import experiment_lines

    return lines + experiment_lines(record.get("experiment"), full=full)


def _review_decide(store, run, user: User, args: argparse.Namespace) -> int:
    """``approve``, ``reject`` and ``lift-veto`` of one persona's mapping."""
    pid = args.persona
    if args.action == "lift-veto":
        veto = store.lift_veto(user, run, pid, args.reason)
        print(_("persona {persona}: the compliance veto by {vetoed_by} is lifted by {user}: {reason}").format(
            persona=pid, vetoed_by=terminal_safe(veto.vetoed_by), user=user.username,
            reason=terminal_safe(veto.lift_reason)))
        return 0
    if args.action == "reject":
        mapping = store.get_mapping(run, pid)
        mapping = store.reject(user, run, pid, args.reason, expected_version=mapping.version,
                               veto=False if args.no_veto else None)
        if mapping.veto:
            text = _("persona {persona} ({name}): rejected by {user} (compliance veto: stands until compliance "
                     "lifts it): {reason}")
        else:
            text = _("persona {persona} ({name}): rejected by {user}: {reason}")
        print(text.format(persona=pid, name=terminal_safe(mapping.persona_name), user=user.username,
                          reason=terminal_safe(mapping.reason)))
        return 0
    print(_(AUTOMATION_BIAS), file=sys.stderr)
    try:
        mapping = store.approve(user, run, pid, expected_version=args.version,
                                expected_hash=args.version_hash,
                                portfolio=_review_portfolio(args, run))
    except UserError as refused:
        if args.version is None and args.version_hash is None \
                and not isinstance(refused, PermissionDenied):
            raise UsageError(refused.message, lines=[*refused._lines, Message(N_(
                "review approve needs --version N (or --hash H) as `review show {persona}` prints "
                "them: you approve exactly the version you looked at"), persona=str(pid))]) from None
        raise
    print(_("persona {persona} ({name}): version {version} approved by {user}; approval {approval}").format(
        persona=pid, name=terminal_safe(mapping.persona_name), version=mapping.version - 1, user=user.username,
        approval=mapping.approval_hash[:12]))
    return 0


def _review_accounts(store, run, user: User, args: argparse.Namespace) -> int:
    """``override``, ``overrides``, ``approve-override``, ``decline-override``, ``clear-account``."""
    if args.action == "overrides":
        return _print_overrides(store, run)
    if args.action == "override":
        strategy = None
        if args.channel is not None:
            pid = args.persona if args.persona is not None else run.persona_of(args.account)
            mapping = store.find_mapping(run, pid) if pid is not None else None
            if mapping is None:
                raise UserError(Message(N_("account {account}: its persona has no strategy to change "
                                           "the channel of"), account=args.account))
            strategy = mapping.strategy.with_changes(channel=args.channel)
        override_id = store.override_account(user, run, args.account, reason=args.reason,
                                             persona_id=args.persona, strategy=strategy)
        print(_("override {override} of account {account} recorded by {user}; it counts once a second person "
                "approves it ({command})").format(override=override_id, account=terminal_safe(args.account),
                                                  user=user.username,
                                                  command=f"review approve-override {override_id}"))
        return 0
    if args.action == "approve-override":
        row = store.approve_override(user, run, args.override_id, args.reason or "")
        print(_("override {override} of account {account} (recorded by {recorded_by}) approved by {user}; the "
                "account-level export applies it").format(override=args.override_id,
                                                          account=terminal_safe(row["account_id"]),
                                                          recorded_by=row["created_by"], user=user.username))
        return 0
    if args.action == "decline-override":
        row = store.decline_override(user, run, args.override_id, args.reason)
        print(_("override {override} of account {account} declined by {user}").format(
            override=args.override_id, account=terminal_safe(row["account_id"]), user=user.username))
        return 0
    clearance = store.clear_account(user, run, args.account, args.reason)
    print(_("account {account} cleared for export by {user} (clearance {clearance})").format(
        account=terminal_safe(args.account), user=user.username, clearance=clearance))
    return 0



def _print_overrides(store, run) -> int:
    from strategy.review_queue import override_change, override_status_text

    overrides = store.override_list(run.run_id)
    if overrides.empty:
        print(_("run {run} has no account overrides").format(run=run.run_id))
    for o in overrides.itertuples(index=False):
        status = render(override_status_text(o.status))
        if o.decided_by:
            status = _("{status} by {user} at {time}").format(status=status, user=o.decided_by, time=o.decided_at)
        print("\t".join((str(o.id), _("account {account}").format(account=terminal_safe(o.account_id)),
                         render(override_change(o)), status,
                         _("recorded by {user} at {time}").format(user=o.created_by, time=o.created_at),
                         _("reason: {reason}").format(reason=terminal_safe(o.reason)))))
    return 0


def _review_queue(store, run, as_json: bool) -> int:
    """``review queue``: the accounts an account-level export holds back, and why."""
    from strategy.review_queue import held_accounts, review_plan

    held = held_accounts(store, run.run_id, review_plan(run, store))
    if as_json:
        print(held.to_json(orient="records", force_ascii=False))
        return 0
    print(_("{n} account(s) held from account-level export").format(n=format_count(len(held))))
    for account_id, reason in zip(held["account_id"], held["reason"]):
        print(f"{terminal_safe(account_id)}\t{terminal_safe(render(reason))}")
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
            print(_("persona {persona} ({name}): already {state}, left as it is").format(
                persona=proposal.persona_id, name=terminal_safe(proposal.persona_name), state=current.state))
            continue
        mapping = store.propose(user, run, proposal.persona_id, proposal.strategy,
                                expected_version=current.version if current else None,
                                evidence=proposal.evidence)
        print(_("persona {persona} ({name}): proposed {rationale}").format(
            persona=proposal.persona_id, name=terminal_safe(proposal.persona_name),
            rationale=terminal_safe(mapping.strategy.rationale)))
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
        raise UsageError(Message(N_("--include-column needs --portfolio")))
    result = export_mappings(store, run, user, fmt=args.format, out=Path(args.out),
                             level=args.level, portfolio=portfolio,
                             include_columns=args.include_columns)
    print(_("exported {n} {level} rows to {file} (sha256 {sha256})").format(
        n=format_count(result.rows), level=args.level, file=result.path, sha256=result.sha256))
    if result.provenance_path:
        print(_("provenance: {file}").format(file=result.provenance_path))
    return 0


def run_audit_verify(args: argparse.Namespace) -> int:
    """``audit verify [--export FILE]``: exit 0 when intact, 1 naming what is wrong."""
    from strategy.audit import verify_chain
    from strategy.reconcile import reconcile

    if args.db and "://" not in str(args.db) and not Path(args.db).exists():
        raise UserError(Message(N_("there is no review database at {db}"), db=args.db))
    store = _store(args)
    result = verify_chain(store)
    if not result.ok:
        print(_("error: {message}").format(message=terminal_safe(result.message)), file=sys.stderr)
        return 1
    print(result.message)
    problems = reconcile(store)
    for line in problems:
        print(_("error: the database and the audit log disagree: {problem}").format(problem=terminal_safe(line)),
              file=sys.stderr)
    if args.export:
        from strategy.export_check import check_export

        checked = check_export(store, args.export)
        for line in checked.lines:
            print(terminal_safe(render(line)) if checked.ok else
                  _("error: {message}").format(message=terminal_safe(render(line))),
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
