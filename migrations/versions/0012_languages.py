"""Rule 15: the group's language and its admins' warning text; the language each deferred
send was decided in.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

- `groups.language` (NULL: `auto`, each reader's own language; else a catalog's locale name
  such as `es` or `pt_BR`) and `groups.warning_text` (NULL: the catalog's warning).
- `restrictions.language`: the language the member's warning was decided in (their Telegram
  language in an `auto` group, the group's fixed one otherwise); `restrictions.language_code`:
  the member's Telegram `language_code` as last seen, for what is said to them in private.
- `scheduled_actions.language`: the language a deferred notice was decided in (NULL for the
  other kinds of action and for notices to the group as a whole, which use the group's).
- `join_requests.language`: the requester's own language, for the gate's private messages.

Columns only: the tables' row-level security policies and the runtime role's rights are
unchanged (policies are per row, grants per table).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("groups", sa.Column("language", sa.Text(), nullable=True))
    op.add_column("groups", sa.Column("warning_text", sa.Text(), nullable=True))
    op.add_column(
        "restrictions", sa.Column("language", sa.Text(), nullable=False, server_default="en")
    )
    op.add_column("restrictions", sa.Column("language_code", sa.Text(), nullable=True))
    op.add_column("scheduled_actions", sa.Column("language", sa.Text(), nullable=True))
    op.add_column(
        "join_requests", sa.Column("language", sa.Text(), nullable=False, server_default="en")
    )


def downgrade() -> None:
    op.drop_column("join_requests", "language")
    op.drop_column("scheduled_actions", "language")
    op.drop_column("restrictions", "language_code")
    op.drop_column("restrictions", "language")
    op.drop_column("groups", "warning_text")
    op.drop_column("groups", "language")
