"""Constants of the portfolio package that the command line needs before any portfolio is read.

Kept apart from the modules that use them, which import pandas: a command such as
``personas users add`` builds every command's parser and should not pay for pandas to do so.
"""
from __future__ import annotations

#: Largest portfolio file read by default (``--max-mb``, the app's upload limit).
DEFAULT_MAX_BYTES = 200 * 2**20

#: What the event value of an outcome column (``--target``) may mean: paid, or not paid.
EVENTS = ("paid", "default")
