"""Who is signed in, decided anew on every rerun from the browser's HttpOnly session cookie.

Streamlit keeps ``st.session_state`` per *Streamlit* session, and a browser that reconnects with a
session id (a UUID visible in upload URLs) gets that state back. So the signed-in user is never
taken from the session state: each rerun reads the session token the browser sent in its
``personas_session`` cookie (HttpOnly, set by the server's cookie route in ``application/web.py``)
and asks the review database who that is (:meth:`strategy.store.ReviewStore.check_session`). A
removed, disabled or re-roled user, an idle or too old session, or a browser without the cookie
gets the sign-in page, and the Streamlit session's state is cleared.

Signing in: the password (or single sign-on identity) is verified here, then a one-time ticket
bound to this browser's XSRF cookie is handed to the cookie route by a redirect; the route sets the
cookie and sends the browser back to the app.
"""
from __future__ import annotations

import json
import re
import sys
from urllib.parse import quote

import streamlit as st

from application.web import HANDOFF_PATH, SESSION_COOKIE, XSRF_COOKIE
from core.i18n import N_, _

#: Why a session ends, as the review database and this module say it (translated when shown).
ENDED_REASONS = (N_("you are signed out"), N_("another user signed in in this browser"), N_("signed out"),
                 N_("account removed"), N_("account disabled"), N_("idle timeout"), N_("absolute timeout"))

_PENDING = "_handoff_ticket"
_SIGNED_IN_AS = "_signed_in_as"
_ENDED = "_session_ended"


def _store():
    from app_pages._state import get_store

    return get_store()


def _cookie(name: str) -> str | None:
    try:
        return st.context.cookies.get(name) or None
    except Exception:  # no browser connection (bare script run)
        return None


def browser_token() -> str | None:
    """The session token this browser sent in its HttpOnly cookie, or ``None``."""
    return _cookie(SESSION_COOKIE)


def browser_binding() -> str | None:
    """A secret only this browser holds (inside its XSRF cookie): binds a hand-over ticket to it."""
    from application.web import xsrf_secret

    return xsrf_secret(_cookie(XSRF_COOKIE))


def client_address() -> str | None:
    """The browser's network address as the server saw it (for the sign-in lockout)."""
    try:
        address = st.context.ip_address
    except Exception:
        return None
    return address if isinstance(address, str) else None


def current_user():
    """The signed-in :class:`strategy.auth.User` of this browser, re-read now, or ``None``."""
    user, why = _store().check_session(browser_token())
    if user is None:
        if st.session_state.get(_SIGNED_IN_AS) is not None:
            _forget(why or "you are signed out")
        return None
    if st.session_state.get(_SIGNED_IN_AS) not in (None, user.username):
        _forget("another user signed in in this browser")
    st.session_state[_SIGNED_IN_AS] = user.username
    st.session_state["user"] = user  # shown in the sidebar; never read to decide who acts
    return user


def _forget(why: str) -> None:
    """Clear everything this Streamlit session holds (files, choices) and say why."""
    st.session_state.clear()
    st.session_state[_ENDED] = why


def ended_message() -> str | None:
    """Why the last session ended (shown once on the sign-in page), in the reader's language."""
    why = st.session_state.pop(_ENDED, None)
    if not why:
        return None
    changed = re.fullmatch(r"role changed from (\w+) to (\w+)", why)
    if changed:
        from app_pages._state import role_label

        return _("role changed from {old} to {new}").format(old=role_label(changed.group(1)),
                                                           new=role_label(changed.group(2)))
    return _(why)


def begin_hand_over(user, source: str = "password") -> None:
    """After a verified sign-in: issue the one-time ticket and rerun to hand it to the browser."""
    st.session_state[_PENDING] = _store().issue_handoff(user, source=source,
                                                       binding=browser_binding())
    st.rerun()


def render_hand_over() -> bool:
    """Send the browser to the cookie route with a pending ticket (once); ``True`` if there was one."""
    ticket = st.session_state.pop(_PENDING, None)
    if not ticket:
        return False
    url = f"{HANDOFF_PATH}?ticket={quote(ticket)}"
    st.info(_("Signing you in…"))
    st.html(f"<script>window.location.replace({json.dumps(url)});</script>",
            unsafe_allow_javascript=True)
    st.caption(_("If nothing happens, [continue here]({url}).").format(url=url))
    return True


def sign_out(user) -> None:
    """End this browser's session in the database (the cookie is worthless from now on)."""
    _store().end_session(browser_token(), "signed out")
    _forget("you are signed out")


def announce_setup_token() -> None:
    """On a database without users, print a one-time setup token on the server console."""
    store = _store()
    if store.count_users() == 0 and not store.setup_token_outstanding():
        try:
            token = store.issue_setup_token()
        except Exception:  # another visitor's request created the administrator meanwhile
            return
        print(f"\n  Persona collections: no user exists yet. Setup token for the first "
              f"administrator (one use, valid {store.security.setup_token_hours:g} hours):\n"
              f"    {token}\n  (a new one: python -m personas users setup-token)\n",
              file=sys.stderr, flush=True)
