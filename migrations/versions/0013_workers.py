"""Several webhook workers as one bot (issue 15): the burst guard, the shared send budget, and
who took each journaled update.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

- `mute_claims` (tenant table: forced row-level security with the same `tenant_isolation`
  policy as every tenant table): the last time any process began muting a member, and the
  database session that did. A second mute of the member within the settle time, by any
  process, is refused while that session lives (one mute and one warning per burst).
- `send_budget` (no tenant: it counts the bot's sends into every chat, private chats included,
  and the bot's overall rate, before and beyond any group; like `taken_updates` it holds no
  group's data, only token counts keyed by chat): one row per chat the bot sends into, and one
  row (`*`) for all sends together. `book_send(...)` books the next moment the overall bucket
  allows a send once the chat's and the group's buckets allow one now (else it says when to
  ask again); it runs with the caller's rights (SECURITY INVOKER), on a table the runtime role
  may read and write.
- `taken_updates.taken_by`: the backend pid of the taking process's notification connection,
  so that another worker can take over what a killed one acknowledged and left unhandled
  (every worker looks every second: a partial index keeps that to the unhandled rows).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"

BOOK_SEND = """
CREATE FUNCTION book_send(
    p_chat text, p_group boolean,
    p_chat_burst double precision, p_chat_rate double precision,
    p_group_burst double precision, p_group_rate double precision,
    p_all_burst double precision, p_all_rate double precision,
    OUT wait double precision, OUT booked boolean
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, public
AS $$
-- GCRA (the virtual-scheduling form of a leaky bucket): each bucket keeps the theoretical time
-- of its next send, and a send may go `(burst - 1) / rate` seconds before it. When the chat's
-- own buckets (the chat's, the group's) or a hold on it do not allow a send now, nothing is
-- booked: `wait` says when to ask again (a busy group never blocks the other chats). Otherwise
-- the earliest moment the overall bucket allows is booked (first come, first served across the
-- whole bot) and every bucket's time moves on by `1 / rate` from it: sends at their booked
-- moments keep within `burst + rate * w` in any window of `w` seconds, in every bucket.
DECLARE
    v_now double precision := extract(epoch FROM clock_timestamp());
    o send_budget%ROWTYPE;
    c send_budget%ROWTYPE;
    v_at double precision;
BEGIN
    -- The overall row first, then the chat's: every caller locks them in the same order.
    INSERT INTO send_budget AS b (chat, chat_at, group_at, used_at)
    VALUES ('*', 0, 0, v_now), (p_chat, 0, 0, v_now)
    ON CONFLICT (chat) DO NOTHING;
    SELECT * INTO o FROM send_budget AS b WHERE b.chat = '*' FOR UPDATE;
    SELECT * INTO c FROM send_budget AS b WHERE b.chat = p_chat FOR UPDATE;
    v_at := greatest(
        v_now,
        c.held_until,
        c.chat_at - (p_chat_burst - 1) / p_chat_rate,
        CASE WHEN p_group THEN c.group_at - (p_group_burst - 1) / p_group_rate ELSE 0 END
    );
    IF v_at > v_now THEN
        wait := v_at - v_now;
        booked := false;
        RETURN;
    END IF;
    v_at := greatest(v_now, o.chat_at - (p_all_burst - 1) / p_all_rate);
    UPDATE send_budget AS b
    SET chat_at = greatest(o.chat_at, v_at) + 1 / p_all_rate, used_at = v_now
    WHERE b.chat = '*';
    UPDATE send_budget AS b
    SET chat_at = greatest(c.chat_at, v_at) + 1 / p_chat_rate,
        group_at = CASE WHEN p_group THEN greatest(c.group_at, v_at) + 1 / p_group_rate
                        ELSE c.group_at END,
        used_at = v_now
    WHERE b.chat = p_chat;
    wait := v_at - v_now;
    booked := true;
END;
$$
"""


def upgrade() -> None:
    role = context.config.attributes.get("runtime_role")
    if not isinstance(role, str) or not role:
        msg = "the runtime role is not configured (see migrations/env.py)"
        raise RuntimeError(msg)
    runtime = op.get_bind().dialect.identifier_preparer.quote(role)

    op.create_table(
        "mute_claims",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name=op.f("pk_mute_claims")),
    )
    op.execute("ALTER TABLE mute_claims ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE mute_claims FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON mute_claims "
        f"USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON mute_claims TO {runtime}")

    op.create_table(
        "send_budget",
        sa.Column("chat", sa.Text(), nullable=False),
        sa.Column("chat_at", sa.Float(), nullable=False),
        sa.Column("group_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=False),
        sa.Column("held_until", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("chat", name=op.f("pk_send_budget")),
    )
    op.create_index(op.f("ix_send_budget_used_at"), "send_budget", ["used_at"])
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON send_budget TO {runtime}")
    op.execute(BOOK_SEND)
    op.execute("REVOKE ALL ON FUNCTION book_send FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION book_send TO {runtime}")

    op.add_column("taken_updates", sa.Column("taken_by", sa.Integer(), nullable=True))
    op.create_index(
        "ix_taken_updates_unhandled",
        "taken_updates",
        ["bot_id", "update_id"],
        postgresql_where=sa.text("payload IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_taken_updates_unhandled", "taken_updates")
    op.drop_column("taken_updates", "taken_by")
    op.execute("DROP FUNCTION book_send")
    op.drop_index(op.f("ix_send_budget_used_at"), "send_budget")
    op.drop_table("send_budget")
    op.drop_table("mute_claims")
