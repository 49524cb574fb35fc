"""Subcommands ``outcomes``, ``readout`` and ``kpis`` of ``python -m personas``.

``outcomes load RUN_DIR PAYMENTS_FILE`` checks a payments file (account id, date, amount; German
or English CSV, Excel, Parquet) and keeps it in the run folder as the next load (the run stays
signed; a file loaded before is refused). ``readout RUN_DIR`` prints per persona and arm what was
collected and the champion/challenger verdicts; ``kpis RUN_DIR`` the KPIs of the run's chain of
months. Bad input is a :class:`~core.errors.UserError` (exit 1), printed without a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from core.errors import Message, UsageError, UserError
from core.formats import format_count, format_date, format_number
from core.i18n import N_, _
from core.text import terminal_safe


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``outcomes``, ``readout`` and ``kpis`` subcommands."""
    outcomes = subparsers.add_parser("outcomes", help=_("load payments into a run (for the read-out and KPIs)"))
    actions = outcomes.add_subparsers(dest="outcomes_action", metavar="ACTION")
    load = actions.add_parser(
        "load", help=_("check a payments file and keep it in the run folder as the next load"),
        description=_("Check a payments file (account id, payment date, amount) and keep it in the run folder "
                      "(outcomes/payments-<n>.parquet; the manifest is re-signed). Every load is kept and the "
                      "read-out reads them all; a file already loaded (same SHA-256) is refused, and rows that "
                      "repeat an earlier load's payments are left out."))
    load.add_argument("run_dir", metavar="RUN_DIR")
    load.add_argument("payments", metavar="PAYMENTS_FILE", help=_("CSV (German or English), XLSX or Parquet"))
    load.add_argument("--sheet", default=None, help=_("Excel sheet (default: the first)"))
    load.add_argument("--id-column", default=None,
                      help=_("the file's account id column (default: found by name)"))
    load.add_argument("--date-column", default=None, help=_("the file's payment date column"))
    load.add_argument("--amount-column", default=None, help=_("the file's amount column"))
    load.add_argument("--max-mb", type=float, default=200.0, help=_("refuse larger files (MB, default 200)"))
    load.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    load.add_argument("--db", default=None,
                      help=_("review database whose audit log records the load (default: the workspace's)"))
    load.set_defaults(func=_load)
    listing = actions.add_parser("list", help=_("the payments loaded into a run"))
    listing.add_argument("run_dir", metavar="RUN_DIR")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_list)
    outcomes.set_defaults(func=_missing_action(outcomes))

    readout = subparsers.add_parser(
        "readout", help=_("what each persona and arm collected; champion/challenger verdicts"),
        description=_("Per persona and arm: accounts, pay rate, amount collected, collected per € of balance and "
                      "(with costs per channel) contact cost; challenger − champion with a 95 % interval and a "
                      "verdict that names no winner below the minimum sample per arm."))
    readout.add_argument("run_dir", metavar="RUN_DIR")
    _common(readout)
    readout.set_defaults(func=_readout)

    kpis = subparsers.add_parser("kpis", help=_("recovery, cure and roll rates month over month, by persona and arm"))
    kpis.add_argument("run_dir", metavar="RUN_DIR",
                      help=_("any run of the chain (its parents and later months count)"))
    _common(kpis)
    kpis.add_argument("--csv", default=None, metavar="FILE", help=_("also write the table as CSV"))
    kpis.set_defaults(func=_kpis)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None, help=_("review database with the experiments: a file path or a "
                                                      "SQLAlchemy URL (default: PERSONAS_DB_URL or personas.db)"))
    parser.add_argument("--from", dest="date_from", default=None, metavar="DATE",
                        help=_("count payments from this date (yyyy-mm-dd or dd.mm.yyyy; default: every payment)"))
    parser.add_argument("--until", dest="date_until", default=None, metavar="DATE",
                        help=_("count payments up to this date (inclusive)"))
    parser.add_argument("--cost", action="append", default=None, metavar="CHANNEL=EUR",
                        help=_("cost of one contact by a channel, e.g. --cost letter=0.85 --cost sms=0.09 "
                               "(default: PERSONAS_CHANNEL_COSTS)"))
    parser.add_argument("--json", action="store_true", help=_("print JSON"))


def _missing_action(parser: argparse.ArgumentParser):
    def run(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2
    return run


# ---------------------------------------------------------------------------- outcomes
def _load(args: argparse.Namespace) -> int:
    from portfolio.payments import load_payments
    from strategy.outcomes import save_outcomes_report

    mapping = {key: value for key, value in (("account_id", args.id_column), ("paid_on", args.date_column),
                                             ("amount", args.amount_column)) if value}
    if not args.max_mb > 0:
        raise UsageError(Message(N_("--max-mb must be a positive number")))
    payments = load_payments(Path(args.payments), sheet=args.sheet, mapping=mapping,
                             max_bytes=int(args.max_mb * 2**20))
    saved = save_outcomes_report(args.run_dir, payments)
    _record_load(args, saved)
    if args.json:
        print(json.dumps({"payments": payments.summary(), "saved": {"file": str(saved.path), "load": saved.load,
                                                                    "note": saved.note}}, indent=1, ensure_ascii=False))
        return 0
    for line in payments.lines(language=None) + saved.lines():
        print(terminal_safe(line))
    return 0


def _record_load(args: argparse.Namespace, saved: Any) -> None:
    """The load on the audit trail, as the operating-system account that ran it (as `personas run` is).
    The payments are kept either way; a database that cannot be written is a warning, not a lost load."""
    from strategy.auth import operator_user
    from strategy.run_view import load_run_view
    from strategy.store import ReviewStore

    try:
        store = ReviewStore(args.db) if args.db else ReviewStore()
        try:
            store.record_outcomes(operator_user(), load_run_view(args.run_dir), saved.note)
        finally:
            store.close()
    except UserError as err:
        print(_("warning: the payments were kept but the load is not in the audit log: {reason}").format(
            reason=terminal_safe(err)), file=sys.stderr)


def _list(args: argparse.Namespace) -> int:
    from strategy.outcomes import load_notes

    notes = load_notes(args.run_dir)
    if args.json:
        print(json.dumps(notes, indent=1, ensure_ascii=False))
        return 0
    if not notes:
        print(_("no payments loaded into this run yet; load them with `personas outcomes load RUN_DIR FILE`"))
    for note in notes:
        print(terminal_safe(_("load {load}: {file} ({loaded_at}), {n} payments {first} to {last}, total {total}, "
                              "sha256 {sha256}…").format(
            load=note["load"], file=note["file"], loaded_at=note["loaded_at"], n=format_count(note["rows"]["saved"]),
            first=_day(note["first_date"]), last=_day(note["last_date"]),
            total=format_number(note["total_amount"]), sha256=note["sha256"][:12])))
    return 0


# ---------------------------------------------------------------------------- readout and kpis
def _readout(args: argparse.Namespace) -> int:
    from strategy.outcomes import read_outcomes
    from strategy.readout import readout
    from strategy.run_view import load_run_view

    costs, window = _costs(args), _window(args)
    run = load_run_view(args.run_dir)
    payments = read_outcomes(run)
    if payments is None:
        raise UserError(Message(N_("{folder}: no payments loaded into run {run} yet; load them with `{command}` "
                                   "first."), folder=str(run.run_dir), run=run.run_id,
                                command=f"personas outcomes load {run.run_dir} PAYMENTS_FILE"))
    experiments, contacts = _experiments_and_contacts(args, run, bool(costs))
    result = readout(run, payments, experiments, costs=costs, contacts=contacts, window=window)
    if args.json:
        print(json.dumps(result.to_dict(), indent=1, ensure_ascii=False))
    else:
        for line in result.lines():
            print(terminal_safe(line))
    return 0


def _kpis(args: argparse.Namespace) -> int:
    import pandas as pd

    from strategy.kpis import kpis, kpis_records, run_chain
    from strategy.outcomes import read_outcomes

    costs, window = _costs(args), _window(args)
    chain = run_chain(args.run_dir)
    experiments, contacts = {}, {}
    for run in chain:
        experiments[run.run_id], contacts[run.run_id] = _experiments_and_contacts(args, run, bool(costs))
    outcomes = {run.run_id: frame for run in chain if (frame := read_outcomes(run)) is not None}
    table = kpis(chain, outcomes, experiments=experiments, costs=costs, contacts=contacts, window=window)
    if args.csv:
        table.to_csv(args.csv, index=False)
    if args.json:
        print(json.dumps(kpis_records(table), indent=1, ensure_ascii=False))
        return 0
    shown = table[(table["arm"] == "all") & table["from_bucket"].isna()]
    print(_("KPIs of {n} month(s): {runs}").format(n=len(chain), runs=" -> ".join(run.run_id for run in chain)))
    for _index, row in shown.iterrows():
        who = _("all personas") if row["persona_id"] is None else \
            _("persona {persona}").format(persona=int(row["persona_id"]))
        missing = pd.isna(row["value"])
        value = _("not available") if missing else format_number(row["value"], decimals=4)
        note = f" ({row['note']})" if row["note"] and missing else ""
        print(terminal_safe(_("month {month} · {who} {kpi} {value}{note}").format(
            month=row["month"], who=f"{who:<14}", kpi=f"{row['kpi']:<24}", value=value, note=note)))
    if args.csv:
        print(_("the full table (per arm, roll rates per bucket) is in {file}").format(file=args.csv))
    return 0


def _day(value: Any) -> str:
    """A stored ISO date as the reader writes it (01.12.2026 in German); other text as it is."""
    shown = format_date(value)
    return str(value) if shown == "–" else shown


def _costs(args: argparse.Namespace) -> dict[str, float]:
    from strategy.settings import CHANNEL_COSTS_ENV, StrategySettings, channel_costs_from_text

    if args.cost:
        return channel_costs_from_text(args.cost)
    if os.environ.get(CHANNEL_COSTS_ENV):
        return channel_costs_from_text(os.environ[CHANNEL_COSTS_ENV])
    return StrategySettings().channel_cost_table()


def _window(args: argparse.Namespace) -> tuple[date | None, date | None] | None:
    from portfolio.meanings import date_value

    bounds = []
    for flag, text in (("--from", args.date_from), ("--until", args.date_until)):
        if text is None:
            bounds.append(None)
            continue
        value = date_value(text)
        if value is None:
            raise UsageError(Message(N_("{option} {value} is not a date (yyyy-mm-dd or dd.mm.yyyy)"), option=flag,
                                     value=repr(text)))
        bounds.append(value)
    return tuple(bounds) if any(bounds) else None  # type: ignore[return-value]


def _experiments_and_contacts(args: argparse.Namespace, run: Any, with_costs: bool) -> tuple[dict, dict]:
    """The run's approved experiments from the review database, and (with costs) each arm's planned contacts."""
    from strategy.cycle_inputs import experiments_and_contacts
    from strategy.store import ReviewStore

    store = ReviewStore(args.db)
    try:
        return experiments_and_contacts(store, run, with_costs)
    finally:
        store.close()
