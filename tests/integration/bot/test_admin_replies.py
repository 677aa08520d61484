"""Issue 11 point 8 through PTB against the sandbox: the small things admins noticed.

`/why` says plainly whether a member is muted and by whom, and when Telegram knows no such
user; an unknown `/settings` key lists the keys; the settings menu says what each button does;
`/protect` with a private channel's id names it by its title once the bot can read it.
"""

from telegram_sandbox import AdminRights, Call, Member, Status
from tests.integration.bot.conftest import Story

TIMEOUT = 10.0


async def _command(story: Story, text: str) -> str:
    """Send a command in the group as the owner and return the bot's reply text."""
    ids, calls = story.ids, story.sandbox.calls
    mark = calls.mark()
    story.sandbox.driver.say(ids.group_id, ids.owner_id, text)
    reply: Call = await calls.wait_for(
        "sendMessage", lambda c: c.param("chat_id") == ids.group_id, since=mark, timeout=TIMEOUT
    )
    return str(reply.param("text"))


async def test_why_tells_not_muted_from_an_admins_mute_and_an_unknown_user(story: Story) -> None:
    ids, driver = story.ids, story.sandbox.driver
    assert "Protection is on" in await _command(story, "/protect @nezuko_demo_news")

    assert await _command(story, f"/why {ids.bob_id}") == "Not muted."

    driver.mute(ids.group_id, ids.carol_id, by=ids.owner_id)
    await story.sandbox.wait_delivered(timeout=TIMEOUT)
    carol = await _command(story, f"/why {ids.carol_id}")
    assert "Not joined" in carol
    assert carol.endswith("Restricted by an admin, not by me: only an admin can lift it.")

    unknown = await _command(story, "/why 999999")
    assert unknown == "Telegram knows no user with this id: check the number."


async def test_an_unknown_setting_lists_the_valid_keys(story: Story) -> None:
    reply = await _command(story, "/settings colour blue")
    assert reply == (
        "Unknown setting <code>colour</code>. Settings: <code>failure_policy</code>, "
        "<code>warning_ttl</code>, <code>kick_after</code>, <code>raid_threshold</code>, "
        "<code>join_gate</code>, <code>join_gate_timeout</code>, <code>language</code>, "
        "<code>warning_text</code>."
    )


async def test_the_settings_menu_says_what_each_setting_and_button_does(story: Story) -> None:
    ids, driver = story.ids, story.sandbox.driver
    text = await _command(story, "/settings")
    assert "how long my warnings stay before I delete them" in text
    assert "cannot tell me whether a member joined" in text
    menu = driver.last_bot_message(ids.group_id)
    assert menu is not None
    labels = [str(b.get("text")) for b in menu.buttons()]
    assert "✓ Check fails: let talk" in labels
    assert "✓ Warnings stay 2m" in labels
    assert "✓ Never kick" in labels
    assert "Kick muted after 1d" in labels


async def test_protect_names_a_private_channel_given_by_id_by_its_title(story: Story) -> None:
    ids, driver = story.ids, story.sandbox.driver
    secret = -1001000000012
    driver.channel(secret, "Secret <Club>", owner_id=ids.owner_id)
    no_invites = AdminRights(can_post_messages=True)
    driver.place(secret, Member(story.ids.bot_id, Status.ADMINISTRATOR, rights=no_invites))

    reply = await _command(story, f"/protect {secret}")

    assert "Give me the <i>Invite users via link</i> right in <b>Secret &lt;Club&gt;</b>." in reply
    assert str(secret) not in reply
