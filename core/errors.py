"""Errors a user can cause, with messages written for a person, in the reader's language.

Every exception raised because of the user's input (a file, a column, a setting, a review action)
derives from :class:`UserError`. The CLI prints its message and exits 1; the app shows it with
``st.error``. Anything else is a bug and may surface as a traceback.

A message is either plain text (shown as it is) or a :class:`Message`: the English text marked for
the catalogue (``N_``) with its values, translated when it is shown. ``str(err)`` and ``err.lines``
are in the current language (``core.i18n``: the page's, or the CLI's ``--language``);
``err.english`` and ``err.english_lines`` are the English texts, for what is stored or printed as
JSON (machine output stays in one language).
"""
from __future__ import annotations

from typing import Any


class Message(str):
    """A text translated when it is shown: ``Message(N_("column '{column}' is empty"), column="Betrag")``.

    ``msgid`` is the English text (marked with ``N_`` so the catalogue has it); ``params`` are put in
    with ``str.format`` after translating. A value that is a :class:`Message` (or :class:`Joined`,
    :class:`Percent`, :class:`Number`) is rendered in the same language; an ``int`` is written as a
    count with the language's grouping (``1,500`` / ``1.500``); anything else as ``str(value)``. For a
    counted text choose the singular or plural msgid by ``n == 1`` (English and German use the same rule).

    A message *is* its English text (a ``str``): stored, compared, searched or printed as JSON it is
    English, as before; :meth:`render` (or :func:`render`) gives it in the reader's language.
    """

    msgid: str
    params: dict

    def __new__(cls, msgid: str, /, **params: Any) -> "Message":
        self = super().__new__(cls, _formatted(msgid, msgid, params, "en"))
        self.msgid = msgid
        self.params = params
        return self

    def __reduce__(self):  # pickled (st.cache_data, a child process) as its message id and values
        return _rebuild_message, (self.msgid, self.params)

    def render(self, language: str | None = None) -> str:
        """The text in ``language`` (default: the current language)."""
        from core.i18n import current_language, translator

        language = language or current_language()
        if language == "en":
            return str.__str__(self)
        return _formatted(translator(language)._(self.msgid), self.msgid, self.params, language)

    @property
    def english(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, **{self.params!r})"


def _rebuild_message(msgid: str, params: dict) -> Message:
    return Message(msgid, **params)


def _formatted(template: str, msgid: str, params: dict, language: str) -> str:
    values = {key: render_value(value, language) for key, value in params.items()}
    for text in (template, msgid):  # a broken translation: the English text instead
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError, AttributeError):
            continue
    return msgid


class Joined:
    """Parts rendered in one language and joined: ``Joined("; ", [Message(...), Message(...)])``."""

    __slots__ = ("separator", "parts")

    def __init__(self, separator: Any, parts) -> None:
        self.separator = separator
        self.parts = list(parts)

    def render(self, language: str | None = None) -> str:
        separator = render_value(self.separator, language)
        return separator.join(render_value(part, language) for part in self.parts)

    def __str__(self) -> str:
        return self.render()


class Percent:
    """A share written as a percentage in the message's language (``50%`` / ``50 %``)."""

    __slots__ = ("value", "decimals")

    def __init__(self, value: float, decimals: int = 0) -> None:
        self.value = float(value)
        self.decimals = decimals

    def render(self, language: str | None = None) -> str:
        from core.formats import format_percent

        return format_percent(self.value, language, decimals=self.decimals)

    def __str__(self) -> str:
        return self.render()


class Number:
    """A number with ``decimals`` places in the message's language (``1,234.50`` / ``1.234,50``)."""

    __slots__ = ("value", "decimals")

    def __init__(self, value: float, decimals: int = 2) -> None:
        self.value = float(value)
        self.decimals = decimals

    def render(self, language: str | None = None) -> str:
        from core.formats import format_number

        return format_number(self.value, language, decimals=self.decimals)

    def __str__(self) -> str:
        return self.render()


def to_plain(value: Any) -> Any:
    """A message (or value) as plain dicts, lists, strings and numbers: what a child process may send
    back (:func:`from_plain` rebuilds it)."""
    if isinstance(value, Message):
        return {"message": value.msgid, "params": {k: to_plain(v) for k, v in value.params.items()}}
    if isinstance(value, Joined):
        return {"joined": to_plain(value.separator), "parts": [to_plain(p) for p in value.parts]}
    if isinstance(value, (Percent, Number)):
        return {type(value).__name__.lower(): value.value, "decimals": value.decimals}
    if isinstance(value, (str, int, float)) or value is None:
        return value
    return str(value)


def from_plain(value: Any) -> Any:
    """The message :func:`to_plain` wrote (plain text stays plain text)."""
    if isinstance(value, dict):
        if "message" in value:
            return Message(str(value["message"]), **{str(k): from_plain(v) for k, v in (value.get("params") or {}).items()})
        if "joined" in value:
            return Joined(from_plain(value["joined"]), [from_plain(p) for p in value.get("parts", [])])
        if "percent" in value:
            return Percent(value["percent"], int(value.get("decimals", 0)))
        if "number" in value:
            return Number(value["number"], int(value.get("decimals", 2)))
        return str(value)
    return value


def render_value(value: Any, language: str | None = None) -> str:
    """One value of a message in ``language``: messages translated, counts grouped, the rest as text."""
    if callable(getattr(value, "render", None)):  # ours, or another package's text (strategy.texts.Text)
        return value.render(language)
    if isinstance(value, int) and not isinstance(value, bool):
        from core.formats import format_count

        return format_count(value, language)
    return str(value)


def render(text: Any, language: str | None = None) -> str:
    """A message or plain text in ``language`` (default: the current one); plain text is shown as it is."""
    return render_value(text, language) if callable(getattr(text, "render", None)) else str(text)


class UserError(Exception):
    """An error the user can fix. ``str(err)`` is the message to show; ``err.lines`` one per problem.

    ``message`` and ``lines`` are plain text or :class:`Message` objects (translated when shown).
    """

    _one_line = False

    def __init__(self, message: Any, *, lines: list[Any] | None = None) -> None:
        self.message = message
        self._lines = list(lines) if lines else [message]
        super().__init__(self._render(message, "en"))

    def _render(self, text: Any, language: str | None = None) -> str:
        shown = render(text, language)
        return one_line(shown) if self._one_line else shown

    @property
    def lines(self) -> list[str]:
        """One line per problem, in the current language."""
        return [self._render(line) for line in self._lines]

    @property
    def english(self) -> str:
        return self._render(self.message, "en")

    @property
    def english_lines(self) -> list[str]:
        return [self._render(line, "en") for line in self._lines]

    def __str__(self) -> str:
        return self._render(self.message)


class PortfolioError(UserError):
    """A portfolio file cannot be read or used (names the file, column, rows and what to do).

    Line breaks and other control characters (e.g. from a column name in the file) are shown as
    escapes, so every problem stays on one line.
    """

    _one_line = True


def one_line(text: str) -> str:
    """``text`` with control characters escaped ("\\n", "\\x00"), so it prints as one line."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
                   for ch in str(text))


class UsageError(UserError):
    """A command was called with wrong or missing arguments (CLI exit code 2)."""
