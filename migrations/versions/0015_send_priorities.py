"""The send budget keeps the priorities across workers (issue 15): answers, then warnings,
then notices.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

`book_send()` takes the send's priority (0 answer, 1 warning, 2 notice) and replaces 0013's
function of the same name (a new argument list: dropped and created again, with the same
rights). A send of priority `p` leaves `p` sends of the overall bucket's burst and of the
group's burst free for the higher priorities; only answers book the overall bucket ahead of
now; a warning or a notice that the overall bucket does not allow now is told when to ask
again, one `1 / rate` after another (`send_budget.warnings_at`, `notices_at` on the overall
row); a notice books only once no refused warning is still to ask again. So under congestion
the capacity goes to answers first, whichever worker asks, and with room every priority books
at once.

The downgrade restores 0013's function (first come, first served) and drops the two columns.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_SIGNATURE = (
    "book_send(text, boolean, double precision, double precision, double precision, "
    "double precision, double precision, double precision)"
)
NEW_SIGNATURE = (
    "book_send(text, boolean, integer, double precision, double precision, double precision, "
    "double precision, double precision, double precision)"
)

BOOK_SEND = """
CREATE FUNCTION book_send(
    p_chat text, p_group boolean, p_priority integer,
    p_chat_burst double precision, p_chat_rate double precision,
    p_group_burst double precision, p_group_rate double precision,
    p_all_burst double precision, p_all_rate double precision,
    OUT wait double precision, OUT booked boolean
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, public
AS $$
-- GCRA (the virtual-scheduling form of a leaky bucket): each bucket keeps the theoretical time
-- of its next send, and a send may go `(burst - 1) / rate` seconds before it. A send of
-- priority `p` (0 answer, 1 warning, 2 notice) may use the overall burst but for `p` sends
-- (at least one): those stay free now for the higher priorities; warnings and notices alike
-- leave the last send of the group's burst to answers (a group's bucket refills one send in
-- about 4 s: a notice kept two behind would reach the admins many seconds late). When the
-- chat's own buckets (the chat's, the group's) or a hold on it do not allow a send now,
-- nothing is booked: `wait` says when to ask again (a busy group never blocks the other
-- chats). Otherwise an answer books the earliest moment the overall bucket allows (ahead of
-- now if need be; first come, first served among answers), while a warning or a notice books
-- only now: when the overall bucket does not allow it now, it is told to ask again at the
-- first moment it could, or at the next free place in its priority's line (`warnings_at`,
-- `notices_at` on the overall row), so that refused sends ask again one at a time; a notice
-- books only once no refused warning is still to ask again. A booking moves every bucket's
-- time on by `1 / rate` from it: sends at their booked moments keep within
-- `burst + rate * w` in any window of `w` seconds, in every bucket.
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
        CASE WHEN p_group
             THEN c.group_at - (greatest(p_group_burst - least(p_priority, 1), 1) - 1)
                               / p_group_rate
             ELSE 0 END
    );
    IF v_at > v_now THEN
        wait := v_at - v_now;
        booked := false;
        RETURN;
    END IF;
    v_at := greatest(
        v_now,
        o.chat_at - (greatest(p_all_burst - p_priority, 1) - 1) / p_all_rate,
        CASE WHEN p_priority = 2 THEN o.warnings_at ELSE 0 END  -- no warning waits behind
    );
    IF v_at > v_now AND p_priority > 0 THEN  -- only answers book ahead
        v_at := greatest(v_at, o.warnings_at);
        IF p_priority = 1 THEN
            UPDATE send_budget AS b SET warnings_at = v_at + 1 / p_all_rate WHERE b.chat = '*';
        ELSE
            v_at := greatest(v_at, o.notices_at);
            UPDATE send_budget AS b SET notices_at = v_at + 1 / p_all_rate WHERE b.chat = '*';
        END IF;
        wait := v_at - v_now;
        booked := false;
        RETURN;
    END IF;
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

BOOK_SEND_0013 = """
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
"""0013's function, as it was (the downgrade's)."""


def _runtime() -> str:
    role = context.config.attributes.get("runtime_role")
    if not isinstance(role, str) or not role:
        msg = "the runtime role is not configured (see migrations/env.py)"
        raise RuntimeError(msg)
    return op.get_bind().dialect.identifier_preparer.quote(role)


def _replace(old: str, new: str, create: str) -> None:
    """Drop `old`, create the function again, and give it the rights 0013 gave."""
    runtime = _runtime()
    op.execute(f"DROP FUNCTION {old}")
    op.execute(create)
    op.execute(f"REVOKE ALL ON FUNCTION {new} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {new} TO {runtime}")


def upgrade() -> None:
    for column in ("warnings_at", "notices_at"):
        op.add_column(
            "send_budget",
            sa.Column(column, sa.Float(), server_default=sa.text("0"), nullable=False),
        )
    _replace(OLD_SIGNATURE, NEW_SIGNATURE, BOOK_SEND)


def downgrade() -> None:
    _replace(NEW_SIGNATURE, OLD_SIGNATURE, BOOK_SEND_0013)
    op.drop_column("send_budget", "notices_at")
    op.drop_column("send_budget", "warnings_at")
