"""Message catalogues: every wrapped text has a German translation, and the language is chosen as documented.

The extraction runs here through Babel's Python API over the same files ``python -m core.i18n extract``
reads (``core.i18n.EXTRACT_PATHS``), so a text wrapped in ``_()`` without a German entry fails the suite.
"""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from core import i18n

REPO = Path(__file__).resolve().parents[2]


def _german_catalogue():
    from babel.messages.pofile import read_po

    with (REPO / "locale" / "de" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale="de")


def _placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def test_every_extracted_message_has_a_german_translation():
    extracted = i18n.extract_catalogue()
    german = _german_catalogue()
    assert len(extracted) > 100, "the pages' texts are wrapped in _()"
    missing = []
    for message in extracted:
        if not message.id:
            continue
        translated = german.get(message.id)
        strings = translated.string if translated is not None else None
        if isinstance(strings, tuple):
            ok = all(strings)
        else:
            ok = bool(strings)
        if not ok or (translated is not None and translated.fuzzy):
            where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
            missing.append(f"{message.id!r} ({where})")
    assert missing == [], "untranslated (run `python -m core.i18n extract` and translate):\n" + "\n".join(missing)


def test_translations_keep_every_placeholder():
    wrong = []
    for message in _german_catalogue():
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*(_placeholders(i) for i in ids))
        for text in strings:
            if _placeholders(text) != expected:
                wrong.append(f"{message.id!r}: {text!r}")
    assert wrong == []


@pytest.mark.parametrize("english, trade_word", [
    ("Portfolio file", "Bestand"), ("Days past due", "Verzugstage"), ("Balance", "Offener Betrag"),
    ("Kill switch", "Not-Aus"), ("Audit", "Prüfprotokoll"),
])
def test_german_uses_the_trades_words(english, trade_word):
    assert trade_word in i18n.translator("de")._(english)


def test_no_german_text_calls_a_claim_a_debt():
    """domain.md: the trade says Forderung (claim), never Schuld."""
    texts = [m.string for m in _german_catalogue() if m.id]
    flat = " ".join(t if isinstance(t, str) else " ".join(t) for t in texts)
    assert not re.search(r"\bSchuld(en)?\b", flat)


def test_the_current_language_translates_and_english_is_the_source():
    with i18n.use_language("de-DE"):
        assert i18n._("Sign out") == "Abmelden"
        one, many = ("{n} run folder failed its integrity check and is not offered.",
                     "{n} run folders failed their integrity check and are not offered.")
        assert i18n.ngettext(one, many, 1).startswith("{n} Laufordner hat")
        assert i18n.ngettext(one, many, 3).startswith("{n} Laufordner haben")
    with i18n.use_language("en"):
        assert i18n._("Sign out") == "Sign out"


def test_an_uncompiled_checkout_reads_the_po_file(tmp_path, monkeypatch):
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_bytes((REPO / "locale/de/LC_MESSAGES/messages.po").read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    assert not (folder / "messages.mo").exists()
    assert i18n.translator("de")._("Usable rows") == "Verwendbare Zeilen"


def test_a_compiled_catalogue_older_than_its_po_is_not_used(tmp_path, monkeypatch):
    import os

    (tmp_path / "locale" / "de" / "LC_MESSAGES").mkdir(parents=True)
    po = tmp_path / "locale" / "de" / "LC_MESSAGES" / "messages.po"
    po.write_bytes((REPO / "locale/de/LC_MESSAGES/messages.po").read_bytes())
    i18n.compile_catalogues(root=tmp_path)
    mo = po.with_suffix(".mo")
    assert mo.exists()
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "Verwendbare Zeilen"',
                                                          'msgstr "Nutzbare Zeilen"'), encoding="utf-8")
    os.utime(mo, (po.stat().st_mtime - 10, po.stat().st_mtime - 10))
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    assert i18n.translator("de")._("Usable rows") == "Nutzbare Zeilen"


@pytest.mark.parametrize("tag, expected", [("de-DE", "de"), ("de_AT.UTF-8", "de"), ("EN-gb", "en"),
                                           ("fr-FR", None), (None, None), ("", None)])
def test_language_tags_are_read(tag, expected):
    assert i18n.normalise_language(tag) == expected


def test_accept_language_picks_the_best_language_the_app_speaks():
    assert i18n.language_from_accept("fr-CH, fr;q=0.9, de;q=0.8, en;q=0.7") == "de"
    assert i18n.language_from_accept("en-US,en;q=0.9,de;q=0.8") == "en"
    assert i18n.language_from_accept("fr") is None


def test_the_cli_follows_its_option_then_the_environment(monkeypatch):
    monkeypatch.setenv("PERSONAS_LANGUAGE", "de")
    with i18n.use_language(None):
        assert i18n.configure_cli_language(None) == "de"
        assert i18n.configure_cli_language("en") == "en"
        assert i18n.current_language() == "en"
    monkeypatch.setenv("PERSONAS_LANGUAGE", "klingon")
    with i18n.use_language(None):
        assert i18n.configure_cli_language(None) == "en"


def test_a_saved_language_is_kept_per_user(tmp_path):
    from sqlalchemy import create_engine

    from strategy.preferences import forget_user, save_language, saved_language

    engine = create_engine(f"sqlite:///{tmp_path / 'prefs.db'}")
    assert saved_language(engine, "ana") is None
    save_language(engine, "ana", "de")
    save_language(engine, "bob", "en")
    assert (saved_language(engine, "ana"), saved_language(engine, "bob")) == ("de", "en")
    save_language(engine, "ana", None)  # back to "follow the browser"
    assert saved_language(engine, "ana") is None
    forget_user(engine, "bob")
    assert saved_language(engine, "bob") is None
    with pytest.raises(ValueError):
        save_language(engine, "ana", "klingon")
