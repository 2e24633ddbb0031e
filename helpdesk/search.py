"""Full-text search over tickets: one index row per ticket, rewritten as each transaction commits.

Each ticket is indexed twice over: what its clients may read (the subject and
the public messages) and everything (internal notes too). On SQLite the row
lives in an FTS5 table with one column per part, and a client's search is
restricted to the public columns; on PostgreSQL it holds two `tsvector`s, each
with a GIN index, and a client's search reads only the public one. Either way
an internal note's words cannot make a ticket match for a client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import (
    BindParameter,
    Float,
    Integer,
    Subquery,
    TextClause,
    bindparam,
    event,
    func,
    select,
    text,
)
from sqlalchemy.orm import Session

from helpdesk.enums import Visibility
from helpdesk.models import Ticket
from helpdesk.transaction_state import transaction_state

SEARCH_TABLE = "ticket_search"
# Where a session keeps the ids of the tickets whose index rows are due.
_PENDING = "helpdesk.search.pending"
# Queries use this many words at most; more add nothing but cost.
MAX_TERMS = 16
MAX_TERM_LENGTH = 64
# Each part of a ticket is indexed up to this many characters: a tsvector
# holds at most 1 MB, and the first messages say what a ticket is about.
MAX_INDEXED_CHARS = 100_000
_WORD = re.compile(r"[^\W_]+")

Progress = Callable[[int, int], None]
_VISIBILITIES = {"public": Visibility.PUBLIC.value, "internal": Visibility.INTERNAL.value}


def is_search_table(name: str) -> bool:
    """Whether a table belongs to the search index (FTS5 keeps shadow tables beside it)."""
    return name == SEARCH_TABLE or name.startswith(f"{SEARCH_TABLE}_")


def search_terms(query: str) -> list[str]:
    """Return the words of a search query, lower-cased, each once, in order.

    Only letters and digits make words, so nothing a user types can reach the
    search engines' own query syntax.
    """
    words = (word.lower()[:MAX_TERM_LENGTH] for word in _WORD.findall(query))
    return list(dict.fromkeys(words))[:MAX_TERMS]


def index_ticket(session: Session, ticket: Ticket) -> None:
    """Have the ticket's index row rewritten before this transaction commits.

    The rows of every ticket a transaction touched are rewritten together,
    in one statement, just before it commits (or before a search in it):
    a batch of mail that lands fifty messages costs one rewrite, not fifty.
    """
    if ticket.id is None:
        session.flush()
    _pending(session).add(ticket.id)


def index_pending(session: Session) -> None:
    """Rewrite now the index rows `index_ticket` asked for in this transaction."""
    pending = _pending(session)
    index_tickets(session, pending)
    # A transaction that ends before its commit owes nothing more: its state
    # goes with it. An id whose ticket a savepoint rolled back merely has its
    # row deleted.
    pending.clear()


def _pending(session: Session) -> set[int]:
    return transaction_state(session, _PENDING, set)


@event.listens_for(Session, "before_commit")
def _index_before_commit(session: Session) -> None:
    index_pending(session)


def index_tickets(session: Session, ticket_ids: Iterable[int]) -> None:
    """Rewrite the index rows of these tickets; flushes pending changes first."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return
    session.flush()
    parameters = {"ids": ids, "cap": MAX_INDEXED_CHARS, **_VISIBILITIES}
    rebuild = _SQLITE_DELETE_REPLACE if _dialect(session) == "sqlite" else _PG_UPSERT
    for statement in rebuild:
        session.execute(statement, parameters)


def reindex_tickets(
    session: Session,
    tenant_id: int | None = None,
    *,
    progress: Progress | None = None,
    batch_size: int = 1000,
) -> int:
    """Rebuild the index rows of every ticket (of one tenant); return how many.

    `progress(done, total)` is called after each batch.
    """
    scope = select(Ticket.id)
    if tenant_id is not None:
        scope = scope.where(Ticket.tenant_id == tenant_id)
    total = session.scalar(select(func.count()).select_from(scope.subquery())) or 0
    done, last_id = 0, 0
    while True:
        batch = list(
            session.scalars(scope.where(Ticket.id > last_id).order_by(Ticket.id).limit(batch_size))
        )
        if not batch:
            return done
        index_tickets(session, batch)
        done, last_id = done + len(batch), batch[-1]
        if progress:
            progress(done, total)


def search_hits(session: Session, terms: Sequence[str], *, everything: bool) -> Subquery:
    """Return a subquery of the tickets matching every term: (ticket_id, score).

    A higher score is a better match. `everything` searches internal notes
    too; without it only what clients may read.

    Raises:
        ValueError: no terms (check `search_terms` first).
    """
    if not terms:
        raise ValueError("search for at least one word")
    index_pending(session)  # the transaction's own changes are found too
    if _dialect(session) == "sqlite":
        statement = _sqlite_hits(terms, everything=everything)
    else:
        statement = _postgres_hits(terms, everything=everything)
    return statement.columns(ticket_id=Integer(), score=Float()).subquery("search_hits")


def _sqlite_hits(terms: Sequence[str], *, everything: bool) -> TextClause:
    # Each word is a quoted prefix phrase; a column filter keeps a client's
    # search out of the internal_text column.
    phrases = " ".join(f'"{term}"*' for term in terms)
    match = phrases if everything else f"{{subject public_text}} : ({phrases})"
    return text(_SQLITE_HITS).bindparams(search_match=match)


def _postgres_hits(terms: Sequence[str], *, everything: bool) -> TextClause:
    query = " & ".join(f"'{term}':*" for term in terms)
    statement = _PG_ALL_HITS if everything else _PG_PUBLIC_HITS
    return text(statement).bindparams(search_query=query)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _statements(sql: list[str]) -> list[TextClause]:
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    return [text(statement).bindparams(ids) for statement in sql]


# A subject match weighs ten times a match in the messages.
_SQLITE_HITS = """
SELECT rowid AS ticket_id, -bm25(ticket_search, 10.0, 1.0, 1.0) AS score
FROM ticket_search WHERE ticket_search MATCH :search_match
"""
# ts_rank weighs the subject (A) 1.0, public messages (B) 0.4, notes (C) 0.2.
# Its real is widened to a double so that a page key holds the score exactly.
# The 'simple' configuration lower-cases words and stems nothing: tenants
# write in many languages, and a wrong language's stemmer is worse than none.
_PG_PUBLIC_HITS = """
SELECT ticket_id, ts_rank(public_vector, search_query)::float8 AS score
FROM ticket_search, to_tsquery('simple', :search_query) AS search_query
WHERE public_vector @@ search_query
"""
_PG_ALL_HITS = """
SELECT ticket_id, ts_rank(all_vector, search_query)::float8 AS score
FROM ticket_search, to_tsquery('simple', :search_query) AS search_query
WHERE all_vector @@ search_query
"""
# A ticket's messages of one visibility, oldest first, as one text of at most :cap characters.
# SQLite before 3.44 has no ORDER BY inside group_concat: it aggregates an ordered subquery.
# FTS5 replaces a row by its rowid on INSERT OR REPLACE, old terms and all.
_SQLITE_REPLACE = """
INSERT OR REPLACE INTO ticket_search (rowid, subject, public_text, internal_text)
SELECT t.id, t.subject,
    coalesce((SELECT substr(group_concat(body_text, char(10)), 1, :cap) FROM (
              SELECT m.body_text FROM messages AS m
              WHERE m.ticket_id = t.id AND m.visibility = :public
              ORDER BY m.created_at, m.id)), ''),
    coalesce((SELECT substr(group_concat(body_text, char(10)), 1, :cap) FROM (
              SELECT m.body_text FROM messages AS m
              WHERE m.ticket_id = t.id AND m.visibility = :internal
              ORDER BY m.created_at, m.id)), '')
FROM tickets AS t WHERE t.id IN :ids
"""
_PG_REBUILD = [
    """
INSERT INTO ticket_search (ticket_id, public_vector, all_vector)
SELECT id, subject_v || public_v, subject_v || public_v || internal_v FROM (
    SELECT t.id,
        setweight(to_tsvector('simple', t.subject), 'A') AS subject_v,
        setweight(to_tsvector('simple', coalesce((
            SELECT substring(string_agg(m.body_text, chr(10) ORDER BY m.created_at, m.id), 1, :cap)
            FROM messages AS m WHERE m.ticket_id = t.id AND m.visibility = :public), '')), 'B')
            AS public_v,
        setweight(to_tsvector('simple', coalesce((
            SELECT substring(string_agg(m.body_text, chr(10) ORDER BY m.created_at, m.id), 1, :cap)
            FROM messages AS m WHERE m.ticket_id = t.id AND m.visibility = :internal), '')), 'C')
            AS internal_v
    FROM tickets AS t WHERE t.id IN :ids
) AS parts
ON CONFLICT (ticket_id) DO UPDATE
SET public_vector = excluded.public_vector, all_vector = excluded.all_vector
"""
]
# Built once: parsing the SQL text for its parameters costs more than running it.
# The rows of tickets that are gone are deleted; the others replaced.
_SQLITE_DELETE_REPLACE = _statements(
    ["DELETE FROM ticket_search WHERE rowid IN :ids", _SQLITE_REPLACE]
)
_PG_UPSERT = _statements(_PG_REBUILD)
