"""Contacts (clients) and the organizations they belong to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.addresses import domain_of, normalize_email
from helpdesk.errors import NotFound
from helpdesk.models import Contact, ContactEmail, Organization, OrganizationDomain
from helpdesk.policy import Action, can, require
from helpdesk.principal import Client, Principal


def find_or_create_contact(
    session: Session,
    actor: Principal,
    tenant_id: int,
    email: str,
    name: str = "",
    *,
    now: datetime,
) -> Contact:
    """Return the tenant's contact with this address, creating it if new.

    A new contact joins the organization that owns its address's domain.

    Raises:
        PermissionDenied: the actor may not create contacts in this tenant.
        ValidationError: `email` is not an address.
    """
    address = normalize_email(email)
    existing = find_contact(session, tenant_id, address)
    if existing is not None:
        return existing
    require(can(actor, Action.MANAGE_CONTACTS, tenant_id), "you may not add contacts")
    contact = Contact(
        tenant_id=tenant_id,
        name=name.strip(),
        organization_id=organization_for_domain(session, tenant_id, domain_of(address)),
        created_at=now,
    )
    contact.emails.append(ContactEmail(tenant_id=tenant_id, email=address, is_primary=True))
    session.add(contact)
    session.flush()
    return contact


def find_contact(session: Session, tenant_id: int, email: str) -> Contact | None:
    """Return the tenant's contact owning a normalized address, if any."""
    return session.scalar(
        select(Contact)
        .join(ContactEmail, ContactEmail.contact_id == Contact.id)
        .where(ContactEmail.tenant_id == tenant_id, ContactEmail.email == email)
    )


def organization_for_domain(session: Session, tenant_id: int, domain: str) -> int | None:
    return session.scalar(
        select(OrganizationDomain.organization_id).where(
            OrganizationDomain.tenant_id == tenant_id, OrganizationDomain.domain == domain
        )
    )


def client_principal(session: Session, contact_id: int) -> Client:
    """Return the contact acting as a client.

    Raises:
        NotFound: no such contact.
    """
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("no such contact")
    organization = (
        session.get(Organization, contact.organization_id) if contact.organization_id else None
    )
    return Client(
        contact_id=contact.id,
        tenant_id=contact.tenant_id,
        organization_id=contact.organization_id,
        sees_organization=bool(organization and organization.shared_tickets),
    )
