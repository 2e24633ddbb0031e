"""A stdlib Message whose MIME parameters never raise, however malformed the mail."""

from __future__ import annotations

from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any

from mailgate.charset import decode_text

# Malformed RFC 2231 continuations ("name*=a; name*0=b") make the stdlib
# raise TypeError while sorting them, and odd charsets ValueError; the
# feedparser itself asks for the boundary this way and would crash.
_PARAMETER_ERRORS = (TypeError, ValueError, LookupError, IndexError)


class TolerantMessage(Message):
    """A compat32 Message that reads an unreadable parameter as absent.

    Where the stdlib would decode an RFC 2231 value with whatever codec the
    sender names (escape codecs included), the value is decoded as text here.
    """

    def get_params(
        self, failobj: Any = None, header: str = "content-type", unquote: bool = True
    ) -> Any:
        """Return the header's parameters, or `failobj` when they cannot be read."""
        try:
            return super().get_params(failobj, header, unquote)
        except _PARAMETER_ERRORS:
            return failobj

    def get_param(
        self, param: str, failobj: Any = None, header: str = "content-type", unquote: bool = True
    ) -> Any:
        """Return one parameter of the header, or `failobj` when it cannot be read."""
        try:
            return super().get_param(param, failobj, header, unquote)
        except _PARAMETER_ERRORS:
            return failobj

    def get_content_charset(self, failobj: Any = None) -> Any:
        """Return the declared charset's name lower-cased, or `failobj`."""
        value = self.get_param("charset")
        if isinstance(value, tuple):
            value = value[2]
        if not isinstance(value, str) or not value.strip() or not value.isascii():
            return failobj
        return value.strip().lower()

    def get_boundary(self, failobj: Any = None) -> Any:
        """Return the multipart boundary, or `failobj`."""
        value = self.get_param("boundary")
        return failobj if value is None else parameter_text(value).rstrip()

    def get_filename(self, failobj: Any = None) -> Any:
        """Return the file name from Content-Disposition or Content-Type, or `failobj`."""
        value = self.get_param("filename", None, "content-disposition")
        if value is None:
            value = self.get_param("name", None, "content-type")
        return failobj if value is None else parameter_text(value).strip()


def parameter_text(value: str | tuple[str | None, str | None, str]) -> str:
    """Return a parameter value as text, an RFC 2231 one decoded from its charset."""
    if not isinstance(value, tuple):
        return collapse_rfc2231_value(value)
    charset, _, text = value
    try:
        # The stdlib percent-decodes RFC 2231 values to one character per byte.
        raw = str(text).encode("latin-1")
    except UnicodeEncodeError:
        return str(text)
    return decode_text(raw, charset)[0]


def raw_payload(message: Message) -> str | None:
    """Return a leaf's payload as the parser stored it, before any decoding."""
    # get_payload() applies the declared charset to a payload with 8-bit
    # bytes, with whatever codec the sender names; the stored copy is plain.
    payload = vars(message).get("_payload")
    return payload if isinstance(payload, str) else None


def raw_header(message: Message, name: str) -> str:
    """Return the first header called `name` (lower-case) as the parser stored it, or ""."""
    # get() hands 8-bit headers back as Header objects; the raw value keeps the bytes.
    return next((str(value) for key, value in message.raw_items() if key.lower() == name), "")
