"""Reply tokens: what ties a reply to its ticket, unguessable and bound to its recipient.

Every mail we send to a person about a ticket is to carry a token for that
person (in the Reply-To address `local+TOKEN@domain`, in our Message-ID, and in
a hidden marker in the body); the inbound threading step (mailgate.steps.thread)
checks them, and outbound mail, still to come, is to issue them. A token is the
ticket id and an HMAC-SHA256 of (tenant, ticket, recipient) under a key derived
from the installation's secret, truncated to 128 bits. Nothing is stored: a
token is checked by computing the MAC again.

Tokens must survive mail systems that lower-case addresses, so they are
lower-case base32 without padding, and short enough for an address's local
part (RFC 5321 allows 64 characters): "r1" + id + "." + 26 characters.

Checking a token against the sender of a reply gives one of three answers:
valid for that sender; valid for the ticket but issued to someone else (a
forwarded mail, a colleague answering: held for review, never posted); or
not ours at all (treated as if there were no token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

VERSION = "r1"
# Our outbound mail carries this header, signed over its Message-ID, so that
# our own mail coming back (an alias forwarding to itself) is known as a loop.
LOOP_HEADER = "X-Helpdesk-Loop"
MAC_BYTES = 16
_MAC_CHARS = 26  # base32 of 16 bytes without padding
_TOKEN = re.compile(rf"{VERSION}([a-z2-7]{{1,13}})\.([a-z2-7]{{{_MAC_CHARS}}})")


class Verdict(StrEnum):
    VALID = "valid"  # issued to this sender for this ticket
    OTHER_RECIPIENT = "other_recipient"  # genuine, but issued to someone else
    INVALID = "invalid"  # not a token of ours


@dataclass(frozen=True)
class ParsedToken:
    ticket_id: int
    mac: bytes


class ReplyTokens:
    """Issues and checks reply tokens under one installation secret."""

    def __init__(self, secret_key: str) -> None:
        # A key of its own, so that no other use of the secret can mint tokens.
        self._key = hmac.new(secret_key.encode(), b"helpdesk reply tokens v1", "sha256").digest()

    def issue(self, tenant_id: int, ticket_id: int, recipient: str) -> str:
        """Return the token for mail to `recipient` about the ticket."""
        mac = self._mac(tenant_id, ticket_id, recipient)
        return f"{VERSION}{_b32(_int_bytes(ticket_id))}.{_b32(mac)}"

    def check(
        self,
        token: ParsedToken,
        tenant_id: int,
        sender: str,
        participants: Iterable[str] = (),
    ) -> Verdict:
        """Judge a parsed token for a reply from `sender` to the tenant.

        `participants` are the ticket's known addresses (requester, CC'd,
        agents): a token issued to one of them but sent by another person is
        genuine yet not theirs to use.
        """
        if hmac.compare_digest(token.mac, self._mac(tenant_id, token.ticket_id, sender)):
            return Verdict.VALID
        for address in participants:
            expected = self._mac(tenant_id, token.ticket_id, address)
            if hmac.compare_digest(token.mac, expected):
                return Verdict.OTHER_RECIPIENT
        return Verdict.INVALID

    def loop_mark(self, message_id: str) -> str:
        """Return the value of LOOP_HEADER for our outbound mail with that Message-ID."""
        digest = hmac.new(self._key, b"loop\x00" + message_id.encode(), hashlib.sha256).digest()
        return _b32(digest[:MAC_BYTES])

    def is_loop_mark(self, message_id: str, value: str) -> bool:
        """Tell whether `value` is the loop mark we put on the mail with that Message-ID."""
        return hmac.compare_digest(value.strip().lower(), self.loop_mark(message_id))

    def _mac(self, tenant_id: int, ticket_id: int, recipient: str) -> bytes:
        message = f"{tenant_id}\x00{ticket_id}\x00{recipient.strip().lower()}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()[:MAC_BYTES]


def parse_token(text: str) -> ParsedToken | None:
    """Read a token from text that should be exactly one (case does not matter)."""
    match = _TOKEN.fullmatch(text.strip().lower())
    if match is None:
        return None
    ticket_id = int.from_bytes(_unb32(match.group(1)), "big")
    mac = _unb32(match.group(2))
    if ticket_id <= 0 or len(mac) != MAC_BYTES:
        return None
    return ParsedToken(ticket_id, mac)


def find_tokens(text: str) -> list[ParsedToken]:
    """Return every well-formed token in a longer text (a References header, a body)."""
    found = []
    for match in _TOKEN.finditer(text.lower()):
        parsed = parse_token(match.group(0))
        if parsed is not None:
            found.append(parsed)
    return found


def _int_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


def _unb32(text: str) -> bytes:
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except ValueError:
        return b""
