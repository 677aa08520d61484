"""Initial schema: tenant tables with forced row-level security, directory functions, grants.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Runs as the owner of the tables. The runtime role (named by configuration, see migrations/env.py)
gets exactly the rights the adapters use; it must already exist and must not be the owner.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = (
    "groups",
    "required_channels",
    "restrictions",
    "exemptions",
    "audit_events",
    "scheduled_actions",
)

RUNTIME_RIGHTS = {
    "groups": "SELECT, INSERT, UPDATE",
    "required_channels": "SELECT, INSERT, UPDATE, DELETE",
    "restrictions": "SELECT, INSERT, UPDATE, DELETE",
    "exemptions": "SELECT, INSERT, DELETE",
    "audit_events": "SELECT, INSERT",  # append-only
    "scheduled_actions": "SELECT, INSERT, UPDATE, DELETE",
}

TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"

DIRECTORY_READS = ("groups", "required_channels", "scheduled_actions")
"""Tables the directory functions (running as the owner) read across tenants."""

FUNCTIONS = {
    "directory_groups_requiring(bigint)": """
        CREATE FUNCTION directory_groups_requiring(p_channel_id bigint)
        RETURNS TABLE (tenant_id bigint)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS $$
            SELECT c.tenant_id
            FROM public.required_channels AS c
            JOIN public.groups AS g ON g.tenant_id = c.tenant_id
            WHERE c.channel_id = p_channel_id AND g.enabled
        $$
    """,
    "directory_groups_with_due_actions(timestamptz)": """
        CREATE FUNCTION directory_groups_with_due_actions(p_now timestamptz)
        RETURNS TABLE (tenant_id bigint)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS $$
            SELECT DISTINCT a.tenant_id
            FROM public.scheduled_actions AS a
            WHERE a.due_at <= p_now
        $$
    """,
}


def _runtime_role() -> str:
    role = context.config.attributes.get("runtime_role")
    if not isinstance(role, str) or not role:
        msg = "the runtime role is not configured (see migrations/env.py)"
        raise RuntimeError(msg)
    bind = op.get_bind()
    exists = bind.execute(
        sa.text("SELECT rolname = current_user FROM pg_roles WHERE rolname = :role"),
        {"role": role},
    ).scalar_one_or_none()
    if exists is None:
        msg = f"the runtime role {role!r} does not exist: create it first (LOGIN NOBYPASSRLS)"
        raise RuntimeError(msg)
    if exists:
        msg = f"the runtime role {role!r} is the owner running this migration: use another role"
        raise RuntimeError(msg)
    return bind.dialect.identifier_preparer.quote(role)


def _timestamp(name: str, *, default: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.text("now()") if default else None,
    )


def upgrade() -> None:
    runtime = _runtime_role()
    op.create_table(
        "groups",
        sa.Column("tenant_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("failure_policy", sa.Text(), server_default="open", nullable=False),
        sa.Column("warning_ttl", sa.Interval(), nullable=False),
        sa.Column("kick_after", sa.Interval(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        _timestamp("created_at", default=True),
        _timestamp("updated_at", default=True),
        sa.CheckConstraint(
            "failure_policy IN ('open', 'closed')", name=op.f("ck_groups_failure_policy")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_groups")),
    )
    op.create_table(
        "required_channels",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=True),
        sa.Column("invite_link", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["groups.tenant_id"],
            name=op.f("fk_required_channels_tenant_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "channel_id", name=op.f("pk_required_channels")),
    )
    op.create_index(op.f("ix_required_channels_channel_id"), "required_channels", ["channel_id"])
    op.create_table(
        "restrictions",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("missing", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        _timestamp("since"),
        sa.Column("warning_message_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name=op.f("pk_restrictions")),
    )
    op.create_index(
        op.f("ix_restrictions_tenant_id_since_user_id"),
        "restrictions",
        ["tenant_id", "since", "user_id"],
    )
    op.create_table(
        "exemptions",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        _timestamp("created_at", default=True),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name=op.f("pk_exemptions")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        _timestamp("at"),
        sa.Column("actor", sa.BigInteger(), nullable=True),
        sa.Column("subject", sa.BigInteger(), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_tenant_id_id"), "audit_events", ["tenant_id", "id"])
    op.create_table(
        "scheduled_actions",
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        _timestamp("due_at"),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_scheduled_actions")),
    )
    op.create_index(
        op.f("ix_scheduled_actions_tenant_id_due_at"), "scheduled_actions", ["tenant_id", "due_at"]
    )
    op.create_index(op.f("ix_scheduled_actions_due_at"), "scheduled_actions", ["due_at"])
    op.create_index(
        op.f("ix_scheduled_actions_tenant_id_user_id_kind"),
        "scheduled_actions",
        ["tenant_id", "user_id", "kind"],
    )

    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})"
        )
        op.execute(f"GRANT {RUNTIME_RIGHTS[table]} ON {table} TO {runtime}")
    # The owner (and so the SECURITY DEFINER functions it owns) may read across tenants; FORCE
    # still holds it to the tenant policy for every write.
    for table in DIRECTORY_READS:
        op.execute(
            f"CREATE POLICY owner_directory ON {table} FOR SELECT TO CURRENT_USER USING (true)"
        )

    for signature, definition in FUNCTIONS.items():
        op.execute(definition)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {runtime}")


def downgrade() -> None:
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    for table in reversed(TENANT_TABLES):
        op.drop_table(table)
