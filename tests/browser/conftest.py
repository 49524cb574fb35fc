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
  console errors and uncaught page errors (the test fails on any).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
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
}

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
        # The browser asks for de-DE; the journeys read the English pages unless they choose German.
        "PERSONAS_LANGUAGE": "en",
    })
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
    for role, password in PASSWORDS.items():
        add_user(home, role, role, password)
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

    def all(self) -> list[str]:
        return [f"console error: {text}" for text in self.console] + \
               [f"page error: {text}" for text in self.page]


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture
def page(browser, app_server, browser_errors):
    """A fresh browser context (no cookies, no session) with error collection."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True,
                                  locale="de-DE")
    context.set_default_timeout(30_000)
    tab = context.new_page()
    tab.on("console", lambda msg: browser_errors.console.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: browser_errors.page.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS
