"""ticket search index and list indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:00:00

Hand-written: autogenerate cannot express an FTS5 virtual table or a tsvector
table. The search table is not a model (helpdesk/search.py reaches it with
SQL); the models/migrations comparison ignores it by name.
"""

from collections.abc import Sequence

from alembic import op


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The keyset orders of the ticket lists: each index ends with the sort column and id.
INDEXES = {
    "ix_tickets_status_activity": ["tenant_id", "status", "last_activity_at", "id"],
    "ix_tickets_priority_activity": ["tenant_id", "priority", "last_activity_at", "id"],
    "ix_tickets_created": ["tenant_id", "created_at", "id"],
    "ix_tickets_updated": ["tenant_id", "updated_at", "id"],
    "ix_tickets_platform_activity": ["last_activity_at", "id"],
}

# Each ticket's text as helpdesk/search.py indexes it (kept in step by hand).
MAX_CHARS = 100000
SQLITE_TEXT = (
    "coalesce((SELECT substr(group_concat(m.body_text, char(10)), 1, {cap}) FROM messages AS m "
    "WHERE m.ticket_id = t.id AND m.visibility = '{visibility}'), '')"
)
PG_TEXT = (
    "coalesce((SELECT substring(string_agg(m.body_text, chr(10) ORDER BY m.created_at, m.id), "
    "1, {cap}) FROM messages AS m WHERE m.ticket_id = t.id AND m.visibility = '{visibility}'), '')"
)


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "tickets", columns, unique=False)
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        _postgres_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER ticket_search_delete")
    op.execute("DROP TABLE ticket_search")
    for name in INDEXES:
        op.drop_index(name, table_name="tickets")


def _sqlite_upgrade() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE ticket_search USING fts5("
        "subject, public_text, internal_text, tokenize = 'unicode61 remove_diacritics 2')"
    )
    # A virtual table has no foreign keys: a trigger drops a deleted ticket's row.
    op.execute(
        "CREATE TRIGGER ticket_search_delete AFTER DELETE ON tickets BEGIN "
        "DELETE FROM ticket_search WHERE rowid = old.id; END"
    )
    public, internal = (
        SQLITE_TEXT.format(cap=MAX_CHARS, visibility=v) for v in ("public", "internal")
    )
    op.execute(
        "INSERT INTO ticket_search (rowid, subject, public_text, internal_text) "
        f"SELECT t.id, t.subject, {public}, {internal} FROM tickets AS t"
    )


def _postgres_upgrade() -> None:
    op.execute(
        "CREATE TABLE ticket_search ("
        "ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE, "
        "public_vector TSVECTOR NOT NULL, all_vector TSVECTOR NOT NULL)"
    )
    op.execute("CREATE INDEX ix_ticket_search_public ON ticket_search USING gin (public_vector)")
    op.execute("CREATE INDEX ix_ticket_search_all ON ticket_search USING gin (all_vector)")
    public, internal = (PG_TEXT.format(cap=MAX_CHARS, visibility=v) for v in ("public", "internal"))
    op.execute(
        "INSERT INTO ticket_search (ticket_id, public_vector, all_vector) "
        "SELECT id, subject_v || public_v, subject_v || public_v || internal_v FROM ("
        "SELECT t.id, setweight(to_tsvector('simple', t.subject), 'A') AS subject_v, "
        f"setweight(to_tsvector('simple', {public}), 'B') AS public_v, "
        f"setweight(to_tsvector('simple', {internal}), 'C') AS internal_v "
        "FROM tickets AS t) AS parts"
    )
