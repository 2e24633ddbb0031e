"""Checks of each tenant: an address to receive at, an admin, and IMAP mailboxes that fetch."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.crypto import SecretBox
from helpdesk.doctor.findings import Finding, problem, warning
from helpdesk.enums import RawMessageState
from helpdesk.errors import ConfigError
from helpdesk.models import Mailbox, RawMessage, Tenant
from helpdesk.services.mailbox_health import FetchedMailbox, FetchHealth, fetch_health
from helpdesk.services.tenants import get_tenant_by_slug
from helpdesk.services.users import count_active_admins

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
            "its mail is refused at RCPT (550 5.1.1), its IMAP mailboxes are not fetched "
            "(their mail waits on the server) and nobody of it can sign in",
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
    if count_active_admins(session, tenant.id):
        return []
    return [
        warning(
            f"tenant {tenant.slug} has no active admin",
            "nobody can change its mailboxes, staff or settings in the admin area",
            f"helpdesk user create --tenant {tenant.slug} --email E --name N --role admin",
        )
    ]


def check_imap(session: Session, tenant: Tenant, box: SecretBox, *, now: datetime) -> list[Finding]:
    """Find the tenant's IMAP mailboxes whose mail is not being fetched, and say why.

    A suspended tenant's mailboxes are fetched by no one on purpose, and
    `check_tenant_active` already says so: they are not reported here.
    """
    findings: list[Finding] = []
    for health in fetch_health(session, tenant.id):
        findings += _password_findings(health.mailbox, box) or _fetch_findings(health, now)
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
                    "every POST to /inbound/... for this mailbox (signed, or from SES) is "
                    "answered 503 with Retry-After: the sender keeps retrying, and SNS gives "
                    "up once its delivery policy runs out, so none of that mail arrives",
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
    """Count the mailboxes that receive mail: active, of an active tenant."""
    query = (
        select(func.count())
        .select_from(Mailbox)
        .join(Tenant, Tenant.id == Mailbox.tenant_id)
        .where(Mailbox.active.is_(True), Tenant.active.is_(True))
    )
    return session.scalar(query) or 0


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


def _fetch_findings(health: FetchHealth, now: datetime) -> list[Finding]:
    mailbox, error, last = health.mailbox, health.last_error, health.last_success_at
    if not health.silent(threshold=SILENT_AFTER, now=now):
        return [_failing(mailbox, error, severe=False)] if error else []
    if error:
        return [_failing(mailbox, error, severe=True, last=last)]
    if last is None and now - health.created_at < SILENT_AFTER:
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


def _decrypts(box: SecretBox, token: bytes | None) -> bool:
    try:
        box.decrypt(token or b"")
    except ConfigError:
        return False
    return True


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "never"
