"""``personas validate FILE [--mapping M] [--target COL [--target-event E] [--target-event-value V]] [--json]``.

Prints every column with its role, meaning and reason, the rows excluded per reason and the
validation report. ``--json`` prints one JSON object instead (see :func:`validation_json`).

Exit codes (the same rule as ``personas run``): 0 when the portfolio is usable, also with warnings
and with rows excluded (they are listed with their reasons); 1 when it is not usable (a required
column missing, no usable row, more than half the rows excluded), cannot be read, or the outcome
column named with ``--target`` cannot be used; 2 for usage errors (missing file, bad option values).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.errors import Message, UsageError, UserError
from core.i18n import N_, _
from portfolio.constants import DEFAULT_MAX_BYTES, EVENTS

EXIT_RULE = N_("Exit codes (one rule for `validate` and `run` on the same file): 0 when the portfolio "
               "is usable, also with warnings and with rows excluded (listed per reason); 1 when it is "
               "not usable, cannot be read, or the --target column cannot be used; 2 for usage errors.")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand."""
    parser = subparsers.add_parser(
        "validate", help=_("check a portfolio file: every column's role, meaning and reason, excluded rows"),
        description=_("Read a portfolio (CSV, XLSX or Parquet), decide each column's role and meaning, "
                      "validate it and list the rows excluded with their reasons.") + " " + _(EXIT_RULE))
    parser.add_argument("file", metavar="FILE", help=_("portfolio file (.csv, .xlsx or .parquet)"))
    parser.add_argument("--mapping", metavar="FILE.json",
                        help=_('JSON object: source column -> role or meaning, e.g. {example}').format(
                            example='{"Akte": "account_id", "Info7": {"role": "feature", "meaning": "dispute"}}'))
    add_target_options(parser)
    parser.add_argument("--json", action="store_true",
                        help=_("print one JSON object (columns, rows, excluded_rows, problems, target, usable, "
                               "exit_code) instead of text"))
    parser.add_argument("--sheet", metavar="NAME", help=_("Excel sheet (default: the first)"))
    parser.add_argument("--max-mb", type=float, default=DEFAULT_MAX_BYTES / 2**20, metavar="N",
                        help=_("refuse files larger than N MB (default %(default)g)"))
    parser.set_defaults(func=run_validate)


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """``--target``, ``--target-event`` and ``--target-event-value`` (shared by ``validate`` and ``run``)."""
    parser.add_argument("--target", metavar="COL",
                        help=_("outcome column for the risk model; checked before anything else runs"))
    parser.add_argument("--target-event", choices=EVENTS, default="paid",
                        help=_("what the event value of --target means: the account was paid, or it was NOT "
                               "paid (default %(default)s); the risk score is always the probability of NOT "
                               "paying"))
    parser.add_argument("--target-event-value", metavar="VALUE",
                        help=_("the value of --target that means --target-event (needed unless the column is "
                               "0/1, where 1 is the event), e.g. 2 for a column coded 1/2, or ja for ja/nein"))


def check_target_options(args: argparse.Namespace) -> None:
    """Usage errors of the target options (exit 2)."""
    if getattr(args, "target_event_value", None) is not None and not args.target:
        raise UsageError(Message(N_("--target-event-value needs --target (the outcome column it is a value of).")))


def run_validate(args: argparse.Namespace) -> int:
    """Run ``validate``; returns the exit code (0 usable, 1 not usable; see :data:`EXIT_RULE`)."""
    path = Path(args.file)
    if not path.exists():
        raise UsageError(Message(N_("{file}: file not found."), file=args.file))
    if not path.is_file():
        raise UsageError(Message(N_("{file}: is not a file."), file=args.file))
    if args.mapping is not None and not Path(args.mapping).is_file():
        raise UsageError(Message(N_("{file}: mapping file not found."), file=args.mapping))
    if not args.max_mb > 0:
        raise UsageError(Message(N_("--max-mb must be a positive number of megabytes, not {value}."),
                                 value=f"{args.max_mb:g}"))
    check_target_options(args)
    from portfolio.load import load_portfolio  # pandas and pandera only for a command that reads a file

    try:
        portfolio = load_portfolio(path, mapping=args.mapping, sheet=args.sheet,
                                   max_bytes=int(args.max_mb * 2**20))
    except UserError as err:
        if not args.json:
            raise
        _print_json(_unreadable_json(path.name, err))
        _print_errors(err.lines)
        return 1
    target, target_error = _checked_target(portfolio, args)
    english_error = target_error.english if target_error is not None else None
    result = validation_json(portfolio, target=target, target_error=english_error)
    if args.json:
        _print_json(result)
    else:
        _print_text(portfolio, target)
    if result["exit_code"]:
        _print_errors([p.display() for p in portfolio.report.errors]
                      if not portfolio.report.is_usable else [str(target_error)])
    return result["exit_code"]


def _checked_target(portfolio, args) -> tuple[Any, UserError | None]:
    if not args.target or not portfolio.report.is_usable:
        return None, None
    from portfolio.target import check_target

    try:
        return check_target(portfolio.frame, args.target, event=args.target_event,
                            event_value=args.target_event_value, row_numbers=portfolio.row_numbers,
                            source_name=portfolio.source_name), None
    except UserError as err:
        return None, err


def validation_json(portfolio, *, target=None, target_error: str | None = None) -> dict[str, Any]:
    """The ``validate --json`` object.

    ``{"file", "columns": [{"name", "column", "role", "meaning", "reason", "generated"}],
    "rows": {"read", "used", "excluded": {reason: count}}, "excluded_rows": [{"row", "account_id",
    "column", "reason"}], "problems": [{"severity", "code", "column", "count", "rows", "message"}],
    "target": null | {"column", "event", "event_value", "other_value", "values", "coding"} |
    {"error"}, "generated_ids", "usable", "exit_code"}``.
    """
    from portfolio.columns import column_records

    report = portfolio.report
    problems = [{"severity": p.severity, "code": p.code, "column": p.column, "count": int(p.count),
                 "rows": [int(r) for r in p.rows], "message": p.message} for p in report.problems]
    if target_error:
        problems.insert(0, {"severity": "error", "code": "target", "column": None, "count": 0, "rows": [],
                            "message": target_error})
    usable = bool(report.is_usable and not target_error)
    excluded = report.excluded_rows
    return {
        "file": portfolio.source_name,
        "columns": column_records(portfolio.roles, report),
        "rows": report.rows_section(),
        "excluded_rows": [{"row": int(r.row), "account_id": _text_or_none(r.account_id),
                           "column": str(r.column), "reason": str(r.reason)}
                          for r in excluded.itertuples(index=False)],
        "problems": problems,
        "target": target.to_dict() if target is not None else ({"error": target_error} if target_error else None),
        "generated_ids": bool(report.generated_ids),
        "usable": usable,
        "exit_code": 0 if usable else 1,
    }


def _text_or_none(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and value != value) else str(value)


def _unreadable_json(name: str, err: UserError) -> dict[str, Any]:
    return {"file": name, "columns": [], "rows": None, "excluded_rows": [],
            "problems": [{"severity": "error", "code": "unreadable", "column": None, "count": 0, "rows": [],
                          "message": line} for line in err.english_lines],
            "target": None, "generated_ids": False, "usable": False, "exit_code": 1}


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _print_errors(lines: list[str]) -> None:
    for line in lines:
        print(_("error: {message}").format(message=line), file=sys.stderr)


def _print_text(portfolio, target) -> None:
    from core.formats import format_count
    from portfolio.columns import column_records
    from portfolio.reason_text import reason_text
    from portfolio.report import excluded_reason_text

    print(f"{portfolio.source_name}: {_describe_read(portfolio)}")
    print(_("columns (name, role, meaning, reason):"))
    records = column_records(portfolio.roles, portfolio.report)
    width = max((len(r["name"]) for r in records), default=6)
    meaning_width = max((len(r["meaning"] or "-") for r in records), default=1)
    for r in records:
        print(f"  {r['name']:<{width}}  {r['role']:<13}  {r['meaning'] or '-':<{meaning_width}}  "
              f"{reason_text(r['reason'])}")
    report = portfolio.report
    excluded = report.excluded_by_reason()
    if excluded:
        print(_("rows excluded, per reason:"))
        for reason, count in excluded.items():
            print(f"  {format_count(count):>8}  {excluded_reason_text(reason)}")
    if target is not None:
        print(_("target: {coding}").format(coding=target.describe().render()))
    print(_("report:"))
    for line in report.lines(language=None):
        print(f"  {line}")


def _describe_read(portfolio) -> str:
    read = portfolio.read
    if read is None:
        return _("in memory")
    parts = [read.file_format]
    if read.encoding:
        parts.append(_("encoding {encoding}").format(encoding=read.encoding))
    if read.delimiter:
        parts.append(_("delimiter {delimiter}").format(delimiter=repr(read.delimiter)))
    from core.formats import format_count

    parts.append(_("{rows} rows, {columns} columns").format(rows=format_count(portfolio.report.n_rows_read),
                                                            columns=format_count(len(read.frame.columns))))
    return ", ".join(parts)
