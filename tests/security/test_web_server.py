"""The web layer around Streamlit (``application/web.py``): the session cookie route and the HTTP
hardening. Driven as plain ASGI calls, no server and no network."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from application.web import (HANDOFF_PATH, SESSION_COOKIE, XSRF_COOKIE, SecurityHeaders,
                             session_route, xsrf_secret)
from tests.security.conftest import ANALYST

XSRF = "2|0a0b0c0d|" + bytes(b ^ m for b, m in zip(b"0123456789abcdef", b"\x0a\x0b\x0c\x0d" * 4)).hex() \
    + "|1796129090"


def _request(path: str, query: str = "", cookies: str = ""):
    from starlette.requests import Request

    headers = [(b"cookie", cookies.encode())] if cookies else []
    return Request({"type": "http", "method": "GET", "path": path, "query_string": query.encode(),
                    "headers": headers, "scheme": "http", "server": ("127.0.0.1", 8501)})


def _call(middleware: SecurityHeaders, path: str, method: str = "GET", cookies: str = ""):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": b"",
             "headers": [(b"cookie", cookies.encode())] if cookies else []}
    # In a thread of its own: a browser test's Playwright may own this thread's event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, middleware(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], dict(start["headers"])


async def _streamlit(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": b"ok"})


# ---------------------------------------------------------------- the cookie route
def test_the_secret_of_streamlits_xsrf_cookie_is_the_same_under_every_mask():
    remasked = "2|01020304|" + bytes(b ^ m for b, m in zip(b"0123456789abcdef", b"\x01\x02\x03\x04" * 4)).hex() \
        + "|1796129999"
    assert xsrf_secret(XSRF) == xsrf_secret(remasked) == b"0123456789abcdef".hex()
    assert xsrf_secret("garbage|x") is None and xsrf_secret(None) is None


def test_a_valid_ticket_sets_an_httponly_strict_session_cookie_and_returns_to_the_app(review):
    store, _run, _ = review
    ticket = store.issue_handoff(ANALYST, binding=xsrf_secret(XSRF))
    response = session_route(_request(HANDOFF_PATH, f"ticket={ticket}", f"{XSRF_COOKIE}={XSRF}"))
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie.replace("SameSite=Strict", "SameSite=strict")
    token = cookie.split(";")[0].split("=", 1)[1]
    assert store.session_user(token) == ANALYST


@pytest.mark.parametrize("cookies", ["", f"{XSRF_COOKIE}=2|00000000|00|1"], ids=["no cookie", "other"])
def test_a_ticket_from_another_browser_sets_no_cookie(review, cookies):
    store, _run, _ = review
    ticket = store.issue_handoff(ANALYST, binding=xsrf_secret(XSRF))
    response = session_route(_request(HANDOFF_PATH, f"ticket={ticket}", cookies))
    assert response.status_code == 400 and "set-cookie" not in response.headers


def test_a_ticket_works_once(review):
    store, _run, _ = review
    ticket = store.issue_handoff(ANALYST, binding=xsrf_secret(XSRF))
    cookies = f"{XSRF_COOKIE}={XSRF}"
    assert session_route(_request(HANDOFF_PATH, f"ticket={ticket}", cookies)).status_code == 303
    again = session_route(_request(HANDOFF_PATH, f"ticket={ticket}", cookies))
    assert again.status_code == 400 and b"used already" in again.body


# ---------------------------------------------------------------- the middleware
def test_every_response_refuses_framing_and_sniffing():
    status, headers = _call(SecurityHeaders(_streamlit), "/")
    assert status == 200
    assert headers[b"x-frame-options"] == b"DENY"
    assert headers[b"content-security-policy"] == b"frame-ancestors 'none'"
    assert headers[b"x-content-type-options"] == b"nosniff"


def test_the_metrics_endpoint_is_closed():
    assert _call(SecurityHeaders(_streamlit), "/_stcore/metrics")[0] == 404


def test_uploads_without_a_live_session_are_refused_before_the_body_is_read():
    middleware = SecurityHeaders(_streamlit, session_user=lambda token: None)
    assert _call(middleware, "/_stcore/upload_file/s/f", "PUT")[0] == 401
    assert _call(middleware, "/_stcore/upload_file/s/f", "PUT", f"{SESSION_COOKIE}=stolen")[0] == 401


def test_a_signed_in_browser_uploads_up_to_the_cap_per_session():
    middleware = SecurityHeaders(_streamlit, session_user=lambda token: ANALYST, max_uploads=3)
    cookie = f"{SESSION_COOKIE}=live-token"
    statuses = [_call(middleware, "/_stcore/upload_file/s/f", "PUT", cookie)[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_the_server_entry_mounts_the_cookie_route_and_the_middleware():
    import ast
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "server.py").read_text(encoding="utf-8")
    call = next(node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") == "App")
    assert {kw.arg for kw in call.keywords} >= {"routes", "middleware"}
