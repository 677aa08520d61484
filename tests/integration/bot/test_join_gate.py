"""Rule 14, the join-request gate, through the real stack: PTB → the sandbox, PostgreSQL.

The group requires the public news channel and has `join_gate` on. Dave, in no chat yet,
asks to join (chat_join_request with `user_chat_id`); what the bot does is read from the
sandbox: approveChatJoinRequest, the private message and its edits, and that nothing is ever
posted into the group for him.
"""

from collections.abc import Callable
from datetime import timedelta

from telegram_sandbox import Call, Member, Status
from tests.integration.bot.conftest import Story
from tests.integration.bot.test_story import wait_answer

TIMEOUT = 10.0


async def gated(story: Story, *settings: str) -> None:
    """Protect the group with the news channel and turn the gate on (and `settings`)."""
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    for command in ("/protect @nezuko_demo_news", "/settings join_gate on", *settings):
        mark = calls.mark()
        driver.say(ids.group_id, ids.owner_id, command)
        reply = await calls.wait_for(
            "sendMessage",
            lambda c: c.param("chat_id") == ids.group_id,
            since=mark,
            timeout=TIMEOUT,
        )
        assert "Protection is on" in str(reply.param("text")) or "Changed" in str(
            reply.param("text")
        )


def _in_private_to(user: int) -> Callable[[Call], bool]:
    return lambda call: call.param("chat_id") == user


async def invitation_to(story: Story, user: int, mark: int) -> Call:
    """The gate's private message to `user`, once it is sent."""
    return await story.sandbox.calls.wait_for(
        "sendMessage", lambda c: c.param("chat_id") == user, since=mark, timeout=TIMEOUT
    )


def group_messages(story: Story, mark: int) -> list[Call]:
    """Everything the bot sent into the group since `mark`."""
    group = story.ids.group_id
    return [
        c for c in story.sandbox.calls.of("sendMessage", since=mark) if c.param("chat_id") == group
    ]


async def test_rule_14_a_subscriber_who_asks_to_join_is_approved_at_once_and_never_warned(
    story: Story,
) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await gated(story)
    driver.join(ids.news_channel_id, ids.dave_id)
    mark = calls.mark()

    driver.request_join(ids.group_id, ids.dave_id)

    await calls.wait_for("approveChatJoinRequest", since=mark, timeout=TIMEOUT)
    assert driver.is_member(ids.group_id, ids.dave_id)
    await story.sandbox.wait_delivered(timeout=TIMEOUT)  # his chat_member join too
    assert not driver.is_restricted(ids.group_id, ids.dave_id)
    assert calls.of("sendMessage", since=mark) == []  # no private message, no warning


async def test_rule_14_a_non_subscriber_is_told_in_private_and_let_in_on_joining_the_channel(
    story: Story,
) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await gated(story)
    mark = calls.mark()

    driver.request_join(ids.group_id, ids.dave_id)

    invitation = await invitation_to(story, ids.dave_id, mark)
    assert "Nezuko News" in str(invitation.param("text"))
    assert "Verify" in str(invitation.param("reply_markup"))
    assert "https://t.me/nezuko_demo_news" in str(invitation.param("reply_markup"))
    assert not driver.is_member(ids.group_id, ids.dave_id)
    assert calls.of("approveChatJoinRequest", since=mark) == []

    driver.join(ids.news_channel_id, ids.dave_id)

    await calls.wait_for("approveChatJoinRequest", since=mark, timeout=TIMEOUT)
    edited = await calls.wait_for("editMessageText", since=mark, timeout=TIMEOUT)
    assert edited.param("chat_id") == ids.dave_id
    assert "You are in" in str(edited.param("text"))
    assert driver.is_member(ids.group_id, ids.dave_id)
    await story.sandbox.wait_delivered(timeout=TIMEOUT)
    assert not driver.is_restricted(ids.group_id, ids.dave_id)
    assert group_messages(story, mark) == []


async def test_rule_14_verify_in_private_approves_a_requester_who_has_joined(
    story: Story,
) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await gated(story)
    mark = calls.mark()
    driver.request_join(ids.group_id, ids.dave_id)
    await invitation_to(story, ids.dave_id, mark)
    message = driver.last_bot_message(ids.dave_id)
    assert message is not None
    data = f"gverify:{ids.group_id}"

    early = await wait_answer(story, driver.press(ids.dave_id, message, data))
    assert "Join first: Nezuko News" in early
    assert not driver.is_member(ids.group_id, ids.dave_id)

    # He joins without the bot seeing it (no chat_member update), then presses again.
    driver.place(ids.news_channel_id, Member(ids.dave_id, Status.MEMBER))
    story.clock.advance(timedelta(seconds=6))
    answer = await wait_answer(story, driver.press(ids.dave_id, message, data))
    assert "approved" in answer
    assert driver.is_member(ids.group_id, ids.dave_id)
    shown = driver.message(ids.dave_id, message.message_id)
    assert shown is not None
    assert "You are in" in str(shown.text)
    assert group_messages(story, mark) == []


async def test_rule_14_at_the_timeout_the_request_is_declined_and_the_requester_told(
    story: Story,
) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await gated(story, "/settings join_gate_timeout 5m")
    mark = calls.mark()
    driver.request_join(ids.group_id, ids.dave_id)
    await invitation_to(story, ids.dave_id, mark)

    story.clock.advance(timedelta(minutes=4))
    story.clock.advance(timedelta(minutes=1, seconds=1))

    await calls.wait_for("declineChatJoinRequest", since=mark, timeout=TIMEOUT)
    edited = await calls.wait_for("editMessageText", since=mark, timeout=TIMEOUT)
    assert "declined" in str(edited.param("text"))
    assert not driver.is_member(ids.group_id, ids.dave_id)
    assert (ids.group_id, ids.dave_id) not in story.sandbox.world.join_requests
    assert calls.of("approveChatJoinRequest", since=mark) == []


async def test_rule_14_a_requester_the_bot_cannot_message_stays_pending_for_the_admins(
    story: Story,
) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await gated(story)
    driver.block_bot(ids.dave_id)
    mark = calls.mark()
    driver.request_join(ids.group_id, ids.dave_id)
    refused = await calls.wait_for(
        "sendMessage", _in_private_to(ids.dave_id), since=mark, timeout=TIMEOUT
    )
    assert refused.status == 403
    await story.sandbox.wait_delivered(timeout=TIMEOUT)
    assert (ids.group_id, ids.dave_id) in story.sandbox.world.join_requests

    mark = calls.mark()
    driver.say(ids.group_id, ids.owner_id, "/log")
    log = await calls.wait_for(
        "sendMessage", lambda c: c.param("chat_id") == ids.group_id, since=mark, timeout=TIMEOUT
    )
    assert "private message to the requester failed" in str(log.param("text"))
