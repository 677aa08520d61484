"""The join-request gate (rule 14): its two settings and the requests it holds pending.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Adds `join_gate` and `join_gate_timeout` to `groups`, and the tenant table `join_requests`
(forced row-level security with the same `tenant_isolation` policy as every tenant table; the
runtime role may read, insert, update and delete its rows).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0006"
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
    op.add_column(
        "groups",
        sa.Column("join_gate", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "groups",
        sa.Column(
            "join_gate_timeout",
            sa.Interval(),
            server_default=sa.text("'1 hour'"),
            nullable=True,
        ),
    )
    op.create_table(
        "join_requests",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("user_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name=op.f("pk_join_requests")),
    )
    op.execute("ALTER TABLE join_requests ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE join_requests FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON join_requests "
        f"USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON join_requests TO {runtime}")


def downgrade() -> None:
    op.drop_table("join_requests")
    op.drop_column("groups", "join_gate_timeout")
    op.drop_column("groups", "join_gate")
