"""The tables and the provenance block an export consists of (no file handling here)."""
from __future__ import annotations

import json
from importlib import metadata
from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd

from portfolio.currency import currency_of_run
from portfolio.meanings import ColumnMeanings, detect_meanings
from strategy.catalogue import STRATEGY_FIELDS, Strategy
from strategy.context import context_from_profile, persona_rows, roles_of_run
from strategy.guardrails import account_block_map, check_strategy, violations

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
    """Strategy fields as flat cells (weekdays as ``mon,tue,...``)."""
    data = strategy.to_dict()
    data["contact_weekdays"] = ",".join(strategy.contact_weekdays)
    return data


def persona_table(run: "RunView", mappings: dict[int, "MappingView"]) -> pd.DataFrame:
    """One row per persona: id, name, size, strategy fields, approver and approval time/hash."""
    records = []
    for profile in run.profiles:
        mapping = mappings[int(profile["persona_id"])]
        records.append({"persona_id": int(profile["persona_id"]),
                        "persona_name": str(profile.get("name", "")),
                        "size": int(profile.get("size") or 0),
                        **strategy_columns(mapping.strategy),
                        "strategy_sha256": mapping.strategy_hash,
                        "approved_by": mapping.approved_by, "approved_at": mapping.approved_at,
                        "approval_sha256": mapping.approval_hash})
    return with_integer_columns(pd.DataFrame.from_records(records))


def account_table(run: "RunView", mappings: dict[int, "MappingView"], overrides: pd.DataFrame,
                  portfolio: pd.DataFrame | None, include_columns: Sequence[str],
                  settings: "StrategySettings") -> tuple[pd.DataFrame, list[str]]:
    """One row per account with its effective strategy; also the guardrail problems of overrides.

    The latest override of an account wins. With ``portfolio``, steps an account is protected
    from (opted-out channel, small balance, time-barred, disputed) are removed and named in
    ``blocked_steps`` (see :func:`strategy.guardrails.account_block_map`).
    """
    latest = {r["account_id"]: r for r in overrides.to_dict("records")}  # later rows win
    names = {int(p["persona_id"]): str(p.get("name", "")) for p in run.profiles}
    rows = {} if portfolio is None else {str(r["account_id"]): r for r in portfolio.to_dict("records")}
    meanings = _portfolio_meanings(run, portfolio)
    currency = currency_of_run(run.meta)
    columns_of: dict[Strategy, dict[str, Any]] = {}  # strategy -> its cells, computed once
    problems: list[str] = []
    checked: set[tuple[int, str]] = set()
    out = []
    for account_id, persona_id in zip(run.accounts["account_id"].astype(str),
                                      run.accounts["persona_id"].astype(int)):
        override = latest.get(account_id)
        strategy = None
        if override is not None:
            if pd.notna(override["persona_id"]):
                persona_id = int(override["persona_id"])
            if isinstance(override["strategy"], dict):
                strategy = Strategy.from_dict(override["strategy"])
                if (persona_id, strategy.content_hash()) not in checked:
                    checked.add((persona_id, strategy.content_hash()))
                    problems += _override_problems(run, portfolio, persona_id, strategy,
                                                   account_id, settings)
        strategy = strategy or mappings[persona_id].strategy
        row = rows.get(account_id)
        blocks = {} if row is None else account_block_map(strategy, row, settings, meanings=meanings,
                                                          currency=currency)
        if strategy not in columns_of:
            columns_of[strategy] = strategy_columns(strategy)
        fields = dict(columns_of[strategy])
        if "channel" in blocks:
            fields.update(channel="letter", max_call_attempts_per_7_days=0)
        if "escalation" in blocks:
            fields.update(escalation="none", escalation_after_days=None, credit_bureau_report=False)
        if "credit_bureau_report" in blocks:
            fields["credit_bureau_report"] = False
        record = {"account_id": account_id, "persona_id": persona_id,
                  "persona_name": names.get(persona_id, ""), **fields,
                  "override": override is not None,
                  "override_reason": None if override is None else override["reason"],
                  "override_by": None if override is None else override["created_by"],
                  "blocked_steps": "; ".join(blocks.values())}
        for column in include_columns:
            record[column] = None if row is None else _plain(row.get(column))
        out.append(record)
    return with_integer_columns(pd.DataFrame.from_records(out)), problems


def _portfolio_meanings(run: "RunView", portfolio: pd.DataFrame | None) -> ColumnMeanings:
    """Which portfolio column means what: the run's column model, else the portfolio model's reading."""
    roles = roles_of_run(run.meta)
    if roles is not None:
        return ColumnMeanings.of(roles)
    return ColumnMeanings() if portfolio is None else detect_meanings(portfolio)


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
               include_columns: Sequence[str], account_guardrails_checked: bool) -> dict[str, Any]:
    """The provenance block: where the export comes from and who approved what on which evidence."""
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
    }


def field_order() -> list[str]:
    """Strategy field names in catalogue order (for column ordering and the schema)."""
    return list(STRATEGY_FIELDS)


INTEGER_COLUMNS = ("n_instalments", "escalation_after_days")


def with_integer_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Optional whole-number fields as nullable integers (``6``, not ``6.0``, in CSV)."""
    for column in INTEGER_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].astype("Int64")
    return frame


def to_json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN as null)."""
    return json.loads(frame.to_json(orient="records", date_format="iso"))
