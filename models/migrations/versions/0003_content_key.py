"""inbound message content key: a reused Message-ID is not a duplicate unless the content is the same

Revision ID: 0003_content_key
Revises: 0002_classifier_rules
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003_content_key"
down_revision: str | None = "0002_classifier_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable and not back-filled: rows stored before it never count as copies of a new message
    # (inbox.intake._known), so nothing has to parse the stored mail again.
    with op.batch_alter_table("inboundmessage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inboundmessage", schema=None) as batch_op:
        batch_op.drop_column("content_key")
