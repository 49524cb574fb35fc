"""The cookie jars of the fake browsers that tests/conftest.py gives each ``AppTest``.

Keyed by the id of the AppTest's ``SessionState`` (which cannot be weakly referenced); the jar
holds the object too, so its id is never reused while the entry lives, and is emptied after each
test (tests/conftest.py).
"""
from __future__ import annotations

from typing import Any

COOKIE_JARS: dict[int, tuple[Any, str | None]] = {}


def jar_get(state: Any) -> tuple[bool, str | None]:
    """``(has a cookie entry, the cookie)`` of the browser whose session state is ``state``."""
    entry = COOKIE_JARS.get(id(state))
    if entry is None or entry[0] is not state:
        return False, None
    return True, entry[1]


def jar_set(state: Any, token: str | None) -> str | None:
    COOKIE_JARS[id(state)] = (state, token)
    return token


def browser_cookie(at) -> str | None:
    """The session cookie the fake browser of ``at`` (an ``AppTest``) holds."""
    return jar_get(at._session_state._state)[1]
