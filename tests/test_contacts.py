"""Contacts: one person per address in a tenant, edited by agents, seen by staff."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from helpdesk.enums import Role, Source
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationError
from helpdesk.principal import Operator, System
from helpdesk.services import contacts, messages, organizations
from tests.factories import NOW, make_client, make_contact, make_staff, make_tenant, make_ticket


def test_agent_creates_a_contact_who_joins_the_domains_organization(session: Session) -> None:
    tenant = make_tenant(session)
    acme = organizations.create_organization(
        session, Operator(), tenant.id, name="Acme", domains=["acme.example"], now=NOW
    )
    agent = make_staff(session, tenant, Role.AGENT)
    contact = contacts.create_contact(
        session, agent, tenant.id, email="Ann@Acme.example", name=" Ann ", now=NOW
    )
    assert contact.primary_email == "ann@acme.example"
    assert contact.name == "Ann"
    assert contact.organization_id == acme.id


def test_creating_a_contact_for_a_known_address_conflicts(session: Session) -> None:
    tenant = make_tenant(session)
    make_contact(session, tenant, "ann@client.example")
    with pytest.raises(Conflict):
        contacts.create_contact(session, Operator(), tenant.id, email="ANN@client.example", now=NOW)


def test_contact_may_be_put_in_an_organization_of_its_tenant_only(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    mine = organizations.create_organization(session, Operator(), tenant.id, name="Mine", now=NOW)
    theirs = organizations.create_organization(
        session, Operator(), other.id, name="Theirs", now=NOW
    )
    contact = contacts.create_contact(
        session, Operator(), tenant.id, email="ann@client.example", organization_id=mine.id, now=NOW
    )
    assert contact.organization_id == mine.id
    with pytest.raises(ValidationError) as caught:
        contacts.update_contact(session, Operator(), contact.id, organization_id=theirs.id, now=NOW)
    assert caught.value.field == "organization_id"


def test_second_address_threads_to_the_same_contact(session: Session) -> None:
    tenant = make_tenant(session)
    contact = make_contact(session, tenant, "ann@client.example")
    entry = contacts.add_contact_email(session, Operator(), contact.id, "Ann@Home.example", now=NOW)
    assert entry.email == "ann@home.example"
    assert not entry.is_primary
    assert contacts.find_contact(session, tenant.id, "ann@home.example") is contact
    assert contact.primary_email == "ann@client.example"


def test_address_of_another_contact_cannot_be_added(session: Session) -> None:
    tenant = make_tenant(session)
    ann = make_contact(session, tenant, "ann@client.example")
    make_contact(session, tenant, "bob@client.example")
    with pytest.raises(Conflict):
        contacts.add_contact_email(session, Operator(), ann.id, "bob@client.example", now=NOW)
    with pytest.raises(ValidationError):
        contacts.add_contact_email(session, Operator(), ann.id, "bob at client", now=NOW)


def test_update_changes_only_the_fields_passed(session: Session) -> None:
    tenant = make_tenant(session)
    acme = organizations.create_organization(
        session, Operator(), tenant.id, name="Acme", domains=["acme.example"], now=NOW
    )
    contact = make_contact(session, tenant, "ann@acme.example")
    agent = make_staff(session, tenant)
    contacts.update_contact(session, agent, contact.id, name="Ann Smith", now=NOW)
    assert (contact.name, contact.organization_id) == ("Ann Smith", acme.id)
    assert contact.portal_access
    assert not contact.blocked
    contacts.update_contact(
        session, agent, contact.id, organization_id=None, portal_access=False, now=NOW
    )
    assert (contact.name, contact.organization_id) == ("Ann Smith", None)
    assert not contact.portal_access
    contacts.update_contact(session, agent, contact.id, blocked=True, now=NOW)
    assert contact.blocked
    assert not contact.portal_access


def test_light_agent_sees_contacts_but_cannot_change_them(session: Session) -> None:
    tenant = make_tenant(session)
    contact = make_contact(session, tenant)
    light = make_staff(session, tenant, Role.LIGHT_AGENT)
    assert contacts.get_contact(session, light, contact.id) is contact
    with pytest.raises(PermissionDenied):
        contacts.create_contact(session, light, tenant.id, email="x@client.example", now=NOW)
    with pytest.raises(PermissionDenied):
        contacts.update_contact(session, light, contact.id, name="X", now=NOW)
    with pytest.raises(PermissionDenied):
        contacts.add_contact_email(session, light, contact.id, "x@client.example", now=NOW)


def test_client_sees_their_own_contact_only(session: Session) -> None:
    tenant = make_tenant(session)
    client = make_client(session, tenant)
    neighbour = make_contact(session, tenant)
    assert contacts.get_contact(session, client, client.contact_id).id == client.contact_id
    with pytest.raises(PermissionDenied):
        contacts.get_contact(session, client, neighbour.id)
    with pytest.raises(PermissionDenied):
        contacts.update_contact(session, client, client.contact_id, blocked=False, now=NOW)
    with pytest.raises(PermissionDenied):
        contacts.create_contact(session, client, tenant.id, email="x@client.example", now=NOW)


def test_another_tenants_contact_is_not_found(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    theirs = make_contact(session, other)
    admin = make_staff(session, tenant, Role.ADMIN)
    with pytest.raises(NotFound):
        contacts.get_contact(session, admin, theirs.id)
    with pytest.raises(NotFound):
        contacts.update_contact(session, admin, theirs.id, blocked=True, now=NOW)
    with pytest.raises(NotFound):
        contacts.add_contact_email(session, admin, theirs.id, "x@client.example", now=NOW)
    with pytest.raises(NotFound):
        contacts.get_contact(session, make_client(session, tenant), theirs.id)


def test_overlong_contact_name_is_refused(session: Session) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError) as caught:
        contacts.create_contact(
            session, Operator(), tenant.id, email="ann@client.example", name="A" * 201, now=NOW
        )
    assert caught.value.field == "name"


def test_blocked_contact_can_neither_open_tickets_nor_reply(session: Session) -> None:
    # Given a contact with a ticket, whom an admin then blocks
    tenant = make_tenant(session)
    ticket = make_ticket(session, tenant, requester_email="spam@client.example")
    contact = contacts.find_contact(session, tenant.id, "spam@client.example")
    assert contact is not None
    client = contacts.client_principal(session, contact.id)
    contacts.update_contact(session, Operator(), contact.id, blocked=True, now=NOW)
    system = System(tenant_id=tenant.id)

    # Then neither by mail nor in the portal may they write again
    with pytest.raises(PermissionDenied):
        make_ticket(session, tenant, requester_email="spam@client.example")
    with pytest.raises(PermissionDenied):
        messages.add_client_reply(
            session, system, ticket.id, "again", author_contact_id=contact.id, now=NOW
        )
    with pytest.raises(PermissionDenied):
        messages.add_client_reply(session, client, ticket.id, "again", now=NOW)
    # But an agent may still open a ticket on their behalf
    agent = make_staff(session, tenant)
    on_behalf = make_ticket(
        session, tenant, requester_email="spam@client.example", actor=agent, source=Source.CONSOLE
    )
    assert on_behalf.requester_id == contact.id
