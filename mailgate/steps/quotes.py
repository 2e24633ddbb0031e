"""Quotes step: the visible reply, the sender's own words without the quoted history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from mailparser_reply import EmailReplyParser

from helpdesk.reply_marker import REPLY_ABOVE_THIS_LINE
from mailgate.inbound import InboundMessage

# "On … wrote:" as Gmail, Apple Mail and Thunderbird write it above a quote, per language.
ATTRIBUTIONS: dict[str, str] = {
    "en": r"On\s.+\swrote\s?:",
    "de": r"Am\s.+\sschrieb\s.+:",
    "fr": r"Le\s.+\sa\s+écrit\s?:",
    "es": r"El\s.+\sescribió\s?:",
    "nl": r"Op\s.+\s(?:schreef\s.+|het volgende geschreven)\s?:",
    "it": r"Il\s.+\sha\sscritto\s?:",
    "pt": r"Em\s.+\sescreveu\s?:",
}
# Outlook's header block of the mail replied to: a From line, then Sent or Date just below.
OUTLOOK_FROM = r"\*?(?:From|Von|De|Van|Da)\s?\*?:"
OUTLOOK_SENT = (
    r"\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviad[oa](?: el| em)?|Fecha|Verzonden|Inviato|Data)"
    r"\s?\*?:"
)
# Lines after which everything is history: Outlook's underscore line and the old
# "-----Original Message-----" separator in the languages we read.
SEPARATORS = (
    r"_{30,}",
    r"-{3,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original"
    r"|Oorspronkelijk bericht|Messaggio originale|Mensagem original)\s*-{3,}",
)
# A forwarded mail's content is the point of it, so its visible text keeps the forwarded block.
FORWARD_LINES = (
    r"-{3,}\s*(?:Forwarded message|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado"
    r"|Doorgestuurd bericht|Messaggio inoltrato|Mensagem encaminhada)\s*-{3,}",
    r"(?:Begin forwarded message|Anfang der weitergeleiteten Nachricht|Début du message réexpédié"
    r"|Inicio del mensaje reenviado|Begin doorgestuurd bericht|Inizio messaggio inoltrato"
    r"|Início da mensagem reencaminhada)\s?:",
)
# Only the first prefix counts: "AW: WG: Re:" is a reply to a forward, not a forward.
FORWARD_SUBJECT = r"\s*(?:(?i:fwd?|wg|tr|rv|enc|doorst)|I)\s?:"
# The reply-parsing library's own header rules, for these languages; our rules above come
# first, the library adds the forms it knows beyond them (Swedish, Danish, Czech, ...).
# Polish is left out: its rule takes one "Data:" or "Do:" line for a header.
LIBRARY_LANGUAGES = ("en", "de", "fr", "es", "nl", "it", "cs", "da", "sv", "ja", "ko", "zh")
# Header patterns backtrack on long lines (the library's go quadratic and worse), so a
# crafted body could stall the pipeline: no history header is longer than this, and the
# library reads only the top of the text, where the first history header sits.
MAX_HEADER_LINE = 300
LIBRARY_SCAN_CHARS = 8_000

_ATTRIBUTION = re.compile("|".join(f"(?:{pattern})" for pattern in ATTRIBUTIONS.values()))
_OUTLOOK_FROM = re.compile(OUTLOOK_FROM, re.IGNORECASE)
_OUTLOOK_SENT = re.compile(OUTLOOK_SENT, re.IGNORECASE)
_SEPARATOR = re.compile("|".join(SEPARATORS), re.IGNORECASE)
_FORWARD_LINE = re.compile("|".join(FORWARD_LINES), re.IGNORECASE)
_FORWARD_SUBJECT = re.compile(FORWARD_SUBJECT)
_LIBRARY_HEADERS: re.Pattern[str] = (
    EmailReplyParser(languages=list(LIBRARY_LANGUAGES)).read("").HEADER_REGEX
)


@dataclass(frozen=True)
class _History:
    """Where quoted history starts, where its header ends, and whether answers can follow."""

    start: int  # the first line of the history (its header, or its first quoted line)
    body: int  # the first line after the header
    # Everything from `start` down is history: Outlook style, unquoted, no inline answers.
    final: bool


def strip_quotes(msg: InboundMessage) -> InboundMessage:
    """Set the visible text: the reply without quoted history, inline answers kept."""
    visible = visible_reply(msg.text, forward=is_forward(msg.subject))
    return replace(msg, visible_text=visible or _trimmed(_lines(msg.text)))


def is_forward(subject: str) -> bool:
    """Tell whether the subject's first prefix marks a forwarded mail (Fwd:, FW:, WG:, TR:, ...)."""
    return _FORWARD_SUBJECT.match(subject) is not None


def visible_reply(text: str, *, forward: bool = False) -> str:
    """Return the reply part of `text`; empty when nothing above the history is the sender's."""
    lines = _lines(text)
    marker = _marker_line(lines)
    if marker is not None:
        # Our marker wins: below it is our own notification, whatever else is there.
        return _trimmed(_reply_lines(lines[:marker]))
    if forward:
        return _trimmed(lines)
    return _trimmed(_reply_lines(lines))


def _marker_line(lines: list[str]) -> int | None:
    return next((i for i, line in enumerate(lines) if REPLY_ABOVE_THIS_LINE in line), None)


def _reply_lines(lines: list[str]) -> list[str]:
    history = _first_history(lines)
    if history is None:
        return lines
    if history.final:
        return lines[: history.start]
    # Never eat an inline answer: keep everything down to the last line the sender wrote.
    answer = _last_answer(lines, history.body)
    return lines[: answer + 1] if answer is not None else lines[: history.start]


def _first_history(lines: list[str]) -> _History | None:
    library = _library_header_line(lines)
    for i, line in enumerate(lines):
        if _is_quoted(line):
            return _History(i, i, final=False)
        if _FORWARD_LINE.fullmatch(line.strip()):
            return None
        header = _header_at(lines, i, library)
        if header is not None:
            return header
    return None


def _header_at(lines: list[str], i: int, library: int | None = None) -> _History | None:
    line = lines[i].strip()
    if len(line) > MAX_HEADER_LINE:
        return None
    if _SEPARATOR.fullmatch(line) or _is_outlook_block(lines, i):
        return _History(i, i + 1, final=True)
    end = _attribution_end(lines, i)
    if end is None and i == library:
        end = i
    return None if end is None else _after_header(lines, i, end)


def _attribution_end(lines: list[str], i: int) -> int | None:
    # Gmail wraps a long attribution before the address, so two lines are tried as one.
    # Every client puts the date in it; a sentence ending in "wrote:" has no digit.
    following = _line(lines, i + 1).strip()[:MAX_HEADER_LINE]
    candidates = (lines[i].strip(), f"{lines[i].strip()} {following}")
    for offset, candidate in enumerate(candidates):
        if _ATTRIBUTION.fullmatch(candidate) and any(c.isdigit() for c in candidate):
            return i + offset
    return None


def _is_outlook_block(lines: list[str], i: int) -> bool:
    if not _OUTLOOK_FROM.match(lines[i].strip()):
        return False
    return any(_OUTLOOK_SENT.match(line.strip()) for line in lines[i + 1 : i + 4])


def _after_header(lines: list[str], start: int, end: int) -> _History:
    # A header over ">" lines starts a quote that answers may follow; a header over
    # plain text (Outlook, or HTML turned to text) starts history that runs to the end.
    following = next((lines[j] for j in range(end + 1, len(lines)) if lines[j].strip()), "")
    return _History(start, end + 1, final=not _is_quoted(following))


def _last_answer(lines: list[str], start: int) -> int | None:
    last, i = None, start
    while i < len(lines):
        header = None if _is_quoted(lines[i]) else _header_at(lines, i)
        if header is not None and header.final:
            break
        if header is not None:
            i = header.body
            continue
        if lines[i].strip() and not _is_quoted(lines[i]):
            last = i
        i += 1
    return last


def _library_header_line(lines: list[str]) -> int | None:
    text = _library_text(lines)
    for match in _library_matches(text):
        # The same proof as ours: a history header carries the date of the mail it quotes.
        if any(c.isdigit() for c in match.group()):
            start = match.start()
            while text.startswith("\n", start):
                start += 1
            return text.count("\n", 0, start)
    return None


def _library_matches(text: str) -> Iterator[re.Match[str]]:
    # What finditer finds, tried only where a match can begin: each of the library's
    # patterns starts at the start of a line or at the newline just before one, so
    # the other positions, most of the text, need no try.
    end = 0
    for start in _line_starts(text):
        for position in (start - 1, start):
            if position < end:
                continue
            match = _LIBRARY_HEADERS.match(text, position)
            if match is not None:
                end = match.end()
                yield match


def _line_starts(text: str) -> Iterator[int]:
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if end > start:
            yield start
        start = end + 1


def _library_text(lines: list[str]) -> str:
    # Only the unquoted top matters: a quote's first line ends the search for headers.
    top: list[str] = []
    size = 0
    for line in lines:
        if _is_quoted(line) or size > LIBRARY_SCAN_CHARS:
            break
        top.append(_header_sized(line.strip()))
        size += len(top[-1]) + 1
    return "\n".join(top)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _header_sized(line: str) -> str:
    # A blank keeps the line numbering for what cannot be a header anyway.
    return line if len(line) <= MAX_HEADER_LINE else ""


def _line(lines: list[str], i: int) -> str:
    return lines[i] if i < len(lines) else ""


def _trimmed(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n").rstrip()
