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
    parser.add_argument("--base", metavar="FILE",
                        help="write the month after FILE (a portfolio this command wrote) for the same accounts: "
                             "some paid and gone, the rest 30 days further past due, new accounts arriving")
    parser.add_argument("--month", type=int, default=2, help="with --base: which month FILE is followed by "
                                                             "(default 2; part of the seed)")
    parser.add_argument("--new-share", type=float, default=0.05, metavar="SHARE",
                        help="with --base: new accounts beyond replacing those that left, as a share of FILE "
                             "(default 0.05)")
    parser.add_argument("--shift", action="append", default=[], metavar="ARCHETYPE=SHARE",
                        help="with --base: make ARCHETYPE (e.g. over_indebted) SHARE of the new file, to test "
                             "drift; repeatable")
    parser.set_defaults(func=run_sample)

    payments = subparsers.add_parser(
        "sample-payments",
        help="write a payments file with a planted challenger effect for an exported month",
        description="Write what was paid in the month after an account-level export with arms "
                    "(champion/challenger/holdout): for one archetype the challenger's pay probability is "
                    "higher by --effect. --truth writes the true challenger - champion difference per persona.")
    payments.add_argument("--export", required=True, metavar="EXPORT.csv|json",
                          help="account-level export with account_id, persona_id and arm")
    payments.add_argument("--portfolio", required=True, metavar="FILE",
                          help="the portfolio the exported run was made from (written by `personas sample`)")
    payments.add_argument("--out", required=True, metavar="PAYMENTS.csv|parquet")
    payments.add_argument("--truth", metavar="TRUTH.json", help="write the true differences per persona here")
    payments.add_argument("--archetype", default="temporarily_strained", help="archetype with the planted effect")
    payments.add_argument("--effect", type=float, default=0.10,
                          help="challenger minus champion pay probability for that archetype (default 0.10)")
    payments.add_argument("--seed", type=int, default=42)
    payments.add_argument("--start", default="2027-01-01", metavar="YYYY-MM-DD", help="first day of the month paid in")
    payments.add_argument("--language", choices=("en", "de"), default="en",
                          help="headers and format: en (account_id, paid_on, amount) or de (Aktenzeichen; "
                               "Zahlungsdatum dd.mm.yyyy; Betrag with decimal comma; cp1252)")
    payments.set_defaults(func=run_payments)


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
    if args.base is not None:
        return _next_month(args, out)
    if args.shift:
        raise UsageError("--shift needs --base (it moves an archetype's share in next month's file)")
    frame = generate_portfolio(args.rows, args.seed, language=args.language,
                               plant_disparity=args.plant_disparity)
    write_portfolio(frame, out)
    print(f"wrote {len(frame):,} accounts to {out}", file=sys.stderr)
    return 0


def _shifts(values: list[str]) -> dict[str, float]:
    shifts = {}
    for text in values:
        name, _, share = text.partition("=")
        try:
            shifts[name.strip()] = float(share)
        except ValueError:
            raise UsageError(f"--shift {text!r}: write ARCHETYPE=SHARE, e.g. over_indebted=0.25") from None
    return shifts


def _next_month(args: argparse.Namespace, out: Path) -> int:
    from sample_data.monthly import next_month, read_generated

    base = read_generated(args.base)
    frame = next_month(base, args.seed, month=args.month, new_share=args.new_share, shift=_shifts(args.shift))
    write_portfolio(frame, out)
    print(f"wrote month {args.month}: {len(frame):,} accounts ({len(base):,} in {args.base}) to {out}",
          file=sys.stderr)
    return 0


def run_payments(args: argparse.Namespace) -> int:
    """Payments with a planted challenger effect, and (with --truth) the true differences."""
    import json

    from sample_data.monthly import payment_truth, payments, read_export, read_generated, write_payments

    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise UsageError(f"--out {args.out}: give a .csv or .parquet file name.")
    export = read_export(args.export)
    portfolio = read_generated(args.portfolio)
    paid = payments(portfolio, export, args.seed, archetype=args.archetype, effect=args.effect, start=args.start)
    if args.truth:
        truth = payment_truth(portfolio, export, archetype=args.archetype, effect=args.effect)
        Path(args.truth).write_text(json.dumps(truth, indent=2), encoding="utf-8")
    write_payments(paid, out, language=args.language)
    print(f"wrote {len(paid):,} payments of {len(export):,} exported accounts to {out}"
          + (f" and the truth to {args.truth}" if args.truth else ""), file=sys.stderr)
    return 0
