"""The inbound pipeline's questions to the database, answered in SQL (see mailgate/ports.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from helpdesk.enums import Source, Status
from helpdesk.models import (
    ContactEmail,
    Mailbox,
    Membership,
    Message,
    OrganizationDomain,
    ThreadReference,
    Ticket,
    TicketParticipant,
    TicketWatcher,
    User,
)
from helpdesk.services.mailboxes import find_mailbox_for_address


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


NOBODY = TicketPeople(frozenset(), frozenset(), frozenset(), frozenset(), frozenset())

# Mail names at most this many Message-IDs worth looking up: In-Reply-To and the
# newest References come first, and a longer list only costs time.
MAX_LOOKUP_IDS = 200


class SqlMailboxDirectory:
    """Which tenant and mailbox mail to an address is for."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def mailbox_for(self, address: str) -> MailboxRef | None:
        """Return the mailbox mail to `address` (or its `local+tag@domain` form) is for."""
        mailbox = find_mailbox_for_address(self.session, address)
        if mailbox is None:
            return None
        return MailboxRef(mailbox.tenant_id, mailbox.id, mailbox.address)

    def tenant_addresses(self, tenant_id: int) -> frozenset[str]:
        """Return every address of the tenant's mailboxes, active or not, lower-cased."""
        query = select(Mailbox.address).where(Mailbox.tenant_id == tenant_id)
        return frozenset(address.lower() for address in self.session.scalars(query))


class SqlThreadIndex:
    """The tickets the tenant's known Message-IDs, numbers and people lead to."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def ticket(self, tenant_id: int, ticket_id: int) -> TicketRef | None:
        """Return the tenant's ticket with that id, if any."""
        return self._ref(
            select(Ticket).where(Ticket.tenant_id == tenant_id, Ticket.id == ticket_id)
        )

    def ticket_by_number(self, tenant_id: int, number: int) -> TicketRef | None:
        """Return the tenant's ticket with that number, if any."""
        return self._ref(
            select(Ticket).where(Ticket.tenant_id == tenant_id, Ticket.number == number)
        )

    def ticket_for_message_ids(
        self, tenant_id: int, message_ids: Sequence[str]
    ) -> tuple[TicketRef, str] | None:
        """Return the ticket of the first of `message_ids` the tenant knows, and that id.

        Known are the ids recorded in `thread_references` (seen or awaited) and
        those of the tenant's stored messages.
        """
        wanted = list(dict.fromkeys(message_ids))[:MAX_LOOKUP_IDS]
        if not wanted:
            return None
        known = self._known_ids(tenant_id, wanted)
        for message_id in wanted:
            if message_id in known:
                ref = self.ticket(tenant_id, known[message_id])
                if ref is not None:
                    return ref, message_id
        return None

    def ticket_awaiting(self, tenant_id: int, message_id: str) -> TicketRef | None:
        """Return the ticket whose mail referenced `message_id` before that message itself came."""
        return self._ref(
            select(Ticket)
            .join(ThreadReference, ThreadReference.ticket_id == Ticket.id)
            .where(
                ThreadReference.tenant_id == tenant_id,
                ThreadReference.message_id == message_id,
                ThreadReference.seen.is_(False),
                Ticket.tenant_id == tenant_id,
            )
        )

    def people(self, ticket_id: int) -> TicketPeople:
        """Return who takes part in the ticket (nobody when there is no such ticket)."""
        ticket = self.session.get(Ticket, ticket_id)
        if ticket is None:
            return NOBODY
        participants = self._participant_addresses(ticket)
        return TicketPeople(
            requester=self._contact_addresses(ticket.tenant_id, [ticket.requester_id]),
            participants=participants[False],
            pending=participants[True],
            agents=self._agent_addresses(ticket),
            organization_domains=self._organization_domains(ticket),
        )

    def agent_for(self, tenant_id: int, address: str) -> int | None:
        """Return the user id of the tenant's active staff member with that address."""
        return self.session.scalar(
            select(User.id)
            .join(Membership, Membership.user_id == User.id)
            .where(
                User.email == address.strip().lower(),
                User.active.is_(True),
                Membership.tenant_id == tenant_id,
                Membership.active.is_(True),
            )
        )

    def _ref(self, query: Select[Ticket]) -> TicketRef | None:
        ticket = self.session.scalar(query)
        if ticket is None:
            return None
        return TicketRef(
            ticket.id, ticket.tenant_id, ticket.number, ticket.status, ticket.merged_into_id
        )

    def _known_ids(self, tenant_id: int, message_ids: list[str]) -> dict[str, int]:
        references = select(ThreadReference.message_id, ThreadReference.ticket_id).where(
            ThreadReference.tenant_id == tenant_id, ThreadReference.message_id.in_(message_ids)
        )
        stored = select(Message.message_id, Message.ticket_id).where(
            Message.tenant_id == tenant_id, Message.message_id.in_(message_ids)
        )
        known: dict[str, int] = {}
        # Where the message itself is stored answers better than a reference to it.
        for query in (references, stored):
            known.update(
                {str(message_id): ticket for message_id, ticket in self.session.execute(query)}
            )
        return known

    def _contact_addresses(self, tenant_id: int, contact_ids: Sequence[int]) -> frozenset[str]:
        if not contact_ids:
            return frozenset()
        query = select(ContactEmail.email).where(
            ContactEmail.tenant_id == tenant_id, ContactEmail.contact_id.in_(contact_ids)
        )
        return frozenset(self.session.scalars(query))

    def _participant_addresses(self, ticket: Ticket) -> dict[bool, frozenset[str]]:
        rows = self.session.execute(
            select(TicketParticipant.pending, ContactEmail.email)
            .join(ContactEmail, ContactEmail.contact_id == TicketParticipant.contact_id)
            .where(
                TicketParticipant.ticket_id == ticket.id,
                TicketParticipant.tenant_id == ticket.tenant_id,
                ContactEmail.tenant_id == ticket.tenant_id,
            )
        ).all()
        return {
            pending: frozenset(email for is_pending, email in rows if is_pending is pending)
            for pending in (False, True)
        }

    def _agent_addresses(self, ticket: Ticket) -> frozenset[str]:
        watchers = select(TicketWatcher.user_id).where(
            TicketWatcher.ticket_id == ticket.id, TicketWatcher.tenant_id == ticket.tenant_id
        )
        writers = select(Message.author_user_id).where(
            Message.ticket_id == ticket.id,
            Message.tenant_id == ticket.tenant_id,
            Message.author_user_id.is_not(None),
        )
        user_ids = {*self.session.scalars(watchers), *self.session.scalars(writers)}
        if ticket.assignee_id is not None:
            user_ids.add(ticket.assignee_id)
        if not user_ids:
            return frozenset()
        query = select(User.email).where(User.id.in_(user_ids))
        return frozenset(email.lower() for email in self.session.scalars(query))

    def _organization_domains(self, ticket: Ticket) -> frozenset[str]:
        # The organization the ticket belongs to: the requester's when it was
        # opened, and the one whose members share it in the portal.
        if ticket.organization_id is None:
            return frozenset()
        query = select(OrganizationDomain.domain).where(
            OrganizationDomain.tenant_id == ticket.tenant_id,
            OrganizationDomain.organization_id == ticket.organization_id,
        )
        return frozenset(self.session.scalars(query))


class SqlIntakeCounts:
    """How many tickets the tenant's mail opened lately: the input of the intake limits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def new_tickets_from(self, tenant_id: int, sender: str, since: datetime) -> int:
        """Count tickets opened by mail from `sender` (any address of their contact) since then."""
        contact_id = select(ContactEmail.contact_id).where(
            ContactEmail.tenant_id == tenant_id, ContactEmail.email == sender.strip().lower()
        )
        return self._count(tenant_id, since, Ticket.requester_id == contact_id.scalar_subquery())

    def new_tickets(self, tenant_id: int, since: datetime) -> int:
        """Count tickets the tenant's mail opened since then."""
        return self._count(tenant_id, since)

    def _count(self, tenant_id: int, since: datetime, *criteria: ColumnElement[bool]) -> int:
        query = (
            select(func.count())
            .select_from(Ticket)
            .where(
                Ticket.tenant_id == tenant_id,
                Ticket.created_at >= since,
                Ticket.source == Source.EMAIL,
                *criteria,
            )
        )
        return int(self.session.scalar(query) or 0)
