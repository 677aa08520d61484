"""Private `/settings`: the groups the caller may configure from their private chat."""

import logging

import attrs

from application.errors import MessengerError
from application.ports.messenger import Messenger
from application.ports.unit_of_work import TenantDirectory, UnitOfWork
from domain.ids import GroupId, UserId

log = logging.getLogger(__name__)

MAX_CANDIDATES = 20
"""Groups asked about at most per listing (one getChatMember each)."""


@attrs.frozen
class ConfigurableGroup:
    """A group the caller administers, as the private menu names it."""

    group_id: GroupId
    title: str


@attrs.frozen
class ListConfigurableGroups:
    """Issue 11 point 7: settings from a private chat, for the groups the caller administers.

    - Candidates are the groups where the bot has seen the caller (the directory, ids only) and
      that the bot was set up in; each is kept only if Telegram says, now, that the caller is
      its creator or an administrator who can restrict members (`ChatRights.can_configure`).
    - Listing changes nothing. Every change made from the private menu is verified with
      Telegram again at that moment (`ChangeSettings`), so the tenant always comes from a group
      the caller is a verified admin of (DESIGN §3), never from what they typed.
    - Anonymous admins have no identity to check: they configure in the group.
    """

    directory: TenantDirectory
    uow: UnitOfWork
    messenger: Messenger

    async def execute(self, user_id: UserId) -> tuple[ConfigurableGroup, ...]:
        """The groups, in the order the directory gives them."""
        found: list[ConfigurableGroup] = []
        for group_id in (await self.directory.groups_seen_with(user_id))[:MAX_CANDIDATES]:
            async with self.uow.begin(group_id) as tx:
                policy = await tx.groups.get(group_id)
            if policy is None:
                continue
            try:
                rights = await self.messenger.rights(group_id, user_id)
            except MessengerError as error:  # the bot left, or Telegram cannot say: not offered
                log.info("configurable.unknown group=%s error=%s", group_id, error)
                continue
            if rights.can_configure:
                found.append(ConfigurableGroup(group_id, policy.title or str(group_id)))
        return tuple(found)
