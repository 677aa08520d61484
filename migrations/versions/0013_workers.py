"""Several webhook workers as one bot (issue 15): the burst guard, the shared send budget, and
who took each journaled update.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-02

- `mute_claims` (tenant table: forced row-level security with the same `tenant_isolation`
  policy as every tenant table): the last time any process began muting a member, and the
  database session that did. A second mute of the member within the settle time, by any
  process, is refused while that session lives (one mute and one warning per burst).
- `send_budget` (no tenant: it counts the bot's sends into every chat, private chats included,
  and the bot's overall rate, before and beyond any group; like `taken_updates` it holds no
  group's data, only token counts keyed by chat): one row per chat the bot sends into, and one
  row (`*`) for all sends together. `claim_send(...)` takes one send from the chat's, the
  group's and the overall bucket at once, or says how long to wait; it runs with the caller's
  rights (SECURITY INVOKER), on a table the runtime role may read and write.
- `taken_updates.taken_by`: the backend pid of the taking process's notification connection,
  so that another worker can take over what a killed one acknowledged and left unhandled.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"

CLAIM_SEND = """
CREATE FUNCTION claim_send(
    p_chat text, p_group boolean, p_priority integer,
    p_chat_burst double precision, p_chat_rate double precision,
    p_group_burst double precision, p_group_rate double precision,
    p_all_burst double precision, p_all_rate double precision
) RETURNS double precision
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_now double precision := extract(epoch FROM clock_timestamp());
    o send_budget%ROWTYPE;
    c send_budget%ROWTYPE;
    v_all double precision;
    v_chat double precision;
    v_group double precision;
    v_wait double precision := 0;
    v_blocked boolean;
    v_priority integer;
    v_until double precision;
BEGIN
    -- The overall row first, then the chat's: every caller locks them in the same order.
    INSERT INTO send_budget AS b (chat, chat_tokens, group_tokens, stamp)
    VALUES ('*', p_all_burst, 0, v_now), (p_chat, p_chat_burst, p_group_burst, v_now)
    ON CONFLICT (chat) DO NOTHING;
    SELECT * INTO o FROM send_budget AS b WHERE b.chat = '*' FOR UPDATE;
    SELECT * INTO c FROM send_budget AS b WHERE b.chat = p_chat FOR UPDATE;
    v_all := least(p_all_burst, o.chat_tokens + greatest(v_now - o.stamp, 0) * p_all_rate);
    v_chat := least(p_chat_burst, c.chat_tokens + greatest(v_now - c.stamp, 0) * p_chat_rate);
    v_group := least(p_group_burst, c.group_tokens + greatest(v_now - c.stamp, 0) * p_group_rate);
    IF c.held_until > v_now THEN
        v_wait := c.held_until - v_now;
    END IF;
    IF v_chat < 1 THEN
        v_wait := greatest(v_wait, (1 - v_chat) / p_chat_rate);
    END IF;
    IF p_group AND v_group < 1 THEN
        v_wait := greatest(v_wait, (1 - v_group) / p_group_rate);
    END IF;
    IF v_all < 1 THEN
        v_wait := greatest(v_wait, (1 - v_all) / p_all_rate);
    END IF;
    -- A send of a higher priority (a lower number) waits for this chat: it goes first.
    v_blocked := c.waiting_until > v_now AND c.waiting_priority < p_priority;
    IF v_blocked AND v_wait = 0 THEN
        v_wait := 0.05;
    END IF;
    v_priority := c.waiting_priority;
    v_until := c.waiting_until;
    IF v_wait > 0 THEN
        IF NOT v_blocked THEN  -- this send is now the most urgent one waiting here
            v_priority := p_priority;
            v_until := v_now + v_wait + 1;
        END IF;
        UPDATE send_budget AS b SET chat_tokens = v_all, stamp = v_now WHERE b.chat = '*';
        UPDATE send_budget AS b
        SET chat_tokens = v_chat, group_tokens = v_group, stamp = v_now,
            waiting_priority = v_priority, waiting_until = v_until
        WHERE b.chat = p_chat;
        RETURN v_wait;
    END IF;
    IF v_priority = p_priority THEN  -- the waiting send of this priority got its turn
        v_until := 0;
    END IF;
    UPDATE send_budget AS b SET chat_tokens = v_all - 1, stamp = v_now WHERE b.chat = '*';
    UPDATE send_budget AS b
    SET chat_tokens = v_chat - 1,
        group_tokens = CASE WHEN p_group THEN v_group - 1 ELSE v_group END,
        stamp = v_now, waiting_until = v_until
    WHERE b.chat = p_chat;
    RETURN 0;
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
        sa.Column("chat_tokens", sa.Float(), nullable=False),
        sa.Column("group_tokens", sa.Float(), nullable=False),
        sa.Column("stamp", sa.Float(), nullable=False),
        sa.Column("held_until", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("waiting_priority", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("waiting_until", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("chat", name=op.f("pk_send_budget")),
    )
    op.create_index(op.f("ix_send_budget_stamp"), "send_budget", ["stamp"])
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON send_budget TO {runtime}")
    op.execute(CLAIM_SEND)
    op.execute("REVOKE ALL ON FUNCTION claim_send FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION claim_send TO {runtime}")

    op.add_column("taken_updates", sa.Column("taken_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("taken_updates", "taken_by")
    op.execute("DROP FUNCTION claim_send")
    op.drop_index(op.f("ix_send_budget_stamp"), "send_budget")
    op.drop_table("send_budget")
    op.drop_table("mute_claims")
