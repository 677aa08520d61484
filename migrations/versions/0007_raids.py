"""Raid mode (rule 13): the threshold setting, the raid itself, and the count a notice reports.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Adds to `groups` the `raid_threshold` setting (joins a minute, NULL: off; 20 for every group
already there) and the raid going on in the group (`raid_*`, all NULL when there is none), so a
restart loses nothing of a raid; to `scheduled_actions` the `count` a notice reports; and an
index counting a group's audit events of one kind since a moment. The runtime role's rights on
the tables are unchanged (it already reads and updates `groups`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STAMP = sa.DateTime(timezone=True)
_RAID_COLUMNS = (
    ("raid_started_at", _STAMP),
    ("raid_busy_at", _STAMP),
    ("raid_until", _STAMP),
    ("raid_by", sa.BigInteger()),
    ("raid_ended_at", _STAMP),
    ("raid_notice_id", sa.BigInteger()),
    ("raid_shown", sa.Integer()),
)


def upgrade() -> None:
    op.add_column(
        "groups",
        sa.Column("raid_threshold", sa.Integer(), nullable=True, server_default=sa.text("20")),
    )
    for name, kind in _RAID_COLUMNS:
        op.add_column("groups", sa.Column(name, kind, nullable=True))
    op.add_column("scheduled_actions", sa.Column("count", sa.Integer(), nullable=True))
    op.create_index(
        "ix_audit_events_tenant_id_kind_at", "audit_events", ["tenant_id", "kind", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_tenant_id_kind_at", table_name="audit_events")
    op.drop_column("scheduled_actions", "count")
    for name, _ in reversed(_RAID_COLUMNS):
        op.drop_column("groups", name)
    op.drop_column("groups", "raid_threshold")
