"""The control endpoints: playing people from outside the process, over real HTTP (issue 14)."""

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from telegram_sandbox import Sandbox, SeededWorld


async def test_world_lists_the_chats_and_people(sandbox: Sandbox, ids: SeededWorld) -> None:
    async with httpx.AsyncClient(base_url=sandbox.root_url) as http:
        answer = (await http.get("/control/world")).json()
    assert answer["ok"] is True
    chats = {chat["id"]: chat for chat in answer["result"]["chats"]}
    assert chats[ids.group_id]["type"] == "supergroup"
    assert chats[ids.news_channel_id]["username"] == "nezuko_demo_news"
    users = {user["id"]: user for user in answer["result"]["users"]}
    assert users[ids.carol_id]["first_name"] == "Carol"
    assert users[ids.bot_id]["is_bot"] is True


async def test_a_person_writes_and_the_bot_gets_the_message(
    sandbox: Sandbox, ids: SeededWorld, bot: Bot
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.root_url) as http:
        said = await http.post(
            "/control/say", json={"chat_id": ids.group_id, "user_id": ids.carol_id, "text": "hi"}
        )
    assert said.status_code == 200
    message_id = said.json()["result"]["message_id"]
    [update] = await bot.get_updates(allowed_updates=["message"])
    assert update.message is not None
    assert (update.message.message_id, update.message.text) == (message_id, "hi")
    assert update.message.from_user is not None
    assert update.message.from_user.id == ids.carol_id


async def test_a_new_person_joins_a_channel_and_leaves_it(
    sandbox: Sandbox, ids: SeededWorld
) -> None:
    async with httpx.AsyncClient(base_url=sandbox.root_url) as http:
        created = await http.post("/control/users", json={"user_id": 5005, "first_name": "Erin"})
        joined = await http.post(
            "/control/join", json={"chat_id": ids.news_channel_id, "user_id": 5005}
        )
        again = await http.post(
            "/control/join", json={"chat_id": ids.news_channel_id, "user_id": 5005}
        )
        assert sandbox.driver.is_member(ids.news_channel_id, 5005)
        left = await http.post(
            "/control/leave", json={"chat_id": ids.news_channel_id, "user_id": 5005}
        )
    assert created.json()["result"] == {"id": 5005, "first_name": "Erin"}
    assert joined.json() == {"ok": True, "result": {"status": "member"}}
    assert again.status_code == 400
    assert again.json() == {
        "ok": False,
        "description": f"user 5005 is already in chat {ids.news_channel_id}",
    }
    assert left.json()["result"] == {"status": "left"}
    assert not sandbox.driver.is_member(ids.news_channel_id, 5005)


async def test_a_person_presses_a_button_by_its_label_and_the_chat_shows_as_members_see_it(
    sandbox: Sandbox, ids: SeededWorld, bot: Bot
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Verify", callback_data="v:1")]])
    sent = await bot.send_message(ids.group_id, "Carol, join first", reply_markup=keyboard)
    deleted = await bot.send_message(ids.group_id, "gone soon")
    await bot.delete_message(ids.group_id, deleted.message_id)
    async with httpx.AsyncClient(base_url=sandbox.root_url) as http:
        pressed = await http.post(
            "/control/press",
            json={
                "chat_id": ids.group_id,
                "user_id": ids.carol_id,
                "message_id": sent.message_id,
                "button": "Verify",
            },
        )
        wrong = await http.post(
            "/control/press",
            json={
                "chat_id": ids.group_id,
                "user_id": ids.carol_id,
                "message_id": sent.message_id,
                "button": "Nope",
            },
        )
        shown = (await http.get(f"/control/chats/{ids.group_id}/messages")).json()["result"]
        text = (await http.get(f"/control/chats/{ids.group_id}/messages?format=text")).text
        page = await http.get(f"/control?chat_id={ids.group_id}")
    assert pressed.status_code == 200
    [update] = await bot.get_updates(allowed_updates=["callback_query"])
    assert update.callback_query is not None
    assert update.callback_query.data == "v:1"
    assert update.callback_query.from_user.id == ids.carol_id
    assert wrong.status_code == 400
    assert "no button 'Nope'" in wrong.json()["description"]
    [warning] = [m for m in shown if m["message_id"] == sent.message_id]
    assert warning["buttons"] == [{"text": "Verify", "callback_data": "v:1"}]
    assert all(m["message_id"] != deleted.message_id for m in shown)  # deleted: not shown
    assert f"#{sent.message_id} Nezuko: Carol, join first\n    [Verify]" in text
    assert "gone soon" not in text
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Carol, join first" in page.text


async def test_bad_input_is_a_400_with_a_description(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=sandbox.root_url) as http:
        not_json = await http.post("/control/say", content=b"hello")
        no_text = await http.post("/control/say", json={"chat_id": 1, "user_id": 2})
        no_chat = await http.get("/control/chats/42/messages")
    assert (not_json.status_code, not_json.json()["description"]) == (
        400,
        "the body must be a JSON object",
    )
    assert no_text.json() == {"ok": False, "description": "text must be a non-empty string"}
    assert no_chat.json() == {"ok": False, "description": "no chat 42"}
