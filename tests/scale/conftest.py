"""Dask worker processes start with ``spawn``, which re-runs ``__main__.__file__`` in each worker.

``streamlit.testing.AppTest`` (the app tests, earlier in the same pytest process) leaves
``sys.modules["__main__"]`` pointing at the last page script it ran, so a spawned worker would run
that page and die. Each test here gets a clean ``__main__`` as a real ``python -m personas`` has.
"""
from __future__ import annotations

import sys
import types

import pytest


@pytest.fixture(autouse=True)
def _clean_main_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
