"""Message catalogues: every user-facing text through gettext, English as the source, German beside it.

Write a text as ``_("Usable rows")`` (``ngettext("{n} run", "{n} runs", n).format(n=n)`` for counts);
for a text defined at import time (a dict of labels) mark it with ``N_("...")`` and translate it
where it is shown (``_(LABELS[key])``). Put values in with ``str.format`` *after* translating, so the
catalogue holds one message with its placeholders: ``_("{n} of {total} entries").format(...)``.

The language is a context variable: the app sets it once per rerun from the signed-in user's
preference (``app_pages/_state.py``), the CLI from ``--language`` / ``PERSONAS_LANGUAGE``
(:func:`configure_cli_language`). ``translator(language)`` gives the functions for one explicit
language (documents written for someone else).

Catalogues live in ``locale/<language>/LC_MESSAGES/messages.po``; ``make prepare`` compiles them to
``messages.mo`` (``python -m core.i18n compile``). A checkout without compiled catalogues, or with a
``.mo`` older than its ``.po``, reads the ``.po`` directly (Babel's ``read_po``), so an edited
translation shows without a build step. ``python -m core.i18n extract`` refreshes ``messages.pot``
and merges new messages into every ``.po`` (docs/i18n.md).
"""
from __future__ import annotations

import contextlib
import gettext as _gettext
import io
import os
import re
import sys
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
LOCALE_DIR = REPO / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
#: Languages the app speaks, with their names in their own language (for the language selector).
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}
ENV_VAR = "PERSONAS_LANGUAGE"
#: Files and folders whose strings go into the catalogue (relative to the repository).
EXTRACT_PATHS = ("app.py", "app_pages", "application", "core", "explain", "personas", "portfolio", "runs",
                 "sample_data", "strategy")

_language: ContextVar[str | None] = ContextVar("personas_language", default=None)


# ---------------------------------------------------------------------------- choosing the language
def normalise_language(tag: object) -> str | None:
    """``"de-DE"``, ``"de_AT.UTF-8"``, ``"DE"`` -> ``"de"``; ``None`` for a language the app does not speak."""
    if not isinstance(tag, str):
        return None
    primary = re.split(r"[-_.@;,\s]", tag.strip().lower(), maxsplit=1)[0]
    return primary if primary in LANGUAGES else None


def language_from_accept(header: str | None) -> str | None:
    """The best language the app speaks from an HTTP ``Accept-Language`` header (``None``: none fits)."""
    ranked = []
    for position, part in enumerate((header or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        language = normalise_language(tag)
        if language and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


def env_language() -> str | None:
    """``PERSONAS_LANGUAGE`` when it names a language the app speaks."""
    return normalise_language(os.environ.get(ENV_VAR))


def resolve_language(*candidates: object) -> str:
    """The first candidate the app speaks (tags like ``"de-DE"`` are read), else English."""
    for candidate in candidates:
        language = normalise_language(candidate)
        if language:
            return language
    return SOURCE_LANGUAGE


def set_language(language: object) -> str:
    """Make ``language`` (a tag; unknown -> English) the current language of this context; returns it."""
    chosen = resolve_language(language)
    _language.set(chosen)
    return chosen


def current_language() -> str:
    """The current context's language; without one set, ``PERSONAS_LANGUAGE`` or English."""
    return _language.get() or env_language() or SOURCE_LANGUAGE


@contextlib.contextmanager
def use_language(language: object) -> Iterator[str]:
    """``with use_language("de"):`` texts inside are German; the previous language comes back after."""
    token = _language.set(resolve_language(language))
    try:
        yield _language.get() or SOURCE_LANGUAGE
    finally:
        _language.reset(token)


def configure_cli_language(option: str | None = None) -> str:
    """For the CLI root: ``--language`` if given, else ``PERSONAS_LANGUAGE``, else English; sets it and
    returns it (an unknown value falls back to English)."""
    return set_language(resolve_language(option, env_language()))


# ---------------------------------------------------------------------------- catalogues
def _catalogue_files(language: str) -> tuple[Path, Path]:
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    return folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


@lru_cache(maxsize=8)
def _load(language: str, folder: str, po_mtime: float | None, mo_mtime: float | None) -> _gettext.NullTranslations:
    """Translations of ``language``: the compiled ``.mo`` when it is at least as new as the ``.po``,
    else the ``.po`` compiled in memory; English (the source language) translates to itself."""
    if language == SOURCE_LANGUAGE:
        return _gettext.NullTranslations()
    po, mo = Path(folder) / f"{DOMAIN}.po", Path(folder) / f"{DOMAIN}.mo"
    if mo_mtime is not None and (po_mtime is None or mo_mtime >= po_mtime):
        with mo.open("rb") as handle:
            return _gettext.GNUTranslations(handle)
    if po_mtime is None:
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def translations(language: str | None = None) -> _gettext.NullTranslations:
    """The gettext translations object of ``language`` (default: the current language)."""
    language = resolve_language(language or current_language())
    po, mo = _catalogue_files(language)
    return _load(language, str(po.parent), _mtime(po), _mtime(mo))


class Translator:
    """gettext functions bound to one language: ``t = translator("de"); t._("Portfolio")``."""

    def __init__(self, language: object) -> None:
        self.language = resolve_language(language)

    def gettext(self, message: str) -> str:
        return translations(self.language).gettext(message)

    _ = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations(self.language).ngettext(singular, plural, n)


def translator(language: object) -> Translator:
    """The gettext functions of one explicit language (for a document written for someone else)."""
    return Translator(language)


def in_language(by_language: object, fallback: object = "", language: str | None = None) -> str:
    """The text for ``language`` (default: the current one) from a ``{"en": ..., "de": ...}`` record,
    such as a persona's ``names`` in ``personas.json``; ``fallback`` when the record has none (a run
    saved before names came in both languages keeps its one name)."""
    if isinstance(by_language, dict):
        found = by_language.get(language or current_language())
        if found:
            return str(found)
    return "" if fallback is None else str(fallback)


def persona_name(profile: dict, language: str | None = None) -> str:
    """A persona's name in the reader's language from its saved profile (``names``), else its one ``name``."""
    return in_language(profile.get("names"), profile.get("name") or f"Persona {profile.get('persona_id')}", language)


def _(message: str) -> str:
    """``message`` in the current language (the English text itself when there is no translation)."""
    return translations().gettext(message)


gettext = _


def ngettext(singular: str, plural: str, n: int) -> str:
    """Singular or plural of a counted message in the current language (German and English: n == 1)."""
    return translations().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (labels defined at import time);
    translate it with ``_()`` where it is shown."""
    return message


# ---------------------------------------------------------------------------- extraction and compiling
def extract_catalogue(paths: tuple[str, ...] = EXTRACT_PATHS, root: Path = REPO):
    """A Babel ``Catalog`` of every message marked in ``paths`` (Babel's Python extractor, default
    keywords ``_``, ``gettext``, ``ngettext``, ``N_``, ``pgettext`` …)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_file

    catalog = Catalog(project="persona-collections", domain=DOMAIN, charset="utf-8",
                      copyright_holder="persona-collections contributors",
                      msgid_bugs_address="see the project's issue tracker")
    for relative in paths:
        path = root / relative
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            for lineno, message, comments, context in extract_from_file("python", str(file)):
                catalog.add(message, locations=[(file.relative_to(root).as_posix(), lineno)],
                            auto_comments=comments, context=context)
    return catalog


def extract(root: Path = REPO) -> Path:
    """Write ``locale/messages.pot`` and merge it into every language's ``.po`` (new messages empty,
    vanished ones kept as obsolete ``#~`` entries, so a text that comes back gets its translation back);
    returns the template's path."""
    from babel.messages.pofile import read_po, write_po

    template = extract_catalogue(root=root)
    pot = root / "locale" / f"{DOMAIN}.pot"
    pot.parent.mkdir(parents=True, exist_ok=True)
    with pot.open("wb") as handle:
        write_po(handle, template, width=100, omit_header=False, sort_output=False)
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        po, _mo = _catalogue_files(language)
        if po.exists():
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=language, domain=DOMAIN)
            catalog.update(template, no_fuzzy_matching=True)
        else:
            from babel.messages.catalog import Catalog

            catalog = Catalog(locale=language, domain=DOMAIN, project="persona-collections",
                              copyright_holder="persona-collections contributors")
            catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False  # the header: a reviewed catalogue, not a machine guess
        catalog.language_team = LANGUAGES[language]
        po.parent.mkdir(parents=True, exist_ok=True)
        with po.open("wb") as handle:
            write_po(handle, catalog, width=100)  # vanished texts stay as obsolete (#~): back with their translation
    return pot


def compile_catalogues(root: Path = REPO) -> list[Path]:
    """Compile every ``locale/*/LC_MESSAGES/messages.po`` to ``messages.mo``; returns the written files."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted((root / "locale").glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name, domain=DOMAIN)
        mo = po.with_suffix(".mo")
        partial = mo.with_name(f".{mo.name}.{os.getpid()}.tmp")
        with partial.open("wb") as handle:  # a running server never reads a half-written catalogue
            write_mo(handle, catalog, use_fuzzy=False)
        partial.replace(mo)
        written.append(mo)
    _load.cache_clear()
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m core.i18n compile`` (make prepare) or ``python -m core.i18n extract`` (after editing texts)."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["compile"]:
        for path in compile_catalogues():
            print(f"compiled {path.relative_to(REPO)}")
        return 0
    if args == ["extract"]:
        print(f"wrote {extract().relative_to(REPO)}; merged into the .po files: translate the empty entries")
        return 0
    print("usage: python -m core.i18n compile | extract", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
