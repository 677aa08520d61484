"""Issue 11 point 7: an admin configures a group from their private chat with the bot.

The groups offered are those Telegram says the caller administers, and every change is checked
with Telegram again when it is made (the tenant comes from a verified admin's group).
"""

import asyncio

from telegram_sandbox import AdminRights, Call, Member, Status
from tests.integration.bot.conftest import Story
from tests.integration.bot.test_commands import TIMEOUT, command, protect


async def private_reply(story: Story, user: int, text: str) -> Call:
    calls = story.sandbox.calls
    mark = calls.mark()
    story.sandbox.driver.say(user, user, text)
    return await calls.wait_for(
        "sendMessage", lambda c: c.param("chat_id") == user, since=mark, timeout=TIMEOUT
    )


async def test_an_admin_changes_a_setting_from_the_private_chat(story: Story) -> None:
    ids, driver, sandbox = story.ids, story.sandbox.driver, story.sandbox
    await protect(story)
    await command(story, "/settings")
    menu = driver.last_bot_message(ids.group_id)
    assert menu is not None
    assert any("?start=settings" in str(b.get("url")) for b in menu.buttons())

    listed = await private_reply(story, ids.owner_id, "/start settings")
    assert "Choose a group" in str(listed.param("text"))
    groups = driver.last_bot_message(ids.owner_id)
    assert groups is not None
    open_group = f"pset:{ids.group_id}"
    assert open_group in [b.get("callback_data") for b in groups.buttons()]

    driver.press(ids.owner_id, groups, open_group)

    def menu_shown() -> bool:
        shown = driver.message(ids.owner_id, groups.message_id)
        return shown is not None and "Nezuko Demo Group" in (shown.text or "")

    await sandbox.wait_until(menu_shown, timeout=TIMEOUT)
    shown = driver.message(ids.owner_id, groups.message_id)
    assert shown is not None
    change = f"pset:{ids.group_id}:failure_policy=closed"
    query = driver.press(ids.owner_id, shown, change)
    await sandbox.wait_until(lambda: driver.callback_answer(query) is not None, timeout=TIMEOUT)

    assert "Saved" in str((driver.callback_answer(query) or {}).get("text"))
    assert "failure_policy</code> = <b>closed" in await command(story, "/settings")


async def test_a_member_or_a_demoted_admin_cannot_configure_from_private(story: Story) -> None:
    ids, driver, sandbox = story.ids, story.sandbox.driver, story.sandbox
    await protect(story)
    driver.promote(
        ids.group_id, ids.bob_id, AdminRights(can_restrict_members=True), by=ids.owner_id
    )
    driver.say(ids.group_id, ids.bob_id, "hello, I help here")  # the bot sees Bob in the group
    await sandbox.wait_delivered(timeout=TIMEOUT)
    open_group = f"pset:{ids.group_id}"

    def offered() -> bool:
        last = driver.last_bot_message(ids.bob_id)
        return last is not None and open_group in [b.get("callback_data") for b in last.buttons()]

    # delivered is not handled (updates run side by side): ask until Bob's message was seen
    async with asyncio.timeout(TIMEOUT):
        while (await private_reply(story, ids.bob_id, "/settings")) and not offered():  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    groups = driver.last_bot_message(ids.bob_id)
    assert groups is not None

    driver.place(ids.group_id, Member(ids.bob_id, Status.MEMBER))  # demoted since
    query = driver.press(ids.bob_id, groups, open_group)
    await sandbox.wait_until(lambda: driver.callback_answer(query) is not None, timeout=TIMEOUT)
    refused = driver.callback_answer(query) or {}
    assert "Only the group's creator" in str(refused.get("text"))
    assert "I know no group" in str(
        (await private_reply(story, ids.bob_id, "/settings")).param("text")
    )
    # Carol never administered anything
    assert "I know no group" in str(
        (await private_reply(story, ids.carol_id, "/settings")).param("text")
    )
