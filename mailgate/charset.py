"""Bytes and header words of e-mail turned into text, whatever charset they claim."""

from __future__ import annotations

import binascii
import codecs
import re

# Labels that mail clients write but that mean a superset, or that Python
# does not know; the same substitutions browsers make (WHATWG Encoding).
_SUPERSETS = {
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "tis-620": "cp874",
    "x-mac-roman": "mac-roman",
    "iso-8859-8-i": "iso8859-8",
}
# Charsets in which any byte is valid: mail that declares one of them but
# is valid UTF-8 with non-ASCII characters was mislabelled by its sender.
_SINGLE_BYTE_WESTERN = frozenset({"ascii", "iso8859-1", "cp1252", "iso8859-15"})
_FALLBACKS = ("utf-8", "cp1252")
_NOT_CHARSETS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined", "mbcs", "oem"}
)
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_BREAK = re.compile(r"[\r\n]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# RFC 2047 §2: =?charset?encoding?encoded-text?= (charset may carry an RFC 2231 *language).
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=")


def codec_name(charset: str | None) -> str | None:
    """Return Python's name for a declared text charset, or None when unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").split("*", 1)[0].lower()
    label = _SUPERSETS.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    # Python also registers bytes-to-bytes codecs (base64, zlib) and codecs
    # for source code and domain names; none of them is a mail charset.
    if not info._is_text_encoding or info.name in _NOT_CHARSETS:
        return None
    return _SUPERSETS.get(info.name, info.name)


def decode_text(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Decode bytes as the declared charset or the likeliest one; tell if that was not the declared.

    Never raises: the last resort, latin-1, maps every byte.
    """
    declared = codec_name(charset)
    if data.isascii() and declared in (None, *_SINGLE_BYTE_WESTERN, "utf-8"):
        return data.decode("ascii"), False
    for codec in _candidates(declared):
        text = _strict(data, codec)
        if text is not None:
            return text, bool(charset) and codec != declared
    return data.decode("latin-1"), bool(charset)


def _candidates(declared: str | None) -> tuple[str, ...]:
    if declared is None or declared in _SINGLE_BYTE_WESTERN:
        # Valid UTF-8 with non-ASCII characters is never meant as latin-1:
        # it is UTF-8 that its sender mislabelled (or did not label).
        return ("utf-8", declared or "cp1252", "cp1252")
    return (declared, *_FALLBACKS)


def _strict(data: bytes, codec: str) -> str | None:
    try:
        text = data.decode(codec)
        # Some codecs (utf-7, the escape codecs) can yield lone surrogates,
        # which are not text and break every UTF-8 consumer downstream.
        if not text.isascii():
            text.encode("utf-8")
    except (UnicodeError, LookupError, ValueError):
        return None
    return text


def unescape_bytes(value: str) -> str:
    """Return text the bytes parser stored with 8-bit octets as surrogate escapes, decoded."""
    if value.isascii():
        return value
    # RFC 6532 allows raw UTF-8 in headers; old clients send cp1252.
    try:
        raw = value.encode("utf-8", "surrogateescape")
    # A lone surrogate that is no escaped byte came from an odd codec; it is not text.
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "replace")
    return decode_text(raw, None)[0]


def raw_header_text(value: str) -> str:
    """Return a header as the stdlib stored it, its 8-bit bytes decoded and its lines unfolded."""
    value = _LINE_BREAK.sub(" ", _UNFOLD.sub("", unescape_bytes(value)))
    return _CONTROL.sub("", value).strip()


def decode_words(value: str) -> str:
    """Decode the RFC 2047 encoded words in a header value; leave anything malformed as written."""
    out: list[str] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        # RFC 2047 §6.2: white space between adjacent encoded words is not displayed.
        if not (position and not between.strip()):
            out.append(between)
        out.append(_decode_word(match))
        position = match.end()
    out.append(value[position:])
    return _CONTROL.sub("", "".join(out))


def _decode_word(match: re.Match[str]) -> str:
    charset, encoding, encoded = match.group(1), match.group(2).upper(), match.group(3)
    raw = encoded.encode("utf-8", "surrogateescape")
    try:
        if encoding == "B":
            unpadded = raw.rstrip(b"=")
            data = binascii.a2b_base64(unpadded + b"=" * (-len(unpadded) % 4))
        else:
            data = binascii.a2b_qp(raw, header=True)
    except (binascii.Error, ValueError):
        return match.group(0)
    return decode_text(data, charset)[0]


def decode_header(value: str) -> str:
    """Return a header value as a person reads it: 8-bit bytes and encoded words decoded."""
    # Most headers are one plain ASCII line; they need none of the work below.
    if value.isascii() and value.isprintable() and "=?" not in value:
        return value.strip()
    return decode_words(raw_header_text(value))
