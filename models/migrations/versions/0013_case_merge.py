"""two cases merged into one: the merged case points at the case that carries on (issue 12)

Revision ID: 0013_case_merge
Revises: 0012_case_search
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_case_merge"
down_revision: str | None = "0012_case_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: no batch copy of the case table, which every other table
    # references (SQLite takes an inline REFERENCES on a nullable column, but not as Alembic writes it).
    if op.get_bind().dialect.name == "sqlite":
        op.execute('ALTER TABLE "case" ADD COLUMN merged_into_id INTEGER REFERENCES "case" (id)')
        return
    op.add_column(
        "case",
        sa.Column("merged_into_id", sa.Integer(), sa.ForeignKey("case.id", name="fk_case_merged_into"), nullable=True),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute('ALTER TABLE "case" DROP COLUMN merged_into_id')  # SQLite 3.35+; no index names it
        return
    op.drop_constraint("fk_case_merged_into", "case", type_="foreignkey")
    op.drop_column("case", "merged_into_id")
