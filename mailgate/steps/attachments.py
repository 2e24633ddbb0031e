"""Judge every attached and inline file by its bytes; keep what a desk accepts, record the rest."""

from __future__ import annotations

from dataclasses import replace

from helpdesk.filetypes import FileRules, check_file
from mailgate.inbound import Blocked, InboundMessage, Part


def check_attachments(
    msg: InboundMessage, *, rules: FileRules, max_message_bytes: int
) -> InboundMessage:
    """Split the parts into kept (with their sniffed type) and blocked (with the reason)."""
    kept: list[Part] = []
    blocked: list[Blocked] = []
    total = 0
    for part in msg.parts:
        sniffed, reason = judge_part(part, rules)
        if reason is None and total + len(part.data) > max_message_bytes:
            reason = f"the message's files together would pass {_size(max_message_bytes)}"
        if reason is None:
            kept.append(_kept(part, sniffed))
            total += len(part.data)
        else:
            blocked.append(Blocked(display_name(part), reason))
    return replace(msg, kept_parts=tuple(kept), blocked_parts=tuple(blocked))


def judge_part(part: Part, rules: FileRules) -> tuple[str, str | None]:
    """Return the part's sniffed type and why it is refused, or None when it is accepted."""
    if len(part.data) > rules.max_bytes:
        return "", f"the file is larger than the limit of {_size(rules.max_bytes)}"
    sniffed, verdict = check_file(part.filename, part.data, rules)
    if not verdict.allowed:
        return sniffed, verdict.reason
    if _is_inline_image(part) and not sniffed.startswith("image/"):
        # The HTML shows it as a picture (cid:), so it must be one.
        return sniffed, f"an inline image must be an image, but its content is {sniffed}"
    return sniffed, None


def display_name(part: Part) -> str:
    """Return the part's file name, or what it is when it has none."""
    return part.filename or f"unnamed {part.declared_type or 'file'}"


def _is_inline_image(part: Part) -> bool:
    return part.inline and part.declared_type.startswith("image/")


def _kept(part: Part, sniffed: str) -> Part:
    # A file the HTML points at by cid: that is no picture (a PDF, say) is
    # offered for download instead of shown in the text.
    inline = part.inline and sniffed.startswith("image/")
    return replace(part, sniffed_type=sniffed, inline=inline)


def _size(limit: int) -> str:
    megabytes = limit / (1024 * 1024)
    if megabytes >= 1:
        return f"{round(megabytes, 1):g} MB"
    return f"{limit} bytes"
