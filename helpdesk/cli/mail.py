"""`helpdesk import`, `mail explain` and `quarantine`: mail through the pipeline by hand."""

from __future__ import annotations

import mailbox
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from helpdesk.cli.base import CommandFailed, Runtime, pass_runtime
from helpdesk.clock import utcnow
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

    Each message passes through the spool, as the gateway's mail does. Safe
    to run again: a message already stored is recognised and skipped.
    """
    from mailgate.drain import import_messages
    from mailgate.ingest import DatabaseUnavailable
    from mailgate.spool import Envelope, Spool

    tenant_id = _tenant_id(runtime, slug)
    sources = list(_sources(path))
    messages = (data for source in sources for data in _messages(source))
    envelope = Envelope("", (), "import", utcnow(), tenant_id=tenant_id)
    spool = Spool(runtime.settings.spool_dir)
    outcomes: Counter[str] = Counter()
    with click.progressbar(length=sum(map(_count, sources)), label="importing") as bar:
        try:
            # Many messages to a transaction; a rerun skips what was committed.
            for results in import_messages(spool, _ingest(runtime), messages, envelope):
                outcomes.update(result.action for result in results)
                bar.update(1)
        except DatabaseUnavailable as exc:
            raise CommandFailed(f"the database went away: {exc}") from exc
        except OSError as exc:
            # Its str names the file: the spool's, or the one being read.
            raise CommandFailed(f"import stopped: {exc}") from exc
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
    from mailgate.pipeline import decision_record

    tenant_id = _tenant_id(runtime, slug)
    try:
        decided = _ingest(runtime).explain(file.read_bytes(), Envelope(), tenant_id=tenant_id)
    except MalformedMessage as exc:
        raise CommandFailed(f"not an e-mail: {exc}") from exc
    with session_scope(runtime.sessions()) as session:
        for msg in decided:
            # Printed from the record stored with every raw message, so that
            # what is explained is what is kept.
            _print_field("message", _header_line(msg))
            for label, text in _explanation(session, decision_record(msg)):
                _print_field(label, text)


@click.group()
def quarantine() -> None:
    """Mail that could not be processed: kept raw, for a person to look at."""


@quarantine.command("list")
@click.option("--tenant", "slug", default=None, help="Only this tenant's.")
@pass_runtime
def list_quarantine(runtime: Runtime, slug: str | None) -> None:
    """List quarantined messages, newest first; then the spool entries kept in its quarantine/."""
    tenant_id = _tenant_id(runtime, slug) if slug else None
    with session_scope(runtime.sessions()) as session:
        rows = list_raw_messages(
            session, Operator(), state=RawMessageState.QUARANTINED, tenant_id=tenant_id
        )
        for raw in rows:
            when = raw.received_at.strftime("%Y-%m-%d %H:%M:%S")
            tenant = raw.tenant_id if raw.tenant_id is not None else "-"
            click.echo(f"{raw.id}\t{when}\ttenant {tenant}\t{raw.size} bytes\t{raw.reason}")
    # Entries whose tenant the database does not confirm, so only in the full list.
    kept = [] if slug else list(_spool_quarantine(runtime))
    for line in kept:
        click.echo(line)
    if not rows and not kept:
        click.echo("quarantine is empty", err=True)


@quarantine.command("retry")
@click.argument("raw_id", type=int)
@pass_runtime
def retry(runtime: Runtime, raw_id: int) -> None:
    """Run a quarantined message through the pipeline again."""
    from mailgate.ingest import DatabaseUnavailable

    with session_scope(runtime.sessions()) as session:
        raw = get_raw_message(session, Operator(), raw_id)
        if raw.state not in {RawMessageState.QUARANTINED, RawMessageState.HELD}:
            raise CommandFailed(f"message {raw_id} is {raw.state.value}, not quarantined or held")
    try:
        results = _ingest(runtime).retry(raw_id)
    except DatabaseUnavailable as exc:
        raise CommandFailed(f"the database went away: {exc}") from exc
    for result in results:
        detail = f": {result.reason}" if result.reason else ""
        ticket = f" (ticket id {result.ticket_id})" if result.ticket_id else ""
        click.echo(f"{result.action}{ticket}{detail}")


def _spool_quarantine(runtime: Runtime) -> Iterator[str]:
    """A line for each entry of the spool's quarantine/.

    The drain keeps there the entries it could not even read, and those the
    database refused to keep even as quarantined (their tenant gone, say).
    """
    from mailgate.spool import Spool

    for entry in reversed(Spool(runtime.settings.spool_dir).entries("quarantine")):
        arrived = datetime.fromtimestamp((entry.arrived_at_ns or 0) / 1e9, UTC)
        size = entry.message_path.stat().st_size if entry.message_path.exists() else 0
        reason = entry.reason or "no reason recorded"
        when = arrived.strftime("%Y-%m-%d %H:%M:%S")
        yield f"spool\t{when}\ttenant -\t{size} bytes\t{reason} (kept in {entry.path})"


def _sources(path: Path) -> Iterator[Path]:
    """Yield each file and each Maildir under `path`, never looking inside a Maildir."""
    if path.is_file() or _is_maildir(path):
        yield path
    elif path.is_dir():
        for child in sorted(path.iterdir()):
            # As rglob does, never follow a link into a folder: it may loop.
            if not (child.is_symlink() and child.is_dir() and not _is_maildir(child)):
                yield from _sources(child)


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
    if path.is_dir():
        return len(mailbox.Maildir(path, factory=None, create=False))
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


def _header_line(msg: Any) -> str:
    sender = msg.sender.address if msg.sender else "(no From)"
    return f"<{msg.message_id or '-'}> from {sender}: {msg.subject!r}"


def _explanation(session: Session, record: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Label and text for each decision of a `decision_record`."""
    route, thread = record["route"], record["thread"]
    if route is not None:
        box = session.get(Mailbox, route["mailbox_id"]) if route["mailbox_id"] else None
        where = box.address if box else "no mailbox of the tenant named"
        yield "route", f"tenant {route['tenant_id']}, {where} (via {route['via']})"
    removed = ", ".join(record["untrusted_headers_removed"]) or "nothing"
    yield "trust", f"removed {removed}; DMARC: {record['dmarc_pass_domain'] or 'no trusted pass'}"
    evidence = record["kind_evidence"]
    yield "class", record["kind"] + (f" ({evidence})" if evidence else "")
    if thread is not None:
        yield "thread", _thread_line(session, thread)
        yield "evidence", thread["evidence"]
    if record["external_refs"]:
        yield "references", ", ".join(record["external_refs"])
    yield "text", f"{record['visible_chars']} of {record['full_chars']} characters visible"
    yield "", _indented(record["visible_text"])
    yield from _attachment_lines(record)
    yield "secrets", f"{record['masked_secrets']} masked"
    for label, key in (("held", "hold_reason"), ("dropped", "drop_reason")):
        if record[key]:
            yield label, record[key]
    if record["defects"]:
        yield "defects", "; ".join(record["defects"])


def _thread_line(session: Session, thread: dict[str, Any]) -> str:
    ticket = session.get(Ticket, thread["ticket_id"]) if thread["ticket_id"] else None
    target = f"ticket #{ticket.number}" if ticket else "a new ticket"
    return f"{thread['rule']} → {target} as {thread['standing']}"


def _attachment_lines(record: dict[str, Any]) -> Iterator[tuple[str, str]]:
    kept = [f"{p['filename']} ({p['type']}, {p['size']} bytes)" for p in record["attachments_kept"]]
    blocked = [f"{b['filename']}: {b['reason']}" for b in record["attachments_blocked"]]
    yield "kept", "; ".join(kept) or "none"
    yield "blocked", "; ".join(blocked) or "none"


def _indented(text: str, lines: int = 12) -> str:
    shown = text.splitlines()[:lines] or [""]
    return "\n".join(f"  | {line}" for line in shown)


def _print_field(label: str, text: str) -> None:
    if not label:
        click.echo(text)
        return
    click.echo(f"{label:<11}{text}")
