"""The monthly cycle in synthetic data: next month's portfolio for the same accounts, and payments.

``next_month(base, seed, month=2)`` takes a portfolio written by :func:`sample_data.generator.generate_portfolio`
(English or German column names; it needs the ``true_persona`` column the generator writes) and returns
the portfolio one month later:

* accounts leave: an account that paid (``paid_90d`` = 1) is gone with probability ``PAID_LEAVE``
  (0.6), any other with ``OTHER_LEAVE`` (0.05: recalled, settled, written off);
* the rest roll on: 30 days more past due (± 2), one more month on book, a few more contact attempts
  and responses per channel the debtor has not objected to, some partial payments (balance down,
  ``prior_payments`` up), a few more broken promises and portal logins; an account crosses into
  ``time_barred`` once it is more than 4 years past due. ``paid_90d`` and ``amount_recovered_90d`` are
  drawn again from the new behaviour (the generator's logistic function);
* new accounts arrive, with ids after the base's highest: one of the same archetype for every account
  that left (a steady book), plus ``new_share`` of the base's size in the generator's mix (default 5 %);
* ``shift={"over_indebted": 0.25}`` moves one archetype's share of the whole file to the given value
  by adding new accounts of that archetype (or dropping some of its accounts), so drift can be tested.

``payments(portfolio, export, seed, effect=...)`` writes what was paid in the month after an export with
arms: every account pays with a probability from its behaviour (the champion's), a holdout account
(no contact) with ``HOLDOUT_FACTOR`` (0.7) of it, and a challenger account of the planted archetype
(default ``temporarily_strained``) with ``effect`` (default 0.10) more. :func:`payment_truth` gives,
per persona of the app, the true challenger - champion difference in pay rate (mean over the persona's
accounts of p_challenger - p_champion), in amount per account and in amount per € of balance.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import Message, UserError
from core.i18n import N_
from sample_data.generator import (_ATTEMPT_FOCUS, _ATTEMPTS_PER_30_DAYS, _BEST_HOUR, _BROKEN_PROMISES,
                                   _PAY_INTERCEPT, _PORTAL_LOGINS, _RESPONSE, CHANNELS, GERMAN_COLUMNS,
                                   PAYMENT_METHODS, PERSONA_SHARES, PERSONAS, _sigmoid, generate_portfolio)

PAID_LEAVE = 0.6
OTHER_LEAVE = 0.05
PARTIAL_PAYMENT = 0.15
TIME_BARRED_DAYS = 1460
HOLDOUT_FACTOR = 0.7
#: Share of a payment that is the whole balance; otherwise a part of 30-70 % (mean 50 %).
FULL_PAYMENT = 0.6
AMOUNT_FACTOR = FULL_PAYMENT + (1 - FULL_PAYMENT) * 0.5
PLANTED_ARCHETYPE = "temporarily_strained"
_GERMAN_TO_ENGLISH = {german: english for english, german in GERMAN_COLUMNS.items()}
_TEXT = ("account_id", "postcode", "phone", "iban")
PAYMENT_HEADERS = {"en": ("account_id", "paid_on", "amount"), "de": ("Aktenzeichen", "Zahlungsdatum", "Betrag")}


# ---------------------------------------------------------------------------- reading a generated file
def read_generated(path: str | Path) -> pd.DataFrame:
    """A file written by ``personas sample`` (.csv in either format, .parquet, .xlsx), as written."""
    path = Path(path)
    if not path.is_file():
        raise UserError(Message(N_("{file}: file not found; give a portfolio written by `personas sample`."),
                                file=str(path)))
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix == ".xlsx":
            frame = pd.read_excel(path, dtype={c: str for c in _TEXT + tuple(GERMAN_COLUMNS[c] for c in _TEXT)})
        elif suffix == ".csv":
            head = path.read_bytes()[:4096]
            german = head.count(b";") > head.count(b",")
            text = {c: str for c in _TEXT + tuple(GERMAN_COLUMNS[c] for c in _TEXT)}
            frame = (pd.read_csv(path, sep=";", decimal=",", encoding="cp1252", dtype=text) if german
                     else pd.read_csv(path, dtype=text, encoding="utf-8"))
        else:
            raise UserError(Message(N_("{file}: unsupported file type {suffix}; use .csv, .parquet or .xlsx."),
                                    file=str(path), suffix=repr(suffix or "(none)")))
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise UserError(Message(N_("{file}: cannot be read as a generated portfolio ({reason})."), file=str(path),
                                reason=str(err))) from None
    if "true_persona" not in frame.columns:
        raise UserError(Message(N_("{file}: no true_persona column; next month and payments work on a portfolio "
                                   "written by `personas sample` (it plants the archetypes they evolve)."),
                                file=str(path)))
    return frame


def _canonical(frame: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    german = GERMAN_COLUMNS["account_id"] in frame.columns
    frame = frame.rename(columns=_GERMAN_TO_ENGLISH) if german else frame.copy()
    missing = [c for c in ("account_id", "balance", "days_past_due", "paid_90d", "true_persona")
               if c not in frame.columns]
    if missing:
        raise UserError(Message(N_("the portfolio lacks {columns}: give a file written by `personas sample`."),
                                columns=", ".join(missing)))
    unknown = sorted(set(frame["true_persona"].astype(str)) - set(PERSONAS))
    if unknown:
        raise UserError(Message(N_("true_persona holds {values}, which the generator never writes (it writes "
                                   "{archetypes})."), values=", ".join(unknown[:3]), archetypes=", ".join(PERSONAS)))
    frame["account_id"] = frame["account_id"].astype(str)
    frame["best_response_hour"] = pd.array(pd.to_numeric(frame["best_response_hour"], errors="coerce")
                                           .round(), dtype="Int64")
    return frame, german


# ---------------------------------------------------------------------------- next month
def next_month(base: pd.DataFrame, seed: int = 42, *, month: int = 2, new_share: float = 0.05,
               shift: dict[str, float] | None = None) -> pd.DataFrame:
    """The portfolio one month after ``base`` (see the module docstring); same column names as ``base``.

    Seeded: the same ``base``, ``seed``, ``month``, ``new_share`` and ``shift`` give the same frame.
    """
    if month < 2:
        raise UserError(Message(N_("--month must be 2 or later (month 1 is the base file), not {month}."),
                                month=str(month)))
    if not 0.0 <= new_share <= 1.0:
        raise UserError(Message(N_("--new-share must be between 0 and 1, not {share}."), share=str(new_share)))
    shift = dict(shift or {})
    for archetype, share in shift.items():
        if archetype not in PERSONAS:
            raise UserError(Message(N_("--shift {archetype}=…: unknown archetype; choose one of {archetypes}."),
                                    archetype=str(archetype), archetypes=", ".join(PERSONAS)))
        if not 0.0 <= share < 1.0:
            raise UserError(Message(N_("--shift {archetype}={share}: the share must be at least 0 and below 1."),
                                    archetype=str(archetype), share=str(share)))
    frame, german = _canonical(base)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(month), 17]))
    persona = frame["true_persona"].map({p: i for i, p in enumerate(PERSONAS)}).to_numpy()
    paid = pd.to_numeric(frame["paid_90d"], errors="coerce").fillna(0).to_numpy() == 1
    leave = rng.random(len(frame)) < np.where(paid, PAID_LEAVE, OTHER_LEAVE)
    stay = frame.loc[~leave].reset_index(drop=True)
    stay = _roll(stay, persona[~leave], rng)

    # a steady book: every account that left is replaced by a new one of the same archetype, plus
    # new_share of the base's size in the generator's usual mix
    left = np.bincount(persona[leave], minlength=len(PERSONAS)).astype(float)
    grow = new_share * len(frame) * PERSONA_SHARES
    count = int(round(left.sum() + grow.sum()))
    new = generate_portfolio(max(count, 1), seed=int(seed) * 1000 + month,
                             shares=(left + grow) if (left + grow).sum() > 0 else None)
    new = _renumber(new.iloc[:count], _next_id(frame["account_id"]))
    out = pd.concat([stay, new], ignore_index=True)
    for archetype, share in sorted(shift.items()):
        out = _shift(out, archetype, share, rng, int(seed) * 1000 + month + 500)
    out = out[list(frame.columns)]
    return out.rename(columns=GERMAN_COLUMNS) if german else out


def _roll(frame: pd.DataFrame, persona: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    n = len(frame)
    out = frame.copy()
    dpd = pd.to_numeric(out["days_past_due"], errors="coerce").fillna(0).to_numpy()
    out["days_past_due"] = np.clip(dpd + 30 + rng.integers(-2, 3, n), 1, 3650).astype(np.int64)
    out["months_on_book"] = pd.to_numeric(out["months_on_book"], errors="coerce").fillna(0).astype(np.int64) + 1
    balance = pd.to_numeric(out["balance"], errors="coerce").fillna(0).to_numpy()
    original = pd.to_numeric(out["original_amount"], errors="coerce").fillna(0).to_numpy()
    original = np.where(original > 0, original, balance)
    partial = rng.random(n) < PARTIAL_PAYMENT
    balance = np.round(np.where(partial, balance * (1.0 - rng.uniform(0.05, 0.3, n)), balance), 2)
    out["balance"] = np.maximum(balance, 1.0)
    out["prior_payments"] = pd.to_numeric(out["prior_payments"], errors="coerce").fillna(0).astype(np.int64) \
        + partial.astype(np.int64)
    out["partial_payment_ratio"] = np.round(np.clip(1.0 - out["balance"] / np.maximum(original, 1e-9), 0, 0.95), 3)
    out["broken_promises"] = out["broken_promises"].astype(np.int64) + rng.poisson(_BROKEN_PROMISES[persona] / 6)
    out["portal_logins"] = out["portal_logins"].astype(np.int64) + rng.poisson(_PORTAL_LOGINS[persona] / 3)
    objected = {"sms": out["sms_opt_out"].to_numpy() == 1, "email": out["email_opt_out"].to_numpy() == 1,
                "letter": np.zeros(n, bool), "phone": np.zeros(n, bool), "push": out["push_attempts"].to_numpy() == 0}
    for k, channel in enumerate(CHANNELS):
        more = np.where(objected[channel], 0, rng.poisson(_ATTEMPTS_PER_30_DAYS[k] * _ATTEMPT_FOCUS[persona, k]))
        out[f"{channel}_attempts"] = out[f"{channel}_attempts"].astype(np.int64) + more
        out[f"{channel}_responses"] = out[f"{channel}_responses"].astype(np.int64) \
            + rng.binomial(more, _RESPONSE[persona, k])
    responses = sum(out[f"{c}_responses"].to_numpy() for c in CHANNELS)
    hour = out["best_response_hour"].copy()
    first = hour.isna().to_numpy() & (responses > 0)
    hour[first] = np.clip(np.rint(_BEST_HOUR[persona[first], 0]), 0, 23).astype(np.int64)
    out["best_response_hour"] = hour
    out["time_barred"] = (out["time_barred"].astype(np.int64).to_numpy()
                          | (out["days_past_due"].to_numpy() > TIME_BARRED_DAYS)).astype(np.int64)
    z = _pay_logit(out) + rng.normal(0.0, 0.6, n)
    paid = rng.random(n) < _sigmoid(z)
    partly = ~paid & (rng.random(n) < _sigmoid(z + 0.5))
    share = np.where(paid, 1.0, np.where(partly, 0.95 * rng.beta(1.5, 3.0, n), 0.0))
    out["paid_90d"] = paid.astype(np.int64)
    out["amount_recovered_90d"] = np.minimum(np.round(out["balance"].to_numpy() * share, 2), out["balance"].to_numpy())
    return out


def _pay_logit(frame: pd.DataFrame) -> np.ndarray:
    """The generator's logistic pay function (:func:`sample_data.generator._outcomes`) without its noise."""
    num = lambda c: pd.to_numeric(frame[c], errors="coerce").fillna(0).to_numpy(dtype=float)  # noqa: E731
    attempts = sum(num(f"{c}_attempts") for c in CHANNELS)
    responses = sum(num(f"{c}_responses") for c in CHANNELS)
    rate = responses / np.maximum(attempts, 1)
    method = frame["payment_method"].astype(str).to_numpy()
    return (_PAY_INTERCEPT - 1.1 * np.log1p(num("days_past_due") / 30.0)
            - 0.35 * np.log(np.maximum(num("balance"), 1.0) / 300.0) + 1.6 * num("partial_payment_ratio")
            - 0.5 * num("broken_promises") + 0.3 * np.log1p(num("prior_payments")) + 2.5 * rate
            + 0.25 * np.log1p(num("portal_logins")) - 1.2 * num("dispute_flag") - 0.8 * num("over_indebted_flag")
            - 1.5 * num("time_barred") - 0.8 * (method == PAYMENT_METHODS[-1]) - 1.0 * (responses == 0))


def _next_id(ids: pd.Series) -> int:
    numbers = pd.to_numeric(ids.astype(str).str.extract(r"(\d+)$")[0], errors="coerce")
    return int(numbers.max()) + 1 if numbers.notna().any() else len(ids) + 1


def _renumber(frame: pd.DataFrame, first: int) -> pd.DataFrame:
    frame = frame.reset_index(drop=True).copy()
    frame["account_id"] = [f"AKT-{first + i:07d}" for i in range(len(frame))]
    return frame


def _shift(frame: pd.DataFrame, archetype: str, share: float, rng: np.random.Generator, seed: int) -> pd.DataFrame:
    """``frame`` with ``archetype`` making up ``share`` of the accounts (new ones added, or some dropped)."""
    members = (frame["true_persona"].astype(str) == archetype).to_numpy()
    count, total = int(members.sum()), len(frame)
    if share * total > count:  # add accounts of the archetype: (count + k) / (total + k) = share
        k = int(np.ceil((share * total - count) / (1.0 - share)))
        onehot = np.where(np.array(PERSONAS) == archetype, 1.0, 0.0)
        extra = _renumber(generate_portfolio(k, seed=seed, shares=onehot), _next_id(frame["account_id"]))
        return pd.concat([frame, extra], ignore_index=True)
    keep = int(np.floor(share * (total - count) / (1.0 - share)))  # keep / (total - count + keep) = share
    drop = rng.choice(np.flatnonzero(members), size=count - keep, replace=False)
    return frame.drop(index=drop).reset_index(drop=True)


# ---------------------------------------------------------------------------- payments with a planted effect
def read_export(path: str | Path) -> pd.DataFrame:
    """An account-level export (.csv or .json from ``personas review export --level accounts``):
    account_id, persona_id and arm per account."""
    path = Path(path)
    if not path.is_file():
        raise UserError(Message(N_("{file}: export file not found."), file=str(path)))
    try:
        if path.suffix.lower() == ".json":
            import json

            document = json.loads(path.read_text(encoding="utf-8"))
            frame = pd.DataFrame(document.get("accounts") if isinstance(document, dict) else document)
        elif path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype={"account_id": str}, encoding="utf-8-sig")
        else:
            raise UserError(Message(N_("{file}: give the account-level export as .csv or .json."), file=str(path)))
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise UserError(Message(N_("{file}: cannot be read as an export ({reason})."), file=str(path),
                                reason=str(err))) from None
    missing = [c for c in ("account_id", "persona_id", "arm") if c not in frame.columns]
    if missing:
        raise UserError(Message(N_("{file}: no column {columns}; give an account-level export (`--level accounts`) "
                                   "of a run whose personas have arms."), file=str(path), columns=", ".join(missing)))
    frame = frame[["account_id", "persona_id", "arm"]].copy()
    frame["account_id"] = frame["account_id"].astype(str).str.lstrip("'")  # CSV-injection prefix
    bad = sorted(set(frame["arm"].astype(str)) - {"champion", "challenger", "holdout"})
    if bad:
        raise UserError(Message(N_("{file}: column arm holds {values}; expected champion, challenger or holdout."),
                                file=str(path), values=", ".join(bad[:3])))
    return frame


def pay_probabilities(portfolio: pd.DataFrame, *, archetype: str = PLANTED_ARCHETYPE,
                      effect: float = 0.10) -> pd.DataFrame:
    """Per account: ``p_champion`` (pays within the month under the champion journey), ``p_challenger``
    (``effect`` more for ``archetype``, the same for every other archetype) and ``p_holdout``."""
    if archetype not in PERSONAS:
        raise UserError(Message(N_("--archetype {archetype}: choose one of {archetypes}."), archetype=str(archetype),
                                archetypes=", ".join(PERSONAS)))
    if not -0.5 <= effect <= 0.5:
        raise UserError(Message(N_("--effect {effect}: give a difference in pay probability between -0.5 and 0.5."),
                                effect=str(effect)))
    frame, _ = _canonical(portfolio)
    p0 = _sigmoid(_pay_logit(frame) - 0.5)
    planted = (frame["true_persona"].astype(str) == archetype).to_numpy()
    p1 = np.where(planted, np.clip(p0 + effect, 0.0, 1.0), p0)
    return pd.DataFrame({"account_id": frame["account_id"].to_numpy(), "true_persona": frame["true_persona"].to_numpy(),
                         "balance": pd.to_numeric(frame["balance"], errors="coerce").fillna(0).to_numpy(),
                         "p_champion": p0, "p_challenger": p1, "p_holdout": HOLDOUT_FACTOR * p0})


def payments(portfolio: pd.DataFrame, export: pd.DataFrame, seed: int = 42, *, archetype: str = PLANTED_ARCHETYPE,
             effect: float = 0.10, start: str = "2027-01-01", days: int = 30) -> pd.DataFrame:
    """One row per payment: account_id, paid_on (datetime64 date), amount (EUR, 2 decimals)."""
    probs = _matched(portfolio, export, archetype, effect)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 23]))
    p = np.select([probs["arm"] == "challenger", probs["arm"] == "holdout"],
                  [probs["p_challenger"], probs["p_holdout"]], probs["p_champion"])
    pays = rng.random(len(probs)) < p
    full = rng.random(len(probs)) < FULL_PAYMENT
    part = rng.uniform(0.3, 0.7, len(probs))
    amount = np.round(probs["balance"].to_numpy() * np.where(full, 1.0, part), 2)
    day = rng.integers(0, days, len(probs))
    out = pd.DataFrame({"account_id": probs["account_id"].to_numpy(),
                        "paid_on": pd.Timestamp(start) + pd.to_timedelta(day, unit="D"), "amount": amount})
    return out.loc[pays & (amount > 0)].reset_index(drop=True)


def _matched(portfolio: pd.DataFrame, export: pd.DataFrame, archetype: str, effect: float) -> pd.DataFrame:
    probs = pay_probabilities(portfolio, archetype=archetype, effect=effect)
    merged = export.merge(probs, on="account_id", how="inner")
    if len(merged) == 0:
        raise UserError(Message(N_("no account of the export is in the portfolio given; give the portfolio file the "
                                   "exported run was made from.")))
    return merged


def payment_truth(portfolio: pd.DataFrame, export: pd.DataFrame, *, archetype: str = PLANTED_ARCHETYPE,
                  effect: float = 0.10) -> dict[str, Any]:
    """Per persona of the export: the true challenger - champion difference (see the module docstring)."""
    merged = _matched(portfolio, export, archetype, effect)
    diff = merged["p_challenger"] - merged["p_champion"]
    rows = []
    for persona_id, group in merged.assign(diff=diff).groupby("persona_id"):
        amount = group["diff"] * AMOUNT_FACTOR * group["balance"]
        rows.append({"persona_id": int(persona_id), "accounts": int(len(group)),
                     "planted_share": round(float((group["true_persona"] == archetype).mean()), 4),
                     "pay_rate_difference": float(group["diff"].mean()),
                     "amount_difference_per_account": float(amount.mean()),
                     "collected_per_euro_difference": float(amount.sum() / max(group["balance"].sum(), 1e-9)),
                     "champion_pay_rate": float(group["p_champion"].mean())})
    return {"archetype": archetype, "effect": effect, "holdout_factor": HOLDOUT_FACTOR,
            "amount_when_paying": f"whole balance with probability {FULL_PAYMENT}, else 30-70 % of it "
                                  f"(expected {AMOUNT_FACTOR:.0%} of the balance)",
            "definition": "per persona: mean over its accounts of p_challenger - p_champion (pay rate), "
                          "of (p_challenger - p_champion) x expected amount (amount), and the latter summed "
                          "over the balance (per € of balance)",
            "personas": rows}


def write_payments(frame: pd.DataFrame, path: str | Path, *, language: str = "en") -> Path:
    """``.csv`` (German: ``;``, decimal comma, ``dd.mm.yyyy``, cp1252) or ``.parquet``; atomically."""
    import os
    import tempfile

    path = Path(path)
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise UserError(Message(N_("--out {file}: give a .csv or .parquet file name."), file=str(path)))
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(Message(N_("{file}: folder {folder} does not exist."), file=str(path), folder=str(folder)))
    names = PAYMENT_HEADERS[language]
    out = frame.rename(columns=dict(zip(PAYMENT_HEADERS["en"], names)))
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    try:
        if path.suffix.lower() == ".parquet":
            out.to_parquet(temp, index=False)
        elif language == "de":
            out.to_csv(temp, sep=";", decimal=",", encoding="cp1252", index=False, date_format="%d.%m.%Y")
        else:
            out.to_csv(temp, index=False, encoding="utf-8", date_format="%Y-%m-%d")
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return path


def default_shares() -> dict[str, float]:
    return dict(zip(PERSONAS, map(float, PERSONA_SHARES)))
