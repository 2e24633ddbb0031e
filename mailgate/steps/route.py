"""Route: which tenants and mailboxes a message is for, one copy of the message per tenant."""

from __future__ import annotations

from dataclasses import replace

from mailgate.inbound import InboundMessage, Route
from mailgate.ports import MailboxDirectory, MailboxRef

# Where recipients are read when there is no envelope (fetched or imported
# mail), most specific first: the headers a delivering MTA writes, then the
# addresses the sender wrote.
_RECIPIENT_HEADERS = ("delivered-to", "x-original-to")


def route_by_tenant(
    msg: InboundMessage, *, directory: MailboxDirectory, tenant_id: int | None = None
) -> list[InboundMessage]:
    """Return one copy of the message per tenant it is for, each with its route set.

    With an envelope (SMTP, LMTP, HTTP) only its recipients count: headers are
    the sender's to write. Without one, Delivered-To and X-Original-To, then To
    and Cc name the mailboxes. A message to several mailboxes of one tenant
    gives one copy (one ticket); to mailboxes of two tenants, two. With
    `tenant_id` (import, explain) the message belongs to that tenant even when
    it names none of its mailboxes. No mailbox of ours: an empty list.
    """
    matches = _matches(msg, directory)
    if tenant_id is not None:
        ours = [(ref, tag, via) for ref, tag, via in matches if ref.tenant_id == tenant_id]
        if not ours:
            return [replace(msg, route=Route(tenant_id, None, (), (), "tenant"))]
        matches = ours
    tenants = dict.fromkeys(ref.tenant_id for ref, _, _ in matches)
    return [replace(msg, route=_route(tenant, matches)) for tenant in tenants]


def _matches(msg: InboundMessage, directory: MailboxDirectory) -> list[tuple[MailboxRef, str, str]]:
    found = []
    for address, via in _recipients(msg):
        ref = directory.mailbox_for(address)
        if ref is not None:
            found.append((ref, _tag(address, ref.address), via))
    return found


def _recipients(msg: InboundMessage) -> list[tuple[str, str]]:
    if msg.envelope.rcpt_tos:
        return [(address, "envelope") for address in msg.envelope.rcpt_tos]
    found = [
        (value.strip().strip("<>"), name)
        for name in _RECIPIENT_HEADERS
        for value in msg.header_all(name)
    ]
    found += [(entry.address, "to") for entry in msg.to]
    found += [(entry.address, "cc") for entry in msg.cc]
    return found


def _tag(address: str, mailbox_address: str) -> str:
    # "support+TAG@acme.test" for the mailbox "support@acme.test" gives "TAG".
    local = address.rpartition("@")[0].lower()
    mailbox_local = mailbox_address.rpartition("@")[0]
    if local.startswith(mailbox_local + "+"):
        return local[len(mailbox_local) + 1 :]
    return ""


def _route(tenant_id: int, matches: list[tuple[MailboxRef, str, str]]) -> Route:
    mine = [(ref, tag, via) for ref, tag, via in matches if ref.tenant_id == tenant_id]
    first, _, via = mine[0]
    mailbox_ids = tuple(dict.fromkeys(ref.mailbox_id for ref, _, _ in mine))
    tags = tuple(dict.fromkeys(tag for _, tag, _ in mine if tag))
    return Route(tenant_id, first.mailbox_id, mailbox_ids, tags, via)
