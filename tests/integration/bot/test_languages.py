"""Rule 15 through python-telegram-bot against the sandbox: who is warned in which language,
the group's fixed language, and the admins' own warning text (escaped, refused when bad)."""

from telegram_sandbox import Call, Member, Status
from tests.integration.bot.conftest import Story
from tests.integration.bot.test_commands import command, protect

TIMEOUT = 10.0


async def _warned(story: Story, user_id: int, name: str, language_code: str | None) -> str:
    """A new member with this Telegram language speaks in the group: their warning's text."""
    ids, driver, calls = story.ids, story.sandbox.driver, story.sandbox.calls
    driver.user(user_id, name, language_code=language_code)
    driver.place(ids.group_id, Member(user_id, Status.MEMBER))
    mark = calls.mark()
    driver.say(ids.group_id, user_id, "hello")

    def warning(call: Call) -> bool:
        text = str(call.param("text"))
        return call.param("chat_id") == ids.group_id and f"tg://user?id={user_id}" in text

    sent = await calls.wait_for("sendMessage", warning, since=mark, timeout=TIMEOUT)
    return str(sent.param("text"))


async def test_members_are_warned_in_their_language_or_the_groups(story: Story) -> None:
    await protect(story)
    # auto: the warned member's own language when the bot speaks it, else English
    spanish = await _warned(story, 2001, "Elena", "es")
    assert "para hablar en este grupo, únete primero a <b>Nezuko News</b>" in spanish
    assert "Luego pulsa <b>Verificar</b>." in spanish
    assert "to talk in this group" in await _warned(story, 2002, "Dieter", "de")
    # a fixed language: everyone, and the admin's replies too
    changed = await command(story, "/settings language ru")
    assert "Настройка <code>language</code> изменена." in changed
    assert "сначала подпишитесь на <b>Nezuko News</b>" in await _warned(story, 2003, "Frank", "en")
    assert "<code>language</code> = <b>ru</b>" in await command(story, "/status")
    # /log: each mute's reason in Russian too (recorded in English), a setting as typed
    logged = await command(story, "/log")
    assert "<i>написал сообщение; не хватает: " in logged
    assert "spoke; missing" not in logged
    assert "<i>language=ru</i>" in logged


async def test_a_custom_warning_is_sent_escaped_and_bad_ones_are_refused(story: Story) -> None:
    await protect(story)
    custom = "<b>Hey</b> {member} & {channels} @ {group} {{ok}}"
    reply = await command(story, f"/settings warning_text {custom}")
    escaped = "&lt;b&gt;Hey&lt;/b&gt;"
    assert f"Members will see:\n{escaped} " in reply  # the preview, as members will see it
    sent = await _warned(story, 2004, "Greta", "en")
    assert sent.startswith(f'{escaped} <a href="tg://user?id=2004">Greta</a> &amp; ')
    assert "<b>Nezuko News</b> @ Nezuko Demo Group {ok}\nThen press <b>Verify</b>." in sent
    for bad, problem in (
        ("Join {channels}", "must contain {member}"),
        ("Hi {member} {name}", "{name} is not a placeholder"),
        ("Hi {member} {", "a lone { or }"),
        ("{member}" + "x" * 4000, "longer than Telegram takes"),
    ):
        refused = await command(story, f"/settings warning_text {bad}")
        assert problem in refused, refused
    # nothing of the refused texts was saved
    assert f"<code>warning_text</code> = <b>{escaped}" in await command(story, "/settings")
    assert "<b>default</b>" in await command(story, "/settings warning_text default")
