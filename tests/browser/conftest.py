"""Fixtures for the end-to-end browser test: Debian's Chromium, a real Streamlit server, Playwright.

* ``chromium_executable`` makes sure ``/usr/bin/chromium`` exists (runs ``scripts/install_browser.sh``,
  which uses apt-get; Playwright's own browser download is never used) and fails with a clear message
  when it cannot. A missing browser is a failure, never a silent skip; only a developer may opt out
  with ``PERSONAS_SKIP_BROWSER=1``, and that is ignored when ``CI=true``.
* ``app_server`` starts ``streamlit run server.py`` (the app with its session-cookie route and
  security headers) headless on a free loopback port with a temporary workspace (``PERSONAS_HOME``)
  holding users of every role with known passwords (the administrator first, as the operator; the
  others added by the administrator), waits for ``/_stcore/health`` and kills the whole process
  group afterwards.
* ``browser`` is one headless Chromium for the session; ``page`` a fresh context per test that records
  console errors and uncaught page errors (the test fails on any). ``page`` is an English browser
  (``en-US``), ``german_page`` a German one (``de-DE``, Europe/Berlin): the server sets no
  ``PERSONAS_LANGUAGE``, so the browser's language decides until a user saves one on the Account page.
* ``german_csv`` is the portfolio both journeys upload, as a German ERP writes it (one file per session,
  so both journeys upload the same bytes and may share a run).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
INSTALL_SCRIPT = REPO / "scripts" / "install_browser.sh"
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]

# Known passwords for the journey's users (a temporary database, thrown away after the session).
PASSWORDS = {
    "admin": "admin-pass-0001",
    "analyst": "analyst-pass-0001",
    "manager": "manager-pass-0001",
    "compliance": "compliance-pass-0001",
    "anna": "anna-pass-0001",  # the German analyst (test_journey_german.py saves her language)
}
# Each user's role (the administrator first: it adds the others).
ROLES = {"admin": "admin", "analyst": "analyst", "manager": "manager", "compliance": "compliance",
         "anna": "analyst"}
JOURNEY_ROWS = 1_500

SERVER_START_TIMEOUT_S = 180


@dataclass
class AppServer:
    """A running ``streamlit run server.py`` and what the test needs to know about it."""

    url: str
    home: Path
    process: subprocess.Popen
    log_path: Path
    passwords: dict[str, str] = field(default_factory=lambda: dict(PASSWORDS))

    def log_tail(self, n_chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return "(no server log)"


# ---------------------------------------------------------------- the browser binary
def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """``/usr/bin/chromium``, installed with apt-get by ``scripts/install_browser.sh`` if missing."""
    if not CHROMIUM.exists():
        if os.environ.get("PERSONAS_SKIP_BROWSER") == "1" and not _in_ci():
            pytest.skip("PERSONAS_SKIP_BROWSER=1: browser test skipped on a developer's request "
                        "(never in CI)")
        result = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True,
                                timeout=900, check=False)
        if result.returncode != 0 or not CHROMIUM.exists():
            pytest.fail(
                f"The browser test needs Debian's Chromium at {CHROMIUM}, and "
                f"{INSTALL_SCRIPT.relative_to(REPO)} could not install it (exit {result.returncode}).\n"
                f"Install it as root with: apt-get install -y chromium chromium-driver\n"
                f"--- installer output ---\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}",
                pytrace=False,
            )
    return str(CHROMIUM)


# ---------------------------------------------------------------- the app server
def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PERSONAS_DB_URL", None)
    env.pop("PERSONAS_PASSWORD", None)
    env.update({
        "PERSONAS_HOME": str(home),
        "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
    })
    # No operator default: each browser's language decides (``page`` is English, ``german_page`` German).
    env.pop("PERSONAS_LANGUAGE", None)
    return env


def database_path(home: Path) -> Path:
    return home / "personas.db"


def add_user(home: Path, username: str, role: str, password: str) -> None:
    """Create a user the way people do: ``python -m personas users add NAME --role ROLE --db DB``,
    the first administrator by the operator, everyone else signed in as that administrator."""
    env = _server_env(home)
    env["PERSONAS_PASSWORD"] = password
    command = [sys.executable, "-m", "personas", "users", "add", username, "--role", role,
               "--db", str(database_path(home))]
    if role != "admin":
        env["PERSONAS_ADMIN_PASSWORD"] = PASSWORDS["admin"]
        command += ["--admin", "admin"]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, (
        f"`personas users add {username} --role {role}` failed (exit {result.returncode}):\n"
        f"{result.stdout}\n{result.stderr}")


def _wait_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode} before it was healthy:\n"
                               f"{log_path.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"streamlit was not healthy after {SERVER_START_TIMEOUT_S} s:\n"
                       f"{log_path.read_text(errors='replace')[-4000:]}")


def _stop(process: subprocess.Popen) -> None:
    """Stop the server and everything it started (its own process group)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, chromium_executable) -> Iterator[AppServer]:
    """``streamlit run server.py`` on a free loopback port, with a temporary workspace and users."""
    home = tmp_path_factory.mktemp("browser_workspace")
    admin, *others = ROLES.items()
    add_user(home, *admin, PASSWORDS[admin[0]])  # the first administrator creates the database
    # The others at once, while the server starts: each `users add` is a new process (~1.8 s), and the
    # store queues concurrent writers (BEGIN IMMEDIATE), as it must when administrators work side by side.
    adding = ThreadPoolExecutor(max_workers=len(others))
    added = [adding.submit(add_user, home, name, role, PASSWORDS[name]) for name, role in others]
    adding.shutdown(wait=False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "browser_streamlit.log"
    port = _free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "server.py",
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
            cwd=REPO, env=_server_env(home), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: teardown kills streamlit and its children
        )
    try:
        for future in added:
            future.result()
        _wait_healthy(url, process, log_path)
        yield AppServer(url=url, home=home, process=process, log_path=log_path)
    finally:
        _stop(process)


# ---------------------------------------------------------------- Playwright
@pytest.fixture(scope="session")
def browser(chromium_executable):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class BrowserErrors:
    """Console errors and uncaught page errors seen during a test."""

    console: list[str] = field(default_factory=list)
    page: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)  # which address a "Failed to load resource" was

    def all(self) -> list[str]:
        """Every error, less Streamlit's own base-address probe: opening or reloading a page's address
        (``/personas``) makes its frontend try ``/personas/_stcore/health`` and ``…/host-config`` before
        ``/_stcore/…``; those 404s (and their "Failed to load resource" console lines) are not the app's."""
        probes = [r for r in self.failed_responses if STREAMLIT_PROBE.search(r)]
        failed = [r for r in self.failed_responses if r not in probes]
        console = list(self.console)
        for _ in probes:
            if NOT_FOUND in console:
                console.remove(NOT_FOUND)
        errors = [f"console error: {text}" for text in console] + [f"page error: {text}" for text in self.page]
        return errors + [f"(failed response: {text})" for text in failed] if errors else []


STREAMLIT_PROBE = re.compile(r"^404 GET https?://[^/]+/[^_][^?]*/_stcore/(health|host-config)$")
NOT_FOUND = "Failed to load resource: the server responded with a status of 404 (Not Found)"


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


def _tab(browser, browser_errors: BrowserErrors, **context_options):
    """A fresh browser context (no cookies, no session) with error collection, and its one tab."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True,
                                  **context_options)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    tab.on("console", lambda msg: browser_errors.console.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: browser_errors.page.append(str(exc)))
    tab.on("response", lambda response: browser_errors.failed_responses.append(
        f"{response.status} {response.request.method} {response.url}") if response.status >= 400 else None)
    return context, tab


@pytest.fixture
def page(browser, app_server, browser_errors):
    """An English browser (``en-US``): the app speaks English to it while nobody saved a language."""
    context, tab = _tab(browser, browser_errors, locale="en-US")
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def german_page(browser, app_server, browser_errors):
    """A German browser (``de-DE``, Europe/Berlin): the app speaks German to it from the sign-in page on."""
    context, tab = _tab(browser, browser_errors, locale="de-DE", timezone_id="Europe/Berlin")
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def german_csv(tmp_path_factory) -> Path:
    """A small portfolio as a German ERP writes it: ``;``, decimal comma, cp1252, German headers."""
    from sample_data.generator import generate_portfolio, write_portfolio

    path = tmp_path_factory.mktemp("upload") / "offene_posten_2026-11.csv"
    write_portfolio(generate_portfolio(JOURNEY_ROWS, seed=11, language="de"), path, german_format=True)
    head = path.read_bytes()[:200].decode("cp1252")
    assert ";" in head and "Aktenzeichen" in head
    return path


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS
