"""The doctor's round: every check in order, from what stops all mail to what is worth a look."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from helpdesk.db import make_engine
from helpdesk.doctor import disk, network, setup, tenants
from helpdesk.doctor.disk import SpoolView
from helpdesk.doctor.findings import Finding
from helpdesk.services.mailboxes import credentials_box
from helpdesk.settings import Settings
from helpdesk.storage import BlobStore

# Seconds to wait for PostgreSQL: a doctor must answer, not hang on a lost host.
CONNECT_TIMEOUT = 5


@dataclass(frozen=True)
class Edges:
    """What the doctor asks of the edges; the command line hands it in (the core imports none)."""

    spool: SpoolView
    free_bytes: Callable[[Path], int]
    # The doors want this many times HELPDESK_MAX_MESSAGE_BYTES free before MAIL FROM.
    room_factor: float
    open_store: Callable[[], BlobStore]
    # Pings the broker, raising when it does not answer; None for the embedded one.
    broker_probe: Callable[[], None] | None = None


def examine(
    settings: Settings,
    edges: Edges,
    *,
    secret_key_stored: bool,
    tenant_slug: str | None = None,
    now: datetime,
) -> list[Finding]:
    """Run every check and return the findings in the order they block mail.

    Reads only; the probes (a spool file, a blob, a connection to each door) leave nothing.

    Raises:
        NotFound: `tenant_slug` names no tenant.
    """
    # A new installation has no key yet: the first command stores one, and
    # the missing database says which command that is.
    new_installation = bool(setup.check_sqlite_file(settings))
    findings = (
        [] if new_installation else setup.check_secret_key(settings, stored=secret_key_stored)
    )
    with _engine(settings) as engine:
        database = _database_findings(settings, engine)
        usable = engine if not database else None
        if usable is not None and tenant_slug is not None:
            with Session(usable) as session:
                tenants.tenants_to_check(session, tenant_slug)
        findings += database + _mail_path(settings, edges, now)
        if usable is not None:
            findings += _tenant_findings(usable, settings, tenant_slug, now)
    return findings + disk.check_spool_quarantine(edges.spool)


def _database_findings(settings: Settings, engine: Engine | None) -> list[Finding]:
    if engine is None:
        return setup.check_sqlite_file(settings)
    return setup.check_connection(engine) or setup.check_migrations(engine)


def _mail_path(settings: Settings, edges: Edges, now: datetime) -> list[Finding]:
    """Check what accepted mail passes through: the spool, the store, the broker, the doors."""
    needed = int(settings.max_message_bytes * edges.room_factor)
    findings = disk.check_spool_dir(settings.spool_dir)
    findings += disk.check_spool_room(
        settings.spool_dir,
        edges.free_bytes,
        needed,
        f"{edges.room_factor:g} times HELPDESK_MAX_MESSAGE_BYTES",
    )
    findings += disk.check_storage(edges.open_store, settings.storage_url)
    findings += disk.check_spool_backlog(edges.spool, now=now)
    findings += network.check_broker(edges.broker_probe)
    findings += network.check_door("HELPDESK_SMTP_LISTEN", settings.smtp_listen)
    if settings.lmtp_listen is not None:
        findings += network.check_door("HELPDESK_LMTP_LISTEN", settings.lmtp_listen)
    return findings


def _tenant_findings(
    engine: Engine, settings: Settings, slug: str | None, now: datetime
) -> list[Finding]:
    box = credentials_box(settings.secret_key)
    findings: list[Finding] = []
    with Session(engine) as session:
        chosen = tenants.tenants_to_check(session, slug)
        for tenant in chosen:
            findings += tenants.check_tenant_active(tenant)
            findings += tenants.check_mailboxes(session, tenant)
            findings += tenants.check_imap(session, tenant, box, now=now)
            findings += tenants.check_intake_secrets(session, tenant, box)
            findings += tenants.check_admins(session, tenant)
        findings += tenants.check_quarantined(session, chosen[0] if slug else None)
        mailboxes = tenants.count_active_mailboxes(session)
        # The doctor never writes: whatever the session did is undone.
        session.rollback()
    return findings + network.check_base_url(settings.base_url, mailboxes)


@contextmanager
def _engine(settings: Settings) -> Iterator[Engine | None]:
    """Yield an engine on the database, or None for an embedded file that does not exist."""
    if setup.check_sqlite_file(settings):
        yield None
        return
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT)})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
