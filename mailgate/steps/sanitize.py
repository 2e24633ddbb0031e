"""Make a mail's HTML safe to show: an allow-list, no scripts, remote images off, bounded work."""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import islice

import nh3

from mailgate.inbound import InboundMessage

# What mail formatting needs, and nothing that runs, loads or submits.
TAGS = frozenset(
    {"p", "br", "div", "span", "b", "i", "u", "s", "strong", "em", "small", "sub", "sup"}
    | {"a", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre", "code", "hr", "img"}
    | {"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup", "col"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "font", "center", "abbr", "q", "cite"}
)
# Tags dropped with everything inside them: their text is no part of the mail.
_DROPPED_WITH_CONTENT = frozenset({"script", "style", "title", "template", "noscript", "xmp"})
_CELL = {"align", "valign", "colspan", "rowspan", "width", "height"}
ATTRIBUTES = {
    "*": {"dir", "lang", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"align", "width", "border", "cellpadding", "cellspacing"},
    "td": _CELL,
    "th": _CELL,
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "ol": {"start", "type"},
    "font": {"color", "face", "size"},
    "p": {"align"},
    "div": {"align"},
    "blockquote": {"cite"},
}
# cid: is an inline part of the same mail, which the web layer serves itself.
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "cid"})
LINK_REL = "noopener noreferrer nofollow"
# Past these the sanitizer's work grows faster than the input (deep nesting,
# thousands of attributes on one tag); the rest of such a mail is cut off.
MAX_TAGS = 10_000
MAX_ATTRIBUTES_PER_TAG = 100

_CLEANER = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags=set(_DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
    url_schemes=set(URL_SCHEMES),
    # A relative URL in a mail points at our own site, or (//host) anywhere.
    url_relative="deny",
    link_rel=LINK_REL,
    strip_comments=True,
)
_START_TAG = re.compile(r"<[a-zA-Z]")
_WS = "\t\n\f\r "
# A start tag's name and attributes as the HTML tokenizer reads them (values
# in quotes may hold ">"); used only to bound the work, nh3 decides the rest.
_VALUE = rf"""[{_WS}]*=[{_WS}]*(?:"[^"]*"?|'[^']*'?|[^{_WS}>]*)"""
_ATTRIBUTE = rf"[{_WS}/]*[^{_WS}/>][^{_WS}/>=]*(?:{_VALUE})?"
_TAG_WITH_ATTRIBUTES = re.compile(rf"(<[a-zA-Z][^{_WS}/>]*)(?:{_ATTRIBUTE})*")
_ONE_ATTRIBUTE = re.compile(_ATTRIBUTE)
# nh3's output: every attribute double-quoted, with " and > escaped inside.
_OUTPUT_TAG = re.compile(r"<(a|img)\b([^>]*)>")
_HREF = re.compile(r' href="[^"]*"')
_REMOTE_SRC = re.compile(r' src="(https?:[^"]*)"', re.IGNORECASE)


def sanitize_html(
    msg: InboundMessage, *, max_html_bytes: int = 2_000_000, max_links: int = 1000
) -> InboundMessage:
    """Set `safe_html` from the mail's HTML: allowed formatting only, remote images off."""
    if not msg.html.strip():
        return replace(msg, safe_html="")
    bounded = _limit_attributes(_cut_tags(_truncate(msg.html, max_html_bytes), MAX_TAGS))
    return replace(msg, safe_html=_rewrite_links_and_images(_CLEANER.clean(bounded), max_links))


def _truncate(html: str, max_bytes: int) -> str:
    """Cut HTML longer than `max_bytes` (UTF-8) before the tag it would end inside."""
    # A character is at most four bytes: short HTML needs no encoding to tell.
    if len(html) <= max_bytes // 4:
        return html
    encoded = html.encode()
    if len(encoded) <= max_bytes:
        return html
    head = encoded[:max_bytes].decode(errors="ignore")
    cut = head.rfind("<")
    return head[:cut] if cut > 0 else head


def _cut_tags(html: str, max_tags: int) -> str:
    """Cut the HTML before its tag number `max_tags + 1`."""
    beyond = next(islice(_START_TAG.finditer(html), max_tags, None), None)
    return html if beyond is None else html[: beyond.start()]


def _limit_attributes(html: str) -> str:
    """Keep only the first attributes of a tag that has more than anyone writes."""
    return _TAG_WITH_ATTRIBUTES.sub(_first_attributes, html)


def _first_attributes(tag: re.Match[str]) -> str:
    text = tag.group(0)
    if len(text) < MAX_ATTRIBUTES_PER_TAG * 2:
        return text
    attributes = _ONE_ATTRIBUTE.finditer(text, len(tag.group(1)))
    beyond = next(islice(attributes, MAX_ATTRIBUTES_PER_TAG, None), None)
    return text if beyond is None else text[: beyond.start()]


def _rewrite_links_and_images(html: str, max_links: int) -> str:
    """Turn remote image sources into `data-remote-src`, and drop links past `max_links`."""
    links = 0

    def rewrite(tag: re.Match[str]) -> str:
        nonlocal links
        name, attributes = tag.group(1), tag.group(2)
        if name == "img":
            attributes = _REMOTE_SRC.sub(r' data-remote-src="\1"', attributes)
        elif _HREF.search(attributes):
            links += 1
            if links > max_links:
                attributes = _HREF.sub("", attributes)
        return f"<{name}{attributes}>"

    return _OUTPUT_TAG.sub(rewrite, html)
