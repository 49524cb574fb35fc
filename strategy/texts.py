"""Texts the strategy domain writes for people, kept in a language-neutral form until they are shown.

A :class:`Text` is a ``str`` whose value is the English sentence (so everything that stores, compares
or prints it keeps working as before) and which also carries its *code* (the gettext message id,
marked with ``N_`` where it is written) and its *params* (the values put in). ``render()`` writes it
in the reader's language at display time; ``to_dict()`` / :func:`text_from_dict` store it beside the
English text (a drift report's ``reason_text``, a strategy version's ``evidence_codes``), so a
stored record is shown in German to a German reader, and a record from before codes existed shows
its English text (:func:`render_stored`).

Params may be numbers (formatted in the reader's conventions: ``{share:.0%}`` is ``64%`` in
English and ``64 %`` in German, ``{n:,}`` is ``1,234`` / ``1.234``), other texts (rendered
recursively), lists of texts (:class:`TextList`, joined), amounts (:class:`Money`) and plain strings
(names, columns, dates: shown as they are).
"""
from __future__ import annotations

import re
import string
from typing import Any, Iterable, Sequence

from core.i18n import N_, current_language, resolve_language, translator

_SPEC = re.compile(r"^(?P<sign>[+ -]?)(?P<comma>,?)(?:\.(?P<prec>\d+))?(?P<type>[%fgd]?)$")


class _Formatter(string.Formatter):
    """``str.format`` with numbers in the conventions of one language (English: Python's own)."""

    def __init__(self, language: str) -> None:
        self.language = language

    def format_field(self, value: Any, format_spec: str) -> str:
        if self.language == "en" or isinstance(value, bool) or not isinstance(value, (int, float)):
            return format(value, format_spec)
        match = _SPEC.match(format_spec or "")
        if match is None or (not format_spec and isinstance(value, int)):
            return format(value, format_spec)
        from core.formats import format_number, format_percent

        kind, prec, sign = match["type"], match["prec"], match["sign"]
        if kind == "%":
            text = format_percent(value, self.language, int(prec or 6))
        elif kind == "f" or (kind == "" and isinstance(value, float)):
            text = format_number(value, self.language, int(prec if prec is not None else 6))
        elif kind == "d" or (match["comma"] and isinstance(value, int)):
            text = format_number(value, self.language, 0) if match["comma"] else str(int(value))
        else:  # "g" and the rest: Python's digits with the language's decimal sign
            text = format(value, format_spec.replace(",", "")).replace(".", ",")
        if sign == "+" and not text.startswith(("-", "−")) and value >= 0:
            text = "+" + text
        return text


def _language(language: str | None) -> str:
    return resolve_language(language or current_language())


def _render_param(value: Any, language: str) -> Any:
    if callable(getattr(value, "render", None)):  # ours, or core.errors.Message (portfolio's texts)
        return value.render(language)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(_render_param(v, language)) for v in value)
    return value


def _fill(template: str, params: dict[str, Any], language: str) -> str:
    values = {key: _render_param(value, language) for key, value in params.items()}
    try:
        return _Formatter(language).vformat(template, (), values)
    except (KeyError, IndexError, ValueError, TypeError):
        return template


class Text(str):
    """An English sentence that knows its message id and values: ``Text(N_("{n} accounts"), n=3)``.

    ``str(text)`` is the English; ``text.render()`` the current language's; ``text.render("de")``
    German.
    """

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, /, **params: Any) -> "Text":
        # English is Python's own formatting, and the texts put in are str subclasses holding their
        # English: str.format (C speed) gives it; lists take the slow path (joined in words).
        if any(isinstance(v, (list, tuple)) for v in params.values()):
            english = _fill(code, params, "en")
        else:
            try:
                english = code.format(**params) if params else code
            except (KeyError, IndexError, ValueError, TypeError, AttributeError):
                english = code
        self = super().__new__(cls, english)
        self.code = code
        self.params = params
        return self

    def render(self, language: str | None = None) -> str:
        """The text in ``language`` (default: the current one)."""
        language = _language(language)
        if language == "en":
            return str.__str__(self)
        return _fill(translator(language)._(self.code), self.params, language)

    def to_dict(self) -> dict[str, Any]:
        """The language-neutral form: ``{"code": ..., "params": {...}}`` (plain JSON)."""
        return {"code": self.code, "params": {k: _encode(v) for k, v in self.params.items()}}

    def __reduce__(self):
        return _rebuild, (self.code, self.params)


def _rebuild(code: str, params: dict[str, Any]) -> Text:
    return Text(code, **params)


class TextList(str):
    """Texts joined by ``sep`` (``", "`` or ``"; "``), each rendered in the reader's language."""

    items: tuple[Any, ...]
    sep: str

    def __new__(cls, items: Iterable[Any], sep: str = ", ") -> "TextList":
        items = tuple(items)
        self = super().__new__(cls, sep.join(str(i) for i in items))
        self.items = items
        self.sep = sep
        return self

    def render(self, language: str | None = None) -> str:
        language = _language(language)
        return self.sep.join(str(_render_param(i, language)) for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {"join": [_encode(i) for i in self.items], "sep": self.sep}

    def __reduce__(self):
        return TextList, (self.items, self.sep)


class Money(str):
    """An amount in the run's currency (``portfolio.currency.format_amount`` in the reader's language)."""

    value: float
    code: str | None
    mixed: bool

    def __new__(cls, value: Any, currency: Any = None) -> "Money":
        from portfolio.currency import format_amount

        code = getattr(currency, "code", currency) if currency is not None else None
        mixed = bool(getattr(currency, "is_mixed", False))
        number = float(value) if value is not None else float("nan")
        self = super().__new__(cls, format_amount(number, _currency(code, mixed), "en"))
        self.value, self.code, self.mixed = number, code, mixed
        return self

    def render(self, language: str | None = None) -> str:
        from portfolio.currency import format_amount

        language = _language(language)
        return format_amount(self.value, _currency(self.code, self.mixed), language)

    def to_dict(self) -> dict[str, Any]:
        return {"money": None if self.value != self.value else self.value, "currency": self.code,
                "mixed": self.mixed}

    def __reduce__(self):
        return _money, (self.value, self.code, self.mixed)


def _money(value: float, code: str | None, mixed: bool) -> Money:
    return Money(value, _currency(code, mixed))


def _currency(code: str | None, mixed: bool):
    from portfolio.currency import Currency

    if code:
        return Currency.of_code(code)
    return Currency(source="mixed") if mixed else Currency()


#: The strategy's data values in words (``strategy.catalogue``; the data keeps the keys), weekdays too.
TERMS = {
    "sms": N_("SMS"), "email": N_("e-mail"), "letter": N_("letter"), "phone": N_("phone"), "app_push": N_("app push"),
    "whatsapp": N_("WhatsApp"), "friendly": N_("friendly"), "neutral": N_("neutral"), "firm": N_("firm"),
    "reminder": N_("reminder"), "payment_link": N_("payment link"), "instalment_plan": N_("instalment plan"),
    "settlement_discount": N_("settlement discount"), "hardship_referral": N_("hardship referral"),
    "deferral": N_("deferral"), "none": N_("none"), "external_agency": N_("collection agency"),
    "court_dunning": N_("court dunning procedure"), "proposed": N_("proposed"), "approved": N_("approved"),
    "rejected": N_("rejected"), "credit_bureau_report": N_("credit-bureau report"), "escalation": N_("escalation"),
    "stop": N_("stop"), "channel": N_("channel"), "draft": N_("draft"), "ended": N_("ended"),
    "missing": N_("missing"), "offer": N_("offer"), "referral": N_("referral"),
    "call": N_("call"), "clarification": N_("clarification"), "agency": N_("agency"), "court": N_("court"),
    "credit_bureau": N_("credit bureau"), "disconnection_threat": N_("disconnection threat"),
    "disconnection_notice": N_("disconnection notice"), "push": N_("push"), "gentle": N_("gentle"),
    "mon": N_("Mon"), "tue": N_("Tue"), "wed": N_("Wed"), "thu": N_("Thu"), "fri": N_("Fri"), "sat": N_("Sat"),
    "sun": N_("Sun"), "high": N_("high"), "medium": N_("medium"), "low": N_("low"), "unknown": N_("unknown"),
    "law": N_("law"), "house policy": N_("house policy"),
}


class Term(str):
    """A data value (``"instalment_plan"``, ``"sun"``): the key itself in English sentences, as the
    domain always wrote it, and its word (:data:`TERMS`) in another language."""

    def render(self, language: str | None = None) -> str:
        language = _language(language)
        key = str.__str__(self)
        if language == "en" or key not in TERMS:
            return key
        return translator(language)._(TERMS[key])

    def to_dict(self) -> dict[str, Any]:
        return {"term": str.__str__(self)}

    def __reduce__(self):
        return Term, (str.__str__(self),)


class Words(str):
    """A phrase the domain already has in each language (``{"en": ..., "de": ...}``; English is the value)."""

    words: dict[str, str]

    def __new__(cls, words: dict[str, str]) -> "Words":
        self = super().__new__(cls, words.get("en", ""))
        self.words = dict(words)
        return self

    def render(self, language: str | None = None) -> str:
        return self.words.get(_language(language), str.__str__(self))

    def to_dict(self) -> dict[str, Any]:
        return {"words": dict(self.words)}

    def __reduce__(self):
        return Words, (self.words,)


def terms(keys: Iterable[Any]) -> "TextList":
    """Keys as a comma-separated list of :class:`Term`."""
    return TextList(Term(k) for k in keys)


def term_label(key: Any, language: str | None = None) -> str:
    """The word for a data value in ``language`` (English too: ``"instalment_plan"`` -> "instalment plan")."""
    if isinstance(key, str) and key in TERMS:
        return translator(_language(language))._(TERMS[key])
    return "" if key is None else str(key)


def _encode(value: Any) -> Any:
    if isinstance(value, (Text, TextList, Money, Term, Words)):
        return value.to_dict()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "code" in value:
            return text_from_dict(value)
        if "join" in value:
            return TextList((_decode(v) for v in value.get("join") or ()), str(value.get("sep", ", ")))
        if "words" in value and isinstance(value["words"], dict):
            return Words({str(k): str(v) for k, v in value["words"].items()})
        if "term" in value:
            return Term(str(value["term"]))
        if "money" in value:
            return _money(value["money"] if value["money"] is not None else float("nan"),
                          value.get("currency"), bool(value.get("mixed")))
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def text_from_dict(data: Any, english: str | None = None) -> Any:
    """A :class:`Text` from its stored form (``None`` or bad data: ``english`` as it is).

    When ``english`` (the stored English text) is given and the rebuilt text writes something else
    in English (the message changed since it was stored), the stored English is kept for English
    readers: the record is never rewritten.
    """
    if isinstance(data, (Text, TextList)):
        return data
    if isinstance(data, dict) and "join" in data and isinstance(data.get("join"), list):
        joined = _decode(data)
        return joined if english is None or str(joined) == english else english
    if not isinstance(data, dict) or not isinstance(data.get("code"), str):
        return english
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    try:
        text = Text(data["code"], **{str(k): _decode(v) for k, v in params.items()})
    except (TypeError, ValueError):
        return english
    if english is not None and str(text) != english:
        kept = str.__new__(Text, english)  # English readers see the record exactly as it was stored
        kept.code, kept.params = text.code, text.params
        return kept
    return text


def render(value: Any, language: str | None = None) -> str:
    """Any text of the strategy domain in the reader's language (a plain string as it is)."""
    if callable(getattr(value, "render", None)):
        return value.render(language)
    return "" if value is None else str(value)


def render_stored(english: Any, stored: Any = None, language: str | None = None) -> str:
    """A stored text: its language-neutral form ``stored`` (``{"code", "params"}``) rendered in the
    reader's language, or, for a record without one (an old run or database), its English text."""
    text = text_from_dict(stored, None if english is None else str(english))
    return render(text if text is not None else english, language)


def encode_all(values: Iterable[Any]) -> list[Any] | None:
    """The language-neutral forms of ``values`` (``None`` for an item that has none); ``None`` when
    no item has one (nothing worth storing)."""
    encoded = [v.to_dict() if isinstance(v, (Text, TextList, Money, Term, Words)) else None for v in values]
    return encoded if any(e is not None for e in encoded) else None


def decode_all(english: Iterable[Any], stored: Any) -> list[Any]:
    """Stored English texts joined with their stored language-neutral forms (where there are any)."""
    english = list(english)
    if not isinstance(stored, list) or len(stored) != len(english):
        return english
    out = []
    for text, data in zip(english, stored):
        rebuilt = text_from_dict(data, text if isinstance(text, str) else None)
        out.append(rebuilt if rebuilt is not None else text)
    return out


def evidence_codes(evidence: Sequence[Any]) -> str | None:
    """The evidence lines' language-neutral forms as JSON (``None`` when no line has one)."""
    codes = encode_all(evidence)
    from strategy.canonical import canonical_json

    return None if codes is None else canonical_json(codes)


def stored_evidence(version: dict[str, Any]) -> list[Any]:
    """A strategy version's evidence: its English lines, each joined with its language-neutral form
    where the version has one (``strategy.texts.render`` shows it in the reader's language)."""
    import json

    english = json.loads(version["evidence"])
    raw = version.get("evidence_codes")
    try:
        codes = json.loads(raw) if raw else None
    except (TypeError, ValueError):
        codes = None
    return decode_all(english, codes)


def stored_reason(row: dict[str, Any]) -> Any:
    """A mapping's stored reason (``reason``) joined with its language-neutral form (``reason_text``)
    when the app wrote one; a reason a person typed, or an old row, stays as it is."""
    import json

    english = row.get("reason")
    raw = row.get("reason_text")
    if english is None or not raw:
        return english
    try:
        return text_from_dict(json.loads(raw), english)
    except (TypeError, ValueError):
        return english
