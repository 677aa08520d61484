"""The intake journal: updates taken from Telegram are kept until handled (rule 10).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Adds `taken_updates`, which belongs to no tenant (it holds the bot's intake, before any group is
known): no row-level security, and the runtime role may read, add, update and delete its rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "taken_updates",
        sa.Column("bot_id", sa.BigInteger(), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "taken_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("bot_id", "update_id", name=op.f("pk_taken_updates")),
    )
    op.create_index(op.f("ix_taken_updates_taken_at"), "taken_updates", ["taken_at"])
    role = context.config.attributes.get("runtime_role")
    if not isinstance(role, str) or not role:
        msg = "the runtime role is not configured (see migrations/env.py)"
        raise RuntimeError(msg)
    runtime = op.get_bind().dialect.identifier_preparer.quote(role)
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON taken_updates TO {runtime}")


def downgrade() -> None:
    op.drop_index(op.f("ix_taken_updates_taken_at"), "taken_updates")
    op.drop_table("taken_updates")
