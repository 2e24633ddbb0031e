"""A fresh helpdesk for the mail benchmarks: one tenant, its support address, an Ingest."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.mail_headers import SUPPORT
from helpdesk import migrate
from helpdesk.clock import utcnow
from helpdesk.db import make_engine, make_session_factory, session_scope
from helpdesk.principal import Operator
from helpdesk.services.mailboxes import create_mailbox, credentials_box
from helpdesk.services.tenant_settings import update_tenant
from helpdesk.services.tenants import create_tenant
from helpdesk.settings import Settings
from helpdesk.storage import open_blob_store
from mailgate.inbound import Envelope
from mailgate.ingest import Ingest

# High enough that the intake limits are checked as always but hold no mail back.
UNLIMITED = {
    "max_new_tickets_per_sender_per_hour": 1_000_000,
    "max_new_tickets_per_hour": 1_000_000,
}


def fresh_desk(settings: Settings) -> Ingest:
    """Migrate the settings' database, add the tenant and its mailbox; return the Ingest."""
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    operator, now = Operator(), utcnow()
    with session_scope(sessions) as session:
        tenant = create_tenant(session, operator, "acme", "ACME", now=now)
        box = credentials_box(settings.secret_key)
        create_mailbox(
            session, operator, tenant.id, address=SUPPORT, name="Support", box=box, now=now
        )
        update_tenant(session, operator, tenant.id, settings=UNLIMITED, now=now)
    return Ingest(settings, sessions, open_blob_store(settings))


def smtp_envelope(sender: str) -> Envelope:
    """Return the envelope of a mail `sender` sent to the support address over SMTP."""
    return Envelope(mail_from=sender, rcpt_tos=(SUPPORT,), transport="smtp")


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """Yield a temporary directory (that the postgres user can enter); remove it after."""
    base = Path(tempfile.mkdtemp(prefix="helpdesk-bench-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)
