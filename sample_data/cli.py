"""``python -m personas sample``: write a synthetic portfolio to .csv, .parquet or .xlsx."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import Message, UsageError
from core.i18n import N_, _
from core.formats import format_count

MAX_ROWS = 20_000_000  # beyond this the frame no longer fits comfortably in memory


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sample`` subcommand."""
    parser = subparsers.add_parser(
        "sample",
        help=_("write a synthetic collections portfolio with planted personas"),
        description=_("Write a synthetic German/EU collections portfolio (seeded: the same arguments give "
                      "the same file). Columns in English, or German ERP names with --language de "
                      "(a .csv then uses ';', decimal comma and cp1252)."),
    )
    parser.add_argument("--rows", type=int, default=5000, help=_("number of accounts (default 5000)"))
    parser.add_argument("--seed", type=int, default=42, help=_("random seed (default 42)"))
    parser.add_argument("--out", required=True, help=_("output file: .csv, .parquet or .xlsx"))
    parser.add_argument("--language", choices=("en", "de"), default="en",
                        help=_("column names: en (canonical) or de (German ERP export)"))
    parser.add_argument("--plant-disparity", action="store_true",
                        help=_("make risk depend on gender (for fairness-audit tests only)"))
    parser.add_argument("--base", metavar="FILE",
                        help=_("write the month after FILE (a portfolio this command wrote) for the same accounts: "
                               "some paid and gone, the rest 30 days further past due, new accounts arriving"))
    parser.add_argument("--month", type=int, default=2,
                        help=_("with --base: which month FILE is followed by (default 2; part of the seed)"))
    parser.add_argument("--new-share", type=float, default=0.05, metavar="SHARE",
                        help=_("with --base: new accounts beyond replacing those that left, as a share of FILE "
                               "(default 0.05)"))
    parser.add_argument("--shift", action="append", default=[], metavar="ARCHETYPE=SHARE",
                        help=_("with --base: make ARCHETYPE (e.g. over_indebted) SHARE of the new file, to test "
                               "drift; repeatable"))
    parser.set_defaults(func=run_sample)

    payments = subparsers.add_parser(
        "sample-payments",
        help=_("write a payments file with a planted challenger effect for an exported month"),
        description=_("Write what was paid in the month after an account-level export with arms "
                      "(champion/challenger/holdout): for one archetype the challenger's pay probability is "
                      "higher by --effect. --truth writes the true challenger - champion difference per persona."))
    payments.add_argument("--export", required=True, metavar="EXPORT.csv|json",
                          help=_("account-level export with account_id, persona_id and arm"))
    payments.add_argument("--portfolio", required=True, metavar="FILE",
                          help=_("the portfolio the exported run was made from (written by `personas sample`)"))
    payments.add_argument("--out", required=True, metavar="PAYMENTS.csv|parquet")
    payments.add_argument("--truth", metavar="TRUTH.json", help=_("write the true differences per persona here"))
    payments.add_argument("--archetype", default="temporarily_strained", help=_("archetype with the planted effect"))
    payments.add_argument("--effect", type=float, default=0.10,
                          help=_("challenger minus champion pay probability for that archetype (default 0.10)"))
    payments.add_argument("--seed", type=int, default=42)
    payments.add_argument("--start", default="2027-01-01", metavar="YYYY-MM-DD",
                          help=_("first day of the month paid in"))
    payments.add_argument("--language", choices=("en", "de"), default="en",
                          help=_("headers and format: en (account_id, paid_on, amount) or de (Aktenzeichen; "
                                 "Zahlungsdatum dd.mm.yyyy; Betrag with decimal comma; cp1252)"))
    payments.set_defaults(func=run_payments)


def run_sample(args: argparse.Namespace) -> int:
    """Generate and write the portfolio; raise UsageError/UserError for bad input."""
    if args.rows <= 0:
        raise UsageError(Message(N_("--rows must be a positive number of accounts, got {rows}"), rows=str(args.rows)))
    if args.rows > MAX_ROWS:
        raise UsageError(Message(N_("--rows {rows} is more than the supported {limit}"), rows=args.rows,
                                 limit=MAX_ROWS))
    from sample_data.generator import SUPPORTED_SUFFIXES, generate_portfolio  # numpy and pandas only here

    out = Path(args.out)
    if out.suffix.lower() not in SUPPORTED_SUFFIXES:
        suffixes = ", ".join(SUPPORTED_SUFFIXES)
        if not out.suffix:
            raise UsageError(Message(N_("--out {file}: unsupported file type '(none)'; use one of {suffixes}"),
                                     file=args.out, suffixes=suffixes))
        raise UsageError(Message(N_("--out {file}: unsupported file type {suffix}; use one of {suffixes}"),
                                 file=args.out, suffix=repr(out.suffix), suffixes=suffixes))
    if args.base is not None:
        return _next_month(args, out)
    if args.shift:
        raise UsageError(Message(N_("--shift needs --base (it moves an archetype's share in next month's file)")))
    frame = generate_portfolio(args.rows, args.seed, language=args.language,
                               plant_disparity=args.plant_disparity)
    _write(frame, out)
    print(_("wrote {n} accounts to {file}").format(n=format_count(len(frame)), file=out), file=sys.stderr)
    return 0


def _write(frame, out: Path) -> None:
    from sample_data.generator import write_portfolio

    write_portfolio(frame, out)


def _shifts(values: list[str]) -> dict[str, float]:
    shifts = {}
    for text in values:
        name, _sep, share = text.partition("=")
        try:
            shifts[name.strip()] = float(share)
        except ValueError:
            raise UsageError(Message(N_("--shift {text}: write ARCHETYPE=SHARE, e.g. over_indebted=0.25"),
                                     text=repr(text))) from None
    return shifts


def _next_month(args: argparse.Namespace, out: Path) -> int:
    from sample_data.monthly import next_month, read_generated

    base = read_generated(args.base)
    frame = next_month(base, args.seed, month=args.month, new_share=args.new_share, shift=_shifts(args.shift))
    _write(frame, out)
    print(_("wrote month {month}: {n} accounts ({base_n} in {base}) to {file}").format(
        month=args.month, n=format_count(len(frame)), base_n=format_count(len(base)), base=args.base, file=out),
        file=sys.stderr)
    return 0


def run_payments(args: argparse.Namespace) -> int:
    """Payments with a planted challenger effect, and (with --truth) the true differences."""
    import json

    from sample_data.monthly import payment_truth, payments, read_export, read_generated, write_payments

    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise UsageError(Message(N_("--out {file}: give a .csv or .parquet file name."), file=args.out))
    export = read_export(args.export)
    portfolio = read_generated(args.portfolio)
    paid = payments(portfolio, export, args.seed, archetype=args.archetype, effect=args.effect, start=args.start)
    if args.truth:
        truth = payment_truth(portfolio, export, archetype=args.archetype, effect=args.effect)
        Path(args.truth).write_text(json.dumps(truth, indent=2), encoding="utf-8")
    write_payments(paid, out, language=args.language)
    values = {"n": format_count(len(paid)), "exported": format_count(len(export)), "file": out, "truth": args.truth}
    if args.truth:
        print(_("wrote {n} payments of {exported} exported accounts to {file} and the truth to {truth}").format(
            **values), file=sys.stderr)
    else:
        print(_("wrote {n} payments of {exported} exported accounts to {file}").format(**values), file=sys.stderr)
    return 0
