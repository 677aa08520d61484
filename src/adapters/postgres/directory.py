"""The cross-tenant seam over PostgreSQL: `SECURITY DEFINER` functions that return group ids only.

The runtime role cannot read other tenants' rows; the directory functions (created by the
migrations, owned by the schema owner, with a fixed `search_path`) answer exactly the
questions that span tenants, and the counts the metrics show (no id), and nothing else.
"""

from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, DateTime, Text, TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.errors import storage_errors
from application.ports.unit_of_work import DirectoryStatistics, TenantDirectory
from domain.ids import ChannelId, GroupId, UserId
from domain.schedule import ActionKind

GROUPS_REQUIRING = text(
    "SELECT tenant_id FROM directory_groups_requiring(:channel_id) ORDER BY tenant_id"
).bindparams(bindparam("channel_id", type_=BigInteger))

GROUPS_TO_FREE = text(
    "SELECT tenant_id FROM directory_groups_to_free(:channel_id, :user_id) ORDER BY tenant_id"
).bindparams(bindparam("channel_id", type_=BigInteger), bindparam("user_id", type_=BigInteger))

GROUPS_MUTING = text(
    "SELECT tenant_id FROM directory_groups_muting(:user_id) ORDER BY tenant_id"
).bindparams(bindparam("user_id", type_=BigInteger))

GROUPS_SEEN_WITH = text(
    "SELECT tenant_id FROM directory_groups_seen_with(:user_id) ORDER BY tenant_id"
).bindparams(bindparam("user_id", type_=BigInteger))

GROUPS_WITH_UNPOSTED_LOG = text(
    "SELECT tenant_id FROM directory_groups_with_unposted_log() ORDER BY tenant_id"
)

GROUPS_WITH_DUE_ACTIONS = text(
    "SELECT tenant_id FROM directory_groups_with_due_actions(:now, :kinds) ORDER BY tenant_id"
).bindparams(
    bindparam("now", type_=DateTime(timezone=True)), bindparam("kinds", type_=ARRAY(Text))
)

STATISTICS = text(
    "SELECT protected_groups, muted_members, pending_actions, oldest_due_at "
    "FROM directory_statistics()"
)


class PostgresTenantDirectory(TenantDirectory):
    """Answers the cross-tenant questions through the directory functions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def groups_requiring(self, channel_id: ChannelId) -> tuple[GroupId, ...]:
        return await self._ids(GROUPS_REQUIRING, {"channel_id": channel_id})

    async def groups_to_free(self, channel_id: ChannelId, user_id: UserId) -> tuple[GroupId, ...]:
        return await self._ids(GROUPS_TO_FREE, {"channel_id": channel_id, "user_id": user_id})

    async def groups_with_due_actions(
        self, now: datetime, kinds: frozenset[ActionKind]
    ) -> tuple[GroupId, ...]:
        wanted = sorted(str(kind) for kind in kinds)
        return await self._ids(GROUPS_WITH_DUE_ACTIONS, {"now": now, "kinds": wanted})

    async def groups_muting(self, user_id: UserId) -> tuple[GroupId, ...]:
        return await self._ids(GROUPS_MUTING, {"user_id": user_id})

    async def statistics(self) -> DirectoryStatistics:
        with storage_errors():
            async with self._engine.connect() as connection:
                row = (await connection.execute(STATISTICS)).one()
        return DirectoryStatistics(
            protected_groups=int(row.protected_groups),
            muted_members=int(row.muted_members),
            pending_actions=int(row.pending_actions),
            oldest_due_at=row.oldest_due_at,
        )

    async def groups_seen_with(self, user_id: UserId) -> tuple[GroupId, ...]:
        return await self._ids(GROUPS_SEEN_WITH, {"user_id": user_id})

    async def groups_with_unposted_log(self) -> tuple[GroupId, ...]:
        return await self._ids(GROUPS_WITH_UNPOSTED_LOG, {})

    async def _ids(self, query: TextClause, parameters: dict[str, object]) -> tuple[GroupId, ...]:
        with storage_errors():
            async with self._engine.connect() as connection:
                result = await connection.execute(query, parameters)
                return tuple(GroupId(int(tenant)) for tenant in result.scalars())
