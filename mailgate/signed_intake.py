"""Signed HTTP intake: the HMAC signature over a posted message, and its envelope headers."""

from __future__ import annotations

import hashlib
import hmac
import re

TIMESTAMP_HEADER = "X-Helpdesk-Timestamp"
SIGNATURE_HEADER = "X-Helpdesk-Signature"
MAIL_FROM_HEADER = "X-Helpdesk-Mail-From"
RECIPIENTS_HEADER = "X-Helpdesk-Recipients"

# How far a request's timestamp may lie from our clock, either way, in seconds:
# room for clock skew and a retry, too little for a captured request to be replayed later.
TOLERANCE_SECONDS = 300
SCHEME = "v1"

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of `b"<timestamp>." + body` under `secret`."""
    signed = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: str, body: bytes) -> str:
    """Return the X-Helpdesk-Signature value a sender puts on `body`."""
    return f"{SCHEME}={signature(secret, timestamp, body)}"


def is_fresh(timestamp: str | None, *, now: float) -> bool:
    """Tell whether `timestamp` is Unix seconds within TOLERANCE_SECONDS of `now`."""
    if timestamp is None or not _TIMESTAMP.fullmatch(timestamp):
        return False
    return abs(int(timestamp) - now) <= TOLERANCE_SECONDS


def verify(
    secret: str, timestamp: str | None, header: str | None, body: bytes, *, now: float
) -> bool:
    """Tell whether the request is fresh and one of the header's v1 signatures is right.

    Every failure answers the same False, so a caller's reply reveals nothing
    about which part was wrong.
    """
    if timestamp is None or header is None or not is_fresh(timestamp, now=now):
        return False
    expected = signature(secret, timestamp, body).encode("ascii")
    # Each candidate is compared in constant time, and all of them always are.
    matched = False
    for candidate in _v1_values(header):
        matched |= hmac.compare_digest(expected, candidate.encode("ascii"))
    return matched


def parse_recipients(header: str | None) -> tuple[str, ...]:
    """Return the comma-separated envelope recipients of the header, without blanks or <>."""
    if header is None:
        return ()
    parts = (part.strip().strip("<>").strip() for part in header.split(","))
    return tuple(part for part in parts if part)


def _v1_values(header: str) -> list[str]:
    values = []
    for item in header.split(","):
        scheme, _, value = item.strip().partition("=")
        value = value.strip().lower()
        # Only well-formed digests reach compare_digest, which refuses non-ASCII text.
        if scheme == SCHEME and _HEX_DIGEST.fullmatch(value):
            values.append(value)
    return values
