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
from helpdesk.settings import ROOM_FACTOR, Settings
from helpdesk.storage import BlobStore

# Seconds to wait for PostgreSQL: a doctor must answer, not hang on a lost host.
CONNECT_TIMEOUT = 5


@dataclass(frozen=True)
class Edges:
    """What the doctor asks of the edges; the command line hands it in (the core imports none)."""

    spool: SpoolView
    free_bytes: Callable[[Path], int]
    open_store: Callable[[], BlobStore]
    # Pings the broker, raising when it does not answer; None for the embedded one.
    broker_probe: Callable[[], None] | None = None


def examine(
    settings: Settings,
    edges: Edges,
    *,
    tenant_slug: str | None = None,
    now: datetime,
) -> list[Finding]:
    """Run every check and return the findings in the order they block mail.

    `settings` are read with `create_secret_key=False`. Reads only; the probes
    (a spool file, a blob, a connection to each door) leave nothing.

    Raises:
        NotFound: `tenant_slug` names no tenant.
    """
    tenant_findings: list[Finding] = []
    missing_database = setup.check_sqlite_file(settings)
    if missing_database:
        # A new installation has no key yet: the first command stores one, and
        # the missing database says which command that is.
        findings = missing_database
    else:
        findings, tenant_findings = _installation(settings, tenant_slug, now)
    findings += _mail_path(settings, edges, now) + tenant_findings
    return findings + disk.check_spool_quarantine(edges.spool)


def _installation(
    settings: Settings, slug: str | None, now: datetime
) -> tuple[list[Finding], list[Finding]]:
    """Check the key and the database, then the tenants if the database can be used."""
    with _engine(settings) as engine:
        database = setup.check_connection(engine) or setup.check_migrations(engine)
        # The tenants are examined before the mail path is probed, so that an
        # unknown --tenant fails at once; their findings are listed after it.
        tenant_findings = [] if database else _tenant_findings(engine, settings, slug, now)
    return setup.check_secret_key(settings) + database, tenant_findings


def _mail_path(settings: Settings, edges: Edges, now: datetime) -> list[Finding]:
    """Check what accepted mail passes through: the spool, the store, the broker, the doors."""
    findings = disk.check_spool_dir(settings.spool_dir)
    findings += disk.check_spool_room(
        settings.spool_dir,
        edges.free_bytes,
        settings.min_spool_free_bytes,
        f"{ROOM_FACTOR:g} times HELPDESK_MAX_MESSAGE_BYTES",
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
def _engine(settings: Settings) -> Iterator[Engine]:
    """Yield an engine on the database (whose embedded file exists), disposed after."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT)})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
