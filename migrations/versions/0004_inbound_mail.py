"""inbound mail: thread references, automatic answers, what a message's mail decided

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00

Hand-written, because SQLite needs care: it changes a constraint only by
copying the table, and dropping the old copy runs the foreign keys' ON DELETE
actions of the tables that point at it (the connection has foreign keys on,
and they cannot be turned off inside the migration's transaction). So the new
columns of `messages`, `mailboxes` and `contact_emails` are added in place
(the NOT NULL ones with a database default, as the models declare), and only
`raw_messages` is copied; the links from `messages.raw_message_id` that the
copy would clear are saved first and put back after.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _message_columns() -> list[sa.Column]:
    return [
        sa.Column("thread_evidence", sa.Text(), nullable=True),
        sa.Column("mail_kind", sa.String(length=16), nullable=True),
        sa.Column("hold_reason", sa.String(length=300), nullable=True),
        sa.Column("masked_secrets", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("blocked_attachments", JSON_DOC, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("external_refs", JSON_DOC, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    _create_thread_references()
    _create_auto_answers()
    for column in _message_columns():
        op.add_column("messages", column)
    op.add_column("contact_emails", sa.Column("bounce_reason", sa.Text(), nullable=True))
    op.add_column(
        "mailboxes",
        sa.Column("auto_answers_paused_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_mailboxes_tenant", "mailboxes", ["tenant_id"], unique=False)
    _upgrade_raw_messages()


def downgrade() -> None:
    # Going back restores one stored copy per Message-ID: it fails if two
    # different messages with the same Message-ID were kept since.
    _downgrade_raw_messages()
    op.drop_index("ix_mailboxes_tenant", table_name="mailboxes")
    op.drop_column("mailboxes", "auto_answers_paused_until")
    op.drop_column("contact_emails", "bounce_reason")
    for column in reversed(_message_columns()):
        op.drop_column("messages", column.name)
    op.drop_index("ix_auto_answers_recipient", table_name="auto_answers")
    op.drop_table("auto_answers")
    op.drop_index("ix_thread_references_ticket", table_name="thread_references")
    op.drop_table("thread_references")


def _create_thread_references() -> None:
    op.create_table(
        "thread_references",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("seen", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_thread_references_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_thread_references_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_references")),
        sa.UniqueConstraint(
            "tenant_id", "message_id", name=op.f("uq_thread_references_tenant_id_message_id")
        ),
    )
    op.create_index("ix_thread_references_ticket", "thread_references", ["ticket_id"])


def _create_auto_answers() -> None:
    op.create_table(
        "auto_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_auto_answers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_auto_answers_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_answers")),
    )
    op.create_index(
        "ix_auto_answers_recipient", "auto_answers", ["tenant_id", "recipient", "sent_at"]
    )


def _upgrade_raw_messages() -> None:
    op.add_column("raw_messages", sa.Column("fingerprint", sa.String(length=64), nullable=True))
    op.add_column("raw_messages", sa.Column("decision", JSON_DOC, nullable=True))
    # Rows stored before fingerprints existed get the hash of their bytes; a
    # second copy of the same bytes gets a key no fingerprint can take.
    op.execute("UPDATE raw_messages SET fingerprint = sha256, decision = '{}'")
    op.execute(
        "UPDATE raw_messages SET fingerprint = 'legacy-' || id WHERE id NOT IN "
        "(SELECT min(id) FROM raw_messages GROUP BY tenant_id, sha256)"
    )
    with _raw_message_links_kept(), op.batch_alter_table("raw_messages") as batch:
        batch.alter_column("fingerprint", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("decision", existing_type=JSON_DOC, nullable=False)
        batch.add_column(sa.Column("ticket_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_raw_messages_ticket_id_tickets"),
            "tickets",
            ["ticket_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.drop_constraint("uq_raw_messages_tenant_id_message_id", type_="unique")
        batch.create_unique_constraint(
            op.f("uq_raw_messages_tenant_id_fingerprint"), ["tenant_id", "fingerprint"]
        )
    op.create_index(
        "ix_raw_messages_tenant_state", "raw_messages", ["tenant_id", "state", "id"], unique=False
    )


def _downgrade_raw_messages() -> None:
    op.drop_index("ix_raw_messages_tenant_state", table_name="raw_messages")
    with _raw_message_links_kept(), op.batch_alter_table("raw_messages") as batch:
        batch.drop_constraint("uq_raw_messages_tenant_id_fingerprint", type_="unique")
        batch.drop_constraint("fk_raw_messages_ticket_id_tickets", type_="foreignkey")
        batch.drop_column("ticket_id")
        batch.drop_column("decision")
        batch.drop_column("fingerprint")
        batch.create_unique_constraint(
            op.f("uq_raw_messages_tenant_id_message_id"), ["tenant_id", "message_id"]
        )


@contextmanager
def _raw_message_links_kept() -> Iterator[None]:
    """On SQLite, save `messages.raw_message_id` around a copy of `raw_messages`."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute(
            "CREATE TEMPORARY TABLE raw_message_links AS "
            "SELECT id, raw_message_id FROM messages WHERE raw_message_id IS NOT NULL"
        )
    yield
    if sqlite:
        op.execute(
            "UPDATE messages SET raw_message_id = (SELECT l.raw_message_id "
            "FROM raw_message_links AS l WHERE l.id = messages.id) "
            "WHERE id IN (SELECT id FROM raw_message_links)"
        )
        op.execute("DROP TABLE raw_message_links")
