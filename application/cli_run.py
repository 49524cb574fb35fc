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
from core.errors import Message, UsageError, UserError
from core.formats import format_count, format_number, format_percent
from core.i18n import N_, _, current_language
from portfolio.cli import EXIT_RULE, add_target_options, check_target_options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` and ``assign`` subcommands."""
    run = subparsers.add_parser(
        "run", help=_("find personas in a portfolio and write a run directory"),
        description=_("Find behavioural personas (UMAP + HDBSCAN) and, with --target, explained risk "
                      "scores. Writes run.json, accounts.parquet, personas.json and model/ to DIR. The "
                      "portfolio and the --target column are checked first, so a file that cannot be used "
                      "stops within seconds.") + " " + _(EXIT_RULE))
    run.add_argument("file", metavar="FILE", help=_("portfolio file (.csv, .xlsx or .parquet)"))
    run.add_argument("--out", required=True, metavar="DIR",
                     help=_("run folder to write (must not exist: a run is never written over another)"))
    run.add_argument("--mapping", metavar="FILE.json", help=_("JSON object: source column -> role"))
    run.add_argument("--truth-col", metavar="COL",
                     help=_("planted persona labels, for truth ARI only (never a feature)"))
    run.add_argument("--seed", type=int, default=42, metavar="N",
                     help=_("seed (default %(default)s): same seed, same personas"))
    run.add_argument("--max-fit-rows", type=int, default=RunSettings.max_fit_rows, metavar="N",
                     help=_("accounts UMAP/HDBSCAN are fitted on (stratified sample; default %(default)s)"))
    add_target_options(run)
    run.add_argument("--language", choices=("en", "de"), default="en",
                     help=_("language of persona names (the messages' language goes before the command: "
                            "personas --language de run ...)"))
    run.add_argument("--currency", metavar="CODE",
                     help=_("ISO code of the amounts (e.g. EUR) when the portfolio has no currency column; "
                            "a currency column holding one currency wins. Without either: 'currency unknown'"))
    run.add_argument("--no-search", action="store_true",
                     help=_("skip the settings search and use the default min cluster size and neighbours"))
    run.add_argument("--one-process", action="store_true",
                     help=_("fit the risk model in this process after discovery instead of alongside it "
                            "in a second process (same result, slower on two or more cores)"))
    run.add_argument("--rights-and-vulnerability-as-features", action="store_true",
                     help=_("let dispute, channel objection, time-barred, over-indebtedness and insolvency "
                            "columns into the risk model (default: they feed the guardrails only; the model card "
                            "says which)"))
    run.set_defaults(func=run_command)

    assign = subparsers.add_parser(
        "assign", help=_("assign a new portfolio to a saved run's personas"),
        description=_("Give each account of FILE the persona of the run in DIR (hash-checked model)."))
    assign.add_argument("run_dir", metavar="DIR", help=_("a run directory written by `personas run`"))
    assign.add_argument("file", metavar="FILE", help=_("portfolio file to assign; with --scheduler also a folder "
                                                       "or glob of Parquet files (may be larger than memory)"))
    assign.add_argument("--out", required=True, metavar="FILE|DIR",
                        help=_("output .parquet or .csv; with --scheduler a folder of Parquet parts"))
    assign.add_argument("--mapping", metavar="FILE.json", help=_("JSON object: source column -> role"))
    assign.add_argument("--scheduler", nargs="?", const="local", metavar="ADDRESS",
                        help=_("assign partition by partition on Dask: a scheduler address (tcp://host:8786), or "
                               "no value for a local cluster of 2 workers; adds risk scores and reasons when the "
                               "run has a risk model"))
    assign.add_argument("--no-score", action="store_true",
                        help=_("with --scheduler: personas only, no risk scores"))
    assign.set_defaults(func=assign_command)


def load_checked_portfolio(path_text: str, mapping: str | None):
    """Load and validate a portfolio; ``UserError`` (exit 1) when it is not usable, as ``validate`` exits 1.

    A usable portfolio with warnings or excluded rows is returned (``validate`` exits 0 for it).
    """
    from portfolio.load import load_portfolio

    path = Path(path_text)
    if not path.is_file():
        raise UsageError(Message(N_("{file}: file not found."), file=path_text))
    if mapping is not None and not Path(mapping).is_file():
        raise UsageError(Message(N_("{file}: mapping file not found."), file=mapping))
    portfolio = load_portfolio(path, mapping=mapping)
    if hasattr(portfolio.report, "is_usable") and not portfolio.report.is_usable:
        lines = [p.text or p.message for p in getattr(portfolio.report, "errors", [])] \
            or [Message(N_("the portfolio is not usable"))]
        raise UserError(lines[0], lines=[Message("{file}: {problem}", file=path_text, problem=line) for line in lines])
    return portfolio


def _print_warnings(portfolio) -> None:
    """Before the slow part: ids made from row numbers, and the rows left out per reason."""
    from portfolio.report import rows_summary

    report = portfolio.report
    for problem in report.warnings:
        if problem.code == "generated_ids":
            print(_("warning: {message}").format(message=problem.display()), file=sys.stderr)
    if report.n_rows_read > report.n_rows_usable:
        print(_("warning: {file}: {rows}; `personas validate` lists every excluded row").format(
            file=portfolio.source_name, rows=rows_summary(report.rows_section(), None)), file=sys.stderr)


def operator_name() -> str:
    """The CLI operator as the operating system knows them (not an environment variable anyone can set)."""
    try:
        return f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    except KeyError:
        return f"cli:uid {os.getuid()}"


def _progress(stage: str, fraction: float) -> None:
    print(f"  [{fraction:4.0%}] {stage}", file=sys.stderr, flush=True)


def run_command(args: argparse.Namespace) -> int:
    from application.pipeline import run_pipeline, start_early, target_coding
    from portfolio.currency import normalise_code, portfolio_currency

    if args.max_fit_rows < 100:
        raise UsageError(Message(N_("--max-fit-rows must be at least 100, not {value}."),
                                 value=str(args.max_fit_rows)))
    if os.path.lexists(args.out):  # refuse in a second, not after the whole discovery step
        raise UserError(Message(N_("--out {folder} exists already; a run is never written over another. "
                                   "Choose a new folder (or remove the old one yourself)."), folder=args.out))
    check_target_options(args)
    if args.currency is not None and normalise_code(args.currency) is None:
        raise UsageError(Message(N_("--currency {value} is not a currency: give a three-letter ISO code "
                                    "such as EUR, USD or CHF."), value=repr(args.currency)))
    started = time.perf_counter()
    start_early(risk_process=bool(args.target) and not args.one_process)  # overlaps reading the portfolio
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
        print(f"  {coding.describe().render()}", file=sys.stderr)
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
    from portfolio.reason_text import reason_text

    if currency.is_known:
        print("  " + _("currency: {code} ({reason})").format(code=currency.code, reason=reason_text(currency.reason)),
              file=sys.stderr)
    elif currency.is_mixed:
        print(_("warning: {message}").format(message=reason_text(currency.reason)), file=sys.stderr)
    else:
        print(_("warning: currency unknown: {reason}; amounts are shown without a currency (name one with "
                "--currency CODE)").format(reason=reason_text(currency.reason)), file=sys.stderr)


def _summary(result, out: Path, seconds: float) -> None:
    from personas.names import display_names
    from personas.views import settled_verdict
    from portfolio.currency import currency_of_run
    from portfolio.report import rows_summary

    meta, m = result.meta, result.meta["metrics"]
    print(_("{file}: {n} accounts, {personas} personas (fitted on {fitted})").format(
        file=meta["source_name"], n=format_count(meta["rows"]["used"]), personas=format_count(m["personas"]),
        fitted=format_count(meta["rows"]["fitted"])))
    print("  " + _("rows: {summary}").format(summary=rows_summary(meta["rows"], None)))
    currency = currency_of_run(meta)
    from portfolio.reason_text import reason_text

    print("  " + _("currency: {code} ({reason})").format(code=currency.label(current_language()),
                                                                  reason=reason_text(currency.reason)))
    stability = _("n/a") if m.get("stability_ari") is None else format_number(m["stability_ari"])
    validity = _("n/a") if m.get("relative_validity") is None else format_number(m["relative_validity"])
    print("  " + _("noise share {noise} (kept, flagged needs_review) · stability ARI {stability} · relative validity "
                   "{validity} · needs review {review}").format(
        noise=format_percent(m["noise_share"]), stability=stability, validity=validity,
        review=format_percent(m["needs_review_share"])))
    print(f"  {settled_verdict(m, names=display_names(result.profiles))[1]}")
    if "truth_ari" in m:
        print("  " + _("truth ARI {ari} against {column}").format(
            ari=format_number(m["truth_ari"], decimals=3), column=result.meta["parameters"]["settings"]["truth_col"]))
    if meta.get("settings_search"):
        from personas.search import reason_text as search_reason  # stored English, or its message in the language

        print("  " + _("settings: {reason}").format(reason=search_reason(meta["settings_search"])))
    for profile in result.profiles:
        print(f"  {profile['persona_id']:>3}  {format_percent(profile['share_accounts']):>6}  {profile['name']}")
    model = meta.get("model") or {}
    if "skipped" in model:
        print("  " + _("note: {note}").format(note=model["skipped"]))
    timings = ", ".join(f"{k} {format_number(v, decimals=1)}s" for k, v in meta["timings"].items())
    print("  " + _("timings: {timings}; total {seconds}s").format(timings=timings,
                                                                  seconds=format_number(seconds, decimals=1)))
    print(_("wrote {folder}/run.json, accounts.parquet, personas.json, edits.json, model/").format(folder=out))


def assign_command(args: argparse.Namespace) -> int:
    from application.pipeline import assign_portfolio

    if args.scheduler is not None or _is_folder_or_glob(args.file):
        return _assign_on_dask(args)
    out = Path(args.out)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise UsageError(Message(N_("--out {file}: give a .parquet or .csv file name."), file=args.out))
    if not Path(args.run_dir).is_dir():
        raise UsageError(Message(N_("{folder}: run directory not found."), folder=args.run_dir))
    portfolio = load_checked_portfolio(args.file, args.mapping)
    assigned = assign_portfolio(args.run_dir, portfolio)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        _csv_safe(assigned).to_csv(out, index=False)
    else:
        assigned.to_parquet(out, index=False)
    counts = assigned["persona_id"].value_counts().sort_index()
    print(_("{file}: {n} accounts assigned to {personas} personas; {review} need review").format(
        file=portfolio.source_name, n=format_count(len(assigned)), personas=format_count(len(counts)),
        review=format_count(int(assigned["needs_review"].sum()))))
    print(_("wrote {file}").format(file=out))
    return 0


def _is_folder_or_glob(text: str) -> bool:
    return Path(text).is_dir() or any(ch in text for ch in "*?[")


def _assign_on_dask(args: argparse.Namespace) -> int:
    """``assign --scheduler``: partition by partition on Dask (see application.dask_assign)."""
    from application.dask_assign import assign_partitioned

    if not Path(args.run_dir).is_dir():
        raise UsageError(Message(N_("{folder}: run directory not found."), folder=args.run_dir))
    if Path(args.out).suffix.lower() in (".csv", ".parquet") and not Path(args.out).is_dir():
        raise UsageError(Message(N_("--out {file}: with --scheduler or a folder/glob input, give a folder for the "
                                    "Parquet parts."), file=args.out))
    scheduler = None if args.scheduler in (None, "local") else args.scheduler
    summary = assign_partitioned(args.run_dir, args.file, args.out, scheduler=scheduler,
                                 score=not args.no_score, mapping=args.mapping)
    if summary["scored"]:
        text = _("{file}: {n} accounts assigned with risk scores and reasons in {parts} partitions on {scheduler} "
                 "({seconds} s)")
    else:
        text = _("{file}: {n} accounts assigned in {parts} partitions on {scheduler} ({seconds} s)")
    print(text.format(file=args.file, n=format_count(summary["rows"]), parts=format_count(summary["partitions"]),
                      scheduler=summary["scheduler"], seconds=format_number(summary["seconds"], decimals=1)))
    print(_("wrote {folder}/part.*.parquet and _assign.json").format(folder=summary["out_dir"]))
    return 0


def _csv_safe(frame):
    """Prefix text cells that a spreadsheet would run as a formula (OWASP CSV injection)."""
    frame = frame.copy()
    for column in ("account_id", "persona_name"):
        text = frame[column].astype(str)
        risky = text.str.match(r"^[=+\-@\t\r\x00]")
        frame[column] = text.where(~risky, "'" + text)
    return frame
