"""The demo story, played against the real bot over HTTP (PTB → sandbox), with PostgreSQL."""

from collections.abc import Callable

from application.use_cases.press_verify import VERIFY_COOLDOWN
from telegram_sandbox import Call, Member, Status
from tests.integration.bot.conftest import Story

TIMEOUT = 10.0


def _to(user: int) -> Callable[[Call], bool]:
    return lambda call: call.param("user_id") == user


async def protect(story: Story) -> None:
    ids, driver = story.ids, story.sandbox.driver
    mark = story.sandbox.calls.mark()
    driver.say(ids.group_id, ids.owner_id, f"/protect @nezuko_demo_news {ids.private_channel_id}")
    reply = await story.sandbox.calls.wait_for("sendMessage", since=mark, timeout=TIMEOUT)
    assert "Protection is on" in str(reply.param("text"))


async def test_a_member_who_joins_is_muted_and_warned_with_every_missing_channel(
    story: Story,
) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await protect(story)
    mark = calls.mark()

    driver.join(ids.group_id, ids.dave_id)

    await calls.wait_for("restrictChatMember", _to(ids.dave_id), since=mark, timeout=TIMEOUT)
    warning: Call = await calls.wait_for(
        "sendMessage", lambda c: c.param("chat_id") == ids.group_id, since=mark, timeout=TIMEOUT
    )
    assert driver.is_restricted(ids.group_id, ids.dave_id)
    text = str(warning.param("text"))
    assert f"tg://user?id={ids.dave_id}" in text
    assert "Nezuko News" in text
    assert "Nezuko Insiders" in text


async def test_joining_every_channel_lifts_the_mute_with_no_button(story: Story) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await protect(story)
    mark = calls.mark()
    driver.join(ids.group_id, ids.dave_id)
    await calls.wait_for("restrictChatMember", _to(ids.dave_id), since=mark, timeout=TIMEOUT)

    driver.join(ids.news_channel_id, ids.dave_id)
    await story.sandbox.wait_delivered(timeout=TIMEOUT)
    assert driver.is_restricted(ids.group_id, ids.dave_id)

    mark = calls.mark()
    driver.join(ids.private_channel_id, ids.dave_id)
    await calls.wait_for("restrictChatMember", _to(ids.dave_id), since=mark, timeout=TIMEOUT)
    await story.sandbox.wait_until(
        lambda: not driver.is_restricted(ids.group_id, ids.dave_id), timeout=TIMEOUT
    )


async def wait_answer(story: Story, query_id: str) -> str:
    driver = story.sandbox.driver
    await story.sandbox.wait_until(
        lambda: driver.callback_answer(query_id) is not None, timeout=TIMEOUT
    )
    answer = driver.callback_answer(query_id)
    assert answer is not None
    return str(answer.get("text"))


async def test_verify_acts_only_for_its_member_and_only_when_everything_is_joined(
    story: Story,
) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await protect(story)
    mark = calls.mark()
    spoken = driver.say(ids.group_id, ids.carol_id, "hello")
    await calls.wait_for("restrictChatMember", _to(ids.carol_id), since=mark, timeout=TIMEOUT)
    await calls.wait_for("sendMessage", since=mark, timeout=TIMEOUT)
    assert driver.message(ids.group_id, spoken.message_id) is None  # deleted
    warning = driver.last_bot_message(ids.group_id)
    assert warning is not None
    data = f"verify:{ids.carol_id}"

    # Bob (in the group, not muted) presses Carol's button: nothing changes for anyone.
    answer = await wait_answer(story, driver.press(ids.bob_id, warning, data))
    assert "not for you" in answer
    assert driver.is_restricted(ids.group_id, ids.carol_id)
    assert driver.message(ids.group_id, warning.message_id) is not None

    # Carol presses before joining: still muted, told what is missing.
    answer = await wait_answer(story, driver.press(ids.carol_id, warning, data))
    assert "Nezuko News" in answer
    assert driver.is_restricted(ids.group_id, ids.carol_id)

    # She joins both channels silently (no chat_member update), then presses: unmuted.
    driver.place(ids.news_channel_id, Member(ids.carol_id, Status.MEMBER))
    driver.place(ids.private_channel_id, Member(ids.carol_id, Status.MEMBER))
    story.clock.advance(VERIFY_COOLDOWN)
    answer = await wait_answer(story, driver.press(ids.carol_id, warning, data))
    assert "talk now" in answer
    assert not driver.is_restricted(ids.group_id, ids.carol_id)
    assert driver.message(ids.group_id, warning.message_id) is None  # her warning is gone
