"""The web server: Streamlit (``app.py``) plus the session-cookie route and security headers.

Start it with ``streamlit run server.py`` (``make run``): Streamlit finds the ASGI app below and
serves ``app.py`` with the routes and middleware of :mod:`application.web`. Starting ``app.py``
directly leaves out the cookie route, so nobody can complete a sign-in: it fails closed.
"""
import streamlit as st

from application.web import middleware, routes

app = st.App("app.py", routes=routes(), middleware=middleware())
