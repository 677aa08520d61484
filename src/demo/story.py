"""`nezuko demo`: the whole story, told by the real bot against the built-in Bot API sandbox.

Nothing is mocked: the bot runs exactly as `nezuko run` does (python-telegram-bot over HTTP, our
rate limiter, an embedded PostgreSQL with row-level security), and the sandbox plays Telegram and
the people. Each step says what a person did, what the bot did in reply, and whether that is what
the rules promise; the exit code is 0 only if every step behaved.
"""

import asyncio
import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, cast

import attrs

from adapters.system_clock import MovableClock
from application.use_cases.press_verify import VERIFY_COOLDOWN
from bootstrap.bot import running_bot
from bootstrap.settings import Settings
from telegram_sandbox import (
    Call,
    Driver,
    Member,
    Message,
    Sandbox,
    SeededWorld,
    Status,
)

STEP_TIMEOUT = 15.0
_TAGS = re.compile(r"<[^>]+>")


@attrs.define
class Narrator:
    """Prints the story: people's actions, the bot's calls, and each step's verdict."""

    sandbox: Sandbox
    out: TextIO
    names: dict[int, str]
    passed: int = 0
    failed: int = 0
    _mark: int = 0

    def name(self, user_id: object) -> str:
        """A person's or chat's name for the transcript."""
        return self.names.get(int(str(user_id)), str(user_id))

    def person(self, line: str) -> None:
        """Something a person did."""
        self._mark = self.sandbox.calls.mark()
        print(f"\n  {line}", file=self.out)

    def bot_did(self) -> None:
        """Print what the bot asked Telegram since the last person's action."""
        for call in self.sandbox.calls.all(since=self._mark):
            line = self._describe(call)
            if line:
                print(f"      bot: {line}", file=self.out)
        self._mark = self.sandbox.calls.mark()

    def _describe(self, call: Call) -> str | None:
        user = self.name(call.param("user_id", 0))
        match call.method:
            case "restrictChatMember":
                permissions = cast("dict[str, bool]", call.param("permissions") or {})
                lifted = bool(permissions) and all(permissions.values())
                return f"{'unmutes' if lifted else 'mutes'} {user}"
            case "sendMessage":
                text = html.unescape(_TAGS.sub("", str(call.param("text")))).replace("\n", " / ")
                markup = cast(
                    "dict[str, list[list[dict[str, str]]]]", call.param("reply_markup") or {}
                )
                buttons = [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
                shown = f" [{'] ['.join(buttons)}]" if buttons else ""
                return f'says "{text}"{shown}'
            case "editMessageText":
                text = html.unescape(_TAGS.sub("", str(call.param("text")))).replace("\n", " / ")
                return f'edits message {call.param("message_id")} to "{text}"'
            case "deleteMessage":
                return f"deletes message {call.param('message_id')}"
            case "answerCallbackQuery":
                return f'answers the button press: "{call.param("text")}"'
            case "banChatMember":
                return f"removes {user}"
            case "createChatInviteLink":
                return "creates an invite link for the private channel"
            case "approveChatJoinRequest" if call.status == 200:
                return f"approves {user}'s request to join"
            case "declineChatJoinRequest" if call.status == 200:
                return f"declines {user}'s request to join"
            case "editMessageText":
                text = html.unescape(_TAGS.sub("", str(call.param("text")))).replace("\n", " / ")
                return f'edits its message to {self.name(call.param("chat_id"))}: "{text}"'

            case _:
                return None

    async def expect(self, what: str, condition: Callable[[], bool]) -> None:
        """Wait for the promised outcome, then print the bot's calls and the verdict."""
        try:
            await self.sandbox.wait_until(condition, timeout=STEP_TIMEOUT)
            await self.sandbox.wait_delivered(timeout=STEP_TIMEOUT)
            await asyncio.sleep(0.2)  # let the bot finish its follow-up calls for the transcript
            ok = condition()
        except TimeoutError:
            ok = False
        self.bot_did()
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"    {'✓' if ok else '✗ NOT AS EXPECTED:'} {what}", file=self.out)


@attrs.define
class Stage:
    """The seeded world, the bot's clock, and what to check in it."""

    sandbox: Sandbox
    ids: SeededWorld
    clock: MovableClock | None
    """The bot's clock when it runs in this process; `None` when it is another process."""
    story: Narrator

    async def let_cooldown_pass(self) -> None:
        """A member waits out the Verify button's cooldown before pressing again."""
        if self.clock is not None:
            self.clock.advance(VERIFY_COOLDOWN)
        else:
            await asyncio.sleep(VERIFY_COOLDOWN.total_seconds())

    @property
    def driver(self) -> Driver:
        """Plays the people."""
        return self.sandbox.driver

    def muted(self, user: int) -> Callable[[], bool]:
        """The member may not write in the group."""
        return lambda: self.driver.is_restricted(self.ids.group_id, user)

    def free(self, user: int) -> Callable[[], bool]:
        """The member may write in the group."""
        return lambda: not self.driver.is_restricted(self.ids.group_id, user)

    def answered(self, query: str, text: str) -> Callable[[], bool]:
        """The bot answered the button press with `text`."""
        return lambda: text in str((self.driver.callback_answer(query) or {}).get("text", ""))

    def bot_said(self, text: str) -> Callable[[], bool]:
        """One of the bot's messages in the group contains `text`."""
        messages = lambda: self.driver.bot_messages(self.ids.group_id)  # noqa: E731
        return lambda: any(text in (m.text or "") for m in messages())

    def warning_for(self, user: int) -> Message | None:
        """The newest warning addressed to `user`."""
        return _warning_for(self.driver.bot_messages(self.ids.group_id), user)

    async def act_one(self) -> None:
        """Protecting a group; a newcomer joins the channels one by one."""
        ids, driver, story = self.ids, self.driver, self.story
        g, insiders, dave = ids.group_id, ids.private_channel_id, ids.dave_id
        story.person(f"Alice (the group's creator): /protect @nezuko_demo_news {insiders}")
        driver.say(g, ids.owner_id, f"/protect @nezuko_demo_news {insiders}")
        await story.expect("the group is protected with both channels", self.bot_said("is on"))

        # Rule 15: Dave's Telegram app speaks Spanish; the group's language is `auto`.
        driver.user(dave, "Dave", username="dave_d", language_code="es")
        story.person("Dave (his Telegram app is in Spanish) joins the group")
        driver.join(g, dave)
        await story.expect(
            "Dave is muted and warned, in Spanish, about both channels",
            lambda: (
                self.muted(dave)()
                and self.bot_said("únete primero a")()
                and self.bot_said("Nezuko Insiders")()
            ),
        )

        story.person("Dave joins the channel Nezuko News")
        driver.join(ids.news_channel_id, dave)
        await story.expect(
            "Dave is still muted; the new warning lists only Nezuko Insiders",
            lambda: self.muted(dave)() and self.bot_said("únete también a")(),
        )

        story.person("Dave joins the private channel Nezuko Insiders through the warning's button")
        link = _button_url(driver.bot_messages(g), "Unirse a Nezuko")
        driver.join(insiders, dave, invite_link=link)
        await story.expect("Dave is unmuted without pressing anything", self.free(dave))

    async def act_two(self) -> None:
        """A member who speaks, and the Verify button."""
        ids, driver, story = self.ids, self.driver, self.story
        g, bob, carol = ids.group_id, ids.bob_id, ids.carol_id
        story.person('Carol (in the group, in no channel) writes "hello everyone"')
        hello = driver.say(g, carol, "hello everyone")
        await story.expect(
            "Carol's message is deleted; she is muted and warned",
            lambda: (
                self.muted(carol)()
                and driver.message(g, hello.message_id) is None
                and self.warning_for(carol) is not None
            ),
        )
        warning = self.warning_for(carol)
        assert warning is not None  # checked just above
        data = f"verify:{carol}"

        story.person("Bob presses the Verify button of Carol's warning")
        query = driver.press(bob, warning, data)
        await story.expect(
            "nothing changes for anyone: the button is not Bob's",
            lambda: self.answered(query, "not for you")() and self.muted(carol)(),
        )

        story.person("Carol presses Verify before joining anything")
        query = driver.press(carol, warning, data)
        await story.expect(
            "Carol stays muted and is told what is missing",
            lambda: self.answered(query, "Join first")() and self.muted(carol)(),
        )

        story.person(
            "Carol joins both channels (the sandbox withholds these chat_member updates, as "
            "Telegram does where the bot is not an admin), waits a few seconds and presses Verify"
        )
        driver.place(ids.news_channel_id, Member(carol, Status.MEMBER))
        driver.place(ids.private_channel_id, Member(carol, Status.MEMBER))
        await self.let_cooldown_pass()
        query = driver.press(carol, warning, data)
        await story.expect(
            "Carol is unmuted and her warning is removed",
            lambda: self.free(carol)() and driver.message(g, warning.message_id) is None,
        )

        story.person("Later, Carol leaves Nezuko News")
        driver.leave(ids.news_channel_id, carol)
        await story.expect(
            "Carol is muted again and warned",
            lambda: self.muted(carol)() and self.warning_for(carol) is not None,
        )

    async def act_three(self) -> None:
        """An admin's own mute, and switching protection off."""
        ids, driver, story = self.ids, self.driver, self.story
        g, alice, bob, carol = ids.group_id, ids.owner_id, ids.bob_id, ids.carol_id
        warning = self.warning_for(carol)
        assert warning is not None  # act two ended with a fresh warning
        story.person("Alice takes over: she lifts Carol's mute by hand, then mutes Carol herself")
        driver.unmute(g, carol, by=alice)
        driver.mute(g, carol, by=alice)
        await story.expect("the bot leaves Alice's mute alone", self.muted(carol))

        story.person("Carol presses the Verify button of her last warning")
        await self.let_cooldown_pass()
        query = driver.press(carol, warning, f"verify:{carol}")
        await story.expect(
            "Carol stays muted: only Alice can lift Alice's mute",
            lambda: self.answered(query, "did not mute you")() and self.muted(carol)(),
        )

        story.person('Bob (in Nezuko News, not in Nezuko Insiders) writes "hi"')
        driver.say(g, bob, "hi")
        await story.expect("Bob is muted and warned", self.muted(bob))

        story.person("Bob writes to the bot in private (as he can long after his warning is gone)")
        driver.say(bob, bob, "why can't I write in the group?")
        await story.expect(
            "the bot tells Bob where he is muted, what to join, with a Verify for the group",
            lambda: any(
                "You are muted by me in" in (m.text or "") and "Nezuko Insiders" in (m.text or "")
                for m in driver.bot_messages(bob)
            ),
        )

        story.person("Alice: /muted")
        driver.say(g, alice, "/muted")
        await story.expect("the bot lists who it muted: Bob", self.bot_said("Muted by me: 1"))

        bobs_warning = self.warning_for(bob)
        assert bobs_warning is not None  # Bob was just warned
        story.person("Alice replies /exempt to the bot's warning about Bob")
        driver.say(g, alice, "/exempt", reply_to=bobs_warning)
        await story.expect(
            "the warned member (Bob, not the bot) is exempted and unmuted",
            lambda: self.bot_said("Exempted")() and self.free(bob)(),
        )

        story.person("Alice: /unprotect")
        driver.say(g, alice, "/unprotect")
        await story.expect(
            "protection is off: the bot's mutes are lifted; Alice's mute of Carol stays",
            lambda: self.free(bob)() and self.muted(carol)(),
        )

    async def act_four(self) -> None:
        """The join gate: a request to join, approved once the requester joined."""
        ids, driver, story = self.ids, self.driver, self.story
        g, alice, erin = ids.group_id, ids.owner_id, ERIN
        story.person("Alice: /protect (the channels are still linked)")
        driver.say(g, alice, "/protect")
        await story.expect("protection is on again", self.bot_said("Protection is on"))

        story.person("Alice: /settings join_gate on (the group approves new members)")
        driver.say(g, alice, "/settings join_gate on")
        await story.expect("the join gate is on", self.bot_said("Changed"))

        story.person("Erin (in no chat) asks to join the group")
        driver.user(erin, "Erin")
        driver.request_join(g, erin)
        await story.expect(
            "the bot tells Erin in private which channels to join; her request waits",
            lambda: (
                any("To get in, join" in (m.text or "") for m in driver.bot_messages(erin))
                and not driver.is_member(g, erin)
            ),
        )

        story.person("Erin joins Nezuko News and, through the message's button, Nezuko Insiders")
        driver.join(ids.news_channel_id, erin)
        link = _button_url(driver.bot_messages(erin), "Join Nezuko Insiders")
        driver.join(ids.private_channel_id, erin, invite_link=link)
        await story.expect(
            "Erin's request is approved, the private message says so, and nobody is warned",
            lambda: (
                driver.is_member(g, erin)
                and not driver.is_restricted(g, erin)
                and any("You are in" in (m.text or "") for m in driver.bot_messages(erin))
            ),
        )

    def said_since(self, mark: int, text: str) -> Callable[[], list[Call]]:
        """The bot's messages into the group since `mark` that contain `text`."""
        group = self.ids.group_id
        return lambda: [
            c
            for c in self.sandbox.calls.of("sendMessage", since=mark)
            if c.param("chat_id") == group and text in str(c.param("text"))
        ]

    async def act_five(self) -> None:
        """A short raid: many newcomers at once get one notice, not a warning each."""
        ids, driver, story, calls = self.ids, self.driver, self.story, self.sandbox.calls
        g, alice = ids.group_id, ids.owner_id
        story.person("Alice: /protect @nezuko_demo_news, then /settings raid_threshold 5")
        mark = calls.mark()
        driver.say(g, alice, "/protect @nezuko_demo_news")
        driver.say(g, alice, "/settings raid_threshold 5")
        await story.expect(
            "protection is on; raid mode starts at 5 joins a minute",
            lambda: (
                bool(self.said_since(mark, "is on")()) and bool(self.said_since(mark, "Changed")())
            ),
        )

        raiders = [driver.user(990_001 + n, f"Raider {n + 1}").id for n in range(8)]
        story.names.update({r: f"Raider {n + 1}" for n, r in enumerate(raiders)})
        story.person("Eight accounts in no channel join the group within a second: a raid")
        mark = calls.mark()
        for raider in raiders:
            driver.join(g, raider)
        notices = self.said_since(mark, "Raid mode is on.")
        await story.expect(
            "all are muted; raid mode starts: one notice for everyone, the admins told once",
            lambda: (
                all(self.muted(r)() for r in raiders)
                and len(notices()) == 1
                and bool(self.said_since(mark, "Admins:</b> raid mode is on")())
            ),
        )

        story.person("Alice: /raid off")
        driver.say(g, alice, "/raid off")
        await story.expect(
            "the raid is over: the same notice says so, the admins hear how many were muted",
            lambda: (
                any(
                    "The raid is over" in str(c.param("text"))
                    for c in calls.of("editMessageText", since=mark)
                )
                and bool(self.said_since(mark, "raid mode is over")())
                and len(notices()) == 1
            ),
        )


ERIN = 1005
"""A newcomer for the join gate (not among the seeded people)."""


async def tell_story(sandbox: Sandbox, clock: MovableClock | None, out: TextIO) -> Narrator:
    """Play the story against a running bot; return the narrator with its tally.

    `clock` is the bot's clock when it runs in this process (waits are then skipped).
    """
    ids = sandbox.seeded
    assert ids is not None  # the sandbox starts seeded
    names = {
        ids.owner_id: "Alice",
        ids.bob_id: "Bob",
        ids.carol_id: "Carol",
        ids.dave_id: "Dave",
        ERIN: "Erin",
    }
    story = Narrator(sandbox, out, names)
    print("Nezuko demo: a group, two channels (one public, one private), five people.", file=out)
    print("Telegram is played by the built-in Bot API sandbox; the bot is the real one.", file=out)
    stage = Stage(sandbox, ids, clock, story)
    await stage.act_one()
    await stage.act_two()
    await stage.act_three()
    await stage.act_four()
    await stage.act_five()
    return story


def _buttons(message: Message) -> list[dict[str, str]]:
    rows = cast(
        "list[list[dict[str, str]]]", (message.reply_markup or {}).get("inline_keyboard", [])
    )
    return [button for row in rows for button in row]


def _warning_for(messages: list[Message], user: int) -> Message | None:
    """The newest warning whose Verify button belongs to `user`."""
    for message in reversed(messages):
        if any(b.get("callback_data") == f"verify:{user}" for b in _buttons(message)):
            return message
    return None


def _button_url(messages: list[Message], text: str) -> str | None:
    """The link of the newest button whose text starts with `text`."""
    for message in reversed(messages):
        for button in reversed(_buttons(message)):
            if button.get("text", "").startswith(text) and "url" in button:
                return button["url"]
    return None


async def run_demo(out: TextIO, data_dir: Path) -> bool:
    """Start the sandbox, the bot and its PostgreSQL under `data_dir`; tell the story.

    Returns whether every step behaved as expected.
    """
    async with Sandbox.start() as sandbox:
        settings = Settings(bot_token=sandbox.token, api_url=sandbox.root_url, data_dir=data_dir)
        clock = MovableClock()
        async with running_bot(settings, clock=clock):
            await sandbox.wait_for_poller()
            story = await tell_story(sandbox, clock, out)
    total = story.passed + story.failed
    verdict = "the bot behaved as promised" if story.failed == 0 else "SOMETHING IS WRONG"
    print(
        f"\ndemo: {story.passed} passed, {story.failed} failed of {total} steps: {verdict}",
        file=out,
    )
    return story.failed == 0
