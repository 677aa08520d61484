"""Admin commands: /protect, /unprotect (rule 7), /unlink, /status, /settings, /exempt, /check,
/why — authorization, atomic setup and the mistakes of DESIGN §9."""

from datetime import timedelta

import pytest

from application.authorization import Caller
from application.diagnosis import Finding, Problem
from application.errors import BotLacksRights, MessengerUnavailable, NotPermitted
from application.ports.messenger import ChatInfo, ChatKind, ChatRights
from application.targeting import ById
from application.use_cases.change_settings import SettingsCommand
from application.use_cases.check_rights import CheckCommand
from application.use_cases.enforce_membership import Enforcement
from application.use_cases.exempt_member import ExemptCommand, ExemptResult
from application.use_cases.explain_member import ExplainCommand
from application.use_cases.protect_group import ProtectCommand, ProtectOutcome
from application.use_cases.show_status import StatusCommand
from application.use_cases.unexempt_member import UnexemptCommand
from application.use_cases.unlink_channel import UnlinkCommand
from application.use_cases.unprotect_group import UnprotectCommand, UnprotectResult
from domain.audit import AuditKind
from domain.errors import ChannelNotLinked, InvalidChannelReference, InvalidSetting, UnknownSetting
from domain.ids import ChannelId, GroupId, UserId
from domain.membership import Membership, MemberStatus
from domain.policy import FailurePolicy, GroupSettings, RequiredChannel
from domain.schedule import ActionKind
from domain.senders import Exemption
from tests.unit.world import (
    ADMIN,
    ALICE,
    AS_ADMIN,
    AS_OWNER,
    BOB,
    BOT,
    GROUP,
    NEWS,
    NEWS_CHANNEL,
    OTHER_GROUP,
    TALK,
    TALK_CHANNEL,
    World,
)


def protect(*refs: str, caller: Caller = AS_ADMIN, group: GroupId = GROUP) -> ProtectCommand:
    return ProtectCommand(group, "My group", caller, refs)


# --- who may configure ------------------------------------------------------------------------


@pytest.mark.parametrize("caller", [AS_OWNER, AS_ADMIN, Caller(ALICE, anonymous_admin=True)])
async def test_the_creator_a_restricting_admin_and_an_anonymous_admin_may_protect(
    world: World, caller: Caller
) -> None:
    result = await world.protect_group.execute(protect("@news_channel", caller=caller))
    assert result.outcome is ProtectOutcome.PROTECTED


async def test_members_and_admins_who_cannot_restrict_may_not_configure(world: World) -> None:
    world.messenger.chat_rights[(GROUP, BOB)] = ChatRights(MemberStatus.ADMINISTRATOR)
    for caller in (Caller(ALICE), Caller(BOB)):
        with pytest.raises(NotPermitted):
            await world.protect_group.execute(protect("@news_channel", caller=caller))
        with pytest.raises(NotPermitted):
            await world.unprotect.execute(UnprotectCommand(GROUP, caller))
        with pytest.raises(NotPermitted):
            await world.settings.execute(SettingsCommand(GROUP, caller))
    async with world.uow.begin(GROUP) as tx:
        assert await tx.groups.get(GROUP) is None


# --- /protect -----------------------------------------------------------------------------------


async def test_protect_links_every_channel_given_in_any_form_atomically(world: World) -> None:
    result = await world.protect_group.execute(protect("t.me/news_channel", str(TALK)))

    assert result.outcome is ProtectOutcome.PROTECTED
    assert result.policy is not None
    assert result.policy.channel_ids == (NEWS, TALK)
    assert result.newly_linked == (NEWS, TALK)
    assert await world.audit_kinds() == [AuditKind.PROTECTED]
    assert world.uow.commits == 1  # one transaction for everything
    await world.say(ALICE)
    assert world.messenger.is_restricted(GROUP, ALICE)


async def test_protect_creates_an_invite_link_once_for_a_channel_without_username(
    world: World,
) -> None:
    """DESIGN §9 / §4: never a new link (or exportChatInviteLink) per attempt or per check."""
    await world.protect_group.execute(protect(str(TALK)))
    await world.protect_group.execute(protect(str(TALK)))
    assert len(world.messenger.invite_links) == 1
    async with world.uow.begin(GROUP) as tx:
        policy = await tx.groups.get(GROUP)
    assert policy is not None
    assert policy.channels[0].invite_link == world.messenger.invite_links[0][1]
    assert world.messenger.calls_of("create_invite_link") == [("create_invite_link", TALK, None)]


async def test_design_9_each_group_keeps_its_own_invite_link_for_a_shared_channel(
    world: World,
) -> None:
    await world.protect_group.execute(protect(str(TALK)))
    await world.protect_group.execute(protect(str(TALK), group=OTHER_GROUP))
    links: list[str | None] = []
    for group in (GROUP, OTHER_GROUP):
        async with world.uow.begin(group) as tx:
            policy = await tx.groups.get(group)
        assert policy is not None
        links.append(policy.channels[0].invite_link)
    assert links == [link for _, link in world.messenger.invite_links]
    assert links[0] != links[1]


async def test_design_9_protect_with_missing_rights_writes_nothing_and_lists_every_problem(
    world: World,
) -> None:
    world.messenger.chat_rights[(GROUP, BOT)] = ChatRights(
        MemberStatus.ADMINISTRATOR, can_restrict_members=True
    )
    world.messenger.chat_rights.pop((NEWS, BOT))
    world.messenger.chat_rights[(TALK, BOT)] = ChatRights(MemberStatus.ADMINISTRATOR)

    result = await world.protect_group.execute(protect("@news_channel", str(TALK), "@nowhere"))

    assert result.outcome is ProtectOutcome.NEEDS_FIXES
    assert set(result.findings) == {
        Finding(Problem.CANNOT_DELETE, GROUP),
        Finding(Problem.NOT_ADMIN_IN_CHANNEL, NEWS, "@news_channel"),
        Finding(Problem.CANNOT_INVITE, TALK, TALK_CHANNEL.title),  # given by id, shown by title
        Finding(Problem.NOT_FOUND, None, "@nowhere"),
    }
    assert world.uow.commits == 0
    assert world.messenger.invite_links == []


async def test_protect_refuses_a_group_posing_as_a_channel(world: World) -> None:
    world.messenger.chats["@chatty"] = ChatInfo(-100777, ChatKind.SUPERGROUP, "Chatty", "chatty")
    result = await world.protect_group.execute(protect("@chatty"))
    assert result.findings == (Finding(Problem.NOT_A_CHANNEL, -100777, "@chatty"),)


async def test_protect_when_the_bot_is_not_admin_of_the_group(world: World) -> None:
    world.messenger.chat_rights[(GROUP, BOT)] = ChatRights(MemberStatus.MEMBER)
    result = await world.protect_group.execute(protect("@news_channel"))
    assert Finding(Problem.NOT_ADMIN_IN_GROUP, GROUP) in result.findings


async def test_protect_when_telegram_cannot_answer_about_rights(world: World) -> None:
    world.messenger.fail("rights", GROUP, lambda: BotLacksRights(GROUP, "kicked"))
    world.messenger.fail("rights", NEWS, lambda: BotLacksRights(NEWS, "not a member"))
    result = await world.protect_group.execute(
        protect("@news_channel", caller=Caller(ALICE, True))
    )
    assert set(result.findings) == {
        Finding(Problem.UNREACHABLE, GROUP),
        Finding(Problem.NOT_ADMIN_IN_CHANNEL, NEWS, "@news_channel"),
    }


async def test_protect_rejects_an_invalid_reference_before_any_change(world: World) -> None:
    with pytest.raises(InvalidChannelReference):
        await world.protect_group.execute(protect("https://t.me/+secret"))
    assert world.uow.commits == 0


async def test_protect_with_nothing_linked_and_nothing_named(world: World) -> None:
    result = await world.protect_group.execute(protect())
    assert result.outcome is ProtectOutcome.NO_CHANNELS


async def test_protect_again_adds_channels_and_keeps_the_others(world: World) -> None:
    await world.protect_group.execute(protect("@news_channel"))
    result = await world.protect_group.execute(protect(str(TALK)))
    assert result.policy is not None
    assert result.policy.channel_ids == (NEWS, TALK)
    assert result.newly_linked == (TALK,)


# --- /unprotect (rule 7) ----------------------------------------------------------------------


async def test_design_9_unprotect_stops_enforcement_at_once(world: World) -> None:
    await world.protect_group.execute(protect("@news_channel"))
    await world.say(ALICE)  # caches the policy
    await world.unprotect.execute(UnprotectCommand(GROUP, AS_ADMIN))
    assert await world.on_message.execute(world.message(BOB)) is Enforcement.NOT_PROTECTED
    assert not world.messenger.is_restricted(GROUP, BOB)


async def test_rule_7_unprotect_lifts_every_mute_the_bot_applied_in_the_background(
    world: World,
) -> None:
    await world.protect_group.execute(protect("@news_channel"))
    await world.say(ALICE)
    await world.say(BOB)
    world.messenger.set_status(GROUP, ADMIN, MemberStatus.MEMBER)
    world.messenger.chat_rights.pop((GROUP, ADMIN))
    manual = world.messenger.memberships[(GROUP, ADMIN)] = world.messenger.memberships[
        (GROUP, ALICE)
    ]  # someone muted by hand

    result = await world.unprotect.execute(UnprotectCommand(GROUP, AS_OWNER))

    assert result == UnprotectResult(was_enabled=True, lifting=2)
    assert world.messenger.is_restricted(GROUP, ALICE)  # not yet: in the background
    await world.run_due()
    assert not world.messenger.is_restricted(GROUP, ALICE)
    assert not world.messenger.is_restricted(GROUP, BOB)
    assert world.messenger.memberships[(GROUP, ADMIN)] == manual  # never the bot's to lift
    assert await world.pending() == ()


async def test_design_9_enabling_again_after_unprotect_works(world: World) -> None:
    await world.protect_group.execute(protect("@news_channel"))
    await world.unprotect.execute(UnprotectCommand(GROUP, AS_ADMIN))

    result = await world.protect_group.execute(protect())

    assert result.outcome is ProtectOutcome.PROTECTED
    await world.say(ALICE)
    assert world.messenger.is_restricted(GROUP, ALICE)


async def test_unprotect_twice_reports_it_was_off(world: World) -> None:
    await world.protect_group.execute(protect("@news_channel"))
    await world.unprotect.execute(UnprotectCommand(GROUP, AS_ADMIN))
    result = await world.unprotect.execute(UnprotectCommand(GROUP, AS_ADMIN))
    assert result == UnprotectResult(was_enabled=False, lifting=0)


# --- /unlink ------------------------------------------------------------------------------------


async def test_unlink_lifts_members_muted_only_for_that_channel(world: World) -> None:
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    world.join(TALK, ALICE)
    await world.say(ALICE)  # missing NEWS only
    await world.say(BOB)  # missing both

    result = await world.unlink.execute(UnlinkCommand(GROUP, AS_ADMIN, "@NEWS_channel"))
    await world.run_due()

    assert result.policy.channel_ids == (TALK,)
    assert result.lifting == 1
    assert not world.messenger.is_restricted(GROUP, ALICE)
    assert world.messenger.is_restricted(GROUP, BOB)
    bob = await world.restriction(BOB)
    assert bob is not None
    assert bob.missing == (TALK,)


async def test_unlinking_the_last_channel_lifts_everyone(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    result = await world.unlink.execute(UnlinkCommand(GROUP, AS_ADMIN, str(NEWS)))
    await world.run_due()
    assert not result.policy.is_protected
    assert not world.messenger.is_restricted(GROUP, ALICE)


async def test_unlinking_a_channel_that_is_not_linked(world: World) -> None:
    with pytest.raises(ChannelNotLinked, match="@elsewhere"):
        await world.unlink.execute(UnlinkCommand(GROUP, AS_ADMIN, "@elsewhere"))
    await world.protect()
    with pytest.raises(ChannelNotLinked):
        await world.unlink.execute(UnlinkCommand(GROUP, AS_ADMIN, str(TALK)))


# --- /status, /settings -----------------------------------------------------------------------


async def test_status_reports_protection_and_counts(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    report = await world.status.execute(StatusCommand(GROUP, AS_ADMIN))
    assert report.is_protected
    assert report.policy is not None
    assert report.policy.channels == (NEWS_CHANNEL,)
    assert (report.restricted, report.exempt, report.pending_actions) == (1, 0, 1)


async def test_status_of_a_group_never_set_up(world: World) -> None:
    report = await world.status.execute(StatusCommand(GROUP, AS_ADMIN))
    assert not report.is_protected
    assert report.policy is None


async def test_settings_show_defaults_then_change_one_and_apply_at_once(world: World) -> None:
    await world.protect()
    await world.say(ALICE)  # caches the policy
    shown = await world.settings.execute(SettingsCommand(GROUP, AS_ADMIN))
    assert shown.settings == GroupSettings()

    changed = await world.settings.execute(
        SettingsCommand(GROUP, AS_ADMIN, "failure_policy", "closed")
    )

    assert changed.settings.failure_policy is FailurePolicy.CLOSED
    assert changed.changed == "failure_policy"
    event = (await world.audit())[-1]
    assert (event.kind, event.actor, event.reason) == (
        AuditKind.SETTING_CHANGED,
        ADMIN,
        "failure_policy=closed",
    )
    world.messenger.fail("membership", NEWS, lambda: BotLacksRights(NEWS, "gone"))
    assert await world.on_message.execute(world.message(BOB)) is Enforcement.RESTRICTED


async def test_settings_before_protection_are_kept(world: World) -> None:
    await world.settings.execute(SettingsCommand(GROUP, AS_ADMIN, "warning_ttl", "30s"))
    await world.protect_group.execute(protect("@news_channel"))
    shown = await world.settings.execute(SettingsCommand(GROUP, AS_ADMIN))
    assert shown.settings.warning_ttl == timedelta(seconds=30)


async def test_invalid_settings_change_nothing(world: World) -> None:
    with pytest.raises(InvalidSetting):
        await world.settings.execute(SettingsCommand(GROUP, AS_ADMIN, "warning_ttl", "forever"))
    with pytest.raises(InvalidSetting):
        await world.settings.execute(SettingsCommand(GROUP, AS_ADMIN, "warning_ttl"))
    assert world.uow.commits == 0


# --- /exempt, /unexempt -----------------------------------------------------------------------


async def test_exempting_a_muted_member_lifts_the_mute_and_they_then_pass(world: World) -> None:
    await world.protect()
    await world.say(ALICE)

    result = await world.exempt.execute(ExemptCommand(GROUP, AS_ADMIN, ById(ALICE)))
    await world.run_due()

    assert result == ExemptResult(added=True, lifting=True, user_id=ALICE)
    assert not world.messenger.is_restricted(GROUP, ALICE)
    assert await world.on_message.execute(world.message(ALICE)) is Enforcement.EXEMPT
    again = await world.exempt.execute(ExemptCommand(GROUP, AS_ADMIN, ById(ALICE)))
    assert again == ExemptResult(added=False, lifting=False, user_id=ALICE)


async def test_unexempting_enforces_again(world: World) -> None:
    await world.protect()
    await world.exempt.execute(ExemptCommand(GROUP, AS_ADMIN, ById(ALICE)))
    await world.say(ALICE)
    assert await world.unexempt.execute(UnexemptCommand(GROUP, AS_ADMIN, ById(ALICE))) is True
    assert await world.unexempt.execute(UnexemptCommand(GROUP, AS_ADMIN, ById(ALICE))) is False
    await world.say(ALICE)
    assert world.messenger.is_restricted(GROUP, ALICE)
    assert AuditKind.UNEXEMPTED in await world.audit_kinds()


# --- /check, /why -----------------------------------------------------------------------------


async def test_check_reports_a_healthy_setup(world: World) -> None:
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    report = await world.check.execute(CheckCommand(GROUP, AS_ADMIN))
    assert report.healthy
    assert report.channels == (NEWS_CHANNEL, TALK_CHANNEL)


async def test_check_finds_lost_rights(world: World) -> None:
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    world.messenger.chat_rights[(NEWS, BOT)] = ChatRights(MemberStatus.LEFT)
    world.messenger.chat_rights[(GROUP, BOT)] = ChatRights(
        MemberStatus.ADMINISTRATOR, can_delete_messages=True
    )
    report = await world.check.execute(CheckCommand(GROUP, AS_ADMIN))
    assert report.findings == (
        Finding(Problem.CANNOT_RESTRICT, GROUP),
        Finding(Problem.NOT_ADMIN_IN_CHANNEL, NEWS, NEWS_CHANNEL.title),
    )


async def test_why_explains_a_bot_mute_with_the_missing_channels(world: World) -> None:
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)
    world.join(NEWS, ALICE)
    await world.say(ALICE)
    explanation = await world.explain.execute(ExplainCommand(GROUP, AS_ADMIN, ById(ALICE)))
    assert explanation.protected
    assert explanation.restriction is not None
    assert explanation.missing == (TALK_CHANNEL,)
    assert explanation.exemption is None


async def test_why_names_the_exemption_and_failing_channels(world: World) -> None:
    await world.protect()
    world.messenger.fail("membership", NEWS, lambda: BotLacksRights(NEWS, "gone"))
    explanation = await world.explain.execute(ExplainCommand(GROUP, AS_ADMIN, ById(ADMIN)))
    assert explanation.exemption is Exemption.ADMIN
    assert explanation.unanswered == (NEWS_CHANNEL,)
    assert explanation.missing == ()


async def test_why_in_an_unprotected_group(world: World) -> None:
    explanation = await world.explain.execute(ExplainCommand(GROUP, AS_ADMIN, ById(ALICE)))
    assert not explanation.protected


async def test_required_channel_display_data_survives_unchanged(world: World) -> None:
    """Titles are stored raw; escaping is the renderer's job (see the Telegram texts tests)."""
    weird = RequiredChannel(ChannelId(-100999), "<b>&_*Weird*_</b>", "weird_channel")
    world.add_channel(weird)
    await world.protect_group.execute(protect("@weird_channel"))
    await world.say(ALICE)
    assert world.messenger.warnings[0][1].channels[0].title == "<b>&_*Weird*_</b>"


async def test_unprotect_audit_and_kick_cleanup(world: World) -> None:
    await world.protect(settings=GroupSettings(kick_after=timedelta(hours=1)))
    await world.say(ALICE)
    await world.unprotect.execute(UnprotectCommand(GROUP, AS_ADMIN))
    await world.run_due(timedelta(hours=2))
    assert world.messenger.kicked == []
    assert {a.kind for a in await world.pending()} <= {ActionKind.DELETE_MESSAGE}


# --- issue 11 point 8: small things admins noticed ------------------------------------------


async def test_why_tells_a_member_who_is_not_muted_at_all_from_one_an_admin_muted(
    world: World,
) -> None:
    await world.protect()
    world.join(NEWS, ALICE, BOB)
    world.messenger.set_status(GROUP, BOB, MemberStatus.RESTRICTED, is_member=True)

    free = await world.explain.execute(ExplainCommand(GROUP, AS_ADMIN, ById(ALICE)))
    muted = await world.explain.execute(ExplainCommand(GROUP, AS_ADMIN, ById(BOB)))

    assert free.standing == Membership(MemberStatus.MEMBER)
    assert (free.restriction, free.restricted_by_someone_else) == (None, False)
    assert muted.restriction is None
    assert muted.restricted_by_someone_else


async def test_why_on_a_member_the_bot_muted_is_not_an_admins_mute(world: World) -> None:
    await world.protect()
    await world.say(ALICE)
    explanation = await world.explain.execute(ExplainCommand(GROUP, AS_ADMIN, ById(ALICE)))
    assert explanation.restriction is not None
    assert not explanation.restricted_by_someone_else


async def test_why_on_an_id_telegram_does_not_know_says_so_and_checks_no_channel(
    world: World,
) -> None:
    await world.protect()
    nobody = UserId(999_999)
    world.messenger.unknown_users.add(nobody)

    explanation = await world.explain.execute(ExplainCommand(GROUP, AS_ADMIN, ById(nobody)))

    assert explanation.unknown_user
    assert (explanation.missing, explanation.unanswered) == ((), ())
    assert [c for c in world.messenger.calls_of("membership") if c[1] == NEWS] == []


async def test_why_when_telegram_cannot_tell_the_members_standing_still_explains_the_rest(
    world: World,
) -> None:
    await world.protect()
    world.messenger.fail("membership", GROUP, lambda: MessengerUnavailable("timeout"))
    explanation = await world.explain.execute(ExplainCommand(GROUP, AS_ADMIN, ById(ALICE)))
    assert explanation.standing is None
    assert explanation.missing == (NEWS_CHANNEL,)


async def test_an_unknown_setting_names_every_setting_there_is(world: World) -> None:
    with pytest.raises(UnknownSetting) as raised:
        await world.settings.execute(SettingsCommand(GROUP, AS_ADMIN, "colour", "blue"))
    assert raised.value.known == GroupSettings.KEYS
    assert world.uow.commits == 0


async def test_protect_names_a_channel_given_by_id_by_its_title_once_the_bot_can_read_it(
    world: World,
) -> None:
    world.messenger.chat_rights[(TALK, BOT)] = ChatRights(MemberStatus.ADMINISTRATOR)
    result = await world.protect_group.execute(protect(str(TALK), "-1009999999999"))
    assert set(result.findings) == {
        Finding(Problem.CANNOT_INVITE, TALK, TALK_CHANNEL.title),
        Finding(Problem.NOT_FOUND, -1009999999999, "-1009999999999"),  # unreadable: the id
    }
