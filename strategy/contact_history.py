"""What a persona's contact history says: response rate per channel, best hour, payment method.

Rates come with Wilson score intervals (z from the settings, 95 % by default); a channel with
fewer attempts than ``settings.min_sample_size`` is reported as "not enough evidence" and never
chosen as the best channel. The best channel is the one with the highest *lower* bound, so a
channel wins only on evidence, not on a lucky small sample.

Which columns hold attempts, responses, the best hour, the payment method and payments so far is
asked of the portfolio's column model (``meanings``: roles or
:class:`~portfolio.meanings.ColumnMeanings`); without one, :func:`portfolio.meanings.detect_meanings`
reads the rows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.i18n import N_
from portfolio.meanings import ColumnMeanings, Meaning, detect_meanings
from strategy.catalogue import CHANNELS
from strategy.settings import StrategySettings
from strategy.texts import Text

CHANNEL_LABELS = {"sms": N_("SMS"), "email": N_("E-mail"), "letter": N_("Letter"), "phone": N_("Phone"),
                  "app_push": N_("App push"), "whatsapp": N_("WhatsApp")}


def _meanings(frame: pd.DataFrame, meanings: Any) -> ColumnMeanings:
    return detect_meanings(frame) if meanings is None else ColumnMeanings.of(meanings)


def _column(frame: pd.DataFrame, meanings: ColumnMeanings, meaning: str) -> Any:
    column = meanings.column_for(meaning)
    return column if column is not None and column in frame.columns else None


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a proportion (``(0, 1)`` for zero trials)."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ChannelEvidence:
    """Observed responses of a persona on one channel (rate and interval are 0..1)."""

    channel: str
    attempts: int
    responses: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    enough: bool

    def statement(self, min_sample: int) -> str:
        label = Text(CHANNEL_LABELS[self.channel])
        if not self.enough:
            return Text(N_("{channel}: {responses} responses to {attempts} attempts - not enough evidence "
                           "(minimum {minimum} attempts)"), channel=label, responses=self.responses,
                        attempts=self.attempts, minimum=min_sample)
        return Text(N_("{channel}: {responses} responses to {attempts} attempts = {rate:.1%} (95% CI "
                       "{low:.1%}-{high:.1%})"), channel=label, responses=self.responses, attempts=self.attempts,
                    rate=self.rate, low=self.ci_low, high=self.ci_high)


def _channel_columns(frame: pd.DataFrame, meanings: ColumnMeanings, channel: str) -> tuple[Any, Any] | None:
    attempts = _column(frame, meanings, Meaning.attempts(channel))
    responses = _column(frame, meanings, Meaning.responses(channel))
    return (attempts, responses) if attempts is not None and responses is not None else None


def has_contact_history(frame: pd.DataFrame | None, meanings: Any = None) -> bool:
    """Whether ``frame`` has attempts and responses columns for at least one channel."""
    if frame is None:
        return False
    known = _meanings(frame, meanings)
    return any(_channel_columns(frame, known, ch) for ch in CHANNELS)


def channel_evidence(rows: pd.DataFrame, settings: StrategySettings,
                     meanings: Any = None) -> list[ChannelEvidence]:
    """Response evidence per channel found in ``rows`` (the persona's portfolio rows)."""
    known = _meanings(rows, meanings)
    out = []
    for channel in CHANNELS:
        columns = _channel_columns(rows, known, channel)
        if columns is None:
            continue
        attempts = int(pd.to_numeric(rows[columns[0]], errors="coerce").fillna(0).clip(lower=0).sum())
        responses = int(pd.to_numeric(rows[columns[1]], errors="coerce").fillna(0).clip(lower=0).sum())
        responses = min(responses, attempts)
        enough = attempts >= settings.min_sample_size
        if attempts:
            low, high = wilson_interval(responses, attempts, settings.confidence_z)
            out.append(ChannelEvidence(channel, attempts, responses, responses / attempts, low,
                                       high, enough))
        else:
            out.append(ChannelEvidence(channel, 0, 0, None, None, None, False))
    return out


def best_channel(evidence: list[ChannelEvidence],
                 blocked: set[str] = frozenset()) -> ChannelEvidence | None:
    """The channel with enough evidence and the highest lower confidence bound."""
    candidates = [e for e in evidence if e.enough and e.channel not in blocked]
    return max(candidates, key=lambda e: (e.ci_low, e.rate), default=None)


def best_hour(rows: pd.DataFrame, settings: StrategySettings, meanings: Any = None) -> tuple[int, str] | None:
    """Most frequent best response hour, clamped into the allowed window, with its evidence."""
    column = _column(rows, _meanings(rows, meanings), Meaning.BEST_RESPONSE_HOUR)
    if column is None:
        return None
    hours = pd.to_numeric(rows[column], errors="coerce").dropna()
    hours = hours[(hours >= 0) & (hours < 24)].round().astype(int)
    if len(hours) < settings.min_sample_size:
        return None
    counts = hours.value_counts()
    hour = int(counts.index[0])
    share = counts.iloc[0] / len(hours)
    latest = settings.latest_contact_hour - 1
    clamped = min(max(hour, settings.earliest_contact_hour), latest)
    text = Text(N_("best response hour {hour} for {share:.0%} of {n} accounts"), hour=f"{hour:02d}:00",
                share=float(share), n=len(hours))
    if clamped != hour:
        text = Text(N_("{text}, moved to {hour} to stay within {window}"), text=text, hour=f"{clamped:02d}:00",
                    window=f"{settings.earliest_contact_hour:02d}:00-{settings.latest_contact_hour:02d}:00")
    return clamped, text


def best_payment_method(rows: pd.DataFrame, settings: StrategySettings,
                        meanings: Any = None) -> tuple[str, str] | None:
    """Most common payment method among accounts that paid before (else among all), with evidence."""
    known = _meanings(rows, meanings)
    column = _column(rows, known, Meaning.PAYMENT_METHOD)
    if column is None:
        return None
    methods = rows[column].dropna().astype(str)
    basis = Text(N_("accounts"))
    paid = _column(rows, known, Meaning.PAYMENTS_SO_FAR)
    if paid is not None:
        payers = rows.loc[pd.to_numeric(rows[paid], errors="coerce").fillna(0) > 0, column].dropna()
        if len(payers) >= settings.min_sample_size:
            methods, basis = payers.astype(str), Text(N_("accounts that paid before"))
    if len(methods) < settings.min_sample_size:
        return None
    counts = methods.value_counts()
    method = str(counts.index[0])
    return method, Text(N_("payment method {method}: {share:.0%} of {n} {basis}"), method=method,
                        share=float(counts.iloc[0] / len(methods)), n=len(methods), basis=basis)
