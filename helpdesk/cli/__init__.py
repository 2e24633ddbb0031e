"""The `helpdesk` command: the composition root that starts the roles and administers data."""

from __future__ import annotations

import click

from helpdesk.cli import accounts, db, doctor, mail, search, serve
from helpdesk.cli.base import HelpdeskGroup, Runtime


@click.group(name="helpdesk", cls=HelpdeskGroup)
@click.version_option(package_name="helpdesk", prog_name="helpdesk")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """An e-mail-first, multi-tenant helpdesk.

    Configured by HELPDESK_* environment variables (see docs/configuration.md).
    """
    runtime = ctx.ensure_object(Runtime)
    ctx.call_on_close(runtime.close)


for command in (
    serve.serve,
    serve.web,
    serve.smtp,
    serve.lmtp,
    serve.imap,
    serve.worker,
    serve.scheduler,
    db.db,
    accounts.tenant,
    accounts.user,
    accounts.mailbox,
    accounts.token,
    search.search,
    mail.import_mail,
    mail.mail,
    mail.quarantine,
    doctor.doctor,
):
    cli.add_command(command)


def main() -> None:
    """Run the command line (the `helpdesk` console script)."""
    cli.main(prog_name="helpdesk")
