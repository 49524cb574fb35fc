"""End-to-end: an analyst, a manager and a compliance reviewer use the app in a real Chromium.

The analyst uploads a German CSV, reads the validation report, picks the outcome column, discovers
personas, opens a persona card, looks up one account's explanation and proposes strategies. The
compliance reviewer signs off the run's model (export needs it). The manager approves the strategies
and downloads the export. The compliance reviewer verifies the audit log.
Every page is saved as ``test-artifacts/screenshots/NN_name.png``; the test fails on any Streamlit
exception box and on any browser console error or uncaught page error.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from browser_steps import (
    LONG_STEP_MS,
    STEP_MS,
    Journey,
    button,
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

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ROWS = 1_500


@pytest.fixture(scope="module")
def german_csv(tmp_path_factory) -> Path:
    """A small portfolio as a German ERP writes it: ``;``, decimal comma, cp1252, German headers."""
    from sample_data.generator import generate_portfolio, write_portfolio

    path = tmp_path_factory.mktemp("upload") / "offene_posten_2026-11.csv"
    write_portfolio(generate_portfolio(ROWS, seed=11, language="de"), path, german_format=True)
    head = path.read_bytes()[:200].decode("cp1252")
    assert ";" in head and "Aktenzeichen" in head
    return path


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
