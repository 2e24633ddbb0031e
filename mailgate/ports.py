"""What the pipeline's steps may ask of the database: narrow read-only questions.

Steps receive these bound with `functools.partial`; tests pass dict-backed
fakes, production the SQL answers in `helpdesk.queries.inbound`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

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


class MailboxDirectory(Protocol):
    def mailbox_for(self, address: str) -> MailboxRef | None:
        """Return the mailbox mail to `address` (or its `local+tag@domain` form) is for."""

    def tenant_addresses(self, tenant_id: int) -> frozenset[str]:
        """Return every address of the tenant's mailboxes, active or not, lower-cased."""


class ThreadIndex(Protocol):
    def ticket(self, tenant_id: int, ticket_id: int) -> TicketRef | None:
        """Return the tenant's ticket with that id, if any."""

    def ticket_by_number(self, tenant_id: int, number: int) -> TicketRef | None:
        """Return the tenant's ticket with that number, if any."""

    def ticket_for_message_ids(
        self, tenant_id: int, message_ids: Sequence[str]
    ) -> tuple[TicketRef, str] | None:
        """Return the ticket of the first of `message_ids` the tenant has seen or sent, and that id."""

    def ticket_awaiting(self, tenant_id: int, message_id: str) -> TicketRef | None:
        """Return the ticket whose mail referenced `message_id` before that message itself came."""

    def people(self, ticket_id: int) -> TicketPeople:
        """Return who takes part in the ticket."""

    def agent_for(self, tenant_id: int, address: str) -> int | None:
        """Return the user id of the tenant's active staff member with that address."""


class IntakeCounts(Protocol):
    def new_tickets_from(self, tenant_id: int, sender: str, since: datetime) -> int:
        """Count tickets opened by mail from `sender` since then."""

    def new_tickets(self, tenant_id: int, since: datetime) -> int:
        """Count tickets the tenant's mail opened since then."""
