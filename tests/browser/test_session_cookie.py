"""The signed-in user belongs to the browser's HttpOnly cookie, not to a Streamlit session id.

Against the real server (``streamlit run server.py``): the session cookie is HttpOnly and
SameSite=Strict and survives a reload; and a second client that reconnects with a signed-in
browser's Streamlit session id (which Streamlit resumes, state and all) but without that cookie
gets the sign-in page. A positive control shows the probe does see a signed-in page when it carries
the cookie.
"""
from __future__ import annotations

import time
from urllib.parse import urlparse

import pytest

from browser_steps import open_app, sign_in, wait_until_idle

pytestmark = pytest.mark.browser


def _session_ids(page) -> list[str]:
    """Streamlit session ids the page's websocket was given (newest last)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ids: list[str] = []

    def on_frame(payload):
        if isinstance(payload, (bytes, bytearray)):
            msg = ForwardMsg()
            try:
                msg.ParseFromString(bytes(payload))
            except Exception:
                return
            if msg.HasField("new_session") and msg.new_session.initialize.session_id:
                ids.append(msg.new_session.initialize.session_id)

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return ids


def _probe(base_url: str, *, session_id: str | None, cookie: str = "") -> tuple[bytes, list[str]]:
    """Connect a websocket as another client, ask for a rerun, return what the app sent."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    host = urlparse(base_url).netloc
    protocols = ["streamlit", "x", session_id] if session_id else ["streamlit"]
    sent, ids = b"", []
    with connect(f"ws://{host}/_stcore/stream", subprotocols=protocols,
                 additional_headers={"Origin": base_url, "Cookie": cookie},
                 open_timeout=30) as ws:
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        ws.send(rerun.SerializeToString())
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                frame = ws.recv(timeout=5)
            except TimeoutError:
                continue
            sent += frame if isinstance(frame, bytes) else frame.encode()
            msg = ForwardMsg()
            msg.ParseFromString(frame)
            if msg.HasField("new_session") and msg.new_session.initialize.session_id:
                ids.append(msg.new_session.initialize.session_id)
            if msg.HasField("script_finished"):
                break
    return sent, ids


def test_the_session_cookie_is_httponly_strict_and_survives_a_reload(page, app_server):
    open_app(page, app_server.url)
    sign_in(page, "analyst", app_server.passwords["analyst"])
    cookie = next(c for c in page.context.cookies() if c["name"] == "personas_session")
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert "personas_session" not in page.evaluate("document.cookie")
    page.reload()
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("button", name="Sign out").wait_for(timeout=60_000)
    wait_until_idle(page)


def test_a_reused_session_id_without_the_cookie_signs_nobody_in(page, app_server):
    ids = _session_ids(page)
    open_app(page, app_server.url)
    sign_in(page, "analyst", app_server.passwords["analyst"])
    assert ids, "the browser was given a Streamlit session id"
    victim = ids[-1]
    cookie = next(c for c in page.context.cookies() if c["name"] == "personas_session")

    attacker_view, attacker_ids = _probe(app_server.url, session_id=victim)
    assert attacker_ids in ([], [victim]), "the probe resumed the victim's Streamlit session"
    assert b"Sign out" not in attacker_view
    assert b"User name" in attacker_view, "the reconnected session shows the sign-in form"

    with_cookie, _ = _probe(app_server.url, session_id=None,
                            cookie=f"personas_session={cookie['value']}")
    assert b"Sign out" in with_cookie, "positive control: the cookie itself does sign in"
