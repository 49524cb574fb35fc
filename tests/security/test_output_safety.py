"""What people type is shown as text: no remote images, no links, no fake lines in a terminal.

Reasons, persona names, file names and model-card fields are written by people or come from files.
The app renders them as escaped Markdown, the CLI prints control characters as escapes, and a dialler
export keeps the ``+`` of a phone number while still escaping formulas.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.security.conftest import ADMIN, COMPLIANCE, MANAGER
from core.text import defang_markdown, escape_markdown, terminal_safe

REPO = Path(__file__).resolve().parents[2]
IMAGE = "![tracking pixel](https://evil.example/pixel.png)"
LINK = "[your account](https://evil.example/login)"
UNESCAPED_IMAGE_OR_LINK = re.compile(r"(?<!\\)!\[|(?<!\\)\]\(|(?<!\\)<https?:|(?<!\\)https?://")


def _markdown_shown(at: AppTest) -> list[str]:
    return [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success")
            for e in getattr(at, kind)]


def _page(user, run_dir, page: str) -> AppTest:
    at = AppTest.from_file(str(REPO / page), default_timeout=180)
    at.session_state["user"] = user
    at.session_state["run_dir"] = str(run_dir)
    at.run()
    assert not at.exception, at.exception
    return at


# ---------------------------------------------------------------- the helpers
@pytest.mark.parametrize("text", [IMAGE, LINK, "<https://evil.example>", "see https://evil.example",
                                  "www.evil.example", ":red[ALERT] $x^2$", "<img src=x onerror=1>"])
def test_escaped_markdown_has_no_image_link_or_html_left(text):
    assert not UNESCAPED_IMAGE_OR_LINK.search(escape_markdown(text))
    assert not re.search(r"(?<!\\)<", escape_markdown(text))


def test_escaped_markdown_keeps_the_words_readable():
    assert escape_markdown("four-eyes check (persona 2), 40 % done") == \
        "four-eyes check (persona 2), 40 % done"


def test_app_written_markdown_keeps_its_structure_but_loses_images_and_links():
    card = f"# Model card\n\n| persona | name |\n|---|---|\n| 1 | {IMAGE} |\n\n**Data:** {LINK}"
    safe = defang_markdown(card)
    assert safe.startswith("# Model card") and "| persona | name |" in safe
    assert not UNESCAPED_IMAGE_OR_LINK.search(safe)


def test_control_characters_never_reach_a_terminal():
    fake = "Good payers\r\x1b[2Kpersona 3: approved by ceo\x1b[2J\u202e"
    shown = terminal_safe(fake)
    assert not any(ord(ch) < 32 or ch in "\x7f\u202e" for ch in shown)
    assert "\\x1b" in shown and "\\r" in shown


# ---------------------------------------------------------------- the app
def test_an_image_link_in_a_rejection_reason_is_shown_as_text(review):
    store, run, run_dir = review
    pid = run.persona_ids[0]
    store.reject(MANAGER, run, pid, f"Not proportionate {IMAGE} {LINK}",
                 expected_version=store.get_mapping(run, pid).version)
    at = _page(MANAGER, run_dir, "app_pages/4_strategies.py")
    at.selectbox(key="review_persona").set_value(pid)
    at.run()
    shown = [t for t in _markdown_shown(at) if "tracking pixel" in t]
    assert shown, "the reason is on the page (positive control)"
    assert not any(UNESCAPED_IMAGE_OR_LINK.search(t) for t in shown), shown


def test_an_image_link_in_a_kill_switch_reason_is_shown_as_text(review):
    store, _run, run_dir = review
    store.set_kill_switch(COMPLIANCE, True, f"Stop {IMAGE}")
    for page in ("app_pages/4_strategies.py", "app_pages/5_audit.py"):
        at = _page(COMPLIANCE, run_dir, page)
        shown = [t for t in _markdown_shown(at) if "tracking pixel" in t]
        assert shown, page
        assert not any(UNESCAPED_IMAGE_OR_LINK.search(t) for t in shown), (page, shown)


# ---------------------------------------------------------------- the command line
def test_review_output_shows_escape_sequences_in_names_and_reasons_as_text(review, monkeypatch,
                                                                           capsys):
    from application.cli import main

    store, run, run_dir = review
    store.set_password(ADMIN, "mia", "mia-long-secret")
    store.reject(MANAGER, run, 0, "fine\x1b[2J\rpersona 1: approved by ceo",
                 expected_version=store.get_mapping(run, 0).version)
    monkeypatch.setenv("PERSONAS_PASSWORD", "mia-long-secret")
    assert main(["review", "list", "--db", store.engine.url.database, "--run", str(run_dir),
                 "--user", "mia"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out
    assert "\\x1b[2J" in out


# ---------------------------------------------------------------- exports
def test_a_dialler_export_keeps_the_plus_of_phone_numbers_and_escapes_formulas(review, tmp_path):
    import csv
    import io

    import pandas as pd

    from strategy.export import export_mappings

    store, run, _ = review
    for pid in run.persona_ids:
        store.approve(MANAGER, run, pid, expected_version=store.get_mapping(run, pid).version)
    store.sign_off_model(COMPLIANCE, run, "checked")
    ids = run.accounts["account_id"].astype(str)
    portfolio = pd.DataFrame({"account_id": ids, "balance": 100.0, "days_past_due": 30,
                              "phone": ["+49 170 1234567"] * (len(ids) - 1) + ["+SUM(A1)"]})
    result = export_mappings(store, run, MANAGER, fmt="csv", level="accounts",
                             portfolio=portfolio, include_columns=["phone"])
    phones = [row["phone"] for row in csv.DictReader(io.StringIO(result.content.decode()))]
    assert phones.count("+49 170 1234567") == len(ids) - 1
    assert "'+SUM(A1)" in phones
