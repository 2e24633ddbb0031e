"""Who may do what: every permission of the product, decided in this one place.

The predicates are pure: they read the principal and the target's tenant and
owner ids, and never touch the database. Services ask them and call `require`.
docs/permissions.md shows the same table for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from helpdesk.errors import PermissionDenied
from helpdesk.principal import Client, Operator, PlatformAdmin, Principal, Staff, System


class Action(StrEnum):
    VIEW_TICKETS = "view_tickets"
    VIEW_INTERNAL = "view_internal"
    CREATE_TICKET = "create_ticket"
    REPLY_PUBLIC = "reply_public"
    ADD_NOTE = "add_note"
    UPDATE_TICKET = "update_ticket"
    RESOLVE_OWN_TICKET = "resolve_own_ticket"
    RATE_TICKET = "rate_ticket"
    ASSIGN_TICKET = "assign_ticket"
    WATCH_TICKET = "watch_ticket"
    MERGE_TICKETS = "merge_tickets"
    LINK_TICKETS = "link_tickets"
    VIEW_CONTACTS = "view_contacts"
    MANAGE_CONTACTS = "manage_contacts"
    USE_CANNED_RESPONSES = "use_canned_responses"
    MANAGE_OWN_CANNED_RESPONSES = "manage_own_canned_responses"
    MANAGE_OWN_TOKENS = "manage_own_tokens"
    MANAGE_TENANT = "manage_tenant"
    MANAGE_TENANTS = "manage_tenants"


class RoleName(StrEnum):
    """Every kind of principal, as the permission table names them."""

    CLIENT = "client"
    LIGHT_AGENT = "light_agent"
    AGENT = "agent"
    ADMIN = "admin"
    PLATFORM_ADMIN = "platform_admin"
    SYSTEM = "system"


A = Action
_CLIENT = frozenset(
    {A.VIEW_TICKETS, A.CREATE_TICKET, A.REPLY_PUBLIC, A.RESOLVE_OWN_TICKET, A.RATE_TICKET}
)
_LIGHT_AGENT = frozenset(
    {
        A.VIEW_TICKETS,
        A.VIEW_INTERNAL,
        A.ADD_NOTE,
        A.VIEW_CONTACTS,
        A.USE_CANNED_RESPONSES,
        A.MANAGE_OWN_TOKENS,
    }
)
_AGENT = _LIGHT_AGENT | {
    A.CREATE_TICKET,
    A.REPLY_PUBLIC,
    A.UPDATE_TICKET,
    A.ASSIGN_TICKET,
    A.WATCH_TICKET,
    A.MERGE_TICKETS,
    A.LINK_TICKETS,
    A.MANAGE_CONTACTS,
    A.MANAGE_OWN_CANNED_RESPONSES,
}
_ADMIN = _AGENT | {A.MANAGE_TENANT}
_SYSTEM = frozenset(
    {
        A.VIEW_TICKETS,
        A.VIEW_INTERNAL,
        A.CREATE_TICKET,
        A.REPLY_PUBLIC,
        A.ADD_NOTE,
        A.UPDATE_TICKET,
        A.ASSIGN_TICKET,
        A.LINK_TICKETS,
        A.VIEW_CONTACTS,
        A.MANAGE_CONTACTS,
    }
)

# The permission table: what each kind of principal may do inside its tenant
# (a platform admin: inside every tenant). Client rights apply to their own
# tickets only; see `can_on_ticket`.
PERMISSIONS: dict[RoleName, frozenset[Action]] = {
    RoleName.CLIENT: _CLIENT,
    RoleName.LIGHT_AGENT: _LIGHT_AGENT,
    RoleName.AGENT: frozenset(_AGENT),
    RoleName.ADMIN: frozenset(_ADMIN),
    RoleName.PLATFORM_ADMIN: frozenset(Action),
    RoleName.SYSTEM: _SYSTEM,
}


class TicketScope(Protocol):
    """What the policy needs to know of a ticket."""

    @property
    def tenant_id(self) -> int: ...
    @property
    def requester_id(self) -> int: ...
    @property
    def organization_id(self) -> int | None: ...


def role_of(principal: Principal) -> RoleName:
    """Name the row of the permission table that applies to `principal`."""
    match principal:
        case Staff(role=role):
            return RoleName(role.value)
        case Client():
            return RoleName.CLIENT
        case PlatformAdmin() | Operator():
            return RoleName.PLATFORM_ADMIN
        case System():
            return RoleName.SYSTEM


def tenant_of(principal: Principal) -> int | None:
    """Return the principal's tenant, None for a platform admin (all tenants)."""
    if isinstance(principal, PlatformAdmin | Operator):
        return None
    return principal.tenant_id


def is_staff(principal: Principal) -> bool:
    """Whether the principal sees the staff side (internal notes, every ticket)."""
    home = tenant_of(principal)
    return home is None or can(principal, Action.VIEW_INTERNAL, home)


def can(principal: Principal, action: Action, tenant_id: int) -> bool:
    """Whether `principal` may do `action` in tenant `tenant_id` at all."""
    home = tenant_of(principal)
    if home is not None and home != tenant_id:
        return False
    return action in PERMISSIONS[role_of(principal)]


def can_on_ticket(
    principal: Principal, action: Action, ticket: TicketScope, *, is_participant: bool = False
) -> bool:
    """Whether `principal` may do `action` on this ticket.

    A client acts only on tickets they requested, take part in, or, where their
    organization shares tickets, on their organization's.
    """
    if not can(principal, action, ticket.tenant_id):
        return False
    if isinstance(principal, Client):
        return _client_sees(principal, ticket, is_participant=is_participant)
    return True


def can_view_ticket(
    principal: Principal, ticket: TicketScope, *, is_participant: bool = False
) -> bool:
    return can_on_ticket(principal, Action.VIEW_TICKETS, ticket, is_participant=is_participant)


@dataclass(frozen=True)
class ClientReach:
    """The tickets a client sees, as data both this policy and the list queries read.

    A client sees the tickets they requested, those they take part in (not as
    a pending participant), and, where their organization shares tickets,
    the organization's (`organization_id`, None when it does not share).
    """

    contact_id: int
    organization_id: int | None

    def admits(self, ticket: TicketScope, *, is_participant: bool) -> bool:
        if ticket.requester_id == self.contact_id or is_participant:
            return True
        return self.organization_id is not None and ticket.organization_id == self.organization_id


def client_reach(client: Client) -> ClientReach:
    """Return which tickets the client sees; helpdesk.queries.tickets turns it into SQL."""
    shared = client.organization_id if client.sees_organization else None
    return ClientReach(client.contact_id, shared)


def _client_sees(client: Client, ticket: TicketScope, *, is_participant: bool) -> bool:
    return client_reach(client).admits(ticket, is_participant=is_participant)


def require(allowed: bool, message: str = "you may not do this") -> None:
    """Raise PermissionDenied unless `allowed`.

    Raises:
        PermissionDenied: `allowed` is false.
    """
    if not allowed:
        raise PermissionDenied(message)
