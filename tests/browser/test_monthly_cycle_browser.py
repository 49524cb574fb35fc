"""The monthly cycle in a real browser: a manager opens the Drift and KPIs pages of a month applied
from an approved run, with payments loaded, against the real server (``streamlit run server.py``).

The two months are made with the library in the server's own workspace (the journey in
test_journey.py already walks upload, discovery and approval through the pages); here the question
is what a manager sees: the carry-over decision, the persona-share and PSI charts drawn at their
size (every chart's plot at least the height its spec asks for, tests/browser/chart_checks.py), and
KPIs from the loaded payments; and, in a German browser, the KPI table downloaded as a German Excel
file (``;``, decimal comma, UTF-8 with BOM).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from browser_steps import Journey, check_german_excel_csv, download, go_to, open_app, sign_in, wait_until_idle, wait_visible
from chart_checks import ChartSpecs, chart_report, drawn_charts, height_problems

pytestmark = pytest.mark.browser


@pytest.fixture
def applied_month(app_server, monkeypatch, tmp_path):
    """Month 1 run (approved by the manager), month 2 applied with carry-over, payments loaded in month 2."""
    from application.apply import apply_run
    from application.user_workspace import save_run_choice
    from application.pipeline import run_pipeline
    from core.workspace import database_url, runs_dir
    from personas.settings import RunSettings
    from portfolio.load import load_portfolio
    from portfolio.payments import load_payments
    from runs import new_run_id
    from sample_data.generator import generate_portfolio
    from sample_data.monthly import next_month
    from strategy.auth import User
    from strategy.outcomes import save_outcomes
    from strategy.proposals import propose_strategies
    from strategy.run_view import load_run_view
    from strategy.store import ReviewStore

    monkeypatch.setenv("PERSONAS_HOME", str(app_server.home))
    month1 = generate_portfolio(1_200, seed=21)
    settings = RunSettings(target="paid_90d", parallel_risk=False, currency="EUR").with_discovery(
        search=False, display_rows=600)
    base = run_pipeline(load_portfolio(month1, filename="monat1.csv"), settings)
    base_dir = base.save(runs_dir() / base.run_id)
    store = ReviewStore(database_url())
    try:
        view = load_run_view(base_dir)
        frame = view.portfolio
        analyst, manager = User("analyst", "analyst"), User("manager", "manager")
        for proposal in propose_strategies(view.profiles, accounts=view.accounts, portfolio_frame=frame):
            store.propose(analyst, view, proposal.persona_id, proposal.strategy, evidence=proposal.evidence)
        for mapping in store.list_mappings(view):
            store.approve(manager, view, mapping.persona_id, expected_version=mapping.version, portfolio=frame)
        result = apply_run(base_dir, load_portfolio(next_month(month1, 21), filename="monat2.csv"),
                           out_dir=runs_dir() / new_run_id(), store=store)
        # The server is shared with the other browser tests, and a signed-in user gets back the run they
        # chose last (application.user_workspace): the manager's earlier choice there must not decide
        # which run this test reads. Forget it, so the sidebar opens on the newest run, the applied month.
        save_run_choice(store, "manager", None)
    finally:
        store.close()
    paying = result.accounts["account_id"].astype(str).sample(frac=0.3, random_state=2)
    payments = pd.DataFrame({"Kundennummer": paying.to_numpy(), "Buchungsdatum": "15.11.2026",
                             "Betrag": [f"{v:.2f}".replace(".", ",") for v in
                                        np.random.default_rng(2).uniform(10, 300, len(paying))]})
    path = tmp_path / "zahlungen.csv"
    payments.to_csv(path, sep=";", index=False, encoding="cp1252")
    save_outcomes(result.path, load_payments(path))
    return result


def _plot_heights(page) -> list[tuple[float, float]]:
    """(drawn height, requested height) of every Vega chart on the page."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.vega-embed')).map(e => {
        const el = e.querySelector('canvas, svg'); const r = el ? el.getBoundingClientRect() : {height: 0};
        return [r.height, parseFloat(e.getAttribute('data-requested-height') || '0')];
    })""")


def test_manager_reads_drift_and_kpis_of_the_applied_month(page, german_page, app_server, browser_errors,
                                                          screenshot_dir, applied_month):
    journey = Journey(page, app_server.url, screenshot_dir)
    specs = ChartSpecs(page)
    open_app(page, app_server.url)
    sign_in(page, "manager", app_server.passwords["manager"])
    # The sidebar's run picker opens on the newest run: the applied month.
    go_to(page, "Drift")
    wait_visible(page, page.get_by_text("approvals carried over", exact=False).first, what="the carry-over verdict")
    charts = page.locator(".vega-embed")
    wait_visible(page, charts.first, what="the persona share chart")
    # Nine personas ask for 9 x 26 px of plot; title and axis come on top (core/charts.fit_width).
    heights = [h for h, _ in _plot_heights(page)]
    n_personas = len(applied_month.drift["personas"])
    assert heights and heights[0] >= 26 * n_personas + 60, f"the persona share chart is squashed: {heights}"
    charts = drawn_charts(page, specs)
    squashed = height_problems(charts)  # asserted at the end, after the German download
    seen = [chart_report(charts)]
    journey.check_page("drift")

    go_to(page, "KPIs")
    wait_visible(page, page.locator('[data-testid="stDataFrame"]').first, what="the KPI overview table")
    wait_visible(page, page.get_by_text("payments loaded for 1 of them", exact=False).first,
                 what="which months have payments")
    journey.check_page("kpis")
    page.get_by_role("tab", name="By persona and arm").click()
    wait_visible(page, page.locator(".vega-embed").first, what="the recovery-rate chart")
    heights = [h for h, _ in _plot_heights(page)]
    assert heights and max(heights) >= 260 + 60, f"the KPI chart is squashed: {heights}"
    charts = drawn_charts(page, specs)
    squashed += height_problems(charts)
    seen.append(chart_report(charts))
    page.get_by_role("tab", name="Champion / challenger").click()
    wait_visible(page, page.get_by_text("no approved champion/challenger experiment", exact=False).first,
                 what="the read-out's note that every account is champion")

    # The same KPI table for a manager whose browser is German: a German Excel file.
    from core.i18n import translator

    german = translator("de")._
    open_app(german_page, app_server.url)
    sign_in(german_page, "manager", app_server.passwords["manager"])
    go_to(german_page, german("KPIs"))
    wait_visible(german_page, german_page.locator('[data-testid="stDataFrame"]').first, what="the KPI table in German")
    check_german_excel_csv(download(german_page, german("Download the KPI table (CSV)")), decimals=True)

    assert squashed == [], "\n".join([*squashed, "--- charts ---", *seen])
    assert browser_errors.all() == [], "\n".join(browser_errors.all())
    assert "Traceback" not in app_server.log_tail(50_000), app_server.log_tail()
