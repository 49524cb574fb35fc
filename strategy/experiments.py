"""Champion/challenger experiments: what one is, the house policy on shares, and the sample needed.

An experiment runs a *challenger* journey beside a persona's *champion* (its approved mapping) on
a share of the persona's accounts, optionally with a *holdout* share that receives no collection
contact, for a planned number of days. An analyst proposes it, a manager (never the proposer, nor
another identity of the same person) approves exactly the version shown; the challenger passes the
same persona-level guardrails as a champion, a standing compliance veto of the persona's strategy or
of its challengers blocks approval, and the run's model sign-off is required at export as for every
export. The store side lives in :mod:`strategy.experiment_workflow`; arms in :mod:`strategy.arms`.

House policy on shares (refused otherwise, with the reason):

* ``0 < challenger_share <= 0.5``: the champion keeps at least half of the persona.
* ``0 <= holdout_share <= 0.2``. A holdout means **no collection contact** for the planned days.
  No statute obliges a creditor to dun: default (Verzug) arises without a reminder (§ 286 Abs. 2
  and 3 BGB) and the US rules (FDCPA, Regulation F) restrict contact, never require it; so a
  holdout is allowed for consumer claims. It is refused for a persona the guardrails treat as
  over-indebted (house policy: those debtors get a referral to debt advice, which a holdout would
  withhold), and switched off entirely when ``StrategySettings.allow_holdout`` is ``False``. Per
  account a holdout never withholds what the debtor is owed: an insolvency still stops everything,
  an open dispute still gets its clarification letter and an over-indebted account its referral
  (:mod:`strategy.account_plan`).
* ``14 <= planned_days <= 365``.

Power: at approval the minimum sample per arm is computed from the persona's base pay rate and the
smallest difference worth detecting (``min_detectable_effect``, absolute, in pay-rate points) with
:func:`strategy.power.minimum_sample_per_arm` (two-sided two-proportion z-test, alpha 0.05, power
0.8). The base pay rate is the persona's ``pay_rate`` in ``personas.json`` (the run's outcome
column) when there is one, else :data:`DEFAULT_BASE_PAY_RATE`, a planning assumption that is
labelled as such wherever it is shown.
"""
from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from core.errors import UserError
from strategy import tables as t
from strategy.arms import ArmConfig
from strategy.catalogue import Strategy, StrategyError
from strategy.experiment_defaults import DEFAULT_MIN_EFFECT, DEFAULT_PLANNED_DAYS

if TYPE_CHECKING:
    from strategy.guardrails import GuardrailResult
    from strategy.mapping_view import Veto
    from strategy.settings import StrategySettings

EXPERIMENT_STATES = ("proposed", "approved", "rejected", "ended")
MAX_CHALLENGER_SHARE = 0.5
MAX_HOLDOUT_SHARE = 0.2
MIN_PLANNED_DAYS, MAX_PLANNED_DAYS = 14, 365
#: Planning assumption when the run has no outcome column: about a third of consumer accounts in
#: early collections pay within the first months. Shown as "default" wherever it is used.
DEFAULT_BASE_PAY_RATE = 0.3


@dataclass
class Experiment:
    """One champion/challenger experiment of a persona in a run (see the module docstring).

    The first fields are the interface other modules use (readout, KPIs, carry-over); the rest
    are what the review shows. Shares are fractions 0..1 of the persona's accounts.
    """

    run_id: str
    persona_id: int
    experiment_id: str
    challenger_share: float
    holdout_share: float
    planned_days: int
    champion_version_id: int | None
    challenger_version_id: int
    challenger_hash: str
    state: str
    proposed_by: str | None
    approved_by: str | None
    approved_at: str | None
    min_sample_per_arm: int | None
    base_pay_rate: float | None
    min_detectable_effect: float | None
    started_run_id: str | None
    # --- review details
    version: int = 1
    approval_hash: str | None = None
    base_pay_rate_source: str | None = None
    reason: str | None = None
    updated_by: str | None = None
    updated_at: str | None = None
    challenger: Strategy | None = None
    guardrails: list["GuardrailResult"] = field(default_factory=list)
    version_hash: str | None = None
    approval_valid: bool | None = None
    veto: "Veto | None" = None

    @property
    def champion_share(self) -> float:
        return max(0.0, 1.0 - self.challenger_share - self.holdout_share)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``review show --json``, the export and the read-out."""
        return {"experiment_id": self.experiment_id, "persona_id": int(self.persona_id),
                "run_id": self.run_id, "state": self.state, "version": self.version,
                "hash": self.version_hash, "champion_share": round(self.champion_share, 6),
                "challenger_share": self.challenger_share, "holdout_share": self.holdout_share,
                "planned_days": self.planned_days, "min_detectable_effect": self.min_detectable_effect,
                "base_pay_rate": self.base_pay_rate, "base_pay_rate_source": self.base_pay_rate_source,
                "min_sample_per_arm": self.min_sample_per_arm,
                "challenger_strategy_sha256": self.challenger_hash,
                "challenger_strategy": None if self.challenger is None else self.challenger.to_dict(),
                "proposed_by": self.proposed_by, "approved_by": self.approved_by,
                "approved_at": self.approved_at, "approval_sha256": self.approval_hash,
                "approval_valid": self.approval_valid, "started_run_id": self.started_run_id,
                "reason": self.reason, "updated_by": self.updated_by, "updated_at": self.updated_at,
                "guardrails": [g.to_dict() for g in self.guardrails],
                "veto": None if self.veto is None else self.veto.to_dict()}


def arm_config(experiment: Experiment) -> ArmConfig:
    """The arm assignment of ``experiment`` (:func:`strategy.arms.assign_arms`)."""
    return ArmConfig(experiment.experiment_id, float(experiment.challenger_share),
                     float(experiment.holdout_share))


def new_experiment_id() -> str:
    """A fresh experiment id (``exp-`` and 16 random hex digits); it seeds the arms."""
    return f"exp-{secrets.token_hex(8)}"


def experiment_from_row(row: dict[str, Any], challenger_content: str | None = None) -> Experiment:
    """An :class:`Experiment` from an ``experiments`` row (and the challenger's stored JSON)."""
    challenger = None if challenger_content is None else Strategy.from_dict(json.loads(challenger_content))
    return Experiment(
        run_id=row["run_id"], persona_id=int(row["persona_id"]), experiment_id=row["experiment_id"],
        challenger_share=float(row["challenger_share"]), holdout_share=float(row["holdout_share"]),
        planned_days=int(row["planned_days"]), champion_version_id=row["champion_version_id"],
        challenger_version_id=int(row["challenger_version_id"]), challenger_hash=row["challenger_hash"],
        state=row["state"], proposed_by=row["proposed_by"], approved_by=row["approved_by"],
        approved_at=row["approved_at"], min_sample_per_arm=row["min_sample_per_arm"],
        base_pay_rate=row["base_pay_rate"], min_detectable_effect=row["min_detectable_effect"],
        started_run_id=row["started_run_id"], version=int(row["version"]),
        approval_hash=row["approval_hash"], base_pay_rate_source=row["base_pay_rate_source"],
        reason=row["reason"], updated_by=row["updated_by"], updated_at=row["updated_at"],
        challenger=challenger)


def experiments_for_run(store: Any, run_id: str, *, approved_only: bool = True) -> dict[int, Experiment]:
    """``{persona_id: Experiment}`` of a run (only approved ones unless ``approved_only=False``)."""
    query = select(t.experiments, t.strategy_versions.c.content).join(
        t.strategy_versions, t.strategy_versions.c.id == t.experiments.c.challenger_version_id).where(
        t.experiments.c.run_id == run_id)
    if approved_only:
        query = query.where(t.experiments.c.state == "approved")
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(t.experiments.c.persona_id)).all()
    out = {}
    for row in rows:
        data = dict(row._mapping)
        out[int(data["persona_id"])] = experiment_from_row(data, data.pop("content"))
    return out


# ---------------------------------------------------------------------------- house policy on shares
def share_problems(challenger_share: float, holdout_share: float, planned_days: int,
                   min_effect: float | None, *, over_indebted: bool = False,
                   settings: "StrategySettings | None" = None) -> list[str]:
    """Why these arm shares are refused (empty: allowed). See the module docstring."""
    out = []
    if not (isinstance(challenger_share, (int, float)) and 0 < challenger_share <= MAX_CHALLENGER_SHARE):
        out.append(f"the challenger share must be more than 0 and at most {MAX_CHALLENGER_SHARE:g} "
                   f"(house policy: the champion keeps at least half), not {challenger_share!r}")
    if not (isinstance(holdout_share, (int, float)) and 0 <= holdout_share <= MAX_HOLDOUT_SHARE):
        out.append(f"the holdout share must be between 0 and {MAX_HOLDOUT_SHARE:g}, not {holdout_share!r}")
    elif holdout_share > 0:
        if not getattr(settings, "allow_holdout", True):
            out.append("house policy allows no holdout in this workspace (StrategySettings.allow_holdout)")
        if over_indebted:
            out.append("no holdout for an over-indebted persona: house policy gives these debtors a "
                       "referral to debt advice, which a holdout (no contact) would withhold")
    if not (isinstance(planned_days, int) and MIN_PLANNED_DAYS <= planned_days <= MAX_PLANNED_DAYS):
        out.append(f"the planned duration must be {MIN_PLANNED_DAYS} to {MAX_PLANNED_DAYS} days, "
                   f"not {planned_days!r}")
    if min_effect is not None and not (isinstance(min_effect, (int, float)) and 0 < min_effect < 1):
        out.append(f"the minimum effect is a pay-rate difference between 0 and 1 (0.05 = 5 points), "
                   f"not {min_effect!r}")
    return out


# ---------------------------------------------------------------------------- power
def base_pay_rate(profile: dict[str, Any]) -> tuple[float, str]:
    """(rate, source): the persona's observed pay rate, else :data:`DEFAULT_BASE_PAY_RATE`."""
    value = profile.get("pay_rate")
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = math.nan
    if rate == rate and 0 < rate < 1:
        return rate, "persona pay rate of the run (outcome column)"
    return DEFAULT_BASE_PAY_RATE, (f"default {DEFAULT_BASE_PAY_RATE:g} (the run has no outcome "
                                   "column: a planning assumption, not evidence)")


def minimum_sample(base_rate: float, min_effect: float) -> int:
    """Accounts per arm: :func:`strategy.power.minimum_sample_per_arm`, or the same formula here
    when that module is not installed (two-sided two-proportion z-test, alpha 0.05, power 0.8)."""
    try:
        from strategy.power import minimum_sample_per_arm
    except ImportError:
        return _fallback_minimum_sample(base_rate, min_effect)
    return int(minimum_sample_per_arm(base_rate, min_effect))


def _fallback_minimum_sample(base_rate: float, effect: float, alpha: float = 0.05,
                             power: float = 0.8) -> int:
    from scipy.stats import norm

    p1 = float(base_rate)
    p2 = p1 + effect if p1 + effect < 1 else p1 - effect
    mean = (p1 + p2) / 2
    z_a, z_b = norm.ppf(1 - alpha / 2), norm.ppf(power)
    n = (z_a * math.sqrt(2 * mean * (1 - mean)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 \
        / (p2 - p1) ** 2
    return int(math.ceil(n))


# ---------------------------------------------------------------------------- the challenger's content
def challenger_from_file(path: str) -> Strategy:
    """A challenger strategy from a JSON file (``Strategy.to_dict`` form, or ``{"strategy": ...}``)."""
    from pathlib import Path

    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{file}: no such file; give a JSON strategy document") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{file} is not a JSON strategy document: {err}") from None
    if isinstance(data, dict) and isinstance(data.get("strategy"), dict):
        data = data["strategy"]
    if not isinstance(data, dict):
        raise UserError(f"{file}: a strategy document is a JSON object of strategy fields")
    try:
        return Strategy.from_dict(data)
    except (StrategyError, TypeError) as err:
        raise UserError(f"{file}: {err}", lines=[f"{file}: {line}" for line in
                                                 getattr(err, "lines", [str(err)])]) from None


#: Alternative first channels tried for a built-in challenger, in order, per champion channel.
_OTHER_CHANNELS = {"letter": ("email", "sms"), "email": ("sms", "letter"), "sms": ("email", "letter"),
                   "phone": ("sms", "email", "letter"), "app_push": ("sms", "email", "letter"),
                   "whatsapp": ("sms", "email", "letter")}
_OTHER_TONE = {"friendly": "neutral", "neutral": "friendly", "firm": "neutral"}


def challenger_variant(champion: Strategy, context: Any, settings: "StrategySettings") -> Strategy:
    """A built-in challenger: the champion with another first channel (else another tone), made
    compliant by the guardrails' own repairs; the first candidate that passes and differs wins."""
    from strategy.guardrails import check_strategy, violations
    from strategy.proposals import _make_compliant

    candidates = []
    for channel in _OTHER_CHANNELS.get(champion.channel, ("letter",)):
        changes: dict[str, Any] = {"channel": channel}
        if channel != "phone":
            changes["max_call_attempts_per_7_days"] = 0
        candidates.append((changes, f"first contact by {channel} instead of {champion.channel}"))
    candidates.append(({"tone": _OTHER_TONE[champion.tone]},
                       f"{_OTHER_TONE[champion.tone]} tone instead of {champion.tone}"))
    for changes, what in candidates:
        try:
            variant = champion.with_changes(steps=_steps_with(champion.steps, changes), **changes)
        except StrategyError:
            continue
        variant, _notes = _make_compliant(variant, context, settings)
        if variant.content_hash() == champion.content_hash() or \
                violations(check_strategy(variant, context, settings)):
            continue
        return variant.with_changes(rationale=f"Challenger of the champion: {what}. "
                                              + (champion.rationale or "")[:3000])
    raise UserError("no built-in challenger passes the guardrails for this persona: give one with "
                    "--strategy FILE.json")


def _steps_with(steps: tuple[Any, ...], changes: dict[str, Any]) -> tuple[Any, ...]:
    """An explicit journey with the first contact step changed like the strategy's fields."""
    from dataclasses import replace

    out, done = [], False
    for step in steps:
        if not done and step.channel is not None:
            step = replace(step, channel=changes.get("channel", step.channel),
                           tone=changes.get("tone", step.tone))
            done = True
        out.append(step)
    return tuple(out)
