"""The risk model end to end: ``fit_risk_model`` -> :class:`RiskResult` (scores, metrics, SHAP, fairness).

The risk score is the probability that an account is NOT paid within the outcome window (0..1,
higher = riskier), whichever way round the outcome column is coded. Per-account scores are
out-of-fold; SHAP values explain the final model (refit on all rows) on the log-odds scale.

>>> risk = fit_risk_model(frame, roles, target="paid_90d", target_event="paid")   # doctest: +SKIP
>>> risk.scores.head(); risk.metrics["roc_auc"]; risk.save(run_dir)              # doctest: +SKIP
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from core.threads import limit_threads
from explain.fairness import FairnessReport, fairness_report
from explain.features import (FeatureEncoder, check_both_outcomes, event_vector, forbidden_columns,
                              guardrail_columns, model_features)
from explain.metrics import bootstrap_metrics, gains_table, point_metrics, pr_points, reliability_points, roc_points
from explain.model import RiskModel, fit_cross_validated
from explain.model_io import RunReader, load_risk_model, risk_model_files
from explain.reasons import top_reasons
from explain.settings import RiskSettings
from explain.shapley import ShapTable, compute_shap
from core.errors import UserError
from core.i18n import N_, _, translator

__all__ = ["fit_risk_model", "RiskSettings", "RiskResult"]

SCORE_DIRECTION = "probability of NOT paying"
#: Reason text of an account whose SHAP values give no reason (every value exactly zero: a model
#: without splits). Every account's SHAP values are computed, at every size.
NO_REASON = N_("no reason: the model gives every account the same score")  # in the run's language
CURVES = ("roc", "pr", "reliability", "reliability_uncalibrated", "gains")


@dataclass
class RiskResult:
    """Everything the risk step produced; the app and the CLI only read from it.

    Attributes
    ----------
    scores : DataFrame
        account_id, risk_score (out-of-fold probability of NOT paying, 0..1), reasons (top three, plain
        words; every account, at every size).
    metrics : dict
        roc_auc, pr_auc, brier, log_loss, ks, each ``{value, ci_low, ci_high}`` (bootstrap percentile).
    persona_risk : dict
        persona_id -> mean risk_score (empty without persona ids).
    shap : ShapTable
        SHAP values on the log-odds of NOT paying: computed for every account (each account's
        reasons in ``scores``); the full table kept for every account up to ``shap_max_rows``, above
        that for a stated seeded sample (charts), with waterfalls of the others computed on request.
    fairness : FairnessReport
        group tables, adverse impact ratio, parity difference, proxy check and warnings.
    guardrail_columns : list of dict
        Columns recording a right exercised or a vulnerability (dispute, channel objection,
        time-barred, over-indebtedness, insolvency): ``column``, ``meaning``, ``in_model`` (False
        unless ``settings.rights_and_vulnerability_as_features``) and ``reason``.
    """

    target: str
    target_event: str
    settings: RiskSettings
    features: list[str]
    categorical_features: list[str]
    excluded_columns: list[str]
    n_accounts: int
    not_paid_rate: float
    scores: pd.DataFrame
    metrics: dict[str, dict[str, float]]
    metrics_uncalibrated: dict[str, float]
    calibration: dict[str, Any]
    curves: dict[str, pd.DataFrame]
    shap: ShapTable
    persona_table: pd.DataFrame | None
    persona_risk: dict[int, float]
    fairness: FairnessReport
    model: RiskModel
    cv_iterations: list[int] = field(default_factory=list)
    #: Accounts the folds and the refit learnt from: all, or RiskSettings.fit_max_rows (0 = not recorded).
    fit_rows: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    saved_card: str | None = None  # the card as written at save time (set by load)
    #: Where a waterfall outside the stored SHAP table finds the account's row: the portfolio the
    #: model was fitted on (a run folder's ``portfolio.parquet`` when loaded). Never pickled.
    rows_source: Callable[[], pd.DataFrame | None] | None = field(default=None, repr=False, compare=False)
    #: What the run knew about the data (columns with roles and reasons, rows read/used/excluded per
    #: reason, each excluded row), set by the pipeline for the model card's Data section; ``None``
    #: when the model was fitted outside a run.
    data_summary: dict[str, Any] | None = None
    guardrail_columns: list[dict[str, Any]] = field(default_factory=list)
    #: The model's files (:func:`explain.model_io.risk_model_files`) when already written: the run's risk
    #: process writes them before it answers, so saving the run does not import skops on its critical
    #: path. ``None``: written at save time.
    model_files: dict[str, bytes] | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ what pages ask for
    def roc_curve(self) -> pd.DataFrame:
        return self.curves["roc"]

    def pr_curve(self) -> pd.DataFrame:
        return self.curves["pr"]

    def calibration_curve(self) -> pd.DataFrame:
        """Reliability curve of the reported (out-of-fold, calibrated if chosen) risk score."""
        return self.curves["reliability"]

    def gains(self) -> pd.DataFrame:
        return self.curves["gains"]

    def metric_table(self) -> pd.DataFrame:
        rows = [{"metric": name, **values} for name, values in self.metrics.items()]
        return pd.DataFrame(rows)

    def global_importance(self) -> pd.DataFrame:
        return self.shap.global_importance(self.settings.language)

    def beeswarm(self, max_points: int | None = None) -> pd.DataFrame:
        return self.shap.beeswarm(max_points or self.settings.beeswarm_points, self.settings.seed,
                                  self.settings.language, self.settings.currency)

    def dependence(self, feature: str) -> pd.DataFrame:
        return self.shap.dependence(feature, self.settings.language, self.settings.currency)

    def waterfall(self, account_id: str) -> dict:
        """SHAP waterfall of one account plus its reported risk score and reasons (KeyError if unknown).

        Accounts outside the stored table of values (above ``shap_max_rows``) are explained on
        request from their row in the portfolio (``rows_source``): the same exact values.
        """
        account_id = str(account_id)
        if account_id in self.shap.values.index:
            table = self.shap
        else:
            table = self._explain_one(account_id)
        data = table.waterfall(account_id, self.settings.language, self.settings.currency)
        row = self.scores.loc[self.scores["account_id"] == account_id]
        data["risk_score"] = float(row["risk_score"].iloc[0]) if len(row) else None
        data["reasons"] = str(row["reasons"].iloc[0]) if len(row) else ""
        return data

    def has_account(self, account_id: str) -> bool:
        """True when a waterfall can be shown: the account is in the stored SHAP table, or it is one of
        this run's accounts and the portfolio rows are at hand to explain it on request."""
        account_id = str(account_id)
        if account_id in self.shap.values.index:
            return True
        return self.rows_source is not None and bool((self.scores["account_id"] == account_id).any())

    def _explain_one(self, account_id: str) -> ShapTable:
        from explain.shapley import display_values, explain_frame

        if self.rows_source is None or not (self.scores["account_id"] == account_id).any():
            raise KeyError(account_id)
        frame = self.rows_source()
        if frame is None:
            raise KeyError(account_id)
        row = frame[frame["account_id"].astype(str) == account_id]
        if len(row) != 1:
            raise KeyError(account_id)
        values, base = explain_frame(self.model, row)
        index = pd.Index([account_id], name="account_id")
        return ShapTable(pd.DataFrame(values, index=index, columns=self.model.encoder.features),
                         display_values(self.model, row).set_axis(index), base, 1, False, self.settings.seed,
                         0.0, 0.0)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["rows_source"] = None  # a frame or a folder reader stays in its process
        return state

    def persona_explanation(self) -> pd.DataFrame | None:
        return self.persona_table

    def with_personas(self, persona_ids: pd.Series | np.ndarray) -> "RiskResult":
        """Set the persona views: mean risk score and SHAP per persona against the portfolio.

        ``persona_ids`` has one persona per scored account, in the order of ``scores``. The run's
        pipeline calls this after discovery when the risk model was fitted alongside it.
        """
        ids = np.asarray(persona_ids)
        if len(ids) != len(self.scores):
            raise ValueError(f"persona_ids has {len(ids)} rows, the portfolio {len(self.scores)}")
        account_ids = self.scores["account_id"].astype(str).to_numpy()
        self.persona_table = self.shap.persona_explanation(pd.Series(ids, index=account_ids),
                                                           self.settings.language)
        means = pd.Series(self.scores["risk_score"].to_numpy()).groupby(ids).mean()
        self.persona_risk = {int(k): float(v) for k, v in means.items()}
        return self

    def model_card(self) -> str:
        """The model card Markdown (as saved, for a loaded result; else written from this run)."""
        if self.saved_card is not None:
            return self.saved_card
        from explain.model_card import model_card

        return model_card(self)

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score a new portfolio with the final model: account_id, risk_score, reasons.

        Unlike the run's own scores these are not out-of-fold (the model never saw these accounts).
        """
        with limit_threads(self.settings.thread_count(len(frame))):
            return self._score(frame)

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        shap_table = compute_shap(self.model, frame, frame["account_id"].astype(str), cap=0,
                                  seed=self.settings.seed, language=self.settings.language,
                                  currency=self.settings.currency,
                                  threads=self.settings.thread_count(len(frame)))
        return _score_table(frame["account_id"].astype(str), self.model.risk_score(frame), shap_table,
                            self.settings.language)

    # ------------------------------------------------------------------ run.json and files
    @property
    def fitted_on(self) -> int:
        """Accounts the model learnt from (all of them unless the portfolio exceeded fit_max_rows)."""
        return int(self.fit_rows or self.n_accounts)

    @property
    def sampled_fit(self) -> bool:
        return self.fitted_on < self.n_accounts

    @property
    def cv_folds(self) -> int:
        """Cross-validation folds this run actually used (the settings may have left it automatic)."""
        return self.settings.folds_for(self.n_accounts)

    def run_json_section(self) -> dict[str, Any]:
        """The ``model`` section of run.json (JSON-serialisable)."""
        section: dict[str, Any] = {
            "target": self.target, "target_event": self.target_event,
            "score_direction": SCORE_DIRECTION, "scores": "out-of-fold",
            "algorithm": "scikit-learn HistGradientBoostingClassifier (categoricals as level codes)",
            "features": self.features, "categorical_features": self.categorical_features,
            "never_features": self.excluded_columns,
            "guardrail_columns_in_model": self.settings.rights_and_vulnerability_as_features,
            "guardrail_columns": [dict(g) for g in self.guardrail_columns],
            "rows": self.n_accounts,
            "not_paid_rate": self.not_paid_rate, "cv_folds": self.cv_folds,
            "cv_iterations": self.cv_iterations, "fit_rows": self.fitted_on,
            "calibrated": bool(self.calibration["calibrated"]),
            "calibration_method": self.calibration["method"],
            "calibration_reason": self.calibration["reason"],
            "brier_uncalibrated": self.calibration["brier_uncalibrated"],
            "bootstrap_resamples": self.settings.bootstrap_resamples,
            "confidence_level": self.settings.confidence,
        }
        section.update({name: dict(values) for name, values in self.metrics.items()})
        shap_meta = self.shap.meta()
        section.update({"shap_scale": "log-odds", "shap_sample_size": shap_meta["accounts_explained"],
                        "shap": shap_meta, "fairness_warnings": list(self.fairness.warnings),
                        "fairness": self.fairness.to_json(), "timings": self.timings,
                        "settings": self.settings.to_dict(), "versions": self.versions})
        return _clean(json.loads(json.dumps(_clean(section), default=_json_default)))

    def save(self, folder: Path) -> None:
        """Write shap_values.parquet, model_card.md, fairness/ and risk/ (tables, result.json, model) into
        ``folder``, the run folder being written; the run's signed manifest covers them (no pickle)."""
        run_dir = Path(folder)
        for sub in ("risk", "fairness"):
            (run_dir / sub).mkdir(parents=True, exist_ok=True)
        files = {"shap_values.parquet": self.shap.to_frame(),
                 "risk/feature_values.parquet": self.shap.feature_values.reset_index(names="account_id"),
                 "risk/scores.parquet": self.scores,
                 "fairness/groups.parquet": self.fairness.groups,
                 "fairness/proxies.parquet": self.fairness.proxies}
        files.update({f"risk/curve_{name}.parquet": self.curves[name] for name in CURVES})
        if self.persona_table is not None:
            files["risk/persona_shap.parquet"] = self.persona_table
        for name, table in files.items():
            table.to_parquet(run_dir / name, index=False)
        (run_dir / "fairness/summary.json").write_text(
            json.dumps(_clean(self.fairness.to_json()), indent=2, default=_json_default), encoding="utf-8")
        (run_dir / "risk/result.json").write_text(json.dumps(_clean(self._meta()), indent=2, default=_json_default),
                                                  encoding="utf-8")
        (run_dir / "model_card.md").write_text(self.model_card(), encoding="utf-8")
        for name, data in (self.model_files or risk_model_files(self.model)).items():
            (run_dir / name).write_bytes(data)

    def _meta(self) -> dict[str, Any]:
        return {"target": self.target, "target_event": self.target_event, "settings": self.settings.to_dict(),
                "features": self.features, "categorical_features": self.categorical_features,
                "excluded_columns": self.excluded_columns, "guardrail_columns": self.guardrail_columns,
                "n_accounts": self.n_accounts,
                "not_paid_rate": self.not_paid_rate, "metrics": self.metrics,
                "metrics_uncalibrated": self.metrics_uncalibrated, "calibration": self.calibration,
                "shap": self.shap.meta(), "persona_risk": {str(k): v for k, v in self.persona_risk.items()},
                "cv_iterations": self.cv_iterations, "fit_rows": self.fitted_on,
                "timings": self.timings, "versions": self.versions,
                "has_persona_table": self.persona_table is not None}

    @classmethod
    def load(cls, reader: RunReader) -> "RiskResult":
        """Read a saved result through ``reader`` (e.g. ``runs.folder.RunFolder``, which checks every
        file against the run's signed manifest): ``read_bytes``, ``read_text``, ``read_json`` and
        ``read_parquet`` of run-folder-relative names. The model is never unpickled."""
        meta = reader.read_json("risk/result.json")
        table = reader.read_parquet
        shap_table = ShapTable.from_frames(table("shap_values.parquet"), table("risk/feature_values.parquet"),
                                           meta["shap"])
        summary = reader.read_json("fairness/summary.json")
        fairness = FairnessReport(table("fairness/groups.parquet"), summary["attributes"],
                                  table("fairness/proxies.parquet"), summary["cutoff"],
                                  summary["cutoff_rule"], summary["warnings"])
        return cls(
            target=meta["target"], target_event=meta["target_event"],
            settings=RiskSettings.from_dict(meta["settings"]), features=meta["features"],
            categorical_features=meta["categorical_features"], excluded_columns=meta["excluded_columns"],
            n_accounts=meta["n_accounts"], not_paid_rate=meta["not_paid_rate"],
            scores=table("risk/scores.parquet"), metrics=meta["metrics"],
            metrics_uncalibrated=meta["metrics_uncalibrated"], calibration=meta["calibration"],
            curves={name: table(f"risk/curve_{name}.parquet") for name in CURVES}, shap=shap_table,
            persona_table=table("risk/persona_shap.parquet") if meta["has_persona_table"] else None,
            persona_risk={int(k): v for k, v in meta["persona_risk"].items()}, fairness=fairness,
            model=load_risk_model(reader.read_bytes),
            cv_iterations=meta["cv_iterations"], fit_rows=int(meta.get("fit_rows") or 0),
            timings=meta["timings"], versions=meta["versions"], saved_card=reader.read_text("model_card.md"), rows_source=_portfolio_rows(reader),
            guardrail_columns=list(meta.get("guardrail_columns") or []))  # none recorded before they existed


def fit_risk_model(frame: pd.DataFrame, roles: Any, target: str, target_event: str = "paid",
                   persona_ids: pd.Series | None = None, settings: RiskSettings | None = None,
                   progress: Callable[[str, float], None] | None = None, *,
                   release_frame: bool = False) -> RiskResult:
    """Train, cross-validate, calibrate, explain and audit the risk model for one outcome column.

    Parameters
    ----------
    frame : DataFrame
        The portfolio (``Portfolio.frame``): account_id, balance, days_past_due and the other columns.
    roles : ColumnRoles
        Column roles; the model uses ``roles.features`` + balance + days_past_due only.
    target : str
        The outcome column, binary (0/1, yes/no, true/false). Never guessed.
    target_event : {"paid", "default"}
        What 1 in ``target`` means. The risk score is the probability of NOT paying either way.
    persona_ids : Series, optional
        Persona of each row of ``frame`` (same length, same order) for the persona views.
    settings : RiskSettings, optional
        The result's ``settings`` are these with the fold count fixed to the one used
        (:meth:`RiskSettings.resolved`), so run.json, the model card and the app state the real folds.
    progress : callable(stage, fraction), optional
        Called with the stages "risk model", "shap" and "fairness".
    release_frame : bool
        The caller hands ``frame`` over and reads it no more (the run's risk step: its own copy of the
        portfolio's columns). Once the model is fitted, the columns the rest of the step does not read
        are deleted from ``frame`` itself (all but the sensitive ones), because SHAP and the reasons
        read the encoded matrix the model was fitted on. The result then has no ``rows_source``.
        Measured on the risk process at 1,000,000 accounts: 311 MB less resident memory (763 -> 451
        MiB after encoding) during SHAP and the fairness screens, the part of the step that runs
        beside the run's persona profiles, where the whole run's memory peaks.
    """
    settings = (settings or RiskSettings()).resolved(len(frame))
    with limit_threads(settings.thread_count(len(frame))):
        return _fit(frame, roles, target, target_event, persona_ids, settings, progress, release_frame)


def _fit(frame, roles, target, target_event, persona_ids, settings, progress, release_frame=False) -> RiskResult:
    started = time.perf_counter()
    event, account_ids = _checked_inputs(frame, target, target_event, settings)
    given, frame = frame, frame.reset_index(drop=True)
    features = model_features(frame, roles, target,
                              rights_and_vulnerability=settings.rights_and_vulnerability_as_features)
    excluded = sorted(c for c in forbidden_columns(roles, target) if c in frame.columns)
    guardrails = guardrail_columns(frame, roles, as_features=settings.rights_and_vulnerability_as_features)
    sensitive = list(getattr(roles, "sensitive", []) or [])
    encoder = FeatureEncoder(features, settings.max_categories).fit(frame)
    fit = fit_cross_validated(frame, event, encoder, settings, progress)
    if release_frame:
        frame = _release(given, frame, [c for c in sensitive if c in frame.columns])
    timings = {"risk model": time.perf_counter() - started}

    lap = time.perf_counter()
    metrics, curves = _performance(event, fit, settings)
    timings["metrics"] = time.perf_counter() - lap

    lap = time.perf_counter()
    if progress:
        progress("shap", 0.0)
    shap_table = compute_shap(fit.model, frame, account_ids, cap=settings.shap_max_rows, seed=settings.seed,
                              language=settings.language, currency=settings.currency,
                              threads=settings.thread_count(len(frame)), encoded=fit.matrix)
    scores = _score_table(account_ids, fit.oof_risk, shap_table, settings.language)
    timings["shap"] = time.perf_counter() - lap
    if progress:
        progress("shap", 1.0)

    lap = time.perf_counter()
    fairness = fairness_report(frame, sensitive, fit.oof_risk, event,
                               fit.matrix, settings, meanings=dict(getattr(roles, "meanings", None) or {}))
    timings["fairness"] = time.perf_counter() - lap
    if progress:
        progress("fairness", 1.0)
    result = RiskResult(
        target=target, target_event=target_event, settings=settings, features=features,
        categorical_features=encoder.categorical, excluded_columns=excluded, n_accounts=len(frame),
        not_paid_rate=float(event.mean()), scores=scores, metrics=metrics,
        metrics_uncalibrated=point_metrics(event, fit.oof_uncalibrated), calibration=fit.calibration.to_dict(),
        curves=curves, shap=shap_table, persona_table=None, persona_risk={},
        fairness=fairness, model=fit.model, cv_iterations=fit.iterations, fit_rows=fit.fit_rows,
        timings={k: round(v, 3) for k, v in timings.items()}, versions=_versions(),
        guardrail_columns=guardrails, rows_source=None if release_frame else lambda: frame)
    return result if persona_ids is None else result.with_personas(persona_ids)


def _release(given: pd.DataFrame, frame: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    """A copy of ``frame``'s ``keep`` columns; every column is deleted from ``given`` (the caller's
    frame, handed over), so the arrays it shared with ``frame`` are freed."""
    kept = frame[keep].copy()
    for column in list(given.columns):
        del given[column]
    return kept


def _checked_inputs(frame: pd.DataFrame, target: str | None, target_event: str,
                    settings: RiskSettings) -> tuple[np.ndarray, pd.Series]:
    """The event vector (1 = NOT paid) and the account ids; UserError for anything unusable."""
    if target is None or target == "":
        raise UserError(_("Name the outcome column to train a risk model on (e.g. --target paid_90d)."))
    event = event_vector(frame, target, target_event)
    check_both_outcomes(event, target, settings.folds_for(len(frame)))
    account_ids = frame["account_id"].astype(str).reset_index(drop=True)
    duplicated = account_ids[account_ids.duplicated()]
    if len(duplicated):
        raise UserError(_("account_id must be unique for the risk model; {n} repeat, e.g. {examples}.").format(
            n=len(duplicated), examples=", ".join(duplicated.unique()[:3])))
    return event, account_ids


def _performance(event: np.ndarray, fit: Any, settings: RiskSettings):
    """Metrics with bootstrap intervals and the curve tables, all on the out-of-fold scores."""
    metrics = bootstrap_metrics(event, fit.oof_risk, resamples=settings.bootstrap_resamples,
                                seed=settings.seed, confidence=settings.confidence)
    curves = {"roc": roc_points(event, fit.oof_risk), "pr": pr_points(event, fit.oof_risk),
              "reliability": reliability_points(event, fit.oof_risk),
              "reliability_uncalibrated": reliability_points(event, fit.oof_uncalibrated),
              "gains": gains_table(event, fit.oof_risk)}
    return metrics, curves


def _score_table(account_ids: pd.Series, risk: np.ndarray, shap_table: ShapTable, language: str) -> pd.DataFrame:
    """account_id, risk_score and the reasons of every account (all explained, see compute_shap)."""
    import pyarrow.compute as pc

    texts = shap_table.reasons
    shap_table.reasons = None  # the scores hold them from here on (never pickled or kept twice)
    texts = pc.if_else(pc.equal(texts, ""), translator(language)._(NO_REASON), texts)
    return pd.DataFrame({"account_id": account_ids.to_numpy(), "risk_score": np.asarray(risk, dtype=float),
                         "reasons": pd.array(texts, dtype="str")})


def _portfolio_rows(reader: Any) -> Callable[[], pd.DataFrame | None] | None:
    """The run's portfolio copy for a waterfall outside the stored SHAP table (a run folder's
    ``read_portfolio``, verified against its signed manifest), read on each such request and not
    kept (a million-account copy would stay in the app's memory); None for a reader without one."""
    return getattr(reader, "read_portfolio", None)


def _versions() -> dict[str, str]:
    """Library versions for run.json. shap's from its installed metadata: importing shap only to read
    ``shap.__version__`` cost the risk process 0.3-0.4 CPU-s (numba, its plots ...); it is the same text."""
    from importlib.metadata import version

    import sklearn

    return {"scikit-learn": sklearn.__version__, "shap": version("shap"), "pandas": pd.__version__,
            "numpy": np.__version__}


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.bool_,)):
        return bool(value)
    raise TypeError(f"not JSON-serialisable: {type(value)}")


def _clean(value: Any) -> Any:
    """NaN and infinities become None so the JSON is valid (json.dumps would write NaN)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value
