"""Synthetic German/EU collections portfolio with planted behavioural personas.

The generator is fully vectorised (numpy) and seeded: the same ``rows``, ``seed``, ``language`` and
``plant_disparity`` always give an identical frame. Every value is invented: names, e-mail addresses
(reserved ``example.*`` domains), phone numbers and IBANs (valid checksum, random bank codes) belong to
nobody.

Design
------
* Seven personas with unequal shares (``PERSONAS``) draw the behavioural columns from overlapping
  distributions; two account-level latent factors (engagement, financial stress) blur the borders as
  in real books.
* ``region`` (and the address) is drawn from its own random stream with fixed population weights, so it
  is independent of the persona: a categorical column without behavioural meaning.
* The outcome ``paid_90d`` is a Bernoulli draw from a logistic function of the observable behaviour plus
  noise, never of the persona label, age or gender. ``plant_disparity=True`` adds a direct effect of
  gender (group ``"m"``) on behaviour and on the outcome, for fairness-audit tests.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from core.errors import Message, UserError
from core.i18n import N_

_STR = np.dtypes.StringDType()
_ARROW_TO_STR = {pa.string(): pd.StringDtype("pyarrow", na_value=np.nan),
                 pa.large_string(): pd.StringDtype("pyarrow", na_value=np.nan)}

PERSONAS = (
    "forgetful_payer",
    "temporarily_strained",
    "over_indebted",
    "unreachable",
    "disputing",
    "digital_small_balance",
    "first_payment_default",
)
PERSONA_SHARES = np.array([0.25, 0.18, 0.12, 0.12, 0.10, 0.15, 0.08])
CHANNELS = ("sms", "email", "letter", "phone", "push")

# One row per persona, in PERSONAS order.  Medians and sigmas of log-normal draws.
_BALANCE_MEDIAN = np.array([260.0, 850.0, 2400.0, 650.0, 1100.0, 35.0, 320.0])
_BALANCE_SIGMA = np.array([0.6, 0.65, 0.7, 0.8, 0.7, 0.45, 0.6])
_DPD_MEDIAN = np.array([18.0, 55.0, 170.0, 140.0, 95.0, 10.0, 40.0])
_DPD_SIGMA = np.array([0.5, 0.5, 0.55, 0.6, 0.5, 0.5, 0.4])
_LEGACY_DEBT = np.array([0.005, 0.01, 0.06, 0.08, 0.03, 0.0, 0.0])
_MONTHS_MEDIAN = np.array([48.0, 30.0, 36.0, 24.0, 20.0, 10.0, 2.0])
_MONTHS_SIGMA = np.array([0.7, 0.7, 0.7, 0.8, 0.8, 0.7, 0.35])
_PAY_PER_MONTH = np.array([0.92, 0.75, 0.5, 0.45, 0.65, 0.88, 0.0])
_PARTIAL_BETA = np.array([[1.5, 12.0], [6.0, 8.0], [4.0, 8.0], [0.4, 8.0], [0.5, 6.0], [1.0, 6.0], [0.3, 20.0]])
_BROKEN_PROMISES = np.array([0.15, 1.4, 2.6, 0.1, 0.4, 0.15, 0.7])
_PORTAL_LOGINS = np.array([1.2, 2.5, 0.8, 0.05, 2.0, 7.0, 0.3])
_BEST_HOUR = np.array([[19.0, 2.5], [18.0, 2.5], [11.0, 2.5], [14.0, 5.0], [10.0, 2.5], [21.0, 1.8], [15.0, 4.0]])
_APP_USER = np.array([0.35, 0.30, 0.10, 0.05, 0.20, 0.85, 0.20])
_DISPUTE = np.array([0.02, 0.03, 0.05, 0.01, 0.75, 0.03, 0.10])
_OVER_INDEBTED = np.array([0.02, 0.10, 0.50, 0.08, 0.03, 0.02, 0.12])
_EMAIL_OPT_OUT = np.array([0.04, 0.05, 0.08, 0.10, 0.20, 0.02, 0.06])
_SMS_OPT_OUT = np.array([0.03, 0.04, 0.06, 0.08, 0.15, 0.02, 0.05])
_AGE_MEAN = np.array([46.0, 43.0, 47.0, 42.0, 49.0, 38.0, 36.0])
# Response probability per contact attempt; columns in CHANNELS order.
_RESPONSE = np.array([
    [0.45, 0.40, 0.20, 0.45, 0.30],
    [0.25, 0.20, 0.20, 0.35, 0.15],
    [0.15, 0.10, 0.30, 0.25, 0.05],
    [0.02, 0.02, 0.03, 0.02, 0.01],
    [0.10, 0.25, 0.35, 0.15, 0.05],
    [0.35, 0.50, 0.05, 0.10, 0.60],
    [0.08, 0.06, 0.08, 0.10, 0.05],
])
_ATTEMPTS_PER_30_DAYS = np.array([1.5, 2.0, 0.8, 1.2, 1.0])
# Past treatment already differs by segment (the book's existing rules): multiplier per channel.
_ATTEMPT_FOCUS = np.array([
    [1.0, 1.0, 0.6, 0.5, 1.0],
    [1.0, 1.0, 1.0, 1.2, 0.8],
    [0.8, 0.6, 1.5, 1.2, 0.5],
    [1.5, 1.2, 1.5, 2.0, 0.5],
    [0.5, 1.0, 1.8, 0.6, 0.5],
    [0.8, 1.5, 0.3, 0.2, 2.0],
    [1.2, 1.0, 1.0, 1.5, 1.0],
])

PAYMENT_METHODS = ("SEPA direct debit", "bank transfer", "PayPal", "card", "none")
_PAYMENT_P = np.array([
    [0.45, 0.35, 0.10, 0.07, 0.03],
    [0.40, 0.35, 0.10, 0.08, 0.07],
    [0.30, 0.40, 0.03, 0.05, 0.22],
    [0.25, 0.30, 0.05, 0.05, 0.35],
    [0.35, 0.45, 0.08, 0.07, 0.05],
    [0.12, 0.08, 0.45, 0.32, 0.03],
    [0.50, 0.15, 0.15, 0.10, 0.10],
])
SECTORS = ("telecom", "energy", "e-commerce", "banking", "insurance", "fitness")
_SECTOR_P = np.array([
    [0.25, 0.25, 0.15, 0.10, 0.20, 0.05],
    [0.20, 0.20, 0.15, 0.30, 0.10, 0.05],
    [0.15, 0.20, 0.10, 0.45, 0.05, 0.05],
    [0.30, 0.15, 0.25, 0.15, 0.05, 0.10],
    [0.40, 0.15, 0.10, 0.05, 0.20, 0.10],
    [0.15, 0.05, 0.65, 0.05, 0.05, 0.05],
    [0.35, 0.05, 0.35, 0.15, 0.02, 0.08],
])
_PRODUCTS = {
    "telecom": ("mobile contract", "broadband", "prepaid top-up"),
    "energy": ("electricity", "gas", "district heating"),
    "e-commerce": ("invoice purchase", "buy now pay later", "marketplace order"),
    "banking": ("instalment loan", "overdraft", "credit card"),
    "insurance": ("car insurance", "household insurance", "liability insurance"),
    "fitness": ("gym membership", "streaming subscription", "club fee"),
}

# Bundesland: population (millions) and (city, lowest postcode, highest postcode).
_REGIONS = {
    "Baden-Württemberg": (11.2, [("Stuttgart", 70173, 70629), ("Karlsruhe", 76131, 76229), ("Mannheim", 68159, 68309)]),
    "Bayern": (13.4, [("München", 80331, 81929), ("Nürnberg", 90402, 90491), ("Augsburg", 86150, 86199)]),
    "Berlin": (3.8, [("Berlin", 10115, 14199)]),
    "Brandenburg": (2.6, [("Potsdam", 14467, 14482), ("Cottbus", 3042, 3055)]),
    "Bremen": (0.7, [("Bremen", 28195, 28779), ("Bremerhaven", 27568, 27580)]),
    "Hamburg": (1.9, [("Hamburg", 20095, 22769)]),
    "Hessen": (6.4, [("Frankfurt am Main", 60306, 60599), ("Wiesbaden", 65183, 65207), ("Kassel", 34117, 34134)]),
    "Mecklenburg-Vorpommern": (1.6, [("Rostock", 18055, 18147), ("Schwerin", 19053, 19063)]),
    "Niedersachsen": (8.1, [("Hannover", 30159, 30669), ("Braunschweig", 38100, 38126), ("Osnabrück", 49074, 49090)]),
    "Nordrhein-Westfalen": (18.1, [("Köln", 50667, 51149), ("Düsseldorf", 40210, 40629), ("Dortmund", 44135, 44388), ("Essen", 45127, 45359)]),
    "Rheinland-Pfalz": (4.2, [("Mainz", 55116, 55131), ("Ludwigshafen am Rhein", 67059, 67071)]),
    "Saarland": (1.0, [("Saarbrücken", 66111, 66133)]),
    "Sachsen": (4.1, [("Dresden", 1067, 1328), ("Leipzig", 4103, 4357)]),
    "Sachsen-Anhalt": (2.2, [("Magdeburg", 39104, 39130), ("Halle (Saale)", 6108, 6132)]),
    "Schleswig-Holstein": (3.0, [("Kiel", 24103, 24159), ("Lübeck", 23552, 23570)]),
    "Thüringen": (2.1, [("Erfurt", 99084, 99099), ("Jena", 7743, 7751)]),
}
_FIRST_F = ("Anna", "Maria", "Sabine", "Petra", "Julia", "Laura", "Sarah", "Katharina", "Monika", "Ursula",
            "Claudia", "Stefanie", "Nicole", "Lena", "Sophie", "Emma", "Mia", "Hannah", "Jessica", "Sandra",
            "Andrea", "Birgit", "Elif", "Ayse", "Fatma", "Zeynep", "Agnieszka", "Katarzyna", "Olga", "Jana",
            "Lea", "Chloé")
_FIRST_M = ("Thomas", "Michael", "Andreas", "Stefan", "Peter", "Klaus", "Jürgen", "Frank", "Markus", "Christian",
            "Daniel", "Tobias", "Jan", "Lukas", "Felix", "Jonas", "Leon", "Paul", "Maximilian", "Sebastian",
            "Alexander", "Mehmet", "Ali", "Mustafa", "Emre", "Piotr", "Tomasz", "Dmitri", "Sergej", "Luca",
            "Marco", "René")
_LAST = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
         "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
         "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier",
         "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber",
         "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Yilmaz", "Kaya",
         "Demir", "Sahin", "Öztürk", "Nowak", "Kowalski", "Wisniewski", "Popescu", "Rossi", "Ivanov")
_STREETS = ("Hauptstraße", "Bahnhofstraße", "Gartenstraße", "Schulstraße", "Dorfstraße", "Bergstraße",
            "Lindenstraße", "Kirchstraße", "Waldstraße", "Ringstraße", "Am Markt", "Goethestraße",
            "Schillerstraße", "Mozartstraße", "Birkenweg", "Rosenweg", "Friedrichstraße", "Am Sportplatz")
_MOBILE_PREFIXES = ("151", "152", "157", "159", "160", "162", "163", "170", "171", "172", "175", "176", "177", "178", "179")
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.de")
_GENDERS = ("f", "m", "d")

# Canonical (English) column name -> German ERP export name.
GERMAN_COLUMNS = {
    "account_id": "Aktenzeichen",
    "balance": "Offener Betrag",
    "original_amount": "Ursprungsbetrag",
    "days_past_due": "Verzugstage",
    "sector": "Branche",
    "product": "Produkt",
    "months_on_book": "Vertragsdauer Monate",
    "prior_payments": "Anzahl bisheriger Zahlungen",
    "partial_payment_ratio": "Teilzahlungsquote",
    "broken_promises": "Gebrochene Zahlungszusagen",
    **{f"{c}_attempts": f"Kontaktversuche {d}" for c, d in zip(CHANNELS, ("SMS", "E-Mail", "Brief", "Telefon", "App-Push"))},
    **{f"{c}_responses": f"Reaktionen {d}" for c, d in zip(CHANNELS, ("SMS", "E-Mail", "Brief", "Telefon", "App-Push"))},
    "best_response_hour": "Beste Antwortstunde",
    "portal_logins": "Portal-Logins",
    "payment_method": "Zahlungsart",
    "region": "Bundesland",
    "email_opt_out": "Widerspruch E-Mail",
    "sms_opt_out": "Widerspruch SMS",
    "dispute_flag": "Forderung bestritten",
    "over_indebted_flag": "Überschuldung",
    "time_barred": "Verjährt",
    "first_name": "Vorname",
    "last_name": "Nachname",
    "email": "E-Mail",
    "phone": "Telefon",
    "iban": "IBAN",
    "street": "Straße",
    "postcode": "PLZ",
    "city": "Ort",
    "age": "Alter",
    "gender": "Geschlecht",
    "paid_90d": "bezahlt_90_tage",
    "amount_recovered_90d": "eingezogen_90_tage",
    "true_persona": "true_persona",
}
_PAY_INTERCEPT = 0.2
SUPPORTED_SUFFIXES = (".csv", ".parquet", ".xlsx")
_EXCEL_MAX_ROWS = 1_048_575


def generate_portfolio(rows: int, seed: int = 42, *, language: str = "en",
                       plant_disparity: bool = False, shares: np.ndarray | None = None) -> pd.DataFrame:
    """Generate a synthetic collections portfolio, one row per delinquent account.

    Parameters
    ----------
    rows : int
        Number of accounts (> 0).
    seed : int
        Seed of the random streams; the same arguments always give an identical frame.
    language : {"en", "de"}
        "en": canonical English column names; "de": the same data under German ERP column names
        (``GERMAN_COLUMNS``).
    plant_disparity : bool
        When True, gender group ``"m"`` gets worse behaviour (more days past due, more broken promises)
        and a direct negative effect on the pay probability, so a fairness audit must flag it. When False,
        age and gender are independent of the outcome given the behaviour (gender fully independent).
    shares : array of 7 floats, optional
        Share of each persona (``PERSONAS`` order; default ``PERSONA_SHARES``). Draws the same random
        numbers whatever the shares, so the default gives the same frame as before the option existed.

    Returns
    -------
    pandas.DataFrame
        Amounts in EUR, ``days_past_due`` in days, ``paid_90d`` = 1 when paid in full within 90 days,
        ``amount_recovered_90d`` in EUR (0..balance), ``true_persona`` the planted label (evaluation only).
    """
    if int(rows) != rows or rows <= 0:
        raise ValueError(f"rows must be a positive whole number, got {rows!r}")
    if language not in ("en", "de"):
        raise ValueError(f"language must be 'en' or 'de', got {language!r}")
    n = int(rows)
    streams = np.random.SeedSequence(seed).spawn(4)
    rng_behaviour, rng_region, rng_pii, rng_outcome = (np.random.default_rng(s) for s in streams)

    p = PERSONA_SHARES if shares is None else np.asarray(shares, dtype=float) / np.sum(shares)
    persona = rng_behaviour.choice(len(PERSONAS), size=n, p=p)
    cols = _behaviour(rng_behaviour, persona)
    gender_code = rng_pii.choice(3, size=n, p=[0.49, 0.50, 0.01])
    if plant_disparity:
        _plant_gender_effect(rng_behaviour, cols, gender_code == 1)
    cols["time_barred"] = (cols["days_past_due"] > cols["limitation_days"]).astype(np.int64)
    cols.update(_outcomes(rng_outcome, cols, gender_code == 1 if plant_disparity else None))
    cols.update(_region_and_address(rng_region, n))
    cols.update(_people(rng_pii, n, persona, gender_code))

    frame = _assemble(n, cols, persona)
    if language == "de":
        frame = frame.rename(columns=GERMAN_COLUMNS)
    return frame


def _behaviour(rng: np.random.Generator, persona: np.ndarray) -> dict[str, np.ndarray]:
    n = persona.size
    engagement = rng.normal(0.0, 0.35, n)   # latent: how reachable and self-serving the debtor is
    stress = rng.normal(0.0, 0.3, n)        # latent: financial pressure beyond the persona's typical

    balance = np.exp(np.log(_BALANCE_MEDIAN[persona]) + _BALANCE_SIGMA[persona] * rng.standard_normal(n))
    balance = np.round(np.clip(balance, 5.0, 250_000.0), 2)
    dpd = np.exp(np.log(_DPD_MEDIAN[persona]) + _DPD_SIGMA[persona] * rng.standard_normal(n) + 0.5 * stress)
    legacy = rng.random(n) < _LEGACY_DEBT[persona]  # old bought-in debts, some of them time-barred
    dpd = np.where(legacy, rng.uniform(700.0, 2600.0, n), dpd)
    dpd = np.clip(np.rint(dpd), 1, 3650).astype(np.int64)
    months = np.exp(np.log(_MONTHS_MEDIAN[persona]) + _MONTHS_SIGMA[persona] * rng.standard_normal(n))
    months = np.clip(np.rint(months), 1, 180).astype(np.int64)
    prior_payments = rng.binomial(months, _PAY_PER_MONTH[persona])
    ab = _PARTIAL_BETA[persona]
    partial = rng.beta(ab[:, 0], ab[:, 1])
    partial = np.where(prior_payments == 0, partial * 0.2, partial)  # no payment history, little paid
    partial = np.round(np.clip(partial, 0.0, 0.95), 3)
    original = np.round(np.maximum(balance / (1.0 - partial), balance), 2)
    broken = rng.poisson(_BROKEN_PROMISES[persona] * np.exp(stress))

    app_user = rng.random(n) < _APP_USER[persona] * np.exp(0.5 * engagement)
    email_opt_out = rng.random(n) < _EMAIL_OPT_OUT[persona]
    sms_opt_out = rng.random(n) < _SMS_OPT_OUT[persona]
    reachable = {"sms": ~sms_opt_out, "email": ~email_opt_out, "letter": np.ones(n, bool),
                 "phone": np.ones(n, bool), "push": app_user}
    months_in_collection = np.minimum(dpd, 180) / 30.0
    cols: dict[str, np.ndarray] = {}
    total_attempts = np.zeros(n, np.int64)
    total_responses = np.zeros(n, np.int64)
    for k, channel in enumerate(CHANNELS):
        rate = _ATTEMPTS_PER_30_DAYS[k] * _ATTEMPT_FOCUS[persona, k] * (0.5 + months_in_collection) * np.exp(0.2 * rng.standard_normal(n))
        attempts = np.where(reachable[channel], rng.poisson(rate), 0)
        if channel == "letter":  # a written reminder (Mahnung) precedes every collection case
            attempts = attempts + 1
        p = _sigmoid(_logit(_RESPONSE[persona, k]) + engagement)
        responses = rng.binomial(attempts, p)
        cols[f"{channel}_attempts"], cols[f"{channel}_responses"] = attempts, responses
        total_attempts += attempts
        total_responses += responses

    hour = rng.normal(_BEST_HOUR[persona, 0], _BEST_HOUR[persona, 1])
    hour = np.clip(np.rint(hour), 0, 23).astype(np.int64)
    logins = rng.poisson(_PORTAL_LOGINS[persona] * np.exp(engagement) * np.where(app_user, 1.5, 1.0))
    cols.update(
        balance=balance, original_amount=original, days_past_due=dpd, months_on_book=months,
        prior_payments=prior_payments, partial_payment_ratio=partial, broken_promises=broken,
        best_response_hour=hour, has_response=total_responses > 0, portal_logins=logins,
        response_rate=total_responses / np.maximum(total_attempts, 1),
        email_opt_out=email_opt_out.astype(np.int64), sms_opt_out=sms_opt_out.astype(np.int64),
        dispute_flag=(rng.random(n) < _DISPUTE[persona]).astype(np.int64),
        over_indebted_flag=(rng.random(n) < _OVER_INDEBTED[persona]).astype(np.int64),
        # limitation: 3 years from the end of the year the claim fell due (§§ 195, 199 BGB)
        limitation_days=1095 + rng.integers(0, 365, n),
        payment_code=_choose_rows(rng, _PAYMENT_P[persona]),
        sector_code=_choose_rows(rng, _SECTOR_P[persona]),
        product_code=rng.integers(0, 3, n),
    )
    return cols


def _plant_gender_effect(rng: np.random.Generator, cols: dict, group: np.ndarray) -> None:
    """Worse observable behaviour for one gender group (feeds the risk score) - fairness tests only."""
    dpd = cols["days_past_due"]
    cols["days_past_due"] = np.where(group, np.clip(np.rint(dpd * 2.2), 1, 3650).astype(np.int64), dpd)
    cols["broken_promises"] = cols["broken_promises"] + np.where(group, rng.poisson(1.5, dpd.size), 0)


def _outcomes(rng: np.random.Generator, cols: dict, disparity_group: np.ndarray | None) -> dict:
    """paid_90d from a logistic function of observable behaviour plus noise; recovery in 0..balance."""
    n = cols["balance"].size
    z = (_PAY_INTERCEPT
         - 1.1 * np.log1p(cols["days_past_due"] / 30.0)
         - 0.35 * np.log(cols["balance"] / 300.0)
         + 1.6 * cols["partial_payment_ratio"]
         - 0.5 * cols["broken_promises"]
         + 0.3 * np.log1p(cols["prior_payments"])
         + 2.5 * cols["response_rate"]
         + 0.25 * np.log1p(cols["portal_logins"])
         - 1.2 * cols["dispute_flag"]
         - 0.8 * cols["over_indebted_flag"]
         - 1.5 * cols["time_barred"]
         - 0.8 * (cols["payment_code"] == PAYMENT_METHODS.index("none"))
         - 1.0 * ~cols["has_response"]
         + rng.normal(0.0, 0.6, n))
    if disparity_group is not None:
        z = z - 1.0 * disparity_group
    paid = rng.random(n) < _sigmoid(z)
    partly = ~paid & (rng.random(n) < _sigmoid(z + 0.5))
    share = np.where(paid, 1.0, np.where(partly, 0.95 * rng.beta(1.5, 3.0, n), 0.0))
    recovered = np.minimum(np.round(cols["balance"] * share, 2), cols["balance"])
    return {"paid_90d": paid.astype(np.int64), "amount_recovered_90d": recovered}


def _region_and_address(rng: np.random.Generator, n: int) -> dict:
    names = list(_REGIONS)
    weights = np.array([_REGIONS[r][0] for r in names])
    region = rng.choice(len(names), size=n, p=weights / weights.sum())
    cities = [(r, c, lo, hi) for r, name in enumerate(names) for c, lo, hi in _REGIONS[name][1]]
    city_region = np.array([c[0] for c in cities])
    city_pick = np.empty(n, np.int64)
    u = rng.random(n)
    for r in range(len(names)):  # uniform among the region's cities
        ids = np.flatnonzero(city_region == r)
        mask = region == r
        city_pick[mask] = ids[(u[mask] * ids.size).astype(np.int64)]
    lo = np.array([c[2] for c in cities])[city_pick]
    hi = np.array([c[3] for c in cities])[city_pick]
    postcode = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    house = rng.integers(1, 150, n).astype(_STR)
    street = np.strings.add(np.strings.add(_pick(rng, _STREETS, n), " "), house)
    return {
        "region": np.array(names, dtype=_STR)[region],
        "city": np.array([c[1] for c in cities], dtype=_STR)[city_pick],
        "postcode": np.strings.zfill(postcode.astype(_STR), 5),
        "street": street,
    }


def _people(rng: np.random.Generator, n: int, persona: np.ndarray, gender_code: np.ndarray) -> dict:
    first_pool = np.array(_FIRST_F + _FIRST_M, dtype=_STR)
    nf, nm = len(_FIRST_F), len(_FIRST_M)
    first_idx = np.where(gender_code == 0, rng.integers(0, nf, n),
                         np.where(gender_code == 1, nf + rng.integers(0, nm, n), rng.integers(0, nf + nm, n)))
    last_idx = rng.integers(0, len(_LAST), n)
    first = first_pool[first_idx]
    last = np.array(_LAST, dtype=_STR)[last_idx]
    ascii_first = np.array([_ascii(x) for x in _FIRST_F + _FIRST_M], dtype=_STR)[first_idx]
    ascii_last = np.array([_ascii(x) for x in _LAST], dtype=_STR)[last_idx]
    suffix = rng.integers(1, 100, n).astype(_STR)
    suffix = np.where(rng.random(n) < 0.6, suffix, "")
    local = np.strings.add(np.strings.add(np.strings.add(ascii_first, "."), ascii_last), suffix)
    email = np.strings.add(np.strings.add(local, "@"), _pick(rng, _EMAIL_DOMAINS, n))

    subscriber = rng.integers(1_000_000, 99_999_999, n).astype(_STR)
    phone = np.strings.add(np.strings.add(np.strings.add("+49 ", _pick(rng, _MOBILE_PREFIXES, n)), " "), subscriber)

    age = np.clip(np.rint(rng.normal(_AGE_MEAN[persona], 14.0)), 18, 90).astype(np.int64)
    return {
        "first_name": first, "last_name": last, "email": email, "phone": phone,
        "iban": german_ibans(rng, n), "age": age,
        "gender": np.array(_GENDERS, dtype=_STR)[gender_code],
    }


def german_ibans(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` German IBANs (DEkk + 8-digit bank code + 10-digit account) with a valid ISO 13616 checksum."""
    bank = rng.integers(10_000_000, 89_999_999, n, dtype=np.int64)
    account = rng.integers(0, 10**10, n, dtype=np.int64)
    # mod 97 of the number "<bank><account>131400" ("DE" -> 13 14, check digits 00), in int64 pieces
    remainder = (bank % 97 * pow(10, 16, 97) + account % 97 * pow(10, 6, 97) + 131400 % 97) % 97
    check = 98 - remainder
    as_text = lambda values, width: np.strings.zfill(values.astype(_STR), width)  # noqa: E731
    return np.strings.add(np.strings.add(np.strings.add("DE", as_text(check, 2)), as_text(bank, 8)),
                          as_text(account, 10))


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check of one IBAN (spaces allowed)."""
    text = iban.replace(" ", "").upper()
    if len(text) < 5 or not text.isalnum():
        return False
    digits = "".join(str(int(ch, 36)) for ch in text[4:] + text[:4])
    return int(digits) % 97 == 1


def _assemble(n: int, cols: dict, persona: np.ndarray) -> pd.DataFrame:
    ids = np.strings.zfill(np.arange(1, n + 1).astype(_STR), 7)
    sector = np.array(SECTORS, dtype=_STR)[cols["sector_code"]]
    product_table = np.array([_PRODUCTS[s] for s in SECTORS], dtype=_STR)
    hour = pd.array(cols["best_response_hour"], dtype="Int64")
    hour[~cols["has_response"]] = pd.NA  # never answered: no best hour known
    data = {
        "account_id": _text(np.strings.add("AKT-", ids)),
        "balance": cols["balance"],
        "original_amount": cols["original_amount"],
        "days_past_due": cols["days_past_due"],
        "sector": _text(sector),
        "product": _text(product_table[cols["sector_code"], cols["product_code"]]),
        "months_on_book": cols["months_on_book"],
        "prior_payments": cols["prior_payments"],
        "partial_payment_ratio": cols["partial_payment_ratio"],
        "broken_promises": cols["broken_promises"],
        **{f"{c}_{kind}": cols[f"{c}_{kind}"] for c in CHANNELS for kind in ("attempts", "responses")},
        "best_response_hour": hour,
        "portal_logins": cols["portal_logins"],
        "payment_method": _text(np.array(PAYMENT_METHODS, dtype=_STR)[cols["payment_code"]]),
        "region": _text(cols["region"]),
        "email_opt_out": cols["email_opt_out"],
        "sms_opt_out": cols["sms_opt_out"],
        "dispute_flag": cols["dispute_flag"],
        "over_indebted_flag": cols["over_indebted_flag"],
        "time_barred": cols["time_barred"],
        **{k: _text(cols[k]) for k in ("first_name", "last_name", "email", "phone", "iban", "street",
                                      "postcode", "city")},
        "age": cols["age"],
        "gender": _text(cols["gender"]),
        "paid_90d": cols["paid_90d"],
        "amount_recovered_90d": cols["amount_recovered_90d"],
        "true_persona": _text(np.array(PERSONAS, dtype=_STR)[persona]),
    }
    return pd.DataFrame(data)


def write_portfolio(frame: pd.DataFrame, path: str | os.PathLike, *, german_format: bool | None = None) -> Path:
    """Write ``frame`` to ``.csv``, ``.parquet`` or ``.xlsx`` atomically (temp file + rename).

    ``german_format`` (CSV only): ``;`` separator, decimal comma, cp1252 encoding. ``None`` means: German
    when the frame has German column names (``language="de"``). Raises ``UserError`` for an unsupported
    suffix, too many rows for Excel, or a folder that cannot be written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UserError(Message(N_("{file}: unsupported file type {suffix}; use one of {suffixes}"), file=path.name,
                                suffix=repr(suffix or "(none)"), suffixes=", ".join(SUPPORTED_SUFFIXES)))
    if suffix == ".xlsx" and len(frame) > _EXCEL_MAX_ROWS:
        raise UserError(Message(N_("{file}: {rows} rows do not fit in one Excel sheet (max {limit}); write .csv or "
                                   ".parquet instead"), file=path.name, rows=len(frame), limit=_EXCEL_MAX_ROWS))
    if german_format is None:
        german_format = GERMAN_COLUMNS["account_id"] in frame.columns
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(Message(N_("{file}: folder {folder} does not exist; create it or choose another --out"),
                                file=str(path), folder=str(folder)))
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=folder)
    except OSError as err:
        raise UserError(Message(N_("{file}: cannot write in folder {folder} ({reason}); choose another --out"),
                                file=str(path), folder=str(folder), reason=str(err.strerror))) from err
    os.close(handle)
    try:
        os.chmod(temp_name, 0o666 & ~_current_umask())  # mkstemp makes 0600; give the usual file mode
        if suffix == ".csv":
            if german_format:
                frame.to_csv(temp_name, sep=";", decimal=",", encoding="cp1252", index=False)
            else:
                frame.to_csv(temp_name, index=False, encoding="utf-8")
        elif suffix == ".parquet":
            frame.to_parquet(temp_name, index=False)
        else:
            frame.to_excel(temp_name, index=False, engine="openpyxl")
        os.replace(temp_name, path)
    except OSError as err:
        raise UserError(Message(N_("{file}: cannot write the file ({reason}); choose another --out"),
                                file=str(path), reason=str(err.strerror))) from err
    finally:
        if os.path.exists(temp_name):
            os.remove(temp_name)
    return path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _text(values: np.ndarray) -> pd.Series:
    """numpy StringDType -> pandas ``str`` column through Arrow (5x faster than via Python objects)."""
    return pa.array(values).to_pandas(types_mapper=_ARROW_TO_STR.get)


def _choose_rows(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One category per row, row i drawn with ``probabilities[i]`` (vectorised inverse CDF)."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(probabilities.shape[0]) * cumulative[:, -1]
    return (u[:, None] >= cumulative).sum(axis=1).clip(0, probabilities.shape[1] - 1)


def _pick(rng: np.random.Generator, values: tuple[str, ...], n: int) -> np.ndarray:
    return np.array(values, dtype=_STR)[rng.integers(0, len(values), n)]


def _ascii(name: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss",
                           "é": "e", "è": "e"})
    return name.translate(table).lower()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1.0 - p))
