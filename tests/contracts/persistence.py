"""Contract of the unit of work, its repositories and the tenant directory.

Subclasses provide two async fixtures: `uow` (a `UnitOfWork` on empty or unrelated data) and
`directory` (the `TenantDirectory` over the same store). Tests use fresh ids, so a store shared
between tests is fine.
"""

from datetime import timedelta

import attrs
import pytest

from application.errors import StorageError
from application.ports.unit_of_work import TenantDirectory, UnitOfWork
from domain.audit import AuditEvent, AuditKind
from domain.ids import MessageId
from domain.join_request import PendingJoinRequest
from domain.notices import NoticeKind
from domain.policy import FailurePolicy, GroupSettings, LogChannel
from domain.raid import Raid
from domain.restriction import WarningReason
from domain.schedule import PACED_KINDS, ActionKind, notice_intent
from tests.factories import (
    T0,
    make_action,
    make_channel,
    make_event,
    make_policy,
    make_restriction,
    new_channel,
    new_group,
    new_user,
)


class UnitOfWorkContract:
    """Behaviour every unit of work and its repositories share."""

    # --- transactions ---------------------------------------------------------------------------

    async def test_committed_writes_are_visible_to_the_next_transaction(
        self, uow: UnitOfWork
    ) -> None:
        group = new_group()
        policy = make_policy(group, make_channel())
        async with uow.begin(group) as tx:
            await tx.groups.save(policy)
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.groups.get(group) == policy

    async def test_leaving_without_commit_rolls_back(self, uow: UnitOfWork) -> None:
        group = new_group()
        async with uow.begin(group) as tx:
            await tx.groups.save(make_policy(group, make_channel()))
            await tx.exemptions.add(group, new_user())
        async with uow.begin(group) as tx:
            assert await tx.groups.get(group) is None
            assert await tx.exemptions.all(group) == frozenset()

    async def test_an_error_inside_the_block_rolls_back_and_propagates(
        self, uow: UnitOfWork
    ) -> None:
        group = new_group()
        with pytest.raises(RuntimeError, match="boom"):
            async with uow.begin(group) as tx:
                await tx.groups.save(make_policy(group, make_channel()))
                raise RuntimeError("boom")
        async with uow.begin(group) as tx:
            assert await tx.groups.get(group) is None

    # --- tenant isolation -----------------------------------------------------------------------

    async def test_a_tenant_sees_none_of_another_tenants_rows(self, uow: UnitOfWork) -> None:
        mine, theirs, user = new_group(), new_group(), new_user()
        async with uow.begin(theirs) as tx:
            await tx.groups.save(make_policy(theirs, make_channel()))
            await tx.restrictions.save(make_restriction(theirs, user, new_channel()))
            await tx.exemptions.add(theirs, user)
            await tx.audit.record(make_event(theirs, AuditKind.MUTED))
            await tx.actions.add(make_action(theirs))
            await tx.commit()
        async with uow.begin(mine) as tx:
            assert await tx.groups.get(theirs) is None
            assert await tx.restrictions.get(theirs, user) is None
            assert await tx.restrictions.get_locked(theirs, user) is None
            assert await tx.restrictions.all(theirs) == ()
            assert await tx.restrictions.all_locked(theirs) == ()
            assert await tx.exemptions.all(theirs) == frozenset()
            assert await tx.audit.recent(theirs, 10) == ()
            assert await tx.actions.pending(theirs) == ()
            assert await tx.actions.claim_due(theirs, T0, timedelta(minutes=1), 10) == ()
            assert await tx.restrictions.delete(theirs, user) is False
            assert await tx.exemptions.remove(theirs, user) is False
            assert await tx.actions.cancel(theirs, ActionKind.DELETE_MESSAGE, user) == 0
            await tx.commit()
        async with uow.begin(theirs) as tx:
            assert await tx.restrictions.get(theirs, user) is not None
            assert await tx.exemptions.all(theirs) == frozenset({user})
            assert len(await tx.actions.pending(theirs)) == 1

    async def test_writing_another_tenants_row_fails(self, uow: UnitOfWork) -> None:
        mine, theirs = new_group(), new_group()
        with pytest.raises(StorageError):
            async with uow.begin(mine) as tx:
                await tx.groups.save(make_policy(theirs, make_channel()))
                await tx.commit()
        async with uow.begin(theirs) as tx:
            assert await tx.groups.get(theirs) is None

    # --- groups ---------------------------------------------------------------------------------

    async def test_policy_round_trips_with_channels_in_order_and_settings(
        self, uow: UnitOfWork
    ) -> None:
        group = new_group()
        settings = GroupSettings(
            failure_policy=FailurePolicy.CLOSED,
            warning_ttl=timedelta(seconds=45),
            kick_after=timedelta(hours=2),
            join_gate=True,
            join_gate_timeout=None,
        )
        first = make_channel(title="B <&> title", username=None, invite_link="https://t.me/+x")
        second = make_channel(title="A", username="a_channel")
        policy = make_policy(group, first, second, settings=settings)
        async with uow.begin(group) as tx:
            await tx.groups.save(policy)
            await tx.commit()
        async with uow.begin(group) as tx:
            loaded = await tx.groups.get(group)
        assert loaded == policy
        assert loaded is not None
        assert loaded.channel_ids == (first.channel_id, second.channel_id)

    async def test_saving_again_replaces_channels_and_flags(self, uow: UnitOfWork) -> None:
        group = new_group()
        kept, dropped = make_channel(), make_channel()
        async with uow.begin(group) as tx:
            await tx.groups.save(make_policy(group, kept, dropped))
            await tx.commit()
        updated = make_policy(group, kept, enabled=False)
        async with uow.begin(group) as tx:
            await tx.groups.save(updated)
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.groups.get(group) == updated

    async def test_two_groups_keep_their_own_display_data_for_one_channel(
        self, uow: UnitOfWork
    ) -> None:
        channel = new_channel()
        first, second = new_group(), new_group()
        for group, link in ((first, "https://t.me/+first"), (second, "https://t.me/+second")):
            async with uow.begin(group) as tx:
                linked = make_channel(channel, username=None, invite_link=link)
                await tx.groups.save(make_policy(group, linked))
                await tx.commit()
        async with uow.begin(first) as tx:
            policy = await tx.groups.get(first)
        assert policy is not None
        assert policy.channels[0].invite_link == "https://t.me/+first"

    # --- restrictions ---------------------------------------------------------------------------

    async def test_join_requests_save_get_replace_delete(self, uow: UnitOfWork) -> None:
        group, user = new_group(), new_user()
        request = PendingJoinRequest(group, user, user, T0)
        async with uow.begin(group) as tx:
            await tx.groups.save(make_policy(group))
            await tx.join_requests.save(request)
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.join_requests.get(group, user) == request
            await tx.join_requests.save(request.messaged(MessageId(77)))
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.join_requests.get(group, user) == request.messaged(MessageId(77))
            assert await tx.join_requests.delete(group, user) is True
            assert await tx.join_requests.delete(group, user) is False
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.join_requests.get(group, user) is None

    async def test_restrictions_save_get_replace_delete(self, uow: UnitOfWork) -> None:
        group, user, channel = new_group(), new_user(), new_channel()
        restriction = make_restriction(group, user, channel)
        async with uow.begin(group) as tx:
            await tx.restrictions.save(restriction)
            await tx.restrictions.save(restriction.still_missing(()))
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.restrictions.get(group, user) == restriction.still_missing(())
            assert await tx.restrictions.get_locked(group, user) == (restriction.still_missing(()))
            assert await tx.restrictions.delete(group, user) is True
            assert await tx.restrictions.delete(group, user) is False
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.restrictions.get(group, user) is None

    async def test_a_restriction_keeps_what_its_warning_needs(self, uow: UnitOfWork) -> None:
        group, user, channel = new_group(), new_user(), new_channel()
        restriction = attrs.evolve(
            make_restriction(group, user, channel),
            name="Zoë <b>",
            reason=WarningReason.LEFT_CHANNEL,
            thread_id=77,
            warning_message_id=MessageId(5),
        )
        async with uow.begin(group) as tx:
            await tx.restrictions.save(restriction)
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.restrictions.get(group, user) == restriction
            await tx.restrictions.save(restriction.rewarned(WarningReason.PARTLY_JOINED))
            await tx.commit()
        async with uow.begin(group) as tx:
            found = await tx.restrictions.get(group, user)
        assert found is not None
        assert found.reason is WarningReason.PARTLY_JOINED
        assert found.name == "Zoë <b>"

    async def test_warned_by_names_every_member_a_warning_names(self, uow: UnitOfWork) -> None:
        group, other_group, channel = new_group(), new_group(), new_channel()
        first, second, third = new_user(), new_user(), new_user()
        merged, single = MessageId(10), MessageId(11)
        async with uow.begin(group) as tx:
            for user, warning in ((first, merged), (second, merged), (third, single)):
                await tx.restrictions.save(
                    make_restriction(group, user, channel).with_warning(warning)
                )
            await tx.commit()
        async with uow.begin(other_group) as tx:
            await tx.restrictions.save(
                make_restriction(other_group, new_user(), channel).with_warning(merged)
            )
            await tx.commit()
        async with uow.begin(group) as tx:
            assert set(await tx.restrictions.warned_by(group, merged)) == {first, second}
            assert await tx.restrictions.warned_by(group, single) == (third,)
            assert await tx.restrictions.warned_by(group, MessageId(12)) == ()

    async def test_a_mute_claim_holds_for_the_settle_time(self, uow: UnitOfWork) -> None:
        group, user, settle = new_group(), new_user(), timedelta(seconds=10)
        claims = (T0, T0 + timedelta(seconds=5), T0 + timedelta(seconds=10))
        granted: list[bool] = []
        for at in claims:
            async with uow.begin(group) as tx:
                granted.append(await tx.restrictions.claim_mute(group, user, at, settle))
                await tx.commit()
        async with uow.begin(group) as tx:  # another member is claimed apart
            assert await tx.restrictions.claim_mute(group, new_user(), T0, settle)
        assert granted == [True, False, True]

    async def test_a_rolled_back_mute_claim_is_not_held(self, uow: UnitOfWork) -> None:
        group, user, settle = new_group(), new_user(), timedelta(seconds=10)
        async with uow.begin(group) as tx:
            assert await tx.restrictions.claim_mute(group, user, T0, settle)
        async with uow.begin(group) as tx:
            assert await tx.restrictions.claim_mute(group, user, T0, settle)

    async def test_all_restrictions_oldest_first(self, uow: UnitOfWork) -> None:
        group, channel = new_group(), new_channel()
        late = make_restriction(group, new_user(), channel, since=T0 + timedelta(hours=1))
        early = make_restriction(group, new_user(), channel, since=T0)
        async with uow.begin(group) as tx:
            await tx.restrictions.save(late)
            await tx.restrictions.save(early)
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.restrictions.all(group) == (early, late)
            assert await tx.restrictions.all_locked(group) == (early, late)

    # --- exemptions -----------------------------------------------------------------------------

    async def test_exemptions_add_and_remove_report_changes(self, uow: UnitOfWork) -> None:
        group, user, other = new_group(), new_user(), new_user()
        async with uow.begin(group) as tx:
            assert await tx.exemptions.add(group, user) is True
            assert await tx.exemptions.add(group, user) is False
            assert await tx.exemptions.add(group, other) is True
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.exemptions.all(group) == frozenset({user, other})
            assert await tx.exemptions.remove(group, user) is True
            assert await tx.exemptions.remove(group, user) is False
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.exemptions.all(group) == frozenset({other})

    # --- audit ----------------------------------------------------------------------------------

    async def test_known_members_resolve_usernames_per_group_case_insensitively(
        self, uow: UnitOfWork
    ) -> None:
        group, other, erin, frank = new_group(), new_group(), new_user(), new_user()
        async with uow.begin(group) as tx:
            await tx.members.remember(group, erin, "Erin_E")
            await tx.members.remember(group, erin, "erin_e")  # idempotent
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.members.find(group, "ERIN_E") == erin
            assert await tx.members.find(group, "nobody") is None
        async with uow.begin(other) as tx:
            assert await tx.members.find(other, "erin_e") is None
        # usernames move: Frank takes Erin's; Erin's new one replaces her old one
        async with uow.begin(group) as tx:
            await tx.members.remember(group, frank, "erin_e")
            await tx.members.remember(group, erin, "erin_new")
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.members.find(group, "erin_e") == frank
            assert await tx.members.find(group, "erin_new") == erin

    async def test_audit_recent_is_newest_first_and_limited(self, uow: UnitOfWork) -> None:
        group = new_group()
        events = [make_event(group, kind, minutes=i) for i, kind in enumerate(AuditKind)]
        async with uow.begin(group) as tx:
            for event in events:
                await tx.audit.record(event)
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.audit.recent(group, 3) == tuple(reversed(events[-3:]))
            assert await tx.audit.recent(group, 0) == ()

    # --- scheduled actions ----------------------------------------------------------------------

    async def test_claim_takes_due_actions_earliest_first_and_leases_them(
        self, uow: UnitOfWork
    ) -> None:
        group, lease = new_group(), timedelta(minutes=5)
        later = make_action(group, due_at=T0 + timedelta(seconds=30))
        first = make_action(group, due_at=T0 - timedelta(seconds=30))
        second = make_action(group, due_at=T0)
        async with uow.begin(group) as tx:
            for action in (later, first, second):
                await tx.actions.add(action)
            await tx.commit()
        async with uow.begin(group) as tx:
            claimed = await tx.actions.claim_due(group, T0, lease, 10)
            await tx.commit()
        assert [a.action_id for a in claimed] == [first.action_id, second.action_id]
        async with uow.begin(group) as tx:
            assert await tx.actions.claim_due(group, T0 + timedelta(minutes=1), lease, 10) == (
                later,
            )
            await tx.commit()
        async with uow.begin(group) as tx:
            again = await tx.actions.claim_due(group, T0 + lease, lease, 10)
        assert {a.action_id for a in again} == {first.action_id, second.action_id}

    async def test_claim_takes_only_the_kinds_asked_for(self, uow: UnitOfWork) -> None:
        group = new_group()
        deletion = make_action(group, due_at=T0 - timedelta(seconds=1))
        warning = make_action(group, ActionKind.SEND_WARNING, user_id=new_user())
        async with uow.begin(group) as tx:
            await tx.actions.add(deletion)
            await tx.actions.add(warning)
            await tx.commit()
        async with uow.begin(group) as tx:
            sends = {ActionKind.SEND_WARNING}
            assert await tx.actions.claim_due(group, T0, timedelta(minutes=1), 10, sends) == (
                warning,
            )
            others = frozenset(ActionKind) - sends
            claimed = await tx.actions.claim_due(group, T0, timedelta(minutes=1), 10, others)
            assert [a.action_id for a in claimed] == [deletion.action_id]

    async def test_a_notice_intent_keeps_what_it_says_and_its_channel(
        self, uow: UnitOfWork
    ) -> None:
        """Rule 11: a notice to admins is stored as an intent and claimed back whole."""
        group, channel = new_group(), new_channel()
        failing = notice_intent(group, NoticeKind.CHECKS_FAILING, T0, channel)
        no_rights = notice_intent(group, NoticeKind.CANNOT_RESTRICT, T0 + timedelta(seconds=1))
        async with uow.begin(group) as tx:
            await tx.actions.add(failing)
            await tx.actions.add(no_rights)
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.actions.pending(group) == (failing, no_rights)
            notices = {ActionKind.SEND_NOTICE}
            later = T0 + timedelta(seconds=1)
            claimed = await tx.actions.claim_due(group, later, timedelta(minutes=1), 10, notices)
            await tx.actions.reschedule(claimed[0].retried(later + timedelta(seconds=10)))
            await tx.commit()
        assert claimed == (failing, no_rights)
        assert (claimed[0].notice, claimed[0].channel_id) == (NoticeKind.CHECKS_FAILING, channel)
        assert (claimed[1].notice, claimed[1].channel_id) == (NoticeKind.CANNOT_RESTRICT, None)
        async with uow.begin(group) as tx:
            pending = {a.action_id: a for a in await tx.actions.pending(group)}
        retried = pending[failing.action_id]
        assert (retried.notice, retried.channel_id, retried.attempts) == (
            NoticeKind.CHECKS_FAILING,
            channel,
            1,
        )

    async def test_a_raid_is_saved_on_its_own_and_loaded_with_the_policy(
        self, uow: UnitOfWork
    ) -> None:
        """Rule 13: the raid survives a restart, and a settings save never touches it."""
        group = new_group()
        raid = Raid(
            T0,
            T0 + timedelta(seconds=5),
            until=T0 + timedelta(hours=1),
            by=new_user(),
            notice_id=MessageId(77),
            shown=12,
        )
        policy = make_policy(group, settings=GroupSettings(raid_threshold=None))
        async with uow.begin(group) as tx:
            await tx.groups.save(policy)
            await tx.groups.save_raid(group, raid)
            await tx.commit()
        async with uow.begin(group) as tx:
            loaded = await tx.groups.get(group)
            assert loaded is not None
            await tx.groups.save(loaded.disabled())  # a settings change keeps the raid
            await tx.commit()
        assert loaded == attrs.evolve(policy, raid=raid)
        async with uow.begin(group) as tx:
            assert await tx.groups.raid_locked(group) == raid
            await tx.groups.save_raid(group, raid.ended(T0 + timedelta(minutes=1)))
            await tx.commit()
        async with uow.begin(group) as tx:
            stored = await tx.groups.raid_locked(group)
            assert stored is not None
            assert not stored.active
            await tx.groups.save_raid(group, None)
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.groups.raid_locked(group) is None
            reloaded = await tx.groups.get(group)
        assert reloaded is not None
        assert reloaded.settings.raid_threshold is None
        assert not reloaded.enabled

    async def test_audit_counts_events_of_a_kind_since_a_moment(self, uow: UnitOfWork) -> None:
        group = new_group()
        async with uow.begin(group) as tx:
            for seconds in (0, 10, 20):
                at = T0 + timedelta(seconds=seconds)
                await tx.audit.record(AuditEvent(group, AuditKind.MUTED, at))
            await tx.audit.record(AuditEvent(group, AuditKind.UNMUTED, T0))
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.audit.count(group, AuditKind.MUTED, T0 + timedelta(seconds=10)) == 2
            assert await tx.audit.count(group, AuditKind.UNMUTED, T0) == 1
        async with uow.begin(new_group()) as tx:  # another tenant sees none of them
            assert await tx.audit.count(group, AuditKind.MUTED, T0) == 0

    async def test_a_raid_notice_intent_keeps_its_count(self, uow: UnitOfWork) -> None:
        group = new_group()
        ended = notice_intent(group, NoticeKind.RAID_ENDED, T0, count=987)
        async with uow.begin(group) as tx:
            await tx.actions.add(ended)
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.actions.pending(group) == (ended,)

    async def test_claim_respects_the_limit(self, uow: UnitOfWork) -> None:
        group = new_group()
        async with uow.begin(group) as tx:
            for _ in range(3):
                await tx.actions.add(make_action(group))
            await tx.commit()
        async with uow.begin(group) as tx:
            assert len(await tx.actions.claim_due(group, T0, timedelta(minutes=1), 2)) == 2

    async def test_complete_reschedule_cancel_and_pending(self, uow: UnitOfWork) -> None:
        group, user = new_group(), new_user()
        done = make_action(group)
        retried = make_action(group)
        kick = make_action(group, ActionKind.KICK_UNVERIFIED, user_id=user)
        other_kick = make_action(group, ActionKind.KICK_UNVERIFIED, user_id=new_user())
        async with uow.begin(group) as tx:
            for action in (done, retried, kick, other_kick):
                await tx.actions.add(action)
            await tx.commit()
        async with uow.begin(group) as tx:
            await tx.actions.complete(group, done.action_id)
            await tx.actions.complete(group, done.action_id)
            await tx.actions.reschedule(retried.retried(T0 + timedelta(hours=1)))
            assert await tx.actions.cancel(group, ActionKind.KICK_UNVERIFIED, user) == 1
            await tx.commit()
        async with uow.begin(group) as tx:
            pending = await tx.actions.pending(group)
        assert pending == (other_kick, retried.retried(T0 + timedelta(hours=1)))

    # --- the cross-tenant seam ------------------------------------------------------------------

    async def test_directory_finds_enabled_groups_requiring_a_channel(
        self, uow: UnitOfWork, directory: TenantDirectory
    ) -> None:
        channel = new_channel()
        enabled, disabled, unrelated = new_group(), new_group(), new_group()
        for group, policy in (
            (enabled, make_policy(enabled, make_channel(channel))),
            (disabled, make_policy(disabled, make_channel(channel), enabled=False)),
            (unrelated, make_policy(unrelated, make_channel())),
        ):
            async with uow.begin(group) as tx:
                await tx.groups.save(policy)
                await tx.commit()
        found = await directory.groups_requiring(channel)
        assert enabled in found
        assert disabled not in found
        assert unrelated not in found

    async def test_directory_finds_the_groups_where_joining_a_channel_can_free_a_member(
        self, uow: UnitOfWork, directory: TenantDirectory
    ) -> None:
        channel, member = new_channel(), new_user()
        muting, requesting, idle, disabled, elsewhere = (new_group() for _ in range(5))
        for group, policy in (
            (muting, make_policy(muting, make_channel(channel))),
            (requesting, make_policy(requesting, make_channel(channel))),
            (idle, make_policy(idle, make_channel(channel))),
            (disabled, make_policy(disabled, make_channel(channel), enabled=False)),
            (elsewhere, make_policy(elsewhere, make_channel())),
        ):
            async with uow.begin(group) as tx:
                await tx.groups.save(policy)
                if group in (muting, disabled, elsewhere):
                    await tx.restrictions.save(make_restriction(group, member, channel))
                if group == requesting:
                    await tx.join_requests.save(PendingJoinRequest(group, member, member, T0))
                await tx.commit()
        found = await directory.groups_to_free(channel, member)
        assert set(found) & {muting, requesting, idle, disabled, elsewhere} == {
            muting,
            requesting,
        }
        assert await directory.groups_to_free(channel, new_user()) == ()

    async def test_directory_finds_the_enabled_groups_where_the_bot_muted_a_member(
        self, uow: UnitOfWork, directory: TenantDirectory
    ) -> None:
        member, someone_else = new_user(), new_user()
        muting, disabled, elsewhere = new_group(), new_group(), new_group()
        for group, enabled, muted in (
            (muting, True, member),
            (disabled, False, member),
            (elsewhere, True, someone_else),
        ):
            async with uow.begin(group) as tx:
                await tx.groups.save(make_policy(group, make_channel(), enabled=enabled))
                await tx.restrictions.save(make_restriction(group, muted))
                await tx.commit()
        assert await directory.groups_muting(member) == (muting,)
        assert await directory.groups_muting(new_user()) == ()

    async def test_a_log_channel_round_trips_and_events_after_the_cursor_are_found(
        self, uow: UnitOfWork, directory: TenantDirectory
    ) -> None:
        group, quiet, other = new_group(), new_group(), new_group()
        channel = LogChannel(new_channel(), "Audit <log>")
        policy = make_policy(group, make_channel()).logging_to(channel)
        async with uow.begin(group) as tx:
            await tx.groups.save(policy)
            assert await tx.audit.last_id(group) == 0
            for minutes, kind in enumerate((AuditKind.MUTED, AuditKind.UNMUTED, AuditKind.KICKED)):
                await tx.audit.record(make_event(group, kind, minutes=minutes))
            await tx.commit()
        async with uow.begin(quiet) as tx:  # a log channel, nothing new
            await tx.groups.save(make_policy(quiet, make_channel()).logging_to(channel))
            await tx.commit()
        async with uow.begin(other) as tx:  # events, no log channel
            await tx.groups.save(make_policy(other, make_channel()))
            await tx.audit.record(make_event(other, AuditKind.MUTED))
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.groups.get(group) == policy
            assert await tx.groups.log_cursor(group) == 0
            first_two = await tx.audit.after(group, 0, 2)
            assert [e.kind for _, e in first_two] == [AuditKind.MUTED, AuditKind.UNMUTED]
            last = await tx.audit.last_id(group)
            assert first_two[0][0] < first_two[1][0] < last
        found = await directory.groups_with_unposted_log()
        assert group in found
        assert quiet not in found
        assert other not in found
        async with uow.begin(group) as tx:
            rest = await tx.audit.after(group, first_two[1][0], 10)
            assert [(n, e.kind) for n, e in rest] == [(last, AuditKind.KICKED)]
            await tx.groups.set_log_cursor(group, last)
            await tx.commit()
        async with uow.begin(group) as tx:
            assert await tx.groups.log_cursor(group) == last
            assert await tx.audit.after(group, last, 10) == ()
        assert group not in await directory.groups_with_unposted_log()

    async def test_directory_finds_the_groups_where_a_user_was_seen(
        self, uow: UnitOfWork, directory: TenantDirectory
    ) -> None:
        seen_in, also, elsewhere, user, other = (
            new_group(),
            new_group(),
            new_group(),
            new_user(),
            new_user(),
        )
        for group, who, name in (
            (seen_in, user, "u_name"),
            (also, user, None),
            (elsewhere, other, None),
        ):
            async with uow.begin(group) as tx:
                await tx.members.remember(group, who, name)
                await tx.commit()
        assert await directory.groups_seen_with(user) == tuple(sorted((seen_in, also)))

    async def test_directory_finds_groups_with_due_actions(
        self, uow: UnitOfWork, directory: TenantDirectory
    ) -> None:
        due, not_yet = new_group(), new_group()
        async with uow.begin(due) as tx:
            await tx.actions.add(make_action(due, due_at=T0 - timedelta(days=3650)))
            await tx.commit()
        async with uow.begin(not_yet) as tx:
            await tx.actions.add(make_action(not_yet, due_at=T0 + timedelta(days=3650)))
            await tx.commit()
        found = await directory.groups_with_due_actions(T0, frozenset(ActionKind))
        assert due in found
        assert not_yet not in found

    async def test_directory_finds_groups_with_due_actions_of_the_kinds_asked(
        self, uow: UnitOfWork, directory: TenantDirectory
    ) -> None:
        deleting, warning = new_group(), new_group()
        past = T0 - timedelta(days=3650)
        async with uow.begin(deleting) as tx:
            await tx.actions.add(make_action(deleting, ActionKind.DELETE_MESSAGE, due_at=past))
            await tx.commit()
        async with uow.begin(warning) as tx:
            await tx.actions.add(make_action(warning, ActionKind.SEND_WARNING, due_at=past))
            await tx.commit()
        paced = await directory.groups_with_due_actions(T0, PACED_KINDS)
        others = await directory.groups_with_due_actions(T0, frozenset(ActionKind) - PACED_KINDS)
        assert (warning in paced, deleting in paced) == (True, False)
        assert (deleting in others, warning in others) == (True, False)

    async def test_directory_counts_protected_groups_mutes_and_pending_actions(
        self, uow: UnitOfWork, directory: TenantDirectory
    ) -> None:
        before = await directory.statistics()
        protected, disabled = new_group(), new_group()
        early = T0 - timedelta(days=36500)  # earlier than any other test's action
        for group, enabled in ((protected, True), (disabled, False)):
            async with uow.begin(group) as tx:
                await tx.groups.save(make_policy(group, make_channel(), enabled=enabled))
                await tx.restrictions.save(make_restriction(group, new_user()))
                await tx.actions.add(make_action(group, due_at=early))
                await tx.commit()

        after = await directory.statistics()

        assert after.protected_groups == before.protected_groups + 1
        assert after.muted_members == before.muted_members + 2
        assert after.pending_actions == before.pending_actions + 2
        assert after.oldest_due_at == early
        assert after.lateness(early + timedelta(seconds=90)) == 90.0
        assert after.lateness(early - timedelta(seconds=1)) == 0.0
