"""The scenario driver's rules, queries and views (no client needed for these)."""

import pytest

from telegram_sandbox import (
    AdminRights,
    DriverError,
    Member,
    Permissions,
    Sandbox,
    SeededWorld,
    Status,
)


def test_people_cannot_do_what_telegram_would_not_let_them(
    sandbox: Sandbox, ids: SeededWorld
) -> None:
    driver = sandbox.driver
    with pytest.raises(DriverError, match="not in chat"):
        driver.say(ids.group_id, ids.dave_id, "hi")
    with pytest.raises(DriverError, match="already in chat"):
        driver.join(ids.group_id, ids.bob_id)
    with pytest.raises(DriverError, match="not an admin"):
        driver.add(ids.group_id, ids.dave_id, by=ids.bob_id)
    with pytest.raises(DriverError, match="no button"):
        message = driver.say(ids.group_id, ids.bob_id, "no keyboard here")
        driver.press(ids.carol_id, message, "check:1")
    with pytest.raises(DriverError, match="not a forum"):
        driver.create_topic(ids.group_id, "Topic", by=ids.owner_id)
    driver.place(
        ids.group_id,
        Member(ids.carol_id, Status.RESTRICTED, permissions=Permissions.none(), is_member=True),
    )
    with pytest.raises(DriverError, match="may not send"):
        driver.say(ids.group_id, ids.carol_id, "muted")
    driver.place(ids.group_id, Member(ids.dave_id, Status.KICKED))
    with pytest.raises(DriverError, match="banned"):
        driver.join(ids.group_id, ids.dave_id)


def test_leaving_keeps_a_restriction_and_rejoining_restores_it(
    sandbox: Sandbox, ids: SeededWorld
) -> None:
    driver = sandbox.driver
    driver.place(
        ids.group_id,
        Member(ids.carol_id, Status.RESTRICTED, permissions=Permissions.none(), is_member=True),
    )
    driver.leave(ids.group_id, ids.carol_id)
    left = driver.member(ids.group_id, ids.carol_id)
    assert (left.status, left.is_member) == (Status.RESTRICTED, False)
    assert not driver.is_member(ids.group_id, ids.carol_id)
    driver.join(ids.group_id, ids.carol_id)
    back = driver.member(ids.group_id, ids.carol_id)
    assert (back.status, back.is_member) == (Status.RESTRICTED, True)


def test_join_request_links_and_join_by_request_chats(sandbox: Sandbox, ids: SeededWorld) -> None:
    driver = sandbox.driver
    world = sandbox.world
    link = world.new_invite_link(ids.private_channel_id, ids.owner_id, creates_join_request=True)
    with pytest.raises(DriverError, match="join request"):
        driver.join(ids.private_channel_id, ids.dave_id, invite_link=link.link)
    plain = world.new_invite_link(ids.private_channel_id, ids.owner_id)
    driver.join(ids.private_channel_id, ids.dave_id, invite_link=plain.link)
    assert driver.is_member(ids.private_channel_id, ids.dave_id)
    limited = world.new_invite_link(ids.private_channel_id, ids.owner_id, member_limit=1)
    driver.join(ids.private_channel_id, ids.carol_id, invite_link=limited.link)
    driver.leave(ids.private_channel_id, ids.carol_id)
    with pytest.raises(DriverError, match="member limit"):
        driver.join(ids.private_channel_id, ids.carol_id, invite_link=limited.link)
    link.is_revoked = True
    with pytest.raises(DriverError, match="revoked"):
        driver.request_join(ids.private_channel_id, ids.carol_id, invite_link=link.link)


def test_render_shows_what_the_group_shows(sandbox: Sandbox, ids: SeededWorld) -> None:
    driver = sandbox.driver
    driver.join(ids.group_id, ids.dave_id)
    driver.say(ids.group_id, ids.dave_id, "hello")
    driver.anonymous_admin_says(ids.group_id, "welcome")
    driver.post_in_channel(ids.news_channel_id, "news")
    assert driver.render(ids.group_id).splitlines() == [
        "== Nezuko Demo Group (supergroup) ==",
        "#1 Dave: (joined: Dave)",
        "#2 Dave: hello",
        "#3 Nezuko Demo Group: welcome",
        "#4 Nezuko News: news",
    ]


def test_promote_and_demote_users_and_the_bot(sandbox: Sandbox, ids: SeededWorld) -> None:
    driver = sandbox.driver
    driver.promote(
        ids.group_id,
        ids.carol_id,
        AdminRights(can_delete_messages=True),
        by=ids.owner_id,
        title="Mod",
    )
    carol = driver.member(ids.group_id, ids.carol_id)
    assert carol.status is Status.ADMINISTRATOR
    assert carol.custom_title == "Mod"
    assert carol.right("can_delete_messages")
    assert not carol.right("can_restrict_members")
    driver.demote_bot(ids.news_channel_id, by=ids.owner_id)
    assert driver.status(ids.news_channel_id, ids.bot_id) is Status.LEFT  # channels: removed
    with pytest.raises(DriverError, match="administrators"):
        driver.add_bot(ids.news_channel_id, by=ids.owner_id)
    driver.add_bot(ids.news_channel_id, by=ids.owner_id, rights=AdminRights.full())
    assert driver.member(ids.news_channel_id, ids.bot_id).right("can_promote_members")


async def test_an_admin_mutes_and_unmutes_by_hand_with_chat_member_updates() -> None:
    async with Sandbox.start() as sandbox:
        ids = sandbox.seeded
        assert ids is not None
        driver = sandbox.driver
        driver.mute(ids.group_id, ids.carol_id, by=ids.owner_id)
        assert driver.is_restricted(ids.group_id, ids.carol_id)
        assert not driver.can_send(ids.group_id, ids.carol_id)
        driver.unmute(ids.group_id, ids.carol_id, by=ids.owner_id)
        assert not driver.is_restricted(ids.group_id, ids.carol_id)
        assert driver.is_member(ids.group_id, ids.carol_id)
        with pytest.raises(DriverError):
            driver.unmute(ids.group_id, ids.carol_id, by=ids.owner_id)
        with pytest.raises(DriverError):
            driver.mute(ids.group_id, ids.owner_id, by=ids.owner_id)
        with pytest.raises(DriverError):
            driver.mute(ids.group_id, ids.carol_id, by=ids.bob_id)  # not an admin
