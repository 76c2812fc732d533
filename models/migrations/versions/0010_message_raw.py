"""a message's raw bytes in a table of their own, apart from its row (issue 8.5)

The raw mail was a column of inboundmessage: every UPDATE of the row as intake decided about it
(SQLite rewrites the whole row) and every load of the row copied the bytes, 3x a 39 MB message in
intake. They move to inboundraw (one row per message, keyed by its id); the data is copied, the
column dropped (in place). A downgrade copies them back.

Revision ID: 0010_message_raw
Revises: 0009_session_outcome
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_message_raw"
down_revision: str | None = "0009_session_outcome"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inboundraw",
        sa.Column("inbound_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["inbound_id"], ["inboundmessage.id"]),
        sa.PrimaryKeyConstraint("inbound_id"),
    )
    op.execute("INSERT INTO inboundraw (inbound_id, raw) SELECT id, raw FROM inboundmessage")
    # ALTER TABLE ... DROP COLUMN, not batch mode's copy of the table: on SQLite (3.35 or later) a copy
    # would drop the table that inboundraw, attachments and quarantine entries refer to.
    op.drop_column("inboundmessage", "raw")


def downgrade() -> None:
    # NOT NULL with a default, added in place (SQLite cannot make a column NOT NULL afterwards without
    # copying the table): a message with no bytes (its case anonymised) gets the empty value, as before.
    empty = "X''" if op.get_bind().dialect.name == "sqlite" else "''::bytea"
    op.add_column("inboundmessage", sa.Column("raw", sa.LargeBinary(), nullable=False, server_default=sa.text(empty)))
    op.execute("UPDATE inboundmessage SET raw = r.raw FROM inboundraw r WHERE r.inbound_id = inboundmessage.id")
    op.drop_table("inboundraw")
