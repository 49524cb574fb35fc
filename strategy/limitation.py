"""Limitation (Verjährung) of a claim under German law, per claim and over a portfolio.

* § 195 BGB: the regular period is three years.
* § 199 Abs. 1 BGB: it begins at the end of the year in which the claim arose (and the creditor
  knew of it; a creditor knows its own invoices, so the year of the due date is used), so it ends
  on 31 December three years later: a claim due on 2021-03-15 is time-barred after 2024-12-31.
* § 212 Abs. 1 Nr. 1 BGB: an acknowledgement, including a part-payment, a payment of interest or a
  security, makes the period begin anew. The new period starts on the day after the event
  (§ 187 Abs. 1 BGB), without the year-end rule of § 199 (that rule is for the *first* beginning),
  and ends at the end of the day three years later that carries the event's date (§ 188 Abs. 2
  BGB; a missing 29 February ends on the 28th, § 188 Abs. 3). An event after the period has run
  out restarts nothing: the claim stays time-barred (what was paid is not returned, § 214 Abs. 2).
* §§ 203, 204, 209 BGB: while the parties negotiate or a court procedure runs (a Mahnbescheid,
  § 204 Abs. 1 Nr. 3), the period is suspended; the suspended days are added to its end. (The
  three-month minimum after negotiations end, § 203 Satz 2, is not modelled: pass the days.)
* § 197 Abs. 1 Nr. 3, § 201 BGB: a titled claim (judgment, enforcement order) is limited after
  30 years, counted from the title's legal force.

A time-barred claim may still be paid voluntarily but must not be enforced or threatened with
enforcement (§ 214 BGB; a threat would mislead, § 5 UWG).
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any, Mapping

import numpy as np
import pandas as pd

from portfolio.flags import FALSE_TOKENS, flag_values, is_true_token, token
from core.i18n import N_
from portfolio.meanings import ColumnMeanings, Meaning, date_value, date_values
from strategy.texts import Text

REGULAR_YEARS = 3  #: § 195 BGB
TITLED_YEARS = 30  #: § 197 Abs. 1 Nr. 3 BGB


def add_years(day: date, years: int) -> date:
    """The same calendar date ``years`` later; 29 February becomes 28 February (§ 188 Abs. 3 BGB)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without it
        year = day.year + years
        return date(year, day.month, calendar.monthrange(year, day.month)[1])


def regular_end(arose: date) -> date:
    """End of the regular period: 31 December of the third year after the year the claim arose
    (§§ 195, 199 Abs. 1 BGB)."""
    return date(arose.year + REGULAR_YEARS, 12, 31)


def restarted_end(event: date) -> date:
    """End of the new period after an acknowledgement or part-payment on ``event`` (§ 212 BGB):
    it begins the next day and ends at the end of the day three years later with the event's date."""
    return add_years(event, REGULAR_YEARS)


def limitation_date(arose: date, *, acknowledged: date | None = None, part_payment: date | None = None,
                    suspended_days: int = 0, titled_on: date | None = None) -> date:
    """The last day on which the claim is not yet time-barred.

    Parameters
    ----------
    arose : date
        When the claim arose (its due date).
    acknowledged, part_payment : date, optional
        Latest acknowledgement and latest part-payment (both restart the period, § 212 BGB) when
        they happened before the period ran out.
    suspended_days : int
        Days the period was suspended by negotiation or court action (§§ 203, 204, 209 BGB); added
        to the end of the running period.
    titled_on : date, optional
        When a title became final: 30 years from then (§ 197 Abs. 1 Nr. 3, § 201 BGB), however the
        untitled claim stood.

    Returns
    -------
    date
        The claim is time-barred from the day after.
    """
    if suspended_days < 0:
        raise ValueError("suspended_days cannot be negative")
    if titled_on is not None:
        return add_years(titled_on, TITLED_YEARS) + timedelta(days=suspended_days)
    end = regular_end(arose) + timedelta(days=suspended_days)
    for event in sorted(d for d in (acknowledged, part_payment) if d is not None):
        # Only an event while the claim is enforceable restarts it; one before the claim arose is
        # not an acknowledgement of this claim.
        if arose <= event <= end:
            end = restarted_end(event) + timedelta(days=suspended_days)
    return end


def is_time_barred(end: date, today: date) -> bool:
    """Whether a claim whose period ends on ``end`` is time-barred on ``today``."""
    return today > end


# ---------------------------------------------------------------------------- accounts
#: Column of the portfolio frame with days past due (a required role, same name in every run).
DAYS_PAST_DUE = "days_past_due"


def limitation_status(frame: pd.DataFrame, meanings: Any, today: date) -> pd.DataFrame:
    """Limitation of every account of a portfolio.

    Which column holds what is asked of the column model (``meanings``: roles,
    :class:`~portfolio.meanings.ColumnMeanings` or a ``{column: meaning}`` dict): the due date,
    the ERP's time-barred flag, the title flag, the latest acknowledgement and the latest
    part-payment. German dates (``15.03.2021``), ISO dates and J/N or 0/1 flags are read.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``frame``: ``limitation_date`` (datetime64; NaT when unknown),
        ``time_barred`` (bool) and ``basis`` (how it was decided). An ERP flag that says
        time-barred wins; an ERP flag that says "not time-barred" is overruled, and said so, when
        the dates show the period has ended (the debtor-safe reading). A titled claim runs 30 years.
        Without a due date column the due date is estimated as ``today`` minus the days past due
        (said so); without either the status is "unknown: no due date" and not time-barred.
    """
    known = ColumnMeanings.of(meanings)
    due = _dates(frame, known, Meaning.DUE_DATE)
    estimated = [False] * len(frame)
    if known.column_for(Meaning.DUE_DATE) is None and DAYS_PAST_DUE in frame.columns:
        days = pd.to_numeric(frame[DAYS_PAST_DUE], errors="coerce").to_numpy(dtype="float64")
        due = [None if d != d else today - timedelta(days=int(d)) for d in days]
        estimated = [d is not None for d in due]
    acknowledged = _dates(frame, known, Meaning.ACKNOWLEDGED_ON)
    paid = _dates(frame, known, Meaning.LAST_PAYMENT_ON)
    erp = _flags(frame, known, Meaning.TIME_BARRED)
    titled = _flags(frame, known, Meaning.TITLED)
    decided = [decide(due[i], acknowledged[i], paid[i], titled=titled[i] == 1.0, erp_flag=erp[i],
                      today=today, estimated=estimated[i]) for i in range(len(frame))]
    index = frame.index
    return pd.DataFrame({
        "limitation_date": pd.Series([pd.NaT if d[0] is None else pd.Timestamp(d[0]) for d in decided],
                                     index=index, dtype="datetime64[ns]"),
        "time_barred": pd.Series([d[1] for d in decided], index=index, dtype=bool),
        "basis": pd.Series([d[2] for d in decided], index=index, dtype=object)}, index=index)


def account_limitation(account: Mapping[str, Any], meanings: Any, today: date) -> tuple[date | None, bool, str]:
    """``(limitation date or None, time-barred, basis)`` of one account's portfolio row (a dict), the
    same decision as :func:`limitation_status` makes for a whole frame."""
    known = ColumnMeanings.of(meanings)

    def cell(meaning: str) -> Any:
        column = known.column_for(meaning)
        return None if column is None else account.get(column)

    due = date_value(cell(Meaning.DUE_DATE))
    estimated = False
    if known.column_for(Meaning.DUE_DATE) is None:
        days = _number(account.get(DAYS_PAST_DUE))
        if days is not None:
            due, estimated = today - timedelta(days=int(days)), True
    erp, titled = (_flag(cell(m)) for m in (Meaning.TIME_BARRED, Meaning.TITLED))
    return decide(due, date_value(cell(Meaning.ACKNOWLEDGED_ON)), date_value(cell(Meaning.LAST_PAYMENT_ON)),
                  titled=titled == 1.0, erp_flag=erp, today=today, estimated=estimated)


def decide(due: date | None, acknowledged: date | None, paid: date | None, *, titled: bool, erp_flag: float,
           today: date, estimated: bool = False) -> tuple[date | None, bool, str]:
    """One account's ``(limitation date, time-barred, basis)``; ``erp_flag`` is 1.0, 0.0 or NaN.

    The basis is a :class:`~strategy.texts.Text`: its value is the English phrase (stored and
    exported as before), ``render()`` writes it in the reader's language."""
    end, text = _computed(due, acknowledged, paid, titled, today, estimated)
    barred = end is not None and is_time_barred(end, today)
    if erp_flag == 1.0:
        return end, True, (Text(N_("ERP flag; {basis}"), basis=text) if end is not None else Text(N_("ERP flag")))
    if erp_flag == 0.0 and barred:
        text = Text(N_("{basis}; the ERP flag says not time-barred: check acknowledgements the portfolio lacks"),
                    basis=text)
    return end, barred, text


def _computed(due: date | None, acknowledged: date | None, paid: date | None, titled: bool, today: date,
              estimated: bool) -> tuple[date | None, Text]:
    if titled:
        if due is None:
            return None, Text(N_("titled: 30 years (§ 197 BGB) from the title's date, which the portfolio lacks"))
        # The title came after the due date, so the 30 years end no earlier than this.
        end = add_years(due, TITLED_YEARS)
        return (None if end < today else end), Text(
            N_("titled: 30 years (§ 197 BGB), counted from the due date at the earliest"))
    if due is None:
        return None, Text(N_("unknown: no due date"))
    end = limitation_date(due, acknowledged=acknowledged, part_payment=paid)
    day = f"{due:%d.%m.%Y}"
    if estimated:
        text = Text(N_("estimated from days past due (due about {due}; no due-date column) "
                       "(§§ 195, 199 BGB: end of {year} + 3 years)"), due=day, year=str(due.year))
    else:
        text = Text(N_("computed from due date {due} (§§ 195, 199 BGB: end of {year} + 3 years)"),
                    due=day, year=str(due.year))
    for name, event in (("acknowledgement", acknowledged), ("part-payment", paid)):
        if event is not None and end == restarted_end(event) and end != regular_end(due):
            restarted = (N_("{basis}; restarted by acknowledgement on {day} (§ 212 BGB)") if name == "acknowledgement"
                         else N_("{basis}; restarted by part-payment on {day} (§ 212 BGB)"))
            return end, Text(restarted, basis=text, day=f"{event:%d.%m.%Y}")
    return end, text


def _dates(frame: pd.DataFrame, known: ColumnMeanings, meaning: str) -> list[date | None]:
    column = known.column_for(meaning)
    if column is None or column not in frame.columns:
        return [None] * len(frame)
    return [None if pd.isna(v) else v.date() for v in date_values(frame[column])]


def _flags(frame: pd.DataFrame, known: ColumnMeanings, meaning: str) -> np.ndarray:
    column = known.column_for(meaning)
    if column is None or column not in frame.columns:
        return np.full(len(frame), np.nan)
    return flag_values(frame[column]).to_numpy(dtype="float64")


def _flag(value: Any) -> float:
    """One flag cell as 1.0 (yes), 0.0 (no) or NaN (empty or unreadable), as :func:`flag_values` reads it."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return float("nan")
    if is_true_token(value):
        return 1.0
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)) or token(value) in FALSE_TOKENS:
        return 0.0
    try:
        float(token(value).replace(",", "."))  # a number at or below zero: no
        return 0.0
    except ValueError:
        return float("nan")


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number

