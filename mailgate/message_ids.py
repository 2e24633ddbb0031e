"""Message-IDs read out of Message-ID, In-Reply-To and References, however they are written."""

from __future__ import annotations

import re

_BRACKETED = re.compile(r"<([^<>]*)>")
_COMMENT = re.compile(r"\([^()]*\)")
_WHITESPACE = re.compile(r"\s+")
# A reference list may name thousands of ids; past this many only the newest count.
MAX_IDS = 200


def message_ids(value: str) -> tuple[str, ...]:
    """Return the ids in a header value without angle brackets, in order, each once.

    RFC 5322 §3.6.4 wants `<id>` tokens; broken clients send bare ids,
    comments, folded ids and other text in between, all of which is tolerated.
    """
    found = [_WHITESPACE.sub("", token) for token in _BRACKETED.findall(value)]
    if not found:
        # Without brackets only a header that is one bare id counts:
        # "message from bob@example.com" is prose, not a reference.
        bare = _COMMENT.sub(" ", value).split()
        found = bare if len(bare) == 1 and "@" in bare[0] else []
    unique = list(dict.fromkeys(token for token in found if token))
    return tuple(unique[-MAX_IDS:])


def first_message_id(value: str) -> str | None:
    """Return the first id in a header value, or None."""
    ids = message_ids(value)
    return ids[0] if ids else None
