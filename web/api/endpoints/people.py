"""The agent's directory: contacts (clients) and their organizations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select

from helpdesk.models import Contact, Organization
from helpdesk.queries.people import ContactFilter, list_contacts, list_organization_page
from helpdesk.services.contacts import create_contact, get_contact
from helpdesk.services.directory import (
    ContactPatch,
    OrganizationPatch,
    edit_contact,
    edit_organization,
)
from helpdesk.services.organizations import create_organization, get_organization
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.admin_common import changes, optional
from web.api.pagination import Cursors
from web.api.schemas import Page, PageQuery, Strict
from web.api.shapes import NamedRef


class ContactEmailOut(BaseModel):
    email: str
    primary: bool
    bounced: bool = Field(description="Mail to it bounced; fix or remove it")


class ContactOut(BaseModel):
    id: int
    name: str
    email: str = Field(description="The primary address")
    emails: list[ContactEmailOut]
    organization: NamedRef | None
    portal_access: bool
    blocked: bool = Field(description="A blocked contact may not open tickets or write")
    created_at: datetime


class ContactPage(Page[ContactOut]):
    pass


class ContactQuery(PageQuery):
    email: str | None = Field(default=None, max_length=320, description="Exactly this address")
    organization: int | None = Field(default=None, description="An organization's id")
    q: str | None = Field(default=None, max_length=200, description="Text in name or address")


class ContactIn(Strict):
    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=200)
    organization_id: int | None = Field(
        default=None, description="Default: the organization owning the address's domain"
    )


class ContactPatchIn(Strict):
    name: str = optional("The contact's name", max_length=200)
    organization_id: int | None = Field(default=None, description="null detaches")
    portal_access: bool = optional("Whether they may sign in to the portal")
    blocked: bool = optional("Block them from opening tickets and writing")
    add_emails: list[str] = optional("More addresses of theirs", max_length=20)


class OrganizationOut(BaseModel):
    id: int
    name: str
    domains: list[str] = Field(description="Contacts with addresses of these join it")
    shared_tickets: bool = Field(description="Members see each other's tickets in the portal")
    notes: str
    created_at: datetime


class OrganizationPage(Page[OrganizationOut]):
    pass


class OrganizationQuery(PageQuery):
    q: str | None = Field(default=None, max_length=200, description="Text in the name")


class OrganizationIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    domains: list[str] = Field(default_factory=list, max_length=50)
    shared_tickets: bool = False


class OrganizationPatchIn(Strict):
    name: str = optional("The organization's name", min_length=1, max_length=200)
    domains: list[str] = optional("Replaces the domains it owns", max_length=50)
    shared_tickets: bool = optional("Members see each other's tickets")
    notes: str = optional("For agents", max_length=10_000)


@api.endpoint(
    "GET", "/contacts", audience=Audience.STAFF, summary="Contacts", tag="contacts",
    query=ContactQuery, response=ContactPage,
)  # fmt: skip
def list_contacts_page(ctx: Context, query: ContactQuery) -> ContactPage:
    """The tenant's contacts, oldest first, filtered by address, organization or text."""
    cursors = Cursors(ctx.settings.secret_key, "contacts")
    after = int(cursors.decode(query.cursor)[0]) if query.cursor else None
    filters = ContactFilter(email=query.email, organization_id=query.organization, q=query.q)
    rows = list_contacts(ctx.session, ctx.staff, ctx.tenant_id, filters, after_id=after,
                         limit=query.limit + 1)  # fmt: skip
    page = rows[: query.limit]
    next_cursor = cursors.encode([page[-1].id]) if len(rows) > query.limit else None
    return ContactPage(items=present_contacts(ctx, page), next_cursor=next_cursor)


@api.endpoint(
    "POST", "/contacts", audience=Audience.STAFF, summary="Add a contact", tag="contacts",
    body=ContactIn, response=ContactOut, status=201,
)  # fmt: skip
def create_one_contact(ctx: Context, body: ContactIn) -> ContactOut:
    """Add a client person; 409 when a contact already has the address."""
    contact = create_contact(ctx.session, ctx.staff, ctx.tenant_id, **body.model_dump(),
                             now=ctx.now)  # fmt: skip
    return present_contacts(ctx, [contact])[0]


@api.endpoint(
    "GET", "/contacts/<int:contact_id>", audience=Audience.STAFF, summary="A contact",
    tag="contacts", response=ContactOut,
)  # fmt: skip
def get_one_contact(ctx: Context, contact_id: int) -> ContactOut:
    """One contact with all their addresses."""
    return present_contacts(ctx, [get_contact(ctx.session, ctx.staff, contact_id)])[0]


@api.endpoint(
    "PATCH", "/contacts/<int:contact_id>", audience=Audience.STAFF, summary="Change a contact",
    tag="contacts", body=ContactPatchIn, response=ContactOut,
)  # fmt: skip
def patch_contact(ctx: Context, contact_id: int, body: ContactPatchIn) -> ContactOut:
    """Change the fields sent, all or none; agents and admins only."""
    values = changes(body)
    values["add_emails"] = tuple(values.get("add_emails", ()))
    contact = edit_contact(ctx.session, ctx.staff, contact_id, ContactPatch(**values),
                           now=ctx.now)  # fmt: skip
    return present_contacts(ctx, [contact])[0]


@api.endpoint(
    "GET", "/organizations", audience=Audience.STAFF, summary="Organizations",
    tag="organizations", query=OrganizationQuery, response=OrganizationPage,
)  # fmt: skip
def list_organizations_page(ctx: Context, query: OrganizationQuery) -> OrganizationPage:
    """The tenant's client organizations by name."""
    cursors = Cursors(ctx.settings.secret_key, "organizations")
    after = None
    if query.cursor:
        name, last_id = cursors.decode(query.cursor)
        after = (str(name), int(last_id))
    rows = list_organization_page(ctx.session, ctx.staff, ctx.tenant_id, q=query.q,
                                  after=after, limit=query.limit + 1)  # fmt: skip
    page = rows[: query.limit]
    more = len(rows) > query.limit
    next_cursor = cursors.encode([page[-1].name, page[-1].id]) if more else None
    return OrganizationPage(items=[present_organization(o) for o in page], next_cursor=next_cursor)


@api.endpoint(
    "POST", "/organizations", audience=Audience.STAFF, summary="Add an organization",
    tag="organizations", body=OrganizationIn, response=OrganizationOut, status=201,
)  # fmt: skip
def create_one_organization(ctx: Context, body: OrganizationIn) -> OrganizationOut:
    """Add a client organization owning e-mail domains; admins only.

    The tenant's contacts of those domains who belong nowhere yet join it.
    """
    organization = create_organization(ctx.session, ctx.staff, ctx.tenant_id,
                                       **body.model_dump(), now=ctx.now)  # fmt: skip
    return present_organization(organization)


@api.endpoint(
    "GET", "/organizations/<int:organization_id>", audience=Audience.STAFF,
    summary="An organization", tag="organizations", response=OrganizationOut,
)  # fmt: skip
def get_one_organization(ctx: Context, organization_id: int) -> OrganizationOut:
    """One organization with its domains."""
    return present_organization(get_organization(ctx.session, ctx.staff, organization_id))


@api.endpoint(
    "PATCH", "/organizations/<int:organization_id>", audience=Audience.STAFF,
    summary="Change an organization", tag="organizations", body=OrganizationPatchIn,
    response=OrganizationOut,
)  # fmt: skip
def patch_organization(
    ctx: Context, organization_id: int, body: OrganizationPatchIn
) -> OrganizationOut:
    """Change the fields sent, all or none; `domains` replaces the list. Admins only."""
    values = changes(body)
    if "domains" in values:
        values["domains"] = tuple(values["domains"])
    organization = edit_organization(ctx.session, ctx.staff, organization_id,
                                     OrganizationPatch(**values), now=ctx.now)  # fmt: skip
    return present_organization(organization)


def present_contacts(ctx: Context, contacts: Sequence[Contact]) -> list[ContactOut]:
    """Return the API shape of each contact, their organizations loaded in one query."""
    ids = {c.organization_id for c in contacts if c.organization_id is not None}
    rows = ctx.session.execute(
        select(Organization.id, Organization.name).where(Organization.id.in_(ids))
    )
    organizations = {org_id: NamedRef(id=org_id, name=name) for org_id, name in rows}
    return [
        ContactOut(
            id=c.id,
            name=c.name,
            email=c.primary_email,
            emails=[
                ContactEmailOut(
                    email=e.email, primary=e.is_primary, bounced=e.bounced_at is not None
                )
                for e in c.emails
            ],
            organization=organizations.get(c.organization_id) if c.organization_id else None,
            portal_access=c.portal_access,
            blocked=c.blocked,
            created_at=c.created_at,
        )
        for c in contacts
    ]


def present_organization(organization: Organization) -> OrganizationOut:
    return OrganizationOut(
        id=organization.id, name=organization.name,
        domains=sorted(d.domain for d in organization.domains),
        shared_tickets=organization.shared_tickets, notes=organization.notes,
        created_at=organization.created_at,
    )  # fmt: skip
