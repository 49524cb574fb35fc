"""``python -m personas sample``: write a synthetic portfolio to .csv, .parquet or .xlsx."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import UsageError
from sample_data.generator import SUPPORTED_SUFFIXES, generate_portfolio, write_portfolio

MAX_ROWS = 20_000_000  # beyond this the frame no longer fits comfortably in memory


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sample`` subcommand."""
    parser = subparsers.add_parser(
        "sample",
        help="write a synthetic collections portfolio with planted personas",
        description="Write a synthetic German/EU collections portfolio (seeded: the same arguments give "
                    "the same file). Columns in English, or German ERP names with --language de "
                    "(a .csv then uses ';', decimal comma and cp1252).",
    )
    parser.add_argument("--rows", type=int, default=5000, help="number of accounts (default 5000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--out", required=True, help="output file: .csv, .parquet or .xlsx")
    parser.add_argument("--language", choices=("en", "de"), default="en",
                        help="column names: en (canonical) or de (German ERP export)")
    parser.add_argument("--plant-disparity", action="store_true",
                        help="make risk depend on gender (for fairness-audit tests only)")
    parser.set_defaults(func=run_sample)


def run_sample(args: argparse.Namespace) -> int:
    """Generate and write the portfolio; raise UsageError/UserError for bad input."""
    if args.rows <= 0:
        raise UsageError(f"--rows must be a positive number of accounts, got {args.rows}")
    if args.rows > MAX_ROWS:
        raise UsageError(f"--rows {args.rows:,} is more than the supported {MAX_ROWS:,}")
    out = Path(args.out)
    if out.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UsageError(f"--out {args.out}: unsupported file type {out.suffix or '(none)'!r}; "
                         f"use one of {', '.join(SUPPORTED_SUFFIXES)}")
    frame = generate_portfolio(args.rows, args.seed, language=args.language,
                               plant_disparity=args.plant_disparity)
    write_portfolio(frame, out)
    print(f"wrote {len(frame):,} accounts to {out}", file=sys.stderr)
    return 0
