"""Telegram's exceptions, translated into the errors the `Messenger` port promises.

python-telegram-bot raises by HTTP status (`Forbidden` for 403, `BadRequest` for 400,
`RetryAfter` for 429, `NetworkError` for 5xx and transport failures, `TimedOut`); what went
wrong is only in Telegram's description, so the 400s are told apart by its wording.
"""

import datetime as dt
import logging
import warnings

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from application.errors import (
    BotLacksRights,
    ChatNotFound,
    JoinRequestGone,
    MessengerError,
    MessengerUnavailable,
    TargetIsAdmin,
    UserNotFound,
)
from domain.ids import UserId

log = logging.getLogger(__name__)

TARGET_IS_ADMIN = (
    "user is an administrator of the chat",
    "can't remove chat owner",
    "can't restrict self",
    "user_admin_invalid",
)
"""Refusals because of who the target is: an admin, the owner, or the bot itself."""

LACKS_RIGHTS = (
    "not enough rights",
    "member list is inaccessible",
    "bot is not a member",
    "bot was kicked",
    "need administrator rights",
    "chat_admin_required",
    "have no rights",
    "message can't be deleted",
    "method is available only for supergroups",
    "method is available for supergroup and channel chats only",
)
"""Refusals because of what the bot may do in the chat."""

NOT_FOUND = ("chat not found", "user not found", "username not found", "peer_id_invalid")
"""Refusals because the chat (or the user in it) does not exist for the bot."""

USER_NOT_FOUND = ("user not found", "user_id_invalid", "participant_id_invalid")
"""Refusals because no user has the id a call about a member gave."""


NO_JOIN_REQUEST = ("hide_requester_missing", "user_already_participant")
"""Refusals to approve or decline because Telegram holds no such pending request."""


def retry_after_seconds(error: RetryAfter) -> float:
    """How long Telegram asked to wait, whether PTB reports it as int or `timedelta`.

    PTB 22 returns an int and warns unless `PTB_TIMEDELTA` is set; reading it here never warns.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


def describes(error: TelegramError, phrases: tuple[str, ...]) -> bool:
    """Whether Telegram's description of the error contains one of `phrases`."""
    message = error.message.lower()
    return any(phrase in message for phrase in phrases)


def translate(
    error: TelegramError,
    *,
    chat_id: int,
    user_id: UserId | None = None,
    reference: str | None = None,
) -> MessengerError:
    """The application error for a Telegram error raised by a call about `chat_id`.

    Args:
        error: What python-telegram-bot raised (after the rate limiter's retries).
        chat_id: The chat the call was about.
        user_id: The member the call acted on, if any (for `TargetIsAdmin`).
        reference: How the caller named the chat (for `ChatNotFound`); defaults to the id.

    Returns:
        The error to raise with `raise … from error`. A refusal this module does not know
        becomes `MessengerUnavailable` (logged), since the port promises no other error.
    """
    detail = error.message
    match error:
        case RetryAfter():
            seconds = retry_after_seconds(error)
            return MessengerUnavailable(f"flood control: retry after {seconds}s", seconds)
        case ChatMigrated():
            return ChatNotFound(f"{reference or chat_id} (now {error.new_chat_id})")
        case Forbidden():
            return BotLacksRights(chat_id, detail)
        case BadRequest() if user_id is not None and describes(error, NO_JOIN_REQUEST):
            return JoinRequestGone(chat_id, user_id)
        case BadRequest() if user_id is not None and describes(error, TARGET_IS_ADMIN):
            return TargetIsAdmin(chat_id, user_id)
        case BadRequest() if describes(error, LACKS_RIGHTS):
            return BotLacksRights(chat_id, detail)
        case BadRequest() if user_id is not None and describes(error, USER_NOT_FOUND):
            return UserNotFound(user_id)
        case BadRequest() if describes(error, NOT_FOUND):
            return ChatNotFound(reference or str(chat_id))
        case BadRequest():
            log.warning("telegram.refused chat=%s detail=%s", chat_id, detail)
            return MessengerUnavailable(f"Telegram refused: {detail}")
        case TimedOut():
            return MessengerUnavailable(f"timed out: {detail}")
        case NetworkError():
            return MessengerUnavailable(f"network: {detail}")
        case _:
            return MessengerUnavailable(f"{type(error).__name__}: {detail}")
