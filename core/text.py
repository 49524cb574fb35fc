"""User-supplied text made safe for where it is shown: Markdown in the app, a terminal in the CLI.

Persona names, reasons, file names and model-card fields are typed by people or come from files.
Shown as Markdown, ``![x](https://evil/img)`` makes every viewer's browser fetch a remote image and
``[click](https://evil)`` is a convincing link; printed raw, an escape sequence can clear a
terminal or fake an "approved by" line. :func:`escape_markdown` makes text render literally;
:func:`terminal_safe` shows control characters as escapes.
"""
from __future__ import annotations

import re

from core.errors import one_line

# What Markdown (CommonMark + GFM + Streamlit's :directives[], $math$, ~strike~) acts on anywhere in
# a line; brackets cover links, images and directives, < autolinks and HTML.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#!~$])")
# ... and what acts only in certain places: a list or quote marker at the start, the "://" and
# "www." that make a bare address a link.
_LINE_START = re.compile(r"^(\s*|\s*\d+)((?<=\d)[.)]|(?<!\d)[-+=])")
_BARE_LINK = re.compile(r"(?i)(?<=:)/|(?<=www)\.")


def terminal_safe(text: object) -> str:
    """``text`` on one line with control, escape and bidirectional characters shown as escapes."""
    return one_line(str(text))


def escape_markdown(text: object) -> str:
    """``text`` as Markdown that renders exactly these characters: no links, images, HTML,
    formatting, math or Streamlit directives; line breaks and control characters become escapes."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(str(text)))
    escaped = _BARE_LINK.sub(lambda m: "\\" + m.group(0), escaped)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)


# What can fetch, link, run or format beyond the page's own structure: images, links, autolinks,
# HTML, code spans, math and Streamlit :directives[...]; headings, lists, bold and tables stay.
_DEFANG = re.compile(r"([\\!\[\]()<>`$:])")


def defang_markdown(text: object) -> str:
    """Markdown written by the app (headings, tables, bold, lists) around fields people supplied:
    keeps the structure but escapes every character that could make an image, a link, HTML, a
    code span, math or a Streamlit directive, so nothing is fetched and nothing is clickable."""
    return _DEFANG.sub(r"\\\1", str(text))
