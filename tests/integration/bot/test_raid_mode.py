"""Raid mode (rule 13) through python-telegram-bot against the sandbox, with PostgreSQL.

Joins above `raid_threshold` start a raid; joiners are then muted silently under one notice that
is edited in place; the raid ends after its quiet period (the bot's clock is moved past it) or by
`/raid off`. Runs in polling and in webhook mode (`story`).
"""

import re
from datetime import timedelta

from application.use_cases.refresh_raid import REFRESH_EVERY
from domain.raid import QUIET_PERIOD
from telegram_sandbox import Call
from tests.integration.bot.conftest import Story
from tests.integration.bot.test_commands import command, protect

TIMEOUT = 15.0
THRESHOLD = 5
RAIDERS = tuple(range(910_001, 910_013))
NOTICE = "Raid mode is on.</b> New members"
OVER = "The raid is over."
WARNING = "Then press <b>Verify</b>"


def into_group(story: Story, since: int, phrase: str) -> list[Call]:
    group = story.ids.group_id
    return [
        c
        for c in story.sandbox.calls.of("sendMessage", since=since)
        if c.param("chat_id") == group and phrase in str(c.param("text"))
    ]


def raid_notices(story: Story) -> list[int]:
    """The ids of the raid notices shown in the group (as text, whatever they now say)."""
    return [
        m.message_id
        for m in story.sandbox.driver.bot_messages(story.ids.group_id)
        if "Raid mode is on. New members" in str(m.text) or "The raid is over" in str(m.text)
    ]


def muted_in(text: str) -> int:
    found = re.search(r"(?:Muted so far: |</b> )(\d+)", text)
    assert found is not None, text
    return int(found[1])


async def replied(story: Story, text: str, phrase: str) -> None:
    """An admin's command gets a reply with `phrase` (notices may go out meanwhile)."""
    calls, group = story.sandbox.calls, story.ids.group_id
    mark = calls.mark()
    story.sandbox.driver.say(group, story.ids.owner_id, text)
    await calls.wait_for(
        "sendMessage",
        lambda c: c.param("chat_id") == group and phrase in str(c.param("text")),
        since=mark,
        timeout=TIMEOUT,
    )


async def join(story: Story, users: tuple[int, ...]) -> None:
    driver, group = story.sandbox.driver, story.ids.group_id
    for user in users:
        driver.user(user, f"Raider {user}")
        driver.join(group, user)
    await story.sandbox.wait_until(
        lambda: all(driver.is_restricted(group, u) for u in users), timeout=TIMEOUT
    )


async def test_rule_13_a_raid_starts_and_ends_by_itself_under_one_notice_edited_in_place(
    story: Story,
) -> None:
    sandbox, ids, calls = story.sandbox, story.ids, story.sandbox.calls
    await protect(story)
    assert "raid_threshold" in await command(story, f"/settings raid_threshold {THRESHOLD}")
    mark = calls.mark()

    await join(story, RAIDERS)
    posted = await calls.wait_for(
        "sendMessage", lambda c: NOTICE in str(c.param("text")), since=mark, timeout=TIMEOUT
    )
    await calls.wait_until(
        lambda: bool(into_group(story, mark, "raid mode is on")), timeout=TIMEOUT
    )
    [message_id] = raid_notices(story)
    shown = sandbox.driver.message(ids.group_id, message_id)
    assert shown is not None
    assert posted.param("chat_id") == ids.group_id
    assert "verify:raid" in [b.get("callback_data") for b in shown.buttons()]
    assert "Join Nezuko News" in [b.get("text") for b in shown.buttons()]

    # the notice shows every muted raider: at once if it was posted after the last mute, else
    # after the next refresh edits it
    story.clock.advance(REFRESH_EVERY)

    def shows() -> int:
        notice = sandbox.driver.message(ids.group_id, message_id)
        return 0 if notice is None else muted_in(str(notice.text))

    await sandbox.wait_until(lambda: shows() >= len(RAIDERS) - (THRESHOLD - 1), timeout=TIMEOUT)
    story.clock.advance(QUIET_PERIOD + timedelta(seconds=1))
    closed = await calls.wait_for(
        "editMessageText", lambda c: OVER in str(c.param("text")), since=mark, timeout=TIMEOUT
    )
    await calls.wait_until(
        lambda: bool(into_group(story, mark, "raid mode is over")), timeout=TIMEOUT
    )

    assert closed.param("message_id") == message_id
    assert len(into_group(story, mark, NOTICE)) == 1  # one notice, edited, never posted again
    assert raid_notices(story) == [message_id]
    # the warnings of the joins before the raid began, merged; none after
    assert len(into_group(story, mark, WARNING)) < THRESHOLD
    [ended] = into_group(story, mark, "raid mode is over")
    assert f"{muted_in(str(closed.param('text')))} member" in str(ended.param("text"))
    assert "Raid mode is on" not in await command(story, "/status")


async def test_rule_13_raid_on_and_off_by_command_with_verify_and_channel_joins_silent(
    story: Story,
) -> None:
    sandbox, ids, calls = story.sandbox, story.ids, story.sandbox.calls
    driver = sandbox.driver
    await protect(story)
    mark = calls.mark()
    await replied(story, "/raid on 10m", "Raid mode is on. 🚨")
    raiders = RAIDERS[:3]
    await join(story, raiders)
    await calls.wait_for(
        "sendMessage", lambda c: NOTICE in str(c.param("text")), since=mark, timeout=TIMEOUT
    )
    [notice_id] = raid_notices(story)
    await replied(story, "/raid", "Muted since it began: 3")
    await replied(story, "/status", "</b> since")  # the raid's line in the status
    await calls.wait_until(  # the admins were told (a notice: it goes after the raid notice)
        lambda: bool(into_group(story, mark, "raid mode is on")), timeout=TIMEOUT
    )

    # a raider who joined the channel is freed by the channel event, with no group message
    before = calls.mark()
    driver.join(ids.news_channel_id, raiders[0])
    await sandbox.wait_until(lambda: not driver.is_restricted(ids.group_id, raiders[0]))
    # another presses the notice's Verify after joining: freed, the notice stays
    driver.join(ids.news_channel_id, raiders[1])
    notice = driver.message(ids.group_id, notice_id)
    assert notice is not None
    query = driver.press(raiders[1], notice, "verify:raid")
    await sandbox.wait_until(lambda: driver.callback_answer(query) is not None, timeout=TIMEOUT)
    assert not driver.is_restricted(ids.group_id, raiders[1])
    assert driver.is_restricted(ids.group_id, raiders[2])  # only the presser's own status
    assert driver.message(ids.group_id, notice_id) is not None
    # nothing in the group (a freed member may be told in private, rule 12)
    sent = calls.of("sendMessage", since=before)
    assert [c for c in sent if c.param("chat_id") == ids.group_id] == []

    await replied(story, "/raid off", "Raid mode is off. 3 members were muted")
    closed = await calls.wait_for(
        "editMessageText", lambda c: OVER in str(c.param("text")), since=mark, timeout=TIMEOUT
    )
    assert closed.param("message_id") == notice_id
    await calls.wait_until(
        lambda: bool(into_group(story, mark, "raid mode is over")), timeout=TIMEOUT
    )
    assert into_group(story, mark, WARNING) == []
    assert "No raid is going on" in await command(story, "/raid off")
