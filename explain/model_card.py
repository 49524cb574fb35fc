"""The model card (Mitchell et al. 2019), written from the actual run: Markdown for people and files.

Every section is filled from the run's figures; nothing is a placeholder. The score direction is
stated in every section that shows a score. The card says truthfully where a person decides (the
persona strategy, approved per persona) and what is automated per account (score, persona, rules),
with what GDPR Art. 22 requires of that, and which columns recording rights exercised or
vulnerability were kept out of the model (or, when a setting let them in, that they were used).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING


from explain.fairness import proxy_basis
from explain.reasons import feature_label

if TYPE_CHECKING:
    from explain.risk import RiskResult

SECTIONS = (
    "Model details", "Intended use", "Out-of-scope uses", "Factors", "Metrics", "Evaluation data",
    "Training data", "Data", "Quantitative analyses", "Ethical considerations", "Caveats and recommendations",
)
#: Most row numbers the Data section lists per reason (the count is always complete).
MAX_ROWS_LISTED = 1_000
DIRECTION = "risk score = probability that the account is NOT paid (0–1, higher = riskier)"
METRIC_NAMES = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC (average precision, event = NOT paid)",
                "brier": "Brier score (lower is better)", "log_loss": "Log loss (lower is better)",
                "ks": "KS statistic"}


def model_card(risk: "RiskResult") -> str:
    """The model card of one run as Markdown, one ``##`` heading per Mitchell et al. section."""
    body = {
        "Model details": _details(risk), "Intended use": _intended_use(risk),
        "Out-of-scope uses": _out_of_scope(), "Factors": _factors(risk), "Metrics": _metrics(risk),
        "Evaluation data": _evaluation(risk), "Training data": _training(risk), "Data": _data(risk),
        "Quantitative analyses": _quantitative(risk), "Ethical considerations": _ethics(risk),
        "Caveats and recommendations": _caveats(risk),
    }
    parts = [f"# Model card: risk of NOT paying ({risk.target})", "", f"*{DIRECTION}.*", ""]
    for title in SECTIONS:
        parts += [f"## {title}", "", body[title].strip(), ""]
    return "\n".join(parts)


def _fmt(metric: dict) -> str:
    return f"{metric['value']:.3f} ({metric['ci_low']:.3f}–{metric['ci_high']:.3f})"


def _details(risk: "RiskResult") -> str:
    cal = risk.calibration
    cats = ", ".join(risk.categorical_features) or "none"
    return f"""
- Model: scikit-learn HistGradientBoostingClassifier (gradient-boosted trees), version
  {risk.versions.get('scikit-learn', '?')}; {_fit_line(risk)} Boosting rounds per fold: {', '.join(map(str, risk.cv_iterations))}.
- Output: {DIRECTION}. Outcome column `{risk.target}`, read as "1 = {risk.target_event}".
- Features ({len(risk.features)}): {', '.join(f'`{f}`' for f in risk.features)}. Categorical features
  ({cats}) are encoded as level codes so that SHAP values are exact.
- Columns recording rights exercised or vulnerability: {_rights_line(risk)}
- Calibration: {'yes, ' + str(cal['method']) if cal['calibrated'] else 'no'}; {cal['reason']}.
- Explanations: {_shap_method(risk)} on the log-odds of NOT paying;
  base value {risk.shap.base_value:.3f} log-odds; base value + SHAP values = model output, checked to 1e-6
  ({_checked_chunks(risk)}; largest error {risk.shap.max_additivity_error:.1e}).
- Created {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by the persona-collections app; seed {risk.settings.seed}.
"""


def _intended_use(risk: "RiskResult") -> str:
    return f"""
- Primary use: help risk analysts and collectors order and plan the work on delinquent accounts, and help
  compliance reviewers understand what drives the score. The {DIRECTION}.
- Primary users: risk analysts, compliance reviewers and managers of a collections team, trained in reading
  probabilities and SHAP explanations.
- **What a person reviews:** the strategy of each persona (channel, tone, offer and escalation steps). An
  analyst proposes it and a manager approves it, persona by persona, after seeing the persona's evidence and
  the rule checks; compliance can veto it. A person does not look at each account when approving a persona:
  approving a persona's strategy is not a review of every account in it.
- **What is automated per account:** the risk score (this model), the persona an account is assigned to
  (the persona model), and the application of the account-level rules to the approved strategy (hardship,
  dispute, time-barred claim, channel objection, insolvency), which removes or changes steps without a person.
- **GDPR Art. 22:** no decision with a significant effect on a debtor may rest solely on this automated
  processing. Significant steps (court dunning, handing the claim to a collection agency, a credit-bureau
  report) for accounts that need review (uncertain persona assignment, or rules that could not be applied
  with confidence) are routed to a person before anything is sent. A debtor may ask for a person to review
  the treatment of their account, state their view and contest it (Art. 22(3)), and may ask which data were
  used and how (Art. 15: the per-account reasons below).
- Human oversight (EU AI Act Art. 14): reviewers may override or disregard the score and the proposed
  treatment for any persona or account (an account override needs a second person) and can stop its use.
- **Automation bias:** a precise-looking number invites over-reliance. Check the reasons and the account's
  history before acting; a high score is not proof that a debtor will not pay.
"""


def _out_of_scope() -> str:
    return """
- Any decision about a person made solely by the score, without human review (GDPR Art. 22).
- Credit decisions (granting, pricing or limiting credit), employment, housing or insurance decisions.
- Choosing legal escalation, credit-bureau reporting or collection costs by the score alone; these need the
  legal preconditions of the domain rules (e.g. default, reminders, no dispute) checked by a person.
- Use on portfolios unlike the training data (other products, countries, outcome windows) without retraining
  and a fresh review of this card.
- Inferring or acting on protected attributes (gender, age, origin and the like).
"""


def _factors(risk: "RiskResult") -> str:
    attrs = [s["attribute"] for s in risk.fairness.summary]
    audited = ", ".join(f"`{a}`" for a in attrs) if attrs else "none were present in this portfolio"
    return f"""
- Relevant factors: the debtor's payment and contact behaviour and the account (balance, days past due),
  which differ by persona; outcomes also depend on the economy and on the collection treatment applied.
- Sensitive attributes audited (never model inputs): {audited}. Age is analysed in bands
  ({', '.join(_bands(risk))}).
- Columns never used as features (PII, protected, outcomes, planted labels, excluded):
  {', '.join(f'`{c}`' for c in risk.excluded_columns) or 'none present'}.
- Rights exercised and vulnerability: {_rights_line(risk)}
"""


def _rights_line(risk: "RiskResult") -> str:
    """Which columns recording a right exercised or a vulnerability were left out of the model, or let in."""
    columns = list(getattr(risk, "guardrail_columns", None) or [])
    left_out = [g for g in columns if not g["in_model"]]
    let_in = [g for g in columns if g["in_model"]]

    def listed(items: list[dict]) -> str:
        return ", ".join(f"`{_cell(g['column'])}` ({_cell(g['meaning'])})" for g in items)

    parts = []
    if left_out:
        parts.append(f"left out of the model, because a debtor who disputes, objects or is vulnerable must not "
                     f"look riskier for it; these columns feed the guardrails (the account-level rules) "
                     f"instead: {listed(left_out)}.")
    if let_in:
        parts.append(f"**used as model features** because the risk setting rights_and_vulnerability_as_features "
                     f"was turned on for this run: {listed(let_in)}. The score can then rise for a debtor who "
                     "disputes, objects or is vulnerable; review that choice.")
    if not parts:
        state = "on" if risk.settings.rights_and_vulnerability_as_features else "off (the default)"
        parts.append("the portfolio has no column recording a dispute, a channel objection, a time-barred claim, "
                     "over-indebtedness or insolvency; such columns are left out of the model and feed the "
                     f"guardrails (the setting rights_and_vulnerability_as_features is {state}).")
    return " ".join(parts)


def _bands(risk: "RiskResult") -> list[str]:
    from explain.fairness import age_band_labels

    return age_band_labels(risk.settings.age_bands)


def _metrics(risk: "RiskResult") -> str:
    lines = [f"Cross-validated on out-of-fold scores ({DIRECTION}); {risk.settings.confidence:.0%} bootstrap "
             f"percentile intervals from {risk.settings.bootstrap_resamples} seeded resamples.", "",
             "| metric | value (interval) |", "| --- | --- |"]
    lines += [f"| {METRIC_NAMES[name]} | {_fmt(values)} |" for name, values in risk.metrics.items()]
    cal = risk.calibration
    lines += ["", f"Brier score before calibration {cal['brier_uncalibrated']:.4f}; "
              + ", ".join(f"{m} (cross-fitted) {v:.4f}" for m, v in cal["brier_by_method"].items())
              + f". Decision: {cal['reason']}."]
    gains = risk.gains()
    top = gains.iloc[0]
    lines += ["", f"The riskiest 10 % of accounts hold {top['cumulative_gain']:.0%} of the accounts not paid "
              f"(lift {top['lift']:.2f}); the riskiest 30 % hold {gains.iloc[2]['cumulative_gain']:.0%}."]
    return "\n".join(lines)


def _fit_line(risk: "RiskResult") -> str:
    if not risk.sampled_fit:
        return f"{risk.cv_folds}-fold stratified cross-validation, then refit on all {risk.n_accounts:,} accounts."
    return (f"{risk.cv_folds}-fold stratified cross-validation and the refit on a seeded sample of "
            f"{risk.fitted_on:,} of the {risk.n_accounts:,} accounts, stratified by outcome (fit_max_rows; "
            "fitting is most of the time at this size); the other accounts are scored by the refit model, "
            "which never saw them.")


def _outside_line(risk: "RiskResult") -> str:
    if not risk.sampled_fit:
        return ""
    return (f"; the {risk.n_accounts - risk.fitted_on:,} accounts outside the fitting sample by the refit "
            "model, which did not learn from them either")


def _evaluation(risk: "RiskResult") -> str:
    return f"""
- The same portfolio as the training data, evaluated by {risk.cv_folds}-fold stratified cross-validation:
  each account's reported risk score comes from a model that did not see that account (out-of-fold{_outside_line(risk)}).
- {risk.n_accounts:,} accounts; observed NOT-paid rate {risk.not_paid_rate:.1%}.
- No separate later period was available: performance on next month's portfolio may be lower (drift).
"""


def _shap_method(risk: "RiskResult") -> str:
    meta = risk.shap.meta()
    if "method" not in meta:  # a run saved before every account was explained
        return f"SHAP TreeExplainer (shap {risk.versions.get('shap', '?')})"
    return ("exact TreeSHAP (path-dependent, the values of shap's TreeExplainer, "
            f"shap {risk.versions.get('shap', '?')}; computed by the app's own implementation, "
            "checked against the library in its test suite)")


def _checked_chunks(risk: "RiskResult") -> str:
    meta = risk.shap.meta()
    chunks, checked = int(meta.get("chunks", 1)), int(meta.get("chunks_checked", 1))
    if chunks <= 1:
        return "every account"
    if checked >= chunks:
        return f"all {chunks} chunks of accounts"
    return f"{checked} of {chunks} chunks of accounts, spread over the portfolio"


def _shap_coverage(risk: "RiskResult") -> str:
    """Who has SHAP values and reasons, and what the stored table and the charts use."""
    meta = risk.shap.meta()
    total = int(meta["accounts_total"])
    with_reasons = int(meta.get("accounts_with_reasons", meta["accounts_explained"]))
    if with_reasons < total:  # a run saved before every account was explained
        return (f"SHAP values were computed for a seeded sample of {meta['accounts_explained']:,} of {total:,} "
                f"accounts (seed {meta['sample_seed']}); the other accounts have no per-account reasons.")
    line = (f"SHAP values and reasons were computed for every one of the {total:,} accounts (exact values, "
            "not a sample or an approximation).")
    if meta["sampled"]:
        line += (f" The stored table of all values (global importance, beeswarm, dependence and persona "
                 f"charts) holds a seeded sample of {meta['accounts_explained']:,} of them (seed "
                 f"{meta['sample_seed']}); an account's waterfall outside that sample is computed on request, "
                 "with the same values.")
    return line


def _training(risk: "RiskResult") -> str:
    return f"""
- {risk.n_accounts:,} accounts of the uploaded portfolio with a known outcome in `{risk.target}`.
- Features: {', '.join(feature_label(f) for f in risk.features)}.
- {_shap_coverage(risk)}
"""


def _data(risk: "RiskResult") -> str:
    """Every column used and not used by the model, and every row excluded, with reasons."""
    summary = getattr(risk, "data_summary", None)
    if not summary:
        return _data_outside_a_run(risk)
    rows = summary["rows"]
    excluded = rows.get("excluded") or {}
    total = sum(int(n) for n in excluded.values())
    lines = [f"Portfolio `{_cell(summary['source_name'])}`: {int(rows['read']):,} rows read, {int(rows['used']):,} "
             f"used, {total:,} excluded. Row numbers are as in the file (its first line, normally the "
             "header, is row 1).", ""]
    if summary.get("generated_ids"):
        lines += ["The file has no account id column: each account's id is its row number in the file "
                  "(`row_<n>`), valid for this file only.", ""]
    if summary.get("target"):
        t = summary["target"]
        lines += [f"Outcome `{_cell(t['column'])}`: '{_cell(t['event_value'])}' = the account was "
                  f"{'paid' if t['event'] == 'paid' else 'NOT paid'}, '{_cell(t['other_value'])}' = the opposite "
                  f"({', '.join(f'{_cell(v)}: {int(n):,}' for v, n in t['values'].items())} accounts).", ""]
    currency = summary.get("currency")
    if isinstance(currency, dict):
        shown = currency.get("code") or ("mixed currencies" if currency.get("source") == "mixed"
                                         else "currency unknown")
        lines += [f"Amounts (balance, amounts in the reasons) are in **{_cell(shown)}**: "
                  f"{_cell(currency.get('reason', ''))}.", ""]
    lines += _excluded_rows_table(summary.get("excluded_rows") or [], excluded)
    used, unused = _columns_by_use(risk, summary)
    lines += ["", f"**Columns used by the risk model** ({len(used)}):", "",
              "| column | role | meaning | why |", "| --- | --- | --- | --- |"]
    lines += [_column_row(c) for c in used]
    lines += ["", f"**Columns not used by the risk model** ({len(unused)}):", "",
              "| column | role | meaning | why |", "| --- | --- | --- | --- |"]
    lines += [_column_row(c) for c in unused] or ["| (none) | | | |"]
    return "\n".join(lines)


def _data_outside_a_run(risk: "RiskResult") -> str:
    never = ", ".join(f"`{c}`" for c in risk.excluded_columns) or "none present"
    return f"""
- This model was fitted outside a run (`personas run` or the app), so the rows read and excluded before it
  are not recorded here; a run writes every excluded row and every column's reason into this section.
- {risk.n_accounts:,} accounts were given to the model.
- Columns used ({len(risk.features)}): {', '.join(f'`{f}`' for f in risk.features)}.
- Columns never used as features (PII, protected, outcomes, planted labels, excluded): {never}.
- Rights exercised and vulnerability: {_rights_line(risk)}
"""


def _excluded_rows_table(rows: list[dict], counts: dict[str, int]) -> list[str]:
    if not counts:
        return ["**Rows excluded**: none; every row read was used."]
    by_reason: dict[str, list[int]] = {}
    for row in rows:
        by_reason.setdefault(row["reason"], []).append(int(row["row"]))
    lines = ["**Rows excluded**, per reason:", "", "| reason | rows | row numbers in the file |",
             "| --- | --- | --- |"]
    for reason, count in counts.items():
        lines.append(f"| {_cell(reason)} | {int(count):,} | {_row_ranges(by_reason.get(reason, []))} |")
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
    more = f" and {rest:,} more (every row: `personas validate FILE --json`)" if rest > 0 else ""
    return ", ".join(parts) + more if parts else "not listed"


def _columns_by_use(risk: "RiskResult", summary: dict) -> tuple[list[dict], list[dict]]:
    records = {c["column"]: dict(c) for c in summary.get("columns") or []}
    used = [records.get(f, {"column": f, "name": f, "role": "feature", "meaning": None, "reason": ""})
            for f in risk.features]
    guarded = {g["column"]: g for g in getattr(risk, "guardrail_columns", None) or []}
    for record in used:
        if record["column"] in guarded:
            record["reason"] = guarded[record["column"]]["reason"]
    unused = []
    for column, record in records.items():
        if column in risk.features:
            continue
        if column in guarded and record.get("role") == "feature":
            record["role"], record["reason"] = "guardrail only", guarded[column]["reason"]
        elif column == risk.target:
            record["role"], record["reason"] = "target", "the outcome the model learns (--target); never an input"
        elif column == summary.get("truth_col"):
            record["reason"] = "planted labels (--truth-col): evaluation only, never an input"
        elif record.get("role") == "account_id":
            record["reason"] = (record.get("reason") or "") + "; identifies the account, never an input"
        unused.append(record)
    return used, unused


def _column_row(record: dict) -> str:
    name = record.get("name") or record["column"]
    shown = f"`{_cell(name)}`" + (f" (as `{_cell(record['column'])}`)" if record["column"] != name else "")
    meaning = record.get("meaning") or "–"
    return f"| {shown} | {_cell(record['role'])} | {_cell(meaning)} | {_cell(record.get('reason') or '–')} |"


def _cell(text: object) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _quantitative(risk: "RiskResult") -> str:
    fair = risk.fairness
    if fair.groups.empty:
        return ("No sensitive attribute was present, so no group analysis was possible. Add the attribute "
                "(marked sensitive) to audit the score; it will not be used as a model input.")
    lines = [f"Flagged high-risk = {fair.cutoff_rule}. Favourable = not flagged. Groups under "
             f"{risk.settings.min_group_size} accounts are marked small and not compared.", ""]
    for summary in fair.summary:
        ratio = summary["adverse_impact_ratio"]
        dpd = summary["demographic_parity_difference"]
        lines.append(f"**{summary['attribute']}**: adverse impact ratio "
                     f"{'n/a' if ratio is None else f'{ratio:.2f}'}"
                     f"{' (below 0.8: warning)' if summary['adverse_impact_warning'] else ''}, demographic parity "
                     f"difference {'n/a' if dpd is None else f'{dpd:.3f}'}.")
        lines += ["", "| group | accounts | mean risk score | flagged rate | observed NOT-paid rate | small |",
                  "| --- | --- | --- | --- | --- | --- |"]
        groups = fair.groups[fair.groups["attribute"] == summary["attribute"]]
        for _, g in groups.iterrows():
            lines.append(f"| {g['group']} | {g['accounts']:,} | {g['mean_risk_score']:.3f} | {g['flagged_rate']:.1%} "
                         f"| {g['observed_not_paid_rate']:.1%} | {'yes' if g['small_group'] else 'no'} |")
        lines.append("")
    proxies = fair.proxies
    if not proxies.empty:
        flagged = proxies[proxies["flagged"]]
        basis = "; ".join(f"{attribute} {proxy_basis(part)}" for attribute, part in proxies.groupby("attribute"))
        lines.append(f"Proxy check (cross-validated AUC with which features predict a sensitive attribute; {basis}): "
                     + ("; ".join(f"`{r.feature}` → {r.attribute} {r.auc:.2f}" for r in flagged.itertuples())
                        if len(flagged) else "no feature reached "
                        f"AUC {risk.settings.proxy_auc_threshold}."))
    lines += ["", "Warnings: " + (" ".join(fair.warnings) if fair.warnings else "none.")]
    return "\n".join(lines)


def _ethics(risk: "RiskResult") -> str:
    return f"""
- The score affects how people in financial difficulty are treated. Protected attributes are never model inputs;
  they are used only for the audit above. Features that predict them (proxies) are listed for review.
- Fairness screens are warnings, not verdicts: an adverse impact ratio below 0.8 (four-fifths rule) asks for a
  human look at why, and whether a persona's treatment must change.
- Vulnerable or over-indebted debtors must get a hardship route (payment plan, debt advice), whatever the score.
  Columns recording a dispute, a channel objection, a time-barred claim, over-indebtedness or insolvency feed
  those rules, not the score, unless a reviewer turned that setting on (see Factors).
- Debtors may ask which data were used and how (GDPR Art. 15): the per-account reasons and SHAP waterfall answer
  that. {len(risk.fairness.warnings)} fairness warning(s) were raised in this run.
"""


def _caveats(risk: "RiskResult") -> str:
    return f"""
- The reported per-account scores are out-of-fold; SHAP explains the final (refit) model, so its
  probability can differ slightly from the reported score (and more when the score is calibrated).
- SHAP values show what drives the model, not what causes non-payment; they are on the log-odds scale.
- Outcomes reflect past collection treatment: accounts treated differently in future may behave differently.
- Re-train and re-audit when the portfolio, the product mix or the collection strategy changes, and at least
  quarterly; compare the metrics above with the new run before use.
- Small groups (fewer than {risk.settings.min_group_size} accounts) have unreliable figures; do not read them as
  evidence either way.
"""
