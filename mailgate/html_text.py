"""Readable plain text from the HTML of a mail that has no text part."""

from __future__ import annotations

import re
from itertools import islice

# inscriptis ships no py.typed marker.
from inscriptis import get_text
from inscriptis.model.config import ParserConfig

# Converting is roughly linear but slow per byte; past this much HTML the
# rest is almost always tracking markup or pasted logs, not what a person wrote.
MAX_HTML_CHARS = 2 * 1024 * 1024
# lxml refuses NUL and most C0 controls in its input.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_RUNS = re.compile(r"\n{3,}")
# Link targets stay out: tracking URLs in signatures and footers drown the words.
_CONFIG = ParserConfig(display_links=False, display_images=False)
# Tables are laid out as grids, rows times widest row: a crafted table of a
# few hundred kilobytes takes minutes. Past this many cells they become blocks.
MAX_TABLE_CELLS = 2000
_CELL = re.compile(r"<t[dh][\s>]", re.IGNORECASE)
_TABLE_TAG = re.compile(r"<(/?)(?:table|thead|tbody|tfoot|tr|td|th)\b", re.IGNORECASE)


def html_to_text(html: str) -> str:
    """Return the text a person sees in `html`: paragraphs, lists and tables laid out as text."""
    html = _CONTROL.sub("", html[:MAX_HTML_CHARS])
    if next(islice(_CELL.finditer(html), MAX_TABLE_CELLS, None), None) is not None:
        html = _TABLE_TAG.sub(r"<\1div", html)
    text: str = get_text(html, _CONFIG)
    lines = (line.rstrip() for line in text.splitlines())
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n") + "\n" if text.strip() else ""
