"""Issue 11 point 2: `/exempt`, `/unexempt` and `/why` target the member an admin means.

A reply to the bot's own warning targets the member it warns (it used to target the bot); an
`@username` works for members the bot has seen in the group; the bot itself, admins and anonymous
senders are refused with a reason.
"""

import asyncio

from sqlalchemy.ext.asyncio import create_async_engine

from adapters.postgres.unit_of_work import PostgresUnitOfWork
from domain.ids import GroupId, UserId
from telegram_sandbox import Call, Member, Status
from telegram_sandbox.state import Message
from tests.integration.bot.conftest import Story
from tests.integration.bot.test_commands import TIMEOUT, command, protect

ERIN = 2001


async def reply_command(
    story: Story, text: str, replied: Message, *, by: int | None = None
) -> str:
    """Send `text` as a reply to `replied` (as Alice, the owner) and return the bot's reply."""
    ids, calls = story.ids, story.sandbox.calls
    mark = calls.mark()
    story.sandbox.driver.say(ids.group_id, by or ids.owner_id, text, reply_to=replied)

    def answers(call: Call) -> bool:
        return call.param("chat_id") == ids.group_id and "Verify" not in str(call.param("text"))

    reply: Call = await calls.wait_for("sendMessage", answers, since=mark, timeout=TIMEOUT)
    return str(reply.param("text"))


async def muted_with_warning(story: Story, user_id: int) -> Message:
    """`user_id` speaks in the protected group, is muted, and the bot's warning is shown."""
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    mark = calls.mark()
    driver.say(ids.group_id, user_id, "hello")
    await calls.wait_for(
        "sendMessage", lambda c: "Verify" in str(c.param("text")), since=mark, timeout=TIMEOUT
    )
    warning = driver.last_bot_message(ids.group_id)
    assert warning is not None
    await warning_recorded(story, user_id, warning.message_id)
    return warning


async def warning_recorded(story: Story, user_id: int, message_id: int) -> None:
    """Wait until the bot stored the warning it sent (it records the id once Telegram took it).

    An admin replies seconds later; a test replies within milliseconds.
    """
    url = story.settings.database_url
    assert url is not None
    engine = create_async_engine(url)
    group = GroupId(story.ids.group_id)
    try:
        for _ in range(100):
            async with PostgresUnitOfWork(engine).begin(group) as tx:
                held = await tx.restrictions.get(group, UserId(user_id))
            if held is not None and held.warning_message_id == message_id:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"warning {message_id} of {user_id} never recorded")
    finally:
        await engine.dispose()


async def test_exempt_as_a_reply_to_the_warning_exempts_the_warned_member_and_unmutes_them(
    story: Story,
) -> None:
    ids, driver, sandbox = story.ids, story.sandbox.driver, story.sandbox
    await protect(story)
    warning = await muted_with_warning(story, ids.carol_id)
    assert driver.is_restricted(ids.group_id, ids.carol_id)

    reply = await reply_command(story, "/exempt", warning)

    assert "Exempted" in reply
    assert "lifted" in reply
    await sandbox.wait_until(
        lambda: not driver.is_restricted(ids.group_id, ids.carol_id), timeout=TIMEOUT
    )
    listed = await command(story, "/exempted")
    assert f"tg://user?id={ids.carol_id}" in listed
    assert f"tg://user?id={ids.bot_id}" not in listed


async def test_why_as_a_reply_to_the_warning_explains_the_warned_member(story: Story) -> None:
    ids = story.ids
    await protect(story)
    warning = await muted_with_warning(story, ids.carol_id)
    why = await reply_command(story, "/why", warning)
    assert "Not joined" in why
    assert "Muted by me since" in why


async def test_unexempt_as_a_reply_to_the_warning_targets_the_warned_member(story: Story) -> None:
    ids = story.ids
    await protect(story)
    warning = await muted_with_warning(story, ids.carol_id)
    assert "They were not exempt" in await reply_command(story, "/unexempt", warning)


async def test_the_bot_admins_and_anonymous_senders_are_refused_with_a_reason(
    story: Story,
) -> None:
    ids, driver = story.ids, story.sandbox.driver
    await protect(story)
    assert "That is me" in await command(story, f"/exempt {ids.bot_id}")
    # Bob is an admin now: admins are never muted, so exempting one is refused
    driver.promote(ids.group_id, ids.bob_id, by=ids.owner_id)
    assert "admin" in (await command(story, f"/exempt {ids.bob_id}")).lower()
    anonymous = driver.anonymous_admin_says(ids.group_id, "announcement")
    refused = await reply_command(story, "/exempt", anonymous)
    assert "on behalf of a chat" in refused
    assert "Exempt: 0." in await command(story, "/status")


async def test_exempt_by_username_of_a_member_the_bot_has_seen(story: Story) -> None:
    ids, driver, sandbox = story.ids, story.sandbox.driver, story.sandbox
    driver.user(ERIN, "Erin", username="erin_e")
    driver.place(ids.group_id, Member(ERIN, Status.MEMBER))
    assert "never seen" in await command(story, "/exempt @erin_e")
    await protect(story)
    await muted_with_warning(story, ERIN)

    assert "Exempted" in await command(story, "/exempt @Erin_E")

    await sandbox.wait_until(lambda: not driver.is_restricted(ids.group_id, ERIN), timeout=10)
    assert "Exempt: 1." in await command(story, "/status")
