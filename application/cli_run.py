"""``personas run FILE --out DIR ...`` and ``personas assign DIR FILE --out FILE``.

``run`` finds personas (and, with ``--target``, risk scores) and writes a run directory;
``assign`` gives the accounts of a new portfolio the personas of a saved run (ids, names and
analyst edits kept). Bad input raises :class:`core.errors.UserError` (exit 1).
"""
from __future__ import annotations

import argparse
import os
import pwd
import sys
import time
from pathlib import Path

from explain.settings import RiskSettings
from personas.settings import RunSettings
from core.errors import UsageError, UserError
from portfolio.cli import EXIT_RULE, add_target_options, check_target_options
from portfolio.currency import currency_of_run, normalise_code, portfolio_currency


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` and ``assign`` subcommands."""
    run = subparsers.add_parser(
        "run", help="find personas in a portfolio and write a run directory",
        description="Find behavioural personas (UMAP + HDBSCAN) and, with --target, explained risk "
                    "scores. Writes run.json, accounts.parquet, personas.json and model/ to DIR. The "
                    "portfolio and the --target column are checked first, so a file that cannot be used "
                    "stops within seconds. " + EXIT_RULE)
    run.add_argument("file", metavar="FILE", help="portfolio file (.csv, .xlsx or .parquet)")
    run.add_argument("--out", required=True, metavar="DIR",
                     help="run folder to write (must not exist: a run is never written over another)")
    run.add_argument("--mapping", metavar="FILE.json", help="JSON object: source column -> role")
    run.add_argument("--truth-col", metavar="COL", help="planted persona labels, for truth ARI only (never a feature)")
    run.add_argument("--seed", type=int, default=42, metavar="N", help="seed (default %(default)s): same seed, same personas")
    run.add_argument("--max-fit-rows", type=int, default=RunSettings.max_fit_rows, metavar="N",
                     help="accounts UMAP/HDBSCAN are fitted on (stratified sample; default %(default)s)")
    add_target_options(run)
    run.add_argument("--language", choices=("en", "de"), default="en", help="language of persona names")
    run.add_argument("--currency", metavar="CODE",
                     help="ISO code of the amounts (e.g. EUR) when the portfolio has no currency column; "
                          "a currency column holding one currency wins. Without either: 'currency unknown'")
    run.add_argument("--no-search", action="store_true",
                     help="skip the settings search and use the default min cluster size and neighbours")
    run.add_argument("--one-process", action="store_true",
                     help="fit the risk model in this process after discovery instead of alongside it "
                          "in a second process (same result, slower on two or more cores)")
    run.add_argument("--rights-and-vulnerability-as-features", action="store_true",
                     help="let dispute, channel objection, time-barred, over-indebtedness and insolvency columns "
                          "into the risk model (default: they feed the guardrails only; the model card says which)")
    run.set_defaults(func=run_command)

    assign = subparsers.add_parser(
        "assign", help="assign a new portfolio to a saved run's personas",
        description="Give each account of FILE the persona of the run in DIR (hash-checked model).")
    assign.add_argument("run_dir", metavar="DIR", help="a run directory written by `personas run`")
    assign.add_argument("file", metavar="FILE", help="portfolio file to assign; with --scheduler also a folder or "
                        "glob of Parquet files (may be larger than memory)")
    assign.add_argument("--out", required=True, metavar="FILE|DIR",
                        help="output .parquet or .csv; with --scheduler a folder of Parquet parts")
    assign.add_argument("--mapping", metavar="FILE.json", help="JSON object: source column -> role")
    assign.add_argument("--scheduler", nargs="?", const="local", metavar="ADDRESS",
                        help="assign partition by partition on Dask: a scheduler address (tcp://host:8786), or no "
                             "value for a local cluster of 2 workers; adds risk scores and reasons when the run "
                             "has a risk model")
    assign.add_argument("--no-score", action="store_true", help="with --scheduler: personas only, no risk scores")
    assign.set_defaults(func=assign_command)


def load_checked_portfolio(path_text: str, mapping: str | None):
    """Load and validate a portfolio; ``UserError`` (exit 1) when it is not usable, as ``validate`` exits 1.

    A usable portfolio with warnings or excluded rows is returned (``validate`` exits 0 for it).
    """
    from portfolio.load import load_portfolio

    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"{path_text}: file not found.")
    if mapping is not None and not Path(mapping).is_file():
        raise UsageError(f"{mapping}: mapping file not found.")
    portfolio = load_portfolio(path, mapping=mapping)
    if hasattr(portfolio.report, "is_usable") and not portfolio.report.is_usable:
        lines = [p.message for p in getattr(portfolio.report, "errors", [])] or ["the portfolio is not usable"]
        raise UserError(lines[0], lines=[f"{path_text}: {line}" for line in lines])
    return portfolio


def _print_warnings(portfolio) -> None:
    """Before the slow part: ids made from row numbers, and the rows left out per reason."""
    from portfolio.report import rows_summary

    report = portfolio.report
    for problem in report.warnings:
        if problem.code == "generated_ids":
            print(f"warning: {problem.message}", file=sys.stderr)
    if report.n_rows_read > report.n_rows_usable:
        print(f"warning: {portfolio.source_name}: {rows_summary(report.rows_section())}; "
              "`personas validate` lists every excluded row", file=sys.stderr)


def operator_name() -> str:
    """The CLI operator as the operating system knows them (not an environment variable anyone can set)."""
    try:
        return f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    except KeyError:
        return f"cli:uid {os.getuid()}"


def _progress(stage: str, fraction: float) -> None:
    print(f"  [{fraction:4.0%}] {stage}", file=sys.stderr, flush=True)


def run_command(args: argparse.Namespace) -> int:
    from application.pipeline import run_pipeline, target_coding

    if args.max_fit_rows < 100:
        raise UsageError(f"--max-fit-rows must be at least 100, not {args.max_fit_rows}.")
    if os.path.lexists(args.out):  # refuse in a second, not after the whole discovery step
        raise UserError(f"--out {args.out} exists already; a run is never written over another. "
                        "Choose a new folder (or remove the old one yourself).")
    check_target_options(args)
    if args.currency is not None and normalise_code(args.currency) is None:
        raise UsageError(f"--currency {args.currency!r} is not a currency: give a three-letter ISO code "
                         "such as EUR, USD or CHF.")
    started = time.perf_counter()
    portfolio = load_checked_portfolio(args.file, args.mapping)
    settings = RunSettings(target=args.target, target_event=args.target_event,
                           target_event_value=args.target_event_value, truth_col=args.truth_col,
                           seed=args.seed, max_fit_rows=args.max_fit_rows, language=args.language,
                           parallel_risk=not args.one_process,
                           currency=normalise_code(args.currency) if args.currency else None)
    if args.no_search:
        settings = settings.with_discovery(search=False)
    coding = target_coding(portfolio, settings)  # a target that cannot be used stops here, in seconds
    _print_warnings(portfolio)
    if coding is not None:
        print(f"  {coding.describe()}", file=sys.stderr)
    _print_currency(portfolio_currency(portfolio.frame, portfolio.roles, settings.currency))
    risk_settings = None
    if args.rights_and_vulnerability_as_features:
        risk_settings = RiskSettings(rights_and_vulnerability_as_features=True)
    result = run_pipeline(portfolio, settings, progress=_progress, risk_settings=risk_settings)
    out = result.save(Path(args.out), created_by=operator_name())
    _summary(result, out, time.perf_counter() - started)
    return 0


def _print_currency(currency) -> None:
    """The run's currency in one line; a warning when it is mixed or unknown (amounts without symbol)."""
    if currency.is_known:
        print(f"  currency: {currency.code} ({currency.reason})", file=sys.stderr)
    elif currency.is_mixed:
        print(f"warning: {currency.reason}", file=sys.stderr)
    else:
        print(f"warning: currency unknown: {currency.reason}; amounts are shown without a currency "
              "(name one with --currency CODE)", file=sys.stderr)


def _summary(result, out: Path, seconds: float) -> None:
    from personas.views import settled_verdict
    from portfolio.report import rows_summary

    meta, m = result.meta, result.meta["metrics"]
    print(f"{meta['source_name']}: {meta['rows']['used']:,} accounts, {m['personas']} personas "
          f"(fitted on {meta['rows']['fitted']:,})")
    print(f"  rows: {rows_summary(meta['rows'])}")
    currency = currency_of_run(meta)
    print(f"  currency: {currency.label()} ({currency.reason})")
    stability = "n/a" if m.get("stability_ari") is None else f"{m['stability_ari']:.2f}"
    validity = "n/a" if m.get("relative_validity") is None else f"{m['relative_validity']:.2f}"
    print(f"  noise share {m['noise_share']:.1%} (kept, flagged needs_review) · stability ARI {stability} "
          f"· relative validity {validity} · needs review {m['needs_review_share']:.1%}")
    print(f"  {settled_verdict(m)[1]}")
    if "truth_ari" in m:
        print(f"  truth ARI {m['truth_ari']:.3f} against {result.meta['parameters']['settings']['truth_col']}")
    if meta.get("settings_search"):
        print(f"  settings: {meta['settings_search']['reason']}")
    for profile in result.profiles:
        print(f"  {profile['persona_id']:>3}  {profile['share_accounts']:6.1%}  {profile['name']}")
    model = meta.get("model") or {}
    if "skipped" in model:
        print(f"  note: {model['skipped']}")
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in meta["timings"].items())
    print(f"  timings: {timings}; total {seconds:.1f}s")
    print(f"wrote {out}/run.json, accounts.parquet, personas.json, edits.json, model/")


def assign_command(args: argparse.Namespace) -> int:
    from application.pipeline import assign_portfolio

    if args.scheduler is not None or _is_folder_or_glob(args.file):
        return _assign_on_dask(args)
    out = Path(args.out)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise UsageError(f"--out {args.out}: give a .parquet or .csv file name.")
    if not Path(args.run_dir).is_dir():
        raise UsageError(f"{args.run_dir}: run directory not found.")
    portfolio = load_checked_portfolio(args.file, args.mapping)
    assigned = assign_portfolio(args.run_dir, portfolio)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        _csv_safe(assigned).to_csv(out, index=False)
    else:
        assigned.to_parquet(out, index=False)
    counts = assigned["persona_id"].value_counts().sort_index()
    print(f"{portfolio.source_name}: {len(assigned):,} accounts assigned to {len(counts)} personas; "
          f"{int(assigned['needs_review'].sum()):,} need review")
    print(f"wrote {out}")
    return 0


def _is_folder_or_glob(text: str) -> bool:
    return Path(text).is_dir() or any(ch in text for ch in "*?[")


def _assign_on_dask(args: argparse.Namespace) -> int:
    """``assign --scheduler``: partition by partition on Dask (see application.dask_assign)."""
    from application.dask_assign import assign_partitioned

    if not Path(args.run_dir).is_dir():
        raise UsageError(f"{args.run_dir}: run directory not found.")
    if Path(args.out).suffix.lower() in (".csv", ".parquet") and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out}: with --scheduler or a folder/glob input, give a folder for the "
                         "Parquet parts.")
    scheduler = None if args.scheduler in (None, "local") else args.scheduler
    summary = assign_partitioned(args.run_dir, args.file, args.out, scheduler=scheduler,
                                 score=not args.no_score, mapping=args.mapping)
    scored = " with risk scores and reasons" if summary["scored"] else ""
    print(f"{args.file}: {summary['rows']:,} accounts assigned{scored} in {summary['partitions']} partitions "
          f"on {summary['scheduler']} ({summary['seconds']:.1f} s)")
    print(f"wrote {summary['out_dir']}/part.*.parquet and _assign.json")
    return 0


def _csv_safe(frame):
    """Prefix text cells that a spreadsheet would run as a formula (OWASP CSV injection)."""
    frame = frame.copy()
    for column in ("account_id", "persona_name"):
        text = frame[column].astype(str)
        risky = text.str.match(r"^[=+\-@\t\r\x00]")
        frame[column] = text.where(~risky, "'" + text)
    return frame
