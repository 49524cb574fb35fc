"""The model card (Mitchell et al. 2019), written from the actual run: Markdown for people and files.

Every section is filled from the run's figures; nothing is a placeholder. The score direction is
stated in every section that shows a score. The card says truthfully where a person decides (the
persona strategy, approved per persona) and what is automated per account (score, persona, rules),
with what GDPR Art. 22 requires of that, and which columns recording rights exercised or
vulnerability were kept out of the model (or, when a setting let them in, that they were used).

The card is written in one language (``model_card(risk, language="de")``; default: the current
language of :mod:`core.i18n`): every sentence through the message catalogue, numbers, counts and
dates through :mod:`core.formats` ("0,812 (0,801–0,823)", "1.234" in German). A run folder keeps the
card it was written with (``model_card.md``); a page renders the card again, in its reader's language,
from the run's figures (:func:`model_card` with ``created=`` the run's time).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from core.formats import format_count, format_number, format_percent, format_timestamp
from core.i18n import N_, _, current_language, ngettext, resolve_language, use_language
from explain.fairness import cutoff_rule_text, group_label, proxy_basis, warning_texts
from explain.reasons import feature_label

if TYPE_CHECKING:
    from explain.risk import RiskResult

SECTIONS = (
    N_("Model details"), N_("Intended use"), N_("Out-of-scope uses"), N_("Factors"), N_("Metrics"),
    N_("Evaluation data"), N_("Training data"), N_("Data"), N_("Quantitative analyses"),
    N_("Ethical considerations"), N_("Caveats and recommendations"),
)
#: Most row numbers the Data section lists per reason (the count is always complete).
MAX_ROWS_LISTED = 1_000
DIRECTION = N_("risk score = probability that the account is NOT paid (0–1, higher = riskier)")
METRIC_NAMES = {"roc_auc": N_("ROC AUC"), "pr_auc": N_("PR AUC (average precision, event = NOT paid)"),
                "brier": N_("Brier score (lower is better)"), "log_loss": N_("Log loss (lower is better)"),
                "ks": N_("KS statistic")}
#: Column roles of the portfolio's column model, in words (the role keys stay in run.json).
ROLE_LABELS = {"account_id": N_("account id"), "balance": N_("balance"), "days_past_due": N_("days past due"),
               "pii": N_("personal data"), "sensitive": N_("protected attribute"), "target": N_("target"),
               "truth": N_("planted labels"), "feature": N_("feature"), "excluded": N_("excluded"),
               "guardrail only": N_("guardrail only")}
#: Words for protected attributes and outcomes in other languages (portfolio.meanings writes them as their keys).
PROTECTED_LABELS = {"protected.age": N_("protected: age"), "protected.sex": N_("protected: sex"),
                    "protected.marital_status": N_("protected: marital status"),
                    "protected.nationality": N_("protected: nationality"),
                    "protected.religion": N_("protected: religion"),
                    "protected.ethnicity": N_("protected: ethnicity"),
                    "protected.disability": N_("protected: disability"),
                    "protected.pregnancy": N_("protected: pregnancy"),
                    "protected.sexual_orientation": N_("protected: sexual orientation"),
                    "outcome.paid": N_("outcome: paid"), "outcome.not_paid": N_("outcome: not paid"),
                    "outcome.amount": N_("outcome: amount recovered"), "outcome": N_("outcome")}
#: The card's own reasons for a column the model does not use (the data's reasons come from portfolio/).
TARGET_REASON = N_("the outcome the model learns (--target); never an input")
TRUTH_REASON = N_("planted labels (--truth-col): evaluation only, never an input")
ID_REASON = N_("identifies the account, never an input")


def model_card(risk: "RiskResult", language: str | None = None, *, created: Any = None) -> str:
    """The model card of one run as Markdown, one ``##`` heading per Mitchell et al. section.

    ``language`` is ``"en"`` or ``"de"`` (default: the current language); ``created`` is the moment
    the run was made (default: now), written to the minute in UTC.
    """
    with use_language(resolve_language(language or current_language())):
        return _card(risk, created)


def _card(risk: "RiskResult", created: Any) -> str:
    body = {
        "Model details": _details(risk, created), "Intended use": _intended_use(risk),
        "Out-of-scope uses": _out_of_scope(), "Factors": _factors(risk), "Metrics": _metrics(risk),
        "Evaluation data": _evaluation(risk), "Training data": _training(risk), "Data": _data(risk),
        "Quantitative analyses": _quantitative(risk), "Ethical considerations": _ethics(risk),
        "Caveats and recommendations": _caveats(risk),
    }
    parts = [_("# Model card: risk of NOT paying ({target})").format(target=risk.target), "",
             f"*{_(DIRECTION)}.*", ""]
    for title in SECTIONS:
        parts += [f"## {_(title)}", "", body[title].strip(), ""]
    return "\n".join(parts)


# ---------------------------------------------------------------------------- formats
def _num(value: float, decimals: int = 3) -> str:
    return format_number(value, decimals=decimals)


def _count(value: Any) -> str:
    return format_count(value)


def _pct(value: float, decimals: int = 0) -> str:
    return format_percent(value, decimals=decimals)


def _sci(value: float) -> str:
    """``1.2e-07`` / ``1,2e-07``."""
    text = f"{value:.1e}"
    return text.replace(".", ",") if current_language() == "de" else text


def _fmt(metric: dict) -> str:
    return f"{_num(metric['value'])} ({_num(metric['ci_low'])}–{_num(metric['ci_high'])})"


def _list(items: list[str]) -> str:
    return ", ".join(items)


def _code(items: list[str]) -> str:
    return ", ".join(f"`{item}`" for item in items)


def _bullets(*lines: str) -> str:
    return "\n".join(f"- {line}" for line in lines if line)


def _created(created: Any) -> str:
    moment = dt.datetime.now(dt.timezone.utc) if created is None else created
    return format_timestamp(moment, zone=dt.timezone.utc)


# ---------------------------------------------------------------------------- sections
def _details(risk: "RiskResult", created: Any) -> str:
    cal = risk.calibration
    cats = ", ".join(risk.categorical_features) or _("none")
    calibration = (_("yes, {method}").format(method=cal["method"]) if cal["calibrated"] else _("no"))
    return _bullets(
        _("Model: scikit-learn HistGradientBoostingClassifier (gradient-boosted trees), version {version}; "
          "{fit} Boosting rounds per fold: {rounds}.").format(
            version=risk.versions.get("scikit-learn", "?"), fit=_fit_line(risk),
            rounds=", ".join(map(_count, risk.cv_iterations))),
        _("Output: {direction}. Outcome column `{target}`, read as \"{event}\".").format(
            direction=_(DIRECTION), target=risk.target, event=event_word(risk.target_event)),
        _("Features ({n}): {features}. Categorical features ({categorical}) are encoded as level codes so "
          "that SHAP values are exact.").format(n=len(risk.features), features=_code(risk.features),
                                                categorical=cats),
        _("Columns recording rights exercised or vulnerability: {line}").format(line=_rights_line(risk)),
        _("Calibration: {calibrated}; {reason}.").format(calibrated=calibration,
                                                          reason=calibration_reason(cal, risk.settings)),
        _("Explanations: {method} on the log-odds of NOT paying; base value {base} log-odds; base value + SHAP "
          "values = model output, checked to 1e-6 ({checked}; largest error {error}).").format(
            method=_shap_method(risk), base=_num(risk.shap.base_value), checked=_checked_chunks(risk),
            error=_sci(risk.shap.max_additivity_error)),
        _("Created {time} UTC by the persona-collections app; seed {seed}.").format(
            time=_created(created), seed=risk.settings.seed),
    )


def event_word(event: str) -> str:
    """How the outcome column is read: "1 = paid" / "1 = default" (German words in German)."""
    return {"paid": _("1 = paid"), "default": _("1 = default")}.get(event, f"1 = {event}")


def calibration_reason(cal: dict, settings: Any = None) -> str:
    """The calibration decision in words: the stored reason in English; in another language rebuilt
    from the recorded Brier scores (the same sentence ``explain.model`` writes)."""
    brier = cal.get("brier_by_method") or {}
    before = cal.get("brier_uncalibrated")
    if current_language() == "en" or before is None:
        return str(cal.get("reason", ""))
    if not brier:
        return _("calibration switched off in the settings")
    if cal.get("calibrated") and cal.get("method") in brier:
        return _("{method} calibration lowered the out-of-fold Brier score from {before} to {after}").format(
            method=cal["method"], before=_num(before, 4), after=_num(brier[cal["method"]], 4))
    best = min(brier, key=brier.get)
    gain = getattr(settings, "calibration_min_gain", 0.0005)
    return _("not calibrated: no method lowered the out-of-fold Brier score {before} by at least {gain} (best: "
             "{best}, {score})").format(before=_num(before, 4), gain=_num_short(gain), best=best,
                                        score=_num(brier[best], 4))


def _intended_use(risk: "RiskResult") -> str:
    return _bullets(
        _("Primary use: help risk analysts and collectors order and plan the work on delinquent accounts, and "
          "help compliance reviewers understand what drives the score. The {direction}.").format(
            direction=_(DIRECTION)),
        _("Primary users: risk analysts, compliance reviewers and managers of a collections team, trained in "
          "reading probabilities and SHAP explanations."),
        _("**What a person reviews:** the strategy of each persona (channel, tone, offer and escalation steps). "
          "An analyst proposes it and a manager approves it, persona by persona, after seeing the persona's "
          "evidence and the rule checks; compliance can veto it. A person does not look at each account when "
          "approving a persona: approving a persona's strategy is not a review of every account in it."),
        _("**What is automated per account:** the risk score (this model), the persona an account is assigned "
          "to (the persona model), and the application of the account-level rules to the approved strategy "
          "(hardship, dispute, time-barred claim, channel objection, insolvency), which removes or changes "
          "steps without a person."),
        _("**GDPR Art. 22:** no decision with a significant effect on a debtor may rest solely on this "
          "automated processing. Significant steps (court dunning, handing the claim to a collection agency, "
          "a credit-bureau report) for accounts that need review (uncertain persona assignment, or rules that "
          "could not be applied with confidence) are routed to a person before anything is sent. A debtor may "
          "ask for a person to review the treatment of their account, state their view and contest it "
          "(Art. 22(3)), and may ask which data were used and how (Art. 15: the per-account reasons below)."),
        _("Human oversight (EU AI Act Art. 14): reviewers may override or disregard the score and the proposed "
          "treatment for any persona or account (an account override needs a second person) and can stop its "
          "use."),
        _("**Automation bias:** a precise-looking number invites over-reliance. Check the reasons and the "
          "account's history before acting; a high score is not proof that a debtor will not pay."),
    )


def _out_of_scope() -> str:
    return _bullets(
        _("Any decision about a person made solely by the score, without human review (GDPR Art. 22)."),
        _("Credit decisions (granting, pricing or limiting credit), employment, housing or insurance decisions."),
        _("Choosing legal escalation, credit-bureau reporting or collection costs by the score alone; these need "
          "the legal preconditions of the domain rules (e.g. default, reminders, no dispute) checked by a "
          "person."),
        _("Use on portfolios unlike the training data (other products, countries, outcome windows) without "
          "retraining and a fresh review of this card."),
        _("Inferring or acting on protected attributes (gender, age, origin and the like)."),
    )


def _factors(risk: "RiskResult") -> str:
    attrs = [s["attribute"] for s in risk.fairness.summary]
    audited = _code(attrs) if attrs else _("none were present in this portfolio")
    return _bullets(
        _("Relevant factors: the debtor's payment and contact behaviour and the account (balance, days past "
          "due), which differ by persona; outcomes also depend on the economy and on the collection treatment "
          "applied."),
        _("Sensitive attributes audited (never model inputs): {audited}. Age is analysed in bands "
          "({bands}).").format(audited=audited, bands=", ".join(_bands(risk))),
        _("Columns never used as features (PII, protected, outcomes, planted labels, excluded): "
          "{columns}.").format(columns=_code(risk.excluded_columns) or _("none present")),
        _("Rights exercised and vulnerability: {line}").format(line=_rights_line(risk)),
    )


def _rights_line(risk: "RiskResult") -> str:
    """Which columns recording a right exercised or a vulnerability were left out of the model, or let in."""
    columns = list(getattr(risk, "guardrail_columns", None) or [])
    left_out = [g for g in columns if not g["in_model"]]
    let_in = [g for g in columns if g["in_model"]]

    def listed(items: list[dict]) -> str:
        return ", ".join(f"`{_cell(g['column'])}` ({_cell(_meaning_label(g['meaning']))})" for g in items)

    parts = []
    if left_out:
        parts.append(_("left out of the model, because a debtor who disputes, objects or is vulnerable must not "
                       "look riskier for it; these columns feed the guardrails (the account-level rules) "
                       "instead: {columns}.").format(columns=listed(left_out)))
    if let_in:
        parts.append(_("**used as model features** because the risk setting rights_and_vulnerability_as_features "
                       "was turned on for this run: {columns}. The score can then rise for a debtor who "
                       "disputes, objects or is vulnerable; review that choice.").format(columns=listed(let_in)))
    if not parts:
        state = _("is on") if risk.settings.rights_and_vulnerability_as_features else _("is off (the default)")
        parts.append(_("the portfolio has no column recording a dispute, a channel objection, a time-barred "
                       "claim, over-indebtedness or insolvency; such columns are left out of the model and feed "
                       "the guardrails (the setting rights_and_vulnerability_as_features {state}).").format(
            state=state))
    return " ".join(parts)


def _meaning_label(meaning: Any) -> str:
    """A column's meaning in words of the current language (English: its key, as before)."""
    if not meaning:
        return "–"
    meaning = str(meaning)
    language = current_language()
    if language == "en":
        return meaning
    if meaning in PROTECTED_LABELS:
        return _(PROTECTED_LABELS[meaning])
    from portfolio.meanings import LABELS, label

    return label(meaning, language) if meaning in LABELS else meaning


def _role_label(role: Any) -> str:
    role = str(role)
    return _(ROLE_LABELS[role]) if role in ROLE_LABELS and current_language() != "en" else role


def _bands(risk: "RiskResult") -> list[str]:
    from explain.fairness import age_band_labels

    return [group_label(b) for b in age_band_labels(risk.settings.age_bands)]


def _metrics(risk: "RiskResult") -> str:
    lines = [_("Cross-validated on out-of-fold scores ({direction}); {confidence} bootstrap percentile intervals "
               "from {resamples} seeded resamples.").format(
        direction=_(DIRECTION), confidence=_pct(risk.settings.confidence),
        resamples=_count(risk.settings.bootstrap_resamples)), "",
        "| {} | {} |".format(_("metric"), _("value (interval)")), "| --- | --- |"]
    lines += [f"| {_(METRIC_NAMES[name]) if name in METRIC_NAMES else name} | {_fmt(values)} |"
              for name, values in risk.metrics.items()]
    cal = risk.calibration
    by_method = ", ".join(_("{method} (cross-fitted) {brier}").format(method=m, brier=_num(v, 4))
                          for m, v in cal["brier_by_method"].items())
    lines += ["", _("Brier score before calibration {before}; {by_method}. Decision: {reason}.").format(
        before=_num(cal["brier_uncalibrated"], 4), by_method=by_method, reason=calibration_reason(cal, risk.settings))]
    gains = risk.gains()
    top = gains.iloc[0]
    lines += ["", _("The riskiest 10 % of accounts hold {top10} of the accounts not paid (lift {lift}); the "
                    "riskiest 30 % hold {top30}.").format(
        top10=_pct(top["cumulative_gain"]), lift=_num(top["lift"], 2), top30=_pct(gains.iloc[2]["cumulative_gain"]))]
    return "\n".join(lines)


def _fit_line(risk: "RiskResult") -> str:
    if not risk.sampled_fit:
        return _("{folds}-fold stratified cross-validation, then refit on all {n} accounts.").format(
            folds=risk.cv_folds, n=_count(risk.n_accounts))
    return _("{folds}-fold stratified cross-validation and the refit on a seeded sample of {fitted} of the {n} "
             "accounts, stratified by outcome (fit_max_rows; fitting is most of the time at this size); the "
             "other accounts are scored by the refit model, which never saw them.").format(
        folds=risk.cv_folds, fitted=_count(risk.fitted_on), n=_count(risk.n_accounts))


def _outside_line(risk: "RiskResult") -> str:
    if not risk.sampled_fit:
        return ""
    return _("; the {n} accounts outside the fitting sample by the refit model, which did not learn from them "
             "either").format(n=_count(risk.n_accounts - risk.fitted_on))


def _evaluation(risk: "RiskResult") -> str:
    return _bullets(
        _("The same portfolio as the training data, evaluated by {folds}-fold stratified cross-validation: each "
          "account's reported risk score comes from a model that did not see that account "
          "(out-of-fold{outside}).").format(folds=risk.cv_folds, outside=_outside_line(risk)),
        _("{n} accounts; observed NOT-paid rate {rate}.").format(n=_count(risk.n_accounts),
                                                                 rate=_pct(risk.not_paid_rate, 1)),
        _("No separate later period was available: performance on next month's portfolio may be lower (drift)."),
    )


def _shap_method(risk: "RiskResult") -> str:
    meta = risk.shap.meta()
    version = risk.versions.get("shap", "?")
    if "method" not in meta:  # a run saved before every account was explained
        return _("SHAP TreeExplainer (shap {version})").format(version=version)
    return _("exact TreeSHAP (path-dependent, the values of shap's TreeExplainer, shap {version}; computed by the "
             "app's own implementation, checked against the library in its test suite)").format(version=version)


def _checked_chunks(risk: "RiskResult") -> str:
    meta = risk.shap.meta()
    chunks, checked = int(meta.get("chunks", 1)), int(meta.get("chunks_checked", 1))
    if chunks <= 1:
        return _("every account")
    if checked >= chunks:
        return _("all {chunks} chunks of accounts").format(chunks=_count(chunks))
    return _("{checked} of {chunks} chunks of accounts, spread over the portfolio").format(
        checked=_count(checked), chunks=_count(chunks))


def _shap_coverage(risk: "RiskResult") -> str:
    """Who has SHAP values and reasons, and what the stored table and the charts use."""
    meta = risk.shap.meta()
    total = int(meta["accounts_total"])
    with_reasons = int(meta.get("accounts_with_reasons", meta["accounts_explained"]))
    explained, seed = _count(meta["accounts_explained"]), meta["sample_seed"]
    if with_reasons < total:  # a run saved before every account was explained
        return _("SHAP values were computed for a seeded sample of {n} of {total} accounts (seed {seed}); the "
                 "other accounts have no per-account reasons.").format(n=explained, total=_count(total), seed=seed)
    line = _("SHAP values and reasons were computed for every one of the {total} accounts (exact values, not a "
             "sample or an approximation).").format(total=_count(total))
    if meta["sampled"]:
        line += " " + _("The stored table of all values (global importance, beeswarm, dependence and persona "
                        "charts) holds a seeded sample of {n} of them (seed {seed}); an account's waterfall "
                        "outside that sample is computed on request, with the same values.").format(
            n=explained, seed=seed)
    return line


def _training(risk: "RiskResult") -> str:
    language = current_language()
    return _bullets(
        _("{n} accounts of the uploaded portfolio with a known outcome in `{target}`.").format(
            n=_count(risk.n_accounts), target=risk.target),
        _("Features: {features}.").format(features=_list([feature_label(f, language) for f in risk.features])),
        _shap_coverage(risk),
    )


def _data(risk: "RiskResult") -> str:
    """Every column used and not used by the model, and every row excluded, with reasons."""
    summary = getattr(risk, "data_summary", None)
    if not summary:
        return _data_outside_a_run(risk)
    rows = summary["rows"]
    excluded = rows.get("excluded") or {}
    total = sum(int(n) for n in excluded.values())
    lines = [_("Portfolio `{source}`: {read} rows read, {used} used, {excluded} excluded. Row numbers are as in "
               "the file (its first line, normally the header, is row 1).").format(
        source=_cell(summary["source_name"]), read=_count(rows["read"]), used=_count(rows["used"]),
        excluded=_count(total)), ""]
    if summary.get("generated_ids"):
        lines += [_("The file has no account id column: each account's id is its row number in the file "
                    "(`row_<n>`), valid for this file only."), ""]
    if summary.get("target"):
        t = summary["target"]
        counts = ", ".join(f"{_cell(v)}: {_count(n)}" for v, n in t["values"].items())
        lines += [_("Outcome `{column}`: '{event_value}' = the account was {event}, '{other_value}' = the "
                    "opposite ({counts} accounts).").format(
            column=_cell(t["column"]), event_value=_cell(t["event_value"]),
            event=_("paid") if t["event"] == "paid" else _("NOT paid"), other_value=_cell(t["other_value"]),
            counts=counts), ""]
    currency = summary.get("currency")
    if isinstance(currency, dict):
        shown = currency.get("code") or (_("mixed currencies") if currency.get("source") == "mixed"
                                         else _("currency unknown"))
        lines += [_("Amounts (balance, amounts in the reasons) are in **{currency}**: {reason}.").format(
            currency=_cell(shown), reason=_cell(currency.get("reason", ""))), ""]
    lines += _excluded_rows_table(summary.get("excluded_rows") or [], excluded)
    used, unused = _columns_by_use(risk, summary)
    header = "| {} | {} | {} | {} |".format(_("column"), _("role"), _("meaning"), _("why"))
    lines += ["", _("**Columns used by the risk model** ({n}):").format(n=_count(len(used))), "",
              header, "| --- | --- | --- | --- |"]
    lines += [_column_row(c) for c in used]
    lines += ["", _("**Columns not used by the risk model** ({n}):").format(n=_count(len(unused))), "",
              header, "| --- | --- | --- | --- |"]
    lines += [_column_row(c) for c in unused] or ["| {} | | | |".format(_("(none)"))]
    return "\n".join(lines)


def _data_outside_a_run(risk: "RiskResult") -> str:
    never = _code(risk.excluded_columns) or _("none present")
    if getattr(risk, "saved_card", None) is not None:  # a saved run whose data summary is in its stored card only
        first = _("The rows read and excluded and every column's reason are listed in the model card stored with "
                  "this run (`model_card.md`, in the language the run was made in).")
    else:
        first = _("This model was fitted outside a run (`personas run` or the app), so the rows read and excluded "
                  "before it are not recorded here; a run writes every excluded row and every column's reason "
                  "into this section.")
    return _bullets(
        first,
        _("{n} accounts were given to the model.").format(n=_count(risk.n_accounts)),
        _("Columns used ({n}): {columns}.").format(n=len(risk.features), columns=_code(risk.features)),
        _("Columns never used as features (PII, protected, outcomes, planted labels, excluded): "
          "{columns}.").format(columns=never),
        _("Rights exercised and vulnerability: {line}").format(line=_rights_line(risk)),
    )


def _excluded_rows_table(rows: list[dict], counts: dict[str, int]) -> list[str]:
    if not counts:
        return [_("**Rows excluded**: none; every row read was used.")]
    by_reason: dict[str, list[int]] = {}
    for row in rows:
        by_reason.setdefault(row["reason"], []).append(int(row["row"]))
    lines = [_("**Rows excluded**, per reason:"), "",
             "| {} | {} | {} |".format(_("reason"), _("rows"), _("row numbers in the file")), "| --- | --- | --- |"]
    for reason, count in counts.items():
        lines.append(f"| {_cell(reason)} | {_count(count)} | {_row_ranges(by_reason.get(reason, []))} |")
    return lines


def _row_ranges(rows: list[int], limit: int = MAX_ROWS_LISTED) -> str:
    """``2, 5–7, 12`` for the first ``limit`` rows, then how many more (all: ``personas validate --json``)."""
    numbers = sorted(set(rows))
    shown, rest = numbers[:limit], len(numbers) - limit
    parts: list[str] = []
    start = prev = None
    for n in shown + [None]:
        if prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}–{prev}")
        start = prev = n
    more = (" " + _("and {n} more (every row: `personas validate FILE --json`)").format(n=_count(rest))
            if rest > 0 else "")
    return ", ".join(parts) + more if parts else _("not listed")


def _columns_by_use(risk: "RiskResult", summary: dict) -> tuple[list[dict], list[dict]]:
    from explain.features import guardrail_reason

    records = {c["column"]: dict(c) for c in summary.get("columns") or []}
    used = [records.get(f, {"column": f, "name": f, "role": "feature", "meaning": None, "reason": ""})
            for f in risk.features]
    guarded = {g["column"]: g for g in getattr(risk, "guardrail_columns", None) or []}
    for record in used:
        if record["column"] in guarded:
            record["reason"] = guardrail_reason(guarded[record["column"]])
    unused = []
    for column, record in records.items():
        if column in risk.features:
            continue
        if column in guarded and record.get("role") == "feature":
            record["role"], record["reason"] = "guardrail only", guardrail_reason(guarded[column])
        elif column == risk.target:
            record["role"], record["reason"] = "target", _(TARGET_REASON)
        elif column == summary.get("truth_col"):
            record["reason"] = _(TRUTH_REASON)
        elif record.get("role") == "account_id":
            record["reason"] = (record.get("reason") or "") + "; " + _(ID_REASON)
        unused.append(record)
    return used, unused


def _column_row(record: dict) -> str:
    name = record.get("name") or record["column"]
    shown = f"`{_cell(name)}`" + (" " + _("(as `{column}`)").format(column=_cell(record["column"]))
                                  if record["column"] != name else "")
    meaning = _meaning_label(record.get("meaning"))
    return (f"| {shown} | {_cell(_role_label(record['role']))} | {_cell(meaning)} | "
            f"{_cell(record.get('reason') or '–')} |")


def _cell(text: object) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _quantitative(risk: "RiskResult") -> str:
    fair = risk.fairness
    if fair.groups.empty:
        return _("No sensitive attribute was present, so no group analysis was possible. Add the attribute "
                 "(marked sensitive) to audit the score; it will not be used as a model input.")
    lines = [_("Flagged high-risk = {rule}. Favourable = not flagged. Groups under {n} accounts are marked small "
               "and not compared.").format(rule=cutoff_rule_text(fair, risk.settings),
                                           n=_count(risk.settings.min_group_size)), ""]
    for summary in fair.summary:
        ratio = summary["adverse_impact_ratio"]
        dpd = summary["demographic_parity_difference"]
        line = _("**{attribute}**: adverse impact ratio {ratio}, demographic parity difference {difference}.") \
            if not summary["adverse_impact_warning"] else \
            _("**{attribute}**: adverse impact ratio {ratio} (below 0.8: warning), demographic parity difference "
              "{difference}.")
        lines.append(line.format(attribute=summary["attribute"],
                                 ratio=_("n/a") if ratio is None else _num(ratio, 2),
                                 difference=_("n/a") if dpd is None else _num(dpd, 3)))
        lines += ["", "| {} | {} | {} | {} | {} | {} |".format(
            _("group"), _("accounts"), _("mean risk score"), _("flagged rate"), _("observed NOT-paid rate"),
            _("small")), "| --- | --- | --- | --- | --- | --- |"]
        groups = fair.groups[fair.groups["attribute"] == summary["attribute"]]
        for _i, g in groups.iterrows():
            lines.append(f"| {group_label(g['group'])} | {_count(g['accounts'])} | {_num(g['mean_risk_score'])} "
                         f"| {_pct(g['flagged_rate'], 1)} | {_pct(g['observed_not_paid_rate'], 1)} "
                         f"| {_('yes') if g['small_group'] else _('no')} |")
        lines.append("")
    proxies = fair.proxies
    if not proxies.empty:
        flagged = proxies[proxies["flagged"]]
        basis = "; ".join(f"{attribute} {proxy_basis(part)}" for attribute, part in proxies.groupby("attribute"))
        found = ("; ".join(f"`{r.feature}` → {r.attribute} {_num(r.auc, 2)}" for r in flagged.itertuples())
                 if len(flagged) else _("no feature reached AUC {threshold}.").format(
                     threshold=_num_short(risk.settings.proxy_auc_threshold)))
        lines.append(_("Proxy check (cross-validated AUC with which features predict a sensitive attribute; "
                       "{basis}): {found}").format(basis=basis, found=found))
    warnings = warning_texts(fair, risk.settings)
    lines += ["", _("Warnings: {warnings}").format(warnings=" ".join(warnings) if warnings else _("none."))]
    return "\n".join(lines)


def _num_short(value: float) -> str:
    """A setting as written (0.65 -> "0.65" / "0,65"), without padding zeros."""
    text = f"{value:g}"
    return text.replace(".", ",") if current_language() == "de" else text


def _ethics(risk: "RiskResult") -> str:
    n = len(warning_texts(risk.fairness, risk.settings))
    return _bullets(
        _("The score affects how people in financial difficulty are treated. Protected attributes are never "
          "model inputs; they are used only for the audit above. Features that predict them (proxies) are listed "
          "for review."),
        _("Fairness screens are warnings, not verdicts: an adverse impact ratio below 0.8 (four-fifths rule) asks "
          "for a human look at why, and whether a persona's treatment must change."),
        _("Vulnerable or over-indebted debtors must get a hardship route (payment plan, debt advice), whatever the "
          "score. Columns recording a dispute, a channel objection, a time-barred claim, over-indebtedness or "
          "insolvency feed those rules, not the score, unless a reviewer turned that setting on (see Factors)."),
        _("Debtors may ask which data were used and how (GDPR Art. 15): the per-account reasons and SHAP waterfall "
          "answer that.") + " " + ngettext("{n} fairness warning was raised in this run.",
                                           "{n} fairness warnings were raised in this run.", n).format(n=n),
    )


def _caveats(risk: "RiskResult") -> str:
    return _bullets(
        _("The reported per-account scores are out-of-fold; SHAP explains the final (refit) model, so its "
          "probability can differ slightly from the reported score (and more when the score is calibrated)."),
        _("SHAP values show what drives the model, not what causes non-payment; they are on the log-odds scale."),
        _("Outcomes reflect past collection treatment: accounts treated differently in future may behave "
          "differently."),
        _("Re-train and re-audit when the portfolio, the product mix or the collection strategy changes, and at "
          "least quarterly; compare the metrics above with the new run before use."),
        _("Small groups (fewer than {n} accounts) have unreliable figures; do not read them as evidence either "
          "way.").format(n=_count(risk.settings.min_group_size)),
    )


def section_titles(language: str | None = None) -> list[str]:
    """The card's section headings in ``language`` (default: the current language)."""
    with use_language(resolve_language(language or current_language())):
        return [_(title) for title in SECTIONS]


def card_language(markdown: str) -> str | None:
    """The language a stored card was written in (its first heading), ``None`` when not recognised."""
    first = next((line for line in markdown.splitlines() if line.startswith("# ")), "")
    for language in ("en", "de"):
        with use_language(language):
            heading = _("# Model card: risk of NOT paying ({target})")
        if re.match(re.escape(heading.split("{target}")[0]), first):
            return language
    return None
