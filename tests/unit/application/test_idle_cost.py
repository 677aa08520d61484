"""Issue 15: the background loops cost nothing in groups with nothing due for them.

With 1,000 protected groups each holding a due message deletion, the paced sender visited every
one of them each second (five use cases, a transaction each) although it had nothing to send
there, and the due-actions loop claimed in every group holding only a warning to send: over a
thousand transactions a second with nothing to do. Each loop now asks the directory only for
the groups with work of its own kinds due (`PACED_KINDS` and the rest). Likewise a member
joining a channel a thousand groups require read a restriction and a join request in each of
them (2,000 transactions); only the groups holding the member are visited now.
"""

import asyncio
from datetime import timedelta

import pytest

from application import background
from application.background import drain_group, send_warnings_forever
from application.use_cases.channel_member_changed import ChannelMemberUpdate
from domain.ids import GroupId
from domain.membership import Membership, MemberStatus
from domain.schedule import ActionKind
from domain.senders import Person
from tests.factories import make_action, new_group
from tests.unit.world import ALICE, GROUP, NEWS, World

IDLE_GROUPS = 500


async def _due(world: World, kind: ActionKind, groups: int) -> list[GroupId]:
    """`groups` new groups, each with one action of `kind` due a minute ago."""
    made = [new_group() for _ in range(groups)]
    past = world.clock.now() - timedelta(minutes=1)
    for group in made:
        async with world.uow.begin(group) as tx:
            await tx.actions.add(make_action(group, kind, due_at=past))
            await tx.commit()
    return made


async def test_the_sender_visits_only_groups_with_something_to_send(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _due(world, ActionKind.DELETE_MESSAGE, IDLE_GROUPS)  # the due-actions loop's work
    (answering,) = await _due(world, ActionKind.SEND_ANSWER, 1)
    visited: list[GroupId] = []
    rounds = 0
    twenty_rounds = asyncio.Event()

    async def counted(senders: background.Senders, group_id: GroupId) -> None:
        visited.append(group_id)
        await drain_group(senders, group_id)

    real_woken = world.container.outbox().woken

    async def quick(wait_at_most: float) -> frozenset[GroupId]:
        nonlocal rounds
        rounds += 1
        if rounds >= 20:
            twenty_rounds.set()
        return await real_woken(min(wait_at_most, 0.01))

    monkeypatch.setattr(background, "drain_group", counted)
    outbox = world.container.outbox()
    monkeypatch.setattr(outbox, "woken", quick)
    before = world.uow.transactions
    sender = asyncio.create_task(
        send_warnings_forever(
            world.container.senders(),
            outbox=outbox,
            directory=world.directory,
            clock=world.clock,
            messenger=world.messenger,
            name="test",
        )
    )
    await asyncio.wait_for(twenty_rounds.wait(), timeout=5)
    sender.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sender
    assert set(visited) == {answering}
    # The answer's few transactions, not five per idle group and round (50,000 before).
    assert world.uow.transactions - before < 20
    assert [a.kind for a in await world.pending(answering)] == []


async def test_the_due_actions_loop_claims_only_in_groups_with_its_work_due(
    world: World,
) -> None:
    await _due(world, ActionKind.SEND_WARNING, IDLE_GROUPS)  # the paced sender's work
    await _due(world, ActionKind.DELETE_MESSAGE, 1)
    before = world.uow.transactions
    report = await world.run_due_actions.execute()
    assert report.done == 1
    # Claim, complete and the empty claim that ends the group's batch: not one per idle group.
    assert world.uow.transactions - before <= 3


async def test_a_channel_join_visits_only_the_groups_holding_the_member(world: World) -> None:
    for group in [new_group() for _ in range(IDLE_GROUPS)]:
        await world.protect(group=group)  # each requires NEWS; ALICE is nothing there
    await world.protect()
    await world.say(ALICE)  # muted in GROUP
    world.join(NEWS, ALICE)
    before = world.uow.transactions
    joined = ChannelMemberUpdate(
        NEWS,
        Person(ALICE, "alice"),
        Membership(MemberStatus.LEFT),
        Membership(MemberStatus.MEMBER),
    )
    result = await world.on_channel_member.execute(joined)
    assert result.lifted == (GROUP,)
    assert await world.restriction(ALICE) is None
    # GROUP's reads, the lift and its notice (16): not two more in each other group (1,000).
    assert world.uow.transactions - before < 50
