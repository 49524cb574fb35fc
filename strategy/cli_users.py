"""``personas users …``: the review database's users from the command line.

Every change needs an administrator's sign-in (``--admin NAME``, password from
``PERSONAS_ADMIN_PASSWORD`` or the prompt). The one exception is the *first* administrator of an
empty database, which the operating-system account running the command creates (``users add NAME
--role admin`` while no user exists), recorded as ``operator:uid=…``; ``users setup-token`` prints
a one-time token for creating it in the app instead. The new user's password comes from
``PERSONAS_PASSWORD`` or the prompt, never from a flag.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys

from core.errors import Message, UsageError, UserError
from core.i18n import N_, _
from core.text import terminal_safe
from strategy.auth import ROLES, User, operator_user

ADMIN_PASSWORD_ENV = "PERSONAS_ADMIN_PASSWORD"
NEW_PASSWORD_ENV = "PERSONAS_NEW_PASSWORD"


def register_users(subparsers: argparse._SubParsersAction, db_arg, missing_action) -> None:
    """Add ``users`` with its actions (``db_arg`` adds ``--db``)."""
    users = subparsers.add_parser(
        "users", help=_("manage the review database's users (needs an administrator's sign-in)"),
        description=_("Add, list, change, disable, enable, remove and reset users. Every change "
                      "needs --admin NAME (an administrator's sign-in), except creating the first "
                      "administrator of an empty database."))
    actions = users.add_subparsers(dest="users_command", metavar="ACTION", parser_class=type(users))

    def action(name: str, help_: str, func, *, role: bool = False, admin: bool = True):
        parser = actions.add_parser(name, help=help_)
        parser.add_argument("name", help=_("user name (letters, digits, . _ @ + -)"))
        if role:
            parser.add_argument("--role", required=True, choices=ROLES,
                                help=_("analyst proposes; manager approves; compliance signs off and "
                                       "may veto; admin manages users"))
        if admin:
            _admin_arg(parser)
        db_arg(parser)
        parser.set_defaults(func=func)
        return parser

    add = action("add", _("add a user (password from PERSONAS_PASSWORD or prompt)"), run_users_add,
                 role=True)
    add.add_argument("--person", default=None,
                     help=_("the person behind this identity (e-mail or employee id; default: the "
                            "user name); identities of one person never review each other's work"))
    add.add_argument("--sso", action="store_true",
                     help=_("a single sign-on identity (its e-mail as the name): no password"))
    action("set-role", _("give a user another role (ends their sessions)"), run_users_set_role,
           role=True)
    action("disable", _("disable a user (ends their sessions)"), run_users_disable)
    action("enable", _("enable a disabled user"), run_users_enable)
    action("remove", _("remove a user (their audit entries stay)"), run_users_remove)
    action("reset-password", _("set a new password (PERSONAS_PASSWORD or prompt)"),
           run_users_reset_password)
    action("unlock", _("clear a user name's failed sign-ins"), run_users_unlock)
    action("passwd", _("change your own password (current: PERSONAS_PASSWORD, new: {variable}, or the "
                       "prompt)").format(variable=NEW_PASSWORD_ENV), run_users_passwd, admin=False)
    listing = actions.add_parser("list", help=_("list users, roles and flagged identities"))
    db_arg(listing)
    listing.set_defaults(func=run_users_list)
    token = actions.add_parser("setup-token",
                               help=_("print a one-time token that creates the first administrator "
                                      "in the app (only while no user exists)"))
    db_arg(token)
    token.set_defaults(func=run_users_setup_token)
    users.set_defaults(func=lambda _args: missing_action(users))


def _admin_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--admin", default=None, metavar="ADMIN",
                        help=_("sign in as this administrator (password from {variable} or the prompt)").format(
                            variable=ADMIN_PASSWORD_ENV))


def _secret(env: str, prompt: str, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value is not None:
        return value
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError(Message(N_("no password: set {variable} or run in a terminal to be asked"), variable=env))
    value = getpass.getpass(prompt)
    if confirm and getpass.getpass(_("Repeat the password: ")) != value:
        raise UserError(Message(N_("the two passwords differ")))
    return value


def _store(args: argparse.Namespace):
    from strategy.store import ReviewStore

    return ReviewStore(args.db)


def _admin(store, args: argparse.Namespace) -> User:
    """Sign in the administrator named by ``--admin``."""
    if not args.admin:
        raise UsageError(Message(N_("this needs an administrator's sign-in: add --admin NAME (password from "
                                    "{variable} or the prompt)"), variable=ADMIN_PASSWORD_ENV))
    user = store.sign_in(args.admin, _secret(ADMIN_PASSWORD_ENV, _("Password of {user}: ").format(user=args.admin)))
    if user is None:
        raise UserError(Message(N_("could not sign in as {user}: unknown or disabled user, or wrong password"),
                                user=args.admin))
    if user.role != "admin":
        raise UserError(Message(N_("{user} is {role}, not an administrator"), user=args.admin, role=user.role))
    return user


def run_users_add(args: argparse.Namespace) -> int:
    """``users add NAME --role ROLE``: an administrator's command, or the first administrator."""
    store = _store(args)
    password = None if args.sso else _secret("PERSONAS_PASSWORD", _("Password for {user}: ").format(user=args.name),
                                             confirm=True)
    if store.count_users() == 0 and not args.admin:
        if args.role != "admin":
            raise UserError(Message(N_("the database has no user yet: create the first administrator first "
                                       "(users add NAME --role admin)")))
        user = store.create_first_admin(args.name, password, operator=operator_user(),
                                        person=args.person)
        print(_("added {user} (admin), the first administrator; recorded as created by {operator}").format(
            user=user.username, operator=operator_user().username))
        return 0
    user = store.add_user(_admin(store, args), args.name, args.role, password, person=args.person)
    print(_("added {user} ({role})").format(user=user.username, role=user.role))
    _print_conflicts(store)
    return 0


def run_users_set_role(args: argparse.Namespace) -> int:
    store = _store(args)
    store.set_role(_admin(store, args), args.name, args.role)
    print(_("{user} is now {role}; their open sessions ended").format(user=args.name, role=args.role))
    _print_conflicts(store)
    return 0


def run_users_disable(args: argparse.Namespace) -> int:
    store = _store(args)
    store.set_disabled(_admin(store, args), args.name, True)
    print(_("{user} is disabled; their open sessions ended").format(user=args.name))
    return 0


def run_users_enable(args: argparse.Namespace) -> int:
    store = _store(args)
    store.set_disabled(_admin(store, args), args.name, False)
    print(_("{user} can sign in again").format(user=args.name))
    return 0


def run_users_remove(args: argparse.Namespace) -> int:
    store = _store(args)
    store.remove_user(_admin(store, args), args.name)
    print(_("{user} is removed; their past actions stay in the audit log").format(user=args.name))
    return 0


def run_users_reset_password(args: argparse.Namespace) -> int:
    store = _store(args)
    admin = _admin(store, args)
    store.set_password(admin, args.name, _secret("PERSONAS_PASSWORD",
                                                 _("New password for {user}: ").format(user=args.name),
                                                 confirm=True))
    print(_("password of {user} reset; their open sessions ended").format(user=args.name))
    return 0


def run_users_unlock(args: argparse.Namespace) -> int:
    store = _store(args)
    store.unlock(_admin(store, args), args.name)
    print(_("failed sign-ins of {user} cleared").format(user=args.name))
    return 0


def run_users_passwd(args: argparse.Namespace) -> int:
    store = _store(args)
    current = _secret("PERSONAS_PASSWORD", _("Current password of {user}: ").format(user=args.name))
    user = store.sign_in(args.name, current)
    if user is None:
        raise UserError(Message(N_("could not sign in as {user}: unknown or disabled user, or wrong password"),
                                user=args.name))
    store.change_own_password(user, current, _secret(NEW_PASSWORD_ENV, _("New password: "),
                                                     confirm=True))
    print(_("password of {user} changed").format(user=args.name))
    return 0


def run_users_list(args: argparse.Namespace) -> int:
    store = _store(args)
    for row in store.list_users():
        state = _("disabled") if row["disabled"] else _("active")
        print(terminal_safe(f"{row['username']}\t{row['role']}\t{state}\t"
                            + _("person {person}").format(person=row.get("person") or row["username"]) + "\t"
                            + _("added {time} by {user}").format(time=row["created_at"], user=row["created_by"])))
    _print_conflicts(store)
    return 0


def run_users_setup_token(args: argparse.Namespace) -> int:
    store = _store(args)
    token = store.issue_setup_token(operator_user())
    print(_("setup token (one use, valid {hours} hours): {token}").format(
        hours=f"{store.security.setup_token_hours:g}", token=token))
    print(_("Open the app and create the first administrator with it."), file=sys.stderr)
    return 0


def _print_conflicts(store) -> None:
    for line in store.role_conflicts():
        print(terminal_safe(_("FLAG: {problem}").format(problem=line)), file=sys.stderr)
