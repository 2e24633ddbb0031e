"""`helpdesk doctor`: the ordered checklist of what is wrong, why it blocks, and the fix."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import click

from helpdesk.cli.base import CommandFailed
from helpdesk.clock import utcnow
from helpdesk.doctor import Edges, Finding, checklist, examine, has_problems, settings_error
from helpdesk.doctor import summary as summarize
from helpdesk.errors import ConfigError
from helpdesk.settings import Settings
from helpdesk.storage import open_blob_store

# Seconds to wait for Redis: a doctor must answer, not hang on a lost host.
BROKER_TIMEOUT = "2"


@click.command()
@click.option(
    "--tenant", "slug", default=None, help="Check this tenant only (and the installation)."
)
def doctor(slug: str | None) -> None:
    """Check the installation and the tenants: what is wrong, why it blocks, the exact fix.

    Exits 0 when nothing blocks mail (warnings allowed), 1 when a problem was found.
    Changes nothing.
    """
    findings = diagnose(slug)
    for line in checklist(findings):
        click.echo(line)
    if has_problems(findings):
        raise CommandFailed(summarize(findings).rstrip("."))


def diagnose(slug: str | None) -> list[Finding]:
    """Run the doctor's checks on the settings of the environment.

    Raises:
        NotFound: `slug` names no tenant.
    """
    # The doctor only reads: a key not stored yet is made up, not written, and
    # the settings say so (secret_key_made_up) for the secret key's check.
    try:
        settings = Settings.from_env(create_secret_key=False)
    except ConfigError as exc:
        return [settings_error(exc)]
    return examine(settings, edges(settings), tenant_slug=slug, now=utcnow())


def edges(settings: Settings) -> Edges:
    """Hand the doctor the spool, its free space, the blob store and the broker, from the edges."""
    # The edges are imported inside the command that needs them.
    from mailgate.limits import spool_free_bytes
    from mailgate.spool import Spool

    probe = partial(_ping_broker, settings) if settings.broker_url else None
    return Edges(
        spool=Spool(settings.spool_dir),
        free_bytes=spool_free_bytes,
        open_store=partial(open_blob_store, settings),
        broker_probe=probe,
    )


def _ping_broker(settings: Settings) -> None:
    from workers.broker import build_broker, check_broker

    broker = build_broker(replace(settings, broker_url=_with_timeouts(settings.broker_url or "")))
    try:
        check_broker(broker)
    finally:
        broker.close()


def _with_timeouts(url: str) -> str:
    """Add connect and read timeouts to a Redis URL that sets none."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("socket_connect_timeout", BROKER_TIMEOUT)
    query.setdefault("socket_timeout", BROKER_TIMEOUT)
    return urlunsplit(parts._replace(query=urlencode(query)))
