"""Editing a contact or an organization in one go: the fields, the addresses, the domains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.models import Contact, Organization
from helpdesk.principal import Principal
from helpdesk.services.contacts import add_contact_email, update_contact
from helpdesk.services.organizations import (
    add_domain,
    normalize_domain,
    remove_domain,
    update_organization,
)
from helpdesk.unchanged import UNCHANGED, Unchanged


@dataclass(frozen=True)
class ContactPatch:
    """Changes to a contact; `add_emails` gives them more addresses."""

    name: str | Unchanged = UNCHANGED
    organization_id: int | Unchanged | None = UNCHANGED
    portal_access: bool | Unchanged = UNCHANGED
    blocked: bool | Unchanged = UNCHANGED
    add_emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrganizationPatch:
    """Changes to an organization; `domains` replaces the domains it owns."""

    name: str | Unchanged = UNCHANGED
    shared_tickets: bool | Unchanged = UNCHANGED
    notes: str | Unchanged = UNCHANGED
    domains: tuple[str, ...] | Unchanged = UNCHANGED


def edit_contact(
    session: Session, actor: Principal, contact_id: int, patch: ContactPatch, *, now: datetime
) -> Contact:
    """Change a contact's fields and add addresses; the caller's transaction makes it whole.

    Raises:
        NotFound: no such contact in the actor's tenant.
        PermissionDenied: the actor may not manage contacts.
        ValidationError: a bad name, organization or address.
        Conflict: an address belongs to a contact already.
    """
    contact = update_contact(
        session, actor, contact_id, name=patch.name, organization_id=patch.organization_id,
        portal_access=patch.portal_access, blocked=patch.blocked, now=now,
    )  # fmt: skip
    for email in patch.add_emails:
        add_contact_email(session, actor, contact.id, email, now=now)
    return contact


def edit_organization(
    session: Session,
    actor: Principal,
    organization_id: int,
    patch: OrganizationPatch,
    *,
    now: datetime,
) -> Organization:
    """Change an organization's fields and set its domains; the caller's transaction makes it whole.

    Domains it no longer owns are unmapped (their contacts stay members); new
    ones adopt the tenant's contacts of that domain who belong nowhere yet.

    Raises:
        NotFound: no such organization in the actor's tenant.
        PermissionDenied: the actor may not manage the tenant.
        ValidationError: empty name, malformed or public-provider domain.
        Conflict: the name or a domain is taken in the tenant.
    """
    organization = update_organization(
        session, actor, organization_id, name=patch.name, shared_tickets=patch.shared_tickets,
        notes=patch.notes, now=now,
    )  # fmt: skip
    if patch.domains is UNCHANGED:
        return organization
    wanted = list(dict.fromkeys(normalize_domain(domain) for domain in patch.domains))
    current = [entry.domain for entry in organization.domains]
    for domain in (d for d in current if d not in wanted):
        remove_domain(session, actor, organization.id, domain, now=now)
    for domain in (d for d in wanted if d not in current):
        add_domain(session, actor, organization.id, domain, now=now)
    return organization
