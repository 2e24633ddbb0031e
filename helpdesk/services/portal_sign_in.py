"""Asking for a portal sign-in link: issue it and queue the mail that carries it.

The mail must contain the link, and the link is a bearer secret for the next
quarter of an hour. The outbox row that asks for the mail is plain JSON in the
database, so the link travels in it only encrypted (a `SecretBox` with the
purpose "outbox"): a copy of the outbox table, a log of payloads or an
admin's query does not sign anyone in. The mail worker decrypts it with
`sign_in_url_from` just before it renders the message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.addresses import normalize_email
from helpdesk.crypto import SecretBox
from helpdesk.models import SignInLink, Tenant
from helpdesk.outbox import enqueue
from helpdesk.services.sign_in import create_sign_in_link
from helpdesk.services.tokens import hash_secret

OUTBOX_SIGN_IN_LINK = "portal_sign_in_link"
# The SecretBox purpose of secrets carried in outbox payloads.
OUTBOX_SECRETS = "outbox"
# The portal page that redeems a link. It must ask the person to confirm with
# a button (a POST): mail scanners open links on their own, and a page that
# redeemed on GET would spend the one-time link before its owner saw it.
SIGN_IN_PATH = "/portal/sign-in/"


def request_sign_in_link(
    session: Session,
    tenant_slug: str,
    email: str,
    *,
    base_url: str,
    box: SecretBox,
    now: datetime,
) -> None:
    """Mail a sign-in link to the tenant's contact with this address, if there is one.

    Nothing tells the caller whether a link went out: an unknown tenant or
    address, a blocked contact, one without portal access or one who asked too
    often all end the same, so that addresses cannot be enumerated.

    Raises:
        ValidationError: `email` is not an e-mail address.
    """
    # The address is checked first, so that a bad one reads the same for every slug.
    address = normalize_email(email)
    tenant = session.scalar(select(Tenant).where(Tenant.slug == tenant_slug.strip().lower()))
    secret = create_sign_in_link(session, tenant.id, address, now=now) if tenant else None
    if tenant is None or secret is None:
        return
    link = session.scalars(
        select(SignInLink).where(SignInLink.token_hash == hash_secret(secret))
    ).one()
    url = sign_in_url(base_url, secret)
    enqueue(
        session, OUTBOX_SIGN_IN_LINK, tenant_id=tenant.id, now=now,
        link_id=link.id, contact_id=link.contact_id, email=link.email,
        expires_at=link.expires_at.isoformat(), url_encrypted=box.encrypt(url).decode("ascii"),
    )  # fmt: skip
    session.flush()


def sign_in_url(base_url: str, secret: str) -> str:
    """Return the portal address that redeems the link with this secret."""
    return base_url.rstrip("/") + SIGN_IN_PATH + secret


def sign_in_url_from(payload: dict[str, Any], box: SecretBox) -> str:
    """Return the link a `portal_sign_in_link` outbox payload carries, in clear.

    Raises:
        ConfigError: the secret key changed since the row was written.
    """
    return box.decrypt(str(payload["url_encrypted"]).encode("ascii"))
