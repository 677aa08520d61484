"""The directory finds the groups with due actions of given kinds (issue 15: flat idle cost).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

`directory_groups_with_due_actions(timestamptz)` answered every group with any action due, so
the paced sender visited each group with, say, a message deletion due (five use cases, a
transaction each, every second), and the due-actions loop each group with only a warning due:
with 1,000 groups the bot ran over 1,000 transactions a second with nothing to send. It becomes
`directory_groups_with_due_actions(timestamptz, text[])`: the groups with an action of one of
the kinds due. Still `SECURITY DEFINER`, owned by the schema owner, reading through the owner's
read-only `owner_directory` policy (0001), and returning ids only; the work then runs in each
tenant's scope. A partial index would not help more than `ix_scheduled_actions_due_at` (0001):
the kinds filter the due rows it finds.
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "directory_groups_with_due_actions(timestamptz)"
NEW = "directory_groups_with_due_actions(timestamptz, text[])"


def _runtime() -> str:
    role = context.config.attributes.get("runtime_role")
    if not isinstance(role, str) or not role:
        msg = "the runtime role is not configured (see migrations/env.py)"
        raise RuntimeError(msg)
    return op.get_bind().dialect.identifier_preparer.quote(role)


def upgrade() -> None:
    runtime = _runtime()
    op.execute(f"DROP FUNCTION {OLD}")
    op.execute(
        """
        CREATE FUNCTION directory_groups_with_due_actions(p_now timestamptz, p_kinds text[])
        RETURNS TABLE (tenant_id bigint)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS $$
            SELECT DISTINCT a.tenant_id
            FROM public.scheduled_actions AS a
            WHERE a.due_at <= p_now AND a.kind = ANY (p_kinds)
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {NEW} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {NEW} TO {runtime}")


def downgrade() -> None:
    runtime = _runtime()
    op.execute(f"DROP FUNCTION {NEW}")
    op.execute(
        """
        CREATE FUNCTION directory_groups_with_due_actions(p_now timestamptz)
        RETURNS TABLE (tenant_id bigint)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS $$
            SELECT DISTINCT a.tenant_id
            FROM public.scheduled_actions AS a
            WHERE a.due_at <= p_now
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {OLD} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {OLD} TO {runtime}")
