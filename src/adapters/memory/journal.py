"""The intake journal in process memory: what the bot in memory mode keeps (lost on exit)."""

from collections.abc import Collection, Sequence

from adapters.intake import JSONObject


class MemoryJournal:
    """`UpdateJournal` in a dict: remembers the updates taken and not handled, for this process."""

    def __init__(self) -> None:
        self._unhandled: dict[int, JSONObject] = {}

    async def keep(self, updates: Sequence[JSONObject]) -> frozenset[int]:
        # Without restarts, Telegram sends an update again only while it is not handled yet.
        new = {int(update["update_id"]): update for update in updates}
        new = {key: update for key, update in new.items() if key not in self._unhandled}
        self._unhandled.update(new)
        return frozenset(new)

    async def mark_handled(self, update_ids: Collection[int]) -> None:
        for update_id in update_ids:
            self._unhandled.pop(update_id, None)

    async def leftovers(self) -> list[JSONObject]:
        return [self._unhandled[update_id] for update_id in sorted(self._unhandled)]
