"""Strip headers that would steer us from outside mail; believe only our own MTA's verdict."""

from __future__ import annotations

import re
from dataclasses import replace

from helpdesk.reply_tokens import LOOP_HEADER, ReplyTokens
from mailgate.inbound import Address, InboundMessage

AUTH_RESULTS = "authentication-results"
_OWN_PREFIX = "x-helpdesk-"
# Transports through which our own MTA delivered the mail, having put its
# verdict on top of the headers (RFC 8601 §5); over SMTP the sender talks to
# us directly, and an imported file has no delivering MTA we can vouch for.
_DELIVERED_BY_OUR_MTA = frozenset({"lmtp", "imap"})
_COMMENT = re.compile(r"\([^()]*\)")
_DMARC = re.compile(r"\bdmarc\s*=\s*([a-z]+)", re.IGNORECASE)
_HEADER_FROM = re.compile(r"\bheader\.from\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)


def strip_untrusted_headers(
    msg: InboundMessage, *, authserv_id: str | None, tokens: ReplyTokens
) -> InboundMessage:
    """Remove our own X-Helpdesk headers and forged verdicts; keep our MTA's DMARC pass."""
    trusted = _trusted_results(msg, authserv_id)
    kept: list[tuple[str, str]] = []
    removed: list[str] = []
    for index, (name, value) in enumerate(msg.headers):
        if index not in trusted and _steers(msg, name, value, authserv_id, tokens):
            removed.append(name)
        else:
            kept.append((name, value))
    verdicts = (msg.headers[index][1] for index in sorted(trusted))
    passed = (dmarc_pass_domain(verdict, msg.sender) for verdict in verdicts)
    return replace(
        msg,
        headers=tuple(kept),
        untrusted_headers_removed=tuple(removed),
        dmarc_pass_domain=next((domain for domain in passed if domain), None),
    )


def authserv_id_of(value: str) -> str:
    """Return the authserv-id of an Authentication-Results value, lower-cased (RFC 8601 §2.2)."""
    head = _uncomment(value).split(";", 1)[0].split()
    return head[0].strip('"').lower() if head else ""


def dmarc_pass_domain(results: str, sender: Address | None) -> str | None:
    """Return the From domain when `results` says dmarc=pass for a domain aligned with it."""
    from_domain = _domain(sender.address) if sender is not None else ""
    if not from_domain:
        return None
    for resinfo in _uncomment(results).split(";")[1:]:
        dmarc, header_from = _DMARC.search(resinfo), _HEADER_FROM.search(resinfo)
        if dmarc is None or header_from is None or dmarc.group(1).lower() != "pass":
            continue
        if _aligned(header_from.group(1).lower().rstrip("."), from_domain):
            return from_domain
    return None


def _trusted_results(msg: InboundMessage, authserv_id: str | None) -> frozenset[int]:
    """Return the positions of our MTA's own Authentication-Results headers.

    They are the topmost one when it names our authserv-id, and those of ours
    right below it: each milter (DKIM, then DMARC) puts its own on top. Anything
    the sender wrote sits lower, below at least our own Received header.
    """
    if authserv_id is None or msg.envelope.transport not in _DELIVERED_BY_OUR_MTA:
        return frozenset()
    names = [name.lower() for name, _value in msg.headers]
    if AUTH_RESULTS not in names:
        return frozenset()
    trusted = set()
    for index in range(names.index(AUTH_RESULTS), len(names)):
        name, value = msg.headers[index]
        if name.lower() != AUTH_RESULTS or authserv_id_of(value) != authserv_id.lower():
            break
        trusted.add(index)
    return frozenset(trusted)


def _steers(
    msg: InboundMessage, name: str, value: str, authserv_id: str | None, tokens: ReplyTokens
) -> bool:
    """Tell whether a header from outside claims to be ours (and is not proven so)."""
    lowered = name.lower()
    if lowered == LOOP_HEADER.lower():
        return msg.message_id is None or not tokens.is_loop_mark(msg.message_id, value)
    if lowered.startswith(_OWN_PREFIX):
        return True
    return (
        lowered == AUTH_RESULTS
        and authserv_id is not None
        and authserv_id_of(value) == authserv_id.lower()
    )


def _aligned(verdict_domain: str, from_domain: str) -> bool:
    """Tell whether two domains align (RFC 7489 §3.1, relaxed: one within the other)."""
    if verdict_domain == from_domain:
        return True
    shorter, longer = sorted((verdict_domain, from_domain), key=len)
    # A bare top-level domain ("com") is no organization of anyone's.
    return "." in shorter and longer.endswith("." + shorter)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().lower().rstrip(".")


def _uncomment(text: str) -> str:
    """Drop RFC 5322 comments, innermost first, so their contents are never read as results."""
    for _ in range(8):
        stripped = _COMMENT.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    return text
