"""Long lists shown a page at a time (`/muted`, `/exempted`, `/log`)."""

from collections.abc import Sequence

import attrs

from application.authorization import Caller
from domain.ids import GroupId

PAGE_SIZE = 10
"""Entries on one page: a page stays well under Telegram's 4,096 characters."""


@attrs.frozen
class ListCommand:
    """Show page `page` (1 is the first) of one of a group's lists; admins only."""

    group_id: GroupId
    caller: Caller
    page: int = 1


@attrs.frozen
class Page[T]:
    """One page of a list."""

    items: tuple[T, ...]
    number: int
    """1 for the first page; always within `1…pages`."""
    pages: int
    """How many pages the list has (1 when it is empty)."""
    total: int
    """Entries in the whole list."""

    @property
    def offset(self) -> int:
        """The position of the first item in the whole list (0 for the first page)."""
        return (self.number - 1) * PAGE_SIZE


def page_of[T](items: Sequence[T], number: int) -> Page[T]:
    """Page `number` of `items`, brought within the pages there are."""
    pages = max(1, -(-len(items) // PAGE_SIZE))
    number = min(max(1, number), pages)
    start = (number - 1) * PAGE_SIZE
    return Page(tuple(items[start : start + PAGE_SIZE]), number, pages, len(items))
