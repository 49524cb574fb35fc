"""The account plan: which dated steps each account actually receives, and which rules decided that.

A persona's approved strategy is a journey (:func:`strategy.journey.journey_of`); what leaves the
building is the journey *per account*, after every account-level rule of the workspace's rulepack:

==========================  ==================================================================
rule id                     what it does to the account's steps
==========================  ==================================================================
insolvency_stop             insolvency proceedings: no steps at all
dispute_hold                open dispute (Mahnsperre): one neutral clarification letter, nothing
                            else (no further reminders, agency, court, bureau, discount)
hardship_protection         over-indebted / hardship: no agency, court, bureau or disconnection
                            step; a referral with content (Schuldnerberatung; Härtefonds and
                            Jobcenter for energy); a payment plan; a gentle tone
time_barred                 limitation has run (ERP flag or computed, H1's limitation_status):
                            no enforcement steps or announcements; "voluntary payment" wording
minimum_balance_enforcement balance below the house minimum: no agency or court step
credit_bureau_conditions    bureau step only when § 31 Abs. 2 BDSG holds for this account
energy_disconnection        disconnection only for active customers above the arrears threshold
channel_objection           an objected channel is never used (step moved to a letter or dropped)
whatsapp_opt_in             WhatsApp only with a recorded opt-in (else a letter)
quiet_period                no contact within the quiet days after a recorded conversation
contact_days                contacts only on the policy's weekdays, never on public holidays
contact_cap                 at most the policy's contacts (all channels) in any 7 days
holdout                     holdout arm of a champion/challenger experiment: no collection contact;
                            an insolvency still stops, an open dispute still gets its clarification
                            letter and an over-indebted account its referral (house policy,
                            :mod:`strategy.experiments`)
==========================  ==================================================================

Accounts in the challenger arm of an approved experiment (``arms``, :mod:`strategy.arms`) start from
the challenger's journey instead of the champion's and pass exactly the same rules.

Every fact is read through the run's column model and is *known yes*, *known no* or *unknown*.
An unknown fact is never read as "no": it is named in ``unknown_facts``, and an account whose
significant step (agency, court, credit bureau, disconnection) rests on a fact unknown for that
account (an empty cell) is marked ``needs_review``. A column missing from the whole portfolio is
named in every row's ``unknown_facts`` instead (the persona-level review saw it as unknown).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from portfolio.currency import Currency, format_amount
from portfolio.flags import flag_values
from portfolio.meanings import ColumnMeanings, Meaning, label
from strategy.catalogue import Step, Strategy
from strategy.journey import (BUREAU_AFTER_FIRST_REMINDER_DAYS, NOTICE_BEFORE_DISCONNECTION_WORKING_DAYS,
                              THREAT_BEFORE_DISCONNECTION_DAYS, _labels, abwendung_terms, describe_steps,
                              instalment_terms, is_german, is_utility, journey_of, referral_offer,
                              reminder_label)
from core.i18n import N_
from strategy.settings import StrategySettings
from strategy.texts import Term, Text, TextList, Words, terms

#: Steps that enforce or hand over the claim (never for the protected accounts).
ENFORCEMENT = frozenset({"agency", "court", "credit_bureau", "disconnection_threat", "disconnection_notice"})
#: Steps a person must be able to look at when a fact they rest on is unknown (GDPR Art. 22).
SIGNIFICANT = ENFORCEMENT
#: Which later step a notice announces.
NOTICE_OF = {"agency": {"agency"}, "court": {"court"}, "credit_bureau": {"credit_bureau"},
             "disconnection": {"disconnection_threat", "disconnection_notice"}}
#: Offers a hardship account is given when its steps carry none of them.
HARDSHIP_OFFER_KINDS = ("instalment_plan", "deferral")
ENERGY_MIN_ARREARS_EUR = 100.0  #: § 41f Abs. 2 EnWG (check the current text)
PLAN_COLUMNS = ["account_id", "persona_id", "steps", "rules_applied", "strategy_executed", "needs_review",
                "review_reason", "rule_notes", "unknown_facts", "limitation_basis", "arm"]
#: Why an account needs a person (constant texts, made once: a portfolio has many such accounts).
UNCERTAIN = Text(N_("persona assignment uncertain (flagged by the persona model)"))
NO_STEP_LEFT = Text(N_("no step is left that may reach this debtor: a person decides what to do"))
BALANCE_UNKNOWN = Text(N_("balance unknown: the minimum balance for agency or court cannot be checked"))
DISCONNECTION_UNCHECKED = Text(N_("disconnection threshold (twice the monthly instalment or 1/6 of the annual bill) "
                                  "cannot be checked: the monthly instalment is not in the portfolio"))
REVIEW_TEXTS = (UNCERTAIN, NO_STEP_LEFT, BALANCE_UNKNOWN, DISCONNECTION_UNCHECKED)
ERP_FLAG = Text(N_("ERP time-barred flag"))
BALANCE_EMPTY = Text(N_("balance: unknown — empty for this account"))
INSTALMENT_UNKNOWN = Text(N_("monthly instalment: unknown — no such column in the portfolio"))
HOLDOUT_SOURCE = ("house policy: champion/challenger holdout; no statute requires a reminder "
                  "(Verzug without one, § 286 Abs. 2 and 3 BGB)")


@dataclass
class _Account:
    """One account being planned: its steps, what changed them, and why it needs review."""

    steps: list[Step]
    applied: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)

    def rule(self, rule_id: str, note: str, source: str) -> None:
        if rule_id not in self.applied:
            self.applied.append(rule_id)
        text = f"{rule_id}: {note}" + (f" ({source})" if source else "")
        if text not in self.notes:
            self.notes.append(text)


def _meaning(name: str) -> str | None:
    """A meaning constant the column model may not have yet (``TITLED``, ``OPT_IN`` ...)."""
    return getattr(Meaning, name, None)


def _source(rulepack: Any, rule_id: str) -> str:
    try:
        return rulepack.rule(rule_id).source
    except Exception:  # a pack without the rule: say so rather than invent a source
        return "no source in this rulepack"


# ---------------------------------------------------------------------------- facts per account
class _Facts:
    """Yes / no / unknown facts of every account, read once per portfolio (vectorised)."""

    def __init__(self, frame: pd.DataFrame, meanings: ColumnMeanings, settings: StrategySettings,
                 today: date, currency: Currency | None) -> None:
        self.frame, self.meanings, self.n = frame, meanings, len(frame)
        self.columns: dict[str, str | None] = {}
        self.flags: dict[str, np.ndarray] = {}
        keys = (Meaning.INSOLVENCY, Meaning.DISPUTE, Meaning.OVER_INDEBTED, Meaning.CUSTOMER_ACTIVE,
                Meaning.CONTRACT_ENDED, Meaning.TIME_BARRED, _meaning("TITLED"), self.opt_in("whatsapp")) \
            + tuple(Meaning.opt_out(ch) for ch in Meaning.CHANNELS)
        for key in keys:
            if key is not None:
                self.flags[key] = self._flag(key)
        self.balance = self._numbers("balance")
        self.acknowledged = self._dates(_meaning("ACKNOWLEDGED_ON"))
        self.conversation = self._dates(_meaning("LAST_CONVERSATION_ON"))
        limitation = _limitation(frame, meanings, today)
        self.time_barred = limitation["time_barred"].to_numpy(dtype=bool)
        self.limitation_basis = [str(b) for b in limitation["basis"]]
        self.currency = currency
        self.settings = settings

    @staticmethod
    def opt_in(channel: str) -> str | None:
        prefix = _meaning("OPT_IN")
        return None if prefix is None else f"{prefix}.{channel}"

    def _flag(self, meaning: str) -> np.ndarray:
        column = self.meanings.column_for(meaning)
        self.columns[meaning] = column if column in self.frame.columns else None
        if self.columns[meaning] is None:
            return np.full(self.n, np.nan)
        return flag_values(self.frame[column]).to_numpy(dtype="float64")

    def _numbers(self, column: str) -> np.ndarray:
        if column not in self.frame.columns:
            return np.full(self.n, np.nan)
        return pd.to_numeric(self.frame[column], errors="coerce").to_numpy(dtype="float64")

    def _dates(self, meaning: str | None) -> list[date | None]:
        column = None if meaning is None else self.meanings.column_for(meaning)
        if column is None or column not in self.frame.columns:
            return [None] * self.n
        try:
            from portfolio.meanings import date_values
            values = date_values(self.frame[column])
        except ImportError:  # older column model: plain parsing, day first (German dates)
            values = pd.to_datetime(self.frame[column], errors="coerce", dayfirst=True)
        return [None if pd.isna(v) else v.date() for v in values]

    def flag(self, meaning: str | None, i: int) -> bool | None:
        """True / False, or ``None`` when unknown (no column, or an empty cell)."""
        if meaning is None or meaning not in self.flags:
            return None
        value = self.flags[meaning][i]
        return None if value != value else bool(value == 1.0)

    def unknown(self, meaning: str | None, what: str) -> str:
        column = None if meaning is None else self.columns.get(meaning)
        return _unknown_text(meaning, what, column)

    def missing_column(self, meaning: str | None) -> bool:
        return meaning is None or self.columns.get(meaning) is None


@lru_cache(maxsize=1024)
def _unknown_text(meaning: str | None, words: Any, column: str | None) -> Text:
    """"<what>: unknown — ..." (made once per fact and column: every account of a portfolio says it)."""
    if not hasattr(words, "render") and meaning is not None and words == label(meaning):
        words = Words({"en": words, "de": label(meaning, "de")})
    if column is None:
        return Text(N_("{what}: unknown — no such column in the portfolio"), what=words)
    return Text(N_("{what}: unknown — column '{column}' is empty for this account"), what=words, column=column)


@lru_cache(maxsize=64)
def _objection_to(channel: str) -> Text:
    return Text(N_("objection to {channel}"), channel=Term(channel))


def _significant_text(significant: tuple[str, ...], empty: tuple[Text, ...]) -> Text:
    """"agency, court planned while disputed: unknown; ..." (a person looks before the step)."""
    return Text(N_("{steps} planned while {facts}"), steps=terms(significant),
                facts=TextList((Text(N_("{what}: unknown"), what=e.params["what"]) if isinstance(e, Text) else
                                str(e).split(" — ")[0] for e in empty), "; "))


def _limitation(frame: pd.DataFrame, meanings: ColumnMeanings, today: date) -> pd.DataFrame:
    """H1's :func:`strategy.limitation.limitation_status`, positionally indexed."""
    from strategy.limitation import limitation_status

    status = limitation_status(frame, meanings, today)
    return status.reset_index(drop=True)


# ---------------------------------------------------------------------------- the plan
def plan_accounts(strategies: dict[int, Strategy], accounts: pd.DataFrame, meanings: Any, rulepack: Any,
                  start: date, *, account_strategies: dict[str, Strategy] | None = None,
                  settings: StrategySettings | None = None, today: date | None = None,
                  currency: Currency | None = None, arms: Any = None,
                  challenger_strategies: dict[int, Strategy] | None = None) -> pd.DataFrame:
    """The steps every account receives, with the rules that shaped them.

    Parameters
    ----------
    strategies : dict of int to Strategy
        The approved strategy of each persona.
    accounts : DataFrame
        One row per account: ``account_id``, ``persona_id``, the run's portfolio columns (names as
        the column model knows them; ``balance`` in the run's currency) and, when the run has it,
        the persona model's ``needs_review``.
    meanings : ColumnRoles, ColumnMeanings or dict
        The run's column model.
    rulepack : RulePack
        The workspace's rulepack (:func:`strategy.rulepacks.get_rulepack`): rule sources and the
        contact policy.
    start : date
        Day 0 of every journey.
    account_strategies : dict of str to Strategy, optional
        Strategies of single accounts (approved overrides), replacing their persona's.
    settings : StrategySettings, optional
        Minimum balance for agency and court (house policy) and its currency.
    today : date, optional
        The day limitation is judged on (default ``start``).
    currency : Currency, optional
        The run's currency (the minimum balance applies in its currency or when unknown).
    arms : sequence of str, optional
        The experiment arm of each account, in the order of ``accounts`` (``champion``,
        ``challenger``, ``holdout``; :func:`strategy.arms.arms_of_accounts`). Default: all champion.
    challenger_strategies : dict of int to Strategy, optional
        The approved challenger of each persona with an experiment; its challenger-arm accounts
        start from it. An approved account override still replaces either.

    Returns
    -------
    DataFrame
        One row per account, in the order of ``accounts``: ``account_id``, ``persona_id``,
        ``steps`` (list of dicts: ``day`` after ``start``, ``date`` ISO, ``action``, ``channel``,
        ``tone``, ``label``, ``offer``, ``notices``), ``rules_applied`` (rule ids),
        ``strategy_executed`` (the steps left, in words), ``needs_review``, ``review_reason``,
        ``rule_notes`` (what each rule did, with its source), ``unknown_facts``,
        ``limitation_basis`` and ``arm``.
    """
    cfg = settings or StrategySettings()
    known = ColumnMeanings.of(meanings)
    frame = accounts.reset_index(drop=True)
    facts = _Facts(frame, known, cfg, today or start, currency)
    overrides = account_strategies or {}
    journeys = {pid: journey_of(s, rulepack) for pid, s in strategies.items()}
    own_journeys = {aid: journey_of(s, rulepack) for aid, s in overrides.items()}
    challenger_journeys = {pid: journey_of(s, rulepack) for pid, s in (challenger_strategies or {}).items()}
    arm_of = ["champion"] * len(frame) if arms is None else [str(a) for a in arms]
    if len(arm_of) != len(frame):
        raise ValueError(f"{len(arm_of)} arms for {len(frame)} accounts")
    persona_review = _persona_review(frame)
    rows = []
    for i, (account_id, persona_id) in enumerate(zip(frame["account_id"].astype(str),
                                                     frame["persona_id"].astype(int))):
        journey, arm = own_journeys.get(account_id), arm_of[i]
        if journey is None:
            journey = challenger_journeys[persona_id] if arm == "challenger" and \
                persona_id in challenger_journeys else journeys[persona_id]
        plan = _Account(list(journey))
        if persona_review[i]:
            plan.review.append(persona_review[i])
        if arm == "holdout" and account_id not in own_journeys:
            dated = _plan_holdout(plan, facts, i, rulepack, start)
        else:
            dated = _plan_one(plan, facts, i, rulepack, start)
        rows.append({"account_id": account_id, "persona_id": persona_id, "steps": dated,
                     "rules_applied": plan.applied, "strategy_executed": _executed(dated, plan),
                     "needs_review": bool(plan.review),
                     "review_reason": TextList(plan.review, "; ") if plan.review else "",
                     "rule_notes": plan.notes, "unknown_facts": plan.unknown,
                     "limitation_basis": facts.limitation_basis[i], "arm": arm})
    return pd.DataFrame.from_records(rows, columns=PLAN_COLUMNS)


def _persona_review(frame: pd.DataFrame) -> list[str]:
    if "needs_review" not in frame.columns:
        return [""] * len(frame)
    flagged = flag_values(frame["needs_review"].astype("object")).fillna(0.0).to_numpy() == 1.0
    return [UNCERTAIN if f else "" for f in flagged]


def _plan_one(plan: _Account, facts: _Facts, i: int, pack: Any, start: date) -> list[dict[str, Any]]:
    if _insolvency(plan, facts, i, pack):
        return []
    if not _dispute(plan, facts, i, pack):
        _hardship(plan, facts, i, pack)
        _time_barred(plan, facts, i, pack)
        _minimum_balance(plan, facts, i, pack)
        _disconnection(plan, facts, i, pack)
    _channels(plan, facts, i, pack)
    dated = _dated(plan, facts, i, pack, start)
    dated = _credit_bureau(plan, facts, i, pack, dated)
    _unknowns_of_significant_steps(plan, facts, i, dated)
    if not dated and not plan.review and "insolvency_stop" not in plan.applied:
        plan.review.append(NO_STEP_LEFT)
    return dated


def _plan_holdout(plan: _Account, facts: _Facts, i: int, pack: Any, start: date) -> list[dict[str, Any]]:
    """The holdout arm: no collection contact. What the debtor is owed stays: an insolvency stops
    everything, an open dispute gets its clarification letter, an over-indebted account its referral."""
    plan.rule("holdout", "holdout arm of a champion/challenger experiment: no collection contact",
              HOLDOUT_SOURCE)
    if _insolvency(plan, facts, i, pack):
        return []
    if not _dispute(plan, facts, i, pack):
        if facts.flag(Meaning.OVER_INDEBTED, i):
            energy = is_utility(pack)
            plan.steps = [Step(0, "referral", "letter", "gentle", _labels(pack)["referral"],
                               referral_offer(energy=energy))]
            plan.rule("hardship_protection", "over-indebted: in the holdout only the referral to "
                      f"{', '.join(referral_offer(energy=energy)['to'])}", _source(pack, "hardship_protection"))
        else:
            plan.steps = []
    _channels(plan, facts, i, pack)
    return _dated(plan, facts, i, pack, start)


def _insolvency(plan: _Account, facts: _Facts, i: int, pack: Any) -> bool:
    value = facts.flag(Meaning.INSOLVENCY, i)
    if value is None:
        plan.unknown.append(facts.unknown(Meaning.INSOLVENCY, label(Meaning.INSOLVENCY)))
        return False
    if value:
        plan.steps = []
        plan.rule("insolvency_stop", "insolvency proceedings: collection stopped, no steps; the claim "
                  "is filed with the insolvency administrator", _source(pack, "insolvency_stop"))
    return value


def _dispute(plan: _Account, facts: _Facts, i: int, pack: Any) -> bool:
    value = facts.flag(Meaning.DISPUTE, i)
    if value is None:
        plan.unknown.append(facts.unknown(Meaning.DISPUTE, label(Meaning.DISPUTE)))
        return False
    if not value:
        return False
    plan.steps = [Step(0, "clarification", "letter", "neutral",
                       "Klärungsschreiben zum Einwand (Mahnsperre bis zur Klärung)" if is_german(pack) else
                       "Letter clarifying the dispute (dunning on hold until resolved)")]
    plan.rule("dispute_hold", "open dispute: Mahnsperre, only a neutral clarification letter; no "
              "further reminders, agency, court, credit bureau or settlement discount until resolved",
              _source(pack, "dispute_hold"))
    return True


def _drop(plan: _Account, actions: frozenset[str] | set[str], pack: Any) -> list[Step]:
    """Remove steps with ``actions``; reminders that announced them no longer do (announcing a step
    that will not come would mislead, § 5 UWG)."""
    removed = [s for s in plan.steps if s.action in actions]
    if not removed:
        return []
    gone = {kind for kind, targets in NOTICE_OF.items() if targets & {s.action for s in removed}}
    kept, n = [], 0
    for step in plan.steps:
        if step.action in actions:
            continue
        if step.action == "reminder":
            n += 1
        if set(step.notices) & gone:
            notices = tuple(k for k in step.notices if k not in gone)
            step = replace(step, notices=notices, label=reminder_label(max(n, 1), notices, pack))
        kept.append(step)
    plan.steps = kept
    return removed


def _hardship(plan: _Account, facts: _Facts, i: int, pack: Any) -> None:
    value = facts.flag(Meaning.OVER_INDEBTED, i)
    if value is None:
        plan.unknown.append(facts.unknown(Meaning.OVER_INDEBTED, label(Meaning.OVER_INDEBTED)))
        return
    if not value:
        return
    energy = is_utility(pack)
    removed = _drop(plan, ENFORCEMENT, pack)
    steps = [replace(s, tone="gentle", offer=_hardship_offer(s.offer, energy))
             if s.action not in ("referral",) else replace(s, tone="gentle") for s in plan.steps]
    if not any(s.action == "referral" for s in steps):
        steps.insert(0, Step(0, "referral", "letter", "gentle", _labels(pack)["referral"],
                             referral_offer(energy=energy)))
    plan.steps = sorted(steps, key=lambda s: s.day)
    what = ", ".join(sorted({s.action for s in removed})) or "no enforcement step planned"
    plan.rule("hardship_protection", f"over-indebted: removed {what}; referral to "
              f"{', '.join(referral_offer(energy=energy)['to'])}, a payment plan and a gentle tone",
              _source(pack, "hardship_protection"))


def _hardship_offer(offer: dict[str, Any] | None, energy: bool) -> dict[str, Any]:
    if isinstance(offer, dict) and offer.get("kind") in HARDSHIP_OFFER_KINDS:
        return offer
    return instalment_terms(12, interest_free=energy)


def _time_barred(plan: _Account, facts: _Facts, i: int, pack: Any) -> None:
    if not facts.time_barred[i]:
        basis = facts.limitation_basis[i]
        if basis.startswith("unknown"):
            flag = facts.flag(Meaning.TIME_BARRED, i)
            plan.unknown.append(f"limitation date: {basis}" + (
                "; the ERP flag says not time-barred" if flag is False else
                "" if flag else f"; {facts.unknown(Meaning.TIME_BARRED, ERP_FLAG)}"))
        return
    removed = _drop(plan, ENFORCEMENT, pack)
    wording = ("Bitte um freiwillige Zahlung (die Forderung ist verjährt)" if is_german(pack) else
               "Request for voluntary payment (the claim is time-barred)")
    plan.steps = [replace(s, label=wording, tone="friendly" if s.tone == "firm" else s.tone,
                          notices=()) if s.action in ("reminder", "call", "offer") else s
                  for s in plan.steps]
    what = ", ".join(sorted({s.action for s in removed})) or "no enforcement step planned"
    plan.rule("time_barred", f"time-barred ({facts.limitation_basis[i]}): removed {what}; asks "
              "for voluntary payment only, no threat of enforcement", _source(pack, "time_barred"))


def _minimum_balance(plan: _Account, facts: _Facts, i: int, pack: Any) -> None:
    if not any(s.action in ("agency", "court") for s in plan.steps):
        return
    from strategy.rulepacks.checks import minimum_balance_text, threshold_currency

    cfg = facts.settings
    if not threshold_currency(facts.currency, cfg)[0]:
        return
    balance = facts.balance[i]
    if balance != balance:
        plan.unknown.append(BALANCE_EMPTY)
        plan.review.append(BALANCE_UNKNOWN)
        return
    if balance < cfg.legal_escalation_min_balance_eur:
        removed = _drop(plan, {"agency", "court"}, pack)
        plan.rule("minimum_balance_enforcement",
                  f"balance {format_amount(balance, facts.currency)} below "
                  f"{minimum_balance_text(cfg, facts.currency)}: removed "
                  f"{', '.join(sorted({s.action for s in removed}))}",
                  _source(pack, "minimum_balance_enforcement"))


def _disconnection(plan: _Account, facts: _Facts, i: int, pack: Any) -> None:
    if not any(s.action.startswith("disconnection") for s in plan.steps):
        return
    why = []
    if facts.flag(Meaning.CONTRACT_ENDED, i) or facts.flag(Meaning.CUSTOMER_ACTIVE, i) is False:
        why.append("the supply contract has ended (nothing to disconnect)")
    balance = facts.balance[i]
    if balance == balance and balance < ENERGY_MIN_ARREARS_EUR:
        why.append(f"arrears {format_amount(balance, facts.currency)} below €100")
    if why:
        _drop(plan, {"disconnection_threat", "disconnection_notice"}, pack)
        plan.rule("energy_disconnection", "no disconnection: " + "; ".join(why),
                  _source(pack, "energy_disconnection"))
        return
    offer = abwendung_terms(None if balance != balance else float(balance))
    plan.steps = [replace(s, offer=offer) if s.action == "disconnection_threat" else s for s in plan.steps]
    plan.review.append(DISCONNECTION_UNCHECKED)
    plan.unknown.append(INSTALMENT_UNKNOWN)


def _channels(plan: _Account, facts: _Facts, i: int, pack: Any) -> None:
    """Objected channels are never used; WhatsApp needs an opt-in. Moved to a letter, else dropped."""
    policy = pack.contact
    letter_objected = facts.flag(Meaning.opt_out("letter"), i) is True
    kept = []
    for step in plan.steps:
        channel = step.channel
        if channel is None:
            kept.append(step)
            continue
        catalogue = "app_push" if channel == "push" else channel
        objected = facts.flag(Meaning.opt_out(catalogue), i)
        if objected is None and channel != "letter":
            text = facts.unknown(Meaning.opt_out(catalogue), _objection_to(channel))
            if text not in plan.unknown:
                plan.unknown.append(text)
        reason, rule_id = None, None
        if objected:
            reason, rule_id = f"objection to {channel}", "channel_objection"
        elif objected is None and channel != "letter" and not facts.missing_column(Meaning.opt_out(catalogue)):
            # the portfolio records objections to this channel but not for this account
            reason, rule_id = f"objection to {channel} unknown for this account", "channel_objection"
        elif channel == "whatsapp" and policy.whatsapp_needs_opt_in \
                and facts.flag(facts.opt_in("whatsapp"), i) is not True:
            state = "no opt-in" if facts.flag(facts.opt_in("whatsapp"), i) is False else "opt-in unknown"
            reason, rule_id = f"WhatsApp without a recorded opt-in ({state})", "whatsapp_opt_in"
        if reason is None:
            kept.append(step)
            continue
        if channel != "letter" and not letter_objected:
            note = f" (per Brief statt {channel})" if is_german(pack) else f" (by letter instead of {channel})"
            kept.append(replace(step, channel="letter", label=(step.label or step.action) + note,
                                action="reminder" if step.action == "call" else step.action))
            plan.rule(rule_id, f"{reason}: {step.label or step.action} sent by letter instead",
                      _source(pack, rule_id))
        else:
            plan.rule(rule_id, f"{reason}: {step.label or step.action} dropped", _source(pack, rule_id))
    plan.steps = kept


# ---------------------------------------------------------------------------- dates
def _dated(plan: _Account, facts: _Facts, i: int, pack: Any, start: date) -> list[dict[str, Any]]:
    """Dates from ``start``: planned gaps kept (a delay moves later steps too), contacts only on
    contact days, outside the quiet period, within the weekly cap across all channels."""
    policy = pack.contact
    cap = int(policy.max_contacts_per_week)
    calls_cap = int(getattr(policy, "max_calls_per_7_days", cap) or cap)
    quiet_until = None
    talked = facts.conversation[i]
    if talked is not None and policy.quiet_days_after_conversation:
        quiet_until = talked + timedelta(days=int(policy.quiet_days_after_conversation))
    contacts: list[date] = []
    calls: list[date] = []
    out: list[dict[str, Any]] = []
    previous: tuple[date, int] | None = None
    for step in sorted(plan.steps, key=lambda s: s.day):
        wanted = start + timedelta(days=step.day)
        if previous is not None:
            wanted = max(wanted, previous[0] + timedelta(days=step.day - previous[1]))
        day = wanted
        if step.contacts_debtor:
            if quiet_until is not None and day <= quiet_until:
                day = quiet_until + timedelta(days=1)
                plan.rule("quiet_period", f"conversation on {talked:%d.%m.%Y}: no contact until "
                          f"{quiet_until:%d.%m.%Y}", _source(pack, "quiet_period"))
            day = _free_day(day, contacts, cap, calls if step.channel == "phone" else None, calls_cap,
                            policy, plan, pack)
            contacts.append(day)
            if step.channel == "phone":
                calls.append(day)
        else:
            day = _next_contact_day(day, policy)  # handovers on working days too
        previous = (day, step.day)
        out.append(_step_record(step, day, start))
    _disconnection_dates(out, policy)
    return out


def _free_day(day: date, contacts: list[date], cap: int, calls: list[date] | None, calls_cap: int,
              policy: Any, plan: _Account, pack: Any) -> date:
    wanted = day
    day = _next_contact_day(day, policy)
    if day != wanted:
        plan.rule("contact_days", f"{wanted:%a %d.%m.%Y} is not a contact day: moved to "
                  f"{day:%a %d.%m.%Y}", _source(pack, "contact_days"))
    while _in_window(contacts, day) >= cap or (calls is not None and _in_window(calls, day) >= calls_cap):
        moved = _next_contact_day(day + timedelta(days=1), policy)
        plan.rule("contact_cap", f"at most {cap} contacts in any 7 days (all channels): a contact "
                  f"moved from {day:%d.%m.%Y} to {moved:%d.%m.%Y}", _source(pack, "contact_cap"))
        day = moved
    return day


@lru_cache(maxsize=4096)
def _next_contact_day(day: date, policy: Any) -> date:
    """:func:`strategy.contact_calendar.next_contact_day`, remembered (a portfolio asks for the same
    few days thousands of times)."""
    from strategy.contact_calendar import next_contact_day

    return next_contact_day(day, policy)


def _in_window(days: list[date], day: date) -> int:
    """Contacts in the 7 days ending on ``day`` (rolling window; all earlier contacts are <= day)."""
    return sum(1 for d in days if day - timedelta(days=6) <= d <= day)


def _step_record(step: Step, day: date, start: date) -> dict[str, Any]:
    return {"day": (day - start).days, "date": day.isoformat(), "action": step.action,
            "channel": step.channel, "tone": step.tone, "label": step.label,
            "offer": None if step.offer is None else dict(step.offer), "notices": list(step.notices)}


def _disconnection_dates(steps: list[dict[str, Any]], policy: Any) -> None:
    """The earliest disconnection day: four weeks after the threat and eight working days after
    the announcement (§ 41f EnWG), written on the announcement."""
    from strategy.contact_calendar import add_working_days

    threat = next((s for s in steps if s["action"] == "disconnection_threat"), None)
    for step in steps:
        if step["action"] != "disconnection_notice":
            continue
        announced = date.fromisoformat(step["date"])
        earliest = add_working_days(announced, NOTICE_BEFORE_DISCONNECTION_WORKING_DAYS, policy) \
            + timedelta(days=1)
        if threat is not None:
            earliest = max(earliest, date.fromisoformat(threat["date"])
                           + timedelta(days=THREAT_BEFORE_DISCONNECTION_DAYS))
        step["disconnection_on"] = earliest.isoformat()


# ---------------------------------------------------------------------------- § 31 BDSG
def _credit_bureau(plan: _Account, facts: _Facts, i: int, pack: Any,
                   dated: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep a bureau step only when § 31 Abs. 2 BDSG holds on the account's own dates."""
    report = next((s for s in dated if s["action"] == "credit_bureau"), None)
    if report is None:
        return dated
    problems = []
    dispute = facts.flag(Meaning.DISPUTE, i)
    if dispute is None:
        problems.append("whether the claim is disputed is unknown")
    titled = facts.flag(_meaning("TITLED"), i) is True
    acknowledged = facts.acknowledged[i] is not None
    if not (titled or acknowledged):
        problems += _reminder_conditions(dated, report)
    if not problems:
        return dated
    kept = [s for s in dated if s is not report]
    for step in kept:
        if "credit_bureau" in step["notices"]:
            step["notices"] = [n for n in step["notices"] if n != "credit_bureau"]
    plan.rule("credit_bureau_conditions", "credit-bureau report removed: " + "; ".join(problems),
              _source(pack, "credit_bureau_conditions"))
    return kept


def _reminder_conditions(dated: list[dict[str, Any]], report: dict[str, Any]) -> list[str]:
    before = [s for s in dated if s["date"] < report["date"]]
    written = [s for s in before if s["action"] == "reminder" and s["channel"] in ("letter", "email")]
    problems = []
    if len(written) < 2:
        problems.append(f"{len(written)} written reminder(s) before the report, 2 needed")
    elif (date.fromisoformat(report["date"]) - date.fromisoformat(written[0]["date"])).days \
            < BUREAU_AFTER_FIRST_REMINDER_DAYS:
        problems.append("less than four weeks between the first reminder and the report")
    if not any("credit_bureau" in s["notices"] and s["channel"] is not None for s in before):
        problems.append("no prior notice of the possible report reached the debtor")
    return problems


def _unknowns_of_significant_steps(plan: _Account, facts: _Facts, i: int,
                                   dated: list[dict[str, Any]]) -> None:
    significant = sorted({s["action"] for s in dated if s["action"] in SIGNIFICANT})
    if not significant:
        return
    empty = [facts.unknown(m, label(m)) for m in (Meaning.INSOLVENCY, Meaning.DISPUTE, Meaning.OVER_INDEBTED)
             if facts.flag(m, i) is None and not facts.missing_column(m)]
    if empty:
        plan.review.append(_significant_text(tuple(significant), tuple(empty)))


def _executed(dated: list[dict[str, Any]], plan: _Account) -> str:
    if "insolvency_stop" in plan.applied:
        return "stopped: insolvency proceedings (no collection steps)"  # journey_view.STOPPED shows it
    if "holdout" in plan.applied:
        return "holdout (champion/challenger experiment): no collection contact" + (
            f"; only {describe_steps(dated)}" if dated else "")
    return describe_steps(dated)


def plan_summary(plan: pd.DataFrame) -> dict[str, Any]:
    """Counts of a plan for a reviewer: accounts, needs_review, accounts per rule applied, and the
    accounts that receive each significant step."""
    rules: dict[str, int] = {}
    for applied in plan["rules_applied"]:
        for rule_id in applied:
            rules[rule_id] = rules.get(rule_id, 0) + 1
    steps: dict[str, int] = {}
    for dated in plan["steps"]:
        for action in {s["action"] for s in dated}:
            steps[action] = steps.get(action, 0) + 1
    arms = plan["arm"].value_counts().to_dict() if "arm" in plan.columns else {"champion": int(len(plan))}
    return {"accounts": int(len(plan)), "needs_review": int(plan["needs_review"].sum()),
            "rules_applied": dict(sorted(rules.items())), "accounts_per_action": dict(sorted(steps.items())),
            "accounts_per_arm": {str(k): int(v) for k, v in sorted(arms.items())}}
