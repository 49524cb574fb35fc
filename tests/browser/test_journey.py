"""End-to-end: an analyst, a manager and a compliance reviewer use the app in a real Chromium.

The analyst uploads a German CSV, reads the validation report, picks the outcome column, discovers
personas, opens a persona card, looks up one account's explanation and proposes strategies. The
compliance reviewer signs off the run's model (export needs it). The manager approves the strategies
and downloads the export. The compliance reviewer verifies the audit log.
Every page is saved as ``test-artifacts/screenshots/NN_name.png``; the test fails on any Streamlit
exception box and on any browser console error or uncaught page error.

Then a German analyst walks the same pages in a German browser (``de_NN_name.png``): see
``test_a_german_analyst_walks_the_journey_in_german``.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from browser_steps import (
    LONG_STEP_MS,
    SIGN_OUT,
    STEP_MS,
    Journey,
    button,
    check_german_excel_csv,
    choose_in_selectbox,
    click_button,
    csv_rows,
    download,
    go_to,
    nav_titles,
    open_app,
    sign_in,
    sign_out,
    unescaped_formula_cells,
    upload_file,
    wait_until_idle,
    wait_visible,
)
from chart_checks import ChartSpecs, DrawnChart, chart_report, drawn_charts, height_problems, label_problems

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- the analyst
def analyst_uploads_portfolio(journey: Journey, german_csv: Path) -> None:
    page = journey.page
    wait_visible(page, page.get_by_role("heading", name="Portfolio"), LONG_STEP_MS, "the Portfolio page")
    journey.check_page("portfolio_sample")
    upload_file(page, german_csv)
    rows_read = page.locator('[data-testid="stMetric"]').filter(has_text="Rows read")
    expect(rows_read).to_contain_text(re.compile(r"1[,.]?500"), timeout=LONG_STEP_MS)
    journey.check_page("portfolio_uploaded")


def analyst_reads_validation_report(journey: Journey) -> None:
    page = journey.page
    expect(page.get_by_role("heading", name="Validation")).to_be_visible()
    expect(page.get_by_role("heading", name="Column roles")).to_be_visible()
    # The German headers were recognised: the role table lists them.
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    journey.check_page("portfolio_validation")


def analyst_chooses_outcome(journey: Journey, outcome_column: str) -> None:
    choose_in_selectbox(journey.page, "Outcome column", outcome_column)
    journey.check_page("portfolio_outcome")


def analyst_discovers_personas(journey: Journey) -> None:
    page = journey.page
    go_to(page, "Personas")
    # Opening the page runs nothing: the analyst checks the settings beside the button and presses it.
    button = page.locator('[data-testid="stMain"] button').filter(has_text=re.compile(r"^\s*Find personas\s*$"))
    wait_visible(page, button, STEP_MS, "the Find personas button").click()
    # Discovery (UMAP + HDBSCAN, numba compilation) and the risk model can take minutes here.
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Personas")
    wait_visible(page, metric, LONG_STEP_MS, "the discovered personas")
    wait_until_idle(page, LONG_STEP_MS)
    n_personas = int(re.sub(r"\D", "", metric.first.locator('[data-testid="stMetricValue"]').inner_text()))
    assert n_personas >= 2, f"discovery found {n_personas} persona(s) in a portfolio with seven planted"
    journey.check_page("personas")


def open_tab(page, name: str) -> None:
    tab = page.locator('[data-testid="stMain"] [role="tab"]').filter(has_text=re.compile(rf"^\s*{re.escape(name)}\s*$"))
    wait_visible(page, tab, what=f"the tab {name!r}").click()
    wait_until_idle(page)


def analyst_opens_persona_card(journey: Journey) -> None:
    page = journey.page
    open_tab(page, "Personas")
    card = page.locator('[data-testid="stMain"] [role="tabpanel"]:visible').filter(has_text="accounts (")
    wait_visible(page, card, what="a persona card")
    expect(card.first).to_contain_text("Pay rate")
    journey.check_page("persona_cards")


def analyst_looks_up_explanation(journey: Journey, account_id: str) -> None:
    page = journey.page
    go_to(page, "Explanations")
    wait_visible(page, page.get_by_text("Risk score = probability that the account is"), LONG_STEP_MS,
                 "the risk model of the run")
    journey.check_page("explanations")
    open_tab(page, "Account look-up")
    field = page.locator('[data-testid="stTextInput"]').filter(has_text="Account id").locator("input")
    field.first.fill(account_id)
    field.first.press("Enter")
    wait_until_idle(page, LONG_STEP_MS)
    score = page.locator('[data-testid="stMetric"]').filter(has_text="Risk score (P NOT paid")
    wait_visible(page, score, STEP_MS, f"the risk score of account {account_id}")
    expect(score.first).to_contain_text("%")
    journey.check_page("explanation_account")


def analyst_proposes_strategies(journey: Journey) -> None:
    page = journey.page
    go_to(page, "Strategies")
    journey.check_page("strategies_before")
    click_button(page, re.compile(r"^Propose strategies for"), timeout_ms=LONG_STEP_MS)
    proposed = page.locator('[data-testid="stMetric"]').filter(has_text="Proposed")
    wait_visible(page, proposed, LONG_STEP_MS, "the proposed mappings")
    journey.check_page("strategies_proposed")


# ---------------------------------------------------------------- the manager
def metric_value(page, label: str) -> int:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label)
    value = wait_visible(page, metric, what=f"the metric {label!r}").locator('[data-testid="stMetricValue"]')
    return int(re.sub(r"\D", "", value.inner_text()))


def manager_approves_all(journey: Journey) -> None:
    """Approve every proposed persona, one after the other, as the review section offers them."""
    page = journey.page
    go_to(page, "Strategies")
    journey.check_page("strategies_manager")
    expect(page.get_by_text("Automation bias").first).to_be_visible()
    n_personas = metric_value(page, "Proposed")
    assert n_personas >= 2, f"only {n_personas} proposed mapping(s) to review"
    for approved_so_far in range(n_personas):
        approve = button(page, re.compile(r"^Approve$"))
        if approve.count() == 0:
            blocked = page.get_by_text("Approval not possible")
            raise AssertionError(f"no Approve button after {approved_so_far} approvals"
                                 + (f": {blocked.first.inner_text()}" if blocked.count() else ""))
        approve.first.click()
        wait_until_idle(page, LONG_STEP_MS)
        wait_visible(page, page.locator('[data-testid="stAlert"]').filter(has_text="approved by manager"),
                     what="the approval message")
        expect(page.locator('[data-testid="stMetric"]').filter(has_text="Approved").first
               .locator('[data-testid="stMetricValue"]')).to_have_text(str(approved_so_far + 1))
    assert metric_value(page, "Proposed") == 0
    journey.check_page("strategies_approved")


def manager_exports_csv(journey: Journey) -> bytes:
    page = journey.page
    click_button(page, "Prepare export", timeout_ms=LONG_STEP_MS)
    content = download(page, re.compile(r"^Download .*\.csv$"), timeout_ms=LONG_STEP_MS)
    journey.check_page("export")
    return content


# ---------------------------------------------------------------- compliance
def compliance_signs_off_model(journey: Journey) -> None:
    page = journey.page
    go_to(page, "Audit")
    page.get_by_label("Note for the sign-off (what you checked)").fill(
        "model card, calibration and fairness screens read")
    click_button(page, "Sign off this run's model and explanations")
    wait_visible(page, page.locator('[data-testid="stAlert"]').filter(has_text="signed off by compliance"),
                 what="the sign-off")
    journey.check_page("audit_sign_off")


def compliance_verifies_audit_log(journey: Journey) -> None:
    page = journey.page
    go_to(page, "Audit")
    verdict = page.locator('[data-testid="stAlert"]').filter(has_text="Audit log")
    wait_visible(page, verdict, what="the audit verification result")
    expect(verdict.first).to_contain_text("Audit log intact")
    journey.check_page("audit")


# ---------------------------------------------------------------- the journey
def test_analyst_manager_and_compliance_walk_the_whole_journey(
        page, app_server, browser_errors, screenshot_dir, german_csv):
    from sample_data.generator import GERMAN_COLUMNS

    journey = Journey(page, app_server.url, screenshot_dir)
    passwords = app_server.passwords

    open_app(page, app_server.url)
    journey.check_page("sign_in")

    sign_in(page, "analyst", passwords["analyst"])
    assert "Users" not in nav_titles(page), "an analyst must not see the admin page"
    analyst_uploads_portfolio(journey, german_csv)
    analyst_reads_validation_report(journey)
    analyst_chooses_outcome(journey, GERMAN_COLUMNS["paid_90d"])
    analyst_discovers_personas(journey)
    analyst_opens_persona_card(journey)
    analyst_looks_up_explanation(journey, account_id=_first_account_id(german_csv))
    analyst_proposes_strategies(journey)
    sign_out(page)

    sign_in(page, "compliance", passwords["compliance"])
    compliance_signs_off_model(journey)
    sign_out(page)

    sign_in(page, "manager", passwords["manager"])
    manager_approves_all(journey)
    exported = manager_exports_csv(journey)
    rows = csv_rows(exported)
    assert rows, "the exported CSV has no rows"
    assert {row.get("approved_by") for row in rows} == {"manager"}, rows[0]
    assert unescaped_formula_cells(exported) == []
    sign_out(page)

    sign_in(page, "compliance", passwords["compliance"])
    compliance_verifies_audit_log(journey)
    sign_out(page)

    assert browser_errors.all() == [], "\n".join(browser_errors.all())
    assert "Traceback" not in app_server.log_tail(50_000), app_server.log_tail()


def _first_account_id(path: Path) -> str:
    first_data_line = path.read_bytes().decode("cp1252").splitlines()[1]
    return first_data_line.split(";")[0].strip('"')


# ---------------------------------------------------------------- the same journey in German
def german(message: str) -> str:
    """``message`` as the German catalogue has it (the page's words are checked against the catalogue)."""
    from core.i18n import translator

    return translator("de")._(message)


def english_ui_words(page) -> list[str]:
    """The app's own English UI terms (tests/app/test_pages_in_german.py's list) on the visible page.

    Read from what the browser shows (``innerText`` of the main area and the sidebar: hidden tabs and
    collapsed expanders are left out). Streamlit's own widget texts are not the app's: the file
    uploader's drop zone (Streamlit's "Upload" button and size limit) is left out.
    """
    from tests.app.test_pages_in_german import _english_terms

    text = page.evaluate("""() => {
        const parts = [];
        for (const sel of ['[data-testid="stMain"]', '[data-testid="stSidebar"]']) {
            const el = document.querySelector(sel);
            if (!el) continue;
            const copy = el.cloneNode(true);
            copy.querySelectorAll('[data-testid="stFileUploaderDropzone"]').forEach(n => n.remove());
            document.body.appendChild(copy); parts.push(copy.innerText); copy.remove();
        }
        return parts.join('\\n');
    }""")
    return _english_terms(text)


class Findings(list):
    """What the German journey found wrong, collected so that one run shows every page's problems;
    the test fails at its end when there is any."""

    def add(self, where: str, problems: list[str]) -> None:
        self.extend(f"{where}: {problem}" for problem in problems)


def check_german_page(journey: Journey, findings: Findings, name: str) -> None:
    """Screenshot, then no English UI word of the app's own on the page as shown."""
    journey.check_page(name)
    found = english_ui_words(journey.page)
    findings.add(f"page {name!r}", [f"English UI word {word!r}" for word in found])


def wait_for_charts(page, at_least: int = 1, timeout_ms: int = STEP_MS) -> None:
    """Wait until the visible charts are drawn (SVG or canvas) and keep their size for a moment."""
    deadline = time.monotonic() + timeout_ms / 1000
    last, steady_since = None, None
    while time.monotonic() < deadline:
        sizes = page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
            .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height > 0)
            .map(e => { const d = e.querySelector('svg.marks, canvas');
                        return d ? d.getBoundingClientRect().width + 'x' + d.getBoundingClientRect().height : 'none'; })""")
        drawn = len(sizes) >= at_least and "none" not in sizes
        if drawn and sizes == last:
            steady_since = steady_since or time.monotonic()
            if time.monotonic() - steady_since >= 0.6:
                return
        else:
            steady_since = None
        last = sizes
        page.wait_for_timeout(200)
    raise AssertionError(f"charts not drawn after {timeout_ms / 1000:.0f} s: {last}")


def check_charts(page, specs: ChartSpecs, where: str, findings: Findings, at_least: int = 1,
                 labels: bool = True) -> list[DrawnChart]:
    """Every visible chart keeps the plot height it asks for and (``labels``) shows every label of a
    discrete y axis and every title whole."""
    wait_for_charts(page, at_least)
    charts = drawn_charts(page, specs)
    assert len(charts) >= at_least, f"{where}: {len(charts)} chart(s) drawn, expected {at_least}"
    findings.add(where, height_problems(charts) + (label_problems(charts) if labels else []))
    CHARTS_SEEN.append(f"--- {where}\n{chart_report(charts)}")
    return charts


CHARTS_SEEN: list[str] = []  # every chart checked, for the failure message


def persona_card_names(page) -> list[str]:
    """The card headings ``"3 · Name"`` of the Personas tab, in page order."""
    open_tab(page, "Personas")  # the tab is "Personas" in both languages
    cards = page.locator('[data-testid="stMain"] [role="tabpanel"]:visible strong').filter(
        has_text=re.compile(r"^\d+ · "))
    wait_visible(page, cards, what="the persona cards")
    return [text.strip() for text in cards.all_inner_texts()]


def personas_shown(page, language: str) -> bool:
    """Whether the Personas page shows a run (its metrics) rather than the "press Find personas" note."""
    main = page.locator('[data-testid="stMain"]')
    metric = main.locator('[data-testid="stMetric"]').filter(has_text="Personas")
    note = main.locator('[data-testid="stAlert"]').filter(has_text=german("Find personas") if language == "German"
                                                          else "Find personas")
    deadline = time.monotonic() + STEP_MS / 1000
    while time.monotonic() < deadline:
        if metric.count():
            return True
        if note.count():
            wait_until_idle(page)
            return bool(metric.count())
        page.wait_for_timeout(250)
    return False


def saved_runs(home: Path) -> list[str]:
    """Run folders in the server's workspace (every run the app saves gets one)."""
    runs = home / "runs"
    return sorted(p.name for p in runs.iterdir() if (p / "run.json").exists()) if runs.exists() else []


def choose_language(page, label: str, option: str) -> None:
    """Choose ``option`` in the Account page's language box, found by its key: its label changes
    language as soon as the choice is saved, so the label cannot find it again afterwards."""
    box = page.locator(".st-key-ui_language_choice")
    expect(box).to_contain_text(label, timeout=LONG_STEP_MS)
    field = box.locator('[role="combobox"]').first
    field.click()
    field.fill(option)
    choice = page.locator('[role="option"]').filter(has_text=re.compile(rf"^\s*{re.escape(option)}\s*$"))
    expect(choice.first).to_be_visible(timeout=LONG_STEP_MS)
    field.press("Enter")
    wait_until_idle(page, LONG_STEP_MS)
    expect(field).to_have_value(option, timeout=LONG_STEP_MS)


def test_a_german_analyst_walks_the_journey_in_german(german_page, app_server, browser_errors, screenshot_dir,
                                                      german_csv):
    """A German browser (de-DE, Europe/Berlin; nothing saved, no PERSONAS_LANGUAGE on the server) gets every
    page in German, from the sign-in page on: Portfolio (the German export), Find personas, Personas,
    Explanations (with an account's waterfall), Strategies, Audit, Account; a screenshot of each
    (``test-artifacts/screenshots/de_NN_*.png``) and none shows an English UI word of the app's own.

    On the way: every chart's plot keeps the height its spec asks for and every label of a discrete y axis
    shows (tests/browser/chart_checks.py); the waterfall has one readable German label per bar; the audit
    log downloads as a German Excel file; switching to English on the Account page renames the personas
    and saves no run; a reload keeps the user signed in on the same page with the same portfolio and run.
    Problems are collected and reported together at the end.

    Runs after the English journey in the same server (same file, so the same pytest-xdist worker): the same
    upload, outcome column and settings find the English journey's run again instead of computing one.
    """
    from sample_data.generator import GERMAN_COLUMNS

    page = german_page
    specs = ChartSpecs(page)  # listens before the first page load
    journey = Journey(page, app_server.url, screenshot_dir, prefix="de_")
    findings = Findings()
    CHARTS_SEEN.clear()

    open_app(page, app_server.url)
    expect(page.locator('[data-testid="stForm"]')).to_contain_text(german("Password"))
    check_german_page(journey, findings, "sign_in")
    sign_in(page, "anna", app_server.passwords["anna"])

    # ---- Portfolio: the German export, German grouping in the figures
    wait_visible(page, page.get_by_role("heading", name=german("Portfolio")), LONG_STEP_MS, "the Portfolio page")
    check_german_page(journey, findings, "portfolio")
    upload_file(page, german_csv)
    rows_read = page.locator('[data-testid="stMetric"]').filter(has_text=german("Rows read"))
    expect(rows_read.first.locator('[data-testid="stMetricValue"]')).to_have_text("1.500", timeout=LONG_STEP_MS)
    choose_in_selectbox(page, german("Outcome column the risk model learns from"), GERMAN_COLUMNS["paid_90d"])
    check_german_page(journey, findings, "portfolio_uploaded")

    # ---- Personas: nothing runs until "Personas finden"
    go_to(page, german("Personas"))
    find = page.locator('[data-testid="stMain"] button').filter(
        has_text=re.compile(rf"^\s*{re.escape(german('Find personas'))}\s*$"))
    wait_visible(page, find, STEP_MS, "the Find personas button").click()
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=german("Personas"))
    wait_visible(page, metric, LONG_STEP_MS, "the discovered personas")
    wait_until_idle(page, LONG_STEP_MS)
    check_charts(page, specs, "Personas map", findings)
    check_german_page(journey, findings, "personas")
    german_names = persona_card_names(page)
    check_german_page(journey, findings, "persona_cards")

    # ---- Explanations: every chart at its height, the account waterfall with a label per bar
    go_to(page, german("Explanations"))
    wait_visible(page, page.locator('[data-testid="stMain"] [role="tab"]').filter(has_text=german("Performance")),
                 LONG_STEP_MS, "the risk model of the run")
    check_charts(page, specs, "Explanations, performance", findings, at_least=4)
    check_german_page(journey, findings, "explanations")
    open_tab(page, german("Drivers"))
    check_charts(page, specs, "Explanations, drivers", findings, at_least=2)
    open_tab(page, german("Fairness"))
    if page.locator('[data-testid="stMain"] [role="tabpanel"]:visible [data-testid="stVegaLiteChart"]').count():
        check_charts(page, specs, "Explanations, fairness", findings)
    open_tab(page, german("Account look-up"))
    field = page.locator('[data-testid="stTextInput"]').filter(has_text=german("Account id")).locator("input")
    field.first.fill(_first_account_id(german_csv))
    field.first.press("Enter")
    wait_until_idle(page, LONG_STEP_MS)
    score = page.locator('[data-testid="stMetric"]').filter(has_text=german("Risk score (P NOT paid, out-of-fold)"))
    expect(score.first.locator('[data-testid="stMetricValue"]')).to_have_text(re.compile(r"^\d+,\d %$"))
    charts = check_charts(page, specs, "Explanations, account waterfall", findings, labels=False)
    waterfall = [c for c in charts if c.bars and c.y_axis() and c.discrete_values(c.y_axis())]
    assert len(waterfall) == 1, chart_report(charts)
    findings.add("the account waterfall", waterfall_label_problems(waterfall[0]))
    check_german_page(journey, findings, "explanation_account")

    # ---- Strategies and Audit, and the audit log as a German Excel file
    go_to(page, german("Strategies"))
    if page.locator('[data-testid="stMain"] [data-testid="stVegaLiteChart"]').count():
        check_charts(page, specs, "Strategies", findings)
    chosen = page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').filter(
        has_text=re.compile(r"^\s*Persona\b"))
    if chosen.count():  # the persona under review, named in the page's language
        shown = chosen.first.locator('[role="combobox"]').input_value() or chosen.first.inner_text()
        number = re.match(r"\D*(\d+)", shown)
        card = next((n for n in german_names if number and n.startswith(f"{number.group(1)} · ")), None)
        if card and card.split(" · ", 1)[1] not in shown:
            findings.append(f"Strategies names persona {number.group(1)} {shown!r}, its card {card!r}")
    check_german_page(journey, findings, "strategies")
    go_to(page, german("Audit"))
    wait_visible(page, page.locator('[data-testid="stAlert"]').filter(has_text="Prüfprotokoll"),
                 what="the audit verification result")
    check_german_page(journey, findings, "audit")
    check_german_excel_csv(download(page, german("Download these entries (CSV)")), dates=True)

    # ---- switching the display language relabels, it never computes a run
    runs_before = saved_runs(app_server.home)
    go_to(page, german("Account"))
    check_german_page(journey, findings, "account")
    choose_language(page, german("Language of the app"), "English")
    wait_visible(page, page.get_by_role("heading", name="Account"), STEP_MS, "the Account page in English")
    go_to(page, "Personas")
    if personas_shown(page, "English"):
        english_names = persona_card_names(page)
        if [n.split(" · ")[0] for n in english_names] != [n.split(" · ")[0] for n in german_names]:
            findings.append(f"other personas after switching the language: {german_names} -> {english_names}")
        elif english_names == german_names:
            findings.append(f"the persona names did not change language: {english_names}")
    else:
        findings.append("after switching the language the Personas page no longer shows the run")
    journey.check_page("persona_cards_in_english")
    if saved_runs(app_server.home) != runs_before:
        findings.append(f"switching the language created a run: {runs_before} -> {saved_runs(app_server.home)}")

    # ---- a reload keeps the user signed in, on the same page, with the same portfolio and run
    page.reload()
    wait_visible(page, page.locator(SIGN_OUT), STEP_MS, "still signed in after the reload")
    wait_visible(page, page.get_by_role("heading", name="Personas"), LONG_STEP_MS,
                 "the Personas page again after the reload")
    assert page.url.rstrip("/").endswith("/personas"), f"the reload left the page: {page.url}"
    if not personas_shown(page, "English"):
        findings.append("after a reload the Personas page lost the upload or the run: "
                        + page.locator('[data-testid="stMain"] [data-testid="stAlert"]').first.inner_text()[:300])
    journey.check_page("personas_after_reload")

    # ---- and back to the browser's language
    go_to(page, "Account")
    choose_language(page, "Language of the app", "Automatic (Deutsch)")
    wait_visible(page, page.get_by_role("heading", name=german("Account")), STEP_MS, "German again")
    if saved_runs(app_server.home) != runs_before:
        findings.append(f"switching the language back or reloading created a run: {saved_runs(app_server.home)}")

    findings.add("the browser", browser_errors.all())
    if "Traceback" in app_server.log_tail(50_000):
        findings.append(f"a traceback in the server log: {app_server.log_tail(3000)}")
    assert findings == [], "\n".join(["What the German journey found:", *findings, *CHARTS_SEEN])


#: English words of the waterfall (explain/charts.py) that must not show in a German chart.
WATERFALL_ENGLISH = ("raises risk", "lowers risk", "other feature", "Log-odds of NOT paying", "base value",
                     "this account")


def waterfall_label_problems(chart: DrawnChart) -> list[str]:
    """One readable y-axis label per bar, none hidden by Vega's overlap rule or cut, and in German."""
    axis = chart.y_axis()
    values = chart.discrete_values(axis)
    labels = [t["text"] for t in axis["ticks"]]
    shown = [t["text"] for t in axis["ticks"] if t["opacity"] > 0 and t["inside"] and not t["text"].endswith("…")]
    problems = []
    if chart.bars != values:
        problems.append(f"{chart.bars} bars but {values} values on the y axis")
    if not len(set(shown)) == values == len(labels):
        problems.append(f"{len(set(shown))} of {values} bar labels readable: {labels}")
    words = "\n".join([*labels, *chart.legend, *chart.texts])
    english = [w for w in WATERFALL_ENGLISH if w in words]
    if english:
        problems.append(f"English words {english} in the German chart: {[*labels, *chart.legend]}")
    return problems
