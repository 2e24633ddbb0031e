"""Soft line breaks of format=flowed text (RFC 3676) joined back into paragraphs."""

from __future__ import annotations

# RFC 3676 §4.3: the signature separator ends in a space but is never flowed.
_SIGNATURE_SEPARATOR = "-- "


def unflow(text: str, *, delsp: bool = False) -> str:
    """Join the soft-broken lines of flowed text; keep quote depth and hard breaks."""
    out: list[str] = []
    pending: tuple[int, str] | None = None
    for line in text.split("\n"):
        depth, content, flowed = _flowed_line(line, delsp=delsp)
        if pending is not None and pending[0] == depth:
            content = pending[1] + content
        elif pending is not None:
            out.append(_quoted(*pending))
        pending = (depth, content) if flowed else None
        if not flowed:
            out.append(_quoted(depth, content))
    if pending is not None:
        out.append(_quoted(*pending))
    return "\n".join(out)


def _flowed_line(line: str, *, delsp: bool) -> tuple[int, str, bool]:
    content = line.lstrip(">")
    depth = len(line) - len(content)
    # RFC 3676 §4.4: a leading space was added ("stuffed") by the sender.
    if content.startswith(" "):
        content = content[1:]
    flowed = content.endswith(" ") and content != _SIGNATURE_SEPARATOR
    if flowed and delsp:
        content = content[:-1]
    return depth, content, flowed


def _quoted(depth: int, content: str) -> str:
    if not depth:
        return content
    return ">" * depth + (" " + content if content else "")
