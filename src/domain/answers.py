"""What the bot says back to a person in a group, kept when Telegram cannot take it at once."""

import attrs


@attrs.frozen
class Answer:
    """An answer to a command, as the Telegram adapter rendered it (opaque here).

    Attributes:
        html: The text, in Telegram's HTML.
        keyboard: The inline keyboard as the adapter serialised it, if any.
        thread_id: The forum topic the command was sent in, if any.
    """

    html: str
    keyboard: str | None = None
    thread_id: int | None = None
