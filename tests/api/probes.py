"""Request builders for the access matrix: fresh objects for every call, made through the services.

A probe answers, for one case of the matrix, what to send: the path
parameters, the body and, for list endpoints, a marker (text of a fresh
object of the targeted tenant that its own people see in the answer and
nobody else does). It creates what it names anew for each call, so that an
allowed merge, delete or revocation by one caller never changes what the
next caller finds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.clock import utcnow
from helpdesk.enums import CustomFieldType, Role, Source, Status
from helpdesk.models import (
    ApiToken,
    CannedResponse,
    Category,
    Contact,
    CustomFieldDefinition,
    Mailbox,
    Message,
    Organization,
    Team,
    Tenant,
    User,
)
from helpdesk.principal import Operator, Staff, System
from helpdesk.services import (
    attachments,
    canned_responses,
    catalog,
    client_tokens,
    contacts,
    mailboxes,
    messages,
    organizations,
    sign_in,
    teams,
    tickets,
    tokens,
    users,
)
from helpdesk.services.ticket_people import add_watcher
from tests.api.conftest import ApiWorld, Desk
from web.app import app_state

_serial = itertools.count(1)
# The staff callers of the matrix: the own tenant's people, and its platform admin.
STAFF_CALLERS = ("light_agent", "agent", "admin", "platform_admin")


@dataclass(frozen=True)
class Call:
    """What one probe sends: path parameters by name, a JSON body, and what a list shows."""

    params: dict[str, object] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    # Text of a fresh object of the targeted tenant, for endpoints that list or describe it.
    marker: str | None = None
    # A bearer secret to send instead of the caller's own (for signing out).
    auth: str | None = None


@dataclass
class Matrix:
    """The API world with every kind of caller of the own tenant and their bearer secrets."""

    world: ApiWorld
    secrets: dict[str, str]
    staff: dict[str, Staff]


@dataclass(frozen=True)
class FreshTicket:
    id: int
    number: int
    subject: str
    first_id: int  # the requester's first message
    reply_id: int  # an agent's public reply
    note_id: int  # an agent's internal note


def build_matrix(world: ApiWorld) -> Matrix:
    """Add a platform admin, a revoked staff token and an expired client token to the world.

    The other tenant's ticket numbers start at 1001, so that a number of
    theirs never names one of the own tenant's tickets by coincidence.
    """
    own, now = world.own, utcnow()
    secrets = {role: own.tokens[role] for role in ("client", "light_agent", "agent", "admin")}
    staff = {role: Staff(own.ids[role], own.tenant_id, Role(role)) for role in STAFF_CALLERS[:3]}
    with world.sessions() as session:
        root = users.create_user(
            session, Operator(), own.tenant_id, email="root@acme.example", name="Root",
            role=Role.ADMIN, now=now,
        )  # fmt: skip
        root.is_platform_admin = True
        staff["platform_admin"] = Staff(root.id, own.tenant_id, Role.ADMIN)
        secrets["platform_admin"] = _secret(session, own.tenant_id, root.id)
        secrets["revoked_staff"] = _revoked_secret(session, own)
        secrets["expired_client"] = _expired_client_secret(session, own)
        session.get_one(Tenant, world.other.tenant_id).last_ticket_number = 1000
    return Matrix(world, secrets, staff)


def _secret(session: Session, tenant_id: int, user_id: int) -> str:
    return tokens.create_api_token(session, Operator(), tenant_id, user_id, now=utcnow())[1]


def _revoked_secret(session: Session, desk: Desk) -> str:
    token, secret = tokens.create_api_token(
        session, Operator(), desk.tenant_id, desk.ids["agent"], name="revoked", now=utcnow()
    )
    tokens.revoke_api_token(session, Operator(), token.id, now=utcnow())
    return secret


def _expired_client_secret(session: Session, desk: Desk) -> str:
    # Signed in 31 days ago: the session lasted 30.
    then = utcnow() - client_tokens.LIFETIME - timedelta(days=1)
    email = session.get_one(Contact, desk.ids["client"]).primary_email
    link = sign_in.create_sign_in_link(session, desk.tenant_id, email, now=then)
    assert link is not None
    return client_tokens.sign_in_with_link(session, link, now=then)[2]


class Arrange:
    """Makes fresh objects in the targeted tenant for one call of one caller."""

    def __init__(
        self, session: Session, matrix: Matrix, desk: Desk, caller: str, second: Desk | None = None
    ) -> None:
        self.session, self.matrix, self.desk, self.caller = session, matrix, desk, caller
        self.tenant_id = desk.tenant_id
        self.now = utcnow()
        # Where a request's second object (a body's id, a nested path id) comes from.
        self._second = second

    def second(self) -> Arrange:
        """Arrange the request's second object: in the same tenant, unless the case mixes two."""
        if self._second is None or self._second is self.desk:
            return self
        return Arrange(self.session, self.matrix, self._second, self.caller)

    def counterpart(self, fresh: FreshTicket) -> tuple[Arrange, FreshTicket]:
        """Where a message or file for `fresh` comes from: it, or a second tenant's ticket."""
        second = self.second()
        return (self, fresh) if second is self else (second, second.ticket())

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(_serial):06d}-{self.desk.slug}"

    def email(self, prefix: str) -> str:
        return f"{self.unique(prefix)}@{self.desk.slug}-people.example"

    def agent(self) -> Staff:
        return Staff(self.desk.ids["agent"], self.tenant_id, Role.AGENT)

    def me(self) -> Staff:
        """The caller as staff of the targeted tenant, or its agent when the caller is not."""
        if self.desk is self.matrix.world.own and self.caller in self.matrix.staff:
            return self.matrix.staff[self.caller]
        return self.agent()

    def client_email(self) -> str:
        return self.session.get_one(Contact, self.desk.ids["client"]).primary_email

    def ticket(self) -> FreshTicket:
        """The tenant's client's new ticket, with an agent's public reply and internal note."""
        ticket = tickets.create_ticket(
            self.session, System(self.tenant_id), self.tenant_id, subject=self.unique("Jammed"),
            body="The printer jams.", requester_email=self.client_email(), source=Source.EMAIL,
            now=self.now,
        )  # fmt: skip
        first = self.session.scalars(select(Message.id).where(Message.ticket_id == ticket.id)).one()
        reply = messages.add_public_reply(self.session, self.agent(), ticket.id, "Try this.",
                                          now=self.now)  # fmt: skip
        note = messages.add_internal_note(self.session, self.agent(), ticket.id, "Between us.",
                                          now=self.now)  # fmt: skip
        return FreshTicket(ticket.id, ticket.number, ticket.subject, first, reply.id, note.id)

    def resolved(self) -> FreshTicket:
        fresh = self.ticket()
        tickets.change_status(self.session, self.agent(), fresh.id, Status.RESOLVED, now=self.now)
        return fresh

    def watched(self) -> FreshTicket:
        fresh = self.ticket()
        add_watcher(self.session, self.agent(), fresh.id, self.desk.ids["agent"], now=self.now)
        return fresh

    def my_note(self, fresh: FreshTicket) -> int:
        """An internal note by the caller (or the tenant's agent): one they may attach to."""
        note = messages.add_internal_note(self.session, self.me(), fresh.id, "Log attached.",
                                          now=self.now)  # fmt: skip
        return note.id

    def attachment(self, message_id: int) -> int:
        store = app_state(self.matrix.world.app).blob_store
        attachment = attachments.add_attachment(
            self.session, Operator(), message_id, filename="manual.txt", data=b"Read me.",
            declared_type="text/plain", sniffed_type="text/plain", store=store, now=self.now,
        )  # fmt: skip
        return attachment.id

    def shared_response(self) -> CannedResponse:
        return canned_responses.create_canned_response(
            self.session, Operator(), self.tenant_id, title=self.unique("Thanks"),
            body="Thank you, {{requester_name}}!", shared=True, now=self.now,
        )  # fmt: skip

    def category(self) -> Category:
        return catalog.create_category(
            self.session, Operator(), self.tenant_id, key=self.unique("cat"), name="Returns",
            now=self.now,
        )  # fmt: skip

    def custom_field(self) -> CustomFieldDefinition:
        return catalog.create_custom_field(
            self.session, Operator(), self.tenant_id, key=self.unique("field"), label="Serial",
            type=CustomFieldType.TEXT, visible_to_clients=True, now=self.now,
        )  # fmt: skip

    def mailbox(self) -> Mailbox:
        box = mailboxes.credentials_box(app_state(self.matrix.world.app).settings.secret_key)
        return mailboxes.create_mailbox(
            self.session, Operator(), self.tenant_id, address=self.email("help"), box=box,
            now=self.now,
        )  # fmt: skip

    def staff_member(self) -> User:
        return users.create_user(
            self.session, Operator(), self.tenant_id, email=self.email("staff"), name="Temp",
            role=Role.LIGHT_AGENT, now=self.now,
        )  # fmt: skip

    def team(self, *, with_agent: bool = False) -> Team:
        team = teams.create_team(
            self.session, Operator(), self.tenant_id, self.unique("Tier"), now=self.now
        )
        if with_agent:
            teams.add_team_member(
                self.session, Operator(), team.id, self.desk.ids["agent"], now=self.now
            )
        return team

    def token(self, user_id: int) -> ApiToken:
        return tokens.create_api_token(
            self.session, Operator(), self.tenant_id, user_id, name=self.unique("ci"),
            now=self.now,
        )[0]  # fmt: skip

    def contact(self) -> Contact:
        return contacts.create_contact(
            self.session, Operator(), self.tenant_id, email=self.email("pat"), now=self.now
        )

    def organization(self) -> Organization:
        return organizations.create_organization(
            self.session, Operator(), self.tenant_id, name=self.unique("Org"), now=self.now
        )

    def sign_in_link(self) -> str:
        """A sign-in link of a new contact (each contact may ask for a few links only)."""
        link = sign_in.create_sign_in_link(
            self.session, self.tenant_id, self.contact().primary_email, now=self.now
        )
        assert link is not None
        return link

    def own_client_session(self) -> str:
        """A new portal session of the own tenant's client, for a call that ends it."""
        own = self.matrix.world.own
        email = self.session.get_one(Contact, own.ids["client"]).primary_email
        link = sign_in.create_sign_in_link(self.session, own.tenant_id, email, now=self.now)
        assert link is not None
        return client_tokens.sign_in_with_link(self.session, link, now=self.now)[2]


Probe = Callable[[Arrange], Call]


def _number(a: Arrange) -> Call:
    return Call({"number": a.ticket().number})


def _pair(a: Arrange, name: str) -> Call:
    """Two tickets: the first named in the path, the second in the body under `name`."""
    return Call({"number": a.ticket().number}, json={name: a.second().ticket().number})


def _attachment_of(a: Arrange, message: str) -> Call:
    fresh = a.ticket()
    side, holder = a.counterpart(fresh)
    attachment_id = side.attachment(getattr(holder, message))
    return Call({"number": fresh.number, "attachment_id": attachment_id})


def _upload(a: Arrange, message: Callable[[Arrange, FreshTicket], int]) -> Call:
    fresh = a.ticket()
    side, holder = a.counterpart(fresh)
    return Call({"number": fresh.number, "message_id": message(side, holder)})


def _sign_out(a: Arrange) -> Call:
    return Call(auth=a.own_client_session() if a.caller == "client" else None)


def _remove_member(a: Arrange) -> Call:
    return Call({"team_id": a.team(with_agent=True).id, "user_id": a.second().desk.ids["agent"]})


def _listed_ticket(a: Arrange) -> Call:
    return Call(marker=a.ticket().subject)


def _new_ticket(a: Arrange) -> dict[str, Any]:
    return {"subject": "Paper jam", "body": "Again.", "requester_email": a.client_email()}


# The probe of each case: an operation_id, or operation_id#variant for a second body.
PROBES: dict[str, Probe] = {
    # Admin: shared canned responses
    "list_shared_responses": lambda a: Call(marker=a.shared_response().title),
    "create_shared_response": lambda a: Call(json={"title": a.unique("Hi"), "body": "Hello"}),
    "update_shared_response": lambda a: Call(
        {"response_id": a.shared_response().id}, json={"title": a.unique("Hey")}
    ),
    "delete_shared_response": lambda a: Call({"response_id": a.shared_response().id}),
    # Admin: catalog
    "list_admin_categories": lambda a: Call(marker=a.category().key),
    "create_admin_category": lambda a: Call(json={"key": a.unique("new"), "name": "New"}),
    "update_admin_category": lambda a: Call({"category_id": a.category().id}, json={"name": "H"}),
    "reorder_admin_categories": lambda a: Call(json={"keys": ["bug", "billing"]}),
    "list_admin_custom_fields": lambda a: Call(marker=a.custom_field().key),
    "create_admin_custom_field": lambda a: Call(
        json={"key": a.unique("sku"), "label": "SKU", "type": "text"}
    ),
    "update_admin_custom_field": lambda a: Call(
        {"field_id": a.custom_field().id}, json={"label": "Order number"}
    ),
    # Admin: mailboxes and settings
    "list_admin_mailboxes": lambda a: Call(marker=a.mailbox().address),
    "create_admin_mailbox": lambda a: Call(json={"address": a.email("sales")}),
    "get_admin_mailbox": lambda a: Call({"mailbox_id": a.mailbox().id}),
    "update_admin_mailbox": lambda a: Call({"mailbox_id": a.mailbox().id}, json={"name": "Desk"}),
    "update_admin_mailbox#team": lambda a: Call(
        {"mailbox_id": a.mailbox().id}, json={"default_team_id": a.second().team().id}
    ),
    "get_tenant_settings": lambda a: Call(marker=a.desk.slug),
    "update_tenant_settings": lambda a: Call(json={"name": "Renamed"}),
    # Admin: staff, teams and tokens
    "list_admin_staff": lambda a: Call(marker=a.staff_member().email),
    "invite_admin_staff": lambda a: Call(
        json={"email": a.email("new"), "name": "New", "role": "agent"}
    ),
    "update_admin_staff": lambda a: Call({"user_id": a.staff_member().id}, json={"role": "agent"}),
    "list_admin_teams": lambda a: Call(marker=a.team().name),
    "create_admin_team": lambda a: Call(json={"name": a.unique("Tier")}),
    "rename_admin_team": lambda a: Call({"team_id": a.team().id}, json={"name": a.unique("T")}),
    "add_admin_team_member": lambda a: Call(
        {"team_id": a.team().id, "user_id": a.second().desk.ids["agent"]}
    ),
    "remove_admin_team_member": _remove_member,
    "list_admin_tokens": lambda a: Call(marker=a.token(a.desk.ids["agent"]).name),
    "create_admin_token": lambda a: Call(json={"user_id": a.desk.ids["agent"], "name": "CI"}),
    "revoke_admin_token": lambda a: Call({"token_id": a.token(a.desk.ids["agent"]).id}),
    "list_own_tokens": lambda a: Call(marker=a.token(a.me().user_id).name),
    "create_own_token": lambda a: Call(json={"name": "laptop"}),
    "revoke_own_token": lambda a: Call({"token_id": a.token(a.me().user_id).id}),
    # Tickets
    "list_staff_tickets": _listed_ticket,
    "create_one_ticket": lambda a: Call(json=_new_ticket(a)),
    "get_one_ticket": _number,
    "patch_ticket": lambda a: Call({"number": a.ticket().number}, json={"priority": "high"}),
    "patch_ticket#assign": lambda a: Call(
        {"number": a.ticket().number}, json={"assignee_id": a.second().desk.ids["agent"]}
    ),
    "patch_ticket#team": lambda a: Call(
        {"number": a.ticket().number}, json={"team_id": a.second().team().id}
    ),
    "list_ticket_messages": _number,
    "list_ticket_events": _number,
    "post_ticket_message": lambda a: Call(
        {"number": a.ticket().number}, json={"body": "Fixed.", "visibility": "public"}
    ),
    "post_ticket_message#note": lambda a: Call(
        {"number": a.ticket().number}, json={"body": "Hm.", "visibility": "internal"}
    ),
    "bulk_change_tickets": lambda a: Call(
        json={"numbers": [a.ticket().number], "changes": {"priority": "low"}}
    ),
    "list_watchers": _number,
    "put_watcher": lambda a: Call(
        {"number": a.ticket().number, "user_id": a.second().desk.ids["agent"]}
    ),
    "delete_watcher": lambda a: Call(
        {"number": a.watched().number, "user_id": a.second().desk.ids["agent"]}
    ),
    "merge_ticket": lambda a: _pair(a, "into"),
    "put_parent": lambda a: _pair(a, "parent"),
    "put_ticket_read": _number,
    "delete_ticket_read": _number,
    "upload_attachment": lambda a: _upload(a, lambda side, holder: side.my_note(holder)),
    "download_attachment": lambda a: _attachment_of(a, "reply_id"),
    # Canned responses, contacts and organizations
    "list_my_canned_responses": lambda a: Call(marker=a.shared_response().title),
    "render_canned": lambda a: Call(
        {"response_id": a.shared_response().id}, json={"ticket": a.second().ticket().number}
    ),
    "list_contacts_page": lambda a: Call(marker=a.contact().primary_email),
    "create_one_contact": lambda a: Call(json={"email": a.email("new")}),
    "create_one_contact#organization": lambda a: Call(
        json={"email": a.email("new"), "organization_id": a.organization().id}
    ),
    "get_one_contact": lambda a: Call({"contact_id": a.contact().id}),
    "patch_contact": lambda a: Call({"contact_id": a.contact().id}, json={"name": "Pat"}),
    "patch_contact#organization": lambda a: Call(
        {"contact_id": a.contact().id}, json={"organization_id": a.second().organization().id}
    ),
    "list_organizations_page": lambda a: Call(marker=a.organization().name),
    "create_one_organization": lambda a: Call(json={"name": a.unique("Initech")}),
    "get_one_organization": lambda a: Call({"organization_id": a.organization().id}),
    "patch_organization": lambda a: Call(
        {"organization_id": a.organization().id}, json={"notes": "VIP"}
    ),
    # Me
    "get_me": lambda a: Call(marker=a.desk.slug),
    # Platform
    "list_platform_tenants": lambda a: Call(marker=a.desk.slug),
    "create_platform_tenant": lambda a: Call(json={"slug": a.unique("t"), "name": "Initech"}),
    "update_platform_tenant": lambda a: Call({"slug": a.desk.slug}, json={"name": "Renamed"}),
    "list_platform_tickets": _listed_ticket,
    # Portal
    "request_portal_sign_in": lambda a: Call(
        json={"tenant": a.desk.slug, "email": a.client_email()}
    ),
    "create_portal_session": lambda a: Call(json={"token": a.sign_in_link()}),
    "delete_portal_session": _sign_out,
    "list_portal_categories": lambda a: Call(marker=a.category().key),
    "list_portal_custom_fields": lambda a: Call(marker=a.custom_field().key),
    "list_portal_tickets": _listed_ticket,
    "open_portal_ticket": lambda a: Call(json={"subject": "Paper jam", "body": "Again."}),
    "get_portal_ticket": _number,
    "list_portal_messages": _number,
    "reply_on_portal_ticket": lambda a: Call({"number": a.ticket().number}, json={"body": "Hi"}),
    "resolve_portal_ticket": _number,
    "rate_portal_ticket": lambda a: Call({"number": a.resolved().number}, json={"rating": 4}),
    "upload_portal_attachment": lambda a: _upload(a, lambda side, holder: holder.first_id),
    "download_portal_attachment": lambda a: _attachment_of(a, "reply_id"),
    "download_portal_attachment#note": lambda a: _attachment_of(a, "note_id"),
}
