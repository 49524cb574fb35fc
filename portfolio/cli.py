"""``personas validate FILE [--mapping FILE.json] [--sheet NAME] [--max-mb N]``.

Prints the detected column roles (column, role, reason) and the validation report on stdout.
Exit codes: 0 when the portfolio is usable and has no blocking errors; 1 when it has blocking
errors (one line per problem on stderr; rows with errors are excluded) or cannot be read; 2 for
usage errors (missing file, bad option values).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import UsageError
from portfolio.load import load_portfolio
from portfolio.read import DEFAULT_MAX_BYTES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand."""
    parser = subparsers.add_parser(
        "validate", help="check a portfolio file and show the detected column roles",
        description="Read a portfolio (CSV, XLSX or Parquet), detect column roles and validate it. "
                    "Exit 0 when usable without errors, 1 on blocking errors, 2 on usage errors.")
    parser.add_argument("file", metavar="FILE", help="portfolio file (.csv, .xlsx or .parquet)")
    parser.add_argument("--mapping", metavar="FILE.json",
                        help='JSON object mapping source columns to roles, e.g. {"Akte": "account_id"}')
    parser.add_argument("--sheet", metavar="NAME", help="Excel sheet (default: the first)")
    parser.add_argument("--max-mb", type=float, default=DEFAULT_MAX_BYTES / 2**20, metavar="N",
                        help="refuse files larger than N MB (default %(default)g)")
    parser.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    """Run ``validate``; returns the exit code."""
    path = Path(args.file)
    if not path.exists():
        raise UsageError(f"{args.file}: file not found.")
    if not path.is_file():
        raise UsageError(f"{args.file}: is not a file.")
    if args.mapping is not None and not Path(args.mapping).is_file():
        raise UsageError(f"{args.mapping}: mapping file not found.")
    if not args.max_mb > 0:
        raise UsageError(f"--max-mb must be a positive number of megabytes, not {args.max_mb:g}.")
    portfolio = load_portfolio(path, mapping=args.mapping, sheet=args.sheet,
                               max_bytes=int(args.max_mb * 2**20))
    print(f"{portfolio.source_name}: {_describe_read(portfolio)}")
    print("columns:")
    table = portfolio.roles.to_frame()
    width = max((len(str(c)) for c in table["source_column"]), default=6)
    for row in table.itertuples(index=False):
        print(f"  {str(row.source_column):<{width}}  {row.role:<13}  {row.reason}")
    print("report:")
    lines = portfolio.report.lines()
    for line in lines:
        print(f"  {line}")
    if portfolio.report.errors:
        for problem in portfolio.report.errors:
            print(f"error: {problem.message}", file=sys.stderr)
        return 1
    return 0


def _describe_read(portfolio) -> str:
    read = portfolio.read
    if read is None:
        return "in memory"
    parts = [read.file_format]
    if read.encoding:
        parts.append(f"encoding {read.encoding}")
    if read.delimiter:
        parts.append(f"delimiter {read.delimiter!r}")
    parts.append(f"{portfolio.report.n_rows_read:,} rows, {len(read.frame.columns)} columns")
    return ", ".join(parts)
