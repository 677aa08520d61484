"""What an answer to a command says, kept with its intent (rule 11: an answer Telegram could not
take at once is sent later, by the paced sender, never dropped).

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-02

Adds `answer_html`, `answer_keyboard` (the answer as the Telegram adapter rendered it) and
`answer_thread_id` (the forum topic it goes to) to `scheduled_actions`; all are NULL for every
other kind of action. The runtime role's rights on the table are unchanged.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("scheduled_actions", sa.Column("answer_html", sa.Text(), nullable=True))
    op.add_column("scheduled_actions", sa.Column("answer_keyboard", sa.Text(), nullable=True))
    op.add_column(
        "scheduled_actions", sa.Column("answer_thread_id", sa.BigInteger(), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("scheduled_actions", "answer_thread_id")
    op.drop_column("scheduled_actions", "answer_keyboard")
    op.drop_column("scheduled_actions", "answer_html")
