"""Spent mute claims and idle chats' send buckets are deleted: the runtime role may delete them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

A claim holds a member for the settle time only; each new claim in a group deletes the group's
claims whose settle time is over (in the claim's own statement, under the group's row-level
security), so the table holds the last seconds' mutes instead of every mute ever made.

`send_budget` was swept of chats idle for an hour every 10 minutes since 0013, but the runtime
role could not delete: the sweep failed, and with it the booking it ran in (that worker then
paced alone for the send). Granted here.
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _runtime() -> str:
    role = context.config.attributes.get("runtime_role")
    if not isinstance(role, str) or not role:
        msg = "the runtime role is not configured (see migrations/env.py)"
        raise RuntimeError(msg)
    return op.get_bind().dialect.identifier_preparer.quote(role)


def upgrade() -> None:
    op.execute(f"GRANT DELETE ON mute_claims, send_budget TO {_runtime()}")


def downgrade() -> None:
    op.execute(f"REVOKE DELETE ON mute_claims, send_budget FROM {_runtime()}")
