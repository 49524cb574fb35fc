"""End-to-end: an analyst, a manager and a compliance reviewer use the app in a real Chromium.

The analyst uploads a German CSV, reads the validation report, picks the outcome column, discovers
personas, opens a persona card, looks up one account's explanation and proposes strategies. The
manager approves them and downloads the export. The compliance reviewer verifies the audit log.
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


def _page_exists(name: str) -> bool:
    return (REPO / "pages" / name).exists()


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
    # Discovery (UMAP + HDBSCAN, numba compilation) can take minutes on a busy machine.
    wait_until_idle(page, LONG_STEP_MS)
    journey.check_page("personas")


def analyst_opens_persona_card(journey: Journey) -> None:
    page = journey.page
    expander = page.locator('[data-testid="stExpander"]').first
    expect(expander).to_be_visible(timeout=STEP_MS)
    expander.locator("summary").first.click()
    wait_until_idle(page)
    journey.check_page("persona_card")


def analyst_looks_up_explanation(journey: Journey, account_id: str) -> None:
    page = journey.page
    go_to(page, "Explanations")
    journey.check_page("explanations")
    field = page.locator('[data-testid="stTextInput"]').filter(has_text=re.compile("account", re.I))
    if field.count():
        field.first.locator("input").fill(account_id)
        field.first.locator("input").press("Enter")
        wait_until_idle(page, LONG_STEP_MS)
    expect(page.locator('[data-testid="stMain"]')).to_contain_text(account_id, timeout=STEP_MS)
    journey.check_page("explanation_account")


def analyst_proposes_strategies(journey: Journey) -> None:
    page = journey.page
    go_to(page, "Strategies")
    journey.check_page("strategies_before")
    click_button(page, re.compile(r"^Propose", re.I), timeout_ms=LONG_STEP_MS)
    journey.check_page("strategies_proposed")


# ---------------------------------------------------------------- the manager
def manager_approves_all(journey: Journey) -> None:
    page = journey.page
    go_to(page, "Strategies")
    journey.check_page("strategies_manager")
    click_button(page, re.compile(r"^Approve", re.I), timeout_ms=LONG_STEP_MS)
    journey.check_page("strategies_approved")


def manager_exports_csv(journey: Journey) -> bytes:
    page = journey.page
    content = download(journey.page, re.compile(r"CSV", re.I), timeout_ms=LONG_STEP_MS)
    journey.check_page("export")
    return content


# ---------------------------------------------------------------- compliance
def compliance_verifies_audit_log(journey: Journey) -> None:
    page = journey.page
    go_to(page, "Audit")
    expect(page.locator('[data-testid="stMain"]')).to_contain_text(re.compile("intact", re.I),
                                                                   timeout=STEP_MS)
    journey.check_page("audit")


# ---------------------------------------------------------------- the journey
def test_analyst_manager_and_compliance_walk_the_whole_journey(
        page, app_server, browser_errors, screenshot_dir, german_csv):
    from sample_data.generator import GERMAN_COLUMNS

    journey = Journey(page, app_server.url, screenshot_dir)
    passwords = app_server.passwords
    left_out: list[str] = []

    open_app(page, app_server.url)
    journey.check_page("sign_in")

    sign_in(page, "analyst", passwords["analyst"])
    assert "Users" not in nav_titles(page), "an analyst must not see the admin page"
    analyst_uploads_portfolio(journey, german_csv)
    analyst_reads_validation_report(journey)
    analyst_chooses_outcome(journey, GERMAN_COLUMNS["paid_90d"])

    if _page_exists("2_personas.py"):
        analyst_discovers_personas(journey)
        analyst_opens_persona_card(journey)
    else:
        left_out.append("discover personas / persona card (pages/2_personas.py missing)")
    if _page_exists("3_explanations.py"):
        analyst_looks_up_explanation(journey, account_id=_first_account_id(german_csv))
    else:
        left_out.append("account explanation (pages/3_explanations.py missing)")
    if _page_exists("4_strategies.py"):
        analyst_proposes_strategies(journey)
    else:
        left_out.append("propose strategies (pages/4_strategies.py missing)")
    sign_out(page)

    sign_in(page, "manager", passwords["manager"])
    if _page_exists("4_strategies.py"):
        manager_approves_all(journey)
        exported = manager_exports_csv(journey)
        rows = csv_rows(exported)
        assert rows, "the exported CSV has no rows"
        assert unescaped_formula_cells(exported) == []
    else:
        left_out.append("approve and export (pages/4_strategies.py missing)")
    sign_out(page)

    sign_in(page, "compliance", passwords["compliance"])
    if _page_exists("5_audit.py"):
        compliance_verifies_audit_log(journey)
    else:
        left_out.append("verify the audit log (pages/5_audit.py missing)")
    sign_out(page)

    assert browser_errors.all() == [], "\n".join(browser_errors.all())
    assert "Traceback" not in app_server.log_tail(20_000), app_server.log_tail()
    if left_out:
        pytest.xfail("journey incomplete, every other step passed; left out: " + "; ".join(left_out))


def _first_account_id(path: Path) -> str:
    first_data_line = path.read_bytes().decode("cp1252").splitlines()[1]
    return first_data_line.split(";")[0].strip('"')
