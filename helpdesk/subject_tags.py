"""Ticket tags in subjects: ours (`[#123]`), and other systems' references we keep apart."""

from __future__ import annotations

import re

# Our tag, as outbound mail writes it (CONTRACT §5) and threading reads it (§4).
_OURS = re.compile(r"\[#(\d{1,9})\]")
# Other helpdesks' tags: OTRS/Znuny "[Ticket#2024031510000012]", Request
# Tracker "[rt.example.com #123]", osTicket/Freshdesk-like "[#ABC-123]" and
# "[Case #123]"; a bare "[#123]" is ours only when the sender takes part in our
# ticket of that number (checked by the thread step), otherwise also foreign.
_FOREIGN_TAG = re.compile(
    r"\[(?:Ticket#\s?\d{6,20}|[\w.-]+\s#\d{1,12}|#[A-Z][A-Z0-9]+-\d{1,9}|"
    r"(?:Case|Ticket|Request|Incident|Issue)\s?#?\s?\d{1,12})\]",
    re.IGNORECASE,
)
# Jira-style issue keys; the prefixes below are standards and encodings, not projects.
_ISSUE_KEY = re.compile(r"(?<![\w-])([A-Z][A-Z0-9]{1,9}-\d{1,7})(?![\w-])")
_NOT_KEYS = frozenset(
    {"UTF", "ISO", "SHA", "RFC", "CVE", "WIN", "CP", "MD", "AES", "RSA", "TLS", "SSL", "COVID"}
)


def subject_tag(number: int) -> str:
    """Return the tag our mail puts in the subject of the ticket with that number."""
    return f"[#{number}]"


def our_tag_numbers(subject: str) -> list[int]:
    """Return the numbers of `[#N]` tags in a subject, first first."""
    return [int(match) for match in _OURS.findall(subject)]


def foreign_references(subject: str) -> list[str]:
    """Return other systems' ticket tags and issue keys found in a subject."""
    found = [match.group(0) for match in _FOREIGN_TAG.finditer(subject)]
    for key in _ISSUE_KEY.findall(subject):
        if key.split("-", 1)[0] not in _NOT_KEYS and not any(key in tag for tag in found):
            found.append(key)
    return found
