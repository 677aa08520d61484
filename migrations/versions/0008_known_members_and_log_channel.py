"""Issue 11: usernames the bot has seen in a group (`/exempt @username`), and a log channel per
group (`/setlog`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Adds the tenant-owned table `known_members` (one row per member the bot saw with a username in
the group; the username lower-cased and unique within the group) with the same row-level
security as every tenant table, and the runtime role's rights on it (the Bot API cannot look a
user up by username).

Adds to `groups` the log channel (`log_channel_id`, `log_channel_title`) and `log_cursor`, the id
of the last audit event posted there; and `directory_groups_with_unposted_log()`, a `SECURITY
DEFINER` function returning the ids of the groups with a log channel and events after their
cursor, with the owner's read-only `owner_directory` policy on `audit_events` it needs; and
`directory_groups_seen_with(bigint)`, the groups where the bot saw a user (the candidates a
private `/settings` checks with Telegram), with the same policy on `known_members`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPOSTED = "directory_groups_with_unposted_log()"
SEEN_WITH = "directory_groups_seen_with(bigint)"
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
        sa.Column("username", sa.Text(), nullable=True),
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
    op.create_index(op.f("ix_known_members_user_id"), "known_members", ["user_id"])
    op.execute("ALTER TABLE known_members ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE known_members FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON known_members "
        f"USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON known_members TO {runtime}")

    op.add_column("groups", sa.Column("log_channel_id", sa.BigInteger(), nullable=True))
    op.add_column("groups", sa.Column("log_channel_title", sa.Text(), nullable=True))
    op.add_column(
        "groups",
        sa.Column("log_cursor", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )
    op.execute(
        "CREATE POLICY owner_directory ON audit_events FOR SELECT TO CURRENT_USER USING (true)"
    )
    op.execute(
        f"""
        CREATE FUNCTION {UNPOSTED}
        RETURNS TABLE (tenant_id bigint)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS $$
            SELECT g.tenant_id
            FROM public.groups AS g
            WHERE g.log_channel_id IS NOT NULL
              AND EXISTS (
                SELECT 1 FROM public.audit_events AS a
                WHERE a.tenant_id = g.tenant_id AND a.id > g.log_cursor
              )
        $$
        """
    )
    op.execute(
        "CREATE POLICY owner_directory ON known_members FOR SELECT TO CURRENT_USER USING (true)"
    )
    op.execute(
        """
        CREATE FUNCTION directory_groups_seen_with(p_user_id bigint)
        RETURNS TABLE (tenant_id bigint)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS $$
            SELECT m.tenant_id FROM public.known_members AS m WHERE m.user_id = p_user_id
        $$
        """
    )
    for signature in (UNPOSTED, SEEN_WITH):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {runtime}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SEEN_WITH}")
    op.execute("DROP POLICY owner_directory ON known_members")
    op.execute(f"DROP FUNCTION {UNPOSTED}")
    op.execute("DROP POLICY owner_directory ON audit_events")
    op.drop_column("groups", "log_cursor")
    op.drop_column("groups", "log_channel_title")
    op.drop_column("groups", "log_channel_id")
    op.drop_table("known_members")
