"""Sends that timed out: perhaps delivered after all, under an id the bot never learnt.

Rule 11 treats a send that timed out as possibly delivered; the paced sender sends it again, so
the member surely gets one. The Bot API cannot look a message up, but message ids in a chat
are consecutive, so the copy the timed-out send may have delivered has an id above the
highest the bot knew in that chat when the send began. `LostSends` remembers that id for each
timed-out send, and `sweep` probes the ids above it, nearest first, with
`editMessageReplyMarkup`, which Telegram allows only on the bot's own messages: a member's
message answers "message can't be edited" and is left alone; a message of the bot's whose id the
bot knows (it learnt it when the send succeeded) is skipped; a message of the bot's it does not
know is the lost copy, and is deleted.

The ids the bot knows live in this process: after a restart a lost copy is found only when
somebody touches it (`RetireStaleWarning`). With several processes sending into one chat, a
copy another process sent would look lost: the sweep is for one process per bot (DESIGN §6).
"""

import logging
import time

import attrs
import cachetools
from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

log = logging.getLogger(__name__)

MAX_PROBES = 10
"""Ids probed above the last known one for each lost send (a busy group may hide it further
up: then it stays until somebody touches it)."""
SWEEPS = (2.0, 10.0, 30.0, 120.0, 600.0)
"""Seconds after the timeout at which a lost send is looked for (Telegram executes a call the
client gave up on within seconds, or never); after the last one it is no longer looked for.
A successful send into the chat looks at once, whatever the schedule."""
CHATS_KNOWN = 10_000
"""Chats whose highest message id is remembered (the most recently active ones)."""

_NOT_MODIFIED = "message is not modified"


@attrs.define(eq=False)
class _Lost:
    after: int
    """The highest message id known in the chat when the send began."""
    markup: InlineKeyboardMarkup | None
    """The keyboard the lost copy carries (probing with it changes nothing on the copy)."""
    since: float = 0.0
    """When the send timed out (monotonic seconds); 0 while it is on its way."""
    probed: set[int] = attrs.field(factory=set[int])
    sweeps: int = 0
    """Scheduled sweeps done (`SWEEPS`)."""

    def due(self, now: float) -> bool:
        if not self.since:
            return False
        return self.sweeps < len(SWEEPS) and now - self.since >= SWEEPS[self.sweeps]

    def given_up(self) -> bool:
        return len(self.probed) >= MAX_PROBES or self.sweeps >= len(SWEEPS)


@attrs.frozen
class Send:
    """A send on its way, as `LostSends.begin` noted it."""

    chat_id: int
    entry: _Lost | None
    """What is looked for if it times out; None when no message id was known to look above."""


class LostSends:
    """What the bot knows of message ids per chat, and the sends it lost there.

    Memory: the highest message id of the last `CHATS_KNOWN` chats that had a message, and the
    bot's own ids only in chats where a send is on its way or lost.
    """

    def __init__(self) -> None:
        self._latest: cachetools.LRUCache[int, int] = cachetools.LRUCache(CHATS_KNOWN)
        self._lost: dict[int, list[_Lost]] = {}
        self._own: dict[int, set[int]] = {}

    def saw(self, chat_id: int, message_id: int) -> None:
        """A message `message_id` exists in the chat (an update, a deletion)."""
        if message_id > self._latest.get(chat_id, 0):
            self._latest[chat_id] = message_id

    def sent(self, chat_id: int, message_id: int) -> None:
        """Some send of the bot's into the chat succeeded as `message_id` (any endpoint)."""
        self.saw(chat_id, message_id)
        own = self._own.get(chat_id)
        if own is not None:
            own.add(message_id)

    def begin(self, chat_id: int, markup: InlineKeyboardMarkup | None) -> Send:
        """A send into the chat, carrying `markup`, is about to go."""
        after = self._latest.get(chat_id)
        if after is None:
            return Send(chat_id, None)  # nothing to look above: a lost copy stays unseen
        lost = _Lost(after, markup)
        self._lost.setdefault(chat_id, []).append(lost)
        self._own.setdefault(chat_id, set())
        return Send(chat_id, lost)

    def succeeded(self, send: Send) -> None:
        """The send came back: nothing was lost."""
        if send.entry is not None:
            self._forget(send.chat_id, send.entry)

    def timed_out(self, send: Send) -> None:
        """The send timed out: perhaps delivered; looked for from now on (`SWEEPS`)."""
        if send.entry is None:
            log.info("send.lost chat=%s: no known message id to look above", send.chat_id)
            return
        send.entry.since = time.monotonic()

    def failed(self, send: Send) -> None:
        """The send failed otherwise: it was not delivered."""
        self.succeeded(send)

    def pending(self, chat_id: int) -> bool:
        """Whether a lost send into the chat is looked for."""
        return any(lost.since for lost in self._lost.get(chat_id, ()))

    def chats_due(self) -> list[int]:
        """The chats where a lost send is due to be looked for (`SWEEPS`)."""
        now = time.monotonic()
        return [chat for chat, lost in self._lost.items() if any(e.due(now) for e in lost)]

    async def sweep(self, bot: Bot, chat_id: int, *, due_only: bool = True) -> int:
        """Look for the chat's lost copies and delete those found; return how many.

        Best effort, never raises: a failure to probe leaves the lost send to the next sweep.
        """
        now, deleted = time.monotonic(), 0
        for entry in list(self._lost.get(chat_id, ())):
            if not entry.since or (due_only and not entry.due(now)):
                continue
            while entry.due(now):  # sweeps that came due together count once
                entry.sweeps += 1
            try:
                found = await self._probe(bot, chat_id, entry)
            except TelegramError as error:
                log.info("send.lost.sweep_failed chat=%s error=%s", chat_id, error)
                continue
            if found is not None:
                deleted += 1
                log.info("send.lost.deleted chat=%s message=%s", chat_id, found)
            if found is not None or entry.given_up():
                self._forget(chat_id, entry)
        return deleted

    def _forget(self, chat_id: int, entry: _Lost) -> None:
        lost = self._lost.get(chat_id, [])
        if entry in lost:
            lost.remove(entry)
        if not lost:
            self._lost.pop(chat_id, None)
            self._own.pop(chat_id, None)

    async def _probe(self, bot: Bot, chat_id: int, entry: _Lost) -> int | None:
        own = self._own.get(chat_id, set[int]())
        for message_id in range(entry.after + 1, entry.after + MAX_PROBES + 1):
            if message_id in own or message_id in entry.probed:
                continue
            try:
                await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=entry.markup)
            except BadRequest as error:
                if _NOT_MODIFIED not in error.message.lower():
                    # A member's message, a service message, or none (yet: the lost copy may
                    # still be on its way, so an id above the last known one is probed again).
                    if message_id <= self._latest.get(chat_id, 0):
                        entry.probed.add(message_id)
                    continue
            # Ours, and not one the bot knows (if it had another keyboard, the edit gave it
            # the lost copy's: it is a lost copy too, of another timed-out send).
            await bot.delete_message(chat_id, message_id)
            own.add(message_id)
            return message_id
        return None
