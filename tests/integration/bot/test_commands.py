"""Every handler and command through python-telegram-bot against the sandbox, with PostgreSQL."""

import asyncio
from collections.abc import Callable
from datetime import timedelta

from adapters.metrics import updates_handled
from telegram_sandbox import AdminRights, Call, Member, RetryAfterFault, Status
from tests.integration.bot.conftest import Story

TIMEOUT = 10.0


async def command(story: Story, text: str, *, by: int | None = None, warned: bool = False) -> str:
    """Send a command in the group as Alice (or `by`) and return the bot's reply text.

    `warned`: warnings may be on their way too; the reply is the first message that is not one.
    """
    ids, calls = story.ids, story.sandbox.calls
    mark = calls.mark()
    story.sandbox.driver.say(ids.group_id, by or ids.owner_id, text)

    def replies(call: Call) -> bool:
        warning = "Then press <b>Verify</b>" in str(call.param("text"))
        return call.param("chat_id") == ids.group_id and not (warned and warning)

    reply: Call = await calls.wait_for("sendMessage", replies, since=mark, timeout=TIMEOUT)
    return str(reply.param("text"))


def to(user: int) -> Callable[[Call], bool]:
    return lambda call: call.param("user_id") == user


async def protect(story: Story) -> None:
    assert "Protection is on" in await command(story, "/protect @nezuko_demo_news")


async def test_status_settings_check_and_why(story: Story) -> None:
    ids = story.ids
    assert "not protected" in await command(story, "/status")
    await protect(story)
    status = await command(story, "/status")
    assert "Nezuko News" in status
    assert "failure_policy" in status
    assert "closed" in await command(story, "/settings failure_policy closed")
    assert "warning_ttl" in await command(story, "/settings")
    assert "invalid value" in (await command(story, "/settings warning_ttl forever")).lower()
    assert "every right" in await command(story, "/check")
    why = await command(story, f"/why {ids.carol_id}")
    assert "Not joined" in why
    assert "Nezuko News" in why


async def test_members_may_not_configure_and_their_commands_still_enforce(story: Story) -> None:
    ids, driver = story.ids, story.sandbox.driver
    # Bob is in the channel, so his command is judged, not his membership.
    assert "Only the group's creator" in await command(story, "/status", by=ids.bob_id)
    await protect(story)
    # Carol has not joined: her command is a message like any other.
    mark = story.sandbox.calls.mark()
    driver.say(ids.group_id, ids.carol_id, "/unprotect")
    await story.sandbox.calls.wait_for("restrictChatMember", to(ids.carol_id), since=mark)
    assert driver.is_restricted(ids.group_id, ids.carol_id)


async def test_unlink_exempt_and_unexempt(story: Story) -> None:
    ids, driver = story.ids, story.sandbox.driver
    await protect(story)
    assert "Exempted" in await command(story, f"/exempt {ids.carol_id}")
    await command(story, "/status")
    driver.say(ids.group_id, ids.carol_id, "exempt, so I may talk")
    await story.sandbox.wait_delivered(timeout=TIMEOUT)
    assert not driver.is_restricted(ids.group_id, ids.carol_id)
    assert "No longer exempt" in await command(story, f"/unexempt {ids.carol_id}")
    assert "Reply to one of their messages" in await command(story, "/exempt")
    assert "unlinked" in await command(story, "/unlink @nezuko_demo_news")
    assert "not linked" in await command(story, "/unlink @nezuko_demo_news")


async def test_user_ids_no_telegram_user_could_have_get_the_usage_hint(story: Story) -> None:
    """ "²" passes str.isdigit() but not int(); 20 digits overflow the database's bigint."""
    await protect(story)
    for forged in ("²", "99999999999999999999", "-5"):
        reply = await command(story, f"/exempt {forged}")
        assert "Reply to one of their messages" in reply, forged
    assert "Exempt: 0." in await command(story, "/status")


async def test_anonymous_admins_and_linked_channel_posts_are_left_alone(story: Story) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await protect(story)
    mark = calls.mark()
    anonymous = driver.anonymous_admin_says(ids.group_id, "announcement")
    _, forward = driver.post_in_channel(ids.news_channel_id, "news of the day")
    await story.sandbox.wait_delivered(timeout=TIMEOUT)
    assert forward is not None
    assert driver.message(ids.group_id, anonymous.message_id) is not None
    assert driver.message(ids.group_id, forward.message_id) is not None
    assert calls.of("restrictChatMember", since=mark) == []
    # and an anonymous admin may run commands
    assert "Protection is off" in await command_as_anonymous(story, "/unprotect")


async def command_as_anonymous(story: Story, text: str) -> str:
    ids, calls = story.ids, story.sandbox.calls
    mark = calls.mark()
    story.sandbox.driver.anonymous_admin_says(ids.group_id, text)
    reply = await calls.wait_for("sendMessage", since=mark, timeout=TIMEOUT)
    return str(reply.param("text"))


async def test_an_edited_message_is_judged_too(story: Story) -> None:
    ids, driver = story.ids, story.sandbox.driver
    driver.say(ids.group_id, ids.carol_id, "before protection")  # unprotected: passes
    await story.sandbox.wait_delivered(timeout=TIMEOUT)
    assert not driver.is_restricted(ids.group_id, ids.carol_id)
    await protect(story)
    mark = story.sandbox.calls.mark()
    driver.say(ids.group_id, ids.carol_id, "after protection")
    await story.sandbox.calls.wait_for("restrictChatMember", to(ids.carol_id), since=mark)


async def test_titles_with_markup_characters_are_sent_correctly(story: Story) -> None:
    ids, driver = story.ids, story.sandbox.driver
    title = "<Fish> & _Chips_ *Daily*"
    driver.channel(-1001000000099, title, owner_id=ids.owner_id, username="fish_chips_daily")
    driver.place(
        -1001000000099,
        Member(ids.bot_id, Status.ADMINISTRATOR, rights=AdminRights(can_invite_users=True)),
    )
    assert "Protection is on" in await command(story, "/protect @fish_chips_daily")
    mark = story.sandbox.calls.mark()
    driver.say(ids.group_id, ids.carol_id, "hi")
    warning: Call = await story.sandbox.calls.wait_for(
        "sendMessage", lambda c: "Verify" in str(c.param("text")), since=mark, timeout=TIMEOUT
    )
    assert warning.ok, warning.description
    last = driver.last_bot_message(ids.group_id)
    assert last is not None
    assert title in (last.text or "")  # Telegram's HTML parser shows the literal title


async def test_a_429_on_restrict_is_waited_out_and_the_mute_still_applies(story: Story) -> None:
    ids, driver, sandbox = story.ids, story.sandbox.driver, story.sandbox
    await protect(story)
    sandbox.faults.inject("restrictChatMember", RetryAfterFault(1))
    mark = sandbox.calls.mark()
    driver.say(ids.group_id, ids.carol_id, "hello")
    await sandbox.wait_until(lambda: driver.is_restricted(ids.group_id, ids.carol_id), timeout=10)
    restricts = sandbox.calls.of("restrictChatMember", since=mark)
    assert [c.status for c in restricts] == [429, 200]
    waited = restricts[1].at - restricts[0].at
    assert 1.0 <= waited < 1.5


async def test_start_help_and_join_requests(story: Story) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    mark = calls.mark()
    driver.say(ids.dave_id, ids.dave_id, "/start")
    reply = await calls.wait_for("sendMessage", since=mark, timeout=TIMEOUT)
    assert reply.param("chat_id") == ids.dave_id
    assert "startgroup=true" in str(reply.param("reply_markup"))
    assert "/protect" in await command(story, "/help", by=ids.carol_id)
    driver.request_join(ids.private_channel_id, ids.dave_id)
    await story.sandbox.wait_delivered(timeout=TIMEOUT)
    # the request is taken without a crash, left pending, and the bot keeps serving
    assert "/protect" in await command(story, "/help", by=ids.bob_id)
    assert [r.user_id for r in driver.join_requests(ids.private_channel_id)] == [ids.dave_id]


async def test_admins_are_told_once_when_the_bot_loses_its_rights(story: Story) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await protect(story)
    mark = calls.mark()
    driver.demote_bot(ids.group_id, by=ids.owner_id)
    notice = await calls.wait_for(
        "sendMessage", lambda c: c.param("chat_id") == ids.group_id, since=mark, timeout=TIMEOUT
    )
    assert "I cannot mute members here" in str(notice.param("text"))
    # promoted and demoted again within the cooldown: no second notice
    driver.promote_bot(ids.group_id, by=ids.owner_id)
    driver.demote_bot(ids.group_id, by=ids.owner_id)
    assert "Make me an administrator of this group" in await command(story, "/check")
    notices = [
        c for c in calls.of("sendMessage", since=mark) if "cannot mute" in str(c.param("text"))
    ]
    assert len(notices) == 1


async def test_the_settings_menu_changes_settings_for_admins_only(story: Story) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await protect(story)
    await command(story, "/settings")
    menu = driver.last_bot_message(ids.group_id)
    assert menu is not None
    assert "set:failure_policy=closed" in [b.get("callback_data") for b in menu.buttons()]

    # Bob is a member, not an admin: an alert, and nothing changes
    query = driver.press(ids.bob_id, menu, "set:failure_policy=closed")
    await story.sandbox.wait_until(lambda: driver.callback_answer(query) is not None)
    refused = driver.callback_answer(query)
    assert refused is not None
    assert "Only the group's creator" in str(refused.get("text"))
    assert refused.get("show_alert") is True
    assert "failure_policy</code> = <b>open" in await command(story, "/settings")

    # Alice, the creator: saved, and the menu shows the new value ticked
    menu = driver.last_bot_message(ids.group_id)
    assert menu is not None
    mark = calls.mark()
    query = driver.press(ids.owner_id, menu, "set:failure_policy=closed")
    await calls.wait_for("editMessageText", since=mark, timeout=TIMEOUT)
    assert "Saved" in str((driver.callback_answer(query) or {}).get("text"))
    edited = driver.message(ids.group_id, menu.message_id)
    assert edited is not None
    assert "✓ Check fails: mute" in [str(b.get("text")) for b in edited.buttons()]
    assert "failure_policy</code> = <b>closed" in await command(story, "/settings")


async def test_first_messages_at_once_fetch_the_admin_list_once(story: Story) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await protect(story)
    erin = driver.user(1099, "Erin").id
    driver.place(ids.group_id, Member(erin, Status.MEMBER))
    handled = updates_handled("chat_member")
    driver.promote(ids.group_id, ids.bob_id, by=ids.owner_id)  # the cached admin set is dropped
    await story.sandbox.wait_until(
        lambda: updates_handled("chat_member") > handled, timeout=TIMEOUT
    )
    mark = calls.mark()
    for _ in range(3):
        driver.say(ids.group_id, ids.carol_id, "hi")
        driver.say(ids.group_id, erin, "hello")
    await story.sandbox.wait_until(
        lambda: (
            driver.is_restricted(ids.group_id, ids.carol_id)
            and driver.is_restricted(ids.group_id, erin)
        ),
        timeout=TIMEOUT,
    )
    await story.sandbox.wait_delivered(timeout=TIMEOUT)
    assert len(calls.of("getChatAdministrators", since=mark)) == 1


async def test_a_burst_of_messages_gets_one_mute_and_one_warning(story: Story) -> None:
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await protect(story)
    mark = calls.mark()
    burst = [driver.say(ids.group_id, ids.carol_id, f"hi {n}") for n in range(5)]
    await story.sandbox.wait_until(
        lambda: (
            driver.is_restricted(ids.group_id, ids.carol_id)
            and all(driver.message(ids.group_id, m.message_id) is None for m in burst)
            and any("Verify" in (m.text or "") for m in driver.bot_messages(ids.group_id))
        ),
        timeout=TIMEOUT,
    )
    await story.sandbox.wait_delivered(timeout=TIMEOUT)
    await asyncio.sleep(0.3)  # time for a second warning, were one on its way
    warnings = [c for c in calls.of("sendMessage", since=mark) if "Verify" in str(c.param("text"))]
    assert len(warnings) == 1
    assert len(calls.of("restrictChatMember", since=mark)) == 1


async def test_muted_exempted_and_log_page_with_buttons_for_admins_only(story: Story) -> None:
    """Issue 11, point 3: admins see who is affected; the page buttons refuse members."""
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await protect(story)
    assert "Nobody is muted by me here." in await command(story, "/muted", warned=True)
    speakers = [driver.user(900_000 + n, f"Speaker <{n}>").id for n in range(12)]
    for speaker in speakers:
        driver.place(ids.group_id, Member(speaker, Status.MEMBER))
        driver.say(ids.group_id, speaker, "hello")
    await calls.wait_until(
        lambda: all(driver.is_restricted(ids.group_id, s) for s in speakers), timeout=TIMEOUT
    )

    first = await command(story, "/muted", warned=True)
    assert "<b>Muted by me</b>: 12 (page 1 of 2)" in first
    assert '">Speaker &lt;' in first  # names escaped inside the mentions
    assert 'not joined: <a href="https://t.me/nezuko_demo_news">Nezuko News</a>' in first
    listing = driver.last_bot_message(ids.group_id)
    assert listing is not None
    assert "list:muted:2" in [b.get("callback_data") for b in listing.buttons()]

    query = driver.press(ids.bob_id, listing, "list:muted:2")  # a member: refused
    await story.sandbox.wait_until(lambda: driver.callback_answer(query) is not None)
    assert "Only the group's creator" in str((driver.callback_answer(query) or {}).get("text"))
    mark = calls.mark()
    driver.press(ids.owner_id, listing, "list:muted:2")
    edit = await calls.wait_for("editMessageText", since=mark, timeout=TIMEOUT)
    assert edit.param("message_id") == listing.message_id
    second = str(edit.param("text"))
    assert "(page 2 of 2)" in second
    on_first = {s for s in speakers if f'tg://user?id={s}"' in first}
    on_second = {s for s in speakers if f'tg://user?id={s}"' in second}
    assert (len(on_first), len(on_second)) == (10, 2)
    assert on_first | on_second == set(speakers)

    assert "Nobody is exempt here." in await command(story, "/exempted", warned=True)
    await command(story, f"/exempt {ids.carol_id}", warned=True)
    assert f"tg://user?id={ids.carol_id}" in await command(story, "/exempted", warned=True)
    logged = await command(story, "/log", warned=True)
    [exempting] = [line for line in logged.splitlines() if " exempted " in line]
    owner, carol = ids.owner_id, ids.carol_id
    by_whom = (
        f'<a href="tg://user?id={owner}">{owner}</a> exempted <a href="tg://user?id={carol}">'
    )
    assert by_whom in exempting
    assert "I warned" in logged or "I muted" in logged
    assert "Only the group's creator" in await command(story, "/log", by=ids.bob_id, warned=True)


async def test_members_cannot_make_the_bot_talk(story: Story) -> None:
    """Issue 11, point 6: a member's admin commands and /help are deleted at once and answered
    once per member per 10 minutes; the answer goes too, after a while."""
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await protect(story)
    mark = calls.mark()
    typed = [driver.say(ids.group_id, ids.bob_id, text) for text in ("/status", "/log", "/help")]
    for message in typed:
        await calls.wait_for(
            "deleteMessage",
            lambda c, m=message: c.param("message_id") == m.message_id,
            since=mark,
            timeout=TIMEOUT,
        )
    await story.sandbox.wait_delivered(timeout=TIMEOUT)
    await asyncio.sleep(0.3)  # time for another answer, were one on its way
    answers = [
        c for c in calls.of("sendMessage", since=mark) if c.param("chat_id") == ids.group_id
    ]
    assert len(answers) == 1
    # Updates are handled side by side: the one answer is to whichever came first, the refusal
    # of an admin command or the member's /help.
    [answer] = answers
    text = str(answer.param("text"))
    assert "Only the group's creator" in text or text.startswith("I make members join"), text
    assert all(driver.message(ids.group_id, m.message_id) is None for m in typed)

    # Someone else gets their own answer; an admin's command is answered as always.
    assert "/protect" in await command(story, "/help")
    assert "Protection is" in await command(story, "/status")
    answered = min(
        (m for m in driver.bot_messages(ids.group_id) if m.text == text),
        key=lambda m: m.message_id,  # the member's, not the admin's own /help
    )
    story.clock.advance(timedelta(minutes=2))  # the answers are deleted after a minute
    await story.sandbox.wait_until(
        lambda: driver.message(ids.group_id, answered.message_id) is None, timeout=TIMEOUT
    )


async def test_rule_12_a_muted_member_finds_their_way_back_from_the_private_chat(
    story: Story,
) -> None:
    """Issue 11, point 1: the warning links to the private chat, which lists the member's
    mutes with join buttons and a Verify that works there, long after the warning is gone."""
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    await protect(story)
    driver.say(ids.group_id, ids.carol_id, "hi")
    warning = await calls.wait_for(
        "sendMessage", lambda c: "Verify" in str(c.param("reply_markup")), timeout=TIMEOUT
    )
    assert "?start=muted" in str(warning.param("reply_markup"))
    warned = driver.last_bot_message(ids.group_id)
    assert warned is not None

    mark = calls.mark()
    driver.say(ids.carol_id, ids.carol_id, "/start muted")
    listing = await calls.wait_for(
        "sendMessage", lambda c: c.param("chat_id") == ids.carol_id, since=mark, timeout=TIMEOUT
    )
    assert "You are muted by me in:" in str(listing.param("text"))
    assert "Nezuko Demo Group" in str(listing.param("text"))
    shown = driver.last_bot_message(ids.carol_id)
    assert shown is not None
    verify = f"pverify:{ids.group_id}"
    assert verify in [b.get("callback_data") for b in shown.buttons()]
    assert "Join Nezuko News" in [b.get("text") for b in shown.buttons()]

    # Not joined yet: told what is missing, still muted
    query = driver.press(ids.carol_id, shown, verify)
    await story.sandbox.wait_until(lambda: driver.callback_answer(query) is not None)
    assert "Join first" in str((driver.callback_answer(query) or {}).get("text"))
    assert driver.is_restricted(ids.group_id, ids.carol_id)

    # Joined: the channel join lifts the mute (rule 6); the private chat says so at once
    mark = calls.mark()
    driver.join(ids.news_channel_id, ids.carol_id)
    told = await calls.wait_for(
        "sendMessage", lambda c: c.param("chat_id") == ids.carol_id, since=mark, timeout=TIMEOUT
    )
    assert "you can write there again" in str(told.param("text"))
    await calls.wait_until(  # her warning goes once the bot has forgotten the mute
        lambda: (
            not driver.is_restricted(ids.group_id, ids.carol_id)
            and driver.message(ids.group_id, warned.message_id) is None
        ),
        timeout=TIMEOUT,
    )
    mark = calls.mark()
    driver.say(ids.carol_id, ids.carol_id, "why can't I write?")
    reply = await calls.wait_for(
        "sendMessage", lambda c: c.param("chat_id") == ids.carol_id, since=mark, timeout=TIMEOUT
    )
    assert "I have not muted you in any group" in str(reply.param("text"))
