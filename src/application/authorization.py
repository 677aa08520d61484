"""Who may configure a group."""

import attrs

from application.errors import NotPermitted
from application.ports.messenger import Messenger
from domain.ids import GroupId, UserId


@attrs.frozen
class Caller:
    """The person behind an admin command."""

    user_id: UserId
    anonymous_admin: bool = False
    """The command was sent as the group itself, which only its admins can do."""


async def ensure_can_configure(messenger: Messenger, group_id: GroupId, caller: Caller) -> None:
    """Pass for the creator, an administrator who can restrict members, or an anonymous admin.

    Raises:
        NotPermitted: anyone else.
    """
    if caller.anonymous_admin:
        return
    rights = await messenger.rights(group_id, caller.user_id)
    if not rights.can_configure:
        raise NotPermitted(caller.user_id)
