"""The command line: ``python -m personas <command> ...``.

Each package contributes its subcommands through a ``register(subparsers)`` function that adds a
parser and sets ``func`` (a callable taking the parsed namespace and returning an exit code).
User errors (:class:`core.errors.UserError`) become one line per problem on stderr and exit
code 1 (2 for usage errors); they never show a traceback. Messages may quote names and reasons
people typed, so control characters are shown as escapes (:func:`core.text.terminal_safe`).
A full disk or another operating-system error is one line too (exit 1).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import contextmanager

from core.errors import UsageError, UserError
from core.text import terminal_safe

from application import cli_apply, cli_edit, cli_run
from portfolio import cli as portfolio_cli
from sample_data import cli as sample_cli
from strategy import cli as strategy_cli
from strategy import cli_outcomes

# Modules that register subcommands, in the order they appear in --help.
COMMAND_MODULES = (sample_cli, portfolio_cli, cli_run, cli_edit, cli_apply, strategy_cli, cli_outcomes)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors: exit 2 with one line, no traceback
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="personas",
        description="Debt-collection personas, explained risk scores and human-approved strategies.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


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
    from core.i18n import configure_cli_language

    parser = build_parser()
    args = parser.parse_args(argv)
    # `run --language` and `sample --language` name the language of persona names and columns, not of the
    # messages: the command line's own language comes from PERSONAS_LANGUAGE only.
    configure_cli_language(None)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code = int(args.func(args) or 0)
        if code == 0 and args.command == "run":
            _record_discovery_run(args)
        return code
    except UsageError as err:
        for line in err.lines:
            print(f"error: {terminal_safe(line)}", file=sys.stderr)
        return 2
    except UserError as err:
        for line in err.lines:
            print(f"error: {terminal_safe(line)}", file=sys.stderr)
        return 1
    except OSError as err:  # a full disk, a read-only folder: one line, no traceback
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print(f"error: {terminal_safe(err.strerror or err)}{terminal_safe(where)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


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
        print(f"warning: the run was saved but not recorded in the audit log: "
              f"{terminal_safe(err)}", file=sys.stderr)
