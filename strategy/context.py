"""What the guardrails and proposals need to know about a persona (and, at export, an account).

Facts come from the persona profile (``personas.json``) and, when given, from the portfolio rows of
the persona's accounts. Which column holds which fact (dispute flag, over-indebtedness, opt-out per
channel ...) is asked of the portfolio's column model (:mod:`portfolio.meanings`), never decided
here from names: from the run's roles when given, else from the meanings the profile carries, else
from the rows (or the profile's column names) through :func:`portfolio.meanings.detect_meanings`.

A fact without a column is *unknown* and says so ("unknown — no such column in the portfolio"); it
is never reported as 0 %.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.i18n import N_
from portfolio.currency import Currency
from portfolio.flags import flag_summary, is_true_token
from portfolio.meanings import ColumnMeanings, Meaning, detect_meanings, label, meanings_by_names
from portfolio.roles import ColumnRoles
from strategy.catalogue import CHANNELS
from strategy.settings import StrategySettings
from strategy.texts import Term, Text, TextList, Words

UNKNOWN = N_("unknown — no such column in the portfolio")
#: Words the evidence uses for each flag ("12% dispute the debt").
FLAG_PHRASES = {Meaning.DISPUTE: N_("dispute the debt"), Meaning.OVER_INDEBTED: N_("are over-indebted"),
                Meaning.TIME_BARRED: N_("are flagged time-barred"), Meaning.INSOLVENCY: N_("are in insolvency"),
                Meaning.CUSTOMER_ACTIVE: N_("are active customers"),
                Meaning.CONTRACT_ENDED: N_("have an ended contract"),
                **{Meaning.opt_out(ch): f"opted out of {ch}" for ch in Meaning.CHANNELS}}


def flag_phrase(meaning: str) -> Text:
    """The words for a flag's share ("dispute the debt", "opted out of sms") in the reader's language."""
    if meaning.startswith(Meaning.OPT_OUT + "."):
        return Text(N_("opted out of {channel}"), channel=Term(meaning.split(".", 1)[1]))
    return Text(FLAG_PHRASES.get(meaning, meaning))


def meaning_words(meaning: str) -> Words:
    """A meaning's label in English and German (``portfolio.meanings.label``)."""
    return Words({"en": label(meaning, "en"), "de": label(meaning, "de")})
# Words an analyst uses when naming a persona over-indebted (a persona's name, not a column).
HARDSHIP_PERSONA_WORDS = ("hardship", "over-indebted", "vulnerable", "insolven", "überschuldet")


@dataclass(frozen=True)
class FlagFact:
    """Share of a persona's accounts flagged in one yes/no column, with where it comes from.

    ``share`` is ``None`` when unknown (no such column); ``count`` and ``known`` (accounts with a
    yes or a no) are ``None`` when the profile kept only a share.
    """

    meaning: str
    share: float | None = None
    count: int | None = None
    known: int | None = None
    column: str | None = None
    basis: str = ""

    @property
    def is_known(self) -> bool:
        return self.share is not None

    def statement(self) -> str:
        """``"64% dispute the debt (32 of 50 accounts, column 'Bestritten')"`` or ``"disputed: unknown — ..."``
        (a :class:`~strategy.texts.Text`: rendered in the reader's language where it is shown)."""
        basis = Text(self.basis) if isinstance(self.basis, str) and not isinstance(self.basis, Text) \
            else self.basis
        if self.share is None:
            return Text("{label}: {why}", label=meaning_words(self.meaning), why=basis or Text(UNKNOWN))
        phrase = flag_phrase(self.meaning)
        where = Text(N_("column '{column}'"), column=self.column) if self.column else Text(N_("as given"))
        if self.count is not None and self.known is not None:
            return Text(N_("{share:.0%} {phrase} ({count:,} of {known:,} accounts, {where})"), share=self.share,
                        phrase=phrase, count=self.count, known=self.known, where=where)
        return Text("{share:.0%} {phrase} ({where}{basis})", share=self.share, phrase=phrase, where=where,
                    basis=Text(", {basis}", basis=basis) if basis else "")


@dataclass(frozen=True)
class PersonaContext:
    """Facts about a persona the guardrails check against (shares are 0..1, balances in ``currency``,
    the run's currency; ``None`` = not given, read as unknown).

    ``dispute_share`` and ``hardship_share`` are ``None`` when the portfolio has no such column;
    ``opt_out_shares`` lists only the channels with an opt-out column; ``facts`` keeps every flag
    with its count and column for the evidence.
    """

    persona_id: int | None = None
    name: str = ""
    size: int = 0
    median_balance: float | None = None
    median_days_past_due: float | None = None
    time_barred_share: float = 0.0
    dispute_share: float | None = None
    hardship_share: float | None = None
    opt_out_shares: dict[str, float] = field(default_factory=dict)
    hardship_by_name: bool = False
    facts: dict[str, FlagFact] = field(default_factory=dict)
    currency: Currency | None = None

    def over_indebted(self, settings: StrategySettings) -> bool:
        """Whether the persona counts as over-indebted / vulnerable (by its flags or its name)."""
        return self.hardship_by_name or (self.hardship_share or 0.0) >= settings.hardship_share_threshold

    def fact(self, meaning: str) -> FlagFact:
        """The flag fact of ``meaning``; built from the share fields when only those were given."""
        if meaning in self.facts:
            return self.facts[meaning]
        share = {Meaning.DISPUTE: self.dispute_share, Meaning.OVER_INDEBTED: self.hardship_share}.get(meaning)
        if meaning.startswith(Meaning.OPT_OUT + "."):
            share = self.opt_out_shares.get(meaning.split(".", 1)[1])
        return FlagFact(meaning, share)

    def hardship_statement(self) -> str:
        """Over-indebtedness and insolvency evidence in words."""
        facts = [self.fact(m) for m in (Meaning.OVER_INDEBTED, Meaning.INSOLVENCY)]
        known = [f.statement() for f in facts if f.is_known]
        return TextList(known, "; ") if known else self.fact(Meaning.OVER_INDEBTED).statement()


def truthy(series: pd.Series) -> pd.Series:
    """Boolean view of a flag or count column (numbers > 0; yes/ja/J/true/x ...; see :mod:`portfolio.flags`)."""
    return series.map(is_true_token).astype(bool)


def truthy_value(value: Any) -> bool:
    """Scalar version of :func:`truthy` (``None``/NaN are False)."""
    return value is not None and value is not pd.NA and is_true_token(value)


def roles_of_run(meta: dict[str, Any]) -> ColumnRoles | None:
    """The column model a run was made with (``run.json`` ``roles``), or ``None`` for runs saved
    before columns had meanings (their facts are then read from the profile or the rows)."""
    data = meta.get("roles") if isinstance(meta, dict) else None
    if not isinstance(data, dict) or "roles" not in data or "meanings" not in data:
        return None
    return ColumnRoles.from_dict(data)


def resolve_meanings(profile: dict[str, Any], rows: pd.DataFrame | None = None,
                     roles: Any = None) -> ColumnMeanings:
    """Which column means what for this persona: the run's roles, else the profile's
    ``column_meanings``, else the portfolio model's reading of the rows or of the profile's columns."""
    if roles is not None:
        return ColumnMeanings.of(roles)
    if isinstance(profile.get("column_meanings"), dict):
        return ColumnMeanings(dict(profile["column_meanings"]))
    if rows is not None:
        return detect_meanings(rows)
    names = list(profile.get("medians") or {}) + list(profile.get("categorical_shares") or {})
    return meanings_by_names(names)


def persona_rows(accounts: pd.DataFrame | None, portfolio: pd.DataFrame | None,
                 persona_id: int) -> pd.DataFrame | None:
    """Portfolio rows of the persona's accounts (joined on ``account_id``), or ``None``."""
    if accounts is None or portfolio is None or "account_id" not in portfolio.columns:
        return None
    ids = accounts.loc[accounts["persona_id"].astype(int) == int(persona_id), "account_id"]
    return portfolio[portfolio["account_id"].astype(str).isin(set(ids.astype(str)))]


def context_from_profile(profile: dict[str, Any], rows: pd.DataFrame | None = None,
                         settings: StrategySettings | None = None, roles: Any = None,
                         currency: Currency | None = None) -> PersonaContext:
    """Build a :class:`PersonaContext` from a profile and, optionally, the persona's portfolio rows.

    ``roles`` (``ColumnRoles``, its dict, or :class:`~portfolio.meanings.ColumnMeanings`) says which
    column means what; see :func:`resolve_meanings` for what is used without it.
    """
    settings = settings or StrategySettings()
    meanings = resolve_meanings(profile, rows, roles)
    balance = _fact(profile, rows, "balance", np.median)
    dpd = _fact(profile, rows, "days_past_due", np.median)
    if rows is not None and "days_past_due" in rows.columns and len(rows):
        dpd_values = pd.to_numeric(rows["days_past_due"], errors="coerce")
        time_barred = float((dpd_values > settings.time_barred_after_days).mean())
    else:
        time_barred = float(dpd is not None and dpd > settings.time_barred_after_days)
    facts = {m: flag_fact(m, profile, rows, meanings) for m in Meaning.FLAGS}
    # A flag from the ledger (limitation period ended) counts as well as the age-based estimate.
    time_barred = max(time_barred, facts[Meaning.TIME_BARRED].share or 0.0)
    hardship = [f.share for f in (facts[Meaning.OVER_INDEBTED], facts[Meaning.INSOLVENCY]) if f.is_known]
    name = str(profile.get("name", ""))
    return PersonaContext(
        persona_id=int(profile["persona_id"]) if "persona_id" in profile else None,
        name=name, size=int(profile.get("size") or 0),
        median_balance=balance, median_days_past_due=dpd, time_barred_share=time_barred,
        dispute_share=facts[Meaning.DISPUTE].share,
        hardship_share=max(hardship) if hardship else None,
        opt_out_shares={ch: f.share for ch in CHANNELS
                        if (f := facts.get(Meaning.opt_out(ch))) is not None and f.is_known},
        hardship_by_name=any(word in name.casefold() for word in HARDSHIP_PERSONA_WORDS),
        facts=facts, currency=currency,
    )


def flag_fact(meaning: str, profile: dict[str, Any], rows: pd.DataFrame | None,
              meanings: ColumnMeanings) -> FlagFact:
    """Share of the persona flagged for ``meaning``: from the rows, else the profile's ``flag_shares``,
    else (profiles saved before flag shares) its level shares or median; unknown without a column."""
    column = meanings.column_for(meaning)
    if rows is not None and column is not None and column in rows.columns and len(rows):
        summary = flag_summary(rows[column])
        return FlagFact(meaning, summary["share"], summary["count"], summary["known"], str(column))
    stored = (profile.get("flag_shares") or {}).get(meaning)
    if isinstance(stored, dict):
        return FlagFact(meaning, stored.get("share"), stored.get("count"), stored.get("known"),
                        stored.get("column"))
    if column is None:
        return FlagFact(meaning)
    return _flag_from_old_profile(meaning, profile, str(column))


def _flag_from_old_profile(meaning: str, profile: dict[str, Any], column: str) -> FlagFact:
    levels = (profile.get("categorical_shares") or {}).get(column)
    if isinstance(levels, dict):
        share = float(sum(v for k, v in levels.items() if is_true_token(k)))
        size = int(profile.get("size") or 0)
        if size:
            return FlagFact(meaning, share, round(share * size), size, column,
                            basis=Text(N_("from the profile's level shares")))
        return FlagFact(meaning, share, column=column, basis=Text(N_("from the profile's level shares")))
    value = ((profile.get("medians") or {}).get(column) or {}).get("persona")
    if value is None:
        return FlagFact(meaning, None, column=column, basis=Text(N_("column '{column}' not summarised in the profile"), column=column))
    if float(value) > 0:  # a median above 0: at least half of the accounts are flagged
        return FlagFact(meaning, 0.5, column=column, basis=Text(N_("at least half: the persona's median is above 0")))
    return FlagFact(meaning, None, column=column,
                    basis=Text(N_("fewer than half (median 0 in column '{column}'); exact share not in the profile"),
                               column=column))


def profile_median(profile: dict[str, Any], column: str | None) -> tuple[float, float] | None:
    """(persona median, portfolio median) of a column in the profile, or ``None``."""
    if column is None:
        return None
    value = (profile.get("medians") or {}).get(column)
    if isinstance(value, dict) and value.get("persona") is not None:
        portfolio = value.get("portfolio")
        return float(value["persona"]), float("nan" if portfolio is None else portfolio)
    return None


def _fact(profile: dict[str, Any], rows: pd.DataFrame | None, column: str, reduce: Any) -> float | None:
    if rows is not None and column in rows.columns and len(rows):
        values = pd.to_numeric(rows[column], errors="coerce").dropna()
        if len(values):
            return float(reduce(values))
    found = profile_median(profile, column)
    return None if found is None else found[0]
