"""The small seeded world `nezuko sandbox` serves and in-process sandboxes start with."""

import attrs

from telegram_sandbox.driver import Driver
from telegram_sandbox.state import AdminRights, Member, Status


@attrs.frozen
class SeededWorld:
    """Ids of the seeded chats and people.

    Attributes:
        bot_id: The bot.
        group_id: "Nezuko Demo Group" (@nezuko_demo_group), the bot an admin with moderator
            rights; it is the discussion group of the news channel.
        news_channel_id: "Nezuko News" (@nezuko_demo_news), public; the bot an admin.
        private_channel_id: "Nezuko Insiders", private (no username); the bot an admin that
            may invite users (so it sees join requests).
        owner_id: Alice, creator of all three chats.
        bob_id: Bob, in the group and the news channel.
        carol_id: Carol, in the group only.
        dave_id: Dave, in no chat yet.
    """

    bot_id: int
    group_id: int = -1001000000001
    news_channel_id: int = -1001000000002
    private_channel_id: int = -1001000000003
    owner_id: int = 1001
    bob_id: int = 1002
    carol_id: int = 1003
    dave_id: int = 1004


def seed_world(driver: Driver) -> SeededWorld:
    """Build the seeded world silently (no updates are queued for it)."""
    ids = SeededWorld(bot_id=driver.bot.id)
    driver.user(ids.owner_id, "Alice", last_name="Owner", username="alice_owner")
    driver.user(ids.bob_id, "Bob", username="bob_b")
    driver.user(ids.carol_id, "Carol")
    driver.user(ids.dave_id, "Dave", username="dave_d", language_code="de")
    driver.supergroup(
        ids.group_id, "Nezuko Demo Group", owner_id=ids.owner_id, username="nezuko_demo_group"
    )
    driver.channel(
        ids.news_channel_id, "Nezuko News", owner_id=ids.owner_id, username="nezuko_demo_news"
    )
    driver.channel(ids.private_channel_id, "Nezuko Insiders", owner_id=ids.owner_id)
    driver.link_discussion(ids.news_channel_id, ids.group_id)
    bot = driver.bot.id
    driver.place(ids.group_id, Member(bot, Status.ADMINISTRATOR, rights=AdminRights.moderator()))
    channel_rights = AdminRights(can_invite_users=True, can_post_messages=True)
    driver.place(ids.news_channel_id, Member(bot, Status.ADMINISTRATOR, rights=channel_rights))
    driver.place(ids.private_channel_id, Member(bot, Status.ADMINISTRATOR, rights=channel_rights))
    driver.place(ids.group_id, Member(ids.bob_id, Status.MEMBER))
    driver.place(ids.group_id, Member(ids.carol_id, Status.MEMBER))
    driver.place(ids.news_channel_id, Member(ids.bob_id, Status.MEMBER))
    return ids
