"""Contacts (clients) and the organizations they belong to."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from helpdesk.addresses import domain_of, normalize_email
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationError
from helpdesk.models import Contact, ContactEmail, Organization, OrganizationDomain
from helpdesk.policy import Action, can, require
from helpdesk.principal import Client, Principal
from helpdesk.services.scope import get_scoped, get_tenant
from helpdesk.unchanged import UNCHANGED, Unchanged


def find_or_create_contact(
    session: Session,
    actor: Principal,
    tenant_id: int,
    email: str,
    name: str = "",
    *,
    now: datetime,
) -> Contact:
    """Return the tenant's contact with this address, creating it if new (see `add_new_contact`).

    Raises:
        PermissionDenied: the actor may not create contacts in this tenant.
        ValidationError: `email` is not an address.
    """
    address = normalize_email(email)
    existing = find_contact(session, tenant_id, address)
    if existing is not None:
        return existing
    return add_new_contact(session, actor, tenant_id, address, name, now=now)


def add_new_contact(
    session: Session,
    actor: Principal,
    tenant_id: int,
    email: str,
    name: str = "",
    *,
    now: datetime,
) -> Contact:
    """Create the contact of an address the caller found no contact of the tenant for.

    A new contact joins the organization that owns its address's domain.

    Raises:
        PermissionDenied: the actor may not create contacts in this tenant.
        ValidationError: `email` is not an address.
    """
    return add_new_contacts(session, actor, tenant_id, [(email, name)], now=now)[0]


def add_new_contacts(
    session: Session,
    actor: Principal,
    tenant_id: int,
    people: Sequence[tuple[str, str]],
    *,
    now: datetime,
) -> list[Contact]:
    """Create contacts as `add_new_contact` does, for many (address, name) pairs at once.

    The addresses must differ from each other, and have no contact yet.

    Raises:
        PermissionDenied: the actor may not create contacts in this tenant.
        ValidationError: an address is not an address.
    """
    addresses = [normalize_email(email) for email, _ in people]
    require(can(actor, Action.MANAGE_CONTACTS, tenant_id), "you may not add contacts")
    owners = organizations_for_domains(session, tenant_id, {domain_of(a) for a in addresses})
    contacts = []
    for address, (_, name) in zip(addresses, people, strict=True):
        contact = Contact(
            tenant_id=tenant_id,
            name=name.strip(),
            organization_id=owners.get(domain_of(address)),
            created_at=now,
        )
        contact.emails.append(ContactEmail(tenant_id=tenant_id, email=address, is_primary=True))
        contacts.append(contact)
    session.add_all(contacts)
    session.flush()
    return contacts


def find_contact(session: Session, tenant_id: int, email: str) -> Contact | None:
    """Return the tenant's contact owning a normalized address, if any."""
    entry = find_contact_address(session, tenant_id, email)
    return None if entry is None else entry.contact


def find_contact_address(session: Session, tenant_id: int, email: str) -> ContactEmail | None:
    """Return the tenant's row of a normalized address, its contact read with it, if any."""
    return session.scalar(
        select(ContactEmail)
        .join(ContactEmail.contact)
        .options(contains_eager(ContactEmail.contact))
        .where(ContactEmail.tenant_id == tenant_id, ContactEmail.email == email)
    )


def find_contact_addresses(
    session: Session, tenant_id: int, emails: Iterable[str]
) -> dict[str, ContactEmail]:
    """Return the tenant's rows of these normalized addresses, by address, with their contacts."""
    wanted = sorted(set(emails))
    if not wanted:
        return {}
    rows = session.scalars(
        select(ContactEmail)
        .join(ContactEmail.contact)
        .options(contains_eager(ContactEmail.contact))
        .where(ContactEmail.tenant_id == tenant_id, ContactEmail.email.in_(wanted))
    )
    return {row.email: row for row in rows}


def organization_for_domain(session: Session, tenant_id: int, domain: str) -> int | None:
    return organizations_for_domains(session, tenant_id, [domain]).get(domain)


def organizations_for_domains(
    session: Session, tenant_id: int, domains: Iterable[str]
) -> dict[str, int]:
    """Return the tenant's organization owning each of these mail domains that one owns."""
    wanted = sorted(set(domains))
    if not wanted:
        return {}
    rows = session.execute(
        select(OrganizationDomain.domain, OrganizationDomain.organization_id).where(
            OrganizationDomain.tenant_id == tenant_id, OrganizationDomain.domain.in_(wanted)
        )
    )
    return {str(domain): int(organization_id) for domain, organization_id in rows}


def require_not_blocked(session: Session, contact_id: int) -> None:
    """Raises:
    PermissionDenied: the contact is blocked: they may not open tickets or write.
    """
    contact = session.get(Contact, contact_id)
    if contact is not None and contact.blocked:
        raise PermissionDenied("this contact is blocked")


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


def create_contact(
    session: Session,
    actor: Principal,
    tenant_id: int,
    *,
    email: str,
    name: str = "",
    organization_id: int | None = None,
    now: datetime,
) -> Contact:
    """Add a contact; without an organization, the one owning the address's domain.

    Raises:
        PermissionDenied: the actor may not manage contacts in this tenant.
        NotFound: no such tenant.
        ValidationError: bad address or name, or the organization is not the tenant's.
        Conflict: a contact of the tenant already has this address.
    """
    require(can(actor, Action.MANAGE_CONTACTS, tenant_id), "you may not add contacts")
    get_tenant(session, tenant_id)
    address = _free_address(session, tenant_id, email)
    if organization_id is None:
        organization_id = organization_for_domain(session, tenant_id, domain_of(address))
    else:
        _require_organization(session, tenant_id, organization_id)
    contact = Contact(
        tenant_id=tenant_id, name=_name(name), organization_id=organization_id, created_at=now
    )
    contact.emails.append(ContactEmail(tenant_id=tenant_id, email=address, is_primary=True))
    session.add(contact)
    session.flush()
    return contact


def add_contact_email(
    session: Session, actor: Principal, contact_id: int, email: str, *, now: datetime
) -> ContactEmail:
    """Give a contact one more address; mail from it then threads as theirs.

    Raises:
        NotFound: no such contact in the actor's tenant.
        PermissionDenied: the actor may not manage contacts.
        ValidationError: not an e-mail address.
        Conflict: a contact of the tenant (this one included) has the address.
    """
    contact = _get_for_manager(session, actor, contact_id)
    address = _free_address(session, contact.tenant_id, email)
    entry = ContactEmail(tenant_id=contact.tenant_id, email=address, is_primary=False)
    contact.emails.append(entry)
    session.flush()
    return entry


def update_contact(
    session: Session,
    actor: Principal,
    contact_id: int,
    *,
    name: str | Unchanged = UNCHANGED,
    organization_id: int | Unchanged | None = UNCHANGED,
    portal_access: bool | Unchanged = UNCHANGED,
    blocked: bool | Unchanged = UNCHANGED,
    now: datetime,
) -> Contact:
    """Change a contact; only the fields passed change (`organization_id=None` detaches).

    Raises:
        NotFound: no such contact in the actor's tenant.
        PermissionDenied: the actor may not manage contacts.
        ValidationError: name over 200 characters, or not the tenant's organization.
    """
    contact = _get_for_manager(session, actor, contact_id)
    if name is not UNCHANGED:
        contact.name = _name(name)
    if organization_id is not UNCHANGED:
        if organization_id is not None:
            _require_organization(session, contact.tenant_id, organization_id)
        contact.organization_id = organization_id
    if portal_access is not UNCHANGED:
        contact.portal_access = portal_access
    if blocked is not UNCHANGED:
        contact.blocked = blocked
    session.flush()
    return contact


def get_contact(session: Session, actor: Principal, contact_id: int) -> Contact:
    """Return a contact to staff, or to the client who is that contact.

    Raises:
        NotFound: no such contact in the actor's tenant.
        PermissionDenied: the actor may not see contacts.
    """
    contact = get_scoped(session, Contact, contact_id, actor, "contact")
    itself = isinstance(actor, Client) and actor.contact_id == contact.id
    require(itself or can(actor, Action.VIEW_CONTACTS, contact.tenant_id), "staff only")
    return contact


def _get_for_manager(session: Session, actor: Principal, contact_id: int) -> Contact:
    contact = get_scoped(session, Contact, contact_id, actor, "contact")
    require(can(actor, Action.MANAGE_CONTACTS, contact.tenant_id), "you may not edit contacts")
    return contact


def _free_address(session: Session, tenant_id: int, email: str) -> str:
    address = normalize_email(email)
    if find_contact(session, tenant_id, address) is not None:
        raise Conflict(f"a contact with {address} exists")
    return address


def _require_organization(session: Session, tenant_id: int, organization_id: int) -> None:
    organization = session.get(Organization, organization_id)
    if organization is None or organization.tenant_id != tenant_id:
        raise ValidationError("organization_id", "no such organization")


def _name(name: str) -> str:
    name = name.strip()
    if len(name) > 200:
        raise ValidationError("name", "use at most 200 characters")
    return name
