"""a held session's outcome (agreement reached, partly, or not)

Revision ID: 0009_session_outcome
Revises: 0008_shared_phone_numbers
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_session_outcome"
down_revision: str | None = "0008_shared_phone_numbers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mediationsession", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mediationsession", schema=None) as batch_op:
        batch_op.drop_column("outcome")
