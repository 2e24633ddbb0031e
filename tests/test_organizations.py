"""Organizations: client accounts whose e-mail domains gather their contacts."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy.orm import Session

from helpdesk.enums import Role
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationError
from helpdesk.models import Organization, Tenant
from helpdesk.principal import Operator
from helpdesk.services import contacts, organizations
from tests.factories import NOW, make_client, make_contact, make_staff, make_tenant


def _organization(
    session: Session, tenant: Tenant, name: str = "Acme", domains: Sequence[str] = ()
) -> Organization:
    return organizations.create_organization(
        session, Operator(), tenant.id, name=name, domains=domains, now=NOW
    )


def test_domains_are_stored_lower_case_without_an_at(session: Session) -> None:
    tenant = make_tenant(session)
    organization = _organization(session, tenant, domains=[" ACME.example", "@eu.Acme.example"])
    assert sorted(d.domain for d in organization.domains) == ["acme.example", "eu.acme.example"]


@pytest.mark.parametrize("domain", ["", "acme", "-acme.example", "acme..example", "a b.example"])
def test_malformed_domains_are_refused(session: Session, domain: str) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError) as caught:
        _organization(session, tenant, domains=[domain])
    assert caught.value.field == "domains"


def test_public_mail_provider_cannot_be_one_clients_domain(session: Session) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError, match="public mail provider"):
        _organization(session, tenant, domains=["GMail.com"])


def test_domain_belongs_to_one_organization_per_tenant(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    _organization(session, tenant, domains=["acme.example"])
    with pytest.raises(Conflict, match="Acme"):
        _organization(session, tenant, "Acme Two", domains=["acme.example"])
    assert _organization(session, other, domains=["acme.example"]).tenant_id == other.id


def test_organization_name_is_unique_per_tenant(session: Session) -> None:
    tenant = make_tenant(session)
    first = _organization(session, tenant)
    with pytest.raises(Conflict):
        _organization(session, tenant)
    second = _organization(session, tenant, "Acme Two")
    with pytest.raises(Conflict):
        organizations.update_organization(session, Operator(), second.id, name="Acme", now=NOW)
    organizations.update_organization(session, Operator(), first.id, name=" Acme ", now=NOW)
    assert first.name == "Acme"


def test_adding_a_domain_gathers_existing_contacts_without_an_organization(
    session: Session,
) -> None:
    # Given contacts of the domain, one already elsewhere, and one in another tenant
    tenant, other = make_tenant(session), make_tenant(session)
    loose = make_contact(session, tenant, "ann@acme.example")
    elsewhere = make_contact(session, tenant, "bob@acme.example")
    partner = _organization(session, tenant, "Partner")
    contacts.update_contact(session, Operator(), elsewhere.id, organization_id=partner.id, now=NOW)
    unrelated = make_contact(session, tenant, "eve@acme.example.org")
    foreign = make_contact(session, other, "ann@acme.example")
    # When the domain is mapped to an organization
    acme = _organization(session, tenant)
    organizations.add_domain(session, Operator(), acme.id, "acme.example", now=NOW)
    # Then only the loose contact of this tenant joins it
    assert loose.organization_id == acme.id
    assert elsewhere.organization_id == partner.id
    assert unrelated.organization_id is None
    assert foreign.organization_id is None


def test_contact_with_a_second_address_of_the_domain_joins(session: Session) -> None:
    tenant = make_tenant(session)
    contact = make_contact(session, tenant, "ann@home.example")
    contacts.add_contact_email(session, Operator(), contact.id, "ann@acme.example", now=NOW)
    acme = _organization(session, tenant, domains=["acme.example"])
    assert contact.organization_id == acme.id


def test_new_contact_of_the_domain_joins_the_organization(session: Session) -> None:
    tenant = make_tenant(session)
    acme = _organization(session, tenant, domains=["acme.example"])
    assert make_contact(session, tenant, "new@ACME.example").organization_id == acme.id


def test_removing_a_domain_keeps_members_and_frees_the_domain(session: Session) -> None:
    tenant = make_tenant(session)
    acme = _organization(session, tenant, domains=["acme.example"])
    member = make_contact(session, tenant, "ann@acme.example")
    organizations.remove_domain(session, Operator(), acme.id, "ACME.example", now=NOW)
    assert acme.domains == []
    assert member.organization_id == acme.id
    successor = _organization(session, tenant, "Acme New", domains=["acme.example"])
    assert successor.domains[0].domain == "acme.example"
    with pytest.raises(NotFound):
        organizations.remove_domain(session, Operator(), acme.id, "acme.example", now=NOW)


def test_shared_tickets_let_members_see_the_organizations_tickets(session: Session) -> None:
    tenant = make_tenant(session)
    acme = _organization(session, tenant, domains=["acme.example"])
    client = make_client(session, tenant, "ann@acme.example")
    assert client.organization_id == acme.id
    assert not client.sees_organization
    organizations.update_organization(session, Operator(), acme.id, shared_tickets=True, now=NOW)
    assert contacts.client_principal(session, client.contact_id).sees_organization


@pytest.mark.parametrize("role", [Role.AGENT, Role.LIGHT_AGENT])
def test_only_admins_manage_organizations(session: Session, role: Role) -> None:
    tenant = make_tenant(session)
    staff = make_staff(session, tenant, role)
    acme = _organization(session, tenant)
    with pytest.raises(PermissionDenied):
        organizations.create_organization(session, staff, tenant.id, name="Other", now=NOW)
    with pytest.raises(PermissionDenied):
        organizations.add_domain(session, staff, acme.id, "acme.example", now=NOW)
    with pytest.raises(PermissionDenied):
        organizations.update_organization(session, staff, acme.id, shared_tickets=True, now=NOW)
    assert organizations.list_organizations(session, staff, tenant.id) == [acme]


def test_client_sees_no_organizations(session: Session) -> None:
    tenant = make_tenant(session)
    acme = _organization(session, tenant)
    client = make_client(session, tenant)
    with pytest.raises(PermissionDenied):
        organizations.list_organizations(session, client, tenant.id)
    with pytest.raises(PermissionDenied):
        organizations.get_organization(session, client, acme.id)


def test_another_tenants_organization_is_not_found(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    theirs = _organization(session, other)
    admin = make_staff(session, tenant, Role.ADMIN)
    with pytest.raises(NotFound):
        organizations.get_organization(session, admin, theirs.id)
    with pytest.raises(NotFound):
        organizations.add_domain(session, admin, theirs.id, "acme.example", now=NOW)
    with pytest.raises(NotFound):
        organizations.update_organization(session, admin, theirs.id, name="Mine", now=NOW)
