"""Full-text search of tickets: ranking, keeping the index current, and what clients may match."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from helpdesk.enums import Status
from helpdesk.models import Ticket
from helpdesk.principal import Principal
from helpdesk.queries.tickets import Key, Sort, SortField, TicketFilter, list_tickets
from helpdesk.search import MAX_INDEXED_CHARS, index_pending, reindex_tickets, search_terms
from helpdesk.services import messages, ticket_links
from helpdesk.services import tickets as svc
from helpdesk.services.contacts import client_principal
from tests.factories import NOW, make_ticket
from tests.ticket_helpers import Desk

LATER = NOW + timedelta(hours=1)
FILLER = " ".join(f"word{i} lorem ipsum dolor sit amet" for i in range(60))


def found(
    session: Session,
    actor: Principal,
    desk: Desk,
    q: str,
    sort: Sort | None = None,
    **filters: object,
) -> list[int]:
    criteria = TicketFilter(q=q, **filters)  # type: ignore[arg-type]
    tickets, _ = list_tickets(session, actor, desk.tenant.id, criteria, sort=sort, limit=200)
    return [ticket.id for ticket in tickets]


def requester_of(session: Session, ticket: Ticket) -> Principal:
    return client_principal(session, ticket.requester_id)


def test_a_subject_match_ranks_above_a_single_match_in_a_long_body(
    session: Session, desk: Desk
) -> None:
    titled = make_ticket(session, desk.tenant, subject="Invoice missing", body="Please help.")
    buried = make_ticket(session, desk.tenant, subject="Hello", body=f"{FILLER} invoice {FILLER}",
                         now=LATER)  # fmt: skip
    make_ticket(session, desk.tenant, subject="Unrelated", body="Nothing to see.")
    assert found(session, desk.agent, desk, "invoice") == [titled.id, buried.id]


def test_every_word_must_match_as_a_word_or_its_beginning(session: Session, desk: Desk) -> None:
    fire = make_ticket(session, desk.tenant, subject="Printer on fire", body="Smoke!")
    broken = make_ticket(session, desk.tenant, subject="Printer broken", body="No paper.")
    assert found(session, desk.agent, desk, "print FIRE") == [fire.id]
    assert sorted(found(session, desk.agent, desk, "prin")) == sorted([fire.id, broken.id])
    assert found(session, desk.agent, desk, "rinter") == []


def test_replies_are_found_by_staff_and_the_client(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant)
    messages.add_public_reply(session, desk.agent, ticket.id, "Try the zanzibar setting", now=LATER)
    client = requester_of(session, ticket)
    messages.add_client_reply(session, client, ticket.id, "The quokka is back", now=LATER)
    for actor in (desk.agent, client):
        assert found(session, actor, desk, "zanzibar") == [ticket.id]
        assert found(session, actor, desk, "quokka") == [ticket.id]


SNEAKY = [
    "kumquat",
    "kumq",
    "KUMQUAT",
    "internal_text:kumquat",
    "{internal_text}: kumquat",
    '"kumquat"',
    "kumquat OR fire",
    "NEAR(kumquat fire)",
    "all_vector @@ kumquat",
    "'kumquat':*",
    "fire kumquat",
]


def test_internal_notes_are_found_by_staff_and_never_by_clients(
    session: Session, desk: Desk
) -> None:
    ticket = make_ticket(session, desk.tenant, subject="Fire alarm", body="It rings.")
    messages.add_internal_note(session, desk.light, ticket.id, "The kumquat did it", now=LATER)
    client = requester_of(session, ticket)
    assert found(session, desk.agent, desk, "kumquat") == [ticket.id]
    assert found(session, desk.light, desk, "kumq") == [ticket.id]
    for query in SNEAKY:
        assert found(session, client, desk, query) == [], query
    assert found(session, client, desk, "fire") == [ticket.id]


def test_a_new_subject_is_searchable_at_once(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant, subject="Printer on fire", body="Help.")
    svc.change_subject(session, desk.agent, ticket.id, "Quarterly zeppelin", now=LATER)
    assert found(session, desk.agent, desk, "zeppelin") == [ticket.id]
    assert found(session, desk.agent, desk, "printer") == []


def test_merged_messages_are_found_on_the_ticket_they_moved_to(
    session: Session, desk: Desk
) -> None:
    source = make_ticket(session, desk.tenant, subject="Duplicate", body="A walrus ate it")
    messages.add_internal_note(session, desk.agent, source.id, "Narwhal suspected", now=NOW)
    target = make_ticket(session, desk.tenant, subject="Original", body="Something ate it")
    ticket_links.merge_tickets(session, desk.agent, source.id, target.id, now=LATER)
    assert found(session, desk.agent, desk, "walrus") == [target.id]
    assert found(session, desk.agent, desk, "narwhal") == [target.id]
    assert found(session, desk.agent, desk, "duplicate") == [source.id]
    assert found(session, requester_of(session, target), desk, "narwhal") == []


def test_reindexing_rebuilds_the_index_of_existing_tickets(session: Session, desk: Desk) -> None:
    tickets = [make_ticket(session, desk.tenant, subject=f"Gadget {i}") for i in range(3)]
    ids = sorted(ticket.id for ticket in tickets)
    column = "rowid" if session.get_bind().dialect.name == "sqlite" else "ticket_id"
    index_pending(session)  # as the commit would: the rows exist, then are lost
    session.execute(
        text(f"DELETE FROM ticket_search WHERE {column} BETWEEN {ids[0]} AND {ids[-1]}")
    )
    assert found(session, desk.agent, desk, "gadget") == []
    reports: list[tuple[int, int]] = []
    count = reindex_tickets(
        session, desk.tenant.id, progress=lambda *report: reports.append(report), batch_size=2
    )
    assert count == 3
    assert reports == [(2, 3), (3, 3)]
    assert sorted(found(session, desk.agent, desk, "gadget")) == ids


def test_a_query_without_words_lists_as_usual(session: Session, desk: Desk) -> None:
    tickets = [make_ticket(session, desk.tenant) for _ in range(2)]
    assert sorted(found(session, desk.agent, desk, " *** ")) == sorted(t.id for t in tickets)


def test_words_of_other_scripts_and_accents_are_found(session: Session, desk: Desk) -> None:
    greeting = make_ticket(session, desk.tenant, subject="Grüße aus Köln", body="Привет, мир")
    assert found(session, desk.agent, desk, "grüße") == [greeting.id]
    assert found(session, desk.agent, desk, "мир") == [greeting.id]


def test_search_combines_with_filters_and_an_explicit_sort(session: Session, desk: Desk) -> None:
    older = make_ticket(session, desk.tenant, subject="Router down", body="x")
    newer = make_ticket(session, desk.tenant, subject="Router slow", body="x", now=LATER)
    make_ticket(session, desk.tenant, subject="Router gone", body="x")
    svc.change_status(session, desk.agent, older.id, Status.ON_HOLD, now=LATER)
    svc.change_status(session, desk.agent, newer.id, Status.ON_HOLD, now=LATER)
    by_creation = Sort(SortField.CREATED, descending=False)
    on_hold = (Status.ON_HOLD,)
    assert found(session, desk.agent, desk, "router", by_creation, status=on_hold) == [
        older.id,
        newer.id,
    ]


def test_equally_good_matches_page_by_id_without_duplicates(session: Session, desk: Desk) -> None:
    same = [make_ticket(session, desk.tenant, subject="Toaster", body="Toast") for _ in range(5)]
    make_ticket(session, desk.tenant, subject="Kettle", body="Tea")
    seen: list[int] = []
    after: Key | None = None
    while True:
        criteria = TicketFilter(q="toaster")
        page, after = list_tickets(
            session, desk.agent, desk.tenant.id, criteria, after=after, limit=2
        )
        seen += [ticket.id for ticket in page]
        if after is None:
            break
    assert seen == sorted((ticket.id for ticket in same), reverse=True)


def test_search_terms_keep_only_letters_and_digits() -> None:
    assert search_terms('Printer* "on" fire:NEAR(x) OR -y _z_ ö2') == [
        "printer", "on", "fire", "near", "x", "or", "y", "z", "ö2",
    ]  # fmt: skip
    assert search_terms("a " * 40) == ["a"]
    assert len(search_terms(" ".join(f"w{i}" for i in range(40)))) == 16


def test_a_deleted_tickets_row_leaves_the_index(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant, subject="Ephemeral wombat")
    index_pending(session)  # as the commit would
    column = "rowid" if session.get_bind().dialect.name == "sqlite" else "ticket_id"
    rows = text(f"SELECT count(*) FROM ticket_search WHERE {column} = :id")
    assert session.scalar(rows, {"id": ticket.id}) == 1
    session.execute(delete(Ticket).where(Ticket.id == ticket.id))
    assert session.scalar(rows, {"id": ticket.id}) == 0


def test_a_very_long_ticket_keeps_its_oldest_text_searchable(session: Session, desk: Desk) -> None:
    # Given a ticket whose messages, a minute apart, add up to more than the index keeps
    ticket = make_ticket(session, desk.tenant, subject="Long thread", body="aardvark")
    padding = "filler " * (MAX_INDEXED_CHARS // 7)
    for minute, text_ in enumerate([padding, "zebrafish"], start=1):
        messages.add_public_reply(
            session, desk.agent, ticket.id, text_, now=NOW + timedelta(minutes=minute)
        )
    # Then the first message is found and the newest, beyond the cap, is not
    assert found(session, desk.agent, desk, "aardvark") == [ticket.id]
    assert found(session, desk.agent, desk, "zebrafish") == []


def test_a_ticket_keeps_one_index_row_holding_every_message(session: Session, desk: Desk) -> None:
    ticket = make_ticket(session, desk.tenant, subject="Printer", body="The toner is empty.")
    messages.add_public_reply(session, desk.agent, ticket.id, "Cartridge shipped.", now=LATER)
    messages.add_public_reply(session, desk.agent, ticket.id, "Delivered today.", now=LATER)
    index_pending(session)  # as the commit would
    column = "rowid" if session.get_bind().dialect.name == "sqlite" else "ticket_id"
    rows = text(f"SELECT count(*) FROM ticket_search WHERE {column} = :id")
    assert session.scalar(rows, {"id": ticket.id}) == 1
    for word in ("toner", "cartridge", "delivered"):
        assert found(session, desk.agent, desk, word) == [ticket.id], word
