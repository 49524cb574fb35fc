"""The read-out of a run: what each persona and arm collected, and whether the challenger won.

Per persona and arm (champion, challenger, holdout): accounts, paying accounts and the **pay rate**
(share of the run's accounts whose net payments in the window are above 0; reversals count
negative), the **amount collected** (sum of net payments), **collected per € of balance** (amount
collected / the arm's opening balance from the run's kept portfolio) and, where a cost per channel
is configured, the **planned contact cost** (journey steps with a channel inside the experiment's
planned days x cost per contact; caps and account rules can only skip steps, so it is an upper
bound).

Per persona with an experiment: challenger − champion (and champion − holdout when there is a
holdout) in pay rate with Newcombe's hybrid score 95 % interval, and in collected per € with a
bootstrap 95 % percentile interval (2,000 resamples of accounts within each arm, seeded by the
experiment id, so the same data give the same interval). The **verdict** is read on the pay rate,
the metric the sample size was planned for: below the minimum sample per arm (stored with the
experiment at approval; else computed with :func:`strategy.power.minimum_sample_per_arm` from the
champion's observed pay rate and the experiment's minimum detectable effect) it is "too few
accounts (n of N needed)", never a winner; otherwise "challenger better" / "champion better" when
the interval excludes 0, else "no difference".

Figures the data cannot fill are ``None`` ("not available"), never 0.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from core.formats import format_date
from core.i18n import N_, current_language, persona_name, resolve_language, translator
from portfolio.payments import ACCOUNT_ID, AMOUNT, PAID_ON
from portfolio.roles import Role
from strategy.arms import ArmConfig, arms_of_accounts
from strategy.power import minimum_sample_per_arm, newcombe_interval, wilson_interval
from strategy.settings import normalise_channel_costs
from strategy.texts import Text, _Formatter, terms

ARM_ORDER = ("champion", "challenger", "holdout")
BOOTSTRAP_RESAMPLES = 2_000
DEFAULT_MIN_EFFECT = 0.05  #: pay-rate points, when an experiment stores none
METHODS = {
    "pay_rate": "share of accounts with net payments > 0 in the window",
    "pay_rate_interval": "Wilson score 95 % interval per arm",
    "pay_rate_difference": "Newcombe hybrid score 95 % interval (method 10, Newcombe 1998)",
    "collected_per_eur_difference": (f"bootstrap 95 % percentile interval, {BOOTSTRAP_RESAMPLES:,} resamples of "
                                     "accounts within each arm, seeded by the experiment id"),
    "verdict": ("on the pay rate; no winner below the minimum sample per arm (two-sided two-proportion z-test, "
                "alpha 0.05, power 0.8)"),
    "contact_cost": ("planned: journey steps with a channel inside the planned days x cost per contact; "
                     "account rules and caps can only skip steps"),
}


@dataclass
class Readout:
    """A run's read-out. ``rows``: one row per persona and arm; ``differences``: one row per persona and
    comparison ("challenger − champion", "champion − holdout"). ``None`` means not available."""

    run_id: str
    rows: pd.DataFrame
    differences: pd.DataFrame
    window: tuple[str | None, str | None]
    payments: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: NaN and missing figures become ``None``."""
        return {"run_id": self.run_id, "window": {"from": self.window[0], "to": self.window[1]},
                "payments": json_safe(self.payments), "methods": dict(METHODS), "notes": list(self.notes),
                "rows": _records(self.rows), "differences": _records(self.differences)}

    def lines(self, language: str | None = None) -> list[str]:
        """The read-out as text: a table per persona, the comparisons and verdicts, in ``language``
        (default: the current one; English is the text as it always was)."""
        lang = resolve_language(language or current_language())
        tr = translator(lang)._
        num = _Formatter(lang).format_field
        pay = self.payments

        def day(value: Any) -> str:
            return "-" if not value else (str(value) if lang == "en" else format_date(value, lang))

        window = Text(N_("dated {start} to {end}"), start=day(self.window[0]), end=day(self.window[1]))
        out = [Text(N_("read-out of run {run}: {payments:,} payments ({window}) by {paying:,} of the run's "
                       "{accounts:,} accounts"), run=self.run_id, payments=pay["payments_used"], window=window,
                    paying=pay["accounts_paying"], accounts=pay["accounts"]).render(lang)]
        out += [Text(N_("note: {note}"), note=note).render(lang) for note in self.notes]
        heads = [tr(N_("arm")), tr(N_("accounts")), tr(N_("pay rate (95% CI)")), tr(N_("collected")),
                 tr(N_("per € balance")), tr(N_("contact cost"))]
        unavailable = tr(VERDICTS["not available"])
        widths = [max(w, len(h) + 1) for w, h in zip((11, 9, 22, 13, 15, 14), heads)]
        widths[0] = max([widths[0]] + [len(arm_label(arm, lang)) + 1 for arm in self.rows["arm"]])
        widths[4], widths[5] = (max(w, len(unavailable) + 1) for w in widths[4:6])

        def fmt(value: Any, spec: str) -> str:
            return unavailable if _missing(value) else num(value, spec)

        def points(value: Any) -> str:
            if _missing(value):
                return unavailable
            return Text(N_("{value:+.1f} points"), value=value * 100).render(lang)

        for persona_id, group in self.rows.groupby("persona_id", sort=True):
            out.append("")
            out.append(Text(N_("persona {persona} · {name}"), persona=str(persona_id),
                            name=group["persona_name"].iloc[0]).render(lang))
            out.append(f"  {heads[0]:<{widths[0]}}{heads[1]:>{widths[1]}}  {heads[2]:<{widths[2]}}"
                       f"{heads[3]:>{widths[3]}}{heads[4]:>{widths[4]}}{heads[5]:>{widths[5]}}")
            for _, row in group.iterrows():
                rate = unavailable if _missing(row["pay_rate"]) else (
                    f"{num(row['pay_rate'], '.1%')} ({num(row['pay_rate_low'], '.1%')}–"
                    f"{num(row['pay_rate_high'], '.1%')})")
                out.append(f"  {arm_label(row['arm'], lang):<{widths[0]}}{num(row['accounts'], ','):>{widths[1]}}  "
                           f"{rate:<{widths[2]}}{num(row['collected'], ',.2f'):>{widths[3]}}"
                           f"{fmt(row['collected_per_eur'], '.4f'):>{widths[4]}}"
                           f"{fmt(row['contact_cost'], ',.2f'):>{widths[5]}}")
            for _, diff in self.differences[self.differences["persona_id"] == persona_id].iterrows():
                out.append("  " + Text(N_(
                    "{comparison}: pay rate {points} (95% CI {low} to {high}), collected per € {ratio} (95% CI "
                    "{ratio_low} to {ratio_high}); minimum sample {needed:,} per arm ({source})"),
                    comparison=comparison_label(diff["comparison"], lang), points=points(diff["pay_rate_difference"]),
                    low=points(diff["pay_rate_low"]), high=points(diff["pay_rate_high"]),
                    ratio=fmt(diff["collected_per_eur_difference"], "+.4f"),
                    ratio_low=fmt(diff["collected_per_eur_low"], "+.4f"),
                    ratio_high=fmt(diff["collected_per_eur_high"], "+.4f"), needed=int(diff["min_sample_per_arm"]),
                    source=diff["min_sample_source"]).render(lang))
                out.append("    " + Text(N_("verdict: {verdict}"), verdict=_verdict_text(diff["verdict"])).render(lang))
        return out


#: The arms in words (the data keeps the keys; champion/challenger stay as the trade says them).
ARM_LABELS = {"champion": N_("champion"), "challenger": N_("challenger"), "holdout": N_("holdout")}


def arm_label(arm: Any, language: str | None = None) -> str:
    """An arm (``"holdout"``) in ``language``: "Kontrollgruppe" in German; unknown keys as they are."""
    key = str(arm)
    if key not in ARM_LABELS:
        return key
    return translator(resolve_language(language or current_language()))._(ARM_LABELS[key])


def comparison_label(comparison: Any, language: str | None = None) -> str:
    """A stored comparison (``"challenger − champion"``) with its arms in ``language``."""
    parts = str(comparison).split(" − ")
    if len(parts) != 2:
        return str(comparison)
    return f"{arm_label(parts[0], language)} − {arm_label(parts[1], language)}"


def _verdict_text(value: Any) -> Any:
    """A verdict as a text that renders: ours, or a stored English verdict (JSON) matched to its message."""
    if callable(getattr(value, "render", None)):
        return value
    text = str(value)
    return Text(VERDICTS[text]) if text in VERDICTS else text


def readout(run: Any, payments: pd.DataFrame, experiments: dict[int, Any], *,
            costs: dict[str, float] | None = None, arms: pd.Series | None = None,
            contacts: dict[tuple[int, str], dict[str, float]] | None = None,
            window: tuple[date | None, date | None] | None = None) -> Readout:
    """Read out a run against the payments made by its accounts.

    Parameters
    ----------
    run : RunView
        The run (its accounts, personas and kept portfolio for the balances).
    payments : DataFrame
        ``account_id``, ``paid_on``, ``amount`` (:func:`strategy.outcomes.read_outcomes`).
    experiments : dict
        ``{persona_id: Experiment}`` (approved experiments of the run); personas without one are champion only.
    costs : dict, optional
        Cost of one contact per channel in EUR; without it contact cost is not available.
    arms : Series, optional
        Arm per account, indexed by account id; default: :func:`strategy.arms.assign_arms` with
        each experiment's arm configuration.
    contacts : dict, optional
        ``{(persona_id, arm): {channel: planned contacts per account}}`` (:func:`planned_contacts`).
    window : (date or None, date or None), optional
        First and last payment date counted (inclusive); default every payment loaded.
    """
    accounts = account_outcomes(run, payments, experiments, arms=arms, window=window)
    names = {int(p["persona_id"]): persona_name(p) for p in run.profiles}
    costs = normalise_channel_costs(costs or {})
    notes = []
    rows = _arm_rows(accounts, names, costs, contacts or {}, notes)
    differences = _differences(accounts, experiments, names)
    used = _in_window(payments, window)
    in_run = used[ACCOUNT_ID].astype(str).isin(set(accounts[ACCOUNT_ID]))
    if (~in_run).any():
        notes.append(Text(N_("{payments:,} payments for {accounts:,} accounts this run does not hold are ignored"),
                          payments=int((~in_run).sum()), accounts=int(used.loc[~in_run, ACCOUNT_ID].nunique())))
    if accounts["balance"].isna().all():
        notes.append(Text(N_("the run keeps no portfolio with balances: collected per € is not available")))
    if not experiments:
        notes.append(Text(N_("no approved champion/challenger experiment in this run: every account is champion")))
    summary = {"payments_used": int(in_run.sum()), "payments_outside_run": int((~in_run).sum()),
               "accounts": int(len(accounts)), "accounts_paying": int(accounts["paid"].sum()),
               "collected": round(float(accounts["net"].sum()), 2)}
    first = window[0].isoformat() if window and window[0] else _iso(used[PAID_ON].min())
    last = window[1].isoformat() if window and window[1] else _iso(used[PAID_ON].max())
    return Readout(run.run_id, rows, differences, (first, last), summary, notes)


# ---------------------------------------------------------------------------- per account
def account_outcomes(run: Any, payments: pd.DataFrame | None, experiments: dict[int, Any], *,
                     arms: pd.Series | None = None,
                     window: tuple[date | None, date | None] | None = None) -> pd.DataFrame:
    """One row per account of the run: ``account_id``, ``persona_id``, ``arm``, ``balance`` (NaN when the
    run keeps no portfolio), ``net`` (net payments in the window, 0 without any) and ``paid`` (net > 0)."""
    frame = run.accounts[["account_id", "persona_id"]].copy()
    frame["account_id"] = frame["account_id"].astype(str)
    frame["persona_id"] = frame["persona_id"].astype(int)
    if arms is not None:
        by_id = pd.Series(arms.to_numpy(), index=arms.index.astype(str))
        frame["arm"] = frame["account_id"].map(by_id).fillna("champion").astype(str)
    else:
        configs = {int(pid): _arm_config(e) for pid, e in experiments.items()}
        frame["arm"] = arms_of_accounts(frame, configs).to_numpy()
    frame["balance"] = _balances(run, frame["account_id"])
    net = pd.Series(dtype="float64")
    if payments is not None and len(payments):
        used = _in_window(payments, window)
        net = used.groupby(used[ACCOUNT_ID].astype(str))[AMOUNT].sum()
    frame["net"] = frame["account_id"].map(net).fillna(0.0).astype("float64")
    frame["paid"] = frame["net"] > 0
    return frame.reset_index(drop=True)


def _arm_config(experiment: Any) -> ArmConfig:
    return ArmConfig(str(experiment.experiment_id), float(experiment.challenger_share),
                     float(getattr(experiment, "holdout_share", 0.0) or 0.0))


def _balances(run: Any, account_ids: pd.Series) -> np.ndarray:
    portfolio = getattr(run, "portfolio", None)
    if portfolio is None or Role.BALANCE not in portfolio.columns or Role.ACCOUNT_ID not in portfolio.columns:
        return np.full(len(account_ids), np.nan)
    balance = pd.to_numeric(portfolio[Role.BALANCE], errors="coerce")
    by_id = pd.Series(balance.to_numpy(dtype="float64"), index=portfolio[Role.ACCOUNT_ID].astype(str))
    by_id = by_id[~by_id.index.duplicated()]
    return account_ids.map(by_id).to_numpy(dtype="float64")


def _in_window(payments: pd.DataFrame, window: tuple[date | None, date | None] | None) -> pd.DataFrame:
    if payments is None:
        return pd.DataFrame({ACCOUNT_ID: pd.Series(dtype=str), PAID_ON: pd.Series(dtype="datetime64[ns]"),
                             AMOUNT: pd.Series(dtype="float64")})
    if not window:
        return payments
    keep = pd.Series(True, index=payments.index)
    if window[0]:
        keep &= payments[PAID_ON] >= pd.Timestamp(window[0])
    if window[1]:
        keep &= payments[PAID_ON] <= pd.Timestamp(window[1])
    return payments[keep]


# ---------------------------------------------------------------------------- per persona and arm
def _arm_rows(accounts: pd.DataFrame, names: dict[int, str], costs: dict[str, float],
              contacts: dict[tuple[int, str], dict[str, float]], notes: list[str]) -> pd.DataFrame:
    records = []
    missing_costs: set[str] = set()
    for (persona_id, arm), group in accounts.groupby(["persona_id", "arm"], sort=False):
        n, paying = len(group), int(group["paid"].sum())
        low, high = wilson_interval(paying, n)
        balance = float(group["balance"].sum()) if group["balance"].notna().all() else None
        collected = float(group["net"].sum())
        cost = _contact_cost(contacts.get((int(persona_id), str(arm))), arm, costs, n, missing_costs)
        records.append({
            "persona_id": int(persona_id), "persona_name": names.get(int(persona_id), f"persona {persona_id}"),
            "arm": str(arm), "accounts": n, "paying_accounts": paying, "pay_rate": paying / n if n else None,
            "pay_rate_low": low, "pay_rate_high": high, "collected": round(collected, 2), "balance": balance,
            "collected_per_eur": collected / balance if balance else None, "contact_cost": cost,
            "cost_per_eur_collected": cost / collected if cost is not None and collected > 0 else None})
    if not costs:
        notes.append(Text(N_("no cost per channel configured (StrategySettings.channel_costs, PERSONAS_CHANNEL_COSTS "
                             "or --cost CHANNEL=EUR): contact cost is not available")))
    elif not contacts:
        notes.append(Text(N_("no approved journey of these personas was found (the review database, --db): contact "
                             "cost is not available")))
    if missing_costs:
        notes.append(Text(N_("no cost configured for {channels}: contact cost of arms using it is not available"),
                          channels=terms(sorted(missing_costs))))
    table = pd.DataFrame.from_records(records)
    table["_order"] = table["arm"].map({a: i for i, a in enumerate(ARM_ORDER)})
    return table.sort_values(["persona_id", "_order"]).drop(columns="_order").reset_index(drop=True)


def _contact_cost(per_account: dict[str, float] | None, arm: str, costs: dict[str, float], n: int,
                  missing: set[str]) -> float | None:
    if not costs or per_account is None:
        return None
    unknown = {channel for channel, count in per_account.items() if count and channel not in costs}
    if unknown:
        missing |= unknown
        return None
    return round(n * sum(count * costs[channel] for channel, count in per_account.items()), 2)


def planned_contacts(strategy: Any, *, days: int | None = None, rulepack: Any = None) -> dict[str, float]:
    """Contacts per account by channel that a strategy's journey plans within ``days`` (all steps if ``None``)."""
    from strategy.journey import journey_of

    out: dict[str, float] = {}
    for step in journey_of(strategy, rulepack):
        if step.channel and (days is None or step.day < days):
            out[step.channel] = out.get(step.channel, 0.0) + 1.0
    return out


# ---------------------------------------------------------------------------- comparisons
_COMPARISONS = (("challenger", "champion", "challenger better", "champion better"),
                ("champion", "holdout", "champion better", "holdout better"))


def _differences(accounts: pd.DataFrame, experiments: dict[int, Any], names: dict[int, str]) -> pd.DataFrame:
    records = []
    for persona_id, experiment in sorted(experiments.items()):
        members = accounts[accounts["persona_id"] == int(persona_id)]
        champion = members[members["arm"] == "champion"]
        needed, source = _needed(experiment, champion)
        for a, b, a_wins, b_wins in _COMPARISONS:
            arm_a, arm_b = members[members["arm"] == a], members[members["arm"] == b]
            if b == "holdout" and not len(arm_b) and not float(getattr(experiment, "holdout_share", 0) or 0):
                continue
            records.append(_compare(int(persona_id), names, experiment, arm_a, arm_b, f"{a} − {b}",
                                    needed, source, a_wins, b_wins))
    columns = ["persona_id", "persona_name", "experiment_id", "comparison", "accounts_a", "accounts_b",
               "pay_rate_a", "pay_rate_b", "pay_rate_difference", "pay_rate_low", "pay_rate_high",
               "collected_per_eur_difference", "collected_per_eur_low", "collected_per_eur_high",
               "min_sample_per_arm", "min_sample_source", "verdict", "collected_verdict"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in ("min_sample_source", "verdict", "collected_verdict"):  # keep the texts (pandas would make str)
        frame[column] = pd.Series([r[column] for r in records], index=frame.index, dtype=object)
    return frame


def _needed(experiment: Any, champion: pd.DataFrame) -> tuple[int, str]:
    stored = getattr(experiment, "min_sample_per_arm", None)
    if stored:
        return int(stored), Text(N_("stored with the experiment"))
    effect = getattr(experiment, "min_detectable_effect", None) or DEFAULT_MIN_EFFECT
    base = getattr(experiment, "base_pay_rate", None)
    if base is None:
        base = float(champion["paid"].mean()) if len(champion) else 0.0
        where = Text(N_("computed from the champion's pay rate {rate:.1%}"), rate=float(base))
    else:
        where = Text(N_("computed from the stored base pay rate {rate:.1%}"), rate=float(base))
    return minimum_sample_per_arm(float(base), float(effect)), Text(N_("{where} and an effect of {effect:g}"),
                                                                   where=where, effect=float(effect))


def _compare(persona_id: int, names: dict[int, str], experiment: Any, arm_a: pd.DataFrame, arm_b: pd.DataFrame,
             label: str, needed: int, source: str, a_wins: str, b_wins: str) -> dict[str, Any]:
    n_a, n_b = len(arm_a), len(arm_b)
    pay_a, pay_b = int(arm_a["paid"].sum()), int(arm_b["paid"].sum())
    difference, low, high = newcombe_interval(pay_a, n_a, pay_b, n_b)
    seed = int.from_bytes(hashlib.sha256(f"{experiment.experiment_id}\x00{label}".encode()).digest()[:8], "big")
    ratio, ratio_low, ratio_high = ratio_difference_interval(
        arm_a["net"].to_numpy(), arm_a["balance"].to_numpy(), arm_b["net"].to_numpy(), arm_b["balance"].to_numpy(),
        seed=seed)
    smaller = min(n_a, n_b)
    return {"persona_id": persona_id, "persona_name": names.get(persona_id, f"persona {persona_id}"),
            "experiment_id": str(experiment.experiment_id), "comparison": label, "accounts_a": n_a,
            "accounts_b": n_b, "pay_rate_a": pay_a / n_a if n_a else None, "pay_rate_b": pay_b / n_b if n_b else None,
            "pay_rate_difference": difference, "pay_rate_low": low, "pay_rate_high": high,
            "collected_per_eur_difference": ratio, "collected_per_eur_low": ratio_low,
            "collected_per_eur_high": ratio_high, "min_sample_per_arm": needed, "min_sample_source": source,
            "verdict": verdict(smaller, needed, low, high, a_wins, b_wins),
            "collected_verdict": verdict(smaller, needed, ratio_low, ratio_high, a_wins, b_wins)}


#: The verdicts in words (the English is what the read-out has always written; ``render()`` shows them).
VERDICTS = {"challenger better": N_("challenger better"), "champion better": N_("champion better"),
            "holdout better": N_("holdout better"), "no difference": N_("no difference"),
            "not available": N_("not available")}


def verdict(n: int, needed: int, low: float | None, high: float | None, a_wins: str = "challenger better",
            b_wins: str = "champion better") -> str:
    """"too few accounts (n of N needed)" below the minimum sample; else the side the 95 % interval favours.

    A :class:`~strategy.texts.Text`: the English sentence as a string, ``render()`` in the reader's language."""
    if n < needed:
        return Text(N_("too few accounts ({n:,} of {needed:,} needed)"), n=int(n), needed=int(needed))
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return Text(VERDICTS["not available"])
    if low > 0:
        return Text(VERDICTS.get(a_wins, a_wins))
    if high < 0:
        return Text(VERDICTS.get(b_wins, b_wins))
    return Text(VERDICTS["no difference"])


def ratio_difference_interval(net_a: np.ndarray, balance_a: np.ndarray, net_b: np.ndarray, balance_b: np.ndarray,
                              *, seed: int, resamples: int = BOOTSTRAP_RESAMPLES,
                              confidence: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """(sum(net_a)/sum(balance_a) − sum(net_b)/sum(balance_b), bootstrap percentile low, high).

    ``(None, None, None)`` when a balance is missing or an arm is empty or has no balance.
    """
    arrays = [np.asarray(x, dtype="float64") for x in (net_a, balance_a, net_b, balance_b)]
    if not len(arrays[0]) or not len(arrays[2]) or any(np.isnan(x).any() for x in (arrays[1], arrays[3])) \
            or arrays[1].sum() <= 0 or arrays[3].sum() <= 0:
        return None, None, None
    point = arrays[0].sum() / arrays[1].sum() - arrays[2].sum() / arrays[3].sum()
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    chunk = max(1, min(resamples, 4_000_000 // max(len(arrays[0]), len(arrays[2]), 1)))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        ia = rng.integers(0, len(arrays[0]), (size, len(arrays[0])))
        ib = rng.integers(0, len(arrays[2]), (size, len(arrays[2])))
        with np.errstate(divide="ignore", invalid="ignore"):
            draws[start:start + size] = (arrays[0][ia].sum(1) / arrays[1][ia].sum(1)
                                         - arrays[2][ib].sum(1) / arrays[3][ib].sum(1))
    draws = draws[np.isfinite(draws)]
    tail = (1 - confidence) / 2
    return float(point), float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail))


# ---------------------------------------------------------------------------- output helpers
def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf as ``None``, numpy scalars as Python numbers, dates as ISO text (recursively)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, date)):
        return value.isoformat()
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [json_safe(record) for record in frame.astype(object).to_dict(orient="records")]


def _missing(value: Any) -> bool:
    """A figure the data cannot fill: ``None`` or NaN (pandas turns ``None`` into NaN in a number column)."""
    return value is None or (isinstance(value, (float, np.floating)) and not math.isfinite(value))


def _iso(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()
