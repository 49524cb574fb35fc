"""Portfolio worlds with planted personas for the persona recovery suite (``benchmarks.recovery``).

Written apart from :mod:`sample_data.generator` on purpose: the app was tuned on that generator, so
recovering its personas says little about portfolios written elsewhere. Each world plants behavioural
personas and then adds ONE kind of difficulty a real export brings (the last world brings all of
them at once); the planted label is ``true_persona`` (evaluation only, never a feature).

The personas come from one bank of twelve collections archetypes (:data:`ARCHETYPES`), each a set
of distributions over eight behavioural columns: open balance (EUR, log-normal), days past due
(log-normal), payments in the last 12 months (Poisson), contact response rate (beta), broken payment
promises (Poisson), portal log-ins in 90 days (negative binomial), months on book (log-normal) and
the share of partial payments (beta). Neighbouring archetypes overlap (a forgetful payer and a
digital small-balance debtor differ in balance and log-ins, not in days past due), as in real books,
so a truth ARI of 1 is not reachable.

Every world is a :class:`World`: ``make(rows, seed)`` returns a DataFrame whose column names are those
of an English or a German export (``Offener Betrag``, ``Verzugstage`` ...), seeded and vectorised (the
same rows and seed give the same frame).

Worlds
------
=======================  ==========================================================================
irrelevant_categoricals  6 personas; region (5 levels), product (4) and payment method (3) drawn
                         independently of the persona: none may split a persona.
sector_marks_persona     German ERP export, 6 personas; ``Branche`` with one level (Energie) carried
                         by 90 % of one persona and 3 % of the others, the two other levels independent
                         of behaviour (the held-out case of issue 15).
noise_numerics           5 personas; 5 numeric columns of pure noise (uniform, normal, log-normal,
                         counts) next to the 6 behavioural ones.
redundant_features       German, 6 personas; each behaviour measured two or three times (gross and net
                         balance, dunning level from days past due, payments per quarter and per year).
heavy_tails              5 personas; Pareto-tailed balances, over-dispersed counts, 0.5 % of accounts
                         with values 20-100x their persona's (data errors, corporate accounts).
missing_at_random        6 personas; contact rate missing for 20 % of accounts completely at random,
                         months on book missing for 30 % depending on the balance (MAR).
missing_by_persona       German, 6 personas; the unreachable persona has no contact rate (90 % missing,
                         3 % elsewhere): here "value unknown" is behaviour.
unequal_sizes            8 personas of 45 %, 20 %, 12 %, 10 %, 6 %, 4 %, 2 % and 1 % of accounts.
many_personas            German, 12 personas of 4-14 % each.
few_personas             3 personas, 5,000 accounts, with an irrelevant categorical.
kitchen_sink             German, 7 personas, everything at once: a sector tied to one persona, an
                         irrelevant region, two noise columns, a redundant column, heavy tails, MAR
                         and persona-driven missingness.
large_portfolio          The kitchen sink at 200,000 accounts (50,000 quick): the app fits on a
                         sample and assigns every other account; that must hold at scale.
=======================  ==========================================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

TRUTH = "true_persona"

#: Behavioural columns of the bank, English and German export names.
BEHAVIOUR = ("balance", "days_past_due", "payments_12m", "contact_rate", "broken_promises",
             "portal_logins_90d", "months_on_book", "partial_payment_share")
GERMAN = {"account_id": "Aktenzeichen", "balance": "Offener Betrag", "days_past_due": "Verzugstage",
          "payments_12m": "Zahlungen 12 Monate", "contact_rate": "Kontaktquote",
          "broken_promises": "Gebrochene Zusagen", "portal_logins_90d": "Portal-Logins 90 Tage",
          "months_on_book": "Monate seit Vertragsbeginn", "partial_payment_share": "Anteil Teilzahlungen"}

# name, balance median EUR, days past due median, payments per 12 months, contact response rate,
# broken promises, portal log-ins per 90 days, months on book median, partial payment share
ARCHETYPES = (
    ("forgetful payer",           250.0,  15.0,  9.0, 0.75, 0.1, 2.0, 50.0, 0.10),
    ("temporarily strained",      900.0,  60.0,  5.0, 0.50, 1.5, 2.5, 30.0, 0.45),
    ("over-indebted",            3000.0, 180.0,  2.0, 0.30, 3.0, 0.5, 36.0, 0.30),
    ("unreachable",               700.0, 150.0,  0.5, 0.03, 0.1, 0.05, 20.0, 0.05),
    ("disputing",                1200.0, 100.0,  1.0, 0.55, 0.2, 3.0, 18.0, 0.02),
    ("digital small balance",      40.0,  12.0,  8.0, 0.60, 0.1, 8.0, 10.0, 0.10),
    ("first payment default",     350.0,  45.0,  0.2, 0.08, 0.5, 0.2,  2.0, 0.02),
    ("high balance, paying",    15000.0,  40.0,  6.0, 0.70, 0.3, 1.0, 60.0, 0.25),
    ("chronic arrears",          2000.0, 400.0,  3.0, 0.20, 1.0, 0.3, 80.0, 0.50),
    ("promise breaker",           600.0,  70.0,  3.0, 0.60, 5.0, 1.5, 24.0, 0.40),
    ("long-standing, slipping",   500.0,   8.0, 11.0, 0.85, 0.0, 4.0, 90.0, 0.05),
    ("settlement seeker",        5000.0, 250.0,  1.0, 0.45, 0.5, 1.0, 40.0, 0.70),
)
BALANCE_SIGMA, DPD_SIGMA, MONTHS_SIGMA = 0.55, 0.45, 0.5
CONTACT_CONCENTRATION, PARTIAL_CONCENTRATION, LOGIN_DISPERSION = 25.0, 14.0, 3.0


@dataclass(frozen=True)
class World:
    """One portfolio shape: how to make it and what it tests.

    ``rows`` is the size the full suite uses, ``quick_rows`` the size of ``--quick`` and of the tests.
    """

    key: str
    title: str
    language: str
    personas: int
    rows: int
    quick_rows: int
    tests: str
    make: Callable[[int, int], pd.DataFrame]


# ---------------------------------------------------------------------------- building blocks
def _labels(rows: int, shares: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Persona per account with exactly the planted shares (largest remainder), shuffled."""
    shares = np.asarray(shares, dtype=float) / np.sum(shares)
    counts = np.floor(shares * rows).astype(int)
    counts[np.argsort(-(shares * rows - counts))[: rows - counts.sum()]] += 1
    labels = np.repeat(np.arange(len(shares)), counts)
    return rng.permutation(labels)


def _beta(mean: np.ndarray, concentration: float, rng: np.random.Generator) -> np.ndarray:
    mean = np.clip(mean, 0.01, 0.99)
    return rng.beta(mean * concentration, (1 - mean) * concentration)


def behaviour(archetypes: list[int], shares: list[float], rows: int, seed: int,
              columns: tuple[str, ...] = BEHAVIOUR) -> pd.DataFrame:
    """Accounts of the chosen archetypes: the behavioural columns plus ``true_persona`` (0..k-1)."""
    rng = np.random.default_rng(seed)
    truth = _labels(rows, np.asarray(shares), rng)
    p = np.array([ARCHETYPES[a][1:] for a in archetypes])[truth]
    # Two account-level factors blur the persona borders as in a real book: engagement moves
    # contact, log-ins and payments together; stress moves balance and days past due together.
    engagement, stress = rng.normal(0, 0.25, rows), rng.normal(0, 0.2, rows)
    values = {
        "balance": np.round(p[:, 0] * np.exp(rng.normal(0, BALANCE_SIGMA, rows) + stress), 2),
        "days_past_due": np.maximum(1, np.round(p[:, 1] * np.exp(rng.normal(0, DPD_SIGMA, rows) + stress))),
        "payments_12m": rng.poisson(p[:, 2] * np.exp(engagement)),
        "contact_rate": np.round(_beta(p[:, 3] * np.exp(engagement), CONTACT_CONCENTRATION, rng), 3),
        "broken_promises": rng.poisson(p[:, 4]),
        "portal_logins_90d": rng.negative_binomial(LOGIN_DISPERSION, LOGIN_DISPERSION /
                                                   (LOGIN_DISPERSION + p[:, 5] * np.exp(engagement))),
        "months_on_book": np.maximum(1, np.round(p[:, 6] * np.exp(rng.normal(0, MONTHS_SIGMA, rows)))),
        "partial_payment_share": np.round(_beta(p[:, 7], PARTIAL_CONCENTRATION, rng), 3),
    }
    frame = pd.DataFrame({"account_id": [f"K{seed % 1000:03d}-{i:07d}" for i in range(rows)]})
    for column in columns:
        frame[column] = values[column]
    frame[TRUTH] = truth
    return frame


def _independent_categorical(rows: int, levels: list[str], weights: list[float],
                             rng: np.random.Generator) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return rng.choice(np.array(levels, dtype=object), size=rows, p=weights / weights.sum())


def _to_german(frame: pd.DataFrame, extra: dict[str, str] | None = None) -> pd.DataFrame:
    return frame.rename(columns={**GERMAN, **(extra or {})})


def _mask(values: pd.Series, missing: np.ndarray) -> pd.Series:
    out = values.astype("float64").copy()
    out[missing] = np.nan
    return out


# ---------------------------------------------------------------------------- the worlds
def irrelevant_categoricals(rows: int, seed: int) -> pd.DataFrame:
    frame = behaviour([0, 1, 2, 3, 5, 7], [0.22, 0.2, 0.16, 0.14, 0.16, 0.12], rows, seed)
    rng = np.random.default_rng(seed + 1)
    frame["region"] = _independent_categorical(rows, ["North", "South", "East", "West", "Central"],
                                               [0.3, 0.25, 0.2, 0.15, 0.1], rng)
    frame["product"] = _independent_categorical(rows, ["card", "loan", "telecom", "utility"],
                                                [0.4, 0.3, 0.2, 0.1], rng)
    frame["payment_method"] = _independent_categorical(rows, ["direct debit", "transfer", "card"],
                                                       [0.5, 0.35, 0.15], rng)
    return frame


def sector_marks_persona(rows: int, seed: int) -> pd.DataFrame:
    frame = behaviour([0, 1, 2, 3, 4, 6], [0.24, 0.2, 0.14, 0.14, 0.14, 0.14], rows, seed)
    rng = np.random.default_rng(seed + 1)
    marked = frame[TRUTH].to_numpy() == 2  # the over-indebted persona: mostly energy customers
    energy = rng.random(rows) < np.where(marked, 0.9, 0.03)
    other = _independent_categorical(rows, ["Telekommunikation", "Versandhandel"], [0.55, 0.45], rng)
    frame["sector"] = np.where(energy, "Energie", other)
    return _to_german(frame, {"sector": "Branche"})


def noise_numerics(rows: int, seed: int) -> pd.DataFrame:
    frame = behaviour([0, 2, 3, 5, 9], [0.3, 0.2, 0.2, 0.15, 0.15], rows, seed,
                      columns=BEHAVIOUR[:6])
    rng = np.random.default_rng(seed + 1)
    frame["internal_score"] = np.round(rng.uniform(300, 850, rows))
    frame["household_size"] = rng.integers(1, 6, rows)
    frame["credit_limit"] = np.round(np.exp(rng.normal(8, 0.7, rows)), -1)
    frame["branch_distance_km"] = np.round(rng.gamma(2.0, 8.0, rows), 1)
    frame["model_drift_index"] = np.round(rng.normal(0, 1, rows), 3)
    return frame


def redundant_features(rows: int, seed: int) -> pd.DataFrame:
    frame = behaviour([0, 1, 2, 4, 6, 8], [0.22, 0.2, 0.16, 0.14, 0.14, 0.14], rows, seed,
                      columns=BEHAVIOUR[:5] + ("months_on_book",))
    rng = np.random.default_rng(seed + 1)
    balance, dpd = frame["balance"].to_numpy(), frame["days_past_due"].to_numpy()
    frame["net_balance"] = np.round(balance / 1.19 * np.exp(rng.normal(0, 0.03, rows)), 2)
    frame["principal"] = np.round(balance * rng.uniform(0.7, 0.95, rows), 2)
    frame["dunning_level"] = np.clip(np.searchsorted([14, 30, 60, 90], dpd, side="right"), 0, 4)
    frame["payments_last_quarter"] = rng.binomial(frame["payments_12m"].to_numpy(), 0.25)
    frame["weeks_past_due"] = np.round(dpd / 7.0, 1)
    return _to_german(frame, {"net_balance": "Nettobetrag", "principal": "Hauptforderung",
                              "dunning_level": "Mahnstufe", "payments_last_quarter": "Zahlungen Quartal",
                              "weeks_past_due": "Wochen im Verzug"})


def heavy_tails(rows: int, seed: int) -> pd.DataFrame:
    frame = behaviour([0, 1, 2, 3, 7], [0.3, 0.25, 0.2, 0.15, 0.1], rows, seed)
    rng = np.random.default_rng(seed + 1)
    pareto = 1.0 + rng.pareto(1.5, rows)  # tail index 1.5: infinite variance
    frame["balance"] = np.round(frame["balance"].to_numpy() * pareto ** 0.5, 2)
    frame["portal_logins_90d"] = rng.negative_binomial(0.6, 0.6 / (0.6 + frame["portal_logins_90d"] + 0.2))
    frame["broken_promises"] = frame["broken_promises"] * rng.choice([1, 1, 1, 2], rows)
    extreme = rng.random(rows) < 0.005
    for column in ("balance", "days_past_due", "payments_12m"):
        factor = rng.uniform(20, 100, rows)
        frame.loc[extreme, column] = np.round(frame.loc[extreme, column] * factor[extreme])
    return frame


def missing_at_random(rows: int, seed: int) -> pd.DataFrame:
    frame = behaviour([0, 1, 2, 3, 5, 9], [0.22, 0.2, 0.16, 0.14, 0.14, 0.14], rows, seed)
    rng = np.random.default_rng(seed + 1)
    frame["contact_rate"] = _mask(frame["contact_rate"], rng.random(rows) < 0.2)
    balance_rank = frame["balance"].rank(pct=True).to_numpy()
    frame["months_on_book"] = _mask(frame["months_on_book"], rng.random(rows) < 0.1 + 0.4 * balance_rank)
    return frame


def missing_by_persona(rows: int, seed: int) -> pd.DataFrame:
    frame = behaviour([0, 1, 2, 3, 4, 10], [0.22, 0.2, 0.16, 0.14, 0.14, 0.14], rows, seed)
    rng = np.random.default_rng(seed + 1)
    unreachable = frame[TRUTH].to_numpy() == 3
    frame["contact_rate"] = _mask(frame["contact_rate"], rng.random(rows) < np.where(unreachable, 0.9, 0.03))
    frame["monthly_income"] = _mask(pd.Series(np.round(np.exp(rng.normal(7.6, 0.4, rows)), -1)),
                                    rng.random(rows) < 0.3)
    return _to_german(frame, {"monthly_income": "Monatseinkommen"})


def unequal_sizes(rows: int, seed: int) -> pd.DataFrame:
    return behaviour([0, 1, 2, 3, 5, 7, 6, 8], [0.45, 0.2, 0.12, 0.1, 0.06, 0.04, 0.02, 0.01], rows, seed)


def many_personas(rows: int, seed: int) -> pd.DataFrame:
    shares = [0.14, 0.12, 0.11, 0.1, 0.09, 0.08, 0.08, 0.07, 0.06, 0.06, 0.05, 0.04]
    return _to_german(behaviour(list(range(12)), shares, rows, seed))


def few_personas(rows: int, seed: int) -> pd.DataFrame:
    frame = behaviour([0, 2, 3], [0.5, 0.3, 0.2], rows, seed, columns=BEHAVIOUR[:5])
    rng = np.random.default_rng(seed + 1)
    frame["channel"] = _independent_categorical(rows, ["letter", "email", "sms"], [0.5, 0.3, 0.2], rng)
    return frame


def kitchen_sink(rows: int, seed: int) -> pd.DataFrame:
    frame = behaviour([0, 1, 2, 3, 4, 5, 8], [0.2, 0.18, 0.14, 0.14, 0.12, 0.12, 0.1], rows, seed)
    rng = np.random.default_rng(seed + 1)
    truth = frame[TRUTH].to_numpy()
    energy = rng.random(rows) < np.where(truth == 6, 0.85, 0.04)
    frame["sector"] = np.where(energy, "Energie", _independent_categorical(
        rows, ["Telekommunikation", "Versandhandel", "Versicherung"], [0.4, 0.35, 0.25], rng))
    frame["region"] = _independent_categorical(rows, ["Nord", "Sued", "Ost", "West"], [0.3, 0.3, 0.2, 0.2], rng)
    frame["internal_score"] = np.round(rng.uniform(300, 850, rows))
    frame["household_size"] = rng.integers(1, 6, rows)
    frame["net_balance"] = np.round(frame["balance"] / 1.19, 2)
    frame["balance"] = np.round(frame["balance"] * (1.0 + rng.pareto(2.0, rows)) ** 0.4, 2)
    frame["contact_rate"] = _mask(frame["contact_rate"], rng.random(rows) < np.where(truth == 3, 0.85, 0.05))
    balance_rank = frame["balance"].rank(pct=True).to_numpy()
    frame["months_on_book"] = _mask(frame["months_on_book"], rng.random(rows) < 0.05 + 0.3 * balance_rank)
    return _to_german(frame, {"sector": "Branche", "region": "Bundesland", "internal_score": "Interner Score",
                              "household_size": "Haushaltsgroesse", "net_balance": "Nettobetrag"})


WORLDS: tuple[World, ...] = (
    World("irrelevant_categoricals", "Three categoricals independent of behaviour", "en", 6, 10_000, 5_000,
          "region, product and payment method must not split personas", irrelevant_categoricals),
    World("sector_marks_persona", "German ERP export: one sector level marks one persona", "de", 6, 10_000,
          5_000, "the marking level may help its persona; the other levels must not split the rest",
          sector_marks_persona),
    World("noise_numerics", "Five pure-noise numeric columns", "en", 5, 10_000, 5_000,
          "noise columns must not blur or split personas", noise_numerics),
    World("redundant_features", "German, each behaviour measured two or three times", "de", 6, 10_000, 5_000,
          "duplicated measurements must not outweigh the other behaviours", redundant_features),
    World("heavy_tails", "Pareto balances, over-dispersed counts, 0.5 % extreme accounts", "en", 5, 10_000,
          5_000, "tails and outliers must not make their own personas", heavy_tails),
    World("missing_at_random", "Contact rate 20 % missing at random, months on book 30 % MAR", "en", 6,
          10_000, 5_000, "'value unknown' must not make a persona", missing_at_random),
    World("missing_by_persona", "German, the unreachable persona has no contact rate", "de", 6, 10_000, 5_000,
          "missingness that is behaviour may define its persona", missing_by_persona),
    World("unequal_sizes", "Eight personas from 45 % down to 1 %", "en", 8, 20_000, 10_000,
          "small personas (1 %, 2 %) must be found, the 45 % one not split", unequal_sizes),
    World("many_personas", "German, twelve personas", "de", 12, 20_000, 10_000,
          "twelve neighbouring personas must not be merged", many_personas),
    World("few_personas", "Three personas, 5,000 accounts", "en", 3, 5_000, 5_000,
          "three personas must not be cut into many", few_personas),
    World("kitchen_sink", "German, every difficulty at once", "de", 7, 15_000, 7_500,
          "all of the above together", kitchen_sink),
    World("large_portfolio", "German, every difficulty at once, 200,000 accounts", "de", 7, 200_000, 50_000,
          "the sampled fit and the assignment of every other account hold at scale", kitchen_sink),
)


def world(key: str) -> World:
    for item in WORLDS:
        if item.key == key:
            return item
    raise KeyError(f"no world {key!r}; worlds are: {', '.join(w.key for w in WORLDS)}")
