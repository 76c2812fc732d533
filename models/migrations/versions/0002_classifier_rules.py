"""classifier rules and faults on the inbound message

Revision ID: 0002_classifier_rules
Revises: 0001
Create Date: 2026-12-03 16:30:00

`rules`: the names of the classifier rules that fired on the message; `faults`: the reading steps
that failed on it with a bug ("classify:<rule>"). Rows taken in before this revision get [] for both.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_classifier_rules"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("inboundmessage", sa.Column("rules", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.add_column("inboundmessage", sa.Column("faults", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("inboundmessage") as batch:
        batch.drop_column("faults")
        batch.drop_column("rules")
