"""Typing a page's address into the browser reaches nothing the visitor's role does not allow.

A person can skip the navigation and open ``/admin`` or ``/strategies`` directly, signed out or signed
in with the wrong role. These tests do exactly that against the real server.
"""
from __future__ import annotations

import re

import pytest

from browser_steps import STEP_MS, open_app, sign_in, wait_until_idle, wait_visible

pytestmark = pytest.mark.browser

PAGE_PATHS = ["portfolio", "personas", "explanations", "strategies", "audit", "drift", "kpis", "admin"]
# Helper modules in app_pages/ that are not pages at all.
HELPER_PATHS = ["state", "strategy_ui", "personas_ui"]


@pytest.fixture(scope="module")
def signed_out_tab(browser):
    """One tab of a signed-out visitor who types one address after another (its HTTP cache keeps the
    app's scripts, so each visit costs ~1.5 s instead of ~2.5 s in a new browser context)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    try:
        yield context.new_page()
    finally:
        context.close()


def _visit(tab, url: str):
    """Open ``url`` signed out: no cookie from an earlier visit, a new Streamlit session."""
    tab.context.clear_cookies()
    tab.goto(url)
    wait_visible(tab, tab.locator('[data-testid="stMain"]'), STEP_MS, f"the app at {url}")
    wait_until_idle(tab)
    return tab


def _data_shown(page) -> list[str]:
    main = page.locator('[data-testid="stMain"]')
    found = []
    for testid in ("stDataFrame", "stMetric", "stFileUploader", "stVegaLiteChart", "stDownloadButton",
                   "stException"):
        if main.locator(f'[data-testid="{testid}"]').count():
            found.append(testid)
    return found


@pytest.mark.parametrize("path", PAGE_PATHS + HELPER_PATHS)
def test_a_signed_out_visitor_typing_a_page_address_sees_no_data(signed_out_tab, app_server, path):
    page = _visit(signed_out_tab, f"{app_server.url}/{path}")
    assert _data_shown(page) == [], f"/{path} shows {_data_shown(page)} to a signed-out visitor"
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert not re.search(r"\bSign out\b", page.locator('[data-testid="stSidebar"]').inner_text()
                         if page.locator('[data-testid="stSidebar"]').count() else "")
    assert text.strip() == "" or "sign in" in text.lower() or \
        page.get_by_role("heading", name="Persona collections").count() == 1, f"/{path} shows: {text[:300]}"


@pytest.mark.parametrize("path", ["admin", "state"])
def test_a_page_address_always_goes_through_the_sign_in(signed_out_tab, app_server, path):
    page = _visit(signed_out_tab, f"{app_server.url}/{path}")
    # On a busy machine the sign-in page can still be drawing when the first script run went idle.
    heading = page.get_by_role("heading", name="Persona collections")
    wait_visible(page, heading, STEP_MS, f"the sign-in page after opening /{path}")
    assert heading.count() == 1, \
        f"/{path} did not show the sign-in page: {page.locator('[data-testid=stMain]').inner_text()[:200]}"


def test_an_analyst_typing_the_admin_address_gets_no_user_list(browser, app_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = context.new_page()
    try:
        open_app(page, app_server.url)
        sign_in(page, "analyst", app_server.passwords["analyst"])
        page.goto(f"{app_server.url}/admin")
        wait_visible(page, page.locator('[data-testid="stMain"]'), STEP_MS, "the app at /admin")
        wait_until_idle(page)
        main = page.locator('[data-testid="stMain"]')
        # Still signed in (the session cookie survives the new address), on a page the role has.
        wait_visible(page, page.get_by_role("heading", name="Portfolio"), STEP_MS, "the analyst's page")
        assert main.get_by_role("button", name="Add user").count() == 0
        assert page.get_by_role("heading", name="Users").count() == 0
    finally:
        context.close()
