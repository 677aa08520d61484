"""The directory narrows the background loops and channel joins to the groups with work.

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

Adds `directory_groups_to_free(bigint, bigint)`: the groups whose enabled protection requires
the channel and where the bot holds a restriction of the member or a join request of theirs,
the only groups where the member joining the channel changes anything (rules 6 and 14). Each
join visited every group requiring the channel (two transactions each: 2,000 for a channel
1,000 groups require). Same kind of function, ids only; it reads `join_requests` through a new
read-only `owner_directory` policy (FORCE row-level security still holds the owner to the
tenant policy for every write), `restrictions` through 0005's.
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "directory_groups_with_due_actions(timestamptz)"
NEW = "directory_groups_with_due_actions(timestamptz, text[])"
TO_FREE = "directory_groups_to_free(bigint, bigint)"


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
    op.execute(
        "CREATE POLICY owner_directory ON join_requests FOR SELECT TO CURRENT_USER USING (true)"
    )
    op.execute(
        """
        CREATE FUNCTION directory_groups_to_free(p_channel_id bigint, p_user_id bigint)
        RETURNS TABLE (tenant_id bigint)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS $$
            SELECT c.tenant_id
            FROM public.required_channels AS c
            JOIN public.groups AS g ON g.tenant_id = c.tenant_id
            WHERE c.channel_id = p_channel_id AND g.enabled
              AND (
                EXISTS (SELECT 1 FROM public.restrictions AS r
                        WHERE r.tenant_id = c.tenant_id AND r.user_id = p_user_id)
                OR EXISTS (SELECT 1 FROM public.join_requests AS j
                           WHERE j.tenant_id = c.tenant_id AND j.user_id = p_user_id)
              )
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {TO_FREE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {TO_FREE} TO {runtime}")


def downgrade() -> None:
    runtime = _runtime()
    op.execute(f"DROP FUNCTION {TO_FREE}")
    op.execute("DROP POLICY owner_directory ON join_requests")
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
