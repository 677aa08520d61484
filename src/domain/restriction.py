"""What the bot remembers about a member it restricted, and why."""

from datetime import datetime

import attrs

from domain.ids import ChannelId, GroupId, MessageId, UserId


@attrs.frozen
class Restriction:
    """A restriction the bot itself applied (rule 5: only these are ever lifted by the bot)."""

    group_id: GroupId
    user_id: UserId
    missing: tuple[ChannelId, ...]
    """The channels the member had not joined when last checked."""
    since: datetime
    warning_message_id: MessageId | None = None
    """The bot's current warning to this member, if one is still shown."""

    def still_missing(self, missing: tuple[ChannelId, ...]) -> "Restriction":
        """The same restriction after a re-check found `missing` channels still not joined."""
        return attrs.evolve(self, missing=missing)

    def with_warning(self, message_id: MessageId | None) -> "Restriction":
        """The same restriction with the warning currently shown for it."""
        return attrs.evolve(self, warning_message_id=message_id)
