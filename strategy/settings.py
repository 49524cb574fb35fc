"""Settings of proposals, guardrails and export: defaults and units in one place."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StrategySettings:
    """Thresholds used by :mod:`strategy.proposals`, :mod:`strategy.guardrails` and the export.

    Parameters
    ----------
    rulepack : str or None
        The workspace's rulepack (:mod:`strategy.rulepacks`): ``"de"`` (German law and house policy)
        or ``"us"`` (Regulation F). ``None``: German, the default for German exports and EUR
        portfolios; the US pack applies only on request. The environment variable
        ``PERSONAS_RULEPACK`` overrides this setting.
    earliest_contact_hour, latest_contact_hour : int
        House-policy contact window of the German rulepack in the debtor's local hours, 08:00-20:00
        (Germany has no statutory hours). A strategy's window ``[start, end)`` must lie inside it.
        The US rulepack applies Reg F's 08:00-21:00 (12 CFR 1006.6(b)(1)(i)) instead.
    contact_on_saturday : bool
        House policy of the German rulepack: Saturday is a working day (Werktag) for contact;
        Sundays and public holidays never are.
    holiday_subdivision : str or None
        The Land whose public holidays count besides the federal ones (``"BY"``, ``"NW"`` ...; the
        codes of the ``holidays`` library); ``None``: federal holidays only.
    max_contacts_per_week : int
        House policy of the German rulepack: contacts of all channels together in any 7 days.
    max_call_attempts_per_7_days : int
        House policy of the German rulepack: call attempts in any 7 days (within the cap above).
        The US rulepack applies Reg F's 7 (12 CFR 1006.14(b)(2)(i)).
    quiet_days_after_conversation : int
        House policy of the German rulepack: days without contact after a conversation (law in
        the US pack: 7 days, 12 CFR 1006.14(b)(2)(ii)).
    utility_module : bool
        Adds the energy supplier's disconnection process (§§ 41f, 41g EnWG) to the German rulepack.
    legal_escalation_min_balance_eur : float
        House policy (proportionality; no statute sets a minimum, § 13e RDG caps costs only):
        no court dunning or agency (with collection costs) below this balance, in the currency
        ``legal_escalation_min_balance_currency`` (EUR). Checked on the persona's median balance and,
        at account-level export, on each account's balance, only when the run's currency
        (:mod:`portfolio.currency`) is that currency or unknown; a portfolio in another currency is
        told "threshold in EUR not applied: portfolio currency USD".
    legal_escalation_min_balance_currency : str
        ISO code of ``legal_escalation_min_balance_eur`` (default EUR).
    time_barred_after_days : int
        Days past due after which a persona's accounts count as possibly time-barred in the
        persona-level screen. Per account the limitation date is computed (§§ 195, 199, 212, 197
        BGB; :mod:`strategy.limitation`).
    time_barred_share_blocks_escalation : float
        Share (0..1) of a persona's accounts that are time-barred above which legal escalation is
        blocked for the whole persona.
    opt_out_share_blocks_channel : float
        Share (0..1) of a persona's accounts that opted out of a channel above which the channel is
        blocked for the persona; single opted-out accounts are blocked at account-level export.
    hardship_share_threshold : float
        Share (0..1) of a persona's accounts with a hardship / over-indebtedness flag above which the
        persona counts as over-indebted and needs a hardship route.
    dispute_share_blocks_bureau : float
        Share (0..1) of disputed accounts above which a credit-bureau report is blocked for the
        persona (§ 31(2) Nr. 4 BDSG); disputed accounts are always removed from it at export.
    min_reminders_before_escalation : int
        House policy: reminders after the due date before legal escalation. Default (Verzug) can
        arise without a reminder (§ 286 Abs. 2 Nr. 1 and Abs. 3 BGB); one reminder first is
        sound practice, not law.
    min_written_reminders_before_bureau, min_days_first_reminder_before_bureau : int
        Two written reminders, the first at least 28 days (4 weeks) before a bureau report
        (§ 31 Abs. 2 Satz 1 Nr. 4 lit. a, b BDSG).
    min_sample_size : int
        Contact attempts a persona needs on a channel before its response rate counts as evidence.
    confidence_z : float
        z value of the Wilson interval (1.96 = 95 %).
    require_model_sign_off : bool
        Export only runs whose model and explanations a compliance reviewer signed off (audit
        entry ``model_signed_off``). On by default; switching it off is a deliberate decision.
    allow_holdout : bool
        House policy: champion/challenger experiments may keep a holdout share without collection
        contact (:mod:`strategy.experiments`; never for over-indebted personas). ``False`` refuses
        every holdout.
    channel_costs : tuple of (channel, EUR) pairs
        Cost of one contact per channel (``(("letter", 0.85), ("sms", 0.09))``), for the contact
        cost of a read-out and the cost per € collected among the KPIs. Empty (the default): those
        figures say "not available" rather than 0. ``PERSONAS_CHANNEL_COSTS="letter=0.85,sms=0.09"``
        and ``readout --cost letter=0.85`` set it too (:func:`channel_costs_from_text`).
    """

    rulepack: str | None = None
    earliest_contact_hour: int = 8
    latest_contact_hour: int = 20
    contact_on_saturday: bool = True
    holiday_subdivision: str | None = None
    max_contacts_per_week: int = 3
    max_call_attempts_per_7_days: int = 3
    quiet_days_after_conversation: int = 7
    utility_module: bool = False
    legal_escalation_min_balance_eur: float = 100.0
    legal_escalation_min_balance_currency: str = "EUR"
    time_barred_after_days: int = 3 * 365
    time_barred_share_blocks_escalation: float = 0.2
    opt_out_share_blocks_channel: float = 0.5
    hardship_share_threshold: float = 0.3
    dispute_share_blocks_bureau: float = 0.1
    min_reminders_before_escalation: int = 1
    min_written_reminders_before_bureau: int = 2
    min_days_first_reminder_before_bureau: int = 28
    min_sample_size: int = 30
    confidence_z: float = 1.959964
    require_model_sign_off: bool = True
    allow_holdout: bool = True
    channel_costs: tuple[tuple[str, float], ...] = ()

    def channel_cost_table(self) -> dict[str, float]:
        """``channel_costs`` as ``{channel: EUR per contact}`` (``app_push`` also under ``push``)."""
        return normalise_channel_costs(dict(self.channel_costs))


@dataclass(frozen=True)
class SecuritySettings:
    """Sessions, sign-in lockout and one-time tickets: limits and timeouts in one place.

    Parameters
    ----------
    idle_timeout_minutes : float
        A session unused this long ends (the next action asks to sign in again).
    absolute_timeout_hours : float
        A session ends this long after sign-in, however active.
    lockout_failures : int
        Failed sign-ins for one typed name within ``lockout_window_minutes`` after which every
        further attempt for that name, the right password included, is refused until the window
        has passed.
    address_lockout_failures : int
        The same for all names tried from one network address (higher: offices share addresses).
    lockout_window_minutes : float
        The sliding window of the two counts above.
    handoff_seconds : float
        Lifetime of the one-time ticket that moves a verified sign-in into the HttpOnly cookie.
    setup_token_hours : float
        Lifetime of the one-time token that creates the first administrator.
    touch_every_seconds : float
        A session's last activity is written at most this often (one small write, not one per click).
    """

    idle_timeout_minutes: float = 30.0
    absolute_timeout_hours: float = 12.0
    lockout_failures: int = 10
    address_lockout_failures: int = 50
    lockout_window_minutes: float = 15.0
    handoff_seconds: float = 60.0
    setup_token_hours: float = 24.0
    touch_every_seconds: float = 60.0


#: Environment variable with the cost per contact of each channel (``letter=0.85,sms=0.09``).
CHANNEL_COSTS_ENV = "PERSONAS_CHANNEL_COSTS"


def normalise_channel_costs(costs: dict[str, float]) -> dict[str, float]:
    """``{channel: EUR}`` with the step channel ``push`` and the strategy channel ``app_push`` as one."""
    out = {str(k).strip().lower(): float(v) for k, v in costs.items()}
    if "app_push" in out and "push" not in out:
        out["push"] = out["app_push"]
    if "push" in out and "app_push" not in out:
        out["app_push"] = out["push"]
    return out


def channel_costs_from_text(text: str | list[str] | tuple[str, ...] | None) -> dict[str, float]:
    """Parse ``"letter=0.85,sms=0.09"`` (or a list of ``channel=EUR`` items) into ``{channel: EUR}``.

    Raises :class:`core.errors.UserError` naming the item that is not ``channel=number`` (>= 0).
    """
    from core.errors import UserError

    if not text:
        return {}
    items = [text] if isinstance(text, str) else list(text)
    out: dict[str, float] = {}
    for item in (part.strip() for chunk in items for part in str(chunk).split(",")):
        if not item:
            continue
        channel, _, value = item.partition("=")
        try:
            cost = float(value.strip().replace(",", "."))
        except ValueError:
            cost = float("nan")
        if not channel.strip() or not cost >= 0 or cost == float("inf"):
            raise UserError(f"channel cost {item!r} is not CHANNEL=EUR (e.g. letter=0.85, sms=0.09).")
        out[channel.strip()] = cost
    return normalise_channel_costs(out)
