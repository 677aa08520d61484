"""Issue 11 point 4: `/setlog @channel` posts the group's audit events there as they happen,
several to a message, with the group named and members as mentions; `/check` covers it."""

from telegram_sandbox import AdminRights, Call, Member, Status
from tests.integration.bot.conftest import Story
from tests.integration.bot.test_commands import command, protect

AUDIT = -1001000000077


def audit_channel(story: Story, *, can_post: bool = True) -> None:
    ids, driver = story.ids, story.sandbox.driver
    driver.channel(AUDIT, "Audit <Log>", owner_id=ids.owner_id, username="nezuko_audit")
    rights = AdminRights(can_post_messages=can_post)
    driver.place(AUDIT, Member(ids.bot_id, Status.ADMINISTRATOR, rights=rights))


async def test_setlog_posts_audit_events_to_the_channel_as_they_happen(story: Story) -> None:
    ids, calls = story.ids, story.sandbox.calls
    await protect(story)
    audit_channel(story)
    assert "Audit &lt;Log&gt;" in await command(story, "/setlog @nezuko_audit")
    mark = calls.mark()
    await command(story, f"/exempt {ids.carol_id}")
    await command(story, f"/unexempt {ids.carol_id}")

    posted: Call = await calls.wait_for(
        "sendMessage",
        lambda c: c.param("chat_id") == AUDIT and "took" in str(c.param("text")),
        timeout=12,
    )
    assert posted.ok, posted.description
    text = str(posted.param("text"))
    assert "Nezuko Demo Group" in text
    assert f"tg://user?id={ids.carol_id}" in text
    # both changes in one message, not one message each
    assert "exempted" in text
    to_log = [c for c in calls.of("sendMessage", since=mark) if c.param("chat_id") == AUDIT]
    assert len(to_log) == 1
    assert "off" in await command(story, "/setlog off")


async def test_setlog_to_a_channel_the_bot_cannot_post_in_saves_nothing(story: Story) -> None:
    await protect(story)
    audit_channel(story, can_post=False)
    reply = await command(story, "/setlog @nezuko_audit")
    assert "Nothing was changed" in reply
    assert "post messages" in reply
    assert "Make me an administrator of the log channel" not in await command(story, "/check")


async def test_check_says_when_the_bot_can_no_longer_post_to_the_log_channel(
    story: Story,
) -> None:
    ids, driver = story.ids, story.sandbox.driver
    await protect(story)
    audit_channel(story)
    await command(story, "/setlog @nezuko_audit")
    driver.place(AUDIT, Member(ids.bot_id, Status.ADMINISTRATOR, rights=AdminRights()))
    assert "Make me an administrator of the log channel" in await command(story, "/check")
