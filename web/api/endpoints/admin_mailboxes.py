"""Admin endpoints for mailboxes: the support addresses and how their mail is fetched."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from helpdesk.crypto import SecretBox
from helpdesk.enums import Priority
from helpdesk.models import Mailbox
from helpdesk.services.catalog import list_categories
from helpdesk.services.mailboxes import (
    create_mailbox,
    credentials_box,
    list_mailboxes,
    update_mailbox,
)
from helpdesk.services.scope import get_scoped
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.endpoints.admin_common import changes, optional, page_of, require_admin
from web.api.schemas import Page, PageQuery, Strict
from web.converters import MAX_ID

TAG = "admin: mailboxes"


class MailboxOut(BaseModel):
    id: int
    address: str
    name: str
    signature: str
    default_category: str | None = Field(description="Key of the category new tickets get")
    default_priority: Priority
    default_team_id: int | None
    imap_url: str | None = Field(description="Where mail is fetched from; null: pushed to us")
    imap_password_set: bool = Field(description="Whether an IMAP password is stored (never shown)")
    active: bool
    created_at: datetime


class MailboxPage(Page[MailboxOut]):
    pass


class MailboxIn(Strict):
    address: str = Field(min_length=3, max_length=320, description="The support address")
    name: str = Field(default="", max_length=200, description="Shown as the sender's name")
    imap_url: str | None = Field(
        default=None, max_length=500, description="imaps://user@host[:port][/FOLDER] to fetch from"
    )
    imap_password: str | None = Field(
        default=None, min_length=1, max_length=500, description="Write-only; needs imap_url"
    )


class MailboxPatch(Strict):
    name: str = optional("Shown as the sender's name", max_length=200)
    signature: str = optional("Appended to replies sent from this mailbox", max_length=5000)
    default_category: str | None = Field(
        default=None, description="Category key for new tickets; null for none"
    )
    default_priority: Priority = optional("Priority of new tickets")
    default_team_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Team new tickets go to; null for none"
    )
    active: bool = optional("Whether mail to this address is accepted")
    imap_url: str | None = Field(
        default=None, max_length=500, description="New IMAP URL; null stops fetching"
    )
    imap_password: str = optional("Write-only: a new IMAP password", min_length=1, max_length=500)


@api.endpoint(
    "GET", "/admin/mailboxes", audience=Audience.STAFF, summary="List mailboxes", tag=TAG,
    query=PageQuery, response=MailboxPage,
)  # fmt: skip
def list_admin_mailboxes(ctx: Context, query: PageQuery) -> MailboxPage:
    """The tenant's support addresses, by address."""
    require_admin(ctx)
    rows = list_mailboxes(ctx.session, ctx.staff, ctx.tenant_id)
    page, cursor = page_of(ctx, "mailboxes", rows, query)
    return MailboxPage(items=present_mailboxes(ctx, page), next_cursor=cursor)


@api.endpoint(
    "POST", "/admin/mailboxes", audience=Audience.STAFF, summary="Add a mailbox", tag=TAG,
    body=MailboxIn, response=MailboxOut, status=201,
)  # fmt: skip
def create_admin_mailbox(ctx: Context, body: MailboxIn) -> MailboxOut:
    """Add a support address; mail to it becomes this tenant's. 409 if it is taken anywhere."""
    mailbox = create_mailbox(
        ctx.session, ctx.staff, ctx.tenant_id, address=body.address, name=body.name,
        imap_url=body.imap_url, imap_password=body.imap_password, box=_box(ctx), now=ctx.now,
    )  # fmt: skip
    return present_mailboxes(ctx, [mailbox])[0]


@api.endpoint(
    "GET", "/admin/mailboxes/<int:mailbox_id>", audience=Audience.STAFF, summary="A mailbox",
    tag=TAG, response=MailboxOut,
)  # fmt: skip
def get_admin_mailbox(ctx: Context, mailbox_id: int) -> MailboxOut:
    """One mailbox; the IMAP password is never returned, only whether one is set."""
    require_admin(ctx)
    mailbox = get_scoped(ctx.session, Mailbox, mailbox_id, ctx.staff, "mailbox")
    return present_mailboxes(ctx, [mailbox])[0]


@api.endpoint(
    "PATCH", "/admin/mailboxes/<int:mailbox_id>", audience=Audience.STAFF,
    summary="Change a mailbox", tag=TAG, body=MailboxPatch, response=MailboxOut,
)  # fmt: skip
def update_admin_mailbox(ctx: Context, mailbox_id: int, body: MailboxPatch) -> MailboxOut:
    """Change only the fields sent. A new imap_url keeps the stored password unless a new
    one comes with it; `imap_url: null` stops fetching and forgets the password."""
    mailbox = update_mailbox(
        ctx.session, ctx.staff, mailbox_id, **changes(body), box=_box(ctx), now=ctx.now
    )
    return present_mailboxes(ctx, [mailbox])[0]


def present_mailboxes(ctx: Context, mailboxes: list[Mailbox]) -> list[MailboxOut]:
    categories = list_categories(ctx.session, ctx.staff, ctx.tenant_id, include_inactive=True)
    keys = {category.id: category.key for category in categories}
    return [
        MailboxOut(
            id=m.id,
            address=m.address,
            name=m.name,
            signature=m.signature,
            default_category=keys.get(m.default_category_id or 0),
            default_priority=m.default_priority,
            default_team_id=m.default_team_id,
            imap_url=m.imap_url,
            imap_password_set=m.imap_password_encrypted is not None,
            active=m.active,
            created_at=m.created_at,
        )
        for m in mailboxes
    ]


def _box(ctx: Context) -> SecretBox:
    return credentials_box(ctx.settings.secret_key)
