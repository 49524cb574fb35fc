"""What the Portfolio page shows, built here and laid out there (``app_pages/1_portfolio.py``).

The page only places widgets; the choices behind them live here so they can be tested without a
browser: which row counts stand above the page, the column table with its reasons in the reader's
language, the rows excluded per reason, which blocking message names the way out, how an outcome
column is asked about and described, what the currency line says, the overview charts, and the
message after a saved run was applied to the file. Texts are English msgids translated with
:func:`core.i18n._` when a function is called, so each renders in the page's language.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from core.formats import format_count, localise_chart
from core.i18n import N_, _
from core.workspace import runs_dir
from portfolio.columns import column_table, meanings_of
from portfolio.currency import normalise_code
from portfolio.reason_text import reason_text
from portfolio.report import excluded_reason_text, rows_summary
from portfolio.target import EVENT_WORDS as CODING_WORDS
from portfolio.validate import app_text
from runs import new_run_id

#: The event a value of the outcome column records, as the page's radio offers it.
EVENT_WORDS = {"paid": N_("the account was paid"), "default": N_("the account was not paid")}
#: The same events in the caption under a checked outcome (``CODING_WORDS``, as ``portfolio.target``
#: says them): "NOT" stands out where the coding is read.
#: Roles a user may give a column in the table (every ``portfolio.decide.Role``), in the order offered.
ROLE_OPTIONS = ["account_id", "balance", "days_past_due", "feature", "pii", "sensitive", "target",
                "truth", "excluded"]
#: More accounts than this are drawn from a fixed random sample: the browser stays quick at 100k rows.
CHART_ROWS = 5000


def row_metrics(report: Any) -> list[tuple[str, str, str | None]]:
    """``(label, value, help)`` of the row counts above the page.

    A file that cannot be used shows 0 usable rows and no excluded count: never a count of usable
    rows beside "cannot be used"."""
    read = (_("Rows read"), format_count(report.n_rows_read), None)
    if not report.is_usable:
        return [read, (_("Usable rows"), format_count(0),
                       _("None until the blocking problems under Validation are fixed."))]
    return [read, (_("Usable rows"), format_count(report.n_rows_usable), None),
            (_("Excluded rows"), format_count(len(report.excluded_rows)), None)]


def role_table(roles: Any, report: Any, language: str) -> pd.DataFrame:
    """The editable column table, its reasons in ``language``; the reason is only shown, so
    translating it cannot turn into a mapping change."""
    table = column_table(roles, report)
    table["reason"] = table["reason"].map(lambda reason: reason_text(reason, language))
    return table


def merged_mapping(mapping_json: str, changed: dict[str, Any]) -> dict[str, Any]:
    """The portfolio's mapping with the user's corrections on top: earlier corrections stay."""
    return {**json.loads(mapping_json), **changed}


def problem_messages(report: Any, language: str) -> list[tuple[str, str]]:
    """``(kind, text)`` of the validation section: errors first, then warnings, each in ``language``;
    ``kind`` is the Streamlit call that shows it (``"error"``, ``"warning"``, ``"success"``)."""
    if not report.problems:
        return [("success", _("No problems found."))]
    return ([("error", app_text(problem, language)) for problem in report.errors]
            + [("warning", app_text(problem, language)) for problem in report.warnings])


def excluded_heading(report: Any, language: str) -> str:
    """The Markdown heading over the excluded-rows table, with the rows summary of the report."""
    return _("**Rows excluded, per reason** ({summary})").format(
        summary=rows_summary(report.rows_section(), language))


def excluded_counts_table(report: Any, language: str) -> pd.DataFrame:
    """One row per exclusion reason (``reason`` in ``language``, ``rows``), in the report's order."""
    counts = report.excluded_by_reason()
    return pd.DataFrame({"reason": [excluded_reason_text(reason, language) for reason in counts],
                         "rows": list(counts.values())})


def excluded_rows_table(report: Any, language: str) -> pd.DataFrame:
    """The excluded rows with their reason in ``language`` (shown and downloaded alike)."""
    rows = report.excluded_rows
    return rows.assign(reason=rows["reason"].map(lambda reason: excluded_reason_text(reason, language)))


def unusable_text(report: Any) -> str:
    """Why the portfolio stops here and the way out: missing columns are given roles in the table on
    the page (no command-line mapping file); any other blocking problem needs a corrected file."""
    if any(problem.code == "missing_column" for problem in report.errors):
        return _("This portfolio cannot be used until the blocking problems above are fixed: give the missing "
                 "columns their roles in the column table above, or upload a corrected file.")
    return _("This portfolio cannot be used until the blocking problems above are fixed: correct the file "
             "and upload it again.")


def outcome_options(targets: list[str], current: str | None) -> tuple[list[str], int]:
    """The outcome choices (first: no outcome, personas only) and the one to show selected.

    Nothing is guessed: without an earlier choice the first, "none", is selected."""
    options = [_("(none: personas only)")] + list(targets)
    return options, options.index(current) if current in options else 0


def default_event(roles: Any, target: str) -> str:
    """The event the outcome column records before the user says otherwise: ``"default"`` for a
    column whose meaning is "not paid", else ``"paid"``."""
    return "default" if meanings_of(roles).get(target) == "outcome.not_paid" else "paid"


def event_text(event: str) -> str:
    """``"paid"``/``"default"`` as the radio shows it, in the reader's language."""
    return _(EVENT_WORDS[event])


@dataclass(frozen=True)
class EventQuestion:
    """How the page asks which way round an outcome column is.

    ``value_label`` is the question which value is the event, ``None`` when the column is 0/1 (1 is
    the event) or does not hold two values (the check then says what is wrong); ``options`` are the
    values as written in the file; ``event_label`` introduces the paid / not paid choice;
    ``unanswered`` is the warning while the value is not chosen (no run can start until it is)."""

    value_label: str | None
    options: list[str]
    event_label: str
    unanswered: str = ""

    def index_of(self, value: str | None) -> int | None:
        """Position of the value chosen before; ``None`` (nothing selected) when there is none:
        which value is the event is never guessed."""
        return self.options.index(value) if value in self.options else None


def event_question(values: Any) -> EventQuestion:
    """The question for ``values`` (:class:`portfolio.target.TargetValues`), values listed by count."""
    if values.zero_one or len(values.counts) != 2:
        return EventQuestion(None, [], _("In that column, 1 (yes) means"))
    listing = _(" and ").join(
        _("'{value}' ({n} rows)").format(value=values.shown[key], n=format_count(n))
        for key, n in sorted(values.counts.items(), key=lambda kv: -kv[1]))
    return EventQuestion(
        _("'{column}' holds {values}: which value is the event?").format(column=values.column, values=listing),
        [values.shown[key] for key in sorted(values.counts)], _("That value means"),
        _("Choose which value of '{column}' is the event; until then the risk model cannot run.").format(
            column=values.column))


def coding_caption(coding: Any) -> str:
    """The caption under a checked outcome (:class:`portfolio.target.TargetCoding`): which value
    means what, with counts, and which way the risk score runs."""
    v = coding.values
    return _("Outcome '{column}': '{event}' = {meaning} ({n} rows), '{other}' = the opposite ({m} rows). "
             "The risk score is the probability of NOT paying.").format(
        column=coding.column, event=v.shown[coding.event_value], meaning=_(CODING_WORDS[coding.event]),
        n=format_count(v.counts[coding.event_value]), other=v.shown[coding.other_value],
        m=format_count(v.counts[coding.other_value]))


def fixed_currency_note(currency: Any) -> tuple[str, str] | None:
    """``("caption" | "warning", text)`` when the portfolio itself decides the currency (one currency
    column, or several currencies), else ``None``: then the user may set it."""
    if currency.source == "column":
        return "caption", _("Currency: **{code}** (from the portfolio's currency column, the same on every "
                            "row).").format(code=currency.code)
    if currency.is_mixed:
        counts = re.search(r"\(([^()]*)\)", currency.reason)  # "EUR 10, USD 2 accounts" from the reason
        return "warning", _("Mixed currencies ({counts}): amounts cannot be summed or compared, so they are "
                            "shown without a currency.").format(counts=counts.group(1) if counts else "?")
    return None


def typed_currency(typed: str) -> tuple[str | None, str | None]:
    """``(ISO code or None, error or None)`` of what the user typed; empty means unknown, not €."""
    if not typed.strip():
        return None, None
    code = normalise_code(typed)
    if code is None:
        return None, _("'{typed}' is not a currency code; give three letters such as EUR, USD or CHF.").format(
            typed=typed)
    return code, None


def currency_caption(typed: str, label: str) -> str:
    """The line under the currency box: unknown when nothing is typed, else ``label`` (the run's
    currency as :meth:`portfolio.currency.Currency.label` words it)."""
    if not typed.strip():
        return _("Currency unknown: amounts are shown without a currency.")
    return _("Currency: **{code}** (set for this portfolio).").format(code=label)


def chart_rows(frame: pd.DataFrame, limit: int = CHART_ROWS) -> pd.DataFrame:
    """The rows the overview charts draw: all of them, or a fixed random sample of ``limit``."""
    return frame.sample(limit, random_state=0) if len(frame) > limit else frame


def sample_note(drawn: int, total: int) -> str | None:
    """The caption saying the charts are drawn from a sample, or ``None`` when they show every account."""
    if total <= drawn:
        return None
    return _("Charts drawn from a random sample of {n} of {total} accounts.").format(
        n=format_count(drawn), total=format_count(total))


def overview_charts(frame: pd.DataFrame, currency: Any, language: str) -> tuple[alt.Chart, alt.Chart, str | None]:
    """The balance and days-past-due histograms, drawn from the same rows (:func:`chart_rows`), and
    the note saying they are a sample (``None`` when they show every account)."""
    rows = chart_rows(frame)
    return (balance_chart(rows, currency, language), days_past_due_chart(rows, language),
            sample_note(len(rows), len(frame)))


def balance_chart(rows: pd.DataFrame, currency: Any, language: str) -> alt.Chart:
    """Histogram of the balances (40 bins), titled with the currency and localised for ``language``."""
    chart = alt.Chart(rows[["balance"]]).mark_bar().encode(
        alt.X("balance:Q", bin=alt.Bin(maxbins=40),
              title=_("Balance ({currency})").format(currency=currency.label(language))),
        alt.Y("count()", title=_("Accounts"))
    ).properties(title=_("Balance"))
    return localise_chart(chart, language, currency)


def days_past_due_chart(rows: pd.DataFrame, language: str) -> alt.Chart:
    """Histogram of days past due (40 bins), localised for ``language``."""
    chart = alt.Chart(rows[["days_past_due"]]).mark_bar().encode(
        alt.X("days_past_due:Q", bin=alt.Bin(maxbins=40), title=_("Days past due")),
        alt.Y("count()", title=_("Accounts")),
    ).properties(title=_("Days past due"))
    return localise_chart(chart, language)


def run_labels(runs: list[dict[str, Any]]) -> dict[str, str]:
    """Run folder -> label of the saved runs a file can inherit from; a run that fails its signature
    check is left out (it is listed, with its problem, where runs are opened)."""
    return {run["run_dir"]: run["label"] for run in runs if not run["problem"]}


def new_run_folder() -> Path:
    """Where a run applied to this file is written: a fresh run id under the workspace's runs."""
    return runs_dir() / new_run_id()


def applied_run_message(result: Any) -> tuple[bool, str]:
    """``(review needed, text)`` after a run was applied (:class:`application.apply.ApplyResult`):
    the new run, its accounts and how many personas kept their approval."""
    carry = result.carry or {}
    text = _("New run `{run}` for {n} accounts: approvals carried over for {carried} persona(s), {review} back to "
             "review. See the Drift page.").format(run=result.run_id, n=format_count(len(result.accounts)),
                                                  carried=len(carry.get("carried", [])),
                                                  review=len(carry.get("review", [])))
    return result.review_needed, text
