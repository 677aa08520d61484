"""The updates the bot asks Telegram for, and how one is named in metrics and in log lines."""

from contextvars import ContextVar

from structlog.typing import EventDict, WrappedLogger
from telegram import Update

from adapters.telegram.plain_talk import PlainTalk

ALLOWED_UPDATES = (
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.CHAT_MEMBER,
    Update.MY_CHAT_MEMBER,
    Update.CHAT_JOIN_REQUEST,
)
"""DESIGN §7: chat_member in particular is only delivered when asked for."""


def update_type(update: object) -> str:
    """The kind of an update, one of `ALLOWED_UPDATES` or "other" (a bounded metric label)."""
    if type(update) is PlainTalk:
        return update.kind
    if isinstance(update, Update):
        for kind in ALLOWED_UPDATES:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"


def log_context(update: object) -> dict[str, int]:
    """What every log line of one update carries: its id, the tenant (chat) and the user."""
    if type(update) is PlainTalk:
        return {"update_id": update.update_id, "tenant": update.chat_id, "user": update.user_id}
    if not isinstance(update, Update):
        return {}
    context = {"update_id": update.update_id}
    if update.effective_chat is not None:
        context["tenant"] = update.effective_chat.id
    if update.effective_user is not None:
        context["user"] = update.effective_user.id
    return context


def chat_and_message_of(update: object) -> tuple[int | None, int | None]:
    """The update's chat and message ids, where it has them (either shape)."""
    if type(update) is PlainTalk:
        return update.chat_id, update.message_id
    if isinstance(update, Update):
        chat, message = update.effective_chat, update.effective_message
        return (
            chat.id if chat is not None else None,
            message.message_id if message is not None else None,
        )
    return None, None


def update_id_of(update: object) -> int | None:
    """The update's id, whichever shape it came in (`None` for an object of another kind)."""
    if type(update) is PlainTalk or isinstance(update, Update):
        return update.update_id
    return None


HANDLED: ContextVar[object] = ContextVar("nezuko_handled_update", default=None)
"""The update the current task handles (set by the update processor; each runs in its own task)."""


def add_update_ids(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """A structlog processor: every line written while an update is handled carries its ids.

    The ids are read when a line is written, not bound for every update (the hot path writes
    none); a key the line sets itself wins.
    """
    update = HANDLED.get()
    if update is not None:
        for key, value in log_context(update).items():
            event.setdefault(key, value)
    return event
