"""What the guardrails and proposals need to know about a persona (and, at export, an account).

Facts come from the persona profile (``personas.json``) and, when given, from the portfolio rows of
the persona's accounts. Column names are matched against the candidates below, so portfolios with
other spellings still work; a fact that cannot be found stays ``None`` / 0 and says so in evidence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from strategy.catalogue import CHANNELS
from strategy.settings import StrategySettings

DISPUTE_COLUMNS = ("disputes", "dispute", "disputed", "open_dispute", "dispute_flag",
                   "forderung bestritten", "bestritten")
HARDSHIP_COLUMNS = ("hardship_flag", "hardship", "over_indebted", "over_indebted_flag", "overindebted",
                    "vulnerable", "vulnerability_flag", "insolvency_flag", "debt_advice",
                    "überschuldung", "ueberschuldung", "überschuldet")
TIME_BARRED_COLUMNS = ("time_barred", "time_barred_flag", "statute_barred", "verjährt", "verjaehrt")
# German ERP names of a channel's opt-out flag ("Widerspruch E-Mail").
GERMAN_OPT_OUT = {"sms": ("widerspruch sms",), "email": ("widerspruch e-mail", "widerspruch email"),
                  "app_push": ("widerspruch app-push",), "whatsapp": ("widerspruch whatsapp",)}
HARDSHIP_NAME_WORDS = ("hardship", "over-indebted", "overindebted", "vulnerable", "insolven")
TRUE_LEVELS = {"1", "1.0", "true", "yes", "y", "ja", "j"}


def opt_out_columns(channel: str) -> tuple[str, ...]:
    """Candidate column names of a per-channel opt-out flag."""
    names = {channel, channel.replace("_", "")} | ({"e_mail", "mail"} if channel == "email" else set())
    return (tuple(f"{n}_opt_out" for n in sorted(names)) + tuple(f"opt_out_{n}" for n in sorted(names))
            + GERMAN_OPT_OUT.get(channel, ()))


@dataclass(frozen=True)
class PersonaContext:
    """Facts about a persona the guardrails check against (shares are 0..1, balances in EUR)."""

    persona_id: int | None = None
    name: str = ""
    size: int = 0
    median_balance: float | None = None
    median_days_past_due: float | None = None
    time_barred_share: float = 0.0
    dispute_share: float = 0.0
    hardship_share: float = 0.0
    opt_out_shares: dict[str, float] = field(default_factory=dict)
    hardship_by_name: bool = False

    def over_indebted(self, settings: StrategySettings) -> bool:
        """Whether the persona counts as over-indebted / vulnerable."""
        return self.hardship_by_name or self.hardship_share >= settings.hardship_share_threshold


def first_column(frame: pd.DataFrame | None, candidates: tuple[str, ...]) -> str | None:
    """The first candidate present in ``frame`` (case-insensitive), else ``None``."""
    if frame is None:
        return None
    lower = {str(c).lower(): c for c in frame.columns}
    for name in candidates:
        if name in lower:
            return lower[name]
    return None


def truthy(series: pd.Series) -> pd.Series:
    """Boolean view of a flag or count column (numbers > 0, yes/true/1 text)."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return pd.to_numeric(series, errors="coerce").fillna(0) > 0
    return series.astype(str).str.strip().str.lower().isin(TRUE_LEVELS)


def truthy_value(value: Any) -> bool:
    """Scalar version of :func:`truthy` (``None``/NaN are False)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return bool(value == value and value > 0)
    return str(value).strip().lower() in TRUE_LEVELS


def persona_rows(accounts: pd.DataFrame | None, portfolio: pd.DataFrame | None,
                 persona_id: int) -> pd.DataFrame | None:
    """Portfolio rows of the persona's accounts (joined on ``account_id``), or ``None``."""
    if accounts is None or portfolio is None or "account_id" not in portfolio.columns:
        return None
    ids = accounts.loc[accounts["persona_id"].astype(int) == int(persona_id), "account_id"]
    return portfolio[portfolio["account_id"].astype(str).isin(set(ids.astype(str)))]


def context_from_profile(profile: dict[str, Any], rows: pd.DataFrame | None = None,
                         settings: StrategySettings | None = None) -> PersonaContext:
    """Build a :class:`PersonaContext` from a profile and, optionally, the persona's portfolio rows."""
    settings = settings or StrategySettings()
    balance = _fact(profile, rows, ("balance",), np.median)
    dpd = _fact(profile, rows, ("days_past_due",), np.median)
    if rows is not None and "days_past_due" in rows.columns and len(rows):
        dpd_values = pd.to_numeric(rows["days_past_due"], errors="coerce")
        time_barred = float((dpd_values > settings.time_barred_after_days).mean())
    else:
        time_barred = float(dpd is not None and dpd > settings.time_barred_after_days)
    # A flag from the ledger (limitation period ended) counts as well as the age-based estimate.
    time_barred = max(time_barred, _share(profile, rows, TIME_BARRED_COLUMNS))
    name = str(profile.get("name", ""))
    return PersonaContext(
        persona_id=int(profile["persona_id"]) if "persona_id" in profile else None,
        name=name, size=int(profile.get("size") or 0),
        median_balance=balance, median_days_past_due=dpd, time_barred_share=time_barred,
        dispute_share=_share(profile, rows, DISPUTE_COLUMNS),
        hardship_share=_share(profile, rows, HARDSHIP_COLUMNS),
        opt_out_shares={ch: s for ch in CHANNELS if (s := _share(profile, rows, opt_out_columns(ch)))},
        hardship_by_name=any(word in name.lower() for word in HARDSHIP_NAME_WORDS),
    )


def median_feature(profile: dict[str, Any], names: tuple[str, ...]) -> tuple[float, float] | None:
    """(persona median, portfolio median) of the first feature of ``names`` in the profile."""
    medians = profile.get("medians") or {}
    lower = {str(k).lower(): v for k, v in medians.items()}
    for name in names:
        value = lower.get(name)
        if isinstance(value, dict) and value.get("persona") is not None:
            portfolio = value.get("portfolio")
            return float(value["persona"]), float("nan" if portfolio is None else portfolio)
    return None


def _fact(profile: dict[str, Any], rows: pd.DataFrame | None, names: tuple[str, ...],
          reduce: Any) -> float | None:
    column = first_column(rows, names)
    if column is not None and len(rows):
        values = pd.to_numeric(rows[column], errors="coerce").dropna()
        if len(values):
            return float(reduce(values))
    found = median_feature(profile, names)
    return None if found is None else found[0]


def _share(profile: dict[str, Any], rows: pd.DataFrame | None, names: tuple[str, ...]) -> float:
    """Share of accounts flagged in any of the candidate columns (rows first, then the profile)."""
    column = first_column(rows, names)
    if column is not None and len(rows):
        return float(truthy(rows[column]).mean())
    shares = {str(k).lower(): v for k, v in (profile.get("categorical_shares") or {}).items()}
    for name in names:
        levels = shares.get(name)
        if isinstance(levels, dict):
            return float(sum(v for k, v in levels.items() if str(k).strip().lower() in TRUE_LEVELS
                             or _positive_number(k)))
    medians = {str(k).lower(): v for k, v in (profile.get("medians") or {}).items()}
    for name in names:  # a 0/1 flag summarised by its median: 1 means at least half are flagged
        value = medians.get(name)
        if isinstance(value, dict) and value.get("persona") is not None and float(value["persona"]) > 0:
            return max(0.5, min(1.0, float(value["persona"])))
    return 0.0


def _positive_number(text: Any) -> bool:
    try:
        return float(text) > 0
    except (TypeError, ValueError):
        return False
