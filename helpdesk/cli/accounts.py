"""Commands that create tenants, staff, mailboxes and API tokens, as the operator."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from helpdesk.addresses import normalize_email
from helpdesk.cli.base import CommandFailed, Runtime, pass_runtime
from helpdesk.clock import utcnow
from helpdesk.db import session_scope
from helpdesk.enums import Role
from helpdesk.models import User
from helpdesk.passwords import generate_password
from helpdesk.principal import Operator
from helpdesk.services.mailboxes import (
    create_mailbox,
    credentials_box,
    get_mailbox_by_address,
    issue_intake_secret,
)
from helpdesk.services.tenants import create_tenant, get_tenant_by_slug
from helpdesk.services.tokens import create_api_token
from helpdesk.services.users import create_user, get_user_by_email


@click.group()
def tenant() -> None:
    """Tenants: one helpdesk each, walled off from the others."""


@tenant.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The tenant's display name.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone name.")
@pass_runtime
def create_tenant_command(runtime: Runtime, slug: str, name: str, timezone: str) -> None:
    """Create a tenant with default categories, business hours and SLAs."""
    with session_scope(runtime.sessions()) as session:
        created = create_tenant(session, Operator(), slug, name, timezone=timezone, now=utcnow())
    click.echo(f"created tenant {created.slug} ({created.name})")


@click.group()
def user() -> None:
    """Staff: agents and tenant admins."""


@user.command("create")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_runtime
def create_user_command(
    runtime: Runtime, slug: str, email: str, name: str, role: str, password_stdin: bool
) -> None:
    """Add a staff member to a tenant.

    Without --password-stdin a new user gets a one-time password, printed once;
    someone who already works in another tenant keeps their password.
    """
    password = _read_secret("password") if password_stdin else None
    with session_scope(runtime.sessions()) as session:
        home = get_tenant_by_slug(session, slug)
        is_new = session.scalar(select(User.id).where(User.email == normalize_email(email))) is None
        one_time = generate_password() if password is None and is_new else None
        created = create_user(
            session,
            Operator(),
            home.id,
            email=email,
            name=name,
            role=Role(role),
            password=password or one_time,
            password_is_temporary=one_time is not None,
            now=utcnow(),
        )
    click.echo(f"created {role} {created.email} in tenant {home.slug}")
    if one_time is not None:
        click.echo(f"one-time password: {one_time}")


@click.group()
def mailbox() -> None:
    """Mailboxes: the support addresses whose mail belongs to a tenant."""


@mailbox.command("create")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--address", required=True, help="The support address, e.g. support@acme.example.")
@click.option("--name", default="", help="The name mail from this address is signed with.")
@click.option("--imap-url", default=None, help="imaps://user@host:993/INBOX to fetch mail from.")
@click.option("--imap-password-stdin", is_flag=True, help="Read the IMAP password from stdin.")
@pass_runtime
def create_mailbox_command(
    runtime: Runtime,
    slug: str,
    address: str,
    name: str,
    imap_url: str | None,
    imap_password_stdin: bool,
) -> None:
    """Add a mailbox: inbound mail for ADDRESS belongs to the tenant."""
    if imap_password_stdin and imap_url is None:
        raise click.UsageError("--imap-password-stdin needs --imap-url")
    if imap_url is not None and not imap_password_stdin:
        raise click.UsageError("--imap-url needs --imap-password-stdin")
    password = _read_secret("IMAP password") if imap_password_stdin else None
    box = credentials_box(runtime.settings.secret_key)
    with session_scope(runtime.sessions()) as session:
        home = get_tenant_by_slug(session, slug)
        created = create_mailbox(
            session,
            Operator(),
            home.id,
            address=address,
            name=name,
            imap_url=imap_url,
            imap_password=password,
            box=box,
            now=utcnow(),
        )
    click.echo(f"created mailbox {created.address} in tenant {home.slug}")


@mailbox.command("intake-secret")
@click.argument("address")
@click.option("--rotate", is_flag=True, help="Replace the secret; the old one stops working.")
@pass_runtime
def intake_secret_command(runtime: Runtime, address: str, rotate: bool) -> None:
    """Print the secret that signs HTTP and SES intake for ADDRESS, creating it once."""
    box = credentials_box(runtime.settings.secret_key)
    with session_scope(runtime.sessions()) as session:
        found = get_mailbox_by_address(session, address)
        secret = issue_intake_secret(session, Operator(), found.id, box=box, rotate=rotate)
    # Printed only once committed: a rotated secret shown is the one in force.
    click.echo(secret)
    # The URLs go to stderr, so that a script reading stdout gets the secret alone.
    base = f"{runtime.settings.base_url}/inbound"
    click.echo(f"signed intake: {base}/{found.id}  SES via SNS: {base}/ses/{found.id}", err=True)


@click.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--email", required=True, help="The staff member the token acts as.")
@click.option("--name", default="", help="A label to tell tokens apart.")
@pass_runtime
def create_token_command(runtime: Runtime, slug: str, email: str, name: str) -> None:
    """Print a new API token for the user on stdout, and nothing else."""
    with session_scope(runtime.sessions()) as session:
        home = get_tenant_by_slug(session, slug)
        staff = get_user_by_email(session, email)
        _, secret = create_api_token(
            session, Operator(), home.id, staff.id, name=name, now=utcnow()
        )
    # Printed only once the token is committed: a script never gets a dead one.
    click.echo(secret)


def _read_secret(what: str) -> str:
    """Read one line from stdin, without its line ending."""
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise CommandFailed(f"no {what} on standard input")
    return line
