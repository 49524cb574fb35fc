"""The one entry point for the CLI and the app: portfolio + settings -> a saved, reloadable run.

Stages (each timed in seconds in ``run.json``): validation, features, discovery, map, profiles,
risk model (when ``settings.target`` is set; shap and fairness are part of it), save.

Every new run keeps its portfolio (``portfolio.parquet``, direct identifiers left out; see
:mod:`application.run_portfolio`), and edits of a run carry it over, so the review, the CLI and
an account-level export work on exactly the accounts the run was made from.
"""
from __future__ import annotations

import json
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from personas import edits as edit_ops
from personas.discovery import PersonaModel, map_coordinates, stratified_sample
from personas.features import FeatureBuilder, feature_columns
from personas.names import NAME_LANGUAGES, names_by_language, names_in_languages
from personas.profiles import build_profiles, outcome_columns
from application.risk_step import RISK_SKIPPED, RiskStep, start_risk_step
from application.run_portfolio import RunPortfolio, run_portfolio
from personas.settings import RunSettings
from application.numba_cache import enable_disk_cache, enable_disk_cache_in_background
from core.errors import Message, UserError
from core.i18n import N_, _
from portfolio.columns import column_records
from portfolio.currency import portfolio_currency
from portfolio.target import TargetCoding, check_target
from runs import PORTFOLIO, RunFolder, new_run_id, open_run, save_run

Progress = Callable[[str, float], None] | None
MIN_ROWS = 50
# Stages the domain packages report in English (personas.discovery, explain.risk): translated when passed on.
STAGE_TEXTS = frozenset((N_("discovery: UMAP embedding"), N_("discovery: HDBSCAN"), N_("discovery: consolidation"),
                         N_("shap"), N_("fairness")))


def stage_text(stage: str) -> str:
    """A stage reported by a domain package in the current language (a stage not listed stays as it is)."""
    return _(stage) if stage in STAGE_TEXTS else stage


LIBRARIES = ("umap-learn", "hdbscan", "scikit-learn", "pandas", "numpy", "pyarrow", "numba", "pynndescent")


@dataclass
class RunResult:
    """A finished run: metadata (= run.json), one row per account, profiles and the fitted model."""

    run_id: str
    meta: dict[str, Any]
    accounts: pd.DataFrame
    profiles: list[dict[str, Any]]
    model: PersonaModel
    builder: FeatureBuilder
    edits: list[dict[str, Any]] = field(default_factory=list)
    risk: Any = None
    features: np.ndarray | None = field(default=None, repr=False)  # in memory only, for edits
    folder: RunFolder | None = field(default=None, repr=False)  # set once saved or loaded
    #: The run's copy of its portfolio (``None`` for a run saved before runs kept one).
    portfolio: RunPortfolio | None = field(default=None, repr=False)
    #: Further files of the run, name -> bytes (``drift.json`` of a run applied to next month's accounts).
    extra_files: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def parent_run_id(self) -> str | None:
        return self.meta.get("parent_run_id")

    @property
    def fingerprint(self) -> str | None:
        """The signed manifest's SHA-256 once the run is saved or loaded (caches key on it)."""
        return self.folder.fingerprint if self.folder is not None else None

    def profile(self, persona_id: int) -> dict[str, Any]:
        return next(p for p in self.profiles if p["persona_id"] == int(persona_id))

    def save(self, directory: str | Path, *, created_by: str | None = None) -> Path:
        """Write the run folder atomically through :func:`runs.save_run` (signed; never over another run).

        ``created_by`` (the signed-in user or CLI operator) is recorded in ``run.json``.
        """
        return _save(self, Path(directory), created_by)


# ---------------------------------------------------------------------------- run
class _Laps:
    """Seconds per stage: ``lap("features")`` records the time since the previous lap."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._since = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(now - self._since, 3)
        self._since = now


def start_early(*, risk_process: bool) -> None:
    """What a new process starts before it reads the portfolio, so that it overlaps the reading (whose
    parser runs in a child process for Parquet and XLSX): umap-learn's and hdbscan's imports and
    kernels in a thread (:func:`application.numba_cache.enable_disk_cache_in_background`, ~1.6-1.9 s
    at the first run in a process) and, for a run with a risk model, the risk process's imports
    (:func:`application.risk_step.prestart`, ended if the run does not use it). ``personas run`` and
    the benchmark's app measurement both start this way."""
    enable_disk_cache_in_background()
    if risk_process:
        from application.risk_step import prestart

        prestart()


def run_pipeline(portfolio: Any, settings: RunSettings | None = None, progress: Progress = None, *,
                 risk_settings: Any = None) -> RunResult:
    """Find personas in ``portfolio`` (``portfolio.load.Portfolio``) and, with a target, score risk.

    Parameters
    ----------
    portfolio : Portfolio
        ``frame``, ``roles``, ``report``, ``sha256``, ``source_name``.
    settings : RunSettings
    progress : callable(stage: str, fraction: float), optional
        Called as the run advances (fraction 0..1 of the whole run).
    risk_settings : explain.settings.RiskSettings, optional
        How the risk model is fitted (e.g. ``rights_and_vulnerability_as_features``); seed, language
        and currency always come from ``settings``.
    """
    settings = settings or RunSettings()
    report = progress or (lambda stage, fraction: None)
    enable_disk_cache()  # compiled once per machine, not once per process (application/numba_cache.py)
    lap = _Laps()
    report(_("validation"), 0.0)
    frame = _validated_frame(portfolio, settings)
    lap("validation")

    risk_step = start_risk_step(frame, portfolio.roles, settings, risk_settings)  # runs alongside discovery
    try:
        with risk_step.share_cores() if risk_step is not None else nullcontext():
            result = _personas_and_risk(portfolio, frame, settings, risk_step, report, lap)
    except BaseException:
        if risk_step is not None:
            risk_step.cancel()
        raise
    report(_("done"), 1.0)
    return result


def _personas_and_risk(portfolio, frame, settings, risk_step, report, lap) -> RunResult:
    report(_("features"), 0.03)
    columns = [c for c in feature_columns(frame, portfolio.roles) if c not in (settings.truth_col, settings.target)]
    sample = stratified_sample(frame, settings.max_fit_rows, settings.seed)
    d = settings.discovery
    builder = FeatureBuilder(columns, categorical_weight=d.categorical_weight, max_levels=d.max_levels,
                             rare_level_share=d.rare_level_share).fit(frame.iloc[sample])
    X = builder.transform(frame)
    X_embed = builder.transform(frame.iloc[sample], jitter_seed=settings.seed)
    lap("features")

    def discovery_progress(stage: str, fraction: float) -> None:
        report(stage_text(stage), 0.08 + 0.62 * fraction)

    model = PersonaModel(d, seed=settings.seed).fit(X[sample], X_embed, progress=discovery_progress)
    display = stratified_sample(frame, d.display_rows, settings.seed + 7)
    # The map beside the assignment: UMAP holds the GIL for an epoch at a time, the k-NN search of the
    # assignment releases it, so the two share the cores the risk process has left (same results).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="persona-map") as pool:
        mapped = pool.submit(_map_on_one_thread, X[display], settings.seed)
        accounts = _assign_all(model, X, sample, frame,
                               threads=None if risk_step is None else risk_step.threads_now)
        lap("discovery")
        report(_("map"), 0.72)
        xy = mapped.result()
    accounts["x"], accounts["y"] = np.nan, np.nan
    accounts.loc[accounts.index[display], ["x", "y"]] = xy
    lap("map")

    report(_("profiles"), 0.82)
    outcomes = outcome_columns(frame, portfolio.roles, settings.target, settings.target_event)
    profiles = build_profiles(frame, accounts, builder, X, outcomes)
    by_language = names_in_languages(profiles, settings.language)  # every run names personas in en and de
    model.names_ = by_language[settings.language]
    _apply_names(accounts, profiles, model.names_, by_language)
    lap("profiles")

    risk, risk_section = _finish_risk(risk_step, accounts, settings, report)
    if risk is not None:
        _carry_risk(profiles, accounts)
        lap("risk model")
        if risk_step.mode == "child process":  # "risk model" above is only the wait after discovery
            lap.timings["risk model (second process, alongside discovery)"] = round(sum(risk.timings.values()), 3)
    kept = run_portfolio(portfolio)
    lap("portfolio copy")
    meta = _meta(portfolio, settings, frame, builder, model, accounts, lap.timings, outcomes, risk_section)
    meta["portfolio"] = kept.section(portfolio.sha256)
    if risk is not None:  # the model card lists every column and every excluded row with its reason
        risk.data_summary = _data_summary(portfolio, meta, settings)
    return RunResult(meta["run_id"], meta, accounts, profiles, model, builder, [], risk, X, portfolio=kept)


def usable_frame(portfolio: Any) -> pd.DataFrame:
    """The portfolio's frame when it is usable and has its required columns; else a UserError saying what
    to fix (the run and ``apply`` refuse the same inputs with the same words)."""
    report = getattr(portfolio, "report", None)
    if report is not None and hasattr(report, "is_usable") and not report.is_usable:
        raise UserError(Message(N_("{file}: the portfolio cannot be used; fix the problems the Portfolio page or "
                                   "`personas validate` lists first."), file=portfolio.source_name))
    frame = portfolio.frame
    missing = [c for c in ("account_id", "balance", "days_past_due") if c not in frame.columns]
    if missing:
        raise UserError(Message(N_("{file}: required column(s) {columns} not found; name them in a mapping file "
                                   "(--mapping)."), file=portfolio.source_name, columns=", ".join(missing)))
    return frame


def _validated_frame(portfolio: Any, settings: RunSettings) -> pd.DataFrame:
    frame = usable_frame(portfolio)
    if len(frame) < MIN_ROWS:
        raise UserError(f"{portfolio.source_name}: {len(frame)} usable accounts; persona discovery needs "
                        f"at least {MIN_ROWS}.")
    for option, column in (("--truth-col", settings.truth_col), ("--target", settings.target)):
        if column and column not in frame.columns:
            raise UserError(f"{option} {column!r} is not a column of {portfolio.source_name}; "
                            f"columns are: {', '.join(map(str, frame.columns[:30]))}.")
    if settings.target_event not in ("paid", "default"):
        raise UserError(f"--target-event must be 'paid' or 'default', not {settings.target_event!r}.")
    if settings.language not in ("en", "de"):
        raise UserError(f"--language must be 'en' or 'de', not {settings.language!r}.")
    portfolio_currency(frame, portfolio.roles, settings.currency)  # an invalid --currency stops here
    return _with_coded_target(portfolio, settings)


def target_coding(portfolio: Any, settings: RunSettings) -> TargetCoding | None:
    """The checked outcome column of a run (``None`` without a target); raises ``PortfolioError``
    naming the column, its values and the option to set when it cannot be used."""
    if not settings.target:
        return None
    return check_target(portfolio.frame, settings.target, event=settings.target_event,
                        event_value=settings.target_event_value,
                        row_numbers=getattr(portfolio, "row_numbers", None), source_name=portfolio.source_name)


def _with_coded_target(portfolio: Any, settings: RunSettings) -> pd.DataFrame:
    """The portfolio's rows; the outcome column as 0/1 with 1 = ``settings.target_event``, as the
    risk model and the profiles read it (a 1/2 or ja/nein column becomes 0/1 here, once)."""
    frame = portfolio.frame.reset_index(drop=True)
    coding = target_coding(portfolio, settings)
    if coding is not None:
        frame = frame.copy()
        frame[coding.column] = coding.encode(frame[coding.column])
    return frame


def _map_on_one_thread(X: np.ndarray, seed: int) -> np.ndarray:
    """The persona map's coordinates, computed on this (new) thread with one OpenMP thread: a new thread
    starts with OpenMP's default of one per core, which would crowd the assignment's search.

    The fit silences umap-learn's warnings with ``warnings.catch_warnings``, which changes the process's
    filters: the assignment that runs meanwhile on the calling thread must not do the same."""
    from core.threads import limit_threads

    with limit_threads(1, user_api="openmp"):
        return map_coordinates(X, seed)


def _assign_all(model: PersonaModel, X: np.ndarray, sample: np.ndarray, frame: pd.DataFrame,
                threads: Callable[[], int | None] | None = None) -> pd.DataFrame:
    """Every account's persona: HDBSCAN's label for clustered fitted accounts, k-NN for the rest.
    ``threads``: see :meth:`PersonaModel.assign` (more once the risk process has ended)."""
    given = np.full(len(X), -1, dtype=np.int64)
    given[sample] = model.labels_
    assigned = model.assign(X, given=given, fitted_rows=sample, threads=threads)  # fitted rows reuse their neighbours
    noise = np.zeros(len(X), dtype=bool)
    noise[sample] = model.labels_ < 0
    assigned["needs_review"] = assigned["needs_review"].to_numpy() | noise
    assigned.insert(0, "account_id", frame["account_id"].astype(str).to_numpy())
    assigned.insert(2, "persona_name", "")
    return assigned


def _apply_names(accounts: pd.DataFrame, profiles: list[dict[str, Any]], names: dict[int, str],
                 by_language: dict[str, dict[int, str]] | None = None) -> None:
    """Names into the profiles and ``accounts``: ``persona_name`` (the run's primary language, as runs
    saved before both languages have it) and, with ``by_language``, ``persona_name_en``/``persona_name_de``
    and each profile's ``names``."""
    for profile in profiles:
        profile["name"] = names.get(profile["persona_id"], f"Persona {profile['persona_id']}")
    accounts["persona_name"] = accounts["persona_id"].map(names).fillna("").astype(str)
    for language, named in (by_language or {}).items():
        accounts[f"persona_name_{language}"] = accounts["persona_id"].map(named).fillna("").astype(str)
        for profile in profiles:
            profile["names"] = {**(profile.get("names") or {}),
                                language: named.get(profile["persona_id"], profile["name"])}


def _finish_risk(risk_step: RiskStep | None, accounts: pd.DataFrame, settings: RunSettings,
                 report: Callable[[str, float], None]):
    """Collect the risk step started before discovery; merge scores and reasons into ``accounts``."""
    if risk_step is None:
        return None, dict(RISK_SKIPPED)
    report(_("risk model, SHAP and fairness (finishing in the second process)") if risk_step.mode == "child process"
           else _("risk model, SHAP and fairness"), 0.86)
    risk = risk_step.result(accounts["persona_id"].to_numpy(),
                            progress=lambda stage, fraction: report(stage_text(stage), 0.86 + 0.13 * fraction))
    scores = risk.scores[["account_id", "risk_score", "reasons"]].copy()
    scores["account_id"] = scores["account_id"].astype(str)
    merged = accounts[["account_id"]].merge(scores, on="account_id", how="left")
    accounts["risk_score"] = merged["risk_score"].to_numpy()
    accounts["reasons"] = merged["reasons"].to_numpy()
    section = risk.run_json_section()
    section["computed_in"] = risk_step.mode
    return risk, section


# ---------------------------------------------------------------------------- run.json
def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def machine() -> dict[str, str]:
    """The processor the run's compiled kernels were built for (``run.json`` ``machine``).

    A seed repeats a run exactly on the same kind of processor. numba compiles UMAP's kernels for the
    processor it runs on, with fast-math arithmetic, so another instruction set rounds differently: the
    benchmark's 1,000,000-account portfolio gave 10 personas (truth ARI 0.834) on a host with AVX-512 and
    8 (0.882) on a ``znver3`` host without it, same code, data and seed (2026-12-02). A reviewer who re-runs
    a portfolio elsewhere and gets other personas finds the reason here.
    """
    try:
        from llvmlite import binding

        cpu = str(binding.get_host_cpu_name())
    except Exception:  # llvmlite comes with numba; a run never fails for want of this label
        cpu = "unknown"
    return {"cpu": cpu, "architecture": platform.machine() or "unknown"}


def _columns_section(frame, roles, builder: FeatureBuilder, settings: RunSettings) -> dict[str, Any]:
    role_of = dict(getattr(roles, "roles", {}) or {})
    reason_of = dict(getattr(roles, "reasons", {}) or {})
    used = []
    for spec in builder.specs_:
        transform = FeatureBuilder.describe(spec)
        used.append({"column": spec["column"], "role": role_of.get(spec["column"], "feature"),
                     "transform": transform, "reason": reason_of.get(spec["column"], "")})
    used_names = {u["column"] for u in used}
    excluded = []
    for column in map(str, frame.columns):
        if column in used_names:
            continue
        role = role_of.get(column, "excluded")
        if column == settings.truth_col:
            reason = "planted truth column named with --truth-col: evaluation only, never a feature"
        elif column == settings.target:
            role, reason = "target", "outcome named with --target: what the risk model learns, never a feature"
        elif column in builder.excluded_:
            reason = builder.excluded_[column]
        else:
            reason = reason_of.get(column) or f"role {role}: not a behavioural feature"
        excluded.append({"column": column, "role": role, "reason": reason})
    return {"used": used, "excluded": excluded}


def _metrics(model: PersonaModel, accounts: pd.DataFrame, frame: pd.DataFrame, settings: RunSettings,
             builder: FeatureBuilder) -> dict:
    metrics = missing_cut_metrics(dict(model.metrics_), frame, accounts, builder, settings.seed)
    metrics["personas"] = int(accounts["persona_id"].nunique())
    metrics["needs_review_share"] = float(accounts["needs_review"].mean())
    if settings.truth_col:
        from sklearn.metrics import adjusted_rand_score

        truth = frame[settings.truth_col].astype("object").fillna("(missing)").astype(str)
        # as codes: the index depends only on which accounts share a label, and scikit-learn sorts text
        # labels in Python (0.3-0.6 s at 100,000 accounts, against a few milliseconds for codes)
        metrics["truth_ari"] = float(adjusted_rand_score(pd.factorize(truth)[0], accounts["persona_id"].to_numpy()))
    return metrics


def missing_cut_metrics(metrics: dict, frame: pd.DataFrame, accounts: pd.DataFrame, builder: FeatureBuilder,
                        seed: int, edits: list[dict] | tuple = ()) -> dict:
    """``metrics`` with the personas told apart only by a missing value (:mod:`personas.missing_cuts`),
    checked on the accounts as they are now (after an edit or in another month too), and the analysts'
    decisions to keep such a pair apart among ``edits``."""
    from personas.missing_cuts import check_run, with_missing_cuts

    return with_missing_cuts(metrics, check_run(frame, accounts["persona_id"].to_numpy(), builder, seed), edits)


def _meta(portfolio, settings, frame, builder, model, accounts, timings, outcomes, risk_section) -> dict:
    created = datetime.now(timezone.utc)
    report = getattr(portfolio, "report", None)
    return {
        "run_id": new_run_id(created),
        "parent_run_id": None,
        "created_at": _timestamp(created),
        "created_by": None,
        "data_sha256": portfolio.sha256,
        "source_name": portfolio.source_name,
        "rows": {"read": int(getattr(report, "n_rows_read", len(frame)) or len(frame)),
                 "used": int(len(frame)), "excluded": _excluded_by_reason(report),
                 "fitted": int(model.params_["fit_rows"]), "displayed": int(accounts["x"].notna().sum())},
        "columns": _columns_section(frame, portfolio.roles, builder, settings),
        "roles": portfolio.roles.to_dict() if hasattr(portfolio.roles, "to_dict") else {},
        "parameters": {"settings": settings.to_dict(), "chosen": model.params_,
                       "assignment": "k-nearest-neighbour vote in feature space against the clustered "
                                     "fitted accounts (see personas.discovery)",
                       "outcomes": outcomes,
                       "currency": portfolio_currency(frame, portfolio.roles, settings.currency).to_dict()},
        "seed": settings.seed,
        "library_versions": _versions(),
        "machine": machine(),
        "timings": timings,
        "metrics": _metrics(model, accounts, frame, settings, builder),
        "settings_search": model.search_,
        "model": risk_section,
        "edits": 0,
        "persona_names": {"primary": settings.language, "languages": list(NAME_LANGUAGES)},
    }


def _excluded_by_reason(report: Any) -> dict[str, int]:
    """Rows left out of the run per reason (they add up to rows read - rows used)."""
    counts = getattr(report, "excluded_by_reason", None)
    return counts() if callable(counts) else {}


def _data_summary(portfolio: Any, meta: dict[str, Any], settings: RunSettings) -> dict[str, Any]:
    """What the model card's Data section lists: every column with role and reason, the rows read,
    used and excluded per reason, and each excluded row (file row number, column, reason)."""
    report = getattr(portfolio, "report", None)
    excluded = getattr(report, "excluded_rows", None)
    rows = [] if excluded is None else [
        {"row": int(r.row), "column": str(r.column), "reason": str(r.reason)}
        for r in excluded.itertuples(index=False)]
    coding = target_coding(portfolio, settings)
    return {"source_name": meta["source_name"], "rows": {k: meta["rows"][k] for k in ("read", "used", "excluded")},
            "columns": column_records(portfolio.roles, report), "excluded_rows": rows,
            "generated_ids": bool(getattr(report, "generated_ids", False)),
            "truth_col": settings.truth_col, "target": coding.to_dict() if coding is not None else None,
            "currency": meta["parameters"].get("currency")}


def _timestamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------- edits on a run
def _edited_meta(result: RunResult, done: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """run.json of an edited run: its own id and time, the run it was made from, who made it."""
    created = datetime.now(timezone.utc)
    meta = dict(result.meta, **changes)
    meta.update(run_id=new_run_id(created), parent_run_id=result.run_id, created_at=_timestamp(created),
                created_by=done.get("user"), edits=len(result.edits) + 1,
                persona_names={"primary": _primary_language(result), "languages": list(NAME_LANGUAGES)})
    return meta


def _kept_apart(result: RunResult, edit: dict[str, Any]) -> RunResult:
    """An analyst's decision that a pair told apart only by a missing value differs in behaviour: the
    personas stay, the verdict is recomputed with the decision (no portfolio needed)."""
    from personas.missing_cuts import open_cuts, with_missing_cuts

    model = result.model.copy_for_edit()
    done = edit_ops.apply_to_model(model, edit)
    cuts = result.meta["metrics"].get("missing_cuts") or []
    pair, column = sorted(done["persona_ids"]), done["column"]
    if not any(sorted(c["personas"]) == pair and c["column"] == column for c in open_cuts(cuts)):
        raise UserError(Message(N_("Personas {a} and {b} are not told apart by whether {column} has a value in this run "
                                   "(or that was decided already); nothing to keep apart."),
                                a=pair[0], b=pair[1], column=column))
    metrics = with_missing_cuts(result.meta["metrics"], cuts, result.edits + [done])
    meta = _edited_meta(result, done, metrics=metrics)
    return RunResult(meta["run_id"], meta, result.accounts.copy(), [dict(p) for p in result.profiles], model,
                     result.builder, result.edits + [done], result.risk, result.features, portfolio=result.portfolio)


def apply_edit(result: RunResult, edit: dict[str, Any], portfolio: Any = None) -> RunResult:
    """Apply one analyst edit (see :mod:`personas.edits`) to a run; returns the updated run.

    Merges and renames need nothing else; a split (and new profiles after a merge) needs the
    features, which a loaded run gets from ``portfolio`` (the same data as the run).
    """
    if edit.get("action") == "keep_apart":
        return _kept_apart(result, edit)
    if edit.get("action") == "rename":
        model = result.model.copy_for_edit()
        done = edit_ops.apply_to_model(model, edit)
        profiles = [dict(p) for p in result.profiles]
        accounts = result.accounts.copy()
        by_language = _rename_changed(model, profiles, _primary_language(result), names_by_language(result.profiles))
        _apply_names(accounts, profiles, model.names_, by_language)
        meta = _edited_meta(result, done)
        return RunResult(meta["run_id"], meta, accounts, profiles, model, result.builder,
                         result.edits + [done], result.risk, result.features, portfolio=result.portfolio)
    if portfolio is not None and portfolio.sha256 != result.meta["data_sha256"]:
        raise UserError("The open portfolio is not the one this run was made from; edits change "
                        "personas only on the run's own data.")
    portfolio = portfolio if portfolio is not None else _kept_portfolio(result)
    if portfolio is None:
        raise UserError("This edit recomputes the persona profiles and needs the run's portfolio, which "
                        "this run (saved before runs kept their portfolio) does not hold: open the same "
                        "portfolio and try again.")
    X = result.features
    if X is None:
        X = result.builder.transform(portfolio.frame.reset_index(drop=True))
    frame = _with_coded_target(portfolio, RunSettings.from_dict(result.meta["parameters"]["settings"]))
    model = result.model.copy_for_edit()
    before = model.reference_labels_.copy()
    done = edit_ops.apply_to_model(model, edit)
    accounts = result.accounts.copy()
    labels = accounts["persona_id"].to_numpy().copy()
    if done["action"] in ("merge", "reduce"):
        labels = _relabel_merges(labels, before, model.reference_labels_)
    elif done["action"] == "split":
        labels = _relabel_split(model, X, labels, done)
    accounts["persona_id"] = labels
    profiles = build_profiles(frame, accounts, result.builder, X, result.meta["parameters"]["outcomes"])
    by_language = _rename_changed(model, profiles, _primary_language(result), names_by_language(result.profiles))
    _apply_names(accounts, profiles, model.names_, by_language)
    _carry_risk(profiles, accounts)
    metrics = missing_cut_metrics(dict(result.meta["metrics"], personas=int(accounts["persona_id"].nunique())),
                                  frame, accounts, result.builder, int(result.meta.get("seed", 0)),
                                  result.edits + [done])
    meta = _edited_meta(result, done, metrics=metrics)
    return RunResult(meta["run_id"], meta, accounts, profiles, model, result.builder,
                     result.edits + [done], result.risk, X, portfolio=result.portfolio)


@dataclass(frozen=True)
class _KeptPortfolio:
    """The run's own copy standing in for the upload in an edit (same rows, same data hash)."""

    frame: pd.DataFrame
    sha256: str
    source_name: str
    row_numbers: pd.Series | None = None


def _kept_portfolio(result: RunResult) -> _KeptPortfolio | None:
    """The run's copy of its portfolio when it holds every column the edit reads, else ``None``."""
    if result.portfolio is None:
        return None
    frame = result.portfolio.frame
    settings = result.meta["parameters"]["settings"]
    needed = set(result.builder.used_columns) | {settings.get("target")} - {None}
    if not needed <= set(frame.columns):
        return None
    return _KeptPortfolio(frame, result.meta["data_sha256"], str(result.meta.get("source_name", "")))


def _relabel_merges(labels: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    lookup = np.arange(max(int(labels.max()), int(before.max())) + 1, dtype=np.int64)
    lookup[before] = after  # every reference account of a persona moves to the same new id
    return lookup[labels]


def _relabel_split(model: PersonaModel, X: np.ndarray, labels: np.ndarray, done: dict) -> np.ndarray:
    from sklearn.neighbors import KNeighborsClassifier

    ids = [done["persona_id"]] + done["new_ids"]
    members = np.isin(model.reference_labels_, ids)
    knn = KNeighborsClassifier(n_neighbors=min(model.settings.knn_neighbors, int(members.sum())))
    knn.fit(model.reference_X_[members], model.reference_labels_[members])
    rows = np.flatnonzero(labels == done["persona_id"])
    labels = labels.copy()
    if len(rows):
        labels[rows] = knn.predict(X[rows])
    return labels


def _primary_language(result: RunResult) -> str:
    return result.meta["parameters"]["settings"].get("language", "en")


def _rename_changed(model: PersonaModel, profiles: list[dict], language: str,
                    previous: dict[str, dict[int, str]] | None = None) -> dict[str, dict[int, str]]:
    """Names after an edit, in every language: the analyst's names as written (the same in each
    language), unchanged personas keep theirs, merged and split ones are named anew. ``previous``
    holds the names per language before the edit (empty for a run saved with one language)."""
    present = {p["persona_id"] for p in profiles}
    fixed = {p: model.names_[p] for p in model.fixed_names_ if p in present and p in model.names_}
    kept = {lang: dict(names) for lang, names in (previous or {}).items()}
    kept[language] = dict(model.names_)
    kept = {lang: {p: n for p, n in names.items() if p in present and p not in model.stale_names_}
            for lang, names in kept.items()}
    by_language = names_in_languages(profiles, language, fixed=fixed, kept=kept)
    model.names_ = by_language[language]
    model.stale_names_.clear()
    return by_language


def _carry_risk(profiles: list[dict], accounts: pd.DataFrame) -> None:
    if "risk_score" in accounts.columns:
        means = accounts.groupby("persona_id")["risk_score"].mean()
        for profile in profiles:
            value = means.get(profile["persona_id"])
            profile["mean_risk_score"] = None if value is None or pd.isna(value) else float(value)


# ---------------------------------------------------------------------------- save / load
def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (set, tuple, np.ndarray)):
        return list(value)
    return str(value)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default), encoding="utf-8")


def _save(result: RunResult, directory: Path, created_by: str | None) -> Path:
    started = time.perf_counter()
    meta = dict(result.meta)
    if created_by is not None:
        meta["created_by"] = created_by

    def write(staging: Path) -> None:
        model_dir = staging / "model"
        model_dir.mkdir()
        _write_json(model_dir / "features.json", result.builder.to_dict())
        result.model.save(model_dir)
        result.accounts.to_parquet(staging / "accounts.parquet", index=False)
        _write_json(staging / "personas.json", result.profiles)
        _write_json(staging / "edits.json", result.edits)
        if result.risk is not None:
            result.risk.save(staging)
        if result.portfolio is not None:
            (staging / PORTFOLIO).write_bytes(result.portfolio.parquet)
            meta["portfolio"] = result.portfolio.section(meta["data_sha256"])
        else:
            meta.pop("portfolio", None)
        for name, data in result.extra_files.items():
            (staging / name).write_bytes(data)
        meta["timings"] = dict(meta["timings"], save=round(time.perf_counter() - started, 3))
        _write_json(staging / "run.json", meta)

    folder = save_run(directory, write)
    result.meta, result.folder = meta, folder
    return folder.path


def _model_from(folder: RunFolder) -> tuple[PersonaModel, FeatureBuilder, list[dict[str, Any]]]:
    builder = FeatureBuilder.from_dict(folder.read_json("model/features.json"))
    model = PersonaModel.from_bytes(folder.read_bytes("model/persona_model.json"),
                                    folder.read_bytes("model/reference.npz"))
    edits = folder.read_json("edits.json")
    names = dict(model.names_)
    edit_ops.replay(model, edits)
    model.names_, model.stale_names_ = names, set()  # saved names are already the edited ones
    return model, builder, edits


def load_model(directory: str | Path | RunFolder) -> tuple[PersonaModel, FeatureBuilder, list[dict[str, Any]]]:
    """The saved discovery model, feature builder and edits of a run (the folder verified first)."""
    folder = directory if isinstance(directory, RunFolder) else open_run(directory)
    return _model_from(folder)


def load_risk(folder: RunFolder) -> Any:
    """The run's risk result, or ``None`` for a run without an outcome column.

    A risk artefact that fails its check refuses the whole run (``UserError``), never a silent
    "no risk model": a reviewer must learn that the run was altered.
    """
    section = folder.meta.get("model")
    if not isinstance(section, dict) or "skipped" in section:
        return None
    from explain.risk import RiskResult

    return RiskResult.load(folder)


def load_run(directory: str | Path | RunFolder) -> RunResult:
    """Load a saved run through :func:`runs.open_run`; refuses (``UserError``) an altered or unsigned run."""
    folder = directory if isinstance(directory, RunFolder) else open_run(directory)
    model, builder, edits = _model_from(folder)
    meta = folder.meta
    accounts = folder.read_parquet("accounts.parquet")
    profiles = folder.read_json("personas.json")
    model.search_ = meta.get("settings_search")
    kept = folder.read_bytes(PORTFOLIO) if folder.has(PORTFOLIO) else None
    return RunResult(meta["run_id"], meta, accounts, profiles, model, builder, edits, load_risk(folder),
                     None, folder, None if kept is None else RunPortfolio.from_bytes(kept, meta.get("portfolio")))


def assign_portfolio(run_dir: str | Path, portfolio: Any) -> pd.DataFrame:
    """Assign a new portfolio to a saved run's personas (ids, names and analyst edits kept).

    Returns one row per account: account_id, persona_id, persona_name, membership_probability,
    needs_review.
    """
    model, builder, _ = load_model(run_dir)
    frame = portfolio.frame.reset_index(drop=True)
    missing = [s["column"] for s in builder.specs_ if s["column"] not in frame.columns]
    if len(missing) == len(builder.specs_):
        raise UserError(f"{portfolio.source_name}: none of the run's feature columns is present "
                        f"({', '.join(builder.used_columns)}).")
    return assign_frame(model, builder, frame)


def assign_frame(model: PersonaModel, builder: FeatureBuilder, frame: pd.DataFrame) -> pd.DataFrame:
    """Assign the accounts of one frame (or one partition of a larger table); rows stay in order.

    Stateless apart from the loaded model, so it can be mapped over partitions (e.g. with Dask).
    """
    assigned = model.assign(builder.transform(frame))
    assigned.index = frame.index
    assigned.insert(0, "account_id", frame["account_id"].astype(str).to_numpy())
    assigned.insert(2, "persona_name", assigned["persona_id"].map(model.names_).fillna("").astype(str))
    return assigned
