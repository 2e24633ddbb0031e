"""Retrying a quarantined or held message: processed again, and still stored only once."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from helpdesk.errors import NotFound
from helpdesk.models import RawMessage
from helpdesk.principal import Operator
from helpdesk.services.mailboxes import create_mailbox, credentials_box
from helpdesk.services.tenant_settings import update_tenant
from mailgate.ingest import DatabaseUnavailable, Ingest
from tests.factories import NOW
from tests.mailgate.desk import Desk, mail


def raw_ids(desk: Desk) -> list[int]:
    with desk.sessions() as session:
        return list(session.scalars(select(RawMessage.id).order_by(RawMessage.id)))


def limit_sender(desk: Desk, per_hour: int) -> None:
    settings = {"max_new_tickets_per_sender_per_hour": per_hour}
    desk.run(lambda s: update_tenant(s, Operator(), desk.acme, settings=settings, now=NOW))


def fresh_ingest(desk: Desk) -> Ingest:
    """An Ingest as `helpdesk quarantine retry` makes one: nothing of the desk kept yet."""
    return Ingest(desk.settings, desk.sessions, desk.ingest.store, clock=lambda: NOW)


def test_a_quarantined_message_that_now_can_land_replaces_its_quarantined_row(
    desk: Desk,
) -> None:
    # Given mail to an address that was no mailbox yet, quarantined
    [lost] = desk.send(mail(message_id="<early@client.example>"), "new@acme.test")
    assert lost.action == "quarantined"
    # When the mailbox exists and the message is retried
    box = credentials_box(desk.settings.secret_key)
    desk.run(
        lambda s: create_mailbox(
            s, Operator(), desk.acme, address="new@acme.test", box=box, now=NOW
        )
    )
    [result] = desk.ingest.retry(lost.raw_message_id or 0)
    # Then it opens its ticket, and the message is stored once
    assert (result.action, result.tenant_id) == ("created", desk.acme)
    assert raw_ids(desk) == [result.raw_message_id]
    assert desk.raw(result.raw_message_id).ticket_id == result.ticket_id


def test_a_message_that_still_fails_is_quarantined_again_once(desk: Desk) -> None:
    [garbage] = desk.send(b"\x00\x01 not a mail at all")
    [again] = desk.ingest.retry(garbage.raw_message_id or 0)
    assert again.action == "quarantined"
    assert again.reason == garbage.reason
    assert raw_ids(desk) == [again.raw_message_id]


def test_a_held_message_lands_once_its_limit_allows_it(desk: Desk) -> None:
    # Given a desk that lets a sender open one ticket an hour, and a second mail held
    limit_sender(desk, 1)
    first = desk.one(mail(message_id="<h1@client.example>"))
    held = desk.one(mail(subject="VPN down", message_id="<h2@client.example>"))
    assert (first.action, held.action) == ("created", "held_for_review")
    # When the limit is raised and the held message is retried
    limit_sender(desk, 5)
    [retried] = fresh_ingest(desk).retry(held.raw_message_id or 0)
    # Then it opens its own ticket, and nothing is stored twice
    assert retried.action == "created"
    assert retried.ticket_id not in (None, first.ticket_id)
    assert raw_ids(desk) == [first.raw_message_id, retried.raw_message_id]


def test_retrying_an_unknown_message_changes_nothing(desk: Desk) -> None:
    desk.one(mail())
    before = raw_ids(desk)
    with pytest.raises(NotFound):
        desk.ingest.retry(10**9)
    assert raw_ids(desk) == before


def test_a_retry_the_database_drops_halfway_leaves_the_message_as_it_was(
    desk: Desk, engine: Engine
) -> None:
    # Given a quarantined message, and a database that goes away as it is stored again
    [garbage] = desk.send(b"\x00\x01 not a mail at all")

    def gone(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO RAW_MESSAGES"):
            raise OperationalError(statement, None, Exception("server closed the connection"))

    event.listen(engine, "before_cursor_execute", gone)
    try:
        with pytest.raises(DatabaseUnavailable):
            desk.ingest.retry(garbage.raw_message_id or 0)
    finally:
        event.remove(engine, "before_cursor_execute", gone)
    # Then it is still there, quarantined, to be retried later
    assert raw_ids(desk) == [garbage.raw_message_id]
    assert desk.raw(garbage.raw_message_id).reason == garbage.reason
