"""Mailboxes: unique support addresses, IMAP settings kept secret, routing by address."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from helpdesk.crypto import SecretBox
from helpdesk.enums import Priority, Role
from helpdesk.errors import ConfigError, Conflict, NotFound, PermissionDenied, ValidationError
from helpdesk.models import Category, Tenant
from helpdesk.principal import Operator, Staff
from helpdesk.services import mailboxes, teams
from tests.factories import NOW, make_client, make_staff, make_tenant

BOX = SecretBox("test-secret-key", "imap")
IMAP = "imaps://support%40acme.example@imap.acme.example:993/INBOX"


def _admin(session: Session, tenant: Tenant) -> Staff:
    return make_staff(session, tenant, Role.ADMIN)


def test_admin_adds_a_mailbox_with_its_address_normalized(session: Session) -> None:
    tenant = make_tenant(session)
    mailbox = mailboxes.create_mailbox(
        session,
        _admin(session, tenant),
        tenant.id,
        address=" Support@Acme.Example ",
        name="Support",
        box=BOX,
        now=NOW,
    )
    assert mailbox.address == "support@acme.example"
    assert mailbox.imap_url is None
    assert mailboxes.imap_password(mailbox, BOX) is None


def test_mailbox_address_is_unique_across_tenants(session: Session) -> None:
    first, second = make_tenant(session), make_tenant(session)
    mailboxes.create_mailbox(
        session, Operator(), first.id, address="help@acme.example", box=BOX, now=NOW
    )
    with pytest.raises(Conflict):
        mailboxes.create_mailbox(
            session, Operator(), second.id, address="HELP@acme.example", box=BOX, now=NOW
        )


@pytest.mark.parametrize("role", [Role.AGENT, Role.LIGHT_AGENT])
def test_staff_below_admin_cannot_add_mailboxes(session: Session, role: Role) -> None:
    tenant = make_tenant(session)
    with pytest.raises(PermissionDenied):
        mailboxes.create_mailbox(
            session,
            make_staff(session, tenant, role),
            tenant.id,
            address="help@acme.example",
            box=BOX,
            now=NOW,
        )


def test_client_cannot_add_or_list_mailboxes(session: Session) -> None:
    tenant = make_tenant(session)
    client = make_client(session, tenant)
    with pytest.raises(PermissionDenied):
        mailboxes.create_mailbox(
            session, client, tenant.id, address="help@acme.example", box=BOX, now=NOW
        )
    with pytest.raises(PermissionDenied):
        mailboxes.list_mailboxes(session, client, tenant.id)


def test_mailbox_for_a_tenant_that_does_not_exist_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        mailboxes.create_mailbox(
            session, Operator(), 999_999, address="help@acme.example", box=BOX, now=NOW
        )


@pytest.mark.parametrize(
    "url",
    [
        "imaps://support@imap.acme.example",
        "imap://support@imap.acme.example:143",
        "imaps://support%40acme.example@imap.acme.example:993/INBOX",
        "imaps://support@imap.acme.example/Support/Incoming",
    ],
)
def test_imap_urls_of_the_documented_form_are_accepted(session: Session, url: str) -> None:
    tenant = make_tenant(session)
    mailbox = mailboxes.create_mailbox(
        session,
        Operator(),
        tenant.id,
        address="help@acme.example",
        imap_url=url,
        imap_password="s3cret-pass",
        box=BOX,
        now=NOW,
    )
    assert mailbox.imap_url == url


@pytest.mark.parametrize(
    "url",
    [
        "pop3://support@mail.acme.example",
        "imaps://imap.acme.example",
        "imaps://support@",
        "imaps://support:s3cret@imap.acme.example",
        "imaps://support@imap.acme.example:99999",
        "imaps://support@imap.acme.example:abc",
        "imaps://support@imap.acme.example/INBOX?x=1",
        "not a url",
    ],
)
def test_malformed_imap_urls_are_refused(session: Session, url: str) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError) as caught:
        mailboxes.create_mailbox(
            session,
            Operator(),
            tenant.id,
            address="help@acme.example",
            imap_url=url,
            imap_password="s3cret-pass",
            box=BOX,
            now=NOW,
        )
    assert caught.value.field == "imap_url"


def test_imap_url_needs_a_password(session: Session) -> None:
    tenant = make_tenant(session)
    with pytest.raises(ValidationError) as caught:
        mailboxes.create_mailbox(
            session,
            Operator(),
            tenant.id,
            address="help@acme.example",
            imap_url=IMAP,
            box=BOX,
            now=NOW,
        )
    assert caught.value.field == "imap_password"


def test_imap_password_is_stored_encrypted_and_read_back(session: Session) -> None:
    tenant = make_tenant(session)
    mailbox = mailboxes.create_mailbox(
        session,
        Operator(),
        tenant.id,
        address="help@acme.example",
        imap_url=IMAP,
        imap_password="correct horse battery",
        box=BOX,
        now=NOW,
    )
    row = session.execute(text("SELECT * FROM mailboxes WHERE id = :id"), {"id": mailbox.id}).one()
    stored = b"".join(
        bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        for value in row
    )
    assert b"correct horse" not in stored
    assert mailboxes.imap_password(mailbox, BOX) == "correct horse battery"
    with pytest.raises(ConfigError):
        mailboxes.imap_password(mailbox, SecretBox("another-secret-key", "imap"))


def test_mail_to_a_tagged_address_finds_its_mailbox(session: Session) -> None:
    tenant = make_tenant(session)
    mailbox = mailboxes.create_mailbox(
        session, Operator(), tenant.id, address="help@acme.example", box=BOX, now=NOW
    )
    for address in ("help@acme.example", "HELP@Acme.example", "help+r4nd0mT0ken@acme.example"):
        found = mailboxes.find_mailbox_for_address(session, address)
        assert found is not None
        assert found.id == mailbox.id
    assert mailboxes.find_mailbox_for_address(session, "helpdesk@acme.example") is None
    assert mailboxes.find_mailbox_for_address(session, "help@other.example") is None
    assert mailboxes.find_mailbox_for_address(session, "<not an address>") is None


def test_mailbox_whose_address_holds_a_plus_receives_its_tagged_mail(session: Session) -> None:
    tenant = make_tenant(session)
    plain = mailboxes.create_mailbox(
        session, Operator(), tenant.id, address="help@acme.example", box=BOX, now=NOW
    )
    billing = mailboxes.create_mailbox(
        session, Operator(), tenant.id, address="help+billing@acme.example", box=BOX, now=NOW
    )
    tagged = mailboxes.find_mailbox_for_address(session, "help+billing+tok@acme.example")
    other = mailboxes.find_mailbox_for_address(session, "help+tok@acme.example")
    assert tagged is not None
    assert tagged.id == billing.id
    assert other is not None
    assert other.id == plain.id


def test_inactive_mailbox_receives_nothing(session: Session) -> None:
    tenant = make_tenant(session)
    admin = _admin(session, tenant)
    mailbox = mailboxes.create_mailbox(
        session, admin, tenant.id, address="help@acme.example", box=BOX, now=NOW
    )
    mailboxes.update_mailbox(session, admin, mailbox.id, active=False, now=NOW)
    assert mailboxes.find_mailbox_for_address(session, "help@acme.example") is None
    assert mailboxes.find_mailbox_for_address(session, "help+x@acme.example") is None


def test_update_changes_only_the_fields_passed(session: Session) -> None:
    tenant = make_tenant(session)
    admin = _admin(session, tenant)
    team = teams.create_team(session, admin, tenant.id, "Billing", now=NOW)
    mailbox = mailboxes.create_mailbox(
        session, admin, tenant.id, address="help@acme.example", name="Help", box=BOX, now=NOW
    )
    mailboxes.update_mailbox(
        session,
        admin,
        mailbox.id,
        signature="-- \nAcme support",
        default_category="billing",
        default_priority=Priority.HIGH,
        default_team_id=team.id,
        now=NOW,
    )
    billing = session.query(Category).filter_by(tenant_id=tenant.id, key="billing").one()
    assert mailbox.name == "Help"
    assert mailbox.signature == "-- \nAcme support"
    assert mailbox.default_category_id == billing.id
    assert mailbox.default_priority is Priority.HIGH
    assert mailbox.default_team_id == team.id
    mailboxes.update_mailbox(session, admin, mailbox.id, default_category=None, now=NOW)
    assert mailbox.default_category_id is None
    assert mailbox.default_team_id == team.id


def test_defaults_must_be_the_tenants_own(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    admin = _admin(session, tenant)
    foreign_team = teams.create_team(session, Operator(), other.id, "Theirs", now=NOW)
    mailbox = mailboxes.create_mailbox(
        session, admin, tenant.id, address="help@acme.example", box=BOX, now=NOW
    )
    with pytest.raises(ValidationError) as caught:
        mailboxes.update_mailbox(session, admin, mailbox.id, default_category="nope", now=NOW)
    assert caught.value.field == "default_category"
    with pytest.raises(ValidationError) as caught:
        mailboxes.update_mailbox(
            session, admin, mailbox.id, default_team_id=foreign_team.id, now=NOW
        )
    assert caught.value.field == "default_team_id"


def test_new_imap_url_keeps_the_password_and_no_url_forgets_it(session: Session) -> None:
    tenant = make_tenant(session)
    admin = _admin(session, tenant)
    mailbox = mailboxes.create_mailbox(
        session,
        admin,
        tenant.id,
        address="help@acme.example",
        imap_url=IMAP,
        imap_password="first-password",
        box=BOX,
        now=NOW,
    )
    mailboxes.update_mailbox(
        session, admin, mailbox.id, imap_url="imaps://help@mail.acme.example", now=NOW
    )
    assert mailboxes.imap_password(mailbox, BOX) == "first-password"
    mailboxes.update_mailbox(
        session, admin, mailbox.id, imap_password="second-pw", box=BOX, now=NOW
    )
    assert mailboxes.imap_password(mailbox, BOX) == "second-pw"
    mailboxes.update_mailbox(session, admin, mailbox.id, imap_url=None, now=NOW)
    assert mailbox.imap_url is None
    assert mailbox.imap_password_encrypted is None


def test_imap_password_without_an_imap_url_is_refused(session: Session) -> None:
    tenant = make_tenant(session)
    admin = _admin(session, tenant)
    mailbox = mailboxes.create_mailbox(
        session, admin, tenant.id, address="help@acme.example", box=BOX, now=NOW
    )
    with pytest.raises(ValidationError):
        mailboxes.update_mailbox(session, admin, mailbox.id, imap_password="pw", box=BOX, now=NOW)


def test_another_tenants_mailbox_is_not_found(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    mailbox = mailboxes.create_mailbox(
        session, Operator(), other.id, address="help@other.example", box=BOX, now=NOW
    )
    with pytest.raises(NotFound):
        mailboxes.update_mailbox(session, _admin(session, tenant), mailbox.id, name="x", now=NOW)


def test_agent_cannot_change_a_mailbox(session: Session) -> None:
    tenant = make_tenant(session)
    mailbox = mailboxes.create_mailbox(
        session, Operator(), tenant.id, address="help@acme.example", box=BOX, now=NOW
    )
    agent = make_staff(session, tenant, Role.AGENT)
    with pytest.raises(PermissionDenied):
        mailboxes.update_mailbox(session, agent, mailbox.id, active=False, now=NOW)


def test_staff_list_their_own_tenants_mailboxes_only(session: Session) -> None:
    tenant, other = make_tenant(session), make_tenant(session)
    for address in ("sales@acme.example", "help@acme.example"):
        mailboxes.create_mailbox(session, Operator(), tenant.id, address=address, box=BOX, now=NOW)
    mailboxes.create_mailbox(
        session, Operator(), other.id, address="help@other.example", box=BOX, now=NOW
    )
    agent = make_staff(session, tenant, Role.LIGHT_AGENT)
    listed = mailboxes.list_mailboxes(session, agent, tenant.id)
    assert [m.address for m in listed] == ["help@acme.example", "sales@acme.example"]
    with pytest.raises(PermissionDenied):
        mailboxes.list_mailboxes(session, agent, other.id)
