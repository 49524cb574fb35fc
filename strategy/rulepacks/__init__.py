"""Rulepacks: the rules a strategy must respect, per jurisdiction, each with its source and kind.

* ``"de"`` (:mod:`~strategy.rulepacks.germany`): the default, for German exports and EUR
  portfolios. German law where there is law, house policy (labelled so) where there is none.
* ``"us"`` (:mod:`~strategy.rulepacks.us`): Regulation F (12 CFR 1006), only on request.

A workspace chooses its pack with ``StrategySettings.rulepack``; the environment variable
``PERSONAS_RULEPACK`` overrides it (:func:`default_rulepack_name`). Every pack defines the rule ids
of :data:`ACCOUNT_RULE_IDS` (applied per account at export) and runs its persona-level checks
(:attr:`RulePack.checks`) through :func:`strategy.guardrails.check_strategy`.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Callable

from strategy.rulepacks.base import (
    KINDS, ContactPolicy, PersonaCheck, RuleInfo, RulePack, RulePackError,
)
from strategy.rulepacks.germany import german_rulepack
from strategy.rulepacks.us import us_rulepack
from strategy.settings import StrategySettings

__all__ = ["ACCOUNT_RULE_IDS", "ALL_RULE_IDS", "ENV_VAR", "KINDS", "RULEPACK_NAMES", "ContactPolicy",
           "PersonaCheck", "RuleInfo", "RulePack", "RulePackError", "default_rulepack_name", "get_rulepack",
           "rulepack_choice", "active_rulepack"]

ENV_VAR = "PERSONAS_RULEPACK"
_BUILDERS: dict[str, Callable[[StrategySettings | None], RulePack]] = {"de": german_rulepack, "us": us_rulepack}
RULEPACK_NAMES = tuple(_BUILDERS)

#: Rules every pack defines for the account level (a pack may say "not applicable" in the source).
ACCOUNT_RULE_IDS = ("insolvency_stop", "dispute_hold", "hardship_protection", "time_barred", "channel_objection",
                    "whatsapp_opt_in", "contact_days", "contact_cap", "quiet_period", "credit_bureau_conditions",
                    "minimum_balance_enforcement", "collection_costs", "default_interest",
                    "energy_disconnection")


def get_rulepack(name: str, settings: StrategySettings | None = None) -> RulePack:
    """The rulepack ``name`` (``"de"`` or ``"us"``) with the workspace's house-policy numbers.

    Raises
    ------
    RulePackError
        For an unknown name, naming the known ones.
    """
    key = str(name).strip().lower()
    if key not in _BUILDERS:
        raise RulePackError(f"unknown rulepack {name!r}; choose one of {', '.join(RULEPACK_NAMES)} "
                            f"(StrategySettings.rulepack or {ENV_VAR})")
    return _built(key, settings or StrategySettings())


@lru_cache(maxsize=16)
def _built(name: str, settings: StrategySettings) -> RulePack:
    # Packs are immutable and asked for once per account at export: build each once per settings.
    return _BUILDERS[name](settings)


def rulepack_choice(source: Any = None, settings: StrategySettings | None = None) -> tuple[str, str]:
    """``(name, why)``: which rulepack applies and the reason, for the reviewer and the export.

    ``source`` is what is known of the portfolio: a run's ``run.json`` dict, a
    :class:`~portfolio.currency.Currency`, a currency code (``"EUR"``) or a language (``"de"``).
    Order: ``PERSONAS_RULEPACK``; the workspace setting ``StrategySettings.rulepack``; else German
    (the US pack applies only on request, whatever the portfolio's currency, and the reason says
    so when the portfolio is not in euros).
    """
    requested = os.environ.get(ENV_VAR, "").strip().lower()
    if requested:
        if requested not in _BUILDERS:
            raise RulePackError(f"{ENV_VAR}={requested!r} is not a rulepack; choose one of "
                                f"{', '.join(RULEPACK_NAMES)}")
        return requested, f"set by {ENV_VAR}"
    cfg = settings or StrategySettings()
    if cfg.rulepack:
        name = str(cfg.rulepack).strip().lower()
        if name not in _BUILDERS:
            raise RulePackError(f"StrategySettings.rulepack {cfg.rulepack!r} is not a rulepack; choose one of "
                                f"{', '.join(RULEPACK_NAMES)}")
        return name, "the workspace setting"
    hint = _source_hint(source)
    if hint in ("EUR", "de", None):
        return "de", "German rulepack: the default for German exports and EUR portfolios"
    return "de", (f"German rulepack (default); the portfolio says {hint}: choose the US rulepack with "
                  f"{ENV_VAR}=us if US law applies")


def default_rulepack_name(source: Any = None, settings: StrategySettings | None = None) -> str:
    """The name of the rulepack that applies (see :func:`rulepack_choice`)."""
    return rulepack_choice(source, settings)[0]


def active_rulepack(source: Any = None, settings: StrategySettings | None = None) -> RulePack:
    """The rulepack that applies, built with the workspace settings."""
    return get_rulepack(default_rulepack_name(source, settings), settings)


def _source_hint(source: Any) -> str | None:
    """``"EUR"``, ``"de"``, another code or language, or ``None`` when nothing is known."""
    if source is None:
        return None
    if isinstance(source, dict):  # run.json: the currency the run was made with
        currency = ((source.get("parameters") or {}).get("currency") or {}).get("code")
        return _source_hint(currency) if currency else None
    code = getattr(source, "code", source)
    if not code:
        return None
    text = str(code).strip()
    if text.lower() in ("de", "de-de", "de_de", "german", "deutsch"):
        return "de"
    return text.upper() if len(text) == 3 else text


def _all_rule_ids() -> tuple[str, ...]:
    ids: list[str] = []
    for builder in _BUILDERS.values():
        pack = builder(None)
        ids += [c for c in pack.check_ids if c not in ids]
        ids += [r for r in pack.rules if r not in ids]
    return tuple(ids)


#: Every rule id any pack knows (persona-level checks first).
ALL_RULE_IDS = _all_rule_ids()
