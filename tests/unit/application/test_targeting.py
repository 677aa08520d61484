"""Issue 11 point 2: who `/exempt`, `/unexempt` and `/why` act on (`application.targeting`)."""

import pytest

from application.targeting import (
    ById,
    ByReply,
    ByUsername,
    Refusal,
    TargetRefused,
)
from application.use_cases.exempt_member import ExemptCommand, ExemptResult
from application.use_cases.explain_member import ExplainCommand
from application.use_cases.remember_username import MemberSeen
from application.use_cases.unexempt_member import UnexemptCommand
from domain.ids import ANONYMOUS_ADMIN_BOT, MessageId, UserId
from domain.senders import Exemption
from tests.unit.world import (
    ADMIN,
    ALICE,
    AS_ADMIN,
    BOB,
    BOT,
    CAROL,
    GROUP,
    OTHER_GROUP,
    World,
)


async def warning_of(world: World, user: UserId) -> MessageId:
    held = await world.restriction(user)
    assert held is not None
    assert held.warning_message_id is not None
    return held.warning_message_id


async def refusal(world: World, command: ExemptCommand) -> Refusal:
    with pytest.raises(TargetRefused) as refused:
        await world.exempt.execute(command)
    return refused.value.refusal


async def test_exempt_as_a_reply_to_the_bots_warning_exempts_the_warned_member_not_the_bot(
    world: World,
) -> None:
    await world.protect()
    await world.say(ALICE)
    warning = await warning_of(world, ALICE)

    result = await world.exempt.execute(ExemptCommand(GROUP, AS_ADMIN, ByReply(BOT, warning)))
    await world.run_due()

    assert result == ExemptResult(added=True, lifting=True, user_id=ALICE)
    assert not world.messenger.is_restricted(GROUP, ALICE)
    assert (await world.lookups.snapshot(GROUP)).exempt == frozenset({ALICE})


async def test_why_and_unexempt_as_a_reply_to_the_warning_act_on_the_warned_member(
    world: World,
) -> None:
    await world.protect()
    await world.say(ALICE)
    warning = ByReply(BOT, await warning_of(world, ALICE))
    explanation = await world.explain.execute(ExplainCommand(GROUP, AS_ADMIN, warning))
    assert explanation.restriction is not None
    assert explanation.restriction.user_id == ALICE
    assert explanation.exemption is None
    assert await world.unexempt.execute(UnexemptCommand(GROUP, AS_ADMIN, warning)) is False


async def test_a_merged_warning_naming_several_members_asks_the_admin_to_name_one(
    world: World,
) -> None:
    await world.protect()
    enforce = world.container.enforce_membership()
    await enforce.execute(world.message(ALICE))
    await enforce.execute(world.message(BOB))
    await world.send_pending()
    warning = await warning_of(world, ALICE)
    assert warning == await warning_of(world, BOB)  # one merged warning names both

    assert await refusal(world, ExemptCommand(GROUP, AS_ADMIN, ByReply(BOT, warning))) is (
        Refusal.SEVERAL_WARNED
    )
    assert (await world.lookups.snapshot(GROUP)).exempt == frozenset()


async def test_the_bot_itself_is_refused_by_id_and_by_a_reply_to_a_message_warning_nobody(
    world: World,
) -> None:
    await world.protect()
    assert await refusal(world, ExemptCommand(GROUP, AS_ADMIN, ById(BOT))) is Refusal.THE_BOT
    reply = ByReply(BOT, MessageId(999))  # a reply, or a warning whose member is free again
    assert await refusal(world, ExemptCommand(GROUP, AS_ADMIN, reply)) is Refusal.THE_BOT
    with pytest.raises(TargetRefused):
        await world.explain.execute(ExplainCommand(GROUP, AS_ADMIN, ById(BOT)))
    assert await world.audit_kinds() == []


async def test_anonymous_senders_are_refused(world: World) -> None:
    await world.protect()
    on_behalf = ByReply(ANONYMOUS_ADMIN_BOT, MessageId(5), on_behalf_of_chat=True)
    assert await refusal(world, ExemptCommand(GROUP, AS_ADMIN, on_behalf)) is Refusal.ANONYMOUS
    placeholder = ById(ANONYMOUS_ADMIN_BOT)
    assert await refusal(world, ExemptCommand(GROUP, AS_ADMIN, placeholder)) is (Refusal.ANONYMOUS)


async def test_an_admin_cannot_be_exempted_but_can_be_explained(world: World) -> None:
    await world.protect()
    assert await refusal(world, ExemptCommand(GROUP, AS_ADMIN, ById(ADMIN))) is Refusal.ADMIN
    explanation = await world.explain.execute(ExplainCommand(GROUP, AS_ADMIN, ById(ADMIN)))
    assert explanation.exemption is Exemption.ADMIN


async def test_a_username_names_a_member_seen_in_this_group_only(world: World) -> None:
    await world.protect()
    named = ExemptCommand(GROUP, AS_ADMIN, ByUsername("alice_a"))
    assert await refusal(world, named) is Refusal.UNKNOWN_USERNAME

    seen = world.remember_username
    assert await seen.execute(MemberSeen(GROUP, ALICE, "Alice_A")) is True
    result = await world.exempt.execute(ExemptCommand(GROUP, AS_ADMIN, ByUsername("ALICE_a")))
    assert result.user_id == ALICE
    elsewhere = ExemptCommand(OTHER_GROUP, AS_ADMIN, ByUsername("alice_a"))
    assert await refusal(world, elsewhere) is Refusal.UNKNOWN_USERNAME


async def test_a_member_seen_again_costs_no_database_round_trip(world: World) -> None:
    seen = world.remember_username
    assert await seen.execute(MemberSeen(GROUP, ALICE, "alice_a")) is True
    transactions = world.uow.transactions
    assert await seen.execute(MemberSeen(GROUP, ALICE, "alice_a")) is False
    assert await seen.execute(MemberSeen(GROUP, BOB, None)) is True  # seen, without a name
    assert await seen.execute(MemberSeen(GROUP, BOB, None)) is False
    transactions = world.uow.transactions
    assert await seen.execute(MemberSeen(GROUP, ALICE, "alice_a")) is False
    assert world.uow.transactions == transactions
    assert await seen.execute(MemberSeen(GROUP, ALICE, "alice_new")) is True  # renamed
    # a muted newcomer without a username (a raid's usual account) costs no write
    transactions = world.uow.transactions
    assert await seen.execute(MemberSeen(GROUP, CAROL, None, muted=True)) is False
    assert world.uow.transactions == transactions
    assert await seen.execute(MemberSeen(GROUP, CAROL, "carol_c", muted=True)) is True
