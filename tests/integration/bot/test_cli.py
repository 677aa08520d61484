"""The `nezuko` console script's manners, run as a real process (issue 14, points 6 and 8).

`nezuko` alone prints the help and exits 2; `--version` names the installed version; every
sub-command's `--help` describes it and lists the environment variables it reads; every
configuration problem is reported at once, the missing token with the others; and `nezuko run`
takes a plain `http://` webhook from a self-hosted Bot API server (here the sandbox).
"""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from adapters.postgres.embedded import free_port
from bootstrap.settings import ENVIRONMENT
from bootstrap.version import installed_version
from telegram_sandbox import Sandbox

NEZUKO = Path(sys.executable).with_name("nezuko")


def nezuko(
    *args: str, env: dict[str, str] | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run the console script with only `env` (and PATH) in its environment."""
    environ = {"PATH": os.environ.get("PATH", ""), **(env or {})}
    return subprocess.run(
        [str(NEZUKO), *args],
        env=environ,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_nezuko_without_a_command_prints_the_help_and_exits_2(tmp_path: Path) -> None:
    done = nezuko(cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: nezuko")
    for command in ("run", "migrate", "demo", "sandbox"):
        assert f"    {command}" in done.stderr


def test_nezuko_version_names_the_installed_version(tmp_path: Path) -> None:
    done = nezuko("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"nezuko {installed_version()}"
    assert installed_version() != "0+unknown"


READS = {
    "run": {
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_URL",
        "DATABASE_URL",
        "NEZUKO_DATA_DIR",
        "WEBHOOK_URL",
        "WEBHOOK_SECRET",
        "HTTP_HOST",
        "HTTP_PORT",
        "SENTRY_DSN",
        "LOG_FORMAT",
        "LOG_LEVEL",
        "NEZUKO_STARTUP_TIMEOUT",
    },
    "migrate": {"DATABASE_ADMIN_URL", "DATABASE_URL", "NEZUKO_RUNTIME_ROLE", "NEZUKO_DATA_DIR"},
    "demo": set[str](),
    "sandbox": set[str](),
}


@pytest.mark.parametrize("command", sorted(READS))
def test_every_command_help_describes_it_and_lists_the_variables_it_reads(
    command: str, tmp_path: Path
) -> None:
    done = nezuko(command, "--help", cwd=tmp_path)
    assert done.returncode == 0
    usage, description, *_ = done.stdout.split("\n\n")
    assert usage.startswith(f"usage: nezuko {command}")
    assert len(description.split()) >= 10, done.stdout  # a sentence, not the usage again
    environment = done.stdout.split("\nenvironment", 1)[1]
    listed = {name for name in ENVIRONMENT if f"\n  {name} " in environment}
    assert listed >= READS[command], done.stdout
    if not READS[command]:
        assert "reads no environment variable" in environment


def test_every_configuration_problem_is_reported_at_once_the_missing_token_too(
    tmp_path: Path,
) -> None:
    env = {"LOG_LEVEL": "loud", "HTTP_PORT": "eighty", "WEBHOOK_URL": "https://x.example.org/h"}
    done = nezuko("run", env=env, cwd=tmp_path)
    assert done.returncode == 2
    problems = [line for line in done.stderr.splitlines() if line.startswith("- ")]
    assert [p.split()[1] for p in problems] == [
        "TELEGRAM_BOT_TOKEN",
        "WEBHOOK_URL",
        "HTTP_PORT",
        "LOG_LEVEL",
    ], done.stderr
    assert "Traceback" not in done.stderr


def test_an_http_webhook_is_refused_with_telegrams_own_servers(tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "123456:ABCdef",
        "WEBHOOK_URL": "http://bot.example.org/telegram",
        "WEBHOOK_SECRET": "s3cret",
    }
    done = nezuko("run", env=env, cwd=tmp_path)
    assert done.returncode == 2
    assert "WEBHOOK_URL must be an https:// URL" in done.stderr


async def test_an_http_webhook_works_with_a_self_hosted_bot_api_server(tmp_path: Path) -> None:
    async with Sandbox.start() as sandbox:
        port = free_port()
        url = f"http://127.0.0.1:{port}/telegram"
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "TELEGRAM_BOT_TOKEN": sandbox.token,
            "TELEGRAM_API_URL": sandbox.root_url,
            "WEBHOOK_URL": url,
            "WEBHOOK_SECRET": "local-secret",
            "HTTP_PORT": str(port),
        }
        log = tmp_path / "nezuko.log"
        with log.open("w") as sink:
            process = await asyncio.create_subprocess_exec(
                str(NEZUKO), "run", "--memory", env=environ, cwd=tmp_path, stdout=sink, stderr=sink
            )
            try:
                await sandbox.wait_until(lambda: sandbox.world.webhook is not None, timeout=30)
                webhook = sandbox.world.webhook
                assert webhook is not None
                assert webhook.url == url
                seeded = sandbox.seeded
                assert seeded is not None
                sandbox.driver.say(seeded.group_id, seeded.owner_id, "/protect @nezuko_demo_news")
                reply = await sandbox.calls.wait_for("sendMessage", timeout=10)
                assert "Protection is on" in str(reply.param("text")), log.read_text()
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                    assert (await http.get("/ready")).status_code == 200
            finally:
                process.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(process.wait(), timeout=30)
        assert code == 0, log.read_text()


async def play(*args: str, url: str) -> tuple[int, str, str]:
    """`nezuko sandbox ACTION … --url URL` as a process (without blocking the sandbox's loop)."""
    process = await asyncio.create_subprocess_exec(
        str(NEZUKO),
        "sandbox",
        *args,
        "--url",
        url,
        env={"PATH": os.environ.get("PATH", "")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_person_plays_with_nezuko_run_through_nezuko_sandbox_actions(
    tmp_path: Path,
) -> None:
    async with Sandbox.start() as sandbox:
        seeded = sandbox.seeded
        assert seeded is not None
        url, group = sandbox.root_url, str(seeded.group_id)
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "TELEGRAM_BOT_TOKEN": sandbox.token,
            "TELEGRAM_API_URL": sandbox.root_url,
            "HTTP_PORT": str(free_port()),
        }
        log = tmp_path / "nezuko.log"
        with log.open("w") as sink:
            process = await asyncio.create_subprocess_exec(
                str(NEZUKO), "run", "--memory", env=environ, cwd=tmp_path, stdout=sink, stderr=sink
            )
            try:
                await sandbox.wait_for_poller(timeout=30)
                owner, carol = str(seeded.owner_id), str(seeded.carol_id)
                code, said, _ = await play(
                    "say", group, owner, "/protect @nezuko_demo_news", url=url
                )
                assert code == 0, said
                await sandbox.calls.wait_for("sendMessage", timeout=10)
                assert (await play("say", group, carol, "hello", url=url))[0] == 0
                await sandbox.wait_until(
                    lambda: sandbox.driver.is_restricted(seeded.group_id, seeded.carol_id),
                    timeout=10,
                )
                await sandbox.wait_until(
                    lambda: any(
                        "Verify" in str(m.buttons())
                        for m in sandbox.driver.bot_messages(seeded.group_id)
                    ),
                    timeout=10,
                )
                code, shown, _ = await play("show", group, url=url)
                assert code == 0
                assert "hello" not in shown  # the muted member's message was deleted
                [warning] = [
                    line for line in shown.splitlines() if line.startswith("#") and "Carol" in line
                ]
                warning_id = warning[1:].split()[0]
                code, _, _ = await play("press", group, carol, warning_id, "Verify", url=url)
                assert code == 0
                await sandbox.calls.wait_for("answerCallbackQuery", timeout=10)
                assert sandbox.driver.is_restricted(seeded.group_id, seeded.carol_id)  # not yet
                code, _, error = await play("press", group, carol, warning_id, "Nope", url=url)
                assert code == 1
                assert "no button 'Nope'" in error
                news = str(seeded.news_channel_id)
                assert (await play("join", news, carol, url=url))[0] == 0
                await sandbox.wait_until(
                    lambda: not sandbox.driver.is_restricted(seeded.group_id, seeded.carol_id),
                    timeout=10,
                )  # rule 6: joining the channel lifts the mute, no button needed
            finally:
                process.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(process.wait(), timeout=30)
        assert code == 0, log.read_text()
    code, _, error = await play("world", url=url)  # the sandbox is gone
    assert code == 1
    assert "no sandbox answers" in error
