"""the stored statutory deadlines: each open case's deadlines not yet met, the inbox's deadlines list

The table is filled by models.deadline_store.backfill with the models at head, once the whole upgrade
has run (models.db.upgrade reads the flag set here): the clock's rules read the cases through today's
models, which a later migration may change.

Revision ID: 0011_next_deadline
Revises: 0010_message_raw
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0011_next_deadline"
down_revision: str | None = "0010_message_raw"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_FLAG = "backfill_deadlines"


def upgrade() -> None:
    op.create_table(
        "pendingdeadline",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("case_id", "kind"),
    )
    op.create_index("ix_pendingdeadline_due", "pendingdeadline", ["due", "reference", "kind", "region"])
    op.get_context().config.attributes[BACKFILL_FLAG] = True  # type: ignore[union-attr]


def downgrade() -> None:
    op.drop_index("ix_pendingdeadline_due", table_name="pendingdeadline")
    op.drop_table("pendingdeadline")
