"""The tables and the provenance block an export consists of (no file handling here).

The account table is built from the account plan (:mod:`strategy.account_plan`) on exactly the
run's stored portfolio (:func:`run_portfolio`): each row carries the steps the account actually
receives, the rules that shaped them, and ``needs_review``; its summary cells describe those
steps, never the persona's strategy.
"""
from __future__ import annotations

import json
from importlib import metadata
from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd

from core.errors import UserError
from portfolio.currency import currency_of_run
from strategy.canonical import canonical_json
from strategy.catalogue import STRATEGY_FIELDS, Strategy
from strategy.context import context_from_profile, persona_rows, roles_of_run
from strategy.guardrails import check_strategy, violations

if TYPE_CHECKING:
    from strategy.run_view import RunView
    from strategy.settings import StrategySettings
    from strategy.workflow import MappingView

SCHEMA_VERSION = "1.0"


def app_version() -> str:
    """Installed version of the application package."""
    try:
        return metadata.version("persona-collections")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def strategy_columns(strategy: Strategy) -> dict[str, Any]:
    """Strategy fields as flat cells (weekdays as ``mon,tue,...``; explicit steps as JSON text,
    empty when the journey is derived from the fields)."""
    data = strategy.to_dict()
    data["contact_weekdays"] = ",".join(strategy.contact_weekdays)
    data["deferral_days"] = strategy.deferral_days
    data["steps"] = canonical_json(data["steps"]) if strategy.steps else ""
    return data


def persona_table(run: "RunView", mappings: dict[int, "MappingView"],
                  experiments: dict[int, Any] | None = None) -> pd.DataFrame:
    """One row per persona: id, name, size, strategy fields, approver and approval time/hash, and
    its approved champion/challenger experiment (:data:`EXPERIMENT_COLUMNS`, empty without one)."""
    records = []
    for profile in run.profiles:
        mapping = mappings[int(profile["persona_id"])]
        experiment = (experiments or {}).get(int(profile["persona_id"]))
        records.append({"persona_id": int(profile["persona_id"]),
                        "persona_name": str(profile.get("name", "")),
                        "size": int(profile.get("size") or 0),
                        **strategy_columns(mapping.strategy),
                        "strategy_sha256": mapping.strategy_hash,
                        "approved_by": mapping.approved_by, "approved_at": mapping.approved_at,
                        "approval_sha256": mapping.approval_hash,
                        **experiment_columns(experiment)})
    return with_integer_columns(pd.DataFrame.from_records(records))


EXPERIMENT_COLUMNS = ["experiment_id", "experiment_started_run_id", "champion_share", "challenger_share",
                      "holdout_share", "experiment_days", "min_sample_per_arm", "base_pay_rate",
                      "min_detectable_effect", "challenger_strategy_sha256", "challenger_strategy",
                      "experiment_approved_by", "experiment_approved_at", "experiment_approval_sha256"]


def experiment_columns(experiment: Any) -> dict[str, Any]:
    """The persona's approved experiment as flat cells (``None`` each without one); the challenger's
    strategy as canonical JSON text."""
    if experiment is None:
        return dict.fromkeys(EXPERIMENT_COLUMNS)
    return {"experiment_id": experiment.experiment_id,
            "experiment_started_run_id": experiment.started_run_id,
            "champion_share": round(experiment.champion_share, 6),
            "challenger_share": float(experiment.challenger_share),
            "holdout_share": float(experiment.holdout_share),
            "experiment_days": int(experiment.planned_days),
            "min_sample_per_arm": experiment.min_sample_per_arm,
            "base_pay_rate": experiment.base_pay_rate,
            "min_detectable_effect": experiment.min_detectable_effect,
            "challenger_strategy_sha256": experiment.challenger_hash,
            "challenger_strategy": experiment.challenger.canonical_json(),
            "experiment_approved_by": experiment.approved_by,
            "experiment_approved_at": experiment.approved_at,
            "experiment_approval_sha256": experiment.approval_hash}


def experiment_provenance(experiments: dict[int, Any]) -> list[dict[str, Any]]:
    """The approved experiments of an export for its provenance block."""
    return [{"persona_id": int(pid), "experiment_id": e.experiment_id, "started_run_id": e.started_run_id,
             "challenger_share": float(e.challenger_share), "holdout_share": float(e.holdout_share),
             "planned_days": int(e.planned_days), "min_sample_per_arm": e.min_sample_per_arm,
             "challenger_strategy_sha256": e.challenger_hash, "approved_by": e.approved_by,
             "approved_at": e.approved_at, "approval_sha256": e.approval_hash}
            for pid, e in sorted(experiments.items())]


# ---------------------------------------------------------------------------- the run's portfolio
def run_portfolio(run: "RunView", given: Any = None) -> tuple[pd.DataFrame | None, list[str]]:
    """The portfolio an account-level export uses: exactly the run's stored one (``RunView.portfolio``).

    ``given`` (a frame, a loaded portfolio or a file path) is only compared with it
    (:func:`strategy.run_view.check_portfolio_matches`): another data hash, other accounts or other
    values are refused, never used.

    Returns
    -------
    (DataFrame or None, list of str)
        The stored frame with canonical column names, or ``None`` and the refusal lines.
    """
    stored = getattr(run, "portfolio", None)
    if stored is None:
        return None, [f"run {run.run_id} keeps no portfolio of its own (saved before runs kept one, or "
                      "without it): an account-level export needs the run's stored portfolio, so that "
                      "every account is checked against exactly the data the run was made from; run "
                      "the discovery again on the portfolio and export from the new run"]
    stored = canonical_frame(stored, run)
    if given is None:
        return stored, []
    from strategy.run_view import check_portfolio_matches

    try:
        check_portfolio_matches(run, given)
    except UserError as err:
        return None, [f"{err} The export uses the run's own portfolio: leave the portfolio out or "
                      "give the same one."]
    return stored, []


def canonical_frame(frame: pd.DataFrame, run: "RunView") -> pd.DataFrame:
    """``frame`` with the run's canonical names (``account_id``, ``balance``, ``days_past_due``) for the
    columns the run's column model renamed; ``account_id`` as text."""
    roles = roles_of_run(run.meta)
    renamed = dict(getattr(roles, "renamed", None) or {})
    rename = {source: target for source, target in renamed.items()
              if source in frame.columns and target not in frame.columns}
    out = frame.rename(columns=rename) if rename else frame
    if "account_id" in out.columns:
        out = out.assign(account_id=out["account_id"].astype(str))
    return out


# ---------------------------------------------------------------------------- the account table
def plan_inputs(run: "RunView", mappings: dict[int, "MappingView"], overrides: pd.DataFrame,
                portfolio: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, Strategy], dict[str, Strategy],
                                                  dict[str, dict[str, Any]], list[str]]:
    """What :func:`strategy.account_plan.plan_accounts` needs.

    Returns the run's accounts joined to its portfolio (approved overrides that move an account to
    another persona applied; the persona model's ``needs_review`` kept), the persona strategies,
    the override strategies per account, the latest override row per account, and the run's
    accounts missing from the portfolio.
    """
    latest = {str(r["account_id"]): r for r in overrides.to_dict("records")}  # later rows win
    keep = [c for c in ("account_id", "persona_id", "needs_review") if c in run.accounts.columns]
    accounts = run.accounts[keep].copy()
    accounts["account_id"] = accounts["account_id"].astype(str)
    account_strategies: dict[str, Strategy] = {}
    for account_id, row in latest.items():
        if pd.notna(row.get("persona_id")):
            accounts.loc[accounts["account_id"] == account_id, "persona_id"] = int(row["persona_id"])
        if isinstance(row.get("strategy"), dict):
            account_strategies[account_id] = Strategy.from_dict(row["strategy"])
    columns = [c for c in portfolio.columns if c not in ("persona_id", "needs_review")]
    joined = accounts.merge(portfolio[columns].drop_duplicates("account_id"), on="account_id",
                            how="left", indicator=True)
    missing = joined.loc[joined["_merge"] == "left_only", "account_id"].tolist()
    joined = joined.drop(columns="_merge")
    strategies = {pid: m.strategy for pid, m in mappings.items()}
    return joined, strategies, account_strategies, latest, missing


def override_problems(run: "RunView", portfolio: pd.DataFrame | None, overrides: dict[str, dict[str, Any]],
                      settings: "StrategySettings") -> list[str]:
    """Persona-level guardrail failures of the override strategies (each strategy checked once)."""
    problems: list[str] = []
    checked: set[tuple[int, str]] = set()
    persona_of = dict(zip(run.accounts["account_id"].astype(str), run.accounts["persona_id"].astype(int)))
    for account_id, row in overrides.items():
        if not isinstance(row.get("strategy"), dict):
            continue
        strategy = Strategy.from_dict(row["strategy"])
        pid = int(row["persona_id"]) if pd.notna(row.get("persona_id")) else persona_of.get(account_id)
        if pid is None or (pid, strategy.content_hash()) in checked:
            continue
        checked.add((pid, strategy.content_hash()))
        problems += _override_problems(run, portfolio, pid, strategy, account_id, settings)
    return problems


def account_table(run: "RunView", plan: pd.DataFrame, mappings: dict[int, "MappingView"],
                  overrides: dict[str, dict[str, Any]], account_strategies: dict[str, Strategy],
                  include: pd.DataFrame | None = None,
                  include_columns: Sequence[str] = (),
                  experiments: dict[int, Any] | None = None) -> pd.DataFrame:
    """One row per planned account: the steps it actually receives and why.

    ``arm`` (from the plan) says which arm of its persona's approved experiment the account is in
    (``experiments``: ``{persona_id: Experiment}``); a challenger-arm account's ``strategy_sha256``
    and contact window are the challenger's, a holdout account's ``strategy_sha256`` is empty.

    ``channel``, ``tone``, ``offer``, ``escalation``, ``credit_bureau_report`` and ``disconnection``
    describe the executed steps (:func:`executed_summary`), never the persona's strategy;
    ``blocked_steps`` says what each rule changed, with its source. ``include`` (a portfolio
    frame with ``account_id``) supplies ``include_columns``.
    """
    names = {int(p["persona_id"]): str(p.get("name", "")) for p in run.profiles}
    extra: dict[str, dict[str, Any]] = {}
    if include is not None and len(include_columns):
        extra = include.drop_duplicates("account_id").set_index("account_id")[list(include_columns)] \
            .to_dict("index")
    hashes = {pid: m.strategy_hash for pid, m in mappings.items()}
    experiments = experiments or {}
    out = []
    for row in plan.to_dict("records"):
        account_id, steps, pid = row["account_id"], row["steps"], int(row["persona_id"])
        override = overrides.get(account_id)
        strategy = account_strategies.get(account_id)
        arm = row.get("arm") or "champion"
        experiment = experiments.get(pid)
        if strategy is None and arm == "challenger" and experiment is not None:
            strategy = experiment.challenger
        window = strategy or (mappings[pid].strategy if pid in mappings else None)
        followed = strategy.content_hash() if strategy is not None else hashes.get(pid)
        if arm == "holdout" and account_id not in account_strategies:
            followed = None
        record = {"account_id": account_id, "persona_id": pid, "persona_name": names.get(pid, ""),
                  "needs_review": bool(row["needs_review"]), "review_reason": row["review_reason"],
                  **executed_summary(steps),
                  "contact_start_hour": None if window is None else window.contact_start_hour,
                  "contact_end_hour": None if window is None else window.contact_end_hour,
                  "steps": steps, "rules_applied": list(row["rules_applied"]),
                  "strategy_executed": row["strategy_executed"],
                  "blocked_steps": "; ".join(row["rule_notes"]),
                  "unknown_facts": list(row["unknown_facts"]), "limitation_basis": row["limitation_basis"],
                  "strategy_sha256": followed,
                  "override": override is not None,
                  "override_reason": None if override is None else override.get("reason"),
                  "override_by": None if override is None else override.get("created_by"),
                  "arm": arm, "experiment_id": None if experiment is None else experiment.experiment_id}
        for column in include_columns:
            record[column] = _plain((extra.get(account_id) or {}).get(column))
        out.append(record)
    return pd.DataFrame.from_records(out, columns=ACCOUNT_COLUMNS + list(include_columns))


ACCOUNT_COLUMNS = ["account_id", "persona_id", "persona_name", "needs_review", "review_reason", "channel",
                   "tone", "offer", "escalation", "credit_bureau_report", "disconnection", "first_step_date",
                   "step_count", "contact_start_hour", "contact_end_hour", "steps", "rules_applied", "strategy_executed", "blocked_steps",
                   "unknown_facts", "limitation_basis", "strategy_sha256", "override", "override_reason",
                   "override_by", "arm", "experiment_id"]


def executed_summary(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Flat cells describing the steps an account actually receives."""
    actions = [s["action"] for s in steps]
    contact = next((s for s in steps if s.get("channel")), None)
    offer = next((s["offer"] for s in steps if isinstance(s.get("offer"), dict)), None)
    escalation = "court_dunning" if "court" in actions else \
        "external_agency" if "agency" in actions else "none"
    return {"channel": None if contact is None else contact["channel"],
            "tone": None if contact is None else contact["tone"],
            "offer": "none" if offer is None else str(offer.get("kind")),
            "escalation": escalation, "credit_bureau_report": "credit_bureau" in actions,
            "disconnection": "disconnection_notice" in actions,
            "first_step_date": steps[0]["date"] if steps else None, "step_count": len(steps)}


def flat_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists and dicts as text for CSV and XLSX: ``steps`` as JSON, ``rules_applied`` joined by
    commas, ``unknown_facts`` by semicolons."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype != object or not values.map(lambda v: isinstance(v, (list, dict))).any():
            continue
        if column == "rules_applied":
            out[column] = values.map(lambda v: ",".join(v) if isinstance(v, list) else v)
        elif column == "unknown_facts":
            out[column] = values.map(lambda v: "; ".join(v) if isinstance(v, list) else v)
        else:
            out[column] = values.map(lambda v: canonical_json(v) if isinstance(v, (list, dict)) else v)
    return out


def _override_problems(run: "RunView", portfolio: pd.DataFrame | None, persona_id: int,
                       strategy: Strategy, account_id: str, settings: "StrategySettings") -> list[str]:
    rows = persona_rows(run.accounts, portfolio, persona_id)
    context = context_from_profile(run.profile(persona_id), rows, settings, roles_of_run(run.meta),
                                   currency_of_run(run.meta))
    return [f"override strategy for account {account_id} (persona {persona_id}): {r.message}"
            for r in violations(check_strategy(strategy, context, settings))]


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def provenance(run: "RunView", *, fmt: str, level: str, exported_by: str, role: str,
               exported_at: str, audit_head: tuple[int, str], run_info: dict[str, Any] | None,
               include_columns: Sequence[str], account_guardrails_checked: bool,
               account_plan: dict[str, Any] | None = None,
               experiments: dict[int, Any] | None = None) -> dict[str, Any]:
    """The provenance block: where the export comes from and who approved what on which evidence.

    ``account_plan`` (account level) adds the rulepack, the journey start, the plan's counts and the
    accounts held back for review (``held_accounts``: account_id and reason).
    """
    info = run_info or {}
    return {
        "schema_version": SCHEMA_VERSION,
        "app": "persona-collections", "app_version": app_version(),
        "exported_at": exported_at, "exported_by": exported_by, "exported_by_role": role,
        "format": fmt, "level": level,
        "run_id": run.run_id, "run_created_at": run.meta.get("created_at"),
        "data_sha256": run.meta.get("data_sha256"), "source_name": run.meta.get("source_name"),
        "model_metrics": run.meta.get("metrics") or {}, "model": run.meta.get("model") or {},
        "model_signed_off_by": info.get("model_signed_off_by"),
        "model_signed_off_at": info.get("model_signed_off_at"),
        "personas_sha256": run.personas_hash(), "persona_definitions": run.profiles,
        "audit_head_seq": audit_head[0], "audit_head_sha256": audit_head[1],
        "included_columns": list(include_columns),
        "account_guardrails_checked": account_guardrails_checked,
        "cell_escaping": "text cells starting with = + - @ tab CR LF NUL are prefixed with ' "
                         "(CSV and XLSX; OWASP CSV injection)",
        "experiments": experiment_provenance(experiments or {}),
        **(account_plan or {}),
    }


def field_order() -> list[str]:
    """Strategy field names in catalogue order (for column ordering and the schema)."""
    return list(STRATEGY_FIELDS)


INTEGER_COLUMNS = ("n_instalments", "escalation_after_days", "deferral_days")


def with_integer_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Optional whole-number fields as nullable integers (``6``, not ``6.0``, in CSV)."""
    for column in INTEGER_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].astype("Int64")
    return frame


def to_json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN as null)."""
    return json.loads(frame.to_json(orient="records", date_format="iso"))
