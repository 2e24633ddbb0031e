"""Organizations: client accounts, and the e-mail domains that map contacts to them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from helpdesk.errors import Conflict, NotFound, ValidationError
from helpdesk.models import Contact, ContactEmail, Organization, OrganizationDomain
from helpdesk.policy import Action, can, require
from helpdesk.principal import Principal
from helpdesk.services.scope import get_scoped, get_tenant
from helpdesk.unchanged import UNCHANGED, Unchanged

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
# Mapping a public mail provider to one client would pour every stranger who
# writes from it into that organization, and with shared tickets show them
# its tickets.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "aol.com", "gmail.com", "googlemail.com", "gmx.de", "gmx.net", "hotmail.com",
        "icloud.com", "live.com", "mail.ru", "me.com", "msn.com", "outlook.com",
        "proton.me", "protonmail.com", "qq.com", "web.de", "yahoo.com", "yandex.ru",
    }
)  # fmt: skip


def create_organization(
    session: Session,
    actor: Principal,
    tenant_id: int,
    *,
    name: str,
    domains: Sequence[str] = (),
    shared_tickets: bool = False,
    now: datetime,
) -> Organization:
    """Create a client account owning the given e-mail domains.

    Existing contacts of the tenant whose address is of one of the domains and
    who belong to no organization yet join it.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        NotFound: no such tenant.
        ValidationError: empty name, malformed or public-provider domain.
        Conflict: the name, or a domain, is already taken in the tenant.
    """
    require(can(actor, Action.MANAGE_TENANT, tenant_id), "only an admin adds organizations")
    get_tenant(session, tenant_id)
    name = _valid_name(name)
    _require_free_name(session, tenant_id, name)
    organization = Organization(
        tenant_id=tenant_id, name=name, shared_tickets=shared_tickets, created_at=now
    )
    session.add(organization)
    session.flush()
    for domain in domains:
        _attach_domain(session, organization, domain)
    return organization


def update_organization(
    session: Session,
    actor: Principal,
    organization_id: int,
    *,
    name: str | Unchanged = UNCHANGED,
    shared_tickets: bool | Unchanged = UNCHANGED,
    notes: str | Unchanged = UNCHANGED,
    now: datetime,
) -> Organization:
    """Change an organization; only the fields passed change.

    Raises:
        NotFound: no such organization in the actor's tenant.
        PermissionDenied: the actor may not manage the tenant.
        ValidationError: empty name.
        Conflict: another organization has that name.
    """
    organization = _get_for_admin(session, actor, organization_id)
    if name is not UNCHANGED and (name := _valid_name(name)) != organization.name:
        _require_free_name(session, organization.tenant_id, name)
        organization.name = name
    if shared_tickets is not UNCHANGED:
        organization.shared_tickets = shared_tickets
    if notes is not UNCHANGED:
        organization.notes = notes
    session.flush()
    return organization


def add_domain(
    session: Session, actor: Principal, organization_id: int, domain: str, *, now: datetime
) -> OrganizationDomain:
    """Map an e-mail domain to the organization.

    Existing contacts of the tenant with an address of that domain and no
    organization yet join it; contacts already in another organization stay.

    Raises:
        NotFound: no such organization in the actor's tenant.
        PermissionDenied: the actor may not manage the tenant.
        ValidationError: malformed or public-provider domain.
        Conflict: the domain already belongs to an organization of the tenant.
    """
    organization = _get_for_admin(session, actor, organization_id)
    return _attach_domain(session, organization, domain)


def remove_domain(
    session: Session, actor: Principal, organization_id: int, domain: str, *, now: datetime
) -> None:
    """Unmap a domain; contacts who joined through it stay members.

    Raises:
        NotFound: no such organization, or it does not own the domain.
        PermissionDenied: the actor may not manage the tenant.
    """
    organization = _get_for_admin(session, actor, organization_id)
    domain = domain.strip().lower().removeprefix("@")
    entry = next((d for d in organization.domains if d.domain == domain), None)
    if entry is None:
        raise NotFound(f"{organization.name} does not own {domain!r}")
    organization.domains.remove(entry)
    session.flush()


def get_organization(session: Session, actor: Principal, organization_id: int) -> Organization:
    """Raises:
    NotFound: no such organization in the actor's tenant.
    PermissionDenied: the actor may not see contacts.
    """
    organization = get_scoped(session, Organization, organization_id, actor, "organization")
    require(can(actor, Action.VIEW_CONTACTS, organization.tenant_id), "staff only")
    return organization


def list_organizations(session: Session, actor: Principal, tenant_id: int) -> list[Organization]:
    """Return the tenant's organizations by name.

    Raises:
        PermissionDenied: the actor may not see contacts.
    """
    require(can(actor, Action.VIEW_CONTACTS, tenant_id), "staff only")
    query = select(Organization).where(Organization.tenant_id == tenant_id)
    return list(session.scalars(query.order_by(Organization.name)))


def normalize_domain(value: str) -> str:
    """Return the domain lower-cased, without a leading @.

    Raises:
        ValidationError: not a domain name, or a public mail provider's.
    """
    domain = value.strip().lower().removeprefix("@")
    if not _DOMAIN.match(domain):
        raise ValidationError("domains", f"not a domain name: {value!r}")
    if domain in PUBLIC_MAIL_DOMAINS:
        raise ValidationError("domains", f"{domain} is a public mail provider, not one client's")
    return domain


def _attach_domain(session: Session, organization: Organization, value: str) -> OrganizationDomain:
    domain = normalize_domain(value)
    owner = session.scalar(
        select(Organization.name)
        .join(OrganizationDomain, OrganizationDomain.organization_id == Organization.id)
        .where(OrganizationDomain.tenant_id == organization.tenant_id)
        .where(OrganizationDomain.domain == domain)
    )
    if owner is not None:
        raise Conflict(f"{domain} already belongs to {owner}")
    entry = OrganizationDomain(tenant_id=organization.tenant_id, domain=domain)
    organization.domains.append(entry)
    session.flush()
    _adopt_contacts(session, organization, domain)
    return entry


def _adopt_contacts(session: Session, organization: Organization, domain: str) -> None:
    of_domain = exists().where(
        ContactEmail.contact_id == Contact.id,
        ContactEmail.email.endswith("@" + domain, autoescape=True),
    )
    session.execute(
        update(Contact)
        .where(
            Contact.tenant_id == organization.tenant_id,
            Contact.organization_id.is_(None),
            of_domain,
        )
        .values(organization_id=organization.id)
        .execution_options(synchronize_session="fetch")
    )


def _get_for_admin(session: Session, actor: Principal, organization_id: int) -> Organization:
    organization = get_scoped(session, Organization, organization_id, actor, "organization")
    require(can(actor, Action.MANAGE_TENANT, organization.tenant_id), "only an admin may")
    return organization


def _valid_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError("name", "use 1 to 200 characters")
    return name


def _require_free_name(session: Session, tenant_id: int, name: str) -> None:
    query = select(Organization.id).where(Organization.tenant_id == tenant_id)
    taken = session.scalar(query.where(Organization.name == name))
    if taken is not None:
        raise Conflict(f"an organization named {name!r} exists")
