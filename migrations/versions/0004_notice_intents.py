"""What an admin notice says, kept with its intent (rule 11: notices are sent later, by the
paced sender, from what is remembered).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Adds `notice` (the kind of notice) and `channel_id` (the required channel it is about) to
`scheduled_actions`; both are NULL for every other kind of action. The runtime role's rights on
the table are unchanged.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("scheduled_actions", sa.Column("notice", sa.Text(), nullable=True))
    op.add_column("scheduled_actions", sa.Column("channel_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("scheduled_actions", "channel_id")
    op.drop_column("scheduled_actions", "notice")
