"""Rule 11: the copy a timed-out send delivered after all is found and deleted, nothing else.

Through PTB's real HTTP stack against the sandbox. The sends here do arrive; the test tells
`LostSends` that one of them timed out, as the messenger does when Telegram does not answer in
time, and checks what a sweep deletes: only that message, never a member's message, never a
message of the bot's whose id it learnt.
"""

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import ExtBot

from adapters.telegram.lost_sends import MAX_PROBES, LostSends
from adapters.telegram.rate_limiter import RateLimitArgs
from tests.integration.telegram.conftest import SandboxWorld

VERIFY = InlineKeyboardMarkup([[InlineKeyboardButton("Verify", callback_data="verify:2003")]])


async def test_a_sweep_deletes_the_lost_copy_and_nothing_else(
    bot: ExtBot[RateLimitArgs], world: SandboxWorld
) -> None:
    driver, group = world.sandbox.driver, world.group
    lost = LostSends()
    first = driver.say(group, world.member, "before the send")
    lost.saw(group, first.message_id)

    send = lost.begin(group, VERIFY)
    copy = await bot.send_message(group, "warning", reply_markup=VERIFY)  # "timed out"
    lost.timed_out(send)
    chatter = [driver.say(group, world.member, f"message {n}") for n in range(3)]
    for message in chatter:
        lost.saw(group, message.message_id)
    reply = await bot.send_message(group, "an answer to an admin")  # a send the bot knows
    lost.sent(group, reply.message_id)
    menu = await bot.send_message(group, "a menu", reply_markup=VERIFY)
    lost.sent(group, menu.message_id)
    assert lost.pending(group)

    assert await lost.sweep(bot, group, due_only=False) == 1
    assert driver.message(group, copy.message_id) is None
    for kept in (first, *chatter):
        assert driver.message(group, kept.message_id) is not None
    for own in (reply, menu):
        message = driver.message(group, own.message_id)
        assert message is not None
        assert message.edit_date is None  # not even probed
    assert not lost.pending(group)


async def test_a_send_that_came_back_is_not_looked_for(
    bot: ExtBot[RateLimitArgs], world: SandboxWorld
) -> None:
    driver, group = world.sandbox.driver, world.group
    lost = LostSends()
    lost.saw(group, driver.say(group, world.member, "hello").message_id)
    send = lost.begin(group, VERIFY)
    sent = await bot.send_message(group, "warning", reply_markup=VERIFY)
    lost.succeeded(send)
    lost.sent(group, sent.message_id)
    assert not lost.pending(group)
    assert await lost.sweep(bot, group, due_only=False) == 0
    assert driver.message(group, sent.message_id) is not None


async def test_a_copy_hidden_behind_more_messages_than_the_probes_stays(
    bot: ExtBot[RateLimitArgs], world: SandboxWorld
) -> None:
    driver, group = world.sandbox.driver, world.group
    lost = LostSends()
    lost.saw(group, driver.say(group, world.member, "hello").message_id)
    send = lost.begin(group, VERIFY)
    crowd = [driver.say(group, world.member, f"message {n}") for n in range(MAX_PROBES)]
    for message in crowd:
        lost.saw(group, message.message_id)
    copy = await bot.send_message(group, "warning", reply_markup=VERIFY)  # executed late
    lost.timed_out(send)

    assert await lost.sweep(bot, group, due_only=False) == 0
    assert driver.message(group, copy.message_id) is not None  # left to be touched
    assert all(driver.message(group, m.message_id) is not None for m in crowd)
    assert not lost.pending(group)  # every id it may probe was settled: given up
