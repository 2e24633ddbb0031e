"""Portal sessions: bearer tokens a client gets by redeeming a sign-in link."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.errors import PermissionDenied
from helpdesk.models import ClientToken, Contact
from helpdesk.principal import Client
from helpdesk.services.contacts import client_principal
from helpdesk.services.sign_in import may_sign_in, redeem_sign_in_link
from helpdesk.services.tokens import hash_secret

PREFIX = "hdc_"
LIFETIME = timedelta(days=30)
_LAST_USED_PRECISION = timedelta(minutes=1)
_INVALID = "invalid or expired session; sign in again"


def sign_in_with_link(
    session: Session, link_secret: str, *, now: datetime
) -> tuple[Client, ClientToken, str]:
    """Redeem a mailed sign-in link for a portal session token (shown once).

    Raises:
        PermissionDenied: the link is unknown, used or expired, or the contact
            may not use the portal.
    """
    client = redeem_sign_in_link(session, link_secret, now=now)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ClientToken(
        tenant_id=client.tenant_id,
        contact_id=client.contact_id,
        token_hash=hash_secret(secret),
        created_at=now,
        expires_at=now + LIFETIME,
    )
    session.add(token)
    session.flush()
    return client, token, secret


def authenticate_client_token(session: Session, secret: str, *, now: datetime) -> Client:
    """Return the client a portal token signs in.

    Raises:
        PermissionDenied: unknown, revoked or expired token, or the contact was
            blocked, lost portal access, or their tenant is suspended.
    """
    if not secret.startswith(PREFIX) or len(secret) > 200:
        raise PermissionDenied(_INVALID)
    token = session.scalar(select(ClientToken).where(ClientToken.token_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise PermissionDenied(_INVALID)
    contact = session.get(Contact, token.contact_id)
    if contact is None or not may_sign_in(session, contact):
        raise PermissionDenied(_INVALID)
    if token.last_used_at is None or now - token.last_used_at >= _LAST_USED_PRECISION:
        token.last_used_at = now
        session.flush()
    return client_principal(session, token.contact_id)


def sign_out(session: Session, secret: str, *, now: datetime) -> None:
    """Revoke the portal token; signing out twice changes nothing."""
    token = session.scalar(select(ClientToken).where(ClientToken.token_hash == hash_secret(secret)))
    if token is not None and token.revoked_at is None:
        token.revoked_at = now
        session.flush()
