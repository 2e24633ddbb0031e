"""Who is acting: staff in a tenant, a client, a platform admin, or the system."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.enums import Role


@dataclass(frozen=True)
class Staff:
    """A user acting in one tenant with their membership's role."""

    user_id: int
    tenant_id: int
    role: Role


@dataclass(frozen=True)
class Client:
    """A contact signed in to the portal (or writing by e-mail)."""

    contact_id: int
    tenant_id: int
    organization_id: int | None = None
    # Whether the organization lets its members see each other's tickets.
    sees_organization: bool = False


@dataclass(frozen=True)
class PlatformAdmin:
    """An operator of the whole installation, across tenants."""

    user_id: int


@dataclass(frozen=True)
class System:
    """Automation inside one tenant: the mail gateway, SLA timers, auto-close."""

    tenant_id: int
    name: str = "system"


@dataclass(frozen=True)
class Operator:
    """The person at the server's command line; trusted like a platform admin."""


Principal = Staff | Client | PlatformAdmin | System | Operator
