"""a phone number may belong to several contacts; an email address to one

A contact point was unique by (kind, value), so a number given by two families (a family centre's
line, a shared home phone) made the second family's referral join the first family's contact. From
here a point is unique per contact, and email addresses stay unique across contacts (how a contact
is known again) by a partial unique index.

Revision ID: 0008_shared_phone_numbers
Revises: 0007_case_inbox
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_shared_phone_numbers"
down_revision: str | None = "0007_case_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMAIL_ONLY = sa.text("kind = 'email'")


def upgrade() -> None:
    with op.batch_alter_table("contactpoint", schema=None) as batch_op:
        batch_op.drop_constraint("uq_contactpoint_kind_value", type_="unique")
        batch_op.create_unique_constraint("uq_contactpoint_contact_kind_value", ["contact_id", "kind", "value"])
    op.create_index(
        "uq_contactpoint_email",
        "contactpoint",
        ["value"],
        unique=True,
        sqlite_where=EMAIL_ONLY,
        postgresql_where=EMAIL_ONLY,
    )


def downgrade() -> None:
    # Fails, as it should, where two contacts now share a number: which one keeps it is a person's call.
    op.drop_index("uq_contactpoint_email", table_name="contactpoint")
    with op.batch_alter_table("contactpoint", schema=None) as batch_op:
        batch_op.drop_constraint("uq_contactpoint_contact_kind_value", type_="unique")
        batch_op.create_unique_constraint("uq_contactpoint_kind_value", ["kind", "value"])
