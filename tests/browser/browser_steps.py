"""Small steps a person takes in the app, written with Playwright against Streamlit's data-testid hooks.

Each step waits for what a person would wait for (the page heading, a message, the app going idle)
and never sleeps blindly. ``check_page`` is called after every step: it fails on any Streamlit
exception box and saves a full-page screenshot.
"""
from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

from playwright.sync_api import Page, expect

# Long steps (UMAP + HDBSCAN discovery, numba compilation, the risk model) on a busy 2-core machine.
LONG_STEP_MS = 420_000
STEP_MS = 60_000

STATUS_WIDGET = '[data-testid="stStatusWidget"]'
EXCEPTION_BOX = '[data-testid="stException"]'


# ---------------------------------------------------------------- waiting and checking
def wait_until_idle(page: Page, timeout_ms: int = STEP_MS) -> None:
    """Wait until the script run has finished: no "Running…" status widget, no skeleton, no spinner.

    Streamlit shows the status widget only after a short delay, so idleness must hold for a moment
    before it counts.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    quiet_since = None
    busy = (f'{STATUS_WIDGET}, [data-testid="stSkeleton"], [data-testid="stSpinner"], '
            f'[data-testid="stAppSkeleton"]')
    while time.monotonic() < deadline:
        if page.locator(busy).count() == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 0.8:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(200)
    raise AssertionError(f"the app was still running after {timeout_ms / 1000:.0f} s")


def assert_no_exception(page: Page, where: str) -> None:
    boxes = page.locator(EXCEPTION_BOX)
    if boxes.count():
        raise AssertionError(f"Streamlit exception box on {where}:\n{boxes.first.inner_text()[:3000]}")


class Journey:
    """Screenshots numbered in the order the pages were seen: ``NN_name.png``."""

    def __init__(self, page: Page, base_url: str, screenshot_dir: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.screenshot_dir = screenshot_dir
        self.count = 0

    def check_page(self, name: str) -> Path:
        """Fail on a Streamlit exception box, then save a full-page screenshot."""
        wait_until_idle(self.page)
        self.count += 1
        path = self.screenshot_dir / f"{self.count:02d}_{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert_no_exception(self.page, name)
        return path


# ---------------------------------------------------------------- signing in and out, navigation
def open_app(page: Page, base_url: str) -> None:
    page.goto(base_url)
    expect(page.get_by_role("heading", name="Persona collections")).to_be_visible(timeout=STEP_MS)
    wait_until_idle(page)


def sign_in(page: Page, username: str, password: str) -> None:
    form = page.locator('[data-testid="stForm"]')
    form.get_by_label("User name").fill(username)
    form.get_by_label("Password", exact=True).fill(password)
    form.locator('[data-testid="stFormSubmitButton"] button').click()
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text(username, exact=False).first).to_be_visible(timeout=STEP_MS)
    wait_until_idle(page, LONG_STEP_MS)


def sign_out(page: Page) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Persona collections")).to_be_visible(timeout=STEP_MS)
    wait_until_idle(page)


def go_to(page: Page, title: str, heading: str | None = None, timeout_ms: int = LONG_STEP_MS) -> None:
    """Click a page in the sidebar navigation and wait for its heading."""
    link = page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title)
    link.first.click()
    expect(page.get_by_role("heading", name=heading or title).first).to_be_visible(timeout=timeout_ms)
    wait_until_idle(page, timeout_ms)


def nav_titles(page: Page) -> list[str]:
    return [text.strip() for text in page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]


# ---------------------------------------------------------------- widgets
def button(page: Page, name: str | re.Pattern):
    """A visible button in the main area (not the sidebar), by its label."""
    return page.locator('[data-testid="stMain"]').get_by_role("button", name=name)


def click_button(page: Page, name: str | re.Pattern, timeout_ms: int = STEP_MS) -> None:
    target = button(page, name).first
    expect(target).to_be_enabled(timeout=timeout_ms)
    target.click()
    wait_until_idle(page, timeout_ms)


def upload_file(page: Page, path: Path, timeout_ms: int = LONG_STEP_MS) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    expect(page.locator('[data-testid="stFileUploaderFile"]').first).to_be_visible(timeout=STEP_MS)
    wait_until_idle(page, timeout_ms)


def choose_in_selectbox(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.locator('[role="combobox"], input').first.click()
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_until_idle(page)


def download(page: Page, label: str | re.Pattern, timeout_ms: int = STEP_MS) -> bytes:
    """Click a download button and return the downloaded file's bytes."""
    target = page.locator('[data-testid="stDownloadButton"]').filter(has_text=label).first
    expect(target).to_be_visible(timeout=timeout_ms)
    with page.expect_download(timeout=timeout_ms) as pending:
        target.locator("button").click()
    return Path(pending.value.path()).read_bytes()


# ---------------------------------------------------------------- checks on downloaded files
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def unescaped_formula_cells(csv_bytes: bytes) -> list[str]:
    """Text cells of a CSV that a spreadsheet would run as a formula (OWASP CSV injection).

    Plain numbers (``-12.5``) are not formulas; every other cell starting with = + - @ tab CR NUL is.
    """
    text = csv_bytes.decode("utf-8-sig", errors="replace")
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    bad = []
    for row in csv.reader(io.StringIO(text), dialect):
        for cell in row:
            if cell.startswith(FORMULA_STARTS) and not _NUMBER.match(cell.strip()):
                bad.append(cell)
    return bad


def csv_rows(csv_bytes: bytes) -> list[dict[str, str]]:
    text = csv_bytes.decode("utf-8-sig", errors="replace")
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    return list(csv.DictReader(io.StringIO(text), dialect=dialect))
