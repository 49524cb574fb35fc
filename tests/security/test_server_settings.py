"""The server is configured deliberately, and the repository carries no secrets.

Settings are checked twice: as written in ``.streamlit/config.toml``, and as Streamlit itself reads
them (``streamlit.config`` after a forced re-parse from the repository root), so a typo in an option
name cannot pass unnoticed.
"""
from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / ".streamlit" / "config.toml"


@pytest.fixture(scope="module")
def written_config() -> dict:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


@pytest.fixture
def streamlit_option(monkeypatch):
    """Streamlit's effective value of an option, read from the repository's config file."""
    from streamlit import config

    monkeypatch.chdir(REPO)
    for name in ("STREAMLIT_SERVER_MAX_UPLOAD_SIZE", "STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION",
                 "STREAMLIT_SERVER_ENABLE_STATIC_SERVING", "STREAMLIT_CLIENT_SHOW_ERROR_DETAILS",
                 "STREAMLIT_SERVER_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    config.get_config_options(force_reparse=True)
    yield config.get_option
    config.get_config_options(force_reparse=True)


def test_xsrf_protection_is_on(written_config, streamlit_option):
    assert written_config["server"]["enableXsrfProtection"] is True
    assert streamlit_option("server.enableXsrfProtection") is True


def test_upload_cap_is_set_deliberately(written_config, streamlit_option):
    assert "maxUploadSize" in written_config["server"], "server.maxUploadSize must be set explicitly"
    cap_mb = streamlit_option("server.maxUploadSize")
    assert cap_mb == written_config["server"]["maxUploadSize"]
    assert 1 <= cap_mb <= 500, f"upload cap of {cap_mb} MB is not a deliberate, bounded value"


def test_upload_cap_matches_the_readers_cap(streamlit_option):
    """The reader refuses what the server would refuse, with a clear message (same number of MB)."""
    import inspect

    from portfolio.read import read_table

    default = inspect.signature(read_table).parameters["max_bytes"].default
    assert default == streamlit_option("server.maxUploadSize") * 2**20


def test_static_file_serving_is_off(written_config, streamlit_option):
    assert written_config["server"]["enableStaticServing"] is False
    assert streamlit_option("server.enableStaticServing") is False


def test_users_never_see_tracebacks(written_config, streamlit_option):
    assert written_config["client"]["showErrorDetails"] == "none"
    assert streamlit_option("client.showErrorDetails") == "none"


def test_the_server_listens_only_on_this_machine_unless_configured_otherwise(written_config,
                                                                             streamlit_option):
    assert written_config["server"]["address"] == "127.0.0.1"
    assert streamlit_option("server.address") == "127.0.0.1"


def test_usage_statistics_are_not_sent(streamlit_option):
    assert streamlit_option("browser.gatherUsageStats") is False


# ---------------------------------------------------------------- secrets
def _tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [REPO / name for name in out.decode().split("\0") if name]


# Built from pieces so that this file does not match its own patterns.
_PRIVATE_KEY = re.compile("-----BEGIN " + r"(RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?" + "PRIVATE KEY")
_TOKENS = re.compile("|".join([
    "AKIA" + r"[0-9A-Z]{16}",                      # AWS access key id
    "gh[pousr]_" + r"[A-Za-z0-9]{36,}",            # GitHub token
    "xox[abprs]-" + r"[A-Za-z0-9-]{10,}",          # Slack token
    "sk-" + r"[A-Za-z0-9]{32,}",                   # OpenAI-style secret key
    "AIza" + r"[0-9A-Za-z_-]{35}",                 # Google API key
]))
# In configuration files, a secret-looking key with a literal value.
_CONFIG_SECRET = re.compile(
    r"(?im)^\s*[\w.-]*(pass" + r"word|secret|token|api_?key|client_secret|cookie_secret)[\w.-]*"
    r"\s*[:=]\s*['\"]?[^'\"\s#]{4,}")
_CONFIG_SUFFIXES = {".toml", ".ini", ".cfg", ".env", ".yaml", ".yml", ".conf"}
_FORBIDDEN_NAMES = {"secrets.toml", ".env", "id_rsa", "id_ed25519", ".pgpass", ".netrc"}
_FORBIDDEN_SUFFIXES = {".pem", ".key", ".p12", ".pfx", ".jks"}


def test_no_secret_files_are_tracked():
    bad = [str(p.relative_to(REPO)) for p in _tracked_files()
           if p.name in _FORBIDDEN_NAMES or p.suffix.lower() in _FORBIDDEN_SUFFIXES]
    assert bad == [], f"secret files tracked in git: {bad}"


def test_streamlit_secrets_file_is_ignored_by_git():
    result = subprocess.run(["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=REPO)
    assert result.returncode == 0, ".streamlit/secrets.toml must be listed in .gitignore"


def test_no_private_keys_or_tokens_in_tracked_files():
    hits = []
    for path in _tracked_files():
        if not path.is_file() or path.stat().st_size > 5 * 2**20:
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        for pattern in (_PRIVATE_KEY, _TOKENS):
            match = pattern.search(text)
            if match:
                hits.append(f"{path.relative_to(REPO)}: {match.group(0)[:12]}…")
    assert hits == [], "possible secrets in tracked files:\n" + "\n".join(hits)


def test_no_passwords_in_tracked_configuration_files():
    hits = []
    for path in _tracked_files():
        if path.suffix.lower() not in _CONFIG_SUFFIXES or not path.is_file():
            continue
        for match in _CONFIG_SECRET.finditer(path.read_text(encoding="utf-8", errors="ignore")):
            hits.append(f"{path.relative_to(REPO)}: {match.group(0).strip()[:40]}")
    assert hits == [], "secret-looking settings in tracked configuration files:\n" + "\n".join(hits)


def test_the_secret_scanner_finds_what_it_looks_for():
    """Guard against a scanner that silently matches nothing."""
    assert _PRIVATE_KEY.search("-----BEGIN " + "RSA PRIVATE KEY-----")
    assert _TOKENS.search("AKIA" + "ABCDEFGHIJKLMNOP")
    assert _TOKENS.search("ghp_" + "a" * 36)
    assert _CONFIG_SECRET.search("cookie_" + "secret = \"abcdef123\"")
    assert _CONFIG_SECRET.search("pass" + "word: hunter22")
    assert not _CONFIG_SECRET.search("enableXsrfProtection = true")
