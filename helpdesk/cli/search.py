"""`helpdesk search reindex`: rebuild the full-text index, showing progress."""

from __future__ import annotations

import click

from helpdesk.cli.base import Runtime, pass_runtime
from helpdesk.db import session_scope
from helpdesk.search import reindex_tickets
from helpdesk.services.tenants import get_tenant_by_slug


@click.group()
def search() -> None:
    """The full-text search index."""


@search.command()
@click.option("--tenant", "slug", default=None, help="Only this tenant's tickets.")
@pass_runtime
def reindex(runtime: Runtime, slug: str | None) -> None:
    """Rebuild the search index of every ticket (or one tenant's), committing each batch.

    Each batch is its own transaction, so the rebuild never holds the database's
    write lock for long (on SQLite every writer waits for it); the index is
    rebuilt from the tickets, so stopping half way loses nothing.
    """
    with session_scope(runtime.sessions()) as session:
        tenant_id = get_tenant_by_slug(session, slug).id if slug else None
        # The bar learns the total from the first batch; it draws on stderr
        # only when that is a terminal, so scripts get one clean line.
        with click.progressbar(length=1, label="indexing tickets", file=None) as bar:

            def advance(done: int, total: int) -> None:
                session.commit()
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            count = reindex_tickets(session, tenant_id, progress=advance)
    click.echo(f"indexed {count} tickets")
