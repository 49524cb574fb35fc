"""The reasons for a column's role and meaning (and for the run's currency), shown in the reader's language.

The column model writes its reasons in English ("matched German synonym 'saldo' for balance"), and
they are stored so (``run.json``, the model card, ``validate --json``). :func:`reason_text` shows one
in another language: each English sentence the column model writes is a template here (the code),
its values are read back out of the text (the params), and the template is translated through the
catalogue. A reason this version does not write (an older or newer run, a reason typed by hand) is
shown as it is, so every run still reads.

A reason may chain several sentences with "; " ("numeric: used as a behavioural feature; meaning
disputed: matched ..."); the longest run of sentences that one template matches is taken first.
"""
from __future__ import annotations

import re
from functools import lru_cache

from core.i18n import N_, current_language, translator

#: Every reason sentence the column model writes (portfolio/decide.py, roles.py, meanings.py,
#: patterns.py, person_names.py, vocabulary.py, validate.py, columns.py), most specific first.
TEMPLATES = (
    # portfolio/validate.py
    N_("generated: the file has no account id column, so each row's number in the file is its id ('{example}')"),
    # portfolio/decide.py
    N_("named like a planted label ('{column}'): kept for evaluation only"),
    N_("named like a date of birth ('{column}'): personal data revealing age, masked when shown, never a feature"),
    N_("named like personal data ('{column}'): masked when shown, never a feature"),
    N_("postcode/place ('{column}') is a possible proxy for protected attributes; excluded by default (map it to "
       "'feature' to use it)"),
    N_("{how}: kept only for fairness audits, never a feature"),
    N_("{how}: a target, never a feature"),
    N_("named like a protected attribute ('{column}' ~ '{evidence}')"),
    N_("a protected attribute by its {evidence}"),
    N_("named like an outcome ('{column}' ~ '{evidence}')"),
    N_("{pii}: personal data, masked when shown, never a feature"),
    N_("all values are empty"),
    N_("constant: every filled value is '{value}'"),
    N_("id-like or free text: {distinct} distinct values in {filled} filled rows ({share}); not useful for "
       "grouping"),
    N_("a second identifier (named like an id, every value distinct)"),
    N_("numeric: used as a behavioural feature"),
    N_("categorical with {n} levels: used as a feature"),
    # portfolio/patterns.py, person_names.py, vocabulary.py, meanings.py (evidence from the values)
    N_("values look like e-mail addresses ({n} of {total} sampled)"),
    N_("values look like IBANs with a valid checksum ({n} of {total} sampled)"),
    N_("values look like phone numbers ({n} of {total} sampled)"),
    N_("values look like dates of birth ({n} of {total} sampled, born {first}-{last})"),
    N_("values are dates; derive a number such as days since that date to use it as a feature"),
    N_("values look like dates ({n} of {total} sampled); derive a number such as days since that date to use it "
       "as a feature"),
    N_("values look like person names ({n} of {total} sampled contain a common first or family name)"),
    N_("values ({levels}) that say {what}"),
    N_("values are currency codes ({n} of {total} sampled)"),
    # portfolio/roles.py
    N_("set by the mapping ('{column}' -> {value})"),
    N_("an outcome by the mapping; its name does not say which value is the event"),
    N_("{implied} because the mapping gives the meaning {meaning}"),
    N_("matched {language} synonym '{synonym}' for {role}"),
    N_("a second identifier ({reason}); '{chosen}' is the account id"),
    N_("also looks like {role} ({reason}); '{chosen}' is used as {role}"),
    N_("renamed to '{name}' because '{column}' is taken"),
    N_("geographic: a possible proxy for protected attributes, check fairness"),
    # portfolio/currency.py: why the run has its currency (stored in run.json as "reason")
    N_("no currency column and no currency setting (--currency)"),
    N_("no currency column and no currency setting"),
    N_("the run recorded no currency"),
    N_("set to {code} by the run's settings"),
    N_("set with --currency {code}"),
    N_("column '{column}' holds {code} on every row (--currency {setting} not used: the column decides)"),
    N_("column '{column}' holds {code} on every row"),
    N_("column '{column}' holds several currencies ({listed} accounts): amounts cannot be summed or compared, "
       "so they are shown without a currency"),
    N_("column '{column}' holds values that are not currency codes ({examples})"),
    # portfolio/columns.py: a meaning's reason after the role's
    N_("meaning {reason}"),
    # portfolio/meanings.py, decide.py: "<meaning label>: <evidence>"
    N_("{label}: a date of birth ('{evidence}')"),
    N_("{label}: matched {synonym} in '{column}'"),
    N_("{label}: matched '{synonym}' in '{column}'"),
    N_("{label}: {reason}"),
    N_("German synonym '{synonym}'"),
    N_("English synonym '{synonym}'"),
    N_("name words '{synonym}'"),
)
#: Values that are sentences themselves (translated in turn); counts and shares are rewritten in the
#: reader's format; the rest (column names, synonyms, roles, meanings) are shown as they are.
_SENTENCES = {"how", "pii", "reason"}
_SYNONYM_SENTENCE = re.compile(r"(German|English) synonym '.*'|name words '.*'", re.S)
_COUNTS = {"n", "total", "distinct", "filled"}
_LANGUAGE_WORDS = {"German": N_("German"), "English": N_("English")}


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern], ...]:
    labels = "|".join(re.escape(text) for text in sorted(_meaning_labels(), key=len, reverse=True))
    compiled = []
    for template in TEMPLATES:
        seen: set[str] = set()
        parts = []
        for literal, name in re.findall(r"([^{]*)(?:\{(\w+)\})?", template):
            parts.append(re.escape(literal))
            if name == "label":  # a meaning's English words: only those, longest first
                parts.append(f"(?P<label>{labels})")
            elif name:
                parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
        compiled.append((template, re.compile("".join(parts) + r"\Z", re.S)))
    return tuple(compiled)


@lru_cache(maxsize=1)
def _meaning_labels() -> dict[str, str]:
    from portfolio.meanings import LABELS

    return {words["en"]: meaning for meaning, words in LABELS.items()}


def _value(name: str, value: str, language: str) -> str | None:
    """A value in ``language``; ``None`` when it does not fit the template (try the next one)."""
    if name == "label":
        meaning = _meaning_labels().get(value)
        if meaning is None:
            return None
        from portfolio.meanings import label

        return label(meaning, language)
    if name in _SENTENCES or (name == "synonym" and _SYNONYM_SENTENCE.fullmatch(value)):
        shown = _sentence(value, language)
        return value if shown is None else shown
    if name == "language":
        return translator(language)._(_LANGUAGE_WORDS[value]) if value in _LANGUAGE_WORDS else None
    if name in _COUNTS and re.fullmatch(r"[\d,]+", value):
        from core.formats import format_count

        return format_count(int(value.replace(",", "")), language)
    if name == "share" and re.fullmatch(r"\d+%", value):
        from core.formats import format_percent

        return format_percent(int(value[:-1]) / 100, language, decimals=0)
    return value


def _sentence(text: str, language: str) -> str | None:
    """One sentence through its template, else ``None``."""
    tr = translator(language)
    for template, pattern in _patterns():
        match = pattern.match(text)
        if not match:
            continue
        values = {}
        for name, value in match.groupdict().items():
            shown = _value(name, value, language)
            if shown is None:
                break
            values[name] = shown
        else:
            try:
                return tr._(template).format(**values)
            except (KeyError, IndexError, ValueError):
                return template.format(**values)
    return None


def reason_text(reason: object, language: str | None = None) -> str:
    """A stored English reason in ``language`` (default: the current one); unknown sentences as they are."""
    text = "" if reason is None else str(reason)
    language = language or current_language()
    if language == "en" or not text:
        return text
    parts = text.split("; ")
    out, start = [], 0
    while start < len(parts):
        for end in range(len(parts), start, -1):  # the longest run of sentences one template matches
            shown = _sentence("; ".join(parts[start:end]), language)
            if shown is not None:
                out.append(shown)
                start = end
                break
        else:
            out.append(parts[start])
            start += 1
    return "; ".join(out)
