"""The inbound pipeline's questions to the database, answered in SQL (see mailgate/ports.py)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.enums import Status
from helpdesk.models import Mailbox, Membership, User
from helpdesk.queries import inbound_sql as sql
from helpdesk.services.mailboxes import find_mailbox_for_address
from helpdesk.transaction_state import cached


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


@dataclass(frozen=True, kw_only=True)
class NewTicketCounts:
    """How many tickets the tenant's mail opened in a window: from one sender, and in all."""

    from_sender: int
    total: int


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
        return self._ref(sql.TICKET_BY_ID, tenant_id=tenant_id, ticket_id=ticket_id)

    def ticket_by_number(self, tenant_id: int, number: int) -> TicketRef | None:
        """Return the tenant's ticket with that number, if any."""
        return self._ref(sql.TICKET_BY_NUMBER, tenant_id=tenant_id, number=number)

    def ticket_for_message_ids(
        self, tenant_id: int, message_ids: Sequence[str]
    ) -> tuple[TicketRef, str] | None:
        """Return the ticket of the first of `message_ids` the tenant knows, and that id.

        Known are the ids recorded in `thread_references` (seen or awaited) and
        those of the tenant's stored messages.
        """
        wanted = lookup_ids(message_ids)
        return first_known(self.known_tickets(tenant_id, wanted), wanted, tenant_id)

    def known_tickets(
        self, tenant_id: int, message_ids: Collection[str]
    ) -> dict[str, TicketRef | None]:
        """Return the ticket each of the ids the tenant knows leads to (None: a ticket gone)."""
        known: dict[str, TicketRef | None] = {}
        if not message_ids:
            return known
        parameters = {"tenant_id": tenant_id, "message_ids": list(message_ids)}
        for message_id, _rank, *ticket in self.session.execute(sql.KNOWN_IDS, parameters):
            known[str(message_id)] = None if ticket[0] is None else TicketRef(*ticket)
        return known

    def ticket_awaiting(self, tenant_id: int, message_id: str) -> TicketRef | None:
        """Return the ticket whose mail referenced `message_id` before that message itself came."""
        return self.tickets_awaiting(tenant_id, [message_id]).get(message_id)

    def tickets_awaiting(
        self, tenant_id: int, message_ids: Collection[str]
    ) -> dict[str, TicketRef]:
        """Return, for each of the ids the tenant's mail referenced before it came, that ticket."""
        if not message_ids:
            return {}
        parameters = {"tenant_id": tenant_id, "message_ids": list(message_ids)}
        rows = self.session.execute(sql.TICKETS_AWAITING, parameters)
        return {str(row[0]): TicketRef(*row[1:]) for row in rows}

    def people(self, ticket_id: int) -> TicketPeople:
        """Return who takes part in the ticket (nobody when there is no such ticket)."""
        return self.people_of([ticket_id]).get(ticket_id, NOBODY)

    def people_of(self, ticket_ids: Collection[int]) -> dict[int, TicketPeople]:
        """Return who takes part in each of the tickets that exist."""
        if not ticket_ids:
            return {}
        found: dict[int, dict[str, set[str]]] = {}
        rows = self.session.execute(sql.PEOPLE, {"ticket_ids": list(ticket_ids)})
        for ticket_id, role, address in rows:
            roles = found.setdefault(ticket_id, {role: set() for role in _ROLES})
            roles[role].add(address)
        return {
            ticket_id: TicketPeople(
                requester=frozenset(roles["requester"]),
                participants=frozenset(roles["participant"]),
                pending=frozenset(roles["pending"]),
                agents=frozenset(address.lower() for address in roles["agent"]),
                organization_domains=frozenset(roles["domain"]),
            )
            for ticket_id, roles in found.items()
            if roles["ticket"]
        }

    def agent_for(self, tenant_id: int, address: str) -> int | None:
        """Return the user id of the tenant's active staff member with that address."""
        return self._staff(tenant_id).get(address.strip().lower())

    def _staff(self, tenant_id: int) -> dict[str, int]:
        # Every message asks whether its sender is staff: the tenant's staff
        # addresses are read once per transaction (a batch of mail), not once
        # per message.
        def load() -> dict[str, int]:
            rows = self.session.execute(sql.STAFF_ADDRESSES, {"tenant_id": tenant_id})
            return {str(address): int(user_id) for address, user_id in rows}

        key = ("staff addresses", tenant_id)
        return cached(self.session, key, load, read_from=(User, Membership))

    def _ref(self, statement: sql.AnySelect, **parameters: object) -> TicketRef | None:
        row = self.session.execute(statement, parameters).first()
        return None if row is None else TicketRef(*row)


# The roles of the people query's rows (helpdesk.queries.inbound_sql.PEOPLE).
_ROLES = ("ticket", "requester", "participant", "pending", "agent", "domain")


class SqlIntakeCounts:
    """How many tickets the tenant's mail opened lately: the input of the intake limits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def new_tickets(self, tenant_id: int, sender: str, since: datetime) -> NewTicketCounts:
        """Count tickets mail opened since then: in all, and from `sender`'s contact."""
        key = sender_key(sender)
        total, from_senders = self.new_tickets_from(tenant_id, [key], since)
        return NewTicketCounts(from_sender=from_senders.get(key, 0), total=total)

    def new_tickets_from(
        self, tenant_id: int, senders: Collection[str], since: datetime
    ) -> tuple[int, dict[str, int]]:
        """Count tickets mail opened since then: in all, and from each sender (by `sender_key`)."""
        parameters = {"tenant_id": tenant_id, "since": since, "senders": list(senders)}
        total, per_sender = 0, {}
        for sender, count in self.session.execute(sql.INTAKE_COUNTS, parameters):
            if sender is None:
                total = int(count)
            else:
                per_sender[str(sender)] = int(count)
        return total, per_sender


def sender_key(sender: str) -> str:
    """Return the address as the intake counts compare it (contact addresses are stored so)."""
    return sender.strip().lower()


def lookup_ids(message_ids: Sequence[str]) -> list[str]:
    """Return the Message-IDs worth looking up, in order, each once."""
    return list(dict.fromkeys(message_ids))[:MAX_LOOKUP_IDS]


def first_known(
    known: Mapping[str, TicketRef | None], wanted: Sequence[str], tenant_id: int
) -> tuple[TicketRef, str] | None:
    """Return the first of `wanted` that `known` leads to a ticket of the tenant: ticket, id."""
    for message_id in wanted:
        ref = known.get(message_id)
        if ref is not None and ref.tenant_id == tenant_id:
            return ref, message_id
    return None
