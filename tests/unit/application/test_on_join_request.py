"""Join requests (rule 14): the gate approves subscribers, invites the others in private,
declines at the timeout; with the gate off, requests are audited and left to the admins."""

from datetime import timedelta

from application.diagnosis import Finding, Problem
from application.errors import BotLacksRights, MessengerUnavailable
from application.ports.messenger import ChatRights, GateOutcome
from application.targeting import ById
from application.use_cases.channel_member_changed import ChannelMemberUpdate
from application.use_cases.check_rights import CheckCommand
from application.use_cases.exempt_member import ExemptCommand
from application.use_cases.on_join_request import JoinRequestCommand, JoinRequestOutcome
from application.use_cases.verify_join_request import GateVerifyCommand, GateVerifyOutcome
from domain.audit import AuditKind
from domain.ids import ChannelId, UserId
from domain.membership import Membership, MemberStatus
from domain.policy import GroupSettings
from domain.schedule import ActionKind
from domain.senders import Person
from tests.unit.world import (
    AS_ADMIN,
    BOB,
    BOT,
    CAROL,
    GROUP,
    NEWS,
    NEWS_CHANNEL,
    TALK_CHANNEL,
    World,
)

GATED = GroupSettings(join_gate=True)


def request(user: UserId = CAROL) -> JoinRequestCommand:
    return JoinRequestCommand(GROUP, user, user_chat_id=user)


async def gated(world: World, *users: UserId, settings: GroupSettings = GATED) -> None:
    """A protected group with the gate on; `users` (Carol by default) asked to join."""
    await world.protect(NEWS_CHANNEL, settings=settings)
    for user in users or (CAROL,):
        world.messenger.join_requests.add((GROUP, user))


async def test_a_request_to_a_protected_group_with_the_gate_off_is_audited_and_costs_no_call(
    world: World,
) -> None:
    await world.protect()
    calls = len(world.messenger.calls)
    outcome = await world.on_join_request.execute(JoinRequestCommand(GROUP, CAROL))
    assert outcome is JoinRequestOutcome.RECORDED
    events = await world.audit()
    assert events[-1].kind is AuditKind.JOIN_REQUESTED
    assert events[-1].subject == CAROL
    assert len(world.messenger.calls) == calls


async def test_requests_to_unprotected_groups_and_channels_are_not_recorded(
    world: World,
) -> None:
    assert await world.on_join_request.execute(JoinRequestCommand(GROUP, CAROL)) is (
        JoinRequestOutcome.NOT_PROTECTED
    )
    assert await world.on_join_request.execute(
        JoinRequestCommand(NEWS, CAROL, is_channel=True)
    ) is (JoinRequestOutcome.NOT_PROTECTED)
    assert AuditKind.JOIN_REQUESTED not in await world.audit_kinds()


async def test_rule_14_a_subscriber_is_approved_at_once_and_never_messaged(world: World) -> None:
    await gated(world)
    world.join(NEWS, CAROL)
    outcome = await world.on_join_request.execute(request())
    assert outcome is JoinRequestOutcome.APPROVED
    assert world.messenger.approved == [(GROUP, CAROL)]
    assert world.messenger.invitations == []
    assert AuditKind.JOIN_APPROVED in await world.audit_kinds()
    assert await world.pending() == ()


async def test_rule_14_a_non_subscriber_is_told_in_private_what_to_join_and_held(
    world: World,
) -> None:
    await gated(
        world, settings=GroupSettings(join_gate=True, join_gate_timeout=timedelta(hours=2))
    )
    outcome = await world.on_join_request.execute(request())
    assert outcome is JoinRequestOutcome.HELD
    assert world.messenger.approved == []
    [(message_id, invitation)] = world.messenger.invitations
    assert invitation.user_chat_id == CAROL
    assert invitation.channels == (NEWS_CHANNEL,)
    assert invitation.timeout == timedelta(hours=2)
    held = await world.container.gate().pending(GROUP, CAROL)
    assert held is not None
    assert held.message_id == message_id
    [timeout] = await world.pending()
    assert timeout.kind is ActionKind.DECLINE_JOIN_REQUEST
    assert timeout.due_at == world.clock.now() + timedelta(hours=2)


async def test_rule_14_the_same_request_again_keeps_its_timeout_and_is_not_messaged_twice(
    world: World,
) -> None:
    await gated(world)
    await world.on_join_request.execute(request())
    world.clock.advance(timedelta(minutes=1))
    assert await world.on_join_request.execute(request()) is JoinRequestOutcome.ALREADY_HELD
    assert len(world.messenger.invitations) == 1
    assert len(await world.pending()) == 1


async def test_rule_14_joining_the_last_channel_approves_and_says_so_in_private(
    world: World,
) -> None:
    await gated(world)
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL, settings=GATED)
    await world.on_join_request.execute(request())
    [(message_id, invitation)] = world.messenger.invitations
    assert invitation.channels == (NEWS_CHANNEL, TALK_CHANNEL)

    world.join(NEWS, CAROL)
    first = await world.on_channel_member.execute(_joined(NEWS))
    assert first.approved == ()  # TALK still missing
    world.join(TALK_CHANNEL.channel_id, CAROL)
    second = await world.on_channel_member.execute(_joined(TALK_CHANNEL.channel_id))

    assert second.approved == (GROUP,)
    assert world.messenger.approved == [(GROUP, CAROL)]
    [note] = world.messenger.gate_notes
    assert (note.message_id, note.outcome) == (message_id, GateOutcome.APPROVED)
    assert await world.pending() == ()  # the timeout is cancelled
    assert await world.container.gate().pending(GROUP, CAROL) is None


async def test_rule_14_verify_approves_once_joined_and_only_the_pressers_request(
    world: World,
) -> None:
    await gated(world, CAROL, BOB)
    world.leave(NEWS, BOB)
    await world.on_join_request.execute(request())
    verify = world.verify_join_request

    early = await verify.execute(GateVerifyCommand(GROUP, CAROL))
    assert early.outcome is GateVerifyOutcome.STILL_MISSING
    assert early.missing == (NEWS_CHANNEL,)
    assert (await verify.execute(GateVerifyCommand(GROUP, BOB))).outcome is (
        GateVerifyOutcome.NO_REQUEST
    )
    world.join(NEWS, CAROL)
    assert (await verify.execute(GateVerifyCommand(GROUP, CAROL))).outcome is (
        GateVerifyOutcome.THROTTLED
    )
    world.clock.advance(timedelta(seconds=6))
    approved = await verify.execute(GateVerifyCommand(GROUP, CAROL))
    assert approved.outcome is GateVerifyOutcome.APPROVED
    assert world.messenger.approved == [(GROUP, CAROL)]
    assert [n.outcome for n in world.messenger.gate_notes] == [GateOutcome.APPROVED]


async def test_rule_14_at_the_timeout_the_request_is_declined_and_the_requester_told_once(
    world: World,
) -> None:
    await gated(world)
    await world.on_join_request.execute(request())
    await world.run_due(timedelta(minutes=59))
    assert world.messenger.declined == []
    await world.run_due(timedelta(minutes=2))
    assert world.messenger.declined == [(GROUP, CAROL)]
    assert [n.outcome for n in world.messenger.gate_notes] == [GateOutcome.DECLINED]
    assert AuditKind.JOIN_DECLINED in await world.audit_kinds()
    await world.run_due(timedelta(hours=2))
    assert len(world.messenger.gate_notes) == 1
    assert await world.pending() == ()


async def test_rule_14_a_requester_who_joined_unseen_is_approved_at_the_timeout(
    world: World,
) -> None:
    await gated(world)
    await world.on_join_request.execute(request())
    world.join(NEWS, CAROL)  # no channel event reached the bot
    await world.run_due(timedelta(hours=1))
    assert world.messenger.approved == [(GROUP, CAROL)]
    assert world.messenger.declined == []


async def test_rule_14_with_the_timeout_off_the_request_waits_for_the_admins(
    world: World,
) -> None:
    await gated(world, settings=GroupSettings(join_gate=True, join_gate_timeout=None))
    assert await world.on_join_request.execute(request()) is JoinRequestOutcome.HELD
    assert await world.pending() == ()
    [(_, invitation)] = world.messenger.invitations
    assert invitation.timeout is None


async def test_rule_14_a_failed_private_message_leaves_the_request_pending_and_audited(
    world: World,
) -> None:
    await gated(world)
    world.messenger.unreachable.add(CAROL)
    assert await world.on_join_request.execute(request()) is JoinRequestOutcome.HELD
    [failed] = [e for e in await world.audit() if e.kind is AuditKind.ACTION_FAILED]
    assert "private message to the requester failed" in failed.reason
    assert "pending until the timeout" in failed.reason
    held = await world.container.gate().pending(GROUP, CAROL)
    assert held is not None
    assert held.message_id is None
    await world.run_due(timedelta(hours=1))
    assert world.messenger.declined == [(GROUP, CAROL)]
    assert world.messenger.gate_notes == []  # nothing to edit: never told


async def test_rule_11_an_approval_telegram_cannot_take_now_is_deferred_and_retried(
    world: World,
) -> None:
    await gated(world)
    world.join(NEWS, CAROL)
    world.messenger.fail("approve_join_request", GROUP, lambda: MessengerUnavailable("5xx", 3.0))
    outcome = await world.on_join_request.execute(request())
    assert outcome is JoinRequestOutcome.APPROVAL_DEFERRED
    [retry] = await world.pending()
    assert retry.kind is ActionKind.APPROVE_JOIN_REQUEST
    assert retry.due_at == world.clock.now() + timedelta(seconds=3)

    await world.run_due(timedelta(seconds=3))  # still failing: deferred again, not dropped
    [again] = await world.pending()
    assert again.attempts == 1
    world.messenger.heal("approve_join_request", GROUP)
    await world.run_due(timedelta(minutes=1))
    assert world.messenger.approved == [(GROUP, CAROL)]
    assert await world.pending() == ()


async def test_rule_14_a_refused_approval_is_audited_and_left_to_the_admins(world: World) -> None:
    await gated(world)
    world.join(NEWS, CAROL)
    world.messenger.fail("approve_join_request", GROUP, lambda: BotLacksRights(GROUP, "no"))
    outcome = await world.on_join_request.execute(request())
    assert outcome is JoinRequestOutcome.APPROVAL_REFUSED
    assert await world.pending() == ()
    assert AuditKind.ACTION_FAILED in await world.audit_kinds()


async def test_rule_14_a_request_an_admin_handled_meanwhile_is_forgotten_quietly(
    world: World,
) -> None:
    await gated(world)
    await world.on_join_request.execute(request())
    world.messenger.join_requests.clear()  # an admin declined it by hand
    world.join(NEWS, CAROL)
    await world.on_channel_member.execute(_joined(NEWS))
    assert world.messenger.approved == []
    assert world.messenger.gate_notes == []
    assert await world.container.gate().pending(GROUP, CAROL) is None
    assert await world.pending() == ()


def _joined(channel: ChannelId) -> ChannelMemberUpdate:
    return ChannelMemberUpdate(
        channel,
        Person(CAROL, "Carol"),
        Membership(MemberStatus.LEFT),
        Membership(MemberStatus.MEMBER),
    )


async def test_rule_14_check_names_the_right_the_gate_needs(world: World) -> None:
    await gated(world)
    report = await world.check.execute(CheckCommand(GROUP, AS_ADMIN))
    assert Finding(Problem.GATE_CANNOT_INVITE, GROUP) in report.findings
    world.messenger.chat_rights[(GROUP, BOT)] = ChatRights(
        MemberStatus.ADMINISTRATOR,
        can_restrict_members=True,
        can_delete_messages=True,
        can_invite_users=True,
    )
    healthy = await world.check.execute(CheckCommand(GROUP, AS_ADMIN))
    assert healthy.healthy
    assert healthy.join_gate


async def test_rule_14_an_exempt_requester_is_approved_at_once(world: World) -> None:
    await gated(world)
    await world.exempt.execute(ExemptCommand(GROUP, AS_ADMIN, ById(CAROL)))
    assert await world.on_join_request.execute(request()) is JoinRequestOutcome.APPROVED
    assert world.messenger.invitations == []


async def test_rule_11_handling_a_request_never_waits_on_the_private_message(
    world: World,
) -> None:
    await gated(world)
    outcome = await world.container.on_join_request().execute(request())  # no sender round
    assert outcome is JoinRequestOutcome.HELD
    assert world.messenger.invitations == []
    kinds = {action.kind for action in await world.pending()}
    assert kinds == {ActionKind.SEND_GATE_INVITATION, ActionKind.DECLINE_JOIN_REQUEST}


async def test_rule_14_a_requester_who_joined_before_the_message_went_is_approved_instead(
    world: World,
) -> None:
    await gated(world)
    await world.container.on_join_request().execute(request())
    world.join(NEWS, CAROL)
    await world.memberships.forget_membership(NEWS, CAROL)  # as the channel event does
    await world.send_pending()
    assert world.messenger.invitations == []
    assert world.messenger.approved == [(GROUP, CAROL)]
    assert await world.pending() == ()


async def test_rule_11_an_invitation_telegram_cannot_take_now_is_sent_later(
    world: World,
) -> None:
    await gated(world)
    world.messenger.fail("send_gate_invitation", CAROL, lambda: MessengerUnavailable("5xx"))
    await world.on_join_request.execute(request())
    assert world.messenger.invitations == []
    world.messenger.heal("send_gate_invitation", CAROL)
    world.clock.advance(timedelta(minutes=1))
    await world.send_pending()
    assert len(world.messenger.invitations) == 1


async def test_rule_14_with_protection_off_at_the_timeout_the_request_is_left_to_the_admins(
    world: World,
) -> None:
    await gated(world)
    await world.on_join_request.execute(request())
    await world.disable()
    await world.run_due(timedelta(hours=1))
    assert world.messenger.declined == []
    assert world.messenger.approved == []
    assert (GROUP, CAROL) in world.messenger.join_requests
    assert await world.container.gate().pending(GROUP, CAROL) is None
    assert await world.pending() == ()


async def test_rule_14_a_request_an_admin_declined_is_forgotten_at_the_timeout(
    world: World,
) -> None:
    await gated(world)
    await world.on_join_request.execute(request())
    world.messenger.join_requests.clear()
    await world.run_due(timedelta(hours=1))
    assert world.messenger.declined == []
    assert world.messenger.gate_notes == []
    assert AuditKind.JOIN_DECLINED not in await world.audit_kinds()
    assert await world.container.gate().pending(GROUP, CAROL) is None


async def test_rule_14_a_note_telegram_refuses_is_only_logged(world: World) -> None:
    await gated(world)
    await world.on_join_request.execute(request())
    world.messenger.fail("show_gate_note", CAROL, lambda: BotLacksRights(CAROL, "gone"))
    world.join(NEWS, CAROL)
    result = await world.on_channel_member.execute(_joined(NEWS))
    assert result.approved == (GROUP,)
    assert world.messenger.gate_notes == []
    assert AuditKind.JOIN_APPROVED in await world.audit_kinds()
