"""Identifiers of the things the bot deals with, all Telegram ids under distinct types."""

from typing import NewType

GroupId = NewType("GroupId", int)
"""A supergroup the bot protects; also the tenant key of every tenant-owned row."""

ChannelId = NewType("ChannelId", int)
"""A channel that members of a group must join."""

UserId = NewType("UserId", int)
"""A Telegram user (a person or a bot)."""

MessageId = NewType("MessageId", int)
"""A message, unique within its chat."""

ANONYMOUS_ADMIN_BOT = UserId(1087968824)
"""The placeholder sender (@GroupAnonymousBot) of messages written by anonymous group admins."""

SERVICE_NOTIFICATIONS = UserId(777000)
"""The placeholder sender of posts automatically forwarded from a group's linked channel."""

CHANNEL_BOT = UserId(136817688)
"""The placeholder sender (@Channel_Bot) of messages a user sends on behalf of a channel."""
