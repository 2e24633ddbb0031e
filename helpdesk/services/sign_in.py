"""Passwordless portal sign-in: one-time, expiring links mailed to contacts."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from helpdesk.addresses import normalize_email
from helpdesk.errors import PermissionDenied
from helpdesk.models import Contact, SignInLink, Tenant
from helpdesk.principal import Client
from helpdesk.services.contacts import client_principal, find_contact
from helpdesk.services.tokens import hash_secret

# At most this many links per contact per window: enough for a lost mail or
# two, too few to flood someone's inbox through our form.
MAX_LINKS_PER_WINDOW = 5
RATE_WINDOW = timedelta(minutes=15)
_INVALID = "this sign-in link is invalid, used or expired; ask for a new one"


def create_sign_in_link(
    session: Session,
    tenant_id: int,
    email: str,
    *,
    now: datetime,
    ttl: timedelta = timedelta(minutes=15),
) -> str | None:
    """Issue a sign-in link for the contact with this address; return its secret.

    Returns None when there is no such contact, the contact is blocked or has
    no portal access, or asked for too many links lately. The caller answers
    the same in every case, so that addresses cannot be enumerated.

    Raises:
        ValidationError: `email` is not an e-mail address.
    """
    address = normalize_email(email)
    contact = find_contact(session, tenant_id, address)
    if contact is None or not may_sign_in(session, contact):
        return None
    if _recent_links(session, contact.id, now) >= MAX_LINKS_PER_WINDOW:
        return None
    secret = secrets.token_urlsafe(32)
    session.add(
        SignInLink(
            tenant_id=tenant_id,
            contact_id=contact.id,
            email=address,
            token_hash=hash_secret(secret),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()
    return secret


def redeem_sign_in_link(session: Session, secret: str, *, now: datetime) -> Client:
    """Use a sign-in link once and return the contact it signs in.

    Raises:
        PermissionDenied: the link is unknown, used or expired, or the contact
            may no longer use the portal (one message for all).
    """
    # One conditional UPDATE marks the link used: of two requests racing with
    # the same link, exactly one sees its row change.
    link = session.execute(
        update(SignInLink)
        .where(
            SignInLink.token_hash == hash_secret(secret),
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(SignInLink.contact_id, SignInLink.tenant_id, SignInLink.email)
    ).one_or_none()
    if link is None:
        raise PermissionDenied(_INVALID)
    contact = find_contact(session, link.tenant_id, link.email)
    # The address may have moved to another contact since the link was sent.
    if contact is None or contact.id != link.contact_id or not may_sign_in(session, contact):
        raise PermissionDenied(_INVALID)
    return client_principal(session, contact.id)


def may_sign_in(session: Session, contact: Contact) -> bool:
    """Whether the contact may use the portal: access granted, not blocked, tenant active."""
    tenant = session.get(Tenant, contact.tenant_id)
    return contact.portal_access and not contact.blocked and bool(tenant and tenant.active)


def _recent_links(session: Session, contact_id: int, now: datetime) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(SignInLink)
        .where(SignInLink.contact_id == contact_id, SignInLink.created_at > now - RATE_WINDOW)
    )
    return count or 0
