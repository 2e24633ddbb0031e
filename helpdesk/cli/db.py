"""`helpdesk db upgrade` and `helpdesk db current`: Alembic migrations."""

from __future__ import annotations

import click

from helpdesk import migrate
from helpdesk.cli.base import Runtime, pass_runtime


@click.group()
def db() -> None:
    """Database migrations."""


@db.command()
@pass_runtime
def upgrade(runtime: Runtime) -> None:
    """Migrate the database to this version of the code."""
    migrate.upgrade(runtime.engine)
    click.echo(f"database at revision {migrate.current_revision(runtime.engine)} (head)")


@db.command()
@pass_runtime
def current(runtime: Runtime) -> None:
    """Show the database's revision and whether it is up to date."""
    revision = migrate.current_revision(runtime.engine)
    head = migrate.head_revision(runtime.engine)
    if revision is None:
        click.echo(f"none (empty database; run `helpdesk db upgrade` to reach {head})")
    elif revision == head:
        click.echo(f"{revision} (head)")
    else:
        click.echo(f"{revision} (head is {head}: run `helpdesk db upgrade`)")
