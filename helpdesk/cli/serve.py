"""`helpdesk serve` (every role in one process) and the one-role commands of the Procfile."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from urllib.parse import urlsplit

import click

from helpdesk import migrate
from helpdesk.cli.base import CommandFailed, Runtime, pass_runtime
from helpdesk.cli.demo import DEMO_SLUG, Demo, has_tenants, prepare_demo
from helpdesk.cli.ingest_process import IngestProcess
from helpdesk.cli.roles import (
    ImapRole,
    LmtpRole,
    Role,
    SmtpRole,
    WebRole,
    background_roles,
    configure_logging,
    run_roles,
)
from helpdesk.clock import utcnow
from helpdesk.db import SessionFactory, session_scope
from helpdesk.settings import Listen, Settings

NEEDS_BROKER = (
    "HELPDESK_BROKER_URL is not set: the embedded broker lives inside `helpdesk serve`; "
    "a separate {role} needs Redis (HELPDESK_BROKER_URL=redis://HOST:6379/0)"
)


@click.command()
@click.option(
    "--first-run",
    is_flag=True,
    help="Seed a demo tenant, admin and mailbox when the database has no tenant yet.",
)
@pass_runtime
def serve(runtime: Runtime, first_run: bool) -> None:
    """Run everything in one process: web, SMTP (and LMTP when set), IMAP, worker and scheduler.

    Migrates the database first. Ctrl-C stops it.
    """
    settings = runtime.settings
    migrate.upgrade(runtime.engine)
    factory = runtime.sessions()
    with session_scope(factory) as session:
        demo = prepare_demo(session, settings.secret_key, seed=first_run, now=utcnow())
        tenants_exist = has_tenants(session)
    roles: list[Role] = [WebRole(settings), SmtpRole(settings, factory)]
    if settings.lmtp_listen is not None:
        roles.append(LmtpRole(settings, factory))
    roles += [ImapRole(settings, factory), IngestProcess(settings)]
    roles += background_roles(settings, factory, worker=True, scheduler=True)
    banner = serve_banner(settings, demo, tenants_exist=tenants_exist)
    run_roles(roles, on_ready=partial(_ready, banner))


@click.command()
@pass_runtime
def web(runtime: Runtime) -> None:
    """Serve the web app with waitress on HELPDESK_WEB_LISTEN and process mail posted to it."""
    url = web_url(runtime.settings.web_listen)
    _run_door(runtime, lambda settings, _factory: WebRole(settings), f"web on {url}")


@click.command()
@pass_runtime
def smtp(runtime: Runtime) -> None:
    """Accept mail for the mailboxes on HELPDESK_SMTP_LISTEN and process what was stored."""
    _run_door(runtime, SmtpRole, f"SMTP on {runtime.settings.smtp_listen}")


@click.command()
@pass_runtime
def lmtp(runtime: Runtime) -> None:
    """Accept mail from your MTA by LMTP on HELPDESK_LMTP_LISTEN and process what was stored."""
    _run_door(runtime, LmtpRole, f"LMTP on {runtime.settings.lmtp_listen}")


@click.command()
@pass_runtime
def imap(runtime: Runtime) -> None:
    """Fetch the mailboxes that have IMAP settings and process what was stored."""
    _run_door(runtime, ImapRole, "IMAP poller running")


def _run_door(
    runtime: Runtime, door: Callable[[Settings, SessionFactory], Role], ready: str
) -> None:
    # A door stores mail; the drain beside it, in a process of its own,
    # processes what was stored.
    factory = runtime.sessions()
    roles = [door(runtime.settings, factory), IngestProcess(runtime.settings)]
    run_roles(roles, on_ready=partial(_ready, [ready]))


@click.command()
@pass_runtime
def worker(runtime: Runtime) -> None:
    """Run the background jobs Dramatiq hands out (needs HELPDESK_BROKER_URL)."""
    _run_background(runtime, worker=True)


@click.command()
@pass_runtime
def scheduler(runtime: Runtime) -> None:
    """Run the periodic jobs, such as the outbox dispatch (needs HELPDESK_BROKER_URL)."""
    _run_background(runtime, scheduler=True)


def _run_background(runtime: Runtime, *, worker: bool = False, scheduler: bool = False) -> None:
    if runtime.settings.broker_url is None:
        raise CommandFailed(NEEDS_BROKER.format(role="worker" if worker else "scheduler"))
    roles = background_roles(
        runtime.settings, runtime.sessions(), worker=worker, scheduler=scheduler
    )
    name = "worker" if worker else "scheduler"
    run_roles(roles, on_ready=partial(_ready, [f"{name} running"]))


def serve_banner(settings: Settings, demo: Demo | None, *, tenants_exist: bool) -> list[str]:
    """Return the lines that tell a person where everything is."""
    lines = [
        "helpdesk is running. Press Ctrl-C to stop.",
        "",
        f"  Web:                {web_url(settings.web_listen)}",
        f"  SMTP:               {settings.smtp_listen} (mail for the mailboxes is accepted here)",
    ]
    if settings.lmtp_listen is not None:
        lines.append(f"  LMTP:               {settings.lmtp_listen} (for your own MTA)")
    if demo is not None:
        lines += _demo_lines(demo)
    elif not tenants_exist:
        lines.append("  Tenants:            none yet: `helpdesk tenant create SLUG --name NAME`")
    lines.append(f"  Outbound mail:      {describe_outbound(settings.outbound_url)}")
    lines.append(f"  Broker:             {describe_broker(settings.broker_url)}")
    return lines


def _demo_lines(demo: Demo) -> list[str]:
    lines = []
    if demo.mailbox_address:
        lines.append(f"  Demo mailbox:       {demo.mailbox_address}")
    if demo.admin_email and demo.one_time_password:
        lines.append(f"  Demo admin:         {demo.admin_email}")
        lines.append(f"  One-time password:  {demo.one_time_password}")
        lines.append(
            "                      (shown only now; you choose a new one at first sign-in)"
        )
    elif demo.admin_email:
        lines.append(f"  Demo admin:         {demo.admin_email} (exists already)")
        lines.append(
            "                      its one-time password was shown on the first run; if it is "
            f"lost, create another admin with `helpdesk user create --tenant {DEMO_SLUG} "
            "--role admin --email E --name N --password-stdin`"
        )
    return lines


def web_url(listen: Listen) -> str:
    """Return the URL a browser on this machine opens for `listen`."""
    host = f"[{listen.host}]" if ":" in listen.host else listen.host
    return f"http://{host}:{listen.port}/"


def describe_outbound(url: str) -> str:
    """Say where outbound mail goes, without any password in the URL."""
    parts = urlsplit(url)
    if parts.scheme == "maildir":
        return f"{parts.netloc + parts.path} (a Maildir: read it with Python's mailbox.Maildir)"
    return f"{parts.scheme}://{_host_port(parts.hostname, parts.port)}"


def describe_broker(url: str | None) -> str:
    """Name the broker, without any password in its URL."""
    if url is None:
        return "embedded (in this process)"
    parts = urlsplit(url)
    return f"{parts.scheme}://{_host_port(parts.hostname, parts.port)}{parts.path}"


def _host_port(host: str | None, port: int | None) -> str:
    return f"{host or ''}:{port}" if port else host or ""


def _ready(lines: list[str]) -> None:
    """Tell where everything is, then log what happens.

    Logging starts only now: a failure to start is then the one line on
    stderr that the command line promises, not buried under start-up chatter.
    """
    for line in lines:
        click.echo(line)
    sys.stdout.flush()
    configure_logging()
