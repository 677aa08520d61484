"""`/muted`, `/exempted` and `/log` (issue 11, point 3): admins see who is affected, paged."""

from datetime import timedelta

import pytest

from application.authorization import Caller
from application.errors import NotPermitted
from application.paging import PAGE_SIZE, ListCommand
from application.targeting import ById
from application.use_cases.exempt_member import ExemptCommand
from application.use_cases.unprotect_group import UnprotectCommand
from domain.audit import AuditKind
from domain.ids import UserId
from domain.restriction import Restriction
from tests.unit.world import (
    ADMIN,
    ALICE,
    AS_ADMIN,
    BOB,
    CAROL,
    GROUP,
    NEWS,
    OTHER_GROUP,
    TALK,
    TALK_CHANNEL,
    World,
)

MEMBERS = 25


async def _muted(world: World, count: int) -> list[UserId]:
    """`count` members the bot muted, one a minute, the latest first in id order."""
    users = [UserId(5_000 + count - n) for n in range(count)]
    async with world.uow.begin(GROUP) as tx:
        for n, user in enumerate(users):
            since = world.clock.now() + timedelta(minutes=n)
            await tx.restrictions.save(Restriction(GROUP, user, (NEWS,), since, name=f"M{n}"))
        await tx.commit()
    return users


async def test_muted_lists_the_longest_muted_first_a_page_at_a_time(world: World) -> None:
    await world.protect()
    users = await _muted(world, MEMBERS)

    first = await world.muted.execute(ListCommand(GROUP, AS_ADMIN))
    last = await world.muted.execute(ListCommand(GROUP, AS_ADMIN, page=3))
    beyond = await world.muted.execute(ListCommand(GROUP, AS_ADMIN, page=99))

    assert [r.user_id for r in first.page.items] == users[:PAGE_SIZE]
    assert (first.page.number, first.page.pages, first.page.total) == (1, 3, MEMBERS)
    assert [r.user_id for r in last.page.items] == users[2 * PAGE_SIZE :]
    assert last.page.offset == 2 * PAGE_SIZE
    assert beyond.page == last.page  # a page past the end shows the last one
    assert first.policy is not None
    assert first.policy.channels_of((NEWS,))[0].channel_id == NEWS


async def test_muted_in_a_group_with_nobody_muted_is_one_empty_page(world: World) -> None:
    await world.protect()
    listed = await world.muted.execute(ListCommand(GROUP, AS_ADMIN, page=2))
    assert (listed.page.items, listed.page.number, listed.page.pages) == ((), 1, 1)


async def test_a_real_mute_is_listed_with_the_channels_the_member_misses(world: World) -> None:
    await world.protect(TALK_CHANNEL)
    await world.say(ALICE)

    listed = await world.muted.execute(ListCommand(GROUP, AS_ADMIN))

    [alice] = listed.page.items
    assert (alice.user_id, alice.missing) == (ALICE, (TALK,))
    assert alice.name  # the warning's name, for the mention


@pytest.mark.parametrize("kind", ["muted", "exempted", "log"])
async def test_the_lists_are_for_admins_only(world: World, kind: str) -> None:
    await world.protect()
    lister = {"muted": world.muted, "exempted": world.exempted, "log": world.log}[kind]
    with pytest.raises(NotPermitted):
        await lister.execute(ListCommand(GROUP, Caller(BOB)))
    assert await lister.execute(ListCommand(GROUP, Caller(BOB, anonymous_admin=True)))


async def test_exempted_lists_the_exemption_list_of_this_group_only(world: World) -> None:
    await world.protect()
    await world.protect(group=OTHER_GROUP)
    for user in (CAROL, ALICE):
        await world.exempt.execute(ExemptCommand(GROUP, AS_ADMIN, ById(user)))
    await world.exempt.execute(ExemptCommand(OTHER_GROUP, AS_ADMIN, ById(BOB)))

    listed = await world.exempted.execute(ListCommand(GROUP, AS_ADMIN))

    assert listed.items == (ALICE, CAROL)
    assert listed.total == 2


async def test_the_log_shows_who_did_what_newest_first(world: World) -> None:
    await world.protect()
    await world.say(ALICE)  # the bot mutes Alice
    world.clock.advance(timedelta(minutes=1))
    await world.exempt.execute(ExemptCommand(GROUP, AS_ADMIN, ById(BOB)))
    world.clock.advance(timedelta(minutes=1))
    await world.unprotect.execute(UnprotectCommand(GROUP, AS_ADMIN))

    logged = await world.log.execute(ListCommand(GROUP, AS_ADMIN))

    kinds = [event.kind for event in logged.items]
    assert kinds[0] is AuditKind.UNPROTECTED
    assert kinds.index(AuditKind.EXEMPTED) < kinds.index(AuditKind.MUTED)
    unprotected, exempted = logged.items[0], logged.items[kinds.index(AuditKind.EXEMPTED)]
    assert (unprotected.actor, exempted.actor, exempted.subject) == (ADMIN, ADMIN, BOB)
    muted = logged.items[kinds.index(AuditKind.MUTED)]
    assert (muted.actor, muted.subject) == (None, ALICE)  # the bot's own
