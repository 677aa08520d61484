"""The directory answers "where did the bot mute this member?" (rule 12: a muted member can
always learn why, from the private chat with the bot).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Adds `directory_groups_muting(bigint)`, a `SECURITY DEFINER` function owned by the schema owner
that returns the ids of the protected groups where the member has a restriction of the bot's,
and nothing else; and the owner's read-only `owner_directory` policy on `restrictions` it needs
(FORCE row-level security still holds the owner to the tenant policy for every write).
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "directory_groups_muting(bigint)"


def upgrade() -> None:
    role = context.config.attributes.get("runtime_role")
    if not isinstance(role, str) or not role:
        msg = "the runtime role is not configured (see migrations/env.py)"
        raise RuntimeError(msg)
    runtime = op.get_bind().dialect.identifier_preparer.quote(role)
    op.execute(
        "CREATE POLICY owner_directory ON restrictions FOR SELECT TO CURRENT_USER USING (true)"
    )
    op.execute(
        """
        CREATE FUNCTION directory_groups_muting(p_user_id bigint)
        RETURNS TABLE (tenant_id bigint)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS $$
            SELECT r.tenant_id
            FROM public.restrictions AS r
            JOIN public.groups AS g ON g.tenant_id = r.tenant_id
            WHERE r.user_id = p_user_id AND g.enabled
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {runtime}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.execute("DROP POLICY owner_directory ON restrictions")
