"""The route step: from recipients to tenants and mailboxes."""

from __future__ import annotations

from helpdesk.queries.inbound import MailboxRef
from mailgate.inbound import Address, Envelope
from mailgate.steps.route import route_by_tenant
from tests.mailgate.fakes import FakeDirectory, message

DIRECTORY = FakeDirectory(
    MailboxRef(1, 10, "support@acme.test"),
    MailboxRef(1, 11, "billing@acme.test"),
    MailboxRef(2, 20, "help@globex.test"),
)


def test_envelope_recipient_names_the_tenant_and_mailbox() -> None:
    [routed] = route_by_tenant(message(), directory=DIRECTORY)
    assert routed.route is not None
    assert (routed.route.tenant_id, routed.route.mailbox_id) == (1, 10)
    assert routed.route.via == "envelope"


def test_mail_to_two_mailboxes_of_one_tenant_is_one_copy() -> None:
    envelope = Envelope("ann@client.example", ("support@acme.test", "billing@acme.test"), "smtp")
    [routed] = route_by_tenant(message(envelope=envelope), directory=DIRECTORY)
    assert routed.route is not None
    assert routed.route.mailbox_ids == (10, 11)


def test_mail_to_two_tenants_gives_each_its_own_copy() -> None:
    envelope = Envelope("ann@client.example", ("support@acme.test", "help@globex.test"), "smtp")
    routed = route_by_tenant(message(envelope=envelope), directory=DIRECTORY)
    assert [m.route.tenant_id for m in routed if m.route] == [1, 2]


def test_envelope_wins_over_headers_the_sender_wrote() -> None:
    # A sender cannot reach another tenant by naming its address in To:.
    msg = message(to=(Address("help@globex.test"),))
    routed = route_by_tenant(msg, directory=DIRECTORY)
    assert [m.route.tenant_id for m in routed if m.route] == [1]


def test_fetched_mail_is_routed_by_delivered_to_before_to() -> None:
    msg = message(
        envelope=Envelope(transport="imap"),
        headers=(("Delivered-To", "billing@acme.test"),),
        to=(Address("someone@elsewhere.example"),),
    )
    [routed] = route_by_tenant(msg, directory=DIRECTORY)
    assert routed.route is not None
    assert (routed.route.mailbox_id, routed.route.via) == (11, "delivered-to")


def test_plus_address_gives_the_recipient_tag() -> None:
    envelope = Envelope("ann@client.example", ("support+r1ab.cdef@acme.test",), "smtp")
    [routed] = route_by_tenant(message(envelope=envelope), directory=DIRECTORY)
    assert routed.route is not None
    assert routed.route.recipient_tags == ("r1ab.cdef",)


def test_mail_for_no_mailbox_of_ours_has_no_route() -> None:
    envelope = Envelope("ann@client.example", ("nobody@elsewhere.example",), "smtp")
    assert route_by_tenant(message(envelope=envelope), directory=DIRECTORY) == []


def test_imported_mail_belongs_to_the_named_tenant_even_without_its_address() -> None:
    msg = message(envelope=Envelope(), to=(Address("old-address@acme-legacy.example"),))
    [routed] = route_by_tenant(msg, directory=DIRECTORY, tenant_id=1)
    assert routed.route is not None
    route = routed.route
    assert (route.tenant_id, route.mailbox_id, route.via) == (1, None, "tenant")


def test_imported_mail_for_a_named_tenant_ignores_other_tenants_mailboxes() -> None:
    recipients = (Address("help@globex.test"), Address("billing@acme.test"))
    msg = message(envelope=Envelope(), to=recipients)
    [routed] = route_by_tenant(msg, directory=DIRECTORY, tenant_id=1)
    assert routed.route is not None
    assert routed.route.mailbox_ids == (11,)
