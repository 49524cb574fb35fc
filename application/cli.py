"""The command line: ``python -m personas <command> ...``.

Each package contributes its subcommands through a ``register(subparsers)`` function that adds a
parser and sets ``func`` (a callable taking the parsed namespace and returning an exit code).
User errors (:class:`core.errors.UserError`) become one line per problem on stderr and exit
code 1 (2 for usage errors); they never show a traceback.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core.errors import UsageError, UserError

from application import cli_edit, cli_run
from portfolio import cli as portfolio_cli
from sample_data import cli as sample_cli
from strategy import cli as strategy_cli

# Modules that register subcommands, in the order they appear in --help.
COMMAND_MODULES = (sample_cli, portfolio_cli, cli_run, cli_edit, strategy_cli)


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except UsageError as err:
        for line in err.lines:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except UserError as err:
        for line in err.lines:
            print(f"error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
