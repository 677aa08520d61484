"""Failures of use cases, including the adapter failures the ports promise to raise.

Adapters translate their drivers' exceptions into these at the boundary (`raise … from e`), so a
use case never sees a Telegram or database exception. Texts shown to people live in the adapters.
"""

import logging
from collections.abc import Awaitable, Callable

import attrs

from domain.ids import UserId

log = logging.getLogger(__name__)


class ApplicationError(Exception):
    """Base of every use-case failure."""


class MessengerError(ApplicationError):
    """Telegram did not do what was asked."""


@attrs.define(eq=False)
class MessengerUnavailable(MessengerError):
    """Telegram could not be reached or answered with a transient error (network, 5xx, 429)."""

    detail: str = ""
    retry_after: float | None = None
    """Seconds Telegram asked to wait (a 429 past the retry budget); `None` for other failures."""

    def __str__(self) -> str:
        return f"Telegram unavailable: {self.detail}"


@attrs.define(eq=False)
class BotLacksRights(MessengerError):
    """Telegram refused because the bot is not an admin of the chat or lacks a right."""

    chat_id: int
    detail: str = ""

    def __str__(self) -> str:
        return f"the bot lacks rights in chat {self.chat_id}: {self.detail}"


@attrs.define(eq=False)
class ChatNotFound(MessengerError):
    """No chat answers to this reference, or the bot cannot see it."""

    reference: str

    def __str__(self) -> str:
        return f"chat not found: {self.reference}"


@attrs.define(eq=False)
class UserNotFound(MessengerError):
    """Telegram knows no user with this id."""

    user_id: UserId

    def __str__(self) -> str:
        return f"user not found: {self.user_id}"


@attrs.define(eq=False)
class TargetIsAdmin(MessengerError):
    """Telegram refused to restrict a chat administrator."""

    chat_id: int
    user_id: UserId

    def __str__(self) -> str:
        return f"user {self.user_id} is an administrator of chat {self.chat_id}"


@attrs.define(eq=False)
class JoinRequestGone(MessengerError):
    """Telegram holds no pending request of the user to join the chat.

    An admin handled it, the user withdrew it, or they are already a member.
    """

    chat_id: int
    user_id: UserId

    def __str__(self) -> str:
        return f"no pending join request of user {self.user_id} in chat {self.chat_id}"


@attrs.define(eq=False)
class MessageGone(MessengerError):
    """The message to edit is no longer there (someone deleted it)."""

    chat_id: int
    message_id: int

    def __str__(self) -> str:
        return f"message {self.message_id} of chat {self.chat_id} is gone"


@attrs.define(eq=False)
class NotPermitted(ApplicationError):
    """The caller may not run this command: not the creator, nor an admin who can restrict."""

    user_id: UserId

    def __str__(self) -> str:
        return f"user {self.user_id} may not configure this group"


class StorageError(ApplicationError):
    """The database failed; nothing of the transaction was kept."""


class StorageConflict(StorageError):
    """A concurrent change won; running the command again is safe."""


CONFLICT_ATTEMPTS = 3
"""How many times a command runs when concurrent changes keep winning (two admins, or two
workers, changing one group at the same moment): the loser runs again on what the winner left."""


async def again_on_conflict[R](run: Callable[[], Awaitable[R]]) -> R:
    """`run()`, run again (up to `CONFLICT_ATTEMPTS` in all) while a concurrent change wins.

    Raises:
        StorageConflict: the last attempt lost too.
        StorageError: the database failed otherwise (not run again here).
    """
    for attempt in range(1, CONFLICT_ATTEMPTS):
        try:
            return await run()
        except StorageConflict as error:
            log.info("storage.conflict attempt=%s error=%s", attempt, error)
    return await run()
