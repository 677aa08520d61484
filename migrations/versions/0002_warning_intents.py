"""What a muted member's warning needs, kept with the restriction (rule 11: warnings are sent
later, by the paced sender, from what is remembered).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Adds `member_name`, `reason` and `thread_id` to `restrictions`, and an index to find every
member a (merged) warning names. The runtime role's rights on the table are unchanged.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "restrictions", sa.Column("member_name", sa.Text(), server_default="", nullable=False)
    )
    op.add_column(
        "restrictions", sa.Column("reason", sa.Text(), server_default="spoke", nullable=False)
    )
    op.add_column("restrictions", sa.Column("thread_id", sa.BigInteger(), nullable=True))
    op.create_index(
        op.f("ix_restrictions_tenant_id_warning_message_id"),
        "restrictions",
        ["tenant_id", "warning_message_id"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_restrictions_tenant_id_warning_message_id"), "restrictions")
    op.drop_column("restrictions", "thread_id")
    op.drop_column("restrictions", "reason")
    op.drop_column("restrictions", "member_name")
