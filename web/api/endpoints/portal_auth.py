"""Portal sign-in: ask for a link by e-mail, trade it for a session token, sign out."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import request
from flask import session as cookie
from pydantic import BaseModel, Field

from helpdesk.crypto import SecretBox
from helpdesk.errors import PermissionDenied
from helpdesk.models import Contact, Organization
from helpdesk.principal import Client
from helpdesk.services import client_tokens
from helpdesk.services.portal_sign_in import OUTBOX_SECRETS, request_sign_in_link
from web.api.auth import CLIENT_KEY, Unauthenticated
from web.api.blueprint import api
from web.api.core import Audience, Context
from web.api.limits import SIGN_IN_LIMIT, limit_by_address
from web.api.schemas import Strict
from web.api.shapes import NamedRef

TAG = "portal: sign-in"
# One answer for every link that does not sign anyone in, whatever the reason.
BAD_LINK = "this sign-in link is invalid, used or expired; ask for a new one"


class SignInIn(Strict):
    tenant: str = Field(min_length=1, max_length=63, description="The helpdesk's slug")
    email: str = Field(min_length=3, max_length=320, description="The client's address")


class SignInSent(BaseModel):
    status: Literal["sent"] = Field(
        description="Always 'sent': whether the address is known is not told"
    )


class SessionIn(Strict):
    token: str = Field(min_length=1, max_length=200, description="The secret of the mailed link")


class PortalClient(BaseModel):
    id: int
    email: str
    name: str
    organization: NamedRef | None
    sees_organization: bool = Field(description="Whether the organization's tickets are shown")


class PortalSession(BaseModel):
    token: str = Field(description="Bearer token (hdc_...) for the portal API; shown once")
    expires_at: datetime
    client: PortalClient


@api.endpoint(
    "POST", "/portal/sign-in", audience=Audience.PUBLIC, summary="Mail me a sign-in link",
    tag=TAG, body=SignInIn, response=SignInSent, status=202,
)  # fmt: skip
def request_portal_sign_in(ctx: Context, body: SignInIn) -> SignInSent:
    """If the address belongs to a client of this helpdesk, a one-time link is mailed to it.
    The answer is the same either way, so it tells nobody who is a client."""
    with limit_by_address(SIGN_IN_LIMIT):
        box = SecretBox(ctx.settings.secret_key, OUTBOX_SECRETS)
        request_sign_in_link(
            ctx.session, body.tenant, body.email, base_url=ctx.settings.base_url, box=box,
            now=ctx.now,
        )  # fmt: skip
    return SignInSent(status="sent")


@api.endpoint(
    "POST", "/portal/sessions", audience=Audience.PUBLIC, summary="Sign in with a mailed link",
    tag=TAG, body=SessionIn, response=PortalSession, status=201,
)  # fmt: skip
def create_portal_session(ctx: Context, body: SessionIn) -> PortalSession:
    """Trade the secret of a sign-in link (usable once) for a portal session token."""
    try:
        client, token, secret = client_tokens.sign_in_with_link(
            ctx.session, body.token, now=ctx.now
        )
    except PermissionDenied as exc:
        raise Unauthenticated(BAD_LINK) from exc
    return PortalSession(
        token=secret, expires_at=token.expires_at, client=present_client(ctx, client)
    )


@api.endpoint(
    "DELETE", "/portal/sessions/current", audience=Audience.CLIENT, summary="Sign out",
    tag=TAG, status=204,
)  # fmt: skip
def delete_portal_session(ctx: Context) -> None:
    """End the session this request is signed in with; its token stops working at once."""
    _scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if secret.strip():
        client_tokens.sign_out(ctx.session, secret.strip(), now=ctx.now)
    else:
        cookie.pop(CLIENT_KEY, None)


def present_client(ctx: Context, client: Client) -> PortalClient:
    contact = ctx.session.get_one(Contact, client.contact_id)
    organization = (
        ctx.session.get(Organization, contact.organization_id) if contact.organization_id else None
    )
    return PortalClient(
        id=contact.id, email=contact.primary_email, name=contact.name,
        organization=NamedRef(id=organization.id, name=organization.name) if organization else None,
        sees_organization=client.sees_organization,
    )  # fmt: skip
