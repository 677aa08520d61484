"""Contract of the `Messenger` port.

Subclasses provide two async fixtures: `messenger`, and `world`, a `MessengerWorld` that arranges
Telegram's state for the adapter (tables for the memory adapter, the Bot API sandbox for the
Telegram adapter). In that world the bot is an admin with every right of `group`, `channel`
(public, with a username) and `private_channel`; `admin` administers the group; `member` is a
plain member of the group and of no channel; `nobody` is an id no Telegram user has.
"""

from datetime import timedelta
from typing import Protocol

import attrs
import pytest

from application.errors import (
    ChatNotFound,
    JoinRequestGone,
    MessageGone,
    TargetIsAdmin,
    UserNotFound,
)
from application.ports.messenger import (
    ChatKind,
    GateInvitation,
    GateNote,
    GateOutcome,
    Messenger,
    MuteWarning,
    RaidNotice,
)
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.membership import Membership, MemberStatus
from domain.policy import ChannelRef, RequiredChannel
from domain.restriction import WarningReason
from domain.senders import Person


class MessengerWorld(Protocol):
    """Arranges and inspects the Telegram state behind a messenger."""

    group: GroupId
    channel: ChannelId
    channel_username: str
    private_channel: ChannelId
    admin: UserId
    member: UserId
    nobody: UserId
    """An id Telegram knows no user for."""

    async def set_channel_status(
        self, channel: ChannelId, user: UserId, status: MemberStatus, *, is_member: bool = False
    ) -> None:
        """Put the user in the channel with that status."""
        ...

    async def is_restricted(self, group: GroupId, user: UserId) -> bool:
        """Whether the member currently may not send messages."""
        ...

    async def request_join(self, group: GroupId) -> UserId:
        """A new person asks to join the group; return who."""
        ...


class MessengerContract:
    """Behaviour every messenger shares."""

    async def test_rule_14_a_join_request_is_approved_or_declined_once_then_gone(
        self, messenger: Messenger, world: MessengerWorld
    ) -> None:
        approved = await world.request_join(world.group)
        await messenger.approve_join_request(world.group, approved)
        assert (await messenger.membership(world.group, approved)).is_present
        with pytest.raises(JoinRequestGone):
            await messenger.approve_join_request(world.group, approved)
        declined = await world.request_join(world.group)
        await messenger.decline_join_request(world.group, declined)
        assert not (await messenger.membership(world.group, declined)).is_present
        with pytest.raises(JoinRequestGone):
            await messenger.decline_join_request(world.group, declined)

    async def test_rule_14_the_gate_invitation_is_sent_to_the_requester_then_noted(
        self, messenger: Messenger, world: MessengerWorld
    ) -> None:
        requester = await world.request_join(world.group)
        news = RequiredChannel(world.channel, "News <1>", world.channel_username)
        invitation = GateInvitation(requester, world.group, "G <&>", (news,), timedelta(hours=1))
        message_id = await messenger.send_gate_invitation(invitation)
        note = GateNote(requester, message_id, "G <&>", GateOutcome.APPROVED)
        await messenger.show_gate_note(note)

    async def test_membership_reports_each_status(
        self, messenger: Messenger, world: MessengerWorld
    ) -> None:
        assert await messenger.membership(world.channel, world.member) == Membership(
            MemberStatus.LEFT
        )
        await world.set_channel_status(world.channel, world.member, MemberStatus.MEMBER)
        assert await messenger.membership(world.channel, world.member) == Membership(
            MemberStatus.MEMBER
        )
        await world.set_channel_status(
            world.channel, world.member, MemberStatus.RESTRICTED, is_member=True
        )
        assert await messenger.membership(world.channel, world.member) == Membership(
            MemberStatus.RESTRICTED, is_member=True
        )

    async def test_the_membership_of_an_id_no_user_has_is_user_not_found(
        self, messenger: Messenger, world: MessengerWorld
    ) -> None:
        with pytest.raises(UserNotFound) as raised:
            await messenger.membership(world.group, world.nobody)
        assert raised.value.user_id == world.nobody

    async def test_the_bot_has_its_rights_in_the_group(
        self, messenger: Messenger, world: MessengerWorld
    ) -> None:
        rights = await messenger.rights(world.group, messenger.bot_id)
        assert rights.is_admin
        assert rights.can_restrict_members
        assert rights.can_delete_messages

    async def test_admins_of_the_group(self, messenger: Messenger, world: MessengerWorld) -> None:
        admins = await messenger.admins(world.group)
        assert world.admin in admins
        assert world.member not in admins

    async def test_looking_up_a_channel(self, messenger: Messenger, world: MessengerWorld) -> None:
        by_name = await messenger.chat(ChannelRef(username=world.channel_username))
        assert by_name.chat_id == world.channel
        assert by_name.kind is ChatKind.CHANNEL
        by_id = await messenger.chat(ChannelRef(channel_id=world.private_channel))
        assert by_id.chat_id == world.private_channel
        assert by_id.username is None
        with pytest.raises(ChatNotFound):
            await messenger.chat(ChannelRef(username="no_such_channel_here"))

    async def test_restrict_and_unrestrict(
        self, messenger: Messenger, world: MessengerWorld
    ) -> None:
        await messenger.restrict(world.group, world.member)
        assert await world.is_restricted(world.group, world.member)
        await messenger.restrict(world.group, world.member)  # idempotent
        await messenger.unrestrict(world.group, world.member)
        assert not await world.is_restricted(world.group, world.member)
        await messenger.unrestrict(world.group, world.member)  # idempotent

    async def test_restricting_an_admin_fails(
        self, messenger: Messenger, world: MessengerWorld
    ) -> None:
        with pytest.raises(TargetIsAdmin):
            await messenger.restrict(world.group, world.admin)

    async def test_kicking_an_admin_fails_and_leaves_them_in(
        self, messenger: Messenger, world: MessengerWorld
    ) -> None:
        with pytest.raises(TargetIsAdmin):
            await messenger.kick(world.group, world.admin)
        assert (await messenger.membership(world.group, world.admin)).is_admin

    async def test_kick_removes_the_member(
        self, messenger: Messenger, world: MessengerWorld
    ) -> None:
        await messenger.kick(world.group, world.member)
        assert not (await messenger.membership(world.group, world.member)).is_present

    async def test_warning_then_deletion_and_deleting_twice_is_fine(
        self, messenger: Messenger, world: MessengerWorld
    ) -> None:
        warning = MuteWarning(
            world.group,
            Person(world.member, "Member <&>"),
            (RequiredChannel(world.channel, "News", world.channel_username),),
            WarningReason.SPOKE,
        )
        message_id = await messenger.send_warning(warning)
        assert message_id > 0
        await messenger.delete_message(world.group, message_id)
        await messenger.delete_message(world.group, message_id)
        await messenger.delete_message(world.group, MessageId(987654))

    async def test_a_raid_notice_is_edited_in_place_and_an_unchanged_edit_is_fine(
        self, messenger: Messenger, world: MessengerWorld
    ) -> None:
        """Rule 13: one notice, edited; showing the same again is not an error; a notice an
        admin deleted is `MessageGone`."""
        channels = (RequiredChannel(world.channel, "News <&>", world.channel_username),)
        notice = RaidNotice(world.group, channels, 3)
        message_id = await messenger.send_raid_notice(notice)
        await messenger.edit_raid_notice(attrs.evolve(notice, muted=4), message_id)
        await messenger.edit_raid_notice(attrs.evolve(notice, muted=4), message_id)
        await messenger.edit_raid_notice(attrs.evolve(notice, muted=4, over=True), message_id)
        await messenger.delete_message(world.group, message_id)
        with pytest.raises(MessageGone):
            await messenger.edit_raid_notice(notice, message_id)

    async def test_invite_links_are_created(
        self, messenger: Messenger, world: MessengerWorld
    ) -> None:
        first = await messenger.create_invite_link(world.private_channel, "Nezuko test")
        second = await messenger.create_invite_link(world.private_channel, "Nezuko test")
        assert first.startswith("https://t.me/")
        assert first != second
