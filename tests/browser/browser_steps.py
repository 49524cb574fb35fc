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

from playwright.sync_api import Locator, Page, expect

# Long steps (UMAP + HDBSCAN discovery, numba compilation, the risk model) on a busy 2-core machine.
LONG_STEP_MS = 420_000
STEP_MS = 60_000

FAILURE_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1400, "height": 1000}
STATUS_WIDGET = '[data-testid="stStatusWidget"]'
EXCEPTION_BOX = '[data-testid="stException"]'


# ---------------------------------------------------------------- waiting and checking
#: Streamlit's own record of the script run on its root element (``data-test-script-state``): it says
#: "running" from the server's first word about a run, while the status widget appears only 500 ms later.
SCRIPT_BUSY = ", ".join(f'[data-testid="stApp"][data-test-script-state="{state}"]'
                        for state in ("running", "rerunRequested", "stopRequested"))
#: How long the page must stay idle before it counts: a click's rerun reaches the server and comes back
#: as "running" in well under this, even on a busy machine.
IDLE_FOR_S = 0.4


def wait_until_idle(page: Page, timeout_ms: int = STEP_MS) -> None:
    """Wait until the script run has finished: the app's root says no script is running, and no
    "Running…" status widget, skeleton or spinner is shown, for :data:`IDLE_FOR_S` in a row (a click's
    rerun may not have reached the server yet when the wait starts)."""
    deadline = time.monotonic() + timeout_ms / 1000
    quiet_since = None
    busy = (f'{STATUS_WIDGET}, [data-testid="stSkeleton"], [data-testid="stSpinner"], '
            f'[data-testid="stAppSkeleton"], {SCRIPT_BUSY}')
    while time.monotonic() < deadline:
        assert_no_exception(page, "a running page")
        if page.locator(busy).count() == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= IDLE_FOR_S:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(100)
    raise AssertionError(f"the app was still running after {timeout_ms / 1000:.0f} s")


def wait_visible(page: Page, locator: Locator, timeout_ms: int = STEP_MS, what: str = "") -> Locator:
    """Wait for ``locator`` to be visible; fail at once if Streamlit shows an exception box instead."""
    deadline = time.monotonic() + timeout_ms / 1000
    target = locator.first
    while time.monotonic() < deadline:
        if target.is_visible():
            return target
        assert_no_exception(page, f"waiting for {what or locator}")
        page.wait_for_timeout(100)
    shot = save_failure_screenshot(page)
    raise AssertionError(f"not visible after {timeout_ms / 1000:.0f} s: {what or locator} (see {shot})")


def save_failure_screenshot(page: Page) -> Path:
    path = FAILURE_DIR / f"failure_{time.strftime('%H%M%S')}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(path))
    except Exception:  # the page may be gone; the assertion message is what matters
        pass
    return path


def assert_no_exception(page: Page, where: str) -> None:
    boxes = page.locator(EXCEPTION_BOX)
    if boxes.count():
        raise AssertionError(f"Streamlit exception box on {where}:\n{boxes.first.inner_text()[:3000]}")


class Journey:
    """Screenshots numbered in the order the pages were seen: ``{prefix}NN_name.png``."""

    def __init__(self, page: Page, base_url: str, screenshot_dir: Path, prefix: str = "") -> None:
        self.page = page
        self.base_url = base_url
        self.screenshot_dir = screenshot_dir
        self.prefix = prefix
        self.count = 0

    def check_page(self, name: str) -> Path:
        """Fail on a Streamlit exception box, then save a full-page screenshot."""
        wait_until_idle(self.page)
        assert_no_exception(self.page, name)
        self.count += 1
        path = self.screenshot_dir / f"{self.prefix}{self.count:02d}_{name}.png"
        # Streamlit scrolls inside its main container, so a "full page" screenshot shows only the
        # window: make the window as tall as the content for the picture, then restore it.
        height = self.page.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return m ? m.scrollHeight : document.body.scrollHeight; }")
        size = self.page.viewport_size or VIEWPORT
        self.page.set_viewport_size({"width": size["width"], "height": min(max(size["height"], height), 6000)})
        # The taller window's re-layout: two animation frames (the picture is for people, not asserted).
        self.page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        self.page.screenshot(path=str(path), full_page=True)
        self.page.set_viewport_size(size)
        return path


# ---------------------------------------------------------------- signing in and out, navigation
def open_app(page: Page, base_url: str) -> None:
    page.goto(base_url)
    wait_visible(page, page.get_by_role("heading", name="Persona collections"), what="the sign-in page")
    wait_until_idle(page)


# The sidebar's "Sign out" button by its widget key (``st-key-sign_out``): the same in every language.
SIGN_OUT = '[data-testid="stSidebar"] .st-key-sign_out button'


def sign_in(page: Page, username: str, password: str) -> None:
    """Fill the sign-in form by its fields (user name, then the password field), in any language."""
    form = page.locator('[data-testid="stForm"]')
    form.locator('[data-testid="stTextInput"] input:not([type="password"])').first.fill(username)
    form.locator('input[type="password"]').first.fill(password)
    form.locator('[data-testid="stFormSubmitButton"] button').click()
    sidebar = page.locator('[data-testid="stSidebar"]')
    wait_visible(page, page.locator(SIGN_OUT), what=f"{username} signed in")
    expect(sidebar).to_contain_text(username)
    wait_until_idle(page, LONG_STEP_MS)


def sign_out(page: Page) -> None:
    page.locator(SIGN_OUT).click()
    wait_visible(page, page.get_by_role("heading", name="Persona collections"), what="signed out")
    wait_until_idle(page)


def go_to(page: Page, title: str, heading: str | None = None, timeout_ms: int = LONG_STEP_MS) -> None:
    """Click a page in the sidebar navigation and wait for its heading."""
    link = page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title)
    link.first.click()
    wait_visible(page, page.get_by_role("heading", name=heading or title), timeout_ms,
                 what=f"the {title} page")
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
    wait_visible(page, page.locator('[data-testid="stFileChip"], [data-testid="stFileUploaderFile"]'),
                 what=f"{path.name} uploaded")
    wait_until_idle(page, timeout_ms)


def choose_in_selectbox(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox whose label contains ``label``.

    Types the option into the combobox and confirms it with Enter, as a keyboard user does; this
    does not depend on the dropdown staying open while the page scrolls.
    """
    box = wait_visible(page, page.locator('[data-testid="stSelectbox"]').filter(has_text=label),
                       what=f"the selectbox {label!r}")
    box.scroll_into_view_if_needed()
    field = box.locator('[role="combobox"]').first
    field.click()
    field.fill(option)
    choice = page.locator('[role="option"]').filter(has_text=re.compile(rf"^\s*{re.escape(option)}\s*$"))
    wait_visible(page, choice, what=f"option {option!r} of {label!r}")
    field.press("Enter")
    wait_until_idle(page)
    expect(field).to_have_value(option)


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


def check_german_excel_csv(content: bytes, *, dates: bool = False, decimals: bool = False) -> None:
    """German Excel conventions: UTF-8 with BOM, ``;`` between fields, dates 01.12.2026, decimal comma."""
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    text = content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert len(rows) > 1 and len(rows[0]) > 1, f"not split by ';': {text[:300]!r}"
    assert all(len(row) == len(rows[0]) for row in rows if row), "every row has the header's fields"
    cells = [cell for row in rows[1:] for cell in row]
    if dates:
        assert any(re.fullmatch(r"\d\d\.\d\d\.\d{4}( \d\d:\d\d)?", c) for c in cells), cells[:20]
        assert not any(re.fullmatch(r"\d{4}-\d\d-\d\d([ T][\d:.]+)?", c) for c in cells), "no ISO dates"
    if decimals:
        assert any(re.fullmatch(r"-?\d+,\d+", c) for c in cells), f"no decimal comma in {cells[:20]}"
        assert not any(re.fullmatch(r"-?\d+\.\d+", c) for c in cells), "a decimal point in a German file"
