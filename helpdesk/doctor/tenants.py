"""Checks of each tenant: an address to receive at, an admin, and IMAP mailboxes that fetch."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.crypto import SecretBox
from helpdesk.doctor.findings import Finding, problem, warning
from helpdesk.enums import RawMessageState, Role
from helpdesk.errors import ConfigError
from helpdesk.models import Mailbox, MailboxHealth, Membership, RawMessage, Tenant, User
from helpdesk.services.mailbox_health import FetchedMailbox, fetched_mailboxes, silent_mailboxes
from helpdesk.services.tenants import get_tenant_by_slug

# A healthy poller records a success at least every 25 minutes (an IDLE round
# ends then) and every minute when polling; an hour of silence means trouble.
SILENT_AFTER = timedelta(hours=1)
_PATCH = "PATCH /api/v1/admin/mailboxes/{id}"


def tenants_to_check(session: Session, slug: str | None) -> list[Tenant]:
    """Return the tenant named, or every tenant by slug.

    Raises:
        NotFound: no tenant has this slug.
    """
    if slug is not None:
        return [get_tenant_by_slug(session, slug)]
    return list(session.scalars(select(Tenant).order_by(Tenant.slug)))


def check_tenant_active(tenant: Tenant) -> list[Finding]:
    if tenant.active:
        return []
    return [
        warning(
            f"tenant {tenant.slug} is suspended",
            "its mail is refused at RCPT (550 5.1.1) and nobody of it can sign in",
            f"if that is a mistake, a platform admin resumes it: PATCH "
            f'/api/v1/platform/tenants/{tenant.slug} {{"active": true}}',
        )
    ]


def check_mailboxes(session: Session, tenant: Tenant) -> list[Finding]:
    """Find a tenant that no address delivers to."""
    query = select(Mailbox.id, Mailbox.active).where(Mailbox.tenant_id == tenant.id)
    boxes = session.execute(query.order_by(Mailbox.id)).all()
    if any(active for _, active in boxes):
        return []
    why = "mail to the tenant is refused at RCPT (550 5.1.1): no address belongs to it"
    if not boxes:
        fix = f"helpdesk mailbox create --tenant {tenant.slug} --address support@YOUR-DOMAIN"
        return [problem(f"tenant {tenant.slug} has no mailbox", why, fix)]
    fix = _PATCH.format(id=boxes[0].id) + ' {"active": true} (as an admin of the tenant)'
    return [problem(f"tenant {tenant.slug}: every mailbox is switched off", why, fix)]


def check_admins(session: Session, tenant: Tenant) -> list[Finding]:
    """Find a tenant that nobody may administer."""
    admins = session.scalar(
        select(func.count())
        .select_from(Membership)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.tenant_id == tenant.id,
            Membership.role == Role.ADMIN,
            Membership.active.is_(True),
            User.active.is_(True),
        )
    )
    if admins:
        return []
    return [
        warning(
            f"tenant {tenant.slug} has no active admin",
            "nobody can change its mailboxes, staff or settings in the admin area",
            f"helpdesk user create --tenant {tenant.slug} --email E --name N --role admin",
        )
    ]


def check_imap(session: Session, tenant: Tenant, box: SecretBox, *, now: datetime) -> list[Finding]:
    """Find the tenant's IMAP mailboxes whose mail is not being fetched, and say why."""
    silent = dict(_silent(session, now))
    findings: list[Finding] = []
    for mailbox in fetched_mailboxes(session):
        if mailbox.tenant_id == tenant.id:
            findings += _password_findings(mailbox, box) or _fetch_findings(
                session, mailbox, silent, now
            )
    return findings


def check_intake_secrets(session: Session, tenant: Tenant, box: SecretBox) -> list[Finding]:
    """Find HTTP intake secrets the current secret key cannot decrypt."""
    query = select(Mailbox).where(
        Mailbox.tenant_id == tenant.id, Mailbox.intake_secret_encrypted.is_not(None)
    )
    findings = []
    for mailbox in session.scalars(query.order_by(Mailbox.id)):
        if not _decrypts(box, mailbox.intake_secret_encrypted):
            findings.append(
                problem(
                    f"{mailbox.address}: the HTTP intake secret cannot be decrypted with "
                    "the current secret key",
                    "every signed POST to /inbound/... for this mailbox is refused",
                    "restore the secret key it was stored under, or issue a new one with "
                    f"`helpdesk mailbox intake-secret {mailbox.address} --rotate` and give "
                    "it to the sending service",
                )
            )
    return findings


def check_quarantined(session: Session, tenant: Tenant | None) -> list[Finding]:
    """Find received mail that could not be processed and waits for a person."""
    query = select(func.count(), func.max(RawMessage.id)).where(
        RawMessage.state == RawMessageState.QUARANTINED
    )
    if tenant is not None:
        query = query.where(RawMessage.tenant_id == tenant.id)
    count, newest = session.execute(query).one()
    if not count:
        return []
    scope = f" --tenant {tenant.slug}" if tenant is not None else ""
    where = f" of tenant {tenant.slug}" if tenant is not None else ""
    return [
        warning(
            f"{count} received {'message' if count == 1 else 'messages'}{where} "
            f"quarantined (the newest: {newest})",
            "they could not be processed: kept raw, on no ticket, until someone looks",
            f"helpdesk quarantine list{scope}, then helpdesk quarantine retry ID",
        )
    ]


def count_active_mailboxes(session: Session) -> int:
    return session.scalar(select(func.count()).where(Mailbox.active.is_(True))) or 0


def _silent(session: Session, now: datetime) -> list[tuple[int, datetime | None]]:
    return [
        (mailbox.id, last)
        for mailbox, last in silent_mailboxes(session, threshold=SILENT_AFTER, now=now)
    ]


def _password_findings(mailbox: FetchedMailbox, box: SecretBox) -> list[Finding]:
    if mailbox.password_encrypted is not None and _decrypts(box, mailbox.password_encrypted):
        return []
    return [
        problem(
            f"{mailbox.address}: the IMAP password cannot be decrypted with the current secret key",
            "the poller cannot log in, so no mail of this mailbox is fetched; "
            "HELPDESK_SECRET_KEY (or <var>/secret_key) changed since the password was saved",
            "restore the secret key it was saved under, or save the password again: "
            + _PATCH.format(id=mailbox.id)
            + ' {"imap_password": "..."}',
        )
    ]


def _fetch_findings(
    session: Session,
    mailbox: FetchedMailbox,
    silent: dict[int, datetime | None],
    now: datetime,
) -> list[Finding]:
    health = session.get(MailboxHealth, mailbox.id)
    error = health.last_error if health is not None else None
    if mailbox.id not in silent:
        return [_failing(mailbox, error, severe=False)] if error else []
    if error:
        return [_failing(mailbox, error, severe=True, last=silent[mailbox.id])]
    last = silent[mailbox.id]
    if last is None and _is_new(session, mailbox.id, now):
        return []  # the poller may not have reached it yet
    return [_silent_finding(mailbox, last)]


def _failing(
    mailbox: FetchedMailbox, error: str, *, severe: bool, last: datetime | None = None
) -> Finding:
    since = f"; the last success was at {_when(last)}" if last else "; it never succeeded"
    fix = (
        f"check {mailbox.imap_url} and the password (Gmail: an app password; Microsoft 365 "
        "no longer accepts passwords over IMAP, forward the mail instead); "
        + _PATCH.format(id=mailbox.id)
        + " changes them"
    )
    if not severe:
        return warning(
            f"{mailbox.address}: the last IMAP fetch failed: {error}",
            "the one before succeeded within the hour; the poller retries, but a lasting "
            "failure stops the mail of this mailbox",
            fix,
        )
    return problem(
        f"{mailbox.address}: fetching by IMAP fails: {error}{since}",
        "no mail of this mailbox reaches the helpdesk; it stays on the IMAP server",
        fix,
    )


def _silent_finding(mailbox: FetchedMailbox, last: datetime | None) -> Finding:
    found = (
        f"{mailbox.address}: never fetched by IMAP"
        if last is None
        else f"{mailbox.address}: no IMAP fetch succeeded since {_when(last)}"
    )
    return problem(
        found,
        "a running poller records a successful fetch at least every 25 minutes; none runs "
        "(or it hangs), so this mailbox's mail stays on the IMAP server",
        "start `helpdesk serve` or `helpdesk imap`",
    )


def _is_new(session: Session, mailbox_id: int, now: datetime) -> bool:
    mailbox = session.get(Mailbox, mailbox_id)
    return mailbox is not None and now - mailbox.created_at < SILENT_AFTER


def _decrypts(box: SecretBox, token: bytes | None) -> bool:
    try:
        box.decrypt(token or b"")
    except ConfigError:
        return False
    return True


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "never"
