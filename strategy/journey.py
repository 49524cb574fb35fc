"""Journeys: a persona's strategy as a ladder of dated steps (Mahnstufen).

A strategy either carries explicit :class:`~strategy.catalogue.Step` s or its ladder is derived
from its fields (:func:`journey_of`), so every strategy stored before journeys existed has one
without changing its content hash:

* reminder 1 on day 0 by the strategy's channel (a call for a phone strategy), with its offer;
* reminder 2 (and further reminders up to ``reminders_sent_before_escalation``) 14 days apart, in
  writing (letter, or e-mail for an e-mail strategy): written reminders are what § 31 Abs. 2
  Nr. 4 BDSG counts;
* the last reminder announces what follows (agency, Mahnbescheid, credit-bureau report), the
  prior notice a credit-bureau report needs;
* the escalation step (``agency`` or ``court``) no earlier than ``escalation_after_days`` and
  14 days after the last reminder; a credit-bureau report no earlier than 28 days after the
  first reminder (four weeks, § 31 Abs. 2 Nr. 4 lit. b BDSG);
* with the utility module (energy supply to households, §§ 41f, 41g EnWG) an escalating strategy
  gets the disconnection route instead of court: threat (Androhung) with an interest-free
  Abwendungsvereinbarung, then the announcement (Ankündigung) so that the disconnection is at
  least four weeks after the threat and eight working days after the announcement.

Which steps an *account* actually receives is decided by :mod:`strategy.account_plan`.
"""
from __future__ import annotations

import functools
import math
from datetime import date, timedelta
from typing import Any

from strategy.catalogue import ACTIONS, STEP_CHANNELS, Step, Strategy, export_channel

__all__ = ["ACTIONS", "STEP_CHANNELS", "Step", "journey_of", "offer_terms", "instalment_terms",
           "deferral_terms", "abwendung_terms", "referral_offer", "instalment_schedule",
           "describe_steps", "describe_steps_text", "reminder_label", "step_label", "step_label_words", "is_german", "is_utility", "REMINDER_GAP_DAYS", "BUREAU_AFTER_FIRST_REMINDER_DAYS",
           "THREAT_BEFORE_DISCONNECTION_DAYS", "NOTICE_BEFORE_DISCONNECTION_WORKING_DAYS"]

REMINDER_GAP_DAYS = 14  #: days between two reminders and between the last reminder and a handover
BUREAU_AFTER_FIRST_REMINDER_DAYS = 28  #: § 31 Abs. 2 Nr. 4 lit. b BDSG: four weeks
THREAT_BEFORE_DISCONNECTION_DAYS = 28  #: § 41f Abs. 2 EnWG (check the current text): four weeks
NOTICE_BEFORE_DISCONNECTION_WORKING_DAYS = 8  #: § 41f EnWG: announcement eight working days before
INSTALMENT_FIRST_DUE_DAYS = 14  #: first instalment due this many days after the offer
LAPSE_AFTER_MISSED = 2  #: house policy: a plan lapses after this many missed instalments

#: Who a referral points to, with what it offers (German help system).
REFERRALS: dict[str, str] = {
    "Schuldnerberatung": ("free, independent debt advice (Schuldnerberatung) from the municipality, "
                          "Verbraucherzentrale, Caritas or Diakonie; addresses at www.meine-schulden.de"),
    "Härtefonds": ("the energy supplier's or the municipality's hardship fund (Härtefonds) for energy "
                   "arrears, where one exists"),
    "Jobcenter": ("Jobcenter or Sozialamt: energy arrears can be taken over as a loan to keep the "
                  "supply (§ 22 Abs. 8 SGB II, § 36 SGB XII)"),
}

_LABELS = {
    "de": {"reminder_1": "Zahlungserinnerung (1. Mahnung)", "reminder_n": "{n}. Mahnung",
           "call": "Telefonische Zahlungserinnerung", "referral": "Hinweis auf Hilfsangebote",
           "notice_agency": "Letzte Mahnung mit Ankündigung der Übergabe an ein Inkassounternehmen",
           "notice_court": "Letzte Mahnung mit Ankündigung des gerichtlichen Mahnverfahrens",
           "notice_bureau": "mit Hinweis auf eine mögliche Meldung an eine Auskunftei",
           "agency": "Übergabe an Inkassodienstleister", "court": "Antrag auf Mahnbescheid",
           "credit_bureau": "Meldung an eine Auskunftei (§ 31 BDSG)",
           "threat": "Androhung der Versorgungsunterbrechung mit Angebot einer Abwendungsvereinbarung",
           "announcement": "Ankündigung der Versorgungsunterbrechung"},
    "en": {"reminder_1": "Payment reminder (reminder 1)", "reminder_n": "Reminder {n}",
           "call": "Reminder call", "referral": "Where to find help",
           "notice_agency": "Final reminder announcing a collection agency",
           "notice_court": "Final reminder announcing court action",
           "notice_bureau": "with notice of a possible credit-bureau report",
           "agency": "Handover to a collection agency", "court": "Court action",
           "credit_bureau": "Credit-bureau report", "threat": "Disconnection threat with a payment plan",
           "announcement": "Disconnection announcement"},
}


def is_german(rulepack: Any) -> bool:
    """Whether steps are labelled in German (the ``de`` pack, and when no pack is given)."""
    return getattr(rulepack, "name", "de") == "de"


def _labels(rulepack: Any) -> dict[str, str]:
    return _LABELS["de" if is_german(rulepack) else "en"]


@functools.lru_cache(maxsize=1)
def _label_keys() -> tuple[dict[str, str], list[tuple["re.Pattern[str]", str]], tuple[str, ...]]:
    """Every fixed label of either language -> its key; the "{n}. Mahnung" patterns; the bureau suffixes."""
    import re

    fixed, patterns = {}, []
    for words in _LABELS.values():
        for key, label in words.items():
            if key == "reminder_n":
                patterns.append((re.compile("^" + re.escape(label).replace(re.escape("{n}"), r"(\d+)") + "$"), key))
            elif key != "notice_bureau":
                fixed[label] = key
    return fixed, patterns, tuple(" " + words["notice_bureau"] for words in _LABELS.values())


def step_label(label: Any, language: str | None = None) -> str:
    """A step label in the reader's ``language`` (default: the current one), whatever the rulepack's
    language: a label this module wrote ("2. Mahnung", "Reminder 2", "Letzte Mahnung ... mit Hinweis auf
    ...") is written again in ``language``; a label a person typed is shown as it is. The journey keeps
    the label it was made with (the keys and the stored data do not change)."""
    from core.i18n import current_language, resolve_language

    text = "" if label is None else str(label)
    words = _LABELS.get(resolve_language(language or current_language()), _LABELS["en"])
    fixed, patterns, suffixes = _label_keys()
    bureau = next((suffix for suffix in suffixes if text.endswith(suffix)), None)
    base = text[: -len(bureau)] if bureau else text
    if base in fixed:
        shown = words[fixed[base]]
    else:
        found = next(((pattern.match(base), key) for pattern, key in patterns if pattern.match(base)), None)
        if found is None:
            return text
        shown = words["reminder_n"].format(n=int(found[0].group(1)))
    return shown + (" " + words["notice_bureau"] if bureau else "")


def step_label_words(label: Any) -> Any:
    """A step label as :class:`~strategy.texts.Words` (English as its value, each language's label
    when shown); a label a person typed stays as it is."""
    from strategy.texts import Words

    text = "" if label is None else str(label)
    words = {language: step_label(text, language) for language in _LABELS}
    return text if all(w == text for w in words.values()) else Words(words)


def is_utility(rulepack: Any) -> bool:
    """Whether the rulepack carries the utility module (energy supply to households, §§ 41f, 41g
    EnWG): ``"energy"`` among its modules (the workspace setting ``utility_module``)."""
    return "energy" in (getattr(rulepack, "modules", None) or {})


# ---------------------------------------------------------------------------- offers
def instalment_terms(n_instalments: int, *, interest_free: bool = False, name: str = "Ratenzahlung",
                     interval_months: int = 1) -> dict[str, Any]:
    """Terms of an instalment plan (``n_instalments`` monthly payments).

    The schedule for an amount is :func:`instalment_schedule`; default interest (§ 288 BGB) runs
    on the open amount unless ``interest_free``.
    """
    interest = ("interest-free" if interest_free else
                "default interest (§ 288 Abs. 1 BGB) on the amount still open")
    return {"kind": "instalment_plan", "name": name, "n_instalments": int(n_instalments),
            "interval_months": int(interval_months), "first_due_days": INSTALMENT_FIRST_DUE_DAYS,
            "interest_free": bool(interest_free), "lapse_after_missed": LAPSE_AFTER_MISSED,
            "terms": (f"{n_instalments} monthly instalments, the first {INSTALMENT_FIRST_DUE_DAYS} days after "
                      f"acceptance; {interest}; no further reminders while instalments are paid; the plan "
                      f"lapses after {LAPSE_AFTER_MISSED} missed instalments (house policy)")}


def deferral_terms(days: int) -> dict[str, Any]:
    """Terms of a Stundung: the whole amount due ``days`` later, no reminders meanwhile."""
    return {"kind": "deferral", "name": "Stundung", "defer_days": int(days),
            "terms": (f"payment of the full amount deferred by {days} days (Stundung); no reminders "
                      "and no escalation until then; a deferral agreed in writing also suspends "
                      "limitation while it runs (§ 205 BGB)")}


def abwendung_terms(balance: float | None = None) -> dict[str, Any]:
    """The interest-free Abwendungsvereinbarung a disconnection threat must offer (§ 41g EnWG):
    6 months, 12 above €300 (house policy inside the statutory 6-18 months, longer above €300;
    check the current text)."""
    large = balance is not None and balance > 300
    terms = instalment_terms(12 if large else 6, interest_free=True,
                             name="Abwendungsvereinbarung (§ 41g EnWG)")
    terms["terms"] += "; agreeing to it averts the disconnection"
    terms["months_allowed"] = [12, 24] if large else [6, 18]
    return terms


def referral_offer(*, energy: bool = False) -> dict[str, Any]:
    """A referral with content: who helps and how (Härtefonds and Jobcenter for energy arrears)."""
    to = ["Schuldnerberatung"] + (["Härtefonds", "Jobcenter"] if energy else [])
    return {"kind": "hardship_referral", "to": to, "help": {name: REFERRALS[name] for name in to},
            "terms": "; ".join(REFERRALS[name] for name in to)}


def offer_terms(strategy: Strategy, rulepack: Any = None) -> dict[str, Any] | None:
    """The terms of the strategy's offer (``None`` for a plain reminder)."""
    if strategy.offer == "instalment_plan":
        return instalment_terms(strategy.n_instalments or 6)
    if strategy.offer == "deferral":
        return deferral_terms(strategy.deferral_days or 30)
    if strategy.offer == "settlement_discount":
        return {"kind": "settlement_discount", "discount_pct": strategy.discount_pct, "valid_days": 14,
                "terms": (f"{strategy.discount_pct:g}% off the amount owed when paid in full within "
                          "14 days")}
    if strategy.offer == "payment_link":
        return {"kind": "payment_link", "terms": "pay the amount owed online"
                + (f" ({strategy.payment_method})" if strategy.payment_method else "")}
    if strategy.offer == "hardship_referral":
        return referral_offer(energy=is_utility(rulepack))
    return None


def instalment_schedule(amount: float, terms: dict[str, Any], accepted_on: date) -> list[dict[str, Any]]:
    """Due dates and amounts of an instalment plan for ``amount`` accepted on ``accepted_on``.

    Amounts are in cents-rounded currency units; the last instalment takes the rounding remainder.
    """
    n = int(terms["n_instalments"])
    cents = round(amount * 100)
    each = math.floor(cents / n)
    first = accepted_on + timedelta(days=int(terms.get("first_due_days", INSTALMENT_FIRST_DUE_DAYS)))
    out = []
    for k in range(n):
        month = first.month - 1 + k * int(terms.get("interval_months", 1))
        year, month = first.year + month // 12, month % 12 + 1
        day = min(first.day, _month_days(year, month))
        share = each if k < n - 1 else cents - each * (n - 1)
        out.append({"due": date(year, month, day).isoformat(), "amount": share / 100})
    return out


def _month_days(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


# ---------------------------------------------------------------------------- the ladder
def journey_of(strategy: Strategy, rulepack: Any = None) -> tuple[Step, ...]:
    """The strategy's steps: its explicit ``steps``, else the ladder derived from its fields.

    Parameters
    ----------
    strategy : Strategy
    rulepack : RulePack, optional
        Chooses the labels' language (German for the ``de`` pack) and, with its utility module, the
        disconnection route and energy referrals.

    Returns
    -------
    tuple of Step
        Ordered by ``day`` (days after the journey's start).
    """
    if strategy.steps:
        return tuple(sorted(strategy.steps, key=lambda step: step.day))
    return _derived(strategy, rulepack)


def _derived(s: Strategy, rulepack: Any) -> tuple[Step, ...]:
    words = _labels(rulepack)
    offer = offer_terms(s, rulepack)
    channel = export_channel(s.channel)
    written = "email" if s.channel == "email" else "letter"
    escalating = s.escalation != "none"
    utility = is_utility(rulepack) and escalating
    steps: list[Step] = []
    if s.offer == "hardship_referral":
        steps.append(Step(0, "referral", "letter", "gentle", words["referral"], offer))
        offer = instalment_terms(s.n_instalments or 6, interest_free=utility)
    first_action = "call" if s.channel == "phone" else "reminder"
    steps.append(Step(0, first_action, channel, s.tone,
                      words["call"] if first_action == "call" else words["reminder_1"], offer))
    n_reminders = max(2, s.reminders_sent_before_escalation)
    if s.credit_bureau_report and s.channel not in ("letter", "email"):
        # § 31 Abs. 2 Nr. 4 BDSG counts written reminders: two after a first contact by another channel
        n_reminders = max(n_reminders, 3)
    notices = _notices(s, utility)
    for n in range(2, n_reminders + 1):
        last = n == n_reminders
        steps.append(Step((n - 1) * REMINDER_GAP_DAYS, "reminder", written, s.tone,
                          reminder_label(n, notices if last else (), rulepack), offer,
                          notices if last else ()))
    last_day = steps[-1].day
    if utility:
        steps += _disconnection_route(s, last_day, words)
    elif escalating:
        day = max(s.escalation_after_days or 0, last_day + REMINDER_GAP_DAYS)
        action = "agency" if s.escalation == "external_agency" else "court"
        steps.append(Step(day, action, None, s.tone, words[action]))
    if s.credit_bureau_report:
        day = max(s.escalation_after_days or 0, BUREAU_AFTER_FIRST_REMINDER_DAYS,
                  last_day + REMINDER_GAP_DAYS)
        steps.append(Step(day, "credit_bureau", None, s.tone, words["credit_bureau"]))
    return tuple(sorted(steps, key=lambda step: step.day))


def reminder_label(n: int, notices: tuple[str, ...] | list[str] = (), rulepack: Any = None) -> str:
    """The label of the ``n``-th reminder, naming what it announces ("Letzte Mahnung mit Ankündigung
    des gerichtlichen Mahnverfahrens mit Hinweis auf eine mögliche Meldung an eine Auskunftei")."""
    words = _labels(rulepack)
    label = words["reminder_1"] if n == 1 else words["reminder_n"].format(n=n)
    for kind in ("court", "agency"):
        if kind in notices:
            label = words["notice_" + kind]
            break
    if "credit_bureau" in notices:
        label += " " + words["notice_bureau"]
    return label


def _notices(s: Strategy, utility: bool) -> tuple[str, ...]:
    out = []
    if s.escalation != "none":
        out.append("disconnection" if utility else
                   "agency" if s.escalation == "external_agency" else "court")
    if s.credit_bureau_report:
        out.append("credit_bureau")
    return tuple(out)


def _disconnection_route(s: Strategy, last_day: int, words: dict[str, str]) -> list[Step]:
    """Threat with an Abwendungsvereinbarung, then the announcement; the disconnection itself is
    dated per account (:mod:`strategy.account_plan`)."""
    threat = max(s.escalation_after_days or 0, last_day + REMINDER_GAP_DAYS)
    # 12 calendar days cover 8 working days unless holidays intervene; the account plan checks.
    announcement = threat + THREAT_BEFORE_DISCONNECTION_DAYS - 12
    return [Step(threat, "disconnection_threat", "letter", s.tone, words["threat"], abwendung_terms(),
                 ("disconnection",)),
            Step(announcement, "disconnection_notice", "letter", s.tone, words["announcement"])]


def describe_steps(steps: Any) -> str:
    """Plain text of a journey ("day 0 letter reminder (1. Mahnung); day 14 ...") or "no steps"."""
    parts = []
    for step in steps:
        data = step.to_dict() if isinstance(step, Step) else dict(step)
        when = f"day {data['day']}" + (f" ({data['date']})" if data.get("date") else "")
        how = f" by {data['channel']}" if data.get("channel") else " (no contact)"
        offer = data.get("offer")
        extra = f", offer: {offer.get('name') or offer.get('kind')}" if isinstance(offer, dict) else ""
        parts.append(f"{when}: {data['action']}{how}, {data.get('label') or data['action']}{extra}")
    return "; ".join(parts) if parts else "no steps"


def describe_steps_text(steps: Any) -> Any:
    """:func:`describe_steps` as a :class:`~strategy.texts.Text` (the same English; ``render()`` in the
    reader's language). For what is shown to a person; the account plan keeps the fast plain text."""
    from core.i18n import N_
    from strategy.texts import Term, Text, TextList

    parts = []
    for step in steps:
        data = step.to_dict() if isinstance(step, Step) else dict(step)
        when = (Text(N_("day {day} ({date})"), day=data["day"], date=str(data["date"])) if data.get("date") else
                Text(N_("day {day}"), day=data["day"]))
        how = Text(N_(" by {channel}"), channel=Term(data["channel"])) if data.get("channel") else \
            Text(N_(" (no contact)"))
        offer = data.get("offer")
        extra = Text(N_(", offer: {offer}"), offer=str(offer["name"]) if offer.get("name") else Term(
            str(offer.get("kind")))) if isinstance(offer, dict) else ""
        label = step_label_words(data["label"]) if data.get("label") else Term(data["action"])
        parts.append(Text("{when}: {action}{how}, {label}{extra}", when=when, action=Term(data["action"]), how=how,
                          label=label, extra=extra))
    return TextList(parts, "; ") if parts else Text(N_("no steps"))
