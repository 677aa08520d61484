"""The HTTP surface: routing, tokens, body encodings and the Bot API envelope."""

import asyncio
import io
import re
from contextlib import redirect_stdout

import aiohttp
import httpx
import pytest
from telegram import Bot
from telegram.error import EndPointNotFound, InvalidToken

from bootstrap import sandbox_command
from nezuko.cli import build_parser
from telegram_sandbox import RetryAfterFault, Sandbox, SeededWorld


async def test_wrong_token_is_unauthorized_and_unknown_method_not_found(sandbox: Sandbox) -> None:
    other = "7000000001:AAHsomebodyElsesTokenXXXXXXXXXXXXXXX"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sandbox.base_url}{other}/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{sandbox.base_url}not-a-token/getMe") as response:
            assert response.status == 404
        async with http.post(f"{sandbox.api_url}fooBar") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
    with pytest.raises(InvalidToken):
        async with Bot(other, base_url=sandbox.base_url) as wrong:
            await wrong.get_me()
    async with Bot(sandbox.token, base_url=sandbox.base_url) as bot:
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("fooBar")
    assert sandbox.calls.count("fooBar") == 2


async def test_json_query_form_and_multipart_bodies(sandbox: Sandbox, ids: SeededWorld) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{sandbox.api_url}sendMessage", json={"chat_id": ids.group_id, "text": "123"}
        ) as response:
            body = await response.json()
        assert body["ok"] is True
        assert body["result"]["text"] == "123"  # a string param stays a string
        async with http.get(f"{sandbox.api_url}getme") as response:  # names are case-insensitive
            assert (await response.json())["result"]["is_bot"] is True
        async with http.get(
            f"{sandbox.api_url}getChatMember",
            params={"chat_id": str(ids.group_id), "user_id": str(ids.bob_id)},
        ) as response:
            assert (await response.json())["result"]["status"] == "member"
        form = aiohttp.FormData()
        form.add_field("chat_id", str(ids.group_id))
        form.add_field("text", "from multipart")
        form.add_field("document", b"data", filename="a.txt")
        async with http.post(f"{sandbox.api_url}sendMessage", data=form) as response:
            assert (await response.json())["result"]["text"] == "from multipart"
        async with http.post(
            f"{sandbox.api_url}sendMessage",
            data=b"{not json",
            headers={"Content-Type": "application/json"},
        ) as response:
            assert response.status == 400
    call = sandbox.calls.last("sendMessage")
    assert call is not None
    assert call.error_code == 400
    multipart = sandbox.calls.find("sendMessage", lambda c: "document" in c.params)
    assert multipart[0].param("document") == "<file a.txt>"


async def test_429_envelope_carries_retry_after(sandbox: Sandbox) -> None:
    sandbox.faults.inject("getMe", RetryAfterFault(retry_after=3))
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{sandbox.api_url}getMe")
    assert response.status_code == 429
    assert response.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }


async def test_transcript_lists_calls_and_outcomes(
    bot: Bot, sandbox: Sandbox, ids: SeededWorld
) -> None:
    await bot.send_message(ids.group_id, "hello")
    with pytest.raises(Exception, match=r"(?i)chat not found"):
        await bot.get_chat(-42)
    lines = sandbox.calls.transcript().splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} #1 +getMe -> ok", lines[0])
    assert "sendMessage chat_id=-1001000000001 text='hello' -> ok" in lines[1]
    assert lines[2].endswith("getChat chat_id=-42 -> 400 Bad Request: chat not found")
    assert len(sandbox.calls) == 3
    assert sandbox.calls.count(ok=False) == 1


async def test_root_page_says_it_is_not_telegram(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        info = (await http.get(sandbox.root_url + "/")).json()
    assert "not Telegram" in info["sandbox"]
    assert info["token"] == sandbox.token
    assert "restrictchatmember" in info["methods"]


def test_cli_registers_the_sandbox_command() -> None:
    args = build_parser().parse_args(["sandbox", "--port", "0", "--no-limits"])
    assert args.handler is sandbox_command.run
    assert (args.port, args.no_limits) == (0, True)


async def test_cli_serve_prints_url_and_token_and_serves() -> None:
    ready = asyncio.Event()
    out = io.StringIO()
    with redirect_stdout(out):
        task = asyncio.create_task(sandbox_command.serve(0, limits=False, ready=ready))
        await asyncio.wait_for(ready.wait(), 5)
    try:
        text = out.getvalue()
        url = re.search(r"at (http://127\.0\.0\.1:\d+)", text)
        token = re.search(r"token: +(\S+)", text)
        assert url is not None
        assert token is not None
        async with Bot(token.group(1), base_url=url.group(1) + "/bot") as bot:
            group = await bot.get_chat("@nezuko_demo_group")
            assert group.title == "Nezuko Demo Group"
            admin = await bot.get_chat_member("@nezuko_demo_news", bot.id)
            assert admin.status == "administrator"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
