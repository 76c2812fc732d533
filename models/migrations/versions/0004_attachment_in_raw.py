"""attachments read from the raw message: no decoded copy stored beside it (issue 8.5)

A message with a 25 MB file was stored twice over: the raw mail and the decoded file. From here an
attachment row keeps what it is (name, type, size, sha256) and where it is in the message (part_index:
its position in inbox.parse.parts.walk), and inbox.parse.attachments.stored_attachment_bytes decodes it
from the raw message on demand. payload becomes nullable: rows stored before keep their payload and are
read from it, so nothing has to parse the stored mail again.

Revision ID: 0004_attachment_in_raw
Revises: 0003_content_key
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_attachment_in_raw"
down_revision: str | None = "0003_content_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("storedattachment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("part_index", sa.Integer(), nullable=True))
        batch_op.alter_column("payload", existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    # The old schema needs every payload: decoded from the raw messages, so a downgrade loses nothing.
    from inbox.parse.attachments import decode_attachment

    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT a.id, a.part_index, m.raw FROM storedattachment a JOIN inboundmessage m"
            " ON m.id = a.inbound_message_id WHERE a.payload IS NULL"
        )
    )
    for attachment_id, part_index, raw in rows.all():
        connection.execute(
            sa.text("UPDATE storedattachment SET payload = :payload WHERE id = :id"),
            {"payload": decode_attachment(bytes(raw), part_index), "id": attachment_id},
        )
    with op.batch_alter_table("storedattachment", schema=None) as batch_op:
        batch_op.alter_column("payload", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("part_index")
