"""Tables and charts of the monthly cycle for the Drift and KPIs pages: built here, laid out there.

The Drift page reads the ``drift.json`` an ``apply`` wrote into the new run; the KPIs page reads the
run's chain (the run, the runs it was applied from and the runs applied after it), the payments
loaded into each run and the approved experiments. Every chart sizes itself to its rows so that
each label shows, and nothing is drawn that the data cannot fill: a KPI that is not available is
listed as such, never plotted as 0.
"""
from __future__ import annotations

from typing import Any

import re

import altair as alt
import pandas as pd

from core.formats import format_count, format_percent, localise_chart
from core.i18n import N_, _, ngettext
from strategy.readout import VERDICTS
from strategy.readout import arm_label as readout_arm_label
from strategy.texts import decode_all, render, render_stored

DRIFT_FILE = "drift.json"
ROW_PX = 26  #: height per labelled row of a horizontal chart
LABEL_LIMIT = 320  #: px for an axis label before it is cut (persona names, feature names)

#: KPI names in English (catalogue source); show them with :func:`kpi_label` (the reader's language).
KPI_LABELS = {
    "recovery_rate": N_("Recovery rate (collected / opening balance)"),
    "cure_rate": N_("Cure rate (paid in full or current next month)"),
    "roll_forward_rate": N_("Roll-forward rate (to a worse days-past-due bucket)"),
    "promise_kept_rate": N_("Promise-kept rate"),
    "cost_per_eur_collected": N_("Contact cost per € collected"),
    "contact_cost": N_("Planned contact cost"),
    "roll_rate": N_("Roll rate between days-past-due buckets"),
}
PERCENT_KPIS = {"recovery_rate", "cure_rate", "roll_forward_rate", "promise_kept_rate", "roll_rate"}
#: Values of drift.json and the read-out shown in words.
LEVEL_LABELS = {"stable": N_("stable"), "moderate": N_("moderate"), "major": N_("major")}
ALL_ARMS = N_("all arms")  #: the KPI rows over every arm (the arms themselves: strategy.readout.arm_label)
READOUT_COLUMNS = {
    "persona_id": N_("Persona"), "persona_name": N_("Persona name"), "arm": N_("Arm"), "accounts": N_("Accounts"),
    "paying_accounts": N_("Paying accounts"), "pay_rate": N_("Pay rate"), "pay_rate_low": N_("Pay rate, 95 % low"),
    "pay_rate_high": N_("Pay rate, 95 % high"), "collected": N_("Collected"), "balance": N_("Opening balance"),
    "collected_per_eur": N_("Collected per € of balance"), "contact_cost": N_("Contact cost"),
    "cost_per_eur_collected": N_("Contact cost per € collected"), "experiment_id": N_("Experiment"),
    "comparison": N_("Comparison"), "accounts_a": N_("Accounts (first arm)"),
    "accounts_b": N_("Accounts (second arm)"), "pay_rate_a": N_("Pay rate (first arm)"),
    "pay_rate_b": N_("Pay rate (second arm)"), "pay_rate_difference": N_("Pay rate difference"),
    "collected_per_eur_difference": N_("Collected per € difference"),
    "collected_per_eur_low": N_("Collected per € difference, 95 % low"),
    "collected_per_eur_high": N_("Collected per € difference, 95 % high"),
    "min_sample_per_arm": N_("Minimum sample per arm"), "min_sample_source": N_("Minimum sample from"),
    "verdict": N_("Verdict (pay rate)"), "collected_verdict": N_("Verdict (collected per €)"),
}


def kpi_label(kpi: str) -> str:
    """A KPI's name in the reader's language."""
    return _(KPI_LABELS[kpi]) if kpi in KPI_LABELS else kpi


def level_label(level: str) -> str:
    """A drift level ("stable", "moderate", "major") in words of the reader's language."""
    return _(LEVEL_LABELS[level]) if level in LEVEL_LABELS else level


def arm_label(arm: str) -> str:
    return _(ALL_ARMS) if arm == "all" else readout_arm_label(arm)


def verdict_label(verdict: Any) -> Any:
    """A read-out verdict in words; "too few accounts (n of N needed)" keeps its figures."""
    if not isinstance(verdict, str):
        return verdict
    if hasattr(verdict, "render"):  # the read-out's own text (strategy.readout.verdict)
        return render(verdict)
    if verdict in VERDICTS:
        return _(VERDICTS[verdict])
    few = re.fullmatch(r"too few accounts \(([\d,]+) of ([\d,]+) needed\)", verdict)
    if few:
        n, needed = (int(x.replace(",", "")) for x in few.groups())
        return _("too few accounts ({n} of {needed} needed)").format(n=format_count(n), needed=format_count(needed))
    return verdict


def shown_texts(english: Any, codes: Any) -> list[str]:
    """Stored texts of ``drift.json`` (a list of English sentences and, beside it, their language-neutral
    forms) in the reader's language; a report written before the forms existed shows its English."""
    return [render(text) for text in decode_all(list(english or []), codes)]


def shown_text(record: dict[str, Any] | None, key: str) -> str:
    """One stored text of a ``drift.json`` record (``key`` and ``key + "_text"``) in the reader's language."""
    record = record or {}
    return render_stored(record.get(key) or "", record.get(f"{key}_text"))


def drift_reasons(drift: dict[str, Any]) -> list[str]:
    """Why personas go back to review, in the reader's language."""
    return shown_texts(drift.get("reasons"), drift.get("reasons_text"))


def drift_warnings(drift: dict[str, Any]) -> list[str]:
    """Notes that send nobody back (a major feature shift by default), in the reader's language."""
    return shown_texts(drift.get("warnings"), drift.get("warnings_text"))


def drift_methods(drift: dict[str, Any]) -> dict[str, str]:
    """How the report measured (interval, PSI, far), in the reader's language."""
    codes = drift.get("methods_text") or {}
    return {name: render_stored(text, codes.get(name)) for name, text in (drift.get("methods") or {}).items()}


def drift_of(run_view: Any) -> dict[str, Any] | None:
    """The run's drift report (written by ``apply``), or ``None`` for a run that was not applied."""
    folder = getattr(run_view, "folder", None)
    if folder is None or not folder.has(DRIFT_FILE):
        return None
    return folder.read_json(DRIFT_FILE)


def drift_headline(drift: dict[str, Any]) -> tuple[bool, str]:
    """(review needed, one sentence) for the top of the Drift page."""
    n_review = len(drift.get("review_personas") or [])
    accounts = drift.get("accounts") or {}
    scope = _("{new} accounts this month against {base} in base run {run}").format(
        new=format_count(accounts.get("new", 0)), base=format_count(accounts.get("base", 0)),
        run=drift.get("base_run_id", "?"))
    if not drift.get("review_needed"):
        return False, _("No drift beyond the thresholds ({scope}): approvals carried over.").format(scope=scope)
    return True, ngettext("{n} persona goes back to review ({scope}): its strategy needs a fresh four-eyes "
                          "approval before export.",
                          "{n} personas go back to review ({scope}): their strategies need a fresh four-eyes "
                          "approval before export.", n_review).format(n=n_review, scope=scope)


def persona_drift_table(drift: dict[str, Any]) -> pd.DataFrame:
    """One row per persona: shares then and now with the interval, shift and the decision in words."""
    rows = []
    for p in drift.get("personas") or []:
        rows.append({
            _("Persona"): f"{p['persona_id']}: {p.get('name') or ''}".rstrip(": "),
            _("Base share"): p["base_share"], _("New share"): p["new_share"],
            _("95 % interval (new)"): f"{format_percent(p['low'])} – {format_percent(p['high'])}",
            _("Shift (points)"): p["shift_pp"], _("Accounts now"): p["new_accounts"],
            _("Far from every persona"): p.get("far_share"),
            _("Back to review"): _("yes") if p["review_needed"] else _("no"),
            _("Why"): shown_text(p, "reason"),
        })
    return pd.DataFrame(rows)


def persona_share_chart(drift: dict[str, Any]) -> alt.Chart:
    """Base share (grey tick) against the new share with its 95 % interval, one row per persona;
    red where the persona goes back to review."""
    personas = drift.get("personas") or []
    data = pd.DataFrame([{
        "persona": f"{p['persona_id']}: {p.get('name') or ''}".rstrip(": "),
        "base": p["base_share"], "new": p["new_share"], "low": p["low"], "high": p["high"],
        "decision": _("back to review") if p["review_needed"] else _("carried over"),
    } for p in personas])
    if data.empty:
        return alt.Chart(pd.DataFrame({"x": []})).mark_point()
    y = alt.Y("persona:N", sort=None, title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT))
    colour = alt.Color("decision:N", title=_("Decision"),
                       scale=alt.Scale(domain=[_("carried over"), _("back to review")], range=["#4c78a8", "#e45756"]))
    interval = alt.Chart(data).mark_rule(strokeWidth=2).encode(
        y=y, x=alt.X("low:Q", title=_("Share of accounts"), axis=alt.Axis(format="%")), x2="high:Q", color=colour)
    new = alt.Chart(data).mark_point(filled=True, size=80).encode(
        y=y, x="new:Q", color=colour,
        tooltip=[alt.Tooltip("persona:N", title=_("Persona")),
                 alt.Tooltip("base:Q", format=".1%", title=_("base share")),
                 alt.Tooltip("new:Q", format=".1%", title=_("new share")),
                 alt.Tooltip("low:Q", format=".1%", title=_("95 % low")),
                 alt.Tooltip("high:Q", format=".1%", title=_("95 % high")),
                 alt.Tooltip("decision:N", title=_("Decision"))])
    base = alt.Chart(data).mark_tick(color="#555", thickness=2, size=18).encode(
        y=y, x="base:Q", tooltip=[alt.Tooltip("base:Q", format=".1%", title=_("base share"))])
    return localise_chart((interval + new + base).properties(
        height=max(120, ROW_PX * len(data)),
        title=_("Persona shares: base run (grey tick) and this month (point, 95 % interval)")))


def feature_drift_table(drift: dict[str, Any]) -> pd.DataFrame:
    """One row per model column: its PSI and the level in words (columns ``Feature``, ``PSI``, ``Level``;
    show them with :func:`feature_drift_labels`)."""
    rows = [{"Feature": f["feature"], "PSI": f["psi"], "Level": level_label(f["level"])}
            for f in drift.get("features") or []]
    return pd.DataFrame(rows, columns=["Feature", "PSI", "Level"]).sort_values("PSI", ascending=False)


def feature_drift_labels() -> dict[str, str]:
    """Column headers of :func:`feature_drift_table` in the reader's language."""
    return {"Feature": _("Feature"), "PSI": _("PSI"), "Level": _("Shift")}


def psi_chart(drift: dict[str, Any]) -> alt.Chart:
    """Population stability index per feature with the two thresholds drawn."""
    table = feature_drift_table(drift)
    thresholds = drift.get("thresholds") or {}
    moderate = float(thresholds.get("psi_moderate", 0.10))
    major = float(thresholds.get("psi_major", 0.25))
    if table.empty:
        return alt.Chart(pd.DataFrame({"x": []})).mark_point()
    levels = [_(LEVEL_LABELS[k]) for k in ("stable", "moderate", "major")]
    bars = alt.Chart(table).mark_bar().encode(
        y=alt.Y("Feature:N", sort="-x", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)),
        x=alt.X("PSI:Q", title=_("Population stability index (base → this month)")),
        color=alt.Color("Level:N", title=_("Shift"), scale=alt.Scale(
            domain=levels, range=["#4c78a8", "#f58518", "#e45756"])),
        tooltip=[alt.Tooltip("Feature:N", title=_("Feature")), alt.Tooltip("PSI:Q", format=".3f"),
                 alt.Tooltip("Level:N", title=_("Shift"))])
    rules = alt.Chart(pd.DataFrame({"PSI": [moderate, major], "label": levels[1:]})).mark_rule(
        strokeDash=[4, 3], color="#555").encode(x="PSI:Q", tooltip=[alt.Tooltip("label:N", title=_("Threshold")),
                                                                    "PSI:Q"])
    return localise_chart((bars + rules).properties(
        height=max(120, ROW_PX * len(table)),
        title=_("Feature drift (dashed: PSI {moderate} moderate, {major} major)").format(
            moderate=_number(moderate), major=_number(major))))


def _number(value: float) -> str:
    """A threshold as the reader writes it (0.1 -> "0,1" in German)."""
    from core.formats import format_number

    text = format_number(value, decimals=3)
    return text.rstrip("0").rstrip(",.") if any(sep in text for sep in ",.") else text


def risk_drift_lines(drift: dict[str, Any]) -> list[str]:
    """The risk score's shift in sentences; AUC and calibration only when payments made them measurable."""
    risk = drift.get("risk") or {}
    from core.formats import format_number

    if not risk.get("available"):
        return [_("The base run has no risk model: no score drift to report.")]
    lines = []
    if risk.get("score_psi") is not None:
        level = risk.get("score_level", "?")
        lines.append(_("Risk score distribution: PSI {psi} ({level}).").format(
            psi=format_number(risk["score_psi"], decimals=3),
            level=level_label(level)))
    if risk.get("mean_base") is not None:
        shift = format_number(risk["mean_shift"] * 100, decimals=1)
        lines.append(_("Mean risk score {base} in the base run, {new} this month (shift {shift} points).").format(
            base=format_percent(risk["mean_base"]), new=format_percent(risk["mean_new"]),
            shift=shift if shift.startswith("-") else "+" + shift))
    outcome = risk.get("outcomes")
    if isinstance(outcome, dict) and outcome.get("auc") is not None:
        cv = outcome.get("cv_auc")
        lines.append(_("Against the payments loaded into the base run ({n} accounts): AUC {auc}{cv}; mean score "
                       "{score} against an observed not-paid rate of {rate}.").format(
            n=format_count(outcome["accounts"]), auc=format_number(outcome["auc"], decimals=3),
            cv=_(", cross-validated at fit {cv}").format(cv=format_number(cv, decimals=3)) if cv is not None else "",
            score=format_percent(outcome["mean_score"]), rate=format_percent(outcome["not_paid_rate"])))
    elif isinstance(outcome, dict):
        lines.append(_("Payments loaded into the base run, but no AUC: {note}.").format(
            note=shown_text(outcome, "note") or _("not measurable")))
    else:
        lines.append(_("No payments loaded into the base run yet: AUC and calibration against outcomes are "
                       "not available (load them with `personas outcomes load`)."))
    lines += [_("Review: {reason}").format(reason=reason)
              for reason in shown_texts(risk.get("reasons"), risk.get("reasons_text"))]
    return lines


# ---------------------------------------------------------------------------- KPIs
#: Overview columns in the order a collections manager reads them.
KPI_ORDER = ("recovery_rate", "cure_rate", "roll_forward_rate", "promise_kept_rate", "contact_cost",
             "cost_per_eur_collected")


def kpi_overview(table: pd.DataFrame) -> pd.DataFrame:
    """Whole portfolio, every arm: one row per month, one column per KPI ('not available' stays empty)."""
    if table.empty:
        return pd.DataFrame()
    whole = table[table["persona_id"].isna() & (table["arm"] == "all") & (table["kpi"] != "roll_rate")].copy()
    whole["value"] = pd.to_numeric(whole["value"], errors="coerce")  # None (not available) -> NaN, shown empty
    wide = whole.pivot_table(index="month", columns="kpi", values="value", aggfunc="first", dropna=False)
    # A KPI no month can fill is listed under the table with its reason, not shown as a column of blanks.
    order = [k for k in (*KPI_ORDER, *sorted(wide.columns)) if k in wide.columns and wide[k].notna().any()]
    wide = wide[list(dict.fromkeys(order))].rename(columns=kpi_label)
    return wide.reset_index().rename(columns={"month": _("Month")})


def kpi_chart(table: pd.DataFrame, kpi: str, by: str = "persona") -> alt.Chart | None:
    """One KPI month over month, a line per persona (or per arm); ``None`` when no value is available."""
    rows = table[(table["kpi"] == kpi) & table["value"].notna()].copy()
    if by == "arm":
        rows = rows[rows["persona_id"].isna()]
        rows["series"] = rows["arm"].map(arm_label)
    else:
        rows = rows[rows["arm"] == "all"]
        rows["series"] = [(_("all personas") if pd.isna(pid) else f"{int(pid)}: {name}")
                          for pid, name in zip(rows["persona_id"], rows["persona_name"])]
    if rows.empty:
        return None
    rows["value"] = rows["value"].astype(float)
    rows["note"] = rows["note"].map(render)  # in the reader's language (the table keeps the English)
    fmt = "%" if kpi in PERCENT_KPIS else ",.2f"
    mark = alt.Chart(rows).mark_line(point=True) if rows["month"].nunique() > 1 else alt.Chart(rows).mark_point(
        filled=True, size=90)
    return localise_chart(mark.encode(
        x=alt.X("month:O", title=_("Month of the chain")),
        y=alt.Y("value:Q", title=kpi_label(kpi), axis=alt.Axis(format=fmt)),
        color=alt.Color("series:N", title=_("Persona") if by != "arm" else _("Arm"),
                        legend=alt.Legend(labelLimit=LABEL_LIMIT)),
        tooltip=[alt.Tooltip("month:O", title=_("Month")), alt.Tooltip("series:N", title=_("Series")),
                 alt.Tooltip("value:Q", format=".2%" if fmt == "%" else ",.2f", title=_("Value")),
                 alt.Tooltip("numerator:Q", title=_("Numerator")),
                 alt.Tooltip("denominator:Q", title=_("Denominator")), alt.Tooltip("note:N", title=_("Note"))],
    ).properties(height=260, title=kpi_label(kpi)))


def roll_rate_matrix(table: pd.DataFrame, month: int) -> pd.DataFrame:
    """From-bucket × to-bucket roll rates of one month (whole portfolio), as shares."""
    rows = table[(table["kpi"] == "roll_rate") & (table["month"] == month) & table["persona_id"].isna()
                 & (table["arm"] == "all")]
    if rows.empty:
        return pd.DataFrame()
    matrix = rows.pivot_table(index="from_bucket", columns="to_bucket", values="value", aggfunc="first")
    from strategy.kpis import BUCKETS, LEFT

    order = [b for b in BUCKETS if b in matrix.index]
    columns = [b for b in (*BUCKETS, LEFT) if b in matrix.columns]
    words = {"current": _("current"), LEFT: _("left")}
    matrix = matrix.reindex(index=order, columns=columns)
    matrix = matrix.rename(index=lambda b: words.get(b, b), columns=lambda b: words.get(b, b))
    matrix.index.name, matrix.columns.name = _("From (days past due)"), _("To next month")
    return matrix


def unavailable_kpis(table: pd.DataFrame) -> list[str]:
    """KPIs that no month can fill, with the reason the table gives."""
    out = []
    for kpi, rows in table.groupby("kpi"):
        if rows["value"].isna().all():
            note = next((n for n in rows["note"] if isinstance(n, str) and n), None)
            why = getattr(note, "params", {}).get("why") if getattr(note, "code", "") == "not available: {why}" \
                else None
            if why is not None:  # the table's notes start with "not available" already
                note = render(why)
            else:
                note = re.sub(r"^not available:\s*", "", render(note)) if note else _("no data")
            out.append(_("{kpi}: not available ({why})").format(kpi=kpi_label(kpi), why=note))
    return out


def readout_tables(result: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The read-out's arm rows and comparisons with readable headers and values in the reader's language."""
    def readable(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for column in ("verdict", "collected_verdict"):
            if column in frame:
                frame[column] = frame[column].map(verdict_label)
        if "arm" in frame:
            frame["arm"] = frame["arm"].map(arm_label)
        if "min_sample_source" in frame:
            frame["min_sample_source"] = frame["min_sample_source"].map(render)
        return frame.rename(columns=lambda c: _(READOUT_COLUMNS[c]) if c in READOUT_COLUMNS
                            else c.replace("_", " ").capitalize())

    return readable(result.rows), readable(result.differences)


def strategy_states(store: Any, run_view: Any) -> pd.DataFrame:
    """Where each persona's strategy stands in this run after the carry-over: approved (carried), back to
    review (with why: drift, or a guardrail that fails on this month's accounts), or none yet."""
    mappings = {m.persona_id: m for m in store.list_mappings(run_view)}
    rows = []
    for profile in run_view.profiles:
        pid = int(profile["persona_id"])
        mapping = mappings.get(pid)
        state = _("no strategy") if mapping is None else {
            "approved": _("approved"), "proposed": _("back to review"), "draft": _("draft"),
            "rejected": _("rejected")}.get(mapping.state, mapping.state)
        rows.append({_("Persona"): f"{pid}: {profile.get('name') or ''}".rstrip(": "), _("Strategy"): state,
                     _("Approved by"): (mapping.approved_by or "") if mapping else "",
                     _("Why"): render(mapping.reason) if mapping else ""})
    return pd.DataFrame(rows)
