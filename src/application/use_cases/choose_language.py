"""Rule 15: which language a text for one person in a group is written in."""

import attrs

from application.lookups import Lookups
from domain.ids import GroupId
from domain.language import Language, reader_language


@attrs.frozen
class LanguageQuery:
    """A text for someone in `group_id` whose Telegram app speaks `language_code`."""

    group_id: GroupId
    language_code: str | None


@attrs.frozen
class ChooseLanguage:
    """The reader's language in a group: the group's fixed one, else (`auto`) their own.

    Answers to button presses speak the presser's, replies to a command the admin's. The group's
    setting comes from the cached snapshot: no database round trip in steady state.
    """

    lookups: Lookups

    async def execute(self, query: LanguageQuery) -> Language:
        """The language to write in for this reader."""
        policy = (await self.lookups.snapshot(query.group_id)).policy
        setting = policy.settings.language if policy is not None else None
        return reader_language(setting, query.language_code)
