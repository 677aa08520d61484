"""Telegram's refusals become the port's errors, raised from the original (`raise … from e`)."""

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from adapters.telegram.error_translation import retry_after_seconds, translate
from adapters.telegram.messenger import TelegramMessenger
from application.errors import (
    BotLacksRights,
    ChatNotFound,
    MessengerError,
    MessengerUnavailable,
    TargetIsAdmin,
    UserNotFound,
)
from application.ports.messenger import AdminNotice
from domain.ids import ChannelId, GroupId, MessageId, UserId
from domain.notices import NoticeKind
from domain.policy import ChannelRef
from telegram_sandbox import Sandbox
from tests.integration.telegram.conftest import SandboxWorld

type Action = Callable[[TelegramMessenger, SandboxWorld], Awaitable[object]]


def case(action: Action, detail: str, name: str) -> Any:
    """One parametrized case (a typed helper, so the lambdas are type-checked)."""
    return pytest.param(action, detail, id=name)


async def _raised(
    action: Action, messenger: TelegramMessenger, world: SandboxWorld
) -> MessengerError:
    with pytest.raises(MessengerError) as caught:
        await action(messenger, world)
    assert isinstance(caught.value.__cause__, TelegramError)
    return caught.value


@pytest.mark.parametrize(
    ("action", "refusal"),
    [
        case(
            lambda m, w: m.restrict(w.group, w.admin),
            "user is an administrator of the chat",
            "restrict-admin",
        ),
        case(
            lambda m, w: m.restrict(w.group, w.owner),
            "user is an administrator of the chat",
            "restrict-owner",
        ),
        case(lambda m, w: m.restrict(w.group, m.bot_id), "can't restrict self", "restrict-self"),
        case(lambda m, w: m.kick(w.group, w.owner), "can't remove chat owner", "kick-owner"),
        case(
            lambda m, w: m.kick(w.group, w.admin),
            "user is an administrator of the chat",
            "kick-admin",
        ),
    ],
)
async def test_target_is_admin(
    messenger: TelegramMessenger, world: SandboxWorld, action: Action, refusal: str
) -> None:
    error = await _raised(action, messenger, world)
    assert isinstance(error, TargetIsAdmin)
    assert refusal in str(error.__cause__).lower()
    assert error.chat_id == world.group


@pytest.mark.parametrize(
    ("action", "refusal"),
    [
        case(
            lambda m, w: m.restrict(w.weak_group, w.member),
            "not enough rights to restrict",
            "restrict-no-right",
        ),
        case(
            lambda m, w: m.unrestrict(w.weak_group, w.member),
            "not enough rights to restrict",
            "unrestrict-no-right",
        ),
        case(
            lambda m, w: m.kick(w.weak_group, w.member),
            "not enough rights to restrict",
            "kick-no-right",
        ),
        case(
            lambda m, w: m.create_invite_link(ChannelId(w.weak_group), "x"),
            "not enough rights to manage chat invite link",
            "invite-no-right",
        ),
        case(
            lambda m, w: m.membership(w.lost_channel, w.member),
            "member list is inaccessible",
            "channel-member-list",
        ),
        case(
            lambda m, w: m.admins(GroupId(w.lost_channel)),
            "member list is inaccessible",
            "channel-admins",
        ),
        case(
            lambda m, w: m.restrict(w.gone_group, w.member),
            "bot was kicked",
            "restrict-bot-removed",
        ),
        case(
            lambda m, w: m.rights(w.gone_group, m.bot_id), "bot was kicked", "rights-bot-removed"
        ),
        case(
            lambda m, w: m.notify_admins(_notice(w.gone_group)),
            "bot was kicked",
            "send-bot-removed",
        ),
    ],
)
async def test_bot_lacks_rights(
    messenger: TelegramMessenger, world: SandboxWorld, action: Action, refusal: str
) -> None:
    error = await _raised(action, messenger, world)
    assert isinstance(error, BotLacksRights)
    assert refusal in error.detail.lower()


async def test_deleting_someone_elses_message_without_the_right(
    messenger: TelegramMessenger, world: SandboxWorld, sandbox: Sandbox
) -> None:
    said = sandbox.driver.say(world.weak_group, world.member, "hi")
    with pytest.raises(BotLacksRights, match="can't be deleted"):
        await messenger.delete_message(world.weak_group, MessageId(said.message_id))
    assert sandbox.driver.message(world.weak_group, said.message_id) is not None


@pytest.mark.parametrize(
    ("action", "reference"),
    [
        case(
            lambda m, w: m.chat(ChannelRef(username="nobody_here")), "@nobody_here", "chat-by-name"
        ),
        case(
            lambda m, w: m.chat(ChannelRef(channel_id=ChannelId(-100999))), "-100999", "chat-by-id"
        ),
        case(lambda m, w: m.membership(-100999, w.member), "-100999", "membership-chat"),
        case(lambda m, w: m.delete_message(-100999, MessageId(1)), "-100999", "delete-chat"),
    ],
)
async def test_chat_not_found(
    messenger: TelegramMessenger, world: SandboxWorld, action: Action, reference: str
) -> None:
    error = await _raised(action, messenger, world)
    assert isinstance(error, ChatNotFound)
    assert error.reference == reference


def _notice(group: GroupId) -> AdminNotice:
    return AdminNotice(group, NoticeKind.CANNOT_RESTRICT)


def _retry_after(seconds: int) -> RetryAfter:
    return RetryAfter(dt.timedelta(seconds=seconds))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_retry_after(7), MessengerUnavailable),
        (TimedOut(), MessengerUnavailable),
        (NetworkError("Bad Gateway"), MessengerUnavailable),
        (NetworkError("httpx.ConnectError: refused"), MessengerUnavailable),
        (BadRequest("Something new and strange"), MessengerUnavailable),
        (InvalidToken("Unauthorized"), MessengerUnavailable),
        (Conflict("terminated by other getUpdates request"), MessengerUnavailable),
        (Forbidden("bot was blocked by the user"), BotLacksRights),
        (BadRequest("Need administrator rights in the channel chat"), BotLacksRights),
        (BadRequest("CHAT_ADMIN_REQUIRED"), BotLacksRights),
        (BadRequest("Method is available only for supergroups"), BotLacksRights),
        (BadRequest("Chat not found"), ChatNotFound),
        (BadRequest("User not found"), UserNotFound),
        (BadRequest("PARTICIPANT_ID_INVALID"), UserNotFound),
        (BadRequest("PEER_ID_INVALID"), ChatNotFound),
        (ChatMigrated(-100777), ChatNotFound),
        (BadRequest("USER_ADMIN_INVALID"), TargetIsAdmin),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, type) else str(value)[:30],
)
def test_translation_table(error: TelegramError, expected: type[MessengerError]) -> None:
    assert type(translate(error, chat_id=-100, user_id=UserId(5))) is expected


async def test_the_membership_of_an_id_no_user_has_names_the_user_not_the_chat(
    messenger: TelegramMessenger, world: SandboxWorld
) -> None:
    """`/why 999999` used to blame the channels: the log said "chat not found"."""
    with pytest.raises(UserNotFound) as raised:
        await messenger.membership(world.channel, UserId(424242))
    assert raised.value.user_id == 424242


def test_user_not_found_without_a_user_is_a_chat_not_found() -> None:
    error = translate(BadRequest("User not found"), chat_id=-100, reference="@someone")
    assert isinstance(error, ChatNotFound)
    assert error.reference == "@someone"


def test_target_is_admin_needs_a_target() -> None:
    """Without a member to blame, an admin refusal is reported as what it is: unknown."""
    error = translate(BadRequest("USER_ADMIN_INVALID"), chat_id=-100)
    assert isinstance(error, MessengerUnavailable)


def test_retry_after_is_read_as_seconds_in_both_ptb_modes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = RetryAfter(dt.timedelta(seconds=12))
    assert retry_after_seconds(error) == 12.0
    monkeypatch.setenv("PTB_TIMEDELTA", "false")  # PTB 22's default: int, with a warning
    assert retry_after_seconds(error) == 12.0
    assert "12" in str(translate(error, chat_id=-100))


def test_migrated_group_names_its_new_id() -> None:
    error = translate(ChatMigrated(-100777), chat_id=-5)
    assert isinstance(error, ChatNotFound)
    assert error.reference == "-5 (now -100777)"
