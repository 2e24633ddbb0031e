"""Mailboxes: the support addresses whose inbound mail belongs to a tenant."""

from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.addresses import normalize_email
from helpdesk.crypto import SecretBox
from helpdesk.enums import Priority
from helpdesk.errors import Conflict, NotFound, ValidationError
from helpdesk.models import Category, Mailbox, Team, Tenant
from helpdesk.policy import Action, can, require
from helpdesk.principal import Principal
from helpdesk.services.scope import get_scoped, get_tenant
from helpdesk.unchanged import UNCHANGED, Unchanged

# The key purpose under which mailbox credentials are encrypted at rest; every
# writer and reader (command line, admin API, IMAP poller) uses this box.
MAILBOX_CREDENTIALS = "mailbox-credentials"


def credentials_box(secret_key: str) -> SecretBox:
    """Return the box that encrypts and decrypts mailbox credentials."""
    return SecretBox(secret_key, MAILBOX_CREDENTIALS)


def create_mailbox(
    session: Session,
    actor: Principal,
    tenant_id: int,
    *,
    address: str,
    name: str = "",
    imap_url: str | None = None,
    imap_password: str | None = None,
    box: SecretBox,
    now: datetime,
) -> Mailbox:
    """Add a support address to a tenant, optionally fetched from an IMAP server.

    Raises:
        PermissionDenied: the actor may not manage this tenant.
        NotFound: no such tenant.
        ValidationError: bad address, name or IMAP URL, or an IMAP URL without a password.
        Conflict: the address is already a mailbox, of this tenant or another.
    """
    require(can(actor, Action.MANAGE_TENANT, tenant_id), "only an admin adds mailboxes")
    get_tenant(session, tenant_id)
    address = normalize_email(address, "address")
    if session.scalar(select(Mailbox.id).where(Mailbox.address == address)) is not None:
        raise Conflict(f"{address} is already a mailbox")
    mailbox = Mailbox(tenant_id=tenant_id, address=address, name=_name(name), created_at=now)
    _set_imap(mailbox, imap_url, imap_password, box)
    session.add(mailbox)
    session.flush()
    return mailbox


def update_mailbox(
    session: Session,
    actor: Principal,
    mailbox_id: int,
    *,
    name: str | Unchanged = UNCHANGED,
    signature: str | Unchanged = UNCHANGED,
    default_category: str | Unchanged | None = UNCHANGED,
    default_priority: Priority | Unchanged = UNCHANGED,
    default_team_id: int | Unchanged | None = UNCHANGED,
    active: bool | Unchanged = UNCHANGED,
    imap_url: str | Unchanged | None = UNCHANGED,
    imap_password: str | Unchanged = UNCHANGED,
    box: SecretBox | None = None,
    now: datetime,
) -> Mailbox:
    """Change a mailbox's settings; only the fields passed change.

    `default_category` is a category key; `imap_url=None` stops fetching and
    forgets the stored password. A new IMAP password needs `box`.

    Raises:
        NotFound: no such mailbox in the actor's tenant.
        PermissionDenied: the actor may not manage the tenant.
        ValidationError: a value is malformed or names no category/team of the tenant.
    """
    mailbox = get_scoped(session, Mailbox, mailbox_id, actor, "mailbox")
    require(can(actor, Action.MANAGE_TENANT, mailbox.tenant_id), "only an admin edits mailboxes")
    if name is not UNCHANGED:
        mailbox.name = _name(name)
    if signature is not UNCHANGED:
        mailbox.signature = signature
    if default_category is not UNCHANGED:
        mailbox.default_category_id = _category_id(session, mailbox.tenant_id, default_category)
    if default_priority is not UNCHANGED:
        mailbox.default_priority = Priority(default_priority)
    if default_team_id is not UNCHANGED:
        mailbox.default_team_id = _team_id(session, mailbox.tenant_id, default_team_id)
    if active is not UNCHANGED:
        mailbox.active = active
    if imap_url is not UNCHANGED or imap_password is not UNCHANGED:
        _update_imap(mailbox, imap_url, imap_password, box)
    session.flush()
    return mailbox


def imap_password(mailbox: Mailbox, box: SecretBox) -> str | None:
    """Return the mailbox's IMAP password in clear, None when it has none.

    Raises:
        ConfigError: the secret key changed since the password was stored.
    """
    if mailbox.imap_password_encrypted is None:
        return None
    return box.decrypt(mailbox.imap_password_encrypted)


def intake_secret(mailbox: Mailbox, box: SecretBox) -> str | None:
    """Return the mailbox's HTTP intake secret in clear, None when it has none.

    Raises:
        ConfigError: the secret key changed since the secret was stored.
    """
    if mailbox.intake_secret_encrypted is None:
        return None
    return box.decrypt(mailbox.intake_secret_encrypted)


def issue_intake_secret(
    session: Session, actor: Principal, mailbox_id: int, *, box: SecretBox, rotate: bool = False
) -> str:
    """Return the mailbox's HTTP intake secret, creating it first if it has none.

    With `rotate`, a new secret replaces the old one, which stops working at once.

    Raises:
        NotFound: no such mailbox in the actor's tenant.
        PermissionDenied: the actor may not manage the tenant.
        ConfigError: the secret key changed since the secret was stored.
    """
    mailbox = get_scoped(session, Mailbox, mailbox_id, actor, "mailbox")
    require(
        can(actor, Action.MANAGE_TENANT, mailbox.tenant_id), "only an admin sees intake secrets"
    )
    existing = None if rotate else intake_secret(mailbox, box)
    if existing is not None:
        return existing
    # 32 random bytes: as strong as the HMAC-SHA256 key it becomes.
    secret = secrets.token_urlsafe(32)
    mailbox.intake_secret_encrypted = box.encrypt(secret)
    session.flush()
    return secret


def get_mailbox_by_address(session: Session, address: str) -> Mailbox:
    """Return the mailbox whose own address this is, active or not.

    Raises:
        NotFound: no mailbox has this address (a tagged form does not count).
    """
    try:
        normalized = normalize_email(address, "address")
    except ValidationError as exc:
        raise NotFound(f"no mailbox {address!r}") from exc
    mailbox = session.scalar(select(Mailbox).where(Mailbox.address == normalized))
    if mailbox is None:
        raise NotFound(f"no mailbox {address!r}")
    return mailbox


def find_intake_mailbox(session: Session, mailbox_id: int) -> Mailbox | None:
    """Return the mailbox HTTP intake may deliver to: active, of an active tenant, with a secret."""
    return session.scalar(
        select(Mailbox)
        .join(Tenant, Tenant.id == Mailbox.tenant_id)
        .where(
            Mailbox.id == mailbox_id,
            Mailbox.active.is_(True),
            Tenant.active.is_(True),
            Mailbox.intake_secret_encrypted.is_not(None),
        )
    )


def find_mailbox_for_address(session: Session, address: str) -> Mailbox | None:
    """Return the active mailbox that mail to `address` is for, if any.

    Accepts the `local+anything@domain` form our reply addresses use; the
    longest matching address wins, so a mailbox whose own address holds a
    `+` still receives its tagged mail.
    """
    try:
        normalized = normalize_email(address)
    except ValidationError:
        return None
    candidates = untagged_forms(normalized)
    # A suspended tenant receives nothing: its mail is refused at RCPT.
    matches = session.scalars(
        select(Mailbox)
        .join(Tenant, Tenant.id == Mailbox.tenant_id)
        .where(
            Mailbox.address.in_(candidates),
            Mailbox.active.is_(True),
            Tenant.active.is_(True),
        )
    ).all()
    return max(matches, key=lambda mailbox: len(mailbox.address), default=None)


def list_mailboxes(session: Session, actor: Principal, tenant_id: int) -> list[Mailbox]:
    """Return the tenant's mailboxes, by address.

    Raises:
        PermissionDenied: the actor is not staff of the tenant.
    """
    require(can(actor, Action.VIEW_INTERNAL, tenant_id), "only staff see mailboxes")
    query = select(Mailbox).where(Mailbox.tenant_id == tenant_id).order_by(Mailbox.address)
    return list(session.scalars(query))


def validate_imap_url(url: str) -> str:
    """Return the URL trimmed if it reads imap(s)://user@host[:port][/FOLDER].

    Raises:
        ValidationError: anything else, including a password inside the URL
            (it would be stored in clear).
    """
    url = url.strip()
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValidationError("imap_url", "the port must be a number from 1 to 65535") from exc
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ValidationError("imap_url", "use imaps://user@host[:port][/FOLDER]")
    if parts.password is not None:
        raise ValidationError("imap_url", "leave the password out of the URL; give it apart")
    if parts.query or parts.fragment or port == 0:
        raise ValidationError("imap_url", "use imaps://user@host[:port][/FOLDER]")
    return url


def _set_imap(
    mailbox: Mailbox, url: str | None, password: str | None, box: SecretBox | None
) -> None:
    if url is None:
        if password is not None:
            raise ValidationError("imap_url", "an IMAP password needs an IMAP URL")
        mailbox.imap_url = None
        mailbox.imap_password_encrypted = None
        return
    mailbox.imap_url = validate_imap_url(url)
    if password is not None:
        mailbox.imap_password_encrypted = _encrypt(password, box)
    if mailbox.imap_password_encrypted is None:
        raise ValidationError("imap_password", "an IMAP URL needs a password")


def _update_imap(
    mailbox: Mailbox,
    url: str | Unchanged | None,
    password: str | Unchanged,
    box: SecretBox | None,
) -> None:
    # A new URL keeps the stored password unless a new one comes with it.
    new_url = mailbox.imap_url if url is UNCHANGED else url
    _set_imap(mailbox, new_url, None if password is UNCHANGED else password, box)


def _encrypt(password: str, box: SecretBox | None) -> bytes:
    if not password:
        raise ValidationError("imap_password", "must not be empty")
    if box is None:
        raise TypeError("pass box= to store an IMAP password")
    return box.encrypt(password)


def _category_id(session: Session, tenant_id: int, key: str | None) -> int | None:
    if key is None:
        return None
    category_id = session.scalar(
        select(Category.id).where(
            Category.tenant_id == tenant_id, Category.key == key, Category.active.is_(True)
        )
    )
    if category_id is None:
        raise ValidationError("default_category", f"no active category {key!r}")
    return category_id


def _team_id(session: Session, tenant_id: int, team_id: int | None) -> int | None:
    if team_id is None:
        return None
    team = session.get(Team, team_id)
    if team is None or team.tenant_id != tenant_id:
        raise ValidationError("default_team_id", "no such team")
    return team.id


def _name(name: str) -> str:
    name = name.strip()
    if len(name) > 200:
        raise ValidationError("name", "use at most 200 characters")
    return name


def untagged_forms(address: str) -> list[str]:
    """Return the address and each form of it cut at a `+` ("a+b+c@d": itself, a@d, a+b@d)."""
    local, _, domain = address.rpartition("@")
    cuts = [index for index, char in enumerate(local) if char == "+"]
    return [address, *(f"{local[:cut]}@{domain}" for cut in cuts)]
