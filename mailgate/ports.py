"""What the pipeline's steps may ask of the database: narrow read-only questions.

Steps receive these bound with `functools.partial`; tests pass dict-backed
fakes, production the SQL answers in `helpdesk.queries.inbound`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from helpdesk.queries.inbound import MailboxRef, NewTicketCounts, TicketPeople, TicketRef

__all__ = [
    "IntakeCounts",
    "MailboxDirectory",
    "MailboxRef",
    "NewTicketCounts",
    "ThreadIndex",
    "TicketPeople",
    "TicketRef",
]


class MailboxDirectory(Protocol):
    def mailbox_for(self, address: str) -> MailboxRef | None:
        """Return the mailbox mail to `address` (or its `local+tag@domain` form) is for."""


class ThreadIndex(Protocol):
    def ticket(self, tenant_id: int, ticket_id: int) -> TicketRef | None:
        """Return the tenant's ticket with that id, if any."""

    def ticket_by_number(self, tenant_id: int, number: int) -> TicketRef | None:
        """Return the tenant's ticket with that number, if any."""

    def ticket_for_message_ids(
        self, tenant_id: int, message_ids: Sequence[str]
    ) -> tuple[TicketRef, str] | None:
        """Return the ticket of the first of `message_ids` the tenant knows, and that id."""

    def ticket_awaiting(self, tenant_id: int, message_id: str) -> TicketRef | None:
        """Return the ticket whose mail referenced `message_id` before that message itself came."""

    def people(self, ticket_id: int) -> TicketPeople:
        """Return who takes part in the ticket."""

    def agent_for(self, tenant_id: int, address: str) -> int | None:
        """Return the user id of the tenant's active staff member with that address."""


class IntakeCounts(Protocol):
    def new_tickets(self, tenant_id: int, sender: str, since: datetime) -> NewTicketCounts:
        """Count tickets the tenant's mail opened since then: from `sender`, and in all."""
