"""Next month: apply a run's fitted models to a new portfolio and write a new run with a drift report.

:func:`apply_run` never refits anything. It assigns every account of the new portfolio to the base
run's personas with the base run's persona model (k-NN vote, the same as ``personas assign``; ids,
names and analyst edits kept) and scores it with the base run's risk model, recomputes the persona
profiles on the new accounts (ids and names kept), keeps the new portfolio's copy (direct identifiers
left out, as every run does), compares the month with the base run (:mod:`application.drift`) and writes
a new run folder: its own run id, ``parent_run_id`` = the base run, ``drift.json`` (covered by the signed
manifest) and an ``applied`` section in ``run.json``. With a review store it then calls
``strategy.carry_over.carry_over``: approvals of personas that did not drift carry over, the others go
back to review. The run is written atomically; if the carry-over fails, the new folder is removed again.

A portfolio written differently from the base run's (other column names for the same meaning, yes/no
flags as ``J``/``N``) is aligned to the model's columns first: same name after normalisation (case,
spaces, underscores), else the column with the same collections meaning (dispute, opt-out ...), and
yes/no text in a column the model reads as numbers becomes 1/0 (:func:`portfolio.flags.flag_values`).
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from application.drift import DriftThresholds, drift_report, far_flags
from core.errors import UserError
from core.i18n import N_, _
from strategy.texts import Text

DRIFT_FILE = "drift.json"
Progress = Callable[[str, float], None] | None


@dataclass
class ApplyResult:
    """What :func:`apply_run` wrote: the new run and its drift report (and the carry-over, with a store)."""

    run_id: str
    path: Path
    base_run_id: str
    accounts: pd.DataFrame
    drift: dict[str, Any]
    carry: dict[str, Any] | None
    profiles: list[dict[str, Any]]

    @property
    def review_needed(self) -> bool:
        return bool(self.drift["review_needed"])


def apply_run(base_dir: str | Path, portfolio: Any, *, out_dir: str | Path, store: Any = None, actor: Any = None,
              thresholds: DriftThresholds | None = None, progress: Progress = None) -> ApplyResult:
    """Apply the run in ``base_dir`` to ``portfolio`` (``portfolio.load.Portfolio``); write ``out_dir``.

    Raises :class:`core.errors.UserError` (nothing written) when ``out_dir`` exists, the base run does
    not verify or keeps no portfolio, or the portfolio lacks a column the personas are built on.
    """
    from application.pipeline import (RunResult, _apply_names, _carry_risk, _timestamp, assign_frame, load_run,
                                      missing_cut_metrics)
    from application.run_portfolio import run_portfolio
    from runs import new_run_id, open_run
    from strategy.run_view import load_run_view

    report = progress or (lambda stage, fraction: None)
    started = time.perf_counter()
    out_dir = Path(out_dir)
    if out_dir.exists() or out_dir.is_symlink():
        raise UserError(Text(N_("--out {folder} exists already; a run is never written over another. Choose a new "
                                "folder."), folder=str(out_dir)))
    report(_("opening the base run"), 0.0)
    folder = open_run(base_dir)
    base = load_run(folder)
    base_view = load_run_view(folder)
    if base.portfolio is None:
        raise UserError(Text(N_("{folder}: this run was saved before runs kept their portfolio; apply compares the new "
                                "month with the run's own accounts. Re-run `personas run` on the base file first."),
                             folder=str(folder.path)))
    _check_usable(portfolio)
    report(_("aligning columns"), 0.05)
    frame = model_frame(portfolio, base.builder, base_view.roles)
    report(_("assigning personas"), 0.15)
    accounts = assign_frame(base.model, base.builder, frame).reset_index(drop=True)
    if base.risk is not None:
        report(_("risk scores"), 0.35)
        risk = _scored_risk(base.risk, frame)
        scores = risk.scores.set_index("account_id")
        accounts["risk_score"] = scores["risk_score"].reindex(accounts["account_id"]).to_numpy()
        accounts["reasons"] = scores["reasons"].reindex(accounts["account_id"]).to_numpy()
    else:
        risk = None
    report(_("profiles"), 0.55)
    X = base.builder.transform(frame)
    base_frame = base.portfolio.frame.reset_index(drop=True)
    X_base = base.builder.transform(base_frame)
    _map_like_base(accounts, X, base.accounts, X_base, base.meta)
    settings = base.meta["parameters"]["settings"]
    coded, outcomes = _profile_inputs(portfolio, frame, settings)
    from personas.profiles import build_profiles

    profiles = build_profiles(coded, accounts, base.builder, X, outcomes)
    from personas.names import names_by_language

    _apply_names(accounts, profiles, base.model.names_, names_by_language(base.profiles) or None)
    if risk is not None:
        means = accounts.groupby("persona_id")["risk_score"].mean()
        risk.persona_risk = {int(k): float(v) for k, v in means.items()}
        _carry_risk(profiles, accounts)

    report(_("drift"), 0.7)
    drift = drift_report(base_view, accounts, frame, base_frame=base_frame, specs=list(base.builder.specs_),
                         base_far=far_flags(base.model, X_base), new_far=far_flags(base.model, X),
                         thresholds=thresholds, outcomes=_base_outcomes(base_view))
    kept = run_portfolio(portfolio)
    created = datetime.now(timezone.utc)
    meta = _meta(base, portfolio, accounts, frame, new_run_id(created), _timestamp(created), drift, risk)
    meta["metrics"] = missing_cut_metrics(meta["metrics"], frame, accounts, base.builder, int(base.meta.get("seed", 0)),
                                          list(base.edits))
    meta["portfolio"] = kept.section(portfolio.sha256)
    meta["timings"] = {"apply": round(time.perf_counter() - started, 3)}
    result = RunResult(meta["run_id"], meta, accounts, profiles, base.model, base.builder, list(base.edits), risk,
                       X, portfolio=kept)
    result.extra_files = {DRIFT_FILE: json.dumps(drift, indent=2, ensure_ascii=False).encode("utf-8")}
    report(_("saving"), 0.85)
    from application.cli_run import operator_name

    created_by = getattr(actor, "username", None) or operator_name()
    path = result.save(out_dir, created_by=str(created_by))
    carry = None
    if store is not None:
        report(_("carrying approvals over"), 0.92)
        carry = _carry(store, actor, base.run_id, path, drift)
    report(_("done"), 1.0)
    return ApplyResult(result.run_id, path, base.run_id, accounts, drift, carry, profiles)


def _carry(store: Any, actor: Any, base_run_id: str, path: Path, drift: dict[str, Any]) -> dict[str, Any]:
    from strategy.carry_over import CARRYING_ROLES, SYSTEM_ACTOR, carry_over  # only when a store is given
    from strategy.run_view import load_run_view

    # The carry-over follows documented thresholds, not a person's judgement: an analyst who applies a
    # run starts it (and is the new run's creator); the audit log names system:apply as the one who carried.
    carrier = actor if getattr(actor, "role", None) in CARRYING_ROLES else SYSTEM_ACTOR
    try:
        return carry_over(store, carrier, base_run_id, load_run_view(path),
                          review_personas=set(drift["review_personas"]), drift=drift)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)  # nothing half-done: no run whose approvals did not carry
        raise


def _check_usable(portfolio: Any) -> None:
    from application.pipeline import usable_frame

    if len(usable_frame(portfolio)) == 0:
        raise UserError(Text(N_("{file}: no usable accounts."), file=portfolio.source_name))


# ---------------------------------------------------------------------------- columns
def model_frame(portfolio: Any, builder: Any, base_roles: Any) -> pd.DataFrame:
    """The portfolio's rows with every column the personas are built on, under the model's names."""
    from portfolio.flags import flag_values
    from portfolio.synonyms import normalise_name

    frame = portfolio.frame.reset_index(drop=True)
    needed = [s["column"] for s in builder.specs_]
    roles = portfolio.roles
    by_norm = {normalise_name(c): c for c in frame.columns}
    renames: dict[Any, Any] = {}
    for column in needed:
        if column in frame.columns:
            continue
        candidate = by_norm.get(normalise_name(column))
        if candidate is None and base_roles is not None:
            meaning = base_roles.meaning_of(column)
            candidate = roles.column_for(meaning) if meaning else None
        if candidate is not None and candidate not in needed and candidate not in renames:
            renames[candidate] = column
    frame = frame.rename(columns=renames)
    missing = [str(c) for c in needed if c not in frame.columns]
    if missing:
        raise UserError(Text(N_("{file}: the base run's personas are built on column(s) {columns}, which the file "
                                "lacks (no column of the same name or meaning). Rename them in the file, or give "
                                "them their meaning with --mapping (e.g. {example})."), file=portfolio.source_name,
                             columns=", ".join(missing[:8]), example='{"Streitfall": "dispute"}'),
                        lines=[Text(N_("{file}: column {column} of the base run's model is missing"),
                                    file=portfolio.source_name, column=repr(c)) for c in missing])
    for spec in builder.specs_:
        column = spec["column"]
        if spec.get("kind") != "numeric" or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        numbers = pd.to_numeric(frame[column], errors="coerce")
        flags = flag_values(frame[column])
        if flags.notna().sum() > numbers.notna().sum():  # yes/no text (J/N, ja/nein) where the model reads 1/0
            frame[column] = flags
        else:
            frame[column] = numbers
    return frame


# ---------------------------------------------------------------------------- parts of the new run
def _scored_risk(risk: Any, frame: pd.DataFrame) -> Any:
    """The base run's risk result with this month's scores and reasons (same model, not refitted).

    The SHAP table (global importance, beeswarm) stays the base run's: the same model explained on
    the accounts it was fitted on; each new account's own top reasons are in ``accounts.parquet``.
    """
    scores = risk.score(frame)
    return replace(risk, scores=scores, persona_table=None, persona_risk={})


def _map_like_base(accounts: pd.DataFrame, X: np.ndarray, base_accounts: pd.DataFrame, X_base: np.ndarray,
                   meta: dict[str, Any]) -> None:
    """Map coordinates in the base run's layout: a displayed share of the new accounts sits at the mean
    position of its 5 nearest displayed base accounts (no new UMAP: the map stays comparable)."""
    from sklearn.neighbors import NearestNeighbors

    from personas.discovery import stratified_sample

    accounts["x"], accounts["y"] = np.nan, np.nan
    shown = base_accounts[["x", "y"]].notna().all(axis=1).to_numpy() if {"x", "y"} <= set(base_accounts) else None
    if shown is None or not shown.any() or len(X_base) != len(base_accounts):
        return
    settings = meta["parameters"]["settings"]
    rows = int((meta.get("rows") or {}).get("displayed") or shown.sum())
    display = stratified_sample(accounts, min(rows, len(accounts)), int(settings.get("seed", 42)) + 7)
    k = int(min(5, shown.sum()))
    _, idx = NearestNeighbors(n_neighbors=k).fit(X_base[shown]).kneighbors(X[display])
    xy = base_accounts.loc[shown, ["x", "y"]].to_numpy(dtype=float)[idx].mean(axis=1)
    accounts.loc[accounts.index[display], ["x", "y"]] = xy


def _profile_inputs(portfolio: Any, frame: pd.DataFrame, settings: dict[str, Any]) -> tuple[pd.DataFrame, dict]:
    """The frame with the outcome coded 0/1 when this month has the base run's target, and the profile
    columns (``personas.profiles.outcome_columns``) of this month's portfolio."""
    from personas.profiles import outcome_columns
    from portfolio.target import check_target

    target = settings.get("target")
    if target and target in frame.columns:
        try:
            coding = check_target(frame, target, event=settings.get("target_event", "paid"),
                                  event_value=settings.get("target_event_value"), source_name=portfolio.source_name)
            frame = frame.copy()
            frame[target] = coding.encode(frame[target])
        except UserError:
            target = None
    else:
        target = None
    return frame, outcome_columns(frame, portfolio.roles, target, settings.get("target_event", "paid"))


def _base_outcomes(base_view: Any) -> pd.DataFrame | None:
    try:
        from strategy.outcomes import read_outcomes  # added with the outcomes read-out (issue 17)
    except ImportError:
        return None
    return read_outcomes(base_view)


def _meta(base: Any, portfolio: Any, accounts: pd.DataFrame, frame: pd.DataFrame, run_id: str, created_at: str,
          drift: dict[str, Any], risk: Any) -> dict[str, Any]:
    from portfolio.currency import portfolio_currency

    old = base.meta
    report = getattr(portfolio, "report", None)
    rows = {"read": int(getattr(report, "n_rows_read", len(frame)) or len(frame)), "used": int(len(frame))}
    counts = getattr(report, "excluded_by_reason", None)
    if callable(counts):
        rows["excluded"] = counts()
    rows["displayed"] = int(accounts["x"].notna().sum())
    parameters = dict(old["parameters"])
    settings = parameters.get("settings") or {}
    parameters["currency"] = portfolio_currency(portfolio.frame, portfolio.roles, settings.get("currency")).to_dict()
    metrics = dict(old.get("metrics") or {})
    metrics.update(personas=int(accounts["persona_id"].nunique()),
                   needs_review_share=float(accounts["needs_review"].mean()))
    metrics.pop("truth_ari", None)
    model = dict(old.get("model") or {})
    if risk is not None:
        model["scores"] = f"applied: scored by the model of run {base.run_id} (not refitted, not out-of-fold)"
        model["persona_risk_note"] = "mean risk score per persona of this month's accounts"
    meta = {
        "run_id": run_id, "parent_run_id": base.run_id, "created_at": created_at, "created_by": None,
        "data_sha256": portfolio.sha256, "source_name": str(portfolio.source_name), "rows": rows,
        "columns": old["columns"], "roles": portfolio.roles.to_dict() if hasattr(portfolio.roles, "to_dict") else {},
        "parameters": parameters, "seed": old["seed"], "library_versions": old.get("library_versions", {}),
        "machine": old.get("machine", {}),
        "timings": {}, "metrics": metrics, "settings_search": old.get("settings_search"), "model": model,
        "edits": int(old.get("edits", 0)),
        "applied": {"base_run_id": base.run_id, "drift": DRIFT_FILE, "review_needed": drift["review_needed"],
                    "review_personas": list(drift["review_personas"]),
                    "how": "personas and risk scores from the base run's fitted models (not refitted); "
                           "profiles recomputed on this month's accounts"},
    }
    if "edit_log" in old:
        meta["edit_log"] = old["edit_log"]
    return meta
