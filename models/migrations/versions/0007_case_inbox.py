"""the coordinators' case inbox: sign-in sessions, sign-in attempts, cases with unseen news (issue 12)

Also the indexes the inbox's queries need at 100,000 cases (bench/inbox.py): open inbox items by age,
new cases by age, and a case's audit trail.

Revision ID: 0007_case_inbox
Revises: 0006_sessions
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from models.types import UTCDateTime

revision: str = "0007_case_inbox"
down_revision: str | None = "0006_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staffsession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staffuser.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_staffsession_staff_id", "staffsession", ["staff_id"])
    op.create_table(
        "loginattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("client", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_loginattempt_email_at", "loginattempt", ["email", "at"])
    op.create_index("ix_loginattempt_client_at", "loginattempt", ["client", "at"])
    op.create_table(
        "caseattention",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_caseattention_since", "caseattention", ["since"])
    op.create_index("ix_inboxitem_status_created", "inboxitem", ["status", "created_at"])
    # ix_case_inbox leads with status, so it serves every look-up by status; the old single-column
    # index only tempted PostgreSQL's planner away from the covering one (heap fetches for each new case).
    op.drop_index("ix_case_status", table_name="case")
    op.create_index(
        "ix_case_inbox", "case", ["status", "region", "local_authority", "service", "coordinator_id", "created_at"]
    )
    op.create_index("ix_auditevent_entity", "auditevent", ["entity", "entity_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_auditevent_entity", table_name="auditevent")
    op.drop_index("ix_case_inbox", table_name="case")
    op.create_index("ix_case_status", "case", ["status"])
    op.drop_index("ix_inboxitem_status_created", table_name="inboxitem")
    op.drop_table("caseattention")
    op.drop_table("loginattempt")
    op.drop_table("staffsession")
