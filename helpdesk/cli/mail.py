"""`helpdesk import`, `mail explain` and `quarantine`: mail through the pipeline by hand."""

from __future__ import annotations

import mailbox
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from helpdesk.cli.base import CommandFailed, Runtime, pass_runtime
from helpdesk.db import session_scope
from helpdesk.enums import RawMessageState
from helpdesk.models import Mailbox, Ticket
from helpdesk.principal import Operator
from helpdesk.services.raw_messages import get_raw_message, list_raw_messages
from helpdesk.services.tenants import get_tenant_by_slug
from helpdesk.storage import open_blob_store


def _ingest(runtime: Runtime) -> Any:
    # The edges are imported inside the commands that need them.
    from mailgate.ingest import Ingest

    store = open_blob_store(runtime.settings)
    return Ingest(runtime.settings, runtime.sessions(), store)


def _tenant_id(runtime: Runtime, slug: str) -> int:
    with session_scope(runtime.sessions()) as session:
        return get_tenant_by_slug(session, slug).id


@click.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--tenant", "slug", required=True, help="The tenant the mail belongs to.")
@pass_runtime
def import_mail(runtime: Runtime, path: Path, slug: str) -> None:
    """Import mbox, Maildir or .eml files (a file or a folder) through the pipeline.

    Safe to run again: a message already stored is recognised and skipped.
    """
    from mailgate.inbound import Envelope
    from mailgate.ingest import DatabaseUnavailable, Delivery

    tenant_id = _tenant_id(runtime, slug)
    ingest = _ingest(runtime)
    sources = list(_sources(path))
    deliveries = (
        (None, Delivery(data, Envelope(), tenant_id))
        for source, _ in sources
        for data in _messages(source)
    )
    outcomes: Counter[str] = Counter()
    with click.progressbar(length=sum(count for _, count in sources), label="importing") as bar:
        try:
            # Many messages to a transaction; a rerun skips what was committed.
            for _, results in ingest.process_many(deliveries):
                outcomes.update(result.action for result in results)
                bar.update(1)
        except DatabaseUnavailable as exc:
            raise CommandFailed(f"the database went away: {exc}") from exc
    summary = ", ".join(f"{count} {action}" for action, count in sorted(outcomes.items()))
    click.echo(f"imported {outcomes.total()} messages: {summary or 'none'}")


@click.group()
def mail() -> None:
    """Inbound mail tools."""


@mail.command("explain")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", "slug", required=True, help="The tenant to explain it for.")
@pass_runtime
def explain(runtime: Runtime, file: Path, slug: str) -> None:
    """Print what the pipeline would decide for a message, and why; changes nothing."""
    from mailgate.inbound import Envelope
    from mailgate.parse import MalformedMessage

    tenant_id = _tenant_id(runtime, slug)
    try:
        decided = _ingest(runtime).explain(file.read_bytes(), Envelope(), tenant_id=tenant_id)
    except MalformedMessage as exc:
        raise CommandFailed(f"not an e-mail: {exc}") from exc
    with session_scope(runtime.sessions()) as session:
        for msg in decided:
            for label, text in _explanation(session, msg):
                _print_field(label, text)


@click.group()
def quarantine() -> None:
    """Mail that could not be processed: kept raw, for a person to look at."""


@quarantine.command("list")
@click.option("--tenant", "slug", default=None, help="Only this tenant's.")
@pass_runtime
def list_quarantine(runtime: Runtime, slug: str | None) -> None:
    """List quarantined messages, newest first."""
    tenant_id = _tenant_id(runtime, slug) if slug else None
    with session_scope(runtime.sessions()) as session:
        rows = list_raw_messages(
            session, Operator(), state=RawMessageState.QUARANTINED, tenant_id=tenant_id
        )
        for raw in rows:
            when = raw.received_at.strftime("%Y-%m-%d %H:%M:%S")
            tenant = raw.tenant_id if raw.tenant_id is not None else "-"
            click.echo(f"{raw.id}\t{when}\ttenant {tenant}\t{raw.size} bytes\t{raw.reason}")
    if not rows:
        click.echo("quarantine is empty", err=True)


@quarantine.command("retry")
@click.argument("raw_id", type=int)
@pass_runtime
def retry(runtime: Runtime, raw_id: int) -> None:
    """Run a quarantined message through the pipeline again."""
    with session_scope(runtime.sessions()) as session:
        raw = get_raw_message(session, Operator(), raw_id)
        if raw.state not in {RawMessageState.QUARANTINED, RawMessageState.HELD}:
            raise CommandFailed(f"message {raw_id} is {raw.state.value}, not quarantined or held")
    for result in _ingest(runtime).retry(raw_id):
        detail = f": {result.reason}" if result.reason else ""
        ticket = f" (ticket id {result.ticket_id})" if result.ticket_id else ""
        click.echo(f"{result.action}{ticket}{detail}")


def _sources(path: Path) -> Iterator[tuple[Path, int]]:
    """Yield each file or Maildir under `path` with how many messages it holds."""
    if path.is_file():
        yield path, _count(path)
        return
    if (path / "cur").is_dir() and (path / "new").is_dir():
        yield path, len(mailbox.Maildir(path, factory=None, create=False))
        return
    for child in sorted(p for p in path.rglob("*") if p.is_file() or _is_maildir(p)):
        if _inside_maildir(child, path):
            continue
        yield child, _count(child) if child.is_file() else len(mailbox.Maildir(child, create=False))


def _messages(source: Path) -> Iterator[bytes]:
    if source.is_dir():
        folder = mailbox.Maildir(source, factory=None, create=False)
        for key in sorted(folder.keys()):
            yield folder.get_bytes(key)
    elif _is_mbox(source):
        box = mailbox.mbox(source, factory=None, create=False)
        try:
            for key in box.iterkeys():
                yield box.get_bytes(key)
        finally:
            box.close()
    else:
        yield source.read_bytes()


def _count(path: Path) -> int:
    if not _is_mbox(path):
        return 1
    box = mailbox.mbox(path, create=False)
    try:
        return len(box)
    finally:
        box.close()


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def _is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()


def _inside_maildir(child: Path, root: Path) -> bool:
    return any(_is_maildir(parent) for parent in child.parents if root in parent.parents)


def _explanation(session: object, msg: Any) -> Iterator[tuple[str, str]]:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)  # noqa: S101
    sender = msg.sender.address if msg.sender else "(no From)"
    yield "message", f"<{msg.message_id or '-'}> from {sender}: {msg.subject!r}"
    route = msg.route
    if route is not None:
        box = session.get(Mailbox, route.mailbox_id) if route.mailbox_id else None
        where = box.address if box else "no mailbox of the tenant named"
        yield "route", f"tenant {route.tenant_id}, {where} (via {route.via})"
    removed = ", ".join(msg.untrusted_headers_removed) or "nothing"
    dmarc = msg.dmarc_pass_domain or "no trusted pass"
    yield "trust", f"removed {removed}; DMARC: {dmarc}"
    yield "class", f"{msg.kind.value}" + (f" ({msg.kind_evidence})" if msg.kind_evidence else "")
    if msg.thread is not None:
        ticket = session.get(Ticket, msg.thread.ticket_id) if msg.thread.ticket_id else None
        target = f"ticket #{ticket.number}" if ticket else "a new ticket"
        yield "thread", f"{msg.thread.rule.value} → {target} as {msg.thread.standing.value}"
        yield "evidence", msg.thread.evidence
    if msg.external_refs:
        yield "references", ", ".join(msg.external_refs)
    yield "text", f"{len(msg.visible_text)} of {len(msg.text)} characters visible"
    yield "", _indented(msg.visible_text)
    kept = [f"{p.filename} ({p.sniffed_type}, {len(p.data)} bytes)" for p in msg.kept_parts]
    blocked = [f"{b.filename}: {b.reason}" for b in msg.blocked_parts]
    yield "kept", "; ".join(kept) or "none"
    yield "blocked", "; ".join(blocked) or "none"
    yield "secrets", f"{msg.masked_secrets} masked"
    if msg.hold_reason:
        yield "held", msg.hold_reason
    if msg.defects:
        yield "defects", "; ".join(msg.defects)


def _indented(text: str, lines: int = 12) -> str:
    shown = text.splitlines()[:lines] or [""]
    return "\n".join(f"  | {line}" for line in shown)


def _print_field(label: str, text: str) -> None:
    if not label:
        click.echo(text)
        return
    click.echo(f"{label:<11}{text}")
