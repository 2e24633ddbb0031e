"""The spool drained through the pipeline: done once committed, kept while the database is away."""

from __future__ import annotations

import dataclasses
import smtplib
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from helpdesk.db import make_engine, make_session_factory
from helpdesk.settings import Listen, Settings
from mailgate.drain import SpoolDrainer, drain_spool
from mailgate.ingest import DatabaseUnavailable, Ingest
from mailgate.smtp import start_smtp
from mailgate.spool import Envelope, Spool
from tests.factories import NOW
from tests.mailgate.desk import build_desk, mail
from tests.servers import free_port


def stored(spool: Spool, data: bytes) -> None:
    envelope = Envelope("ann@client.example", ("support@acme.test",), "smtp", NOW)
    spool.store(data, envelope)


def test_drained_messages_become_tickets_and_their_entries_are_done(
    settings: Settings, engine: Engine
) -> None:
    desk = build_desk(settings, engine)
    spool = Spool(settings.spool_dir)
    stored(spool, mail(message_id="<d1@client.example>"))
    stored(spool, mail(subject="Re: x", in_reply_to="<d1@client.example>"))
    assert drain_spool(spool, desk.ingest) == 2
    assert len(desk.tickets(desk.acme)) == 1
    assert len(spool.entries("done")) == 2
    assert spool.pending() == []


def test_database_away_leaves_the_message_waiting_in_the_spool(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    desk = build_desk(settings, engine)
    spool = Spool(settings.spool_dir)
    stored(spool, mail())
    gone = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path}/no/such/dir/x.db")
    broken = Ingest(gone, make_session_factory(make_engine(gone.database_url)), desk.ingest.store)
    with pytest.raises(DatabaseUnavailable):
        drain_spool(spool, broken)
    assert len(spool.pending()) == 1
    assert spool.entries("done") == []


def test_unreadable_entry_goes_to_the_spool_quarantine_and_others_go_on(
    settings: Settings, engine: Engine
) -> None:
    desk = build_desk(settings, engine)
    spool = Spool(settings.spool_dir)
    stored(spool, mail())
    stored(spool, mail(subject="second"))
    (spool.pending()[0].path / "envelope.json").write_text("{ not json")
    assert drain_spool(spool, desk.ingest) == 1
    assert len(spool.entries("quarantine")) == 1
    assert len(desk.tickets(desk.acme)) == 1


def test_mail_accepted_over_smtp_becomes_a_ticket(settings: Settings, engine: Engine) -> None:
    desk = build_desk(settings, engine)
    smtp_settings = dataclasses.replace(settings, smtp_listen=Listen("127.0.0.1", free_port()))
    controller = start_smtp(smtp_settings, desk.sessions)
    drainer = SpoolDrainer(Spool(settings.spool_dir), desk.ingest)
    drainer.start()
    try:
        with smtplib.SMTP(*_address(smtp_settings)) as client:
            # On the wire every line ends in CRLF: the server refuses bare LF.
            wire = mail().replace(b"\n", b"\r\n")
            client.sendmail("ann@client.example", ["support@acme.test"], wire)
        deadline = time.monotonic() + 10
        while not desk.tickets(desk.acme) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        drainer.stop()
        controller.stop()
    [ticket] = desk.tickets(desk.acme)
    assert ticket.subject == "Printer on fire"


def _address(settings: Settings) -> tuple[str, int]:
    return settings.smtp_listen.host, settings.smtp_listen.port
