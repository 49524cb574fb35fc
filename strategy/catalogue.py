"""The strategy catalogue: what a collector does for one persona.

A :class:`Strategy` is immutable and validated on construction; its :meth:`Strategy.content_hash`
is the SHA-256 of its canonical JSON, so the review store can bind an approval to exactly what was
approved. Validation here is structural (known values, consistent fields); whether a strategy is
*allowed* is the job of :mod:`strategy.guardrails`.

A strategy may carry explicit dated :class:`Step` s (a Mahnstufen ladder); without them the ladder
is derived from its fields (:func:`strategy.journey.journey_of`). Fields added after strategies were
first stored (``steps``, ``deferral_days``) are left out of the canonical JSON while they hold their
default, so strategies stored before keep their content hash and their approvals.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from core.errors import UserError
from core.i18n import N_
from strategy.canonical import canonical_json, sha256_hex
from strategy.texts import Text, TextList

CHANNELS = ("sms", "email", "letter", "phone", "app_push", "whatsapp")
TONES = ("friendly", "neutral", "firm")
OFFERS = ("reminder", "payment_link", "instalment_plan", "settlement_discount", "hardship_referral",
          "deferral")
ESCALATIONS = ("none", "external_agency", "court_dunning")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WRITTEN_CHANNELS = ("letter", "email")
#: Channels of a step, in the export's words (the catalogue's ``app_push`` is ``push``).
STEP_CHANNELS = ("letter", "email", "sms", "phone", "push", "whatsapp")
#: What a step does. ``agency``, ``court``, ``credit_bureau`` and ``disconnection_notice`` are
#: handovers or enforcement; ``stop`` ends collection (insolvency).
ACTIONS = ("reminder", "offer", "referral", "call", "clarification", "agency", "court", "credit_bureau",
           "disconnection_threat", "disconnection_notice", "deferral", "instalment_plan", "stop")
STEP_TONES = ("gentle", "friendly", "neutral", "firm")
#: What a step may announce in advance (prior notice of a later step).
NOTICES = ("agency", "court", "credit_bureau", "disconnection")
#: Fields added after strategies were first stored, with the default that keeps them out of the JSON.
LATER_FIELDS = {"steps": (), "deferral_days": None}


def export_channel(channel: str | None) -> str | None:
    """A catalogue channel in the export's words (``app_push`` -> ``push``); ``None`` stays ``None``."""
    return "push" if channel == "app_push" else channel


@dataclass(frozen=True)
class Step:
    """One dated step of a journey (Mahnstufe).

    Parameters
    ----------
    day : int
        Earliest day of the step, counted from the journey's start (0 = first day); contact days,
        caps and quiet periods may move it later per account, never earlier.
    action : str
        One of :data:`ACTIONS`.
    channel : str or None
        One of :data:`STEP_CHANNELS` (``app_push`` is accepted and stored as ``push``), or ``None``
        for a step that contacts nobody (a handover to an agency, a court application).
    tone : str
        One of :data:`STEP_TONES`.
    label : str
        What the step is called in the letter system ("1. Mahnung").
    offer : dict or None
        Offer terms made in the step (``{"kind": "instalment_plan", "n_instalments": 6, ...}``).
    notices : tuple of str
        Later steps this one announces (:data:`NOTICES`), e.g. the prior notice of a credit-bureau
        report that § 31 Abs. 2 Nr. 4 BDSG requires.
    """

    day: int
    action: str
    channel: str | None = "letter"
    tone: str = "neutral"
    label: str = ""
    offer: dict[str, Any] | None = None
    notices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "channel", export_channel(self.channel))
        object.__setattr__(self, "notices", tuple(self.notices))
        if self.offer is not None:
            object.__setattr__(self, "offer", dict(self.offer))
        problems = _step_problems(self)
        if problems:
            raise StrategyError(TextList(problems, "; "), lines=problems)

    def __hash__(self) -> int:  # the offer is a dict: hash the canonical form
        return hash(canonical_json(self.to_dict()))

    @property
    def contacts_debtor(self) -> bool:
        """Whether the step reaches the debtor (counts against contact caps)."""
        return self.channel is not None

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day, "action": self.action, "channel": self.channel, "tone": self.tone,
                "label": self.label, "offer": None if self.offer is None else dict(self.offer),
                "notices": list(self.notices)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Step":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise StrategyError(Text(N_("unknown step fields: {fields}"), fields=", ".join(unknown)))
        return cls(**data)


def _step_problems(step: Step) -> list[Text]:
    out: list[Text] = []
    if not _is_int(step.day) or not 0 <= step.day <= 3650:
        out.append(Text(N_("step day must be a whole number of days 0-3650, got {value}"), value=repr(step.day)))
    if step.action not in ACTIONS:
        out.append(Text(N_("step action {value} is not one of {allowed}"), value=repr(step.action),
                        allowed=", ".join(ACTIONS)))
    if step.channel is not None and step.channel not in STEP_CHANNELS:
        out.append(Text(N_("step channel {value} is not one of {allowed} or none"), value=repr(step.channel),
                        allowed=", ".join(STEP_CHANNELS)))
    if step.tone not in STEP_TONES:
        out.append(Text(N_("step tone {value} is not one of {allowed}"), value=repr(step.tone),
                        allowed=", ".join(STEP_TONES)))
    if not isinstance(step.label, str) or len(step.label) > 300:
        out.append(Text(N_("step label must be text of at most 300 characters")))
    if step.offer is not None and not isinstance(step.offer, dict):
        out.append(Text(N_("step offer must be a mapping of terms or none")))
    bad = [n for n in step.notices if n not in NOTICES]
    if bad:
        out.append(Text(N_("step notices {values} are not among {allowed}"), values=", ".join(map(str, bad)),
                        allowed=", ".join(NOTICES)))
    return out


class StrategyError(UserError):
    """A strategy has unknown or inconsistent fields (one line per problem)."""


@dataclass(frozen=True)
class Strategy:
    """One collection strategy.

    Parameters
    ----------
    channel : str
        First-line channel, one of :data:`CHANNELS`.
    contact_start_hour, contact_end_hour : int
        Contact window ``[start, end)`` in the debtor's local hours (0-24).
    contact_weekdays : tuple of str
        Days of contact, subset of :data:`WEEKDAYS`.
    contacts_per_week : int
        Planned contacts per week on the channel (0-21).
    max_call_attempts_per_7_days : int
        Phone call attempts per debt in any rolling 7 days (0 when no calls are made).
    tone : str
        ``friendly`` reminder, ``neutral`` or ``firm``.
    offer : str
        One of :data:`OFFERS`; ``instalment_plan`` needs ``n_instalments`` (2-60),
        ``settlement_discount`` needs ``discount_pct`` (0-100 exclusive).
    escalation : str
        ``none``, ``external_agency`` or ``court_dunning`` (gerichtliches Mahnverfahren, Mahnbescheid)
        after ``escalation_after_days`` days past the first reminder.
    reminders_sent_before_escalation : int
        Written reminders (Mahnungen) sent before any escalation or credit-bureau report.
    credit_bureau_report : bool
        Whether the debt is reported to a credit bureau after the reminders.
    includes_opt_out : bool
        Whether e-mail / SMS / app / WhatsApp messages carry an opt-out.
    payment_method : str or None
        Payment method offered first (for example ``sepa_direct_debit``), when known.
    rationale : str
        Why this strategy, in words a reviewer reads.
    deferral_days : int or None
        With offer ``deferral`` (Stundung): days the payment is deferred (7-180).
    steps : tuple of Step
        Explicit journey; empty = derived from the fields above (:func:`strategy.journey.journey_of`).
    """

    channel: str = "letter"
    contact_start_hour: int = 9
    contact_end_hour: int = 18
    contact_weekdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    contacts_per_week: int = 1
    max_call_attempts_per_7_days: int = 0
    tone: str = "neutral"
    offer: str = "reminder"
    n_instalments: int | None = None
    discount_pct: float | None = None
    escalation: str = "none"
    escalation_after_days: int | None = None
    reminders_sent_before_escalation: int = 1
    credit_bureau_report: bool = False
    includes_opt_out: bool = True
    payment_method: str | None = None
    rationale: str = ""
    deferral_days: int | None = None
    steps: tuple[Step, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "contact_weekdays", tuple(self.contact_weekdays))
        if not isinstance(self.steps, tuple) or not all(isinstance(s, Step) for s in self.steps):
            object.__setattr__(self, "steps", _steps_of(self.steps))
        problems = _problems(self)
        if problems:
            raise StrategyError(TextList(problems, "; "), lines=problems)

    # --- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict (weekdays as a list, steps as dicts), the form stored in the database and exported.

        Fields of :data:`LATER_FIELDS` at their default are left out (the content hash of a
        strategy stored before they existed does not change).
        """
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # all values immutable
        data["contact_weekdays"] = list(self.contact_weekdays)
        for name, default in LATER_FIELDS.items():
            if data[name] == default:
                del data[name]
        if "steps" in data:
            data["steps"] = [step.to_dict() for step in self.steps]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Strategy":
        """Build from :meth:`to_dict` output; unknown keys are refused with their names."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise StrategyError(Text(N_("unknown strategy fields: {fields}"), fields=", ".join(unknown)))
        values = dict(data)
        if isinstance(values.get("contact_weekdays"), str):
            values["contact_weekdays"] = tuple(
                day.strip() for day in values["contact_weekdays"].split(",") if day.strip())
        return cls(**values)

    def canonical_json(self) -> str:
        """Canonical JSON of the content (sorted keys, no whitespace)."""
        return canonical_json(self.to_dict())

    def content_hash(self) -> str:
        """SHA-256 (hex) of :meth:`canonical_json`."""
        return sha256_hex(self.canonical_json())

    def with_changes(self, **changes: Any) -> "Strategy":
        """A new, re-validated strategy with ``changes`` applied."""
        return replace(self, **changes)


def _problems(s: Strategy) -> list[Text]:
    out: list[Text] = []

    def choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            out.append(Text(N_("{name} {value} is not one of {allowed}"), name=name, value=repr(value),
                            allowed=", ".join(allowed)))

    choice("channel", s.channel, CHANNELS)
    choice("tone", s.tone, TONES)
    choice("offer", s.offer, OFFERS)
    choice("escalation", s.escalation, ESCALATIONS)
    not_int = [name for name in ("contact_start_hour", "contact_end_hour", "contacts_per_week",
                                 "max_call_attempts_per_7_days", "reminders_sent_before_escalation")
               if not _is_int(getattr(s, name))]
    if not_int:
        return out + [Text(N_("{name} must be a whole number, got {value}"), name=name, value=repr(getattr(s, name)))
                      for name in not_int]
    if not (0 <= s.contact_start_hour < s.contact_end_hour <= 24):
        out.append(Text(N_("contact window {start}-{end} must satisfy 0 <= start < end <= 24"),
                        start=str(s.contact_start_hour), end=str(s.contact_end_hour)))
    bad_days = [d for d in s.contact_weekdays if d not in WEEKDAYS]
    if bad_days or not s.contact_weekdays or len(set(s.contact_weekdays)) != len(s.contact_weekdays):
        out.append(Text(N_("contact_weekdays must be distinct days out of {allowed}"), allowed=", ".join(WEEKDAYS)))
    if not 0 <= s.contacts_per_week <= 21:
        out.append(Text(N_("contacts_per_week must be between 0 and 21")))
    if s.max_call_attempts_per_7_days < 0 or s.reminders_sent_before_escalation < 0:
        out.append(Text(N_("call attempts and reminders cannot be negative")))
    if s.channel == "phone" and s.max_call_attempts_per_7_days < 1:
        out.append(Text(N_("a phone strategy needs max_call_attempts_per_7_days >= 1")))
    if s.offer == "instalment_plan":
        if not _is_int(s.n_instalments) or not 2 <= s.n_instalments <= 60:
            out.append(Text(N_("an instalment plan needs n_instalments between 2 and 60")))
    elif s.n_instalments is not None:
        out.append(Text(N_("n_instalments is only used with offer instalment_plan")))
    if s.offer == "settlement_discount":
        if not isinstance(s.discount_pct, (int, float)) or not 0 < s.discount_pct < 100:
            out.append(Text(N_("a settlement discount needs discount_pct between 0 and 100 (exclusive)")))
    elif s.discount_pct is not None:
        out.append(Text(N_("discount_pct is only used with offer settlement_discount")))
    if s.offer == "deferral":
        if not _is_int(s.deferral_days) or not 7 <= s.deferral_days <= 180:
            out.append(Text(N_("a deferral (Stundung) needs deferral_days between 7 and 180")))
    elif s.deferral_days is not None:
        out.append(Text(N_("deferral_days is only used with offer deferral")))
    if s.escalation == "none":
        if s.escalation_after_days is not None:
            out.append(Text(N_("escalation_after_days needs an escalation other than none")))
    elif not _is_int(s.escalation_after_days) or s.escalation_after_days < 1:
        out.append(Text(N_("escalation {escalation} needs escalation_after_days >= 1"), escalation=str(s.escalation)))
    if not isinstance(s.credit_bureau_report, bool) or not isinstance(s.includes_opt_out, bool):
        out.append(Text(N_("credit_bureau_report and includes_opt_out must be true or false")))
    if not isinstance(s.rationale, str) or len(s.rationale) > 4000:
        out.append(Text(N_("rationale must be text of at most 4000 characters")))
    if s.payment_method is not None and not isinstance(s.payment_method, str):
        out.append(Text(N_("payment_method must be text")))
    return out


def _steps_of(value: Any) -> tuple[Step, ...]:
    """Steps from a list of :class:`Step` or of their dicts (as stored); ordered by day."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise StrategyError(Text(N_("steps must be a list of steps")))
    steps = [item if isinstance(item, Step) else Step.from_dict(dict(item)) for item in value]
    return tuple(sorted(steps, key=lambda step: step.day))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


STRATEGY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Strategy))
