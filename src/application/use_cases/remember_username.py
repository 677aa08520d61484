"""Record the members of a group as the bot sees them, with their usernames.

For `/exempt @username`, and for the groups a private `/settings` offers.
"""

import logging

import attrs

from application.errors import StorageError
from application.ports.caches import UsernameCache
from application.ports.unit_of_work import UnitOfWork
from domain.ids import GroupId, UserId

log = logging.getLogger(__name__)


@attrs.frozen
class MemberSeen:
    """`user_id` was seen in the group (wrote, joined) with `username` (`None`: has none)."""

    group_id: GroupId
    user_id: UserId
    username: str | None
    muted: bool = False
    """Their message was just removed (they were muted, or are being)."""


@attrs.frozen
class RememberUsername:
    """The Bot API cannot look a user up by @username: the bot keeps what it sees, per group.

    - Per group (tenant-owned, row-level security): a username resolves only in a group where
      the bot saw its member, so one group's members are never revealed to another's admins.
    - A member seen again with the same username costs no database round trip (DESIGN §5): the
      write happens once per member, group and username while the cache remembers it. Members
      without a username are recorded too: where the bot saw someone is what private
      `/settings` offers (after asking Telegram whether they administer it).
    - A muted member without a username is not recorded: nobody can name them by username,
      they administer nothing, and a raid of such accounts then costs no extra write per
      newcomer (replying to their warning, or their id, still targets them).
    - Best effort: a database failure is logged and the username is recorded next time.
    """

    uow: UnitOfWork
    recorded: UsernameCache

    async def execute(self, seen: MemberSeen) -> bool:
        """Record the username if it is new; return whether it was written."""
        group_id, user_id, username = seen.group_id, seen.user_id, seen.username
        if seen.muted and not username:
            return False
        known = await self.recorded.recorded(group_id, user_id)
        if known is not None and known == (username or ""):
            return False
        # Cached before the write: messages of one member handled at once write once, and
        # none of them waits on another's row lock.
        await self.recorded.store(group_id, user_id, username or "")
        try:
            async with self.uow.begin(group_id) as tx:
                await tx.members.remember(group_id, user_id, username)
                await tx.commit()
        except StorageError as error:
            await self.recorded.forget(group_id, user_id)
            log.info("username.not_recorded group=%s error=%s", group_id, error)
            return False
        except BaseException:
            await self.recorded.forget(group_id, user_id)
            raise
        return True
