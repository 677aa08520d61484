"""Usernames the bot has seen in a group, so that `/exempt @username` can name a member
(issue 11: the Bot API cannot look a user up by username).

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02

Adds the tenant-owned table `known_members` (one row per member the bot saw with a username in
the group; the username lower-cased and unique within the group) with the same row-level
security as every tenant table, and the runtime role's rights on it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def upgrade() -> None:
    role = context.config.attributes.get("runtime_role")
    if not isinstance(role, str) or not role:
        msg = "the runtime role is not configured (see migrations/env.py)"
        raise RuntimeError(msg)
    runtime = op.get_bind().dialect.identifier_preparer.quote(role)
    op.create_table(
        "known_members",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column(
            "seen_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name=op.f("pk_known_members")),
    )
    op.create_index(
        op.f("ix_known_members_tenant_id_username"),
        "known_members",
        ["tenant_id", "username"],
        unique=True,
    )
    op.execute("ALTER TABLE known_members ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE known_members FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON known_members "
        f"USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON known_members TO {runtime}")


def downgrade() -> None:
    op.drop_table("known_members")
