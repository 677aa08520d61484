"""Issue 11 point 1 (rule 12): a member unmuted because they joined is told so in private,
when they have started the private chat with the bot; Telegram refuses the others (403)."""

from collections.abc import Callable

from telegram_sandbox import Call
from tests.integration.bot.conftest import Story
from tests.integration.bot.test_commands import TIMEOUT, protect, to


def private_to(user: int) -> Callable[[Call], bool]:
    return lambda call: call.param("chat_id") == user


async def test_rule_12_joining_the_channel_unmutes_and_says_so_in_the_private_chat(
    story: Story,
) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await protect(story)
    mark = calls.mark()
    driver.say(ids.group_id, ids.carol_id, "hello")
    await calls.wait_for("restrictChatMember", to(ids.carol_id), since=mark, timeout=TIMEOUT)
    driver.say(ids.carol_id, ids.carol_id, "/start")  # she opens the private chat
    await calls.wait_for("sendMessage", private_to(ids.carol_id), since=mark, timeout=TIMEOUT)

    mark = calls.mark()
    driver.join(ids.news_channel_id, ids.carol_id)

    told: Call = await calls.wait_for(
        "sendMessage", private_to(ids.carol_id), since=mark, timeout=TIMEOUT
    )
    assert told.ok, told.description
    assert "Nezuko Demo Group" in str(told.param("text"))
    assert "you can write there again" in str(told.param("text"))
    assert not driver.is_restricted(ids.group_id, ids.carol_id)


async def test_rule_12_a_member_who_never_started_the_bot_is_unmuted_and_not_written_to(
    story: Story,
) -> None:
    ids, driver, calls, sandbox = (
        story.ids,
        story.sandbox.driver,
        story.sandbox.calls,
        story.sandbox,
    )
    await protect(story)
    mark = calls.mark()
    driver.say(ids.group_id, ids.carol_id, "hello")
    await calls.wait_for("restrictChatMember", to(ids.carol_id), since=mark, timeout=TIMEOUT)

    mark = calls.mark()
    driver.join(ids.news_channel_id, ids.carol_id)

    refused: Call = await calls.wait_for(
        "sendMessage", private_to(ids.carol_id), since=mark, timeout=TIMEOUT
    )
    assert refused.status == 403
    assert "can't initiate conversation" in str(refused.description)
    await sandbox.wait_until(
        lambda: not driver.is_restricted(ids.group_id, ids.carol_id), timeout=TIMEOUT
    )
    assert driver.shown(ids.carol_id) == []
