"""Raid mode (rule 13): the join rate, silent mutes, one notice edited in place, the raid's end.

`Raids` (the join rate and the raid's start and end), `EnforceMembership` on joins, and
`RefreshRaid` (the notice, and the automatic end) run by the paced sender.
"""

from datetime import timedelta

import pytest

from application.authorization import Caller
from application.errors import BotLacksRights, MessengerUnavailable, NotPermitted
from application.ports.invalidations import Cached
from application.use_cases.channel_member_changed import ChannelMemberUpdate
from application.use_cases.control_raid import RaidCommand, RaidOrder, RaidOutcome
from application.use_cases.on_group_member_updated import GroupMemberUpdate
from application.use_cases.press_verify import PressVerifyCommand, VerifyOutcome
from application.use_cases.refresh_raid import REFRESH_EVERY
from application.use_cases.send_warnings import WAVE_WAIT
from domain.audit import AuditKind
from domain.ids import GroupId, UserId
from domain.membership import Membership, MemberStatus
from domain.notices import NoticeKind
from domain.policy import GroupSettings
from domain.raid import QUIET_PERIOD, Raid
from domain.schedule import ActionKind, warning_intent
from domain.senders import Person
from tests.unit.world import ALICE, AS_ADMIN, GROUP, NEWS, World

LEFT = Membership(MemberStatus.LEFT)
MEMBER = Membership(MemberStatus.MEMBER)
THRESHOLD = 5
RAID_AT_5 = GroupSettings().changed("raid_threshold", str(THRESHOLD))
RAIDERS = [UserId(5000 + n) for n in range(12)]


def joined(user: UserId, group: GroupId = GROUP) -> GroupMemberUpdate:
    return GroupMemberUpdate(group, Person(user, f"raider{user}"), LEFT, MEMBER, user)


async def join_all(world: World, users: list[UserId], every: timedelta) -> None:
    for user in users:
        await world.on_group_member.execute(joined(user))
        world.clock.advance(every)


async def raid_row(world: World) -> Raid | None:
    async with world.uow.begin(GROUP) as tx:
        return await tx.groups.raid_locked(GROUP)


def kinds(world: World) -> list[NoticeKind]:
    return [notice.kind for notice in world.messenger.notices]


async def test_rule_13_at_the_threshold_a_raid_starts_and_joiners_are_muted_silently(
    world: World,
) -> None:
    await world.protect(settings=RAID_AT_5)
    await join_all(world, RAIDERS, timedelta(seconds=1))

    assert all(world.messenger.is_restricted(GROUP, user) for user in RAIDERS)
    # the first join was warned at once; the next ones waited for the wave, which turned into
    # a raid: its notice replaced their warnings
    assert len(world.messenger.warnings) == 1
    [(notice_id, notice)] = world.messenger.raid_notices.items()
    assert not notice.over
    assert [c.channel_id for c in notice.channels] == [NEWS]
    assert kinds(world) == [NoticeKind.RAID_STARTED]
    assert world.messenger.notices[0].count == THRESHOLD
    raid = await raid_row(world)
    assert raid is not None
    assert raid.active
    assert raid.notice_id == notice_id
    assert AuditKind.RAID_STARTED in await world.audit_kinds()


async def test_rule_13_the_notice_is_edited_in_place_at_most_every_few_seconds(
    world: World,
) -> None:
    await world.protect(settings=RAID_AT_5)
    await join_all(world, RAIDERS, timedelta(milliseconds=100))  # within one refresh
    assert len(world.messenger.calls_of("send_raid_notice")) == 1
    assert world.messenger.calls_of("edit_raid_notice") == []

    world.clock.advance(REFRESH_EVERY)
    await world.send_pending()
    world.clock.advance(REFRESH_EVERY)
    await world.send_pending()  # nothing changed: no edit

    assert len(world.messenger.calls_of("send_raid_notice")) == 1
    assert len(world.messenger.calls_of("edit_raid_notice")) == 1
    [notice] = world.messenger.raid_notices.values()
    assert notice.muted == len(RAIDERS) - (THRESHOLD - 1)  # muted since the raid began


async def test_rule_13_the_raid_ends_after_the_quiet_period_and_the_admins_hear_the_count(
    world: World,
) -> None:
    await world.protect(settings=RAID_AT_5)
    await join_all(world, RAIDERS, timedelta(seconds=1))

    world.clock.advance(QUIET_PERIOD - timedelta(minutes=1))
    await world.send_pending()
    assert (await raid_row(world)) is not None  # not quiet long enough
    world.clock.advance(timedelta(minutes=2))
    await world.send_pending()

    assert kinds(world) == [NoticeKind.RAID_STARTED, NoticeKind.RAID_ENDED]
    assert world.messenger.notices[1].count == len(RAIDERS) - (THRESHOLD - 1)
    [(notice_id, notice)] = world.messenger.raid_notices.items()
    assert notice.over  # the same notice says it is over
    assert (await raid_row(world)) is None
    [deletion] = [a for a in await world.pending() if a.message_id == notice_id]
    assert deletion.kind is ActionKind.DELETE_MESSAGE
    assert deletion.due_at == world.clock.now() + RAID_AT_5.warning_ttl
    assert not [a for a in await world.pending() if a.kind is ActionKind.RAID_NOTICE]
    # joins are warned as usual again
    warned = len(world.messenger.warnings)
    await world.on_group_member.execute(joined(UserId(6001)))
    assert len(world.messenger.warnings) == warned + 1


async def test_rule_13_joins_at_the_threshold_keep_an_automatic_raid_going(world: World) -> None:
    await world.protect(settings=RAID_AT_5)
    await join_all(world, RAIDERS, timedelta(seconds=1))
    for n in range(3):  # another burst every 9 minutes: never 10 quiet minutes
        world.clock.advance(timedelta(minutes=9))
        more = [UserId(7000 + 100 * n + k) for k in range(THRESHOLD)]
        await join_all(world, more, timedelta(seconds=1))
        await world.send_pending()
    raid = await raid_row(world)
    assert raid is not None
    assert raid.active
    assert kinds(world) == [NoticeKind.RAID_STARTED]


async def test_rule_13_warnings_still_waiting_when_a_raid_starts_are_replaced_by_its_notice(
    world: World,
) -> None:
    await world.protect(settings=RAID_AT_5)
    handle = world.container.on_group_member_updated()  # no sender round between the joins
    for user in RAIDERS:
        await handle.execute(joined(user))
    assert not [a for a in await world.pending() if a.kind is ActionKind.SEND_WARNING]
    await world.send_pending()
    assert world.messenger.warnings == []
    assert len(world.messenger.raid_notices) == 1
    assert all(world.messenger.is_restricted(GROUP, user) for user in RAIDERS)


async def test_rule_13_off_never_starts_a_raid_by_itself(world: World) -> None:
    await world.protect(settings=GroupSettings().changed("raid_threshold", "off"))
    await join_all(world, RAIDERS, timedelta(milliseconds=10))
    assert world.messenger.raid_notices == {}
    assert (await raid_row(world)) is None
    assert world.messenger.warnings  # warned as usual (merged by the paced sender in a process)


async def test_rule_13_a_channel_join_during_a_raid_lifts_the_mute_without_a_message(
    world: World,
) -> None:
    await world.protect(settings=RAID_AT_5)
    await join_all(world, RAIDERS, timedelta(seconds=1))
    sent = len(world.messenger.calls)
    raider = RAIDERS[-1]
    world.join(NEWS, raider)
    await world.on_channel_member.execute(
        ChannelMemberUpdate(NEWS, Person(raider, "r"), LEFT, MEMBER)
    )
    assert not world.messenger.is_restricted(GROUP, raider)
    new_calls = [c[0] for c in world.messenger.calls[sent:]]
    assert "send_warning" not in new_calls
    assert "send_raid_notice" not in new_calls
    assert "delete_message" not in new_calls  # the raid notice stays


async def test_rule_13_rule_5_the_notices_verify_acts_on_whoever_presses_it_and_keeps_it(
    world: World,
) -> None:
    await world.protect(settings=RAID_AT_5)
    await join_all(world, RAIDERS, timedelta(seconds=1))
    [notice_id] = world.messenger.raid_notices
    first, second = RAIDERS[-1], RAIDERS[-2]
    world.join(NEWS, first)

    # the raid notice's Verify: nobody's warning (the handler passes no warning id)
    lifted = await world.verify.execute(PressVerifyCommand(GROUP, first, None))
    still = await world.verify.execute(PressVerifyCommand(GROUP, second, None))

    assert lifted.outcome is VerifyOutcome.LIFTED
    assert still.outcome is VerifyOutcome.STILL_MISSING
    assert not world.messenger.is_restricted(GROUP, first)
    assert world.messenger.is_restricted(GROUP, second)  # only the presser's own status
    assert (GROUP, notice_id) not in world.messenger.deleted


async def test_rule_13_raid_on_and_off_by_command(world: World) -> None:
    await world.protect(settings=GroupSettings().changed("raid_threshold", "off"))
    control = world.container.control_raid()

    shown = await control.execute(RaidCommand(GROUP, AS_ADMIN))
    assert shown.outcome is RaidOutcome.SHOWN
    assert shown.raid is None
    started = await control.execute(
        RaidCommand(GROUP, AS_ADMIN, RaidOrder.ON, timedelta(minutes=30))
    )
    assert started.outcome is RaidOutcome.STARTED
    assert started.raid is not None
    assert started.raid.until == world.clock.now() + timedelta(minutes=30)
    await world.send_pending()
    await join_all(world, RAIDERS[:3], timedelta(seconds=1))
    assert world.messenger.warnings == []  # silent although under any threshold
    ended = await control.execute(RaidCommand(GROUP, AS_ADMIN, RaidOrder.OFF))
    await world.send_pending()

    assert ended.outcome is RaidOutcome.ENDED
    assert ended.muted == 3
    assert kinds(world) == [NoticeKind.RAID_STARTED, NoticeKind.RAID_ENDED]
    assert world.messenger.notices[0].count is None  # started by an admin
    assert world.messenger.notices[1].count == 3
    [notice] = world.messenger.raid_notices.values()
    assert notice.over
    assert notice.muted == 3
    again = await control.execute(RaidCommand(GROUP, AS_ADMIN, RaidOrder.OFF))
    assert again.outcome is RaidOutcome.NONE_GOING_ON


async def test_rule_13_a_raid_started_by_command_ends_at_its_time(world: World) -> None:
    await world.protect()
    control = world.container.control_raid()
    await control.execute(RaidCommand(GROUP, AS_ADMIN, RaidOrder.ON, timedelta(minutes=2)))
    await world.send_pending()
    world.clock.advance(timedelta(minutes=1))
    await world.send_pending()
    assert (await raid_row(world)) is not None
    world.clock.advance(timedelta(minutes=1))
    await world.send_pending()
    assert (await raid_row(world)) is None
    assert kinds(world) == [NoticeKind.RAID_STARTED, NoticeKind.RAID_ENDED]


async def test_raid_commands_are_for_admins_only_and_need_protection(world: World) -> None:
    control = world.container.control_raid()
    with pytest.raises(NotPermitted):
        await control.execute(RaidCommand(GROUP, Caller(ALICE), RaidOrder.ON))
    unprotected = await control.execute(RaidCommand(GROUP, AS_ADMIN, RaidOrder.ON))
    assert unprotected.outcome is RaidOutcome.NOT_PROTECTED
    assert world.messenger.raid_notices == {}


async def test_rule_10_a_raid_goes_on_after_a_restart_in_the_same_notice(world: World) -> None:
    await world.protect(settings=RAID_AT_5)
    await join_all(world, RAIDERS[:8], timedelta(seconds=1))
    [notice_id] = world.messenger.raid_notices
    restarted = World(clock=world.clock, uow=world.uow, messenger=world.messenger)

    await join_all(restarted, RAIDERS[8:], timedelta(seconds=1))  # the rate is forgotten
    restarted.clock.advance(REFRESH_EVERY)
    await restarted.send_pending()

    assert len(world.messenger.warnings) == 1  # still silent after the restart
    assert list(world.messenger.raid_notices) == [notice_id]
    assert world.messenger.raid_notices[notice_id].muted == len(RAIDERS) - (THRESHOLD - 1)
    restarted.clock.advance(QUIET_PERIOD)
    await restarted.send_pending()
    assert world.messenger.raid_notices[notice_id].over
    assert kinds(world) == [NoticeKind.RAID_STARTED, NoticeKind.RAID_ENDED]


async def test_rule_11_a_notice_telegram_cannot_take_is_tried_again_at_the_next_refresh(
    world: World,
) -> None:
    await world.protect(settings=RAID_AT_5)
    world.messenger.fail("send_raid_notice", GROUP, lambda: MessengerUnavailable("5xx"))
    await join_all(world, RAIDERS, timedelta(milliseconds=10))
    assert world.messenger.raid_notices == {}
    world.messenger.heal("send_raid_notice", GROUP)
    world.clock.advance(REFRESH_EVERY)
    await world.send_pending()
    assert len(world.messenger.raid_notices) == 1


async def test_a_raid_notice_an_admin_deleted_is_posted_anew(world: World) -> None:
    await world.protect(settings=RAID_AT_5)
    await join_all(world, RAIDERS[:6], timedelta(milliseconds=10))
    [first] = world.messenger.raid_notices
    world.messenger.deleted.append((GROUP, first))
    await join_all(world, RAIDERS[6:], timedelta(milliseconds=10))
    for _ in range(2):
        world.clock.advance(REFRESH_EVERY)
        await world.send_pending()
    assert len(world.messenger.raid_notices) == 2
    raid = await raid_row(world)
    assert raid is not None
    assert raid.notice_id != first


async def test_rule_13_a_member_who_speaks_during_a_raid_is_muted_silently_too(
    world: World,
) -> None:
    await world.protect(settings=RAID_AT_5)
    await join_all(world, RAIDERS[:THRESHOLD], timedelta(seconds=1))
    warned = len(world.messenger.warnings)
    await world.say(ALICE)  # a member who never joined the channel speaks
    assert world.messenger.is_restricted(GROUP, ALICE)
    assert len(world.messenger.warnings) == warned


async def test_rule_11_warnings_in_a_wave_of_joins_wait_a_few_seconds_and_go_out_merged(
    world: World,
) -> None:
    await world.protect()  # the default threshold: 20 joins a minute
    await join_all(world, RAIDERS[:3], timedelta(milliseconds=500))
    assert len(world.messenger.warnings) == 1  # the first at once; the wave's wait
    world.clock.advance(WAVE_WAIT)
    await world.send_pending()
    [_, (_, merged)] = world.messenger.warnings
    assert {m.user_id for m in merged.members} == set(RAIDERS[1:3])
    assert world.messenger.raid_notices == {}


async def test_rule_13_a_warning_left_behind_by_a_join_counted_before_the_raid_is_not_sent(
    world: World,
) -> None:
    await world.protect(settings=RAID_AT_5)
    handle = world.container.on_group_member_updated()  # no sender round between the joins
    await handle.execute(joined(RAIDERS[0]))
    await world.container.control_raid().execute(
        RaidCommand(GROUP, AS_ADMIN, RaidOrder.ON, timedelta(minutes=5))
    )
    # a join that was judged before the raid began leaves its intent after the start
    async with world.uow.begin(GROUP) as tx:
        await tx.actions.add(warning_intent(GROUP, RAIDERS[0], world.clock.now()))
        await tx.commit()
    await world.send_pending()
    assert world.messenger.warnings == []
    assert len(world.messenger.raid_notices) == 1


async def test_rule_13_raid_on_during_an_automatic_raid_makes_it_end_at_the_admins_time(
    world: World,
) -> None:
    await world.protect(settings=RAID_AT_5)
    await join_all(world, RAIDERS, timedelta(seconds=1))
    control = world.container.control_raid()
    taken = await control.execute(
        RaidCommand(GROUP, AS_ADMIN, RaidOrder.ON, timedelta(minutes=30))
    )
    assert taken.outcome is RaidOutcome.EXTENDED
    assert taken.raid is not None
    assert taken.raid.until == world.clock.now() + timedelta(minutes=30)
    world.clock.advance(QUIET_PERIOD + timedelta(minutes=1))  # quiet, but the admin said 30m
    await world.send_pending()
    assert (await raid_row(world)) is not None
    world.clock.advance(timedelta(minutes=20))
    await world.send_pending()
    assert (await raid_row(world)) is None
    assert kinds(world) == [NoticeKind.RAID_STARTED, NoticeKind.RAID_ENDED]


async def test_a_raid_notice_telegram_refuses_to_close_goes_all_the_same(world: World) -> None:
    await world.protect(settings=RAID_AT_5)
    await join_all(world, RAIDERS, timedelta(seconds=1))
    [notice_id] = world.messenger.raid_notices
    world.messenger.fail("edit_raid_notice", GROUP, lambda: BotLacksRights(GROUP, "edit"))
    await world.container.control_raid().execute(RaidCommand(GROUP, AS_ADMIN, RaidOrder.OFF))
    await world.send_pending()
    assert (await raid_row(world)) is None  # forgotten; the notice is deleted later
    [deletion] = [a for a in await world.pending() if a.message_id == notice_id]
    assert deletion.kind is ActionKind.DELETE_MESSAGE


async def test_rule_13_with_several_workers_the_join_rate_is_the_whole_bots(world: World) -> None:
    other = World(clock=world.clock, uow=world.uow, messenger=world.messenger)  # a 2nd worker
    await world.protect(settings=RAID_AT_5)
    # The joins alternate between the workers; each worker's notifications reach the other.
    for n, user in enumerate(RAIDERS[:THRESHOLD]):
        here, there = (world, other) if n % 2 == 0 else (other, world)
        told = len(here.invalidations.published)
        await here.on_group_member.execute(joined(user))
        for invalidation in here.invalidations.published[told:]:
            await there.container.cache_invalidation().apply(invalidation)
        world.clock.advance(timedelta(seconds=1))

    raid = await raid_row(world)  # neither worker alone saw THRESHOLD joins
    assert raid is not None
    assert raid.active
    assert kinds(world) == [NoticeKind.RAID_STARTED]
    assert world.messenger.notices[0].count == THRESHOLD


async def test_rule_13_during_a_raid_joins_are_not_told_to_the_other_workers(world: World) -> None:
    await world.protect(settings=RAID_AT_5)
    await join_all(world, RAIDERS[:THRESHOLD], timedelta(seconds=1))
    told = len(world.invalidations.published)

    await join_all(world, RAIDERS[THRESHOLD:], timedelta(seconds=1))

    assert (await raid_row(world)) is not None
    assert not [i for i in world.invalidations.published[told:] if i.cached is Cached.JOIN_RATE]
