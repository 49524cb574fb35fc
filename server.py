"""The web server: Streamlit (``app.py``) plus the session-cookie route and security headers.

Start it with ``streamlit run server.py`` (``make run``): Streamlit finds the ASGI app below and
serves ``app.py`` with the routes and middleware of :mod:`application.web`. Starting ``app.py``
directly leaves out the cookie route, so nobody can complete a sign-in: it fails closed.

The numba warm-up starts here, while the server starts and before it answers its health check:
its heavy imports (umap, hdbscan, altair) are done in this thread now, not during the first page's
script, and the kernels load from the prepared disk cache in the background
(:mod:`application.warmup`). The first page then only waits for its own work (issue 16, item 4).
"""
import streamlit as st

from application.warmup import warm_up_in_background
from application.web import middleware, routes

warm_up_in_background()  # idempotent: app.py's call on every rerun returns at once

app = st.App("app.py", routes=routes(), middleware=middleware())
