"""SendNotices: rule 11, notices to admins as durable intents posted by the paced sender after
the group's warnings (and rule 8's throttle: once per problem per cooldown)."""

import asyncio
import contextlib
import logging
from datetime import timedelta

import attrs
import pytest

from adapters.memory.messenger import InMemoryMessenger
from application.admin_notices import ADMIN_NOTICE_COOLDOWN
from application.errors import BotLacksRights, MessengerUnavailable
from application.intents import RoundReport
from application.ports.messenger import AdminNotice, ChatRights
from application.use_cases.enforce_membership import Enforcement
from application.use_cases.on_bot_status_changed import BotStatusOutcome, BotStatusUpdate
from domain.audit import AuditKind
from domain.membership import Membership, MemberStatus
from domain.notices import NoticeKind
from domain.schedule import ActionKind, ScheduledAction
from tests.unit.world import ALICE, BOT, GROUP, NEWS, NEWS_CHANNEL, OWNER, TALK_CHANNEL, World

DEMOTED = BotStatusUpdate(
    GROUP, False, Membership(MemberStatus.ADMINISTRATOR), Membership(MemberStatus.MEMBER), OWNER
)


@attrs.define
class HeldNotices(InMemoryMessenger):
    """Telegram that never gets to a notice: the group's send budget is spent on warnings."""

    asked: asyncio.Event = attrs.Factory(asyncio.Event)

    async def notify_admins(self, notice: AdminNotice) -> None:
        self.calls.append(("notify_admins", notice.group_id, None))
        self.asked.set()
        await asyncio.Event().wait()


async def notice_intents(world: World) -> list[ScheduledAction]:
    return [a for a in await world.pending() if a.kind is ActionKind.SEND_NOTICE]


def demote(world: World) -> None:
    world.messenger.chat_rights[(GROUP, BOT)] = ChatRights(MemberStatus.MEMBER)


async def test_rule_11_a_notice_is_an_intent_the_sender_posts_not_the_handler() -> None:
    held = HeldNotices(own_id=BOT)
    world = World(messenger=held)
    await world.protect()
    demote(world)

    async with asyncio.timeout(1):  # the handler does not wait on the held notice
        outcome = await world.on_bot_status.execute(DEMOTED)

    assert outcome is BotStatusOutcome.GROUP_NEEDS_RIGHTS
    assert world.messenger.calls_of("notify_admins") == []
    [intent] = await notice_intents(world)
    assert (intent.notice, intent.channel_id) == (NoticeKind.CANNOT_RESTRICT, None)
    sender = asyncio.create_task(world.send_pending())
    try:
        async with asyncio.timeout(1):
            await held.asked.wait()
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    assert world.messenger.calls_of("notify_admins") == [("notify_admins", GROUP, None)]


async def test_rule_11_a_failing_check_stores_its_notice_with_its_audit_row(world: World) -> None:
    policy = await world.protect()
    commits = world.uow.commits

    await world.container.notices().report_unanswered(policy, (NEWS,))

    assert world.uow.commits == commits + 1  # one transaction: the audit row and the intent
    [intent] = await notice_intents(world)
    assert (intent.notice, intent.channel_id) == (NoticeKind.CHECKS_FAILING, NEWS)
    assert await world.audit_kinds() == [AuditKind.CHECK_FAILED]
    assert await world.container.outbox().woken(0) == {GROUP}  # the sender is rung at once
    assert world.messenger.notices == []
    await world.send_pending()
    [notice] = world.messenger.notices
    assert (notice.kind, notice.channel) == (NoticeKind.CHECKS_FAILING, NEWS_CHANNEL)
    assert await notice_intents(world) == []


async def test_rule_11_a_refused_mute_stores_the_notice_with_the_failure(world: World) -> None:
    await world.protect()
    world.messenger.fail("restrict", GROUP, lambda: BotLacksRights(GROUP, "not enough rights"))

    outcome = await world.container.enforce_membership().execute(world.message(ALICE))

    assert outcome is Enforcement.RESTRICT_FAILED
    assert world.messenger.calls_of("notify_admins") == []
    assert [i.notice for i in await notice_intents(world)] == [NoticeKind.CANNOT_RESTRICT]
    assert await world.audit_kinds() == [AuditKind.ACTION_FAILED]


async def test_rule_11_a_notice_telegram_cannot_take_is_deferred_and_sent_later(
    world: World,
) -> None:
    await world.protect()
    world.messenger.fail(
        "notify_admins", GROUP, lambda: MessengerUnavailable("flood", retry_after=30.0)
    )
    await world.container.notices().cannot_restrict(GROUP)

    assert await world.container.send_notices().execute(GROUP) == RoundReport(deferred=1)
    [intent] = await notice_intents(world)
    assert intent.due_at == world.clock.now() + timedelta(seconds=30)  # exactly retry_after
    assert intent.attempts == 1
    world.messenger.heal("notify_admins", GROUP)
    await world.send_pending()
    assert world.messenger.notices == []  # not before the wait is over

    world.clock.advance(timedelta(seconds=30))
    await world.send_pending()
    assert [n.kind for n in world.messenger.notices] == [NoticeKind.CANNOT_RESTRICT]
    assert await notice_intents(world) == []


async def test_rule_11_a_notice_failing_without_retry_after_backs_off_and_is_never_dropped(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="application.use_cases.send_notices")
    await world.protect()
    world.messenger.fail("notify_admins", GROUP, lambda: MessengerUnavailable("502"))
    await world.container.notices().cannot_restrict(GROUP)

    waits: list[timedelta] = []
    for _ in range(4):
        await world.send_pending()
        [intent] = await notice_intents(world)
        waits.append(intent.due_at - world.clock.now())
        world.clock.advance(waits[-1])
    assert waits == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    deferred = [r for r in caplog.records if r.getMessage().startswith("notice.deferred")]
    assert [r.levelno for r in deferred] == [logging.WARNING] * 2 + [
        logging.DEBUG,
        logging.WARNING,
    ]

    world.messenger.heal("notify_admins", GROUP)
    await world.send_pending()
    assert len(world.messenger.notices) == 1


async def test_rule_11_a_refused_notice_is_audited_logged_and_dropped(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="application.use_cases.send_notices")
    await world.protect()
    world.messenger.fail("notify_admins", GROUP, lambda: BotLacksRights(GROUP, "send messages"))
    await world.container.notices().cannot_restrict(GROUP)

    assert await world.container.send_notices().execute(GROUP) == RoundReport(dropped=1)

    assert await notice_intents(world) == []
    [failed] = [e for e in await world.audit() if e.kind is AuditKind.ACTION_FAILED]
    assert "notice cannot_restrict refused" in failed.reason
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"notice.refused group={GROUP} kind=cannot_restrict")
    await world.send_pending()
    assert world.messenger.calls_of("notify_admins") == [("notify_admins", GROUP, None)]


async def test_rule_8_the_throttle_stores_one_notice_per_problem_per_cooldown(
    world: World,
) -> None:
    await world.protect()
    demote(world)
    handle = world.container.on_bot_status_changed()
    for _ in range(3):
        await handle.execute(DEMOTED)
    assert len(await notice_intents(world)) == 1
    await world.send_pending()
    await handle.execute(DEMOTED)
    await world.send_pending()
    assert len(world.messenger.notices) == 1

    world.clock.advance(ADMIN_NOTICE_COOLDOWN)
    await handle.execute(DEMOTED)
    await world.send_pending()
    assert [n.kind for n in world.messenger.notices] == [NoticeKind.CANNOT_RESTRICT] * 2


async def test_rule_11_notices_go_after_the_warnings_due_in_the_group(world: World) -> None:
    await world.protect()
    await world.container.notices().cannot_restrict(GROUP)  # stored first
    assert await world.container.enforce_membership().execute(world.message(ALICE)) is (
        Enforcement.RESTRICTED
    )

    await world.send_pending()

    sends = [c[0] for c in world.messenger.calls if c[0] in {"send_warning", "notify_admins"}]
    assert sends == ["send_warning", "notify_admins"]


async def test_a_notice_about_a_channel_the_group_no_longer_requires_is_dropped(
    world: World,
) -> None:
    policy = await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    await world.container.notices().report_unanswered(policy, (NEWS,))
    await world.protect(TALK_CHANNEL)  # NEWS unlinked before the notice went out

    assert await world.container.send_notices().execute(GROUP) == RoundReport(dropped=1)
    assert world.messenger.calls_of("notify_admins") == []
    assert await notice_intents(world) == []


async def test_due_actions_leave_notices_to_the_sender(world: World) -> None:
    await world.protect()
    await world.container.notices().cannot_restrict(GROUP)

    await world.run_due(timedelta(minutes=1))

    assert world.messenger.calls_of("notify_admins") == []
    assert len(await notice_intents(world)) == 1


async def test_a_notice_refused_in_a_group_never_set_up_starts_no_audit_trail(
    world: World,
) -> None:
    """The bot added without the rights it needs: the notice is tried all the same."""
    demote(world)
    added = BotStatusUpdate(
        GROUP, False, Membership(MemberStatus.LEFT), Membership(MemberStatus.MEMBER), OWNER
    )
    assert await world.on_bot_status.execute(added) is BotStatusOutcome.GROUP_NEEDS_RIGHTS
    world.messenger.fail("notify_admins", GROUP, lambda: BotLacksRights(GROUP, "send messages"))

    await world.send_pending()

    assert world.messenger.calls_of("notify_admins") == [("notify_admins", GROUP, None)]
    assert await notice_intents(world) == []
    assert await world.audit() == []  # not a tenant: no trail is started for it
    async with world.uow.begin(GROUP) as tx:
        assert await tx.groups.get(GROUP) is None
