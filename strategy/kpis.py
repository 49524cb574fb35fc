"""Collections KPIs month over month, by persona, arm and run: one long table for charts and download.

A *chain* is a run and the runs applied to the following months (each one's ``parent_run_id`` is
the run before it); month 1 is the first run of the chain. Per month, persona and arm (and for
every arm together, ``arm == "all"``, and for the whole portfolio, ``persona_id`` ``None``):

``recovery_rate``
    Amount collected (net payments loaded into that month's run) / the opening balance (the run's
    kept portfolio).
``cure_rate``
    Share of the accounts past due at the start of the month that paid in full (net payments >=
    balance − 0.01) or are current in the next month's run (days past due <= 0). Computed from
    what exists (payments, next month, or both; the ``note`` says which); not available with neither.
``roll_rate`` (with ``from_bucket``, ``to_bucket``)
    Share of the month's accounts in a days-past-due bucket that are in ``to_bucket`` next month,
    matched by account id (``"left"``: not in next month's portfolio). Buckets: current, 1-30,
    31-60, 61-90, 91-180, 181-360, >360 days.
``roll_forward_rate`` (with ``from_bucket``)
    Share of a bucket's accounts in a worse bucket next month.
``promise_kept_rate``
    Share of promises to pay kept; needs a column of promises made, which the portfolio model does
    not know yet (it knows broken promises only): not available, never 0.
``contact_cost``, ``cost_per_eur_collected``
    Planned contact cost (see :mod:`strategy.readout`) and that cost per € collected, where a cost
    per channel and the arms' journeys are given.

Every row has ``value`` (``None`` when not available), ``numerator``, ``denominator`` and ``note``.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.i18n import N_, persona_name
from portfolio.roles import Role
from strategy.readout import account_outcomes, json_safe
from strategy.settings import normalise_channel_costs
from strategy.texts import Text, TextList

BUCKETS = ("current", "1-30", "31-60", "61-90", "91-180", "181-360", ">360")
_EDGES = (0, 30, 60, 90, 180, 360)
LEFT = "left"
PAID_IN_FULL_TOLERANCE = 0.01  #: EUR: a payment this close to the balance counts as paid in full
COLUMNS = ("month", "run_id", "persona_id", "persona_name", "arm", "kpi", "from_bucket", "to_bucket", "value",
           "numerator", "denominator", "note")


def dpd_bucket(days_past_due: pd.Series) -> pd.Series:
    """Days past due as buckets (current, 1-30, ..., >360); missing stays missing."""
    days = pd.to_numeric(days_past_due, errors="coerce")
    labels = np.select([days <= edge for edge in _EDGES], BUCKETS[:-1], default=BUCKETS[-1]).astype(object)
    labels[days.isna().to_numpy()] = None
    return pd.Series(labels, index=days_past_due.index, dtype="object")


def kpis(chain: list[Any], outcomes: dict[str, pd.DataFrame], *,
         experiments: dict[str, dict[int, Any]] | None = None, arms: dict[str, pd.Series] | None = None,
         costs: dict[str, float] | None = None,
         contacts: dict[str, dict[tuple[int, str], dict[str, float]]] | None = None,
         window: tuple[date | None, date | None] | None = None) -> pd.DataFrame:
    """KPIs of a chain of runs (oldest first) in long format (see the module docstring).

    Parameters
    ----------
    chain : list of RunView
        Month 1 first; a run counts as the next month of the one before it when its
        ``parent_run_id`` says so.
    outcomes : dict
        ``{run_id: payments}`` (:func:`strategy.outcomes.read_outcomes`); a run without payments
        has no recovery rate.
    experiments, arms : dict, optional
        Per run id: ``{persona_id: Experiment}`` or the arm of each account (indexed by account id).
        Without either every account is champion.
    costs, contacts : dict, optional
        Cost per contact by channel, and per run id ``{(persona_id, arm): {channel: contacts per account}}``.
    window : optional
        First and last payment date counted.
    """
    costs = normalise_channel_costs(costs or {})
    records: list[dict[str, Any]] = []
    for position, run in enumerate(chain):
        following = chain[position + 1] if position + 1 < len(chain) else None
        if following is not None and following.parent_run_id != run.run_id:
            following = None
        payments = outcomes.get(run.run_id)
        frame = account_outcomes(run, payments, (experiments or {}).get(run.run_id, {}),
                                 arms=(arms or {}).get(run.run_id), window=window)
        frame = _with_next_month(frame, run, following)
        names = {int(p["persona_id"]): persona_name(p) for p in run.profiles}
        context = {"month": position + 1, "run_id": run.run_id, "has_payments": payments is not None,
                   "following": following, "costs": costs, "contacts": (contacts or {}).get(run.run_id) or {}}
        for persona_id, arm, group in _groups(frame):
            base = {"month": position + 1, "run_id": run.run_id, "persona_id": persona_id,
                    "persona_name": names.get(persona_id) if persona_id is not None else "all personas", "arm": arm}
            records += [{**base, **row} for row in _group_kpis(group, persona_id, arm, context)]
    table = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    # persona_id stays int or None (the whole portfolio), not a float with NaN
    table["persona_id"] = pd.Series([r["persona_id"] for r in records], dtype="object")
    return table.astype({"month": "int64"}) if len(table) else table


def kpis_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The KPI table as JSON-safe records (``None`` for not available)."""
    return [json_safe(record) for record in table.astype(object).to_dict(orient="records")]


def run_chain(run_dir: str | Path) -> list[Any]:
    """The run's chain in its runs folder, oldest first: its ancestors, the run, and the runs applied after it
    (the newest child at each step). Every run is opened verified."""
    from runs import list_runs
    from strategy.run_view import load_run_view

    start = load_run_view(run_dir)
    infos = [info for info in list_runs(Path(start.run_dir).parent) if info.problem is None]
    by_id = {info.run_id: info for info in infos}
    chain = [start]
    while chain[0].parent_run_id in by_id and len(chain) < 240:
        chain.insert(0, load_run_view(by_id[chain[0].parent_run_id].path))
    while len(chain) < 240:
        children = [info for info in infos if info.parent_run_id == chain[-1].run_id]
        if not children:
            break
        chain.append(load_run_view(max(children, key=lambda info: info.created_at).path))
    return chain


# ---------------------------------------------------------------------------- per account
def _with_next_month(frame: pd.DataFrame, run: Any, following: Any) -> pd.DataFrame:
    frame = frame.copy()
    frame["bucket"] = _buckets_of(run, frame["account_id"])
    frame["next_bucket"] = None
    if following is not None:
        nxt = _buckets_of(following, frame["account_id"])
        frame["next_bucket"] = nxt.where(nxt.notna(), LEFT)
        held = set(following.accounts["account_id"].astype(str))
        missing_dpd = frame["next_bucket"].eq(LEFT) & frame["account_id"].isin(held)
        frame.loc[missing_dpd, "next_bucket"] = None  # in next month but without days past due: unknown
    frame["paid_in_full"] = (frame["balance"] > 0) & (frame["net"] >= frame["balance"] - PAID_IN_FULL_TOLERANCE)
    return frame


def _buckets_of(run: Any, account_ids: pd.Series) -> pd.Series:
    portfolio = getattr(run, "portfolio", None)
    if portfolio is None or Role.DAYS_PAST_DUE not in portfolio.columns:
        return pd.Series(None, index=account_ids.index, dtype="object")
    buckets = dpd_bucket(portfolio[Role.DAYS_PAST_DUE])
    by_id = pd.Series(buckets.to_numpy(), index=portfolio[Role.ACCOUNT_ID].astype(str))
    by_id = by_id[~by_id.index.duplicated()]
    return account_ids.map(by_id)


def _groups(frame: pd.DataFrame):
    """(persona_id, arm, rows): the whole portfolio, each persona, and each persona's arms."""
    yield None, "all", frame
    for persona_id, group in frame.groupby("persona_id", sort=True):
        yield int(persona_id), "all", group
        for arm, part in group.groupby("arm", sort=True):
            yield int(persona_id), str(arm), part


# ---------------------------------------------------------------------------- one group
def _not_available(why: str) -> Text:
    """"not available: <why>" (``why`` marked with ``N_``); shown in the reader's language."""
    return Text(N_("not available: {why}"), why=Text(why))


def _row(kpi: str, value: float | None, numerator: float | None, denominator: float | None, note: str = "",
         from_bucket: str | None = None, to_bucket: str | None = None) -> dict[str, Any]:
    return {"kpi": kpi, "from_bucket": from_bucket, "to_bucket": to_bucket, "value": value,
            "numerator": numerator, "denominator": denominator, "note": note}


def _group_kpis(group: pd.DataFrame, persona_id: int | None, arm: str, context: dict) -> list[dict[str, Any]]:
    rows = [_recovery(group, context), _cure(group, context), _promise_kept(context)]
    rows += _costs(group, persona_id, arm, context)
    rows += _rolls(group, context)
    return rows


def _recovery(group: pd.DataFrame, context: dict) -> dict[str, Any]:
    if not context["has_payments"]:
        return _row("recovery_rate", None, None, None, _not_available(N_("no payments loaded for this run")))
    balance = group["balance"]
    if balance.isna().any() or balance.sum() <= 0:
        return _row("recovery_rate", None, float(group["net"].sum()), None,
                    _not_available(N_("the run keeps no opening balance for these accounts")))
    collected, opening = float(group["net"].sum()), float(balance.sum())
    return _row("recovery_rate", collected / opening, collected, opening, Text(N_("collected / opening balance")))


def _cure(group: pd.DataFrame, context: dict) -> dict[str, Any]:
    has_next = context["following"] is not None
    if not context["has_payments"] and not has_next:
        return _row("cure_rate", None, None, None,
                    _not_available(N_("no payments loaded and no next month yet")))
    # who can be cured: accounts past due at the start (all of them when the run keeps no days past due)
    group = group[group["bucket"].ne("current")]
    cured = pd.Series(False, index=group.index)
    evidence = []
    if context["has_payments"]:
        cured |= group["paid_in_full"].fillna(False).astype(bool)
        evidence.append(Text(N_("paid in full")))
    if has_next:
        cured |= group["next_bucket"].eq("current")
        evidence.append(Text(N_("current next month")))
    n = len(group)
    missing = "" if len(evidence) == 2 else (Text(N_(" (no next month yet)")) if not has_next else
                                              Text(N_(" (no payments loaded)")))
    note = Text("{evidence}{missing}", evidence=TextList(evidence, " or ") if len(evidence) < 2 else
                Text(N_("{first} or {second}"), first=evidence[0], second=evidence[1]), missing=missing)
    return _row("cure_rate", float(cured.sum()) / n if n else None, float(cured.sum()), float(n), note)


def _promise_kept(context: dict) -> dict[str, Any]:
    return _row("promise_kept_rate", None, None, None,
                _not_available(N_("the portfolio has no column of promises made (the column model knows broken "
                                  "promises only), so no kept share can be computed")))


def _costs(group: pd.DataFrame, persona_id: int | None, arm: str, context: dict) -> list[dict[str, Any]]:
    costs, contacts = context["costs"], context["contacts"]
    if not costs:
        note = _not_available(N_("no cost per channel configured"))
        return [_row("contact_cost", None, None, None, note), _row("cost_per_eur_collected", None, None, None, note)]
    total = 0.0
    for (pid, arm_name), part in group.groupby(["persona_id", "arm"]):
        per_account = contacts.get((int(pid), str(arm_name)))
        if per_account is None or any(count and channel not in costs for channel, count in per_account.items()):
            note = _not_available(N_("the journeys of these arms were not given or use a channel without a cost"))
            return [_row("contact_cost", None, None, None, note), _row("cost_per_eur_collected", None, None, None, note)]
        total += len(part) * sum(count * costs[channel] for channel, count in per_account.items())
    collected = float(group["net"].sum())
    per_eur = total / collected if context["has_payments"] and collected > 0 else None
    note = "" if per_eur is not None else _not_available(N_("nothing collected"))
    return [_row("contact_cost", round(total, 2), round(total, 2), None,
                 Text(N_("planned contacts x cost per contact"))),
            _row("cost_per_eur_collected", per_eur, round(total, 2), collected if per_eur else None, note)]


def _rolls(group: pd.DataFrame, context: dict) -> list[dict[str, Any]]:
    if context["following"] is None:
        return [_row("roll_rate", None, None, None, _not_available(N_("no next month applied to this run yet")))]
    if group["bucket"].isna().all():
        return [_row("roll_rate", None, None, None, _not_available(N_("the run keeps no days past due")))]
    rows = []
    order = {b: i for i, b in enumerate(BUCKETS)}
    for from_bucket in BUCKETS:
        members = group[group["bucket"] == from_bucket]
        if not len(members):
            continue
        known = members[members["next_bucket"].notna()]
        n = len(known)
        if not n:
            continue
        for to_bucket in BUCKETS + (LEFT,):
            count = int((known["next_bucket"] == to_bucket).sum())
            if count:
                rows.append(_row("roll_rate", count / n, float(count), float(n), "", from_bucket, to_bucket))
        worse = int(known["next_bucket"].map(lambda b: b in order and order[b] > order[from_bucket]).sum())
        rows.append(_row("roll_forward_rate", worse / n, float(worse), float(n),
                         Text(N_("share in a worse bucket next month")), from_bucket, None))
    return rows
