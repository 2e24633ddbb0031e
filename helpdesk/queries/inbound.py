"""The inbound pipeline's questions to the database, answered in SQL (see mailgate/ports.py)."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.enums import Status


@dataclass(frozen=True)
class MailboxRef:
    """An active mailbox of an active tenant."""

    tenant_id: int
    mailbox_id: int
    address: str


@dataclass(frozen=True)
class TicketRef:
    """What threading needs to know of a ticket."""

    id: int
    tenant_id: int
    number: int
    status: Status
    # The ticket a merged one now lives in; replies go there.
    merged_into_id: int | None = None


@dataclass(frozen=True)
class TicketPeople:
    """Who takes part in a ticket, by lower-cased address."""

    requester: frozenset[str]  # every address of the requester
    participants: frozenset[str]  # accepted participants (CC'd, added)
    pending: frozenset[str]  # waiting for an agent to accept them
    agents: frozenset[str]  # the assignee, watchers and agents who wrote on it
    # The mail domains of the requester's organization: their colleagues may join.
    organization_domains: frozenset[str]

    @property
    def everyone(self) -> frozenset[str]:
        return self.requester | self.participants | self.agents
