"""The database schema as SQLAlchemy Core tables: the reference the migrations must match.

Every table but `taken_updates` (the bot's own intake journal, which belongs to no group) is
tenant-owned: `tenant_id` is the group's chat id, and row-level security (created by
the migrations, not expressible here) limits each transaction to the tenant it set with
`set_config('app.tenant_id', …, true)`. Channel display data lives in `required_channels`, one row
per group and channel, so one group's setup never changes what another group shows.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Interval,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _now() -> Column[object]:
    """A `created_at`-style column filled by the server."""
    return Column(
        "created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")
    )


groups = Table(
    "groups",
    metadata,
    Column("tenant_id", BigInteger, nullable=False, autoincrement=False),
    Column("title", Text, nullable=False, server_default=""),
    Column("enabled", Boolean, nullable=False, server_default=text("false")),
    Column("failure_policy", Text, nullable=False, server_default="open"),
    Column("warning_ttl", Interval, nullable=False),
    Column("kick_after", Interval, nullable=True),
    Column("join_gate", Boolean, nullable=False, server_default=text("false")),
    # NULL: requests of non-subscribers are left pending for the admins.
    Column("join_gate_timeout", Interval, nullable=True, server_default=text("'1 hour'")),
    # Joins a minute that start raid mode; NULL: off (rule 13).
    Column("raid_threshold", Integer, nullable=True, server_default=text("20")),
    Column("language", Text, nullable=True),  # NULL: auto (rule 15)
    Column("warning_text", Text, nullable=True),  # NULL: the catalog's warning
    # The raid going on (or ending) in the group: NULL raid_started_at when there is none.
    Column("raid_started_at", DateTime(timezone=True), nullable=True),
    Column("raid_busy_at", DateTime(timezone=True), nullable=True),
    Column("raid_until", DateTime(timezone=True), nullable=True),
    Column("raid_by", BigInteger, nullable=True),
    Column("raid_ended_at", DateTime(timezone=True), nullable=True),
    Column("raid_notice_id", BigInteger, nullable=True),
    Column("raid_shown", Integer, nullable=True),
    # `/setlog`: where audit events are posted, and the last event id posted there.
    Column("log_channel_id", BigInteger, nullable=True),
    Column("log_channel_title", Text, nullable=True),
    Column("log_cursor", BigInteger, nullable=False, server_default=text("0")),
    Column("version", Integer, nullable=False, server_default=text("1")),
    _now(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("tenant_id"),
    CheckConstraint("failure_policy IN ('open', 'closed')", name="failure_policy"),
)

required_channels = Table(
    "required_channels",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    Column("channel_id", BigInteger, nullable=False),
    Column("position", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("username", Text, nullable=True),
    Column("invite_link", Text, nullable=True),
    PrimaryKeyConstraint("tenant_id", "channel_id"),
    ForeignKeyConstraint(["tenant_id"], ["groups.tenant_id"], ondelete="CASCADE"),
    # Channel events: which groups require channel C (through the directory function).
    Index(None, "channel_id"),
)

restrictions = Table(
    "restrictions",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("missing", ARRAY(BigInteger), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("warning_message_id", BigInteger, nullable=True),
    Column("member_name", Text, nullable=False, server_default=""),
    Column("reason", Text, nullable=False, server_default="spoke"),
    Column("thread_id", BigInteger, nullable=True),
    Column("language", Text, nullable=False, server_default="en"),
    Column("language_code", Text, nullable=True),
    PrimaryKeyConstraint("tenant_id", "user_id"),
    # A group's restrictions, oldest first (bulk lifting after /unprotect).
    Index(None, "tenant_id", "since", "user_id"),
    # Who else a (merged) warning names, before deleting it.
    Index(None, "tenant_id", "warning_message_id"),
)

exemptions = Table(
    "exemptions",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    _now(),
    PrimaryKeyConstraint("tenant_id", "user_id"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger, Identity(always=True), nullable=False),
    Column("tenant_id", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", BigInteger, nullable=True),
    Column("subject", BigInteger, nullable=True),
    Column("channel_id", BigInteger, nullable=True),
    Column("reason", Text, nullable=False, server_default=""),
    PrimaryKeyConstraint("id"),
    # A group's latest events, newest first.
    Index(None, "tenant_id", "id"),
    # How many members were muted since a raid began (rule 13).
    Index(None, "tenant_id", "kind", "at"),
)

scheduled_actions = Table(
    "scheduled_actions",
    metadata,
    Column("action_id", Uuid(as_uuid=True), nullable=False),
    Column("tenant_id", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("user_id", BigInteger, nullable=True),
    Column("message_id", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # What a notice to the admins says and which channel it is about (NULL for other kinds).
    Column("notice", Text, nullable=True),
    Column("channel_id", BigInteger, nullable=True),
    # What an answer to a command says, as the Telegram adapter rendered it (NULL for others).
    Column("answer_html", Text, nullable=True),
    Column("answer_keyboard", Text, nullable=True),
    Column("answer_thread_id", BigInteger, nullable=True),
    # The number a notice reports (members muted during a raid); NULL for other kinds.
    Column("count", Integer, nullable=True),
    Column("language", Text, nullable=True),
    PrimaryKeyConstraint("action_id"),
    # Claiming a group's due actions, and the directory's "which groups have due actions".
    Index(None, "tenant_id", "due_at"),
    Index(None, "due_at"),
    # Cancelling a member's pending actions of one kind.
    Index(None, "tenant_id", "user_id", "kind"),
)

join_requests = Table(
    "join_requests",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("user_chat_id", BigInteger, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    # The bot's private message to the requester, once Telegram took it.
    Column("message_id", BigInteger, nullable=True),
    Column("language", Text, nullable=False, server_default="en"),
    PrimaryKeyConstraint("tenant_id", "user_id"),
)
"""Rule 14: join requests the gate holds pending until the requester has joined every channel."""


known_members = Table(
    "known_members",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    # Lower-cased: Telegram usernames are case-insensitive; NULL for a member without one.
    Column("username", Text, nullable=True),
    Column("seen_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("tenant_id", "user_id"),
    # `/exempt @username`: one member per username in a group.
    Index(None, "tenant_id", "username", unique=True),
    # The directory's "where was this user seen?" (private /settings).
    Index(None, "user_id"),
)
"""Usernames of the group's members as the bot last saw them (the Bot API cannot resolve one)."""

mute_claims = Table(
    "mute_claims",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    # The backend pid of the database session that claimed it: the claim holds while it lives.
    Column("claimed_by", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "user_id"),
)
"""The burst guard (issue 15): when a member's mute was last begun, by any process."""

TENANT_TABLES: tuple[Table, ...] = (
    groups,
    required_channels,
    restrictions,
    exemptions,
    audit_events,
    scheduled_actions,
    join_requests,
    known_members,
    mute_claims,
)
"""Every table with row-level security on `tenant_id`, in creation order."""

taken_updates = Table(
    "taken_updates",
    metadata,
    Column("bot_id", BigInteger, nullable=False),
    Column("update_id", BigInteger, nullable=False),
    # The update as Telegram sent it while it is not handled; NULL once it is (only the id is
    # kept a while longer, so that Telegram sending it again is recognised).
    Column("payload", JSONB, nullable=True),
    Column("taken_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    # The backend pid of the taking process's notification connection (NULL: not known):
    # while that session lives, the update is its; once it is gone, another worker takes it.
    Column("taken_by", Integer, nullable=True),
    PrimaryKeyConstraint("bot_id", "update_id"),
    # Forgetting the ids of updates handled long ago.
    Index(None, "taken_at"),
    # Every worker looks every second for the unhandled updates of a dead one (issue 15).
    Index(
        "ix_taken_updates_unhandled",
        "bot_id",
        "update_id",
        postgresql_where=text("payload IS NOT NULL"),
    ),
)
"""The intake journal (rule 10): every update taken from Telegram, kept before it is confirmed."""

send_budget = Table(
    "send_budget",
    metadata,
    # The chat id (or @username) sends go into; "*" for all sends together.
    Column("chat", Text, nullable=False),
    # The theoretical moment of the chat's next send, and of the group's (GCRA); for "*", of
    # any send. Seconds since the epoch, on the database's clock (one clock for every worker).
    Column("chat_at", Float, nullable=False),
    Column("group_at", Float, nullable=False),
    Column("used_at", Float, nullable=False),
    # Until when Telegram asked to wait (a 429's retry_after, seen by any worker).
    Column("held_until", Float, nullable=False, server_default=text("0")),
    # "*" only: the next moment a warning (a notice) the overall bucket refused is told to ask
    # again; refused ones ask again one after another (migration 0015).
    Column("warnings_at", Float, nullable=False, server_default=text("0")),
    Column("notices_at", Float, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("chat"),
    # Forgetting the buckets of chats the bot no longer sends into.
    Index(None, "used_at"),
)
"""The bot's send budget, shared by every worker (no tenant: it counts sends into every chat)."""
