"""Secrets people paste into mail (keys, tokens, passwords, card numbers), found and masked.

The inbound pipeline masks what a message shows, and stores only the masked
text; outbound notifications, once they render message text, are to use the
same functions, so that a secret never leaves in a mail either.
"""

from __future__ import annotations

import html as html_lib
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate, islice

Span = tuple[int, int]
Found = tuple[int, int, str]

# Where a label ends and its value begins: "Password: x", "pwd=x", '"token": "x"';
# the value may sit a few lines below, as table cells come out of HTML.
_SEP = r"""(?P<quote>["'])?[ \t\u00a0]*(?P<sep>[:=])(?:[ \t\u00a0]*\r?\n){0,3}[ \t\u00a0]*["']?"""
# A value: never one we masked already, up to a space or a closing quote.
_VALUE = r"""(?!\[masked:)(?P<v>[^\s"'][^\s]*?)(?=["']?[,;]?(?:\s|$))"""
_LOGIN_LABELS = (
    "password|passwd|pwd|passcode|passwort|kennwort|mot de passe|contraseña|wachtwoord|senha"
)
_API_KEY_LABELS = "apikey|api_key|api-key"
_PEM_BEGIN = r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
# The base64 lines (and PEM header lines) after a BEGIN line whose END is missing.
_PEM_BODY = re.compile(
    r"(?:(?:\r?\n[ \t>]*)+(?:[A-Za-z0-9+/=]{16,}|(?:Proc-Type|DEK-Info|Comment|Version):[^\r\n]*))*"
)
_MAX_PEM_CHARS = 20_000
# Past this many candidates of one kind a text is hostile, not careless; the
# rest is left as it is rather than spending the message's time budget.
_MAX_CANDIDATES = 10_000
# How cards are written in groups: Visa and Mastercard, long Visa, Amex, Diners.
_CARD_GROUPS = ((4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4))
# Block-level tags end a line for the patterns; table cells only separate words.
_BLOCK_TAGS = frozenset(
    {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
    | {"table", "ul", "ol", "hr", "center"}
)
_TAG = re.compile(r"""(<(?:[^>"]|"[^"]*")*>)""")
_TAG_NAME = re.compile(r"</?([a-zA-Z0-9]+)")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class _Secret:
    """One kind of secret: how it is written, and what to mask of a match."""

    kind: str
    pattern: re.Pattern[str]
    # The part of a match to mask, or None when it is no secret after all
    # (a card number that fails Luhn, a password label followed by prose).
    span: Callable[[re.Match[str]], Span | None]
    # Lower-case strings one of which the text must hold; a cheap test first,
    # because most mail holds no secret and the patterns cost more.
    triggers: tuple[str, ...] = ()
    # Whether the pattern is written for the text in lower case (labels).
    lowered: bool = False


def mask_text(text: str) -> tuple[str, int]:
    """Return the text with each secret replaced by "[masked: <kind>]", and how many there were."""
    spans = find_secrets(text)
    pieces: list[str] = []
    position = 0
    for start, end, kind in spans:
        pieces += [text[position:start], _label(kind)]
        position = end
    pieces.append(text[position:])
    return "".join(pieces), len(spans)


def mask_html(html: str) -> str:
    """Return sanitized HTML with secrets masked in its text; tags are kept as they are.

    The text between tags is read as one (block tags as line ends), so a
    secret split by markup ("Password: <b>x</b>") is still found.
    """
    pieces = _TAG.split(html)
    texts = [_separator(p) if i % 2 else html_lib.unescape(p) for i, p in enumerate(pieces)]
    spans = find_secrets("".join(texts))
    if not spans:
        return html
    starts = list(accumulate((len(t) for t in texts), initial=0))
    for index, edits in _edits_per_piece(spans, starts).items():
        text = texts[index]
        for low, high, label in reversed(edits):
            text = text[:low] + label + text[high:]
        pieces[index] = html_lib.escape(text, quote=False)
    return "".join(pieces)


def find_secrets(text: str) -> list[Found]:
    """Return the spans of text to mask, in order and not overlapping, with their kinds."""
    lowered = _lower(text)
    found: list[Found] = []
    for secret in _SECRETS:
        if secret.triggers and not any(t in lowered for t in secret.triggers):
            continue
        matches = secret.pattern.finditer(lowered if secret.lowered else text)
        for match in islice(matches, _MAX_CANDIDATES):
            span = secret.span(match)
            if span is not None:
                found.append((*span, secret.kind))
    found.sort(key=lambda item: (item[0], -item[1]))
    spans: list[Found] = []
    for item in found:
        if not spans or item[0] >= spans[-1][1]:
            spans.append(item)
    return spans


def _lower(text: str) -> str:
    """Return the text in lower case, every character where it was (so spans carry over)."""
    lowered = text.lower()
    # A few characters lower to two ("İ"); then only A-Z are lowered.
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


def _edits_per_piece(spans: list[Found], starts: list[int]) -> dict[int, list[Found]]:
    """Map each text piece to its (start, end, replacement) edits; the label goes in the first."""
    edits: dict[int, list[Found]] = {}
    for start, end, kind in spans:
        label = _label(kind)
        index = bisect_right(starts, start) - 1
        while index < len(starts) - 1 and starts[index] < end:
            low = max(start, starts[index]) - starts[index]
            high = min(end, starts[index + 1]) - starts[index]
            # Odd pieces are tags: never touched.
            if index % 2 == 0 and low < high:
                edits.setdefault(index, []).append((low, high, label))
                label = ""
            index += 1
    return edits


def _separator(tag: str) -> str:
    name = _TAG_NAME.match(tag)
    if name is None:
        return ""
    lowered = name.group(1).lower()
    if lowered in _BLOCK_TAGS:
        return "\n"
    return "\t" if lowered in {"td", "th"} else ""


def _label(kind: str) -> str:
    return f"[masked: {kind}]"


def _starts_word(match: re.Match[str]) -> bool:
    """Tell whether a match starts a word: "ghp_…", not "xghp_…" ("DB_PASSWORD" counts)."""
    start = match.start()
    return start == 0 or not match.string[start - 1].isalnum()


def _whole(match: re.Match[str]) -> Span | None:
    return match.span() if _starts_word(match) else None


def _value(match: re.Match[str]) -> Span | None:
    return match.span("v") if _starts_word(match) else None


def _token_with_digit(match: re.Match[str]) -> Span | None:
    return _value(match) if any(c.isdigit() for c in match.group("v")) else None


def _private_key(match: re.Match[str]) -> Span | None:
    """Span a key block to its END line, or over its base64 lines when the END is missing."""
    text, start = match.string, match.end()
    end = _PEM_END.search(text, start, start + _MAX_PEM_CHARS)
    if end is None:
        end = _PEM_BODY.match(text, start)
    return match.start(), end.end() if end is not None else start


def _plausible_password(match: re.Match[str]) -> Span | None:
    """Tell a password after its label from prose ("my password: can you reset it?")."""
    value = match.group("v")
    if not _starts_word(match) or set(value) <= set("*•●x.-_"):
        return None
    if match.group("sep") == "=" or match.group("quote") or not value.isalpha():
        return match.span("v")
    rest = match.string[match.end() : match.end() + 200].split("\n", 1)[0]
    return match.span("v") if rest.strip() in {"", '"', "'"} else None


def _plausible_key(match: re.Match[str]) -> Span | None:
    """Tell a key from a word: long, and with a digit unless very long."""
    value = match.group("v")
    if len(value) >= 8 and (any(c.isdigit() for c in value) or len(value) >= 20):
        return match.span("v")
    return None


def _card_number(match: re.Match[str]) -> Span | None:
    """Find a payment card number in a run of digits: a card's first digit and grouping, Luhn.

    A run may go on past the card ("4111 1111 1111 1111 123" with the CVC), so
    shorter runs of whole groups are tried too, longest first.
    """
    start, written = match.start(), match.group(0)
    if len(set(re.findall(r"[ -]", written))) > 1:
        return None
    groups = re.split(r"[ -]", written)
    for count in range(len(groups), 0, -1):
        if _is_card(groups[:count]):
            return start, start + sum(map(len, groups[:count])) + count - 1
    return None


def _is_card(groups: list[str]) -> bool:
    digits = [int(c) for c in "".join(groups)]
    if not 13 <= len(digits) <= 19 or digits[0] not in {2, 3, 4, 5, 6}:
        return False
    if len(groups) > 1 and tuple(map(len, groups)) not in _CARD_GROUPS:
        return False
    return _luhn(digits)


def _luhn(digits: list[int]) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def _secret(
    kind: str,
    pattern: str,
    span: Callable[[re.Match[str]], Span | None] = _whole,
    *triggers: str,
    lowered: bool = False,
) -> _Secret:
    return _Secret(kind, re.compile(pattern), span, triggers, lowered)


def _labelled(kind: str, labels: str, span: Callable[[re.Match[str]], Span | None]) -> _Secret:
    """A value after a label, matched in the lower-cased text; "Passwort: x", "DB_PASSWORD=x"."""
    words = labels.split("|")
    # Each pattern starts with its literal words, which keeps the regex engine fast.
    return _secret(kind, rf"(?:{labels}){_SEP}{_VALUE}", span, *words, lowered=True)


# Patterns that start with a literal are scanned quickly, so none starts with \b:
# the span functions check that a match starts a word.
_SECRETS = (
    _secret("private key", _PEM_BEGIN, _private_key, "-----begin"),
    _secret("AWS access key", r"(?:AKIA|ASIA)[A-Z0-9]{16}\b", _whole, "akia", "asia"),
    _secret(
        "AWS secret key",
        rf"aws_secret_access_key{_SEP}(?P<v>[A-Za-z0-9/+]{{40}})(?![A-Za-z0-9/+])",
        _value,
        "aws_secret_access_key",
    ),
    _secret(
        "GitHub token",
        r"(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,247})(?![A-Za-z0-9_])",
        _whole,
        *("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    _secret("GitLab token", r"glpat-[A-Za-z0-9_-]{20,}", _whole, "glpat-"),
    _secret("Slack token", r"xox[abprs]-[A-Za-z0-9-]{10,}", _whole, "xox"),
    _secret("Stripe key", r"[sr]k_live_[A-Za-z0-9]{16,}", _whole, "_live_"),
    _secret("OpenAI key", r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}", _whole, "sk-"),
    _secret("Google API key", r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", _whole, "aiza"),
    _secret("JWT", r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", _whole, "eyj"),
    _secret(
        "bearer token",
        r"[Bb]earer[ \t]+(?P<v>[A-Za-z0-9._~+/-]{16,}=*)",
        _token_with_digit,
        "bearer",
    ),
    _secret(
        "basic credentials",
        r"authorization:[ \t]*basic[ \t]+(?P<v>[A-Za-z0-9+/]{8,}={0,2})",
        _value,
        "authorization",
        lowered=True,
    ),
    _labelled("password", _LOGIN_LABELS, _plausible_password),
    _labelled("API key", _API_KEY_LABELS, _plausible_key),
    _labelled("secret", "secret", _plausible_key),
    _labelled("token", "token", _plausible_key),
    _secret(
        "card number",
        r"\d(?<![\w+.,/-]\d)(?<![A-Z]{2}\d\d[ -]\d)(?:[ -]?\d){12,18}(?![\w-]|[.,]\d)",
        _card_number,
    ),
)
