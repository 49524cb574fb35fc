"""One vocabulary: what a column means is decided in portfolio/ only; no other package matches names.

A German export once switched off half of the strategy logic because strategy code looked for
English column names of its own. These tests read the source of every package other than
``portfolio`` and fail on the signs of column-name matching: lower-casing a column name, testing a
word "in" a column name, or a literal column name that the portfolio's vocabulary would give a
collections meaning (``"broken_promises"``, ``"Bestritten"``, ``"sms_opt_out"``). Those packages ask
the column model instead (``ColumnRoles.column_for(Meaning.DISPUTE)``).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from portfolio.meanings import ALL_MEANINGS, Meaning, meaning_by_name
from strategy.catalogue import CHANNELS, ESCALATIONS, OFFERS, STRATEGY_FIELDS, TONES
from strategy.guardrails import RULE_IDS

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("strategy", "explain", "personas", "application", "app_pages")

# ``column.lower()``, ``{str(c).lower(): c for c in frame.columns}``, ``frame.columns.str.lower()``: comparing
# column names loosely (lower-casing header names of an HTTP request is not about columns).
LOWERED_NAME = re.compile(
    r"\b(?:column|columns|col|cols|colname|column_name|feature|features|lowered)\)?\.(?:lower|casefold|upper)\(\)"
    r"|\bstr\((?:column|col|c|k|feature|name)\)\.(?:lower|casefold|upper)\(\)"
    r"|\.(?:lower|casefold)\(\).*\bfor \w+ in [\w.]*columns\b"
    r"|\.columns\.str\.(?:lower|casefold|upper|contains|startswith|endswith)\b"
    r"|rename\(columns=lambda.*\.(?:lower|casefold)")
# ``"age" in column``, ``any(w in column for w in WORDS)``, ``column.startswith("is_")``.
WORD_IN_NAME = re.compile(
    r"""(?:["'][\w .\-äöüß]+["']|\bw|\bword|\bk|\bstem)\s+in\s+(?:column|col|feature|colname|column_name|lowered)\b"""
    r"|\b(?:column|col|feature|colname|column_name|lowered)\.(?:startswith|endswith)\(")
# Identifiers of the strategy catalogue and the guardrails (rule ids, offers, strategy fields, meanings
# themselves) are not column names.
NOT_COLUMNS = (set(RULE_IDS) | set(CHANNELS) | set(OFFERS) | set(ESCALATIONS) | set(TONES) | set(STRATEGY_FIELDS)
               | set(ALL_MEANINGS))
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
# Column names the strategy, explain and personas code used to look for before the column model.
FORMER_SELECTORS = {
    "broken_promises", "broken_promises_to_pay", "Gebrochene Zahlungszusagen", "partial_payment_ratio",
    "Teilzahlungsquote", "prior_payments", "payments_made", "partial_payments", "Anzahl bisheriger Zahlungen",
    "disputes", "dispute", "disputed", "dispute_flag", "open_dispute", "bestritten", "Bestritten",
    "forderung bestritten", "Forderung bestritten", "hardship_flag", "over_indebted", "over_indebted_flag",
    "overindebted", "Überschuldung", "überschuldung", "ueberschuldung", "Überschuldet",
    "time_barred_flag", "statute_barred", "Verjährt", "verjaehrt", "insolvency_flag", "opt_out",
    "widerspruch", "Widerspruch", "best_response_hour", "best_contact_hour", "beste antwortstunde",
    "Beste Antwortstunde", "zahlungsart", "Zahlungsart", "preferred_payment_method", "age", "alter", "Alter",
    "ausfall", "charged_off", "kontaktversuche", "reaktionen",
} | {f"{ch}_{kind}" for ch in CHANNELS + ("push", "e_mail", "mail") for kind in ("attempts", "responses", "opt_out")} \
  | {f"opt_out_{ch}" for ch in CHANNELS} | {f"{word} {ch}" for word in ("Kontaktversuche", "Reaktionen", "Widerspruch",
                                                                         "kontaktversuche", "reaktionen", "widerspruch")
                                         for ch in ("SMS", "E-Mail", "Brief", "Telefon", "App-Push", "WhatsApp",
                                                    "sms", "e-mail", "email", "brief", "telefon", "app-push", "whatsapp")}


def _sources() -> list[Path]:
    return [path for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))]


def _strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def _collections_meaning(text: str) -> str | None:
    """The collections meaning the portfolio vocabulary gives a snake_case string, if any."""
    found = meaning_by_name(text)
    return found[0] if found else None


def _relative(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("path", _sources(), ids=_relative)
def test_no_package_but_portfolio_lower_cases_or_searches_column_names(path):
    offenders = [f"{_relative(path)}:{number}: {line.strip()}"
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if LOWERED_NAME.search(line) or WORD_IN_NAME.search(line)]
    assert offenders == []


@pytest.mark.parametrize("path", _sources(), ids=_relative)
def test_no_package_but_portfolio_names_collections_columns_literally(path):
    offenders = []
    for number, text in _strings(path):
        if text in FORMER_SELECTORS:
            offenders.append(f"{_relative(path)}:{number}: {text!r} is a column name")
        elif SNAKE_CASE.match(text) and text not in NOT_COLUMNS and (meaning := _collections_meaning(text)):
            offenders.append(f"{_relative(path)}:{number}: {text!r} reads as the column of {meaning}")
    assert offenders == []


@pytest.mark.parametrize("name", ["broken_promises", "Gebrochene Zahlungszusagen", "dispute_flag", "Bestritten",
                                  "hardship_flag", "Überschuldet", "sms_opt_out", "Widerspruch E-Mail",
                                  "sms_attempts", "Kontaktversuche SMS", "best_response_hour", "time_barred_flag",
                                  "payments_so_far_count", "email_objection"])
def test_the_check_would_catch_a_literal_column_name(name):
    assert name in FORMER_SELECTORS or (SNAKE_CASE.match(name) and _collections_meaning(name))


@pytest.mark.parametrize("line", ['lowered = column.lower()', 'if "age" in column.lower():',
                                  'lower = {str(c).lower(): c for c in frame.columns}',
                                  'frame.rename(columns=lambda c: str(c).lower())',
                                  'any(w in lowered for w in DEFAULT_WORDS)', 'column.startswith("is_")'])
def test_the_check_would_catch_loose_name_comparisons(line):
    assert LOWERED_NAME.search(line) or WORD_IN_NAME.search(line)


def test_every_flag_meaning_is_in_the_vocabulary():
    assert set(Meaning.FLAGS) <= set(ALL_MEANINGS)
