"""RCPT checks: a list of receiving addresses kept a few seconds, the database beside it."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from helpdesk.db import SessionFactory, make_engine, make_session_factory, session_scope
from helpdesk.models import Mailbox, Tenant
from mailgate.recipients import KnownRecipients
from tests.factories import make_mailbox
from tests.mailgate.smtp_helpers import add_mailbox
from tests.statements import recorded_sql


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sessions(engine: Engine) -> SessionFactory:
    # Not the doors' SQLite copy of conftest.py: each backend, on the `engine`
    # whose statements these tests count.
    factory = make_session_factory(engine)
    add_mailbox(factory)
    return factory


def test_a_known_address_and_its_tagged_form_are_answered_from_the_list(
    sessions: SessionFactory, engine: Engine
) -> None:
    known = KnownRecipients(sessions, ttl=5.0, clock=Clock())
    assert known("support@acme.example")
    with recorded_sql(engine) as statements:
        assert known("Support+t0k3n@ACME.example")
        assert known("support@acme.example")
    assert len(statements) == 0


def test_a_mailbox_created_a_moment_ago_receives_at_once(
    sessions: SessionFactory,
) -> None:
    known = KnownRecipients(sessions, ttl=5.0, clock=Clock())
    assert not known("sales@acme.example")
    with session_scope(sessions) as session:
        acme = session.scalars(select(Tenant)).one()
        make_mailbox(session, acme, "sales@acme.example")
    assert known("sales@acme.example")


def test_a_mailbox_switched_off_is_refused_once_the_list_is_read_again(
    sessions: SessionFactory,
) -> None:
    clock = Clock()
    known = KnownRecipients(sessions, ttl=5.0, clock=clock)
    assert known("support@acme.example")
    with session_scope(sessions) as session:
        session.execute(update(Mailbox).values(active=False))
    clock.now = 4.9
    assert known("support@acme.example")
    clock.now = 5.0
    assert not known("support@acme.example")


def test_a_suspended_tenants_mailbox_is_not_in_the_list(sessions: SessionFactory) -> None:
    with session_scope(sessions) as session:
        session.execute(update(Tenant).values(active=False))
    assert not KnownRecipients(sessions, clock=Clock())("support@acme.example")


def test_a_stale_list_that_cannot_be_read_again_raises_for_a_451() -> None:
    # An empty database has no mailboxes table: every read fails.
    engine = make_engine("sqlite://")
    try:
        known = KnownRecipients(make_session_factory(engine), clock=Clock())
        with pytest.raises(SQLAlchemyError):
            known("support@acme.example")
    finally:
        engine.dispose()


def test_a_stale_list_that_cannot_be_read_again_raises_instead_of_answering_from_it(
    sessions: SessionFactory,
) -> None:
    clock = Clock()
    known = KnownRecipients(sessions, ttl=5.0, clock=clock)
    assert known("support@acme.example")
    # From now on every session reads a database without tables.
    broken = make_engine("sqlite://")
    try:
        sessions.configure(bind=broken)
        clock.now = 4.9
        assert known("support@acme.example")
        clock.now = 5.0
        with pytest.raises(SQLAlchemyError):
            known("support@acme.example")
        # The next sender is not answered from the stale list either.
        with pytest.raises(SQLAlchemyError):
            known("support@acme.example")
    finally:
        broken.dispose()


def test_known_at_once_answers_only_from_a_kept_list_not_too_old(
    sessions: SessionFactory, engine: Engine
) -> None:
    clock = Clock()
    known = KnownRecipients(sessions, ttl=5.0, clock=clock)
    # Nothing read yet: the door must ask (and may wait for the database).
    assert not known.known_at_once("support@acme.example")
    assert known("support@acme.example")
    with recorded_sql(engine) as statements:
        assert known.known_at_once("Support+t0k3n@ACME.example")
        # An address the list lacks may be a mailbox created a moment ago: ask.
        assert not known.known_at_once("sales@acme.example")
        clock.now = 5.0
        assert not known.known_at_once("support@acme.example")
    assert statements == []
