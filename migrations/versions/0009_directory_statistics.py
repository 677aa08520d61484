"""The directory counts what the metrics show across tenants (issue 14: gauges an operator can
alert on), without returning a single id.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Adds `directory_statistics()`, a `SECURITY DEFINER` function owned by the schema owner that
returns one row of counts: protected groups, members the bot holds muted, pending scheduled
actions, and the due time of the earliest one. It reads through the owner's read-only
`owner_directory` policies on `groups`, `required_channels`, `scheduled_actions` (0001) and
`restrictions` (0005).
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "directory_statistics()"


def upgrade() -> None:
    role = context.config.attributes.get("runtime_role")
    if not isinstance(role, str) or not role:
        msg = "the runtime role is not configured (see migrations/env.py)"
        raise RuntimeError(msg)
    runtime = op.get_bind().dialect.identifier_preparer.quote(role)
    op.execute(
        """
        CREATE FUNCTION directory_statistics()
        RETURNS TABLE (
            protected_groups bigint,
            muted_members bigint,
            pending_actions bigint,
            oldest_due_at timestamptz
        )
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS $$
            SELECT
                (SELECT count(*) FROM public.groups AS g
                 WHERE g.enabled AND EXISTS (
                     SELECT 1 FROM public.required_channels AS c WHERE c.tenant_id = g.tenant_id
                 )),
                (SELECT count(*) FROM public.restrictions),
                (SELECT count(*) FROM public.scheduled_actions),
                (SELECT min(a.due_at) FROM public.scheduled_actions AS a)
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {runtime}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
