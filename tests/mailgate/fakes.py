"""Dict-backed stand-ins for the pipeline's read ports, and a builder for messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk.enums import Status
from helpdesk.queries.inbound import MailboxRef, NewTicketCounts, TicketPeople, TicketRef
from mailgate.inbound import Address, Envelope, InboundMessage


def message(**overrides: Any) -> InboundMessage:
    """Return a plain new message from a client to support@acme.test, with overrides."""
    values: dict[str, Any] = {
        "raw_size": 100,
        "sha256": "0" * 64,
        "fingerprint": "1" * 64,
        "headers": (),
        "message_id": "m1@client.example",
        "in_reply_to": (),
        "references": (),
        "sender": Address("ann@client.example", "Ann"),
        "reply_to": (),
        "to": (Address("support@acme.test"),),
        "cc": (),
        "subject": "Printer on fire",
        "date": None,
        "text": "Hello, the printer is on fire.",
        "html": "",
        "parts": (),
        "envelope": Envelope("ann@client.example", ("support@acme.test",), "smtp"),
    }
    values.update(overrides)
    return InboundMessage(**values)


class FakeDirectory:
    def __init__(self, *mailboxes: MailboxRef) -> None:
        self.mailboxes = {ref.address: ref for ref in mailboxes}

    def mailbox_for(self, address: str) -> MailboxRef | None:
        local, _, domain = address.lower().rpartition("@")
        return self.mailboxes.get(f"{local.split('+')[0]}@{domain}")


@dataclass
class FakeThreadIndex:
    tickets: dict[int, TicketRef] = field(default_factory=dict)
    people_of: dict[int, TicketPeople] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    awaited: dict[str, int] = field(default_factory=dict)
    agents: dict[str, int] = field(default_factory=dict)
    # The tickets each question was asked about, in order: what a database would answer.
    people_asked: list[int] = field(default_factory=list)
    tickets_asked: list[int] = field(default_factory=list)

    def add_ticket(self, ticket_id: int, number: int, requester: str, **more: Any) -> TicketRef:
        status = more.pop("status", Status.OPEN)
        merged = more.pop("merged_into_id", None)
        self.tickets[ticket_id] = TicketRef(ticket_id, 1, number, status, merged)
        self.people_of[ticket_id] = TicketPeople(
            requester=frozenset({requester}),
            participants=frozenset(more.get("participants", ())),
            pending=frozenset(more.get("pending", ())),
            agents=frozenset(more.get("agents", ())),
            organization_domains=frozenset(more.get("domains", ())),
        )
        return self.tickets[ticket_id]

    def ticket(self, tenant_id: int, ticket_id: int) -> TicketRef | None:
        self.tickets_asked.append(ticket_id)
        found = self.tickets.get(ticket_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    def ticket_by_number(self, tenant_id: int, number: int) -> TicketRef | None:
        return next(
            (t for t in self.tickets.values() if t.tenant_id == tenant_id and t.number == number),
            None,
        )

    def ticket_for_message_ids(
        self, tenant_id: int, message_ids: Sequence[str]
    ) -> tuple[TicketRef, str] | None:
        for message_id in message_ids:
            if message_id in self.seen:
                return self.tickets[self.seen[message_id]], message_id
        return None

    def ticket_awaiting(self, tenant_id: int, message_id: str) -> TicketRef | None:
        ticket_id = self.awaited.get(message_id)
        return None if ticket_id is None else self.tickets[ticket_id]

    def people(self, ticket_id: int) -> TicketPeople:
        self.people_asked.append(ticket_id)
        return self.people_of[ticket_id]

    def agent_for(self, tenant_id: int, address: str) -> int | None:
        return self.agents.get(address)


@dataclass
class FakeCounts:
    by_sender: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def new_tickets(self, tenant_id: int, sender: str, since: datetime) -> NewTicketCounts:
        return NewTicketCounts(from_sender=self.by_sender.get(sender, 0), total=self.total)
