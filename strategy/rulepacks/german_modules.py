"""Calculators of the German rulepack: default interest (§ 288 BGB), the energy supplier's
disconnection process (§§ 41f, 41g EnWG) and the content of a hardship referral.

Amounts are in euros; rates in percentage points per year.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from core.i18n import N_
from strategy.contact_calendar import add_working_days, is_working_day

if TYPE_CHECKING:
    from strategy.rulepacks.base import ContactPolicy

#: What a hardship referral says (Schuldnerberatung for everyone; for energy debts the Härtefonds
#: and the Jobcenter / Sozialamt).
HARDSHIP_REFERRAL = N_("free debt advice (Schuldnerberatung of the Verbraucherzentrale, Caritas, Diakonie, AWO or "
                       "the municipality); for energy debts also the supplier's or the Land's Härtefonds where one "
                       "exists, and the Jobcenter (§ 22 Abs. 8 SGB II, arrears as a loan) or the Sozialamt "
                       "(§ 36 SGB XII)")


@dataclass(frozen=True)
class DefaultInterest:
    """§ 288 BGB: interest during default, above the base rate (§ 247 BGB, set every six months by
    the Bundesbank; not built in: pass the rate that applied)."""

    consumer_points: float = 5.0  #: § 288 Abs. 1 Satz 2 BGB
    business_points: float = 9.0  #: § 288 Abs. 2 BGB, no consumer party
    business_flat_fee_eur: float = 40.0  #: § 288 Abs. 5 BGB, set off against collection costs

    def rate(self, base_rate_pct: float, *, business: bool) -> float:
        """Yearly default interest in percent (base rate + 5 or 9 points; it can be below 5 %)."""
        return base_rate_pct + (self.business_points if business else self.consumer_points)

    def interest(self, amount_eur: float, base_rate_pct: float, days: int, *, business: bool) -> float:
        """Interest on ``amount_eur`` for ``days`` days of default (actual days / 365), in euros."""
        if days <= 0 or amount_eur <= 0:
            return 0.0
        return round(amount_eur * self.rate(base_rate_pct, business=business) / 100 * days / 365, 2)

    def flat_fee(self, *, business: bool) -> float:
        """The € 40 flat fee, owed only by a business debtor (§ 288 Abs. 5 BGB)."""
        return self.business_flat_fee_eur if business else 0.0


@dataclass(frozen=True)
class EnergyDisconnection:
    """§§ 41f, 41g EnWG for household customers (check the current text before relying on it).

    Arrears (after deducting payments on account, and leaving out non-titled amounts the customer
    disputed in time and with reasons) must reach twice the monthly instalment, or one sixth of the
    expected annual bill where no instalments are due, and at least € 100. Disconnection is
    threatened at least 4 weeks before, its start announced by letter 8 Werktage before; with the
    announcement at the latest the supplier offers an interest-free Abwendungsvereinbarung.
    """

    min_arrears_eur: float = 100.0
    instalment_multiple: float = 2.0
    annual_bill_fraction: float = 1 / 6
    threat_weeks: int = 4
    announcement_working_days: int = 8
    agreement_months: tuple[int, int] = (6, 18)
    agreement_months_large: tuple[int, int] = (12, 24)
    large_arrears_eur: float = 300.0

    def threshold(self, monthly_instalment_eur: float | None = None,
                  annual_bill_eur: float | None = None) -> float | None:
        """The arrears needed before a disconnection may be threatened, or ``None`` when neither the
        monthly instalment nor the expected annual bill is known."""
        if monthly_instalment_eur is not None and monthly_instalment_eur > 0:
            return max(self.instalment_multiple * monthly_instalment_eur, self.min_arrears_eur)
        if annual_bill_eur is not None and annual_bill_eur > 0:
            return max(self.annual_bill_fraction * annual_bill_eur, self.min_arrears_eur)
        return None

    def may_threaten(self, arrears_eur: float, monthly_instalment_eur: float | None = None,
                     annual_bill_eur: float | None = None, disputed_eur: float = 0.0) -> bool:
        """Whether the arrears (less disputed, non-titled amounts) reach the threshold."""
        threshold = self.threshold(monthly_instalment_eur, annual_bill_eur)
        return threshold is not None and arrears_eur - disputed_eur >= threshold

    def agreement_range(self, arrears_eur: float) -> tuple[int, int]:
        """Months of the interest-free Abwendungsvereinbarung usually reasonable (§ 41g EnWG)."""
        return self.agreement_months_large if arrears_eur > self.large_arrears_eur else self.agreement_months

    def earliest_announcement(self, threatened_on: date) -> date:
        """The announcement may follow once the 4 weeks after the threat have started; kept simple:
        no earlier than the day after the threat."""
        return threatened_on + timedelta(days=1)

    def earliest_disconnection(self, threatened_on: date, announced_on: date, policy: "ContactPolicy") -> date:
        """The first day a disconnection may start: 4 weeks after the threat, after 8 full Werktage
        from the announcement (Monday to Saturday without public holidays, see
        :func:`strategy.contact_calendar.add_working_days`), on a working day."""
        after_threat = threatened_on + timedelta(weeks=self.threat_weeks)
        after_notice = add_working_days(announced_on, self.announcement_working_days, policy) + timedelta(days=1)
        day = max(after_threat, after_notice)
        while not is_working_day(day, policy):
            day += timedelta(days=1)
        return day


INTEREST = DefaultInterest()
ENERGY = EnergyDisconnection()
