"""Errors a user can cause, with messages written for a person.

Every exception raised because of the user's input (a file, a column, a setting, a review action)
derives from :class:`UserError`. The CLI prints its message and exits 1; the app shows it with
``st.error``. Anything else is a bug and may surface as a traceback.
"""
from __future__ import annotations


class UserError(Exception):
    """An error the user can fix. ``str(err)`` is the message to show; ``err.lines`` one per problem."""

    def __init__(self, message: str, *, lines: list[str] | None = None) -> None:
        super().__init__(message)
        self.lines = list(lines) if lines else [message]


class PortfolioError(UserError):
    """A portfolio file cannot be read or used (names the file, column, rows and what to do).

    Line breaks and other control characters (e.g. from a column name in the file) are shown as
    escapes, so every problem stays on one line.
    """

    def __init__(self, message: str, *, lines: list[str] | None = None) -> None:
        super().__init__(one_line(message), lines=[one_line(line) for line in lines] if lines else None)


def one_line(text: str) -> str:
    """``text`` with control characters escaped ("\\n", "\\x00"), so it prints as one line."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
                   for ch in str(text))


class UsageError(UserError):
    """A command was called with wrong or missing arguments (CLI exit code 2)."""
