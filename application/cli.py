"""The command line: ``python -m personas <command> ...``.

Each package contributes its subcommands through a ``register(subparsers)`` function that adds a
parser and sets ``func`` (a callable taking the parsed namespace and returning an exit code).
User errors (:class:`core.errors.UserError`) become one line per problem on stderr and exit
code 1 (2 for usage errors); they never show a traceback. Messages may quote names and reasons
people typed, so control characters are shown as escapes (:func:`core.text.terminal_safe`).
A full disk or another operating-system error is one line too (exit 1).

Messages, help texts and errors are in the language of ``--language`` (before the command, or after
any command that has no ``--language`` of its own), else ``PERSONAS_LANGUAGE``, else English:
``personas validate FILE --language de``, ``personas --language de run FILE ...`` (``run --language``
and ``sample --language`` name the language of persona names and columns). ``--json`` output stays
English and locale-free.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import contextmanager

from core.errors import UsageError, UserError
from core.i18n import LANGUAGES, N_, _, configure_cli_language
from core.text import terminal_safe

from application import cli_apply, cli_edit, cli_run
from portfolio import cli as portfolio_cli
from sample_data import cli as sample_cli
from strategy import cli as strategy_cli
from strategy import cli_outcomes

# Modules that register subcommands, in the order they appear in --help.
COMMAND_MODULES = (sample_cli, portfolio_cli, cli_run, cli_edit, cli_apply, strategy_cli, cli_outcomes)


#: Where the option of the messages' language is kept (``run --language`` is the persona names').
LANGUAGE_DEST = "cli_language"
LANGUAGE_HELP = N_("language of messages and help: en or de (default: PERSONAS_LANGUAGE, else en)")
#: argparse's own words (usage, option groups, its errors), translated through the app's catalogue.
ARGPARSE_TEXTS = (N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
                  N_("the following arguments are required: %s"), N_("unrecognized arguments: %s"),
                  N_("invalid choice: %(value)r (choose from %(choices)s)"), N_("expected one argument"),
                  N_("argument %(argument_name)s: %(message)s"), N_("invalid %(type)s value: %(value)r"))


def _argparse_gettext(message: str) -> str:
    return _(message) if message in ARGPARSE_TEXTS else message


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors: exit 2 with one line, no traceback
        self.print_usage(sys.stderr)
        print(_("{prog}: error: {message}").format(prog=self.prog, message=message), file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, its help in the current language (:func:`core.i18n.configure_cli_language`
    first). Every command takes ``--language`` for its messages, unless it has a ``--language`` of
    its own (``run``, ``sample``); before the command it always means the messages."""
    argparse._ = _argparse_gettext  # argparse looks its words up through its module's `_`
    parser = _Parser(
        prog="personas",
        description=_("Debt-collection personas, explained risk scores and human-approved strategies."),
    )
    parser.add_argument("--language", dest=LANGUAGE_DEST, choices=tuple(LANGUAGES), metavar="LANG",
                        help=_(LANGUAGE_HELP))
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    _add_language_options(parser)
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _own_language(parser: argparse.ArgumentParser) -> bool:
    """Whether ``parser`` has a ``--language`` that is not the messages' (persona names, sample columns)."""
    return any("--language" in action.option_strings and action.dest != LANGUAGE_DEST for action in parser._actions)


def _add_language_options(parser: argparse.ArgumentParser) -> None:
    """``--language`` on every command without one of its own; it never overwrites the one given
    before the command (``default=SUPPRESS``)."""
    for child in _subparsers(parser).values():
        if not _own_language(child) and not any("--language" in a.option_strings for a in child._actions):
            child.add_argument("--language", dest=LANGUAGE_DEST, choices=tuple(LANGUAGES), metavar="LANG",
                               default=argparse.SUPPRESS, help=_(LANGUAGE_HELP))
        _add_language_options(child)


def requested_language(argv: Sequence[str], parser: argparse.ArgumentParser | None = None) -> str | None:
    """The messages' language named on the command line (``None``: none), read before the full parse
    so that help texts and usage errors are in it too."""
    parser = parser or build_parser()
    tokens = list(argv)
    current, chosen, i = parser, None, 0
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            break
        if token == "--language" or token.startswith("--language="):
            value = token.split("=", 1)[1] if "=" in token else (tokens[i + 1] if i + 1 < len(tokens) else None)
            if value is not None and not _own_language(current):
                chosen = value
            i += 1 if "=" in token else 2
            continue
        children = _subparsers(current)
        if not token.startswith("-") and token in children:
            current = children[token]
        i += 1
    return chosen


@contextmanager
def _sigterm_unwinds():
    """While a command runs, SIGTERM (a service manager, ``kill``) unwinds like Ctrl-C, so
    ``finally`` blocks remove temporary files and stop child processes; SIGKILL cannot be caught
    (docs/security.md says what is left then)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    with _sigterm_unwinds():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `run --language` and `sample --language` name the language of persona names and columns, not of the
    # messages: for those the messages' language is given before the command, or by PERSONAS_LANGUAGE.
    configure_cli_language(requested_language(argv, build_parser()))
    parser = build_parser()  # again, so that the help texts are in the chosen language
    args = parser.parse_args(argv)
    configure_cli_language(getattr(args, LANGUAGE_DEST, None))
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code = int(args.func(args) or 0)
        if code == 0 and args.command == "run":
            _record_discovery_run(args)
        return code
    except UsageError as err:
        print_errors(err.lines)
        return 2
    except UserError as err:
        print_errors(err.lines)
        return 1
    except OSError as err:  # a full disk, a read-only folder: one line, no traceback
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print_errors([f"{err.strerror or err}{where}"])
        return 1
    except KeyboardInterrupt:
        print(_("interrupted"), file=sys.stderr)
        return 130


def print_errors(lines) -> None:
    """``error: ...`` on stderr, one line per problem, in the current language (``Fehler: ...``)."""
    for line in lines:
        print(_("error: {message}").format(message=terminal_safe(line)), file=sys.stderr)


def _record_discovery_run(args: argparse.Namespace) -> None:
    """Record a saved ``personas run`` in the review database's audit log (``run_created``), as
    the operating-system account that ran it. ``cli_run`` writes the run; the audit trail is the
    review store's, so the entry is written here, once the run folder exists and verifies."""
    from strategy.auth import operator_user
    from strategy.run_view import load_run_view
    from strategy.store import ReviewStore

    try:
        store = ReviewStore()
        store.record_run(operator_user(), load_run_view(args.out))
        store.close()
    except UserError as err:
        print(_("warning: the run was saved but not recorded in the audit log: {reason}").format(
            reason=terminal_safe(err)), file=sys.stderr)
