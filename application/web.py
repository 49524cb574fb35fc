"""What the web server adds around Streamlit (``server.py``): the session cookie and HTTP hardening.

* ``GET /_personas/session?ticket=…`` redeems a one-time hand-over ticket (issued after a verified
  sign-in, bound to the browser's XSRF cookie) for a session token, sets it as the HttpOnly,
  SameSite=Strict cookie ``personas_session`` and sends the browser back to the app. The token
  never passes through JavaScript or the Streamlit session; the database keeps only its SHA-256.
* :class:`SecurityHeaders` (pure ASGI, so the websocket passes untouched): refuses framing
  (``X-Frame-Options: DENY``, ``frame-ancestors 'none'``), sets ``nosniff`` and a same-origin
  referrer policy, answers ``/_stcore/metrics`` with 404, and refuses file uploads from a browser
  without a live session (401) or beyond :data:`MAX_UPLOADS_PER_SESSION` files per session (429).
"""
from __future__ import annotations

import hashlib
import html
import threading
from collections import Counter
from http.cookies import SimpleCookie
from typing import Any

SESSION_COOKIE = "personas_session"
XSRF_COOKIE = "_streamlit_xsrf"
HANDOFF_PATH = "/_personas/session"
MAX_UPLOADS_PER_SESSION = 20
SECURITY_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)

_stores: dict[str, Any] = {}
_stores_lock = threading.Lock()


def xsrf_secret(cookie_value: str | None) -> str | None:
    """The secret inside Streamlit's XSRF cookie (``2|mask|masked token|time``), as hex.

    The cookie's text changes with every response (a new mask), its secret stays: the secret is
    what binds a hand-over ticket to the browser that signed in.
    """
    value = (cookie_value or "").strip("\"'")
    try:
        if value.startswith("2|"):
            _version, mask_hex, masked_hex, _time = value.split("|")
            mask, masked = bytes.fromhex(mask_hex), bytes.fromhex(masked_hex)
            if len(mask) != 4 or not masked:
                return None
            return bytes(b ^ mask[i % 4] for i, b in enumerate(masked)).hex()
        return bytes.fromhex(value).hex() or None
    except ValueError:
        return None


def review_store():
    """The review database of this server process (one per URL, opened on first use)."""
    from core.workspace import database_url
    from strategy.store import ReviewStore

    url = database_url()
    with _stores_lock:
        if url not in _stores:
            _stores[url] = ReviewStore(url)
        return _stores[url]


def _page(status: int, text: str):
    from starlette.responses import HTMLResponse

    body = (f"<!doctype html><title>Persona collections</title><p>{html.escape(text)}</p>"
            '<p><a href="/">Back to the sign-in page</a></p>')
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})


def session_route(request):
    """``GET /_personas/session?ticket=…``: the hand-over from a verified sign-in to the cookie."""
    from starlette.responses import RedirectResponse

    from core.errors import UserError

    ticket = request.query_params.get("ticket", "")
    if not ticket or len(ticket) > 200:
        return _page(400, "This sign-in link is not valid. Sign in again.")
    try:
        token = review_store().redeem_handoff(
            ticket, binding=xsrf_secret(request.cookies.get(XSRF_COOKIE)))
    except UserError as err:
        return _page(400, f"Sign-in failed: {err}.")
    response = RedirectResponse("/", status_code=303, headers={"cache-control": "no-store"})
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    return response


def routes() -> list:
    """The routes ``server.py`` mounts next to Streamlit's."""
    from starlette.routing import Route

    return [Route(HANDOFF_PATH, session_route, methods=["GET"])]


def _cookie(scope: dict, name: str) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header: as if there were none
                return None
            if name in jar:
                return jar[name].value
    return None


class SecurityHeaders:
    """ASGI middleware: security headers, no metrics, no uploads without a live session."""

    def __init__(self, app, *, session_user=None, max_uploads: int = MAX_UPLOADS_PER_SESSION):
        self.app = app
        self._session_user = session_user  # token -> user or None (tests pass their own)
        self.max_uploads = max_uploads
        self._uploads: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.rstrip("/").endswith("/_stcore/metrics"):
            await self._refuse(send, 404, "not found")
            return
        if "/_stcore/upload_file/" in path and scope.get("method") in ("PUT", "POST"):
            refusal = await self._upload_refusal(scope)
            if refusal:
                await self._refuse(send, *refusal)
                return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _v in message.get("headers", [])}
                message = {**message, "headers": list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in names]}
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _upload_refusal(self, scope) -> tuple[int, str] | None:
        from anyio import to_thread

        token = _cookie(scope, SESSION_COOKIE)
        check = self._session_user or (lambda t: review_store().session_user(t))
        user = await to_thread.run_sync(check, token) if token else None
        if user is None:
            return 401, "sign in before uploading files"
        key = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            self._uploads[key] += 1
            if self._uploads[key] > self.max_uploads:
                return 429, f"at most {self.max_uploads} files per session; sign in again"
        return None

    @staticmethod
    async def _refuse(send, status: int, text: str) -> None:
        body = text.encode("utf-8")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()),
                                *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": body})


def middleware() -> list:
    """The middleware ``server.py`` puts in front of Streamlit."""
    from starlette.middleware import Middleware

    return [Middleware(SecurityHeaders)]
