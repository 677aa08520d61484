"""The updates the bot asks Telegram for, and how one is named in metrics and in log lines."""

from telegram import Update

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
    if isinstance(update, Update):
        for kind in ALLOWED_UPDATES:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"


def log_context(update: object) -> dict[str, int]:
    """What every log line of one update carries: its id, the tenant (chat) and the user."""
    if not isinstance(update, Update):
        return {}
    context = {"update_id": update.update_id}
    if update.effective_chat is not None:
        context["tenant"] = update.effective_chat.id
    if update.effective_user is not None:
        context["user"] = update.effective_user.id
    return context
