"""Settings: the names of DESIGN §7, a clear error for each bad value, secrets kept hidden."""

import logging
from pathlib import Path

import pytest

from adapters.http.app import PROBE_PATHS
from bootstrap.settings import DEFAULT_API_URL, RESERVED_PATHS, LogFormat, Settings, SettingsError

TOKEN = "123456:ABC-def_ghi"


def settings(**env: str) -> Settings:
    return Settings.from_env(env, dotenv=None)


def test_defaults() -> None:
    got = settings()
    assert got.api_url == DEFAULT_API_URL
    assert got.database_url is None
    assert got.data_dir == Path(".nezuko")
    assert (got.http_host, got.http_port) == ("127.0.0.1", 8080)
    assert not got.webhook_mode
    assert got.log_format is LogFormat.CONSOLE
    assert got.log_level == logging.INFO


def test_every_variable_is_read() -> None:
    got = settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL="http://127.0.0.1:8081/",
        DATABASE_URL="postgresql+asyncpg://app:pw@db/nezuko",
        DATABASE_ADMIN_URL="postgresql://owner:opw@db/nezuko",
        NEZUKO_DATA_DIR="/var/lib/nezuko",
        WEBHOOK_URL="https://bot.example.org/hook",
        WEBHOOK_SECRET="s3cret_-",
        HTTP_HOST="0.0.0.0",
        HTTP_PORT="9000",
        REDIS_URL="redis://:rpw@cache:6379/0",
        SENTRY_DSN="https://key@sentry.example.org/1",
        LOG_FORMAT="json",
        LOG_LEVEL="debug",
    )
    assert got.require_token() == TOKEN
    assert got.api_url == "http://127.0.0.1:8081"
    assert got.webhook_mode
    assert got.data_dir == Path("/var/lib/nezuko")
    assert got.http_port == 9000
    assert got.log_format is LogFormat.JSON
    assert got.log_level == logging.DEBUG
    assert set(got.secrets) == {
        TOKEN,
        "s3cret_-",
        "https://key@sentry.example.org/1",
        "pw",
        "opw",
        "rpw",
    }


def test_secrets_never_appear_in_repr() -> None:
    got = settings(TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_URL="postgresql://app:pw@db/x")
    assert TOKEN not in repr(got)
    assert "pw@" not in repr(got)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        settings(
            TELEGRAM_BOT_TOKEN="not a token",
            TELEGRAM_API_URL="ftp://x",
            DATABASE_URL="mysql://x",
            WEBHOOK_URL="http://insecure.example.org",
            HTTP_PORT="eighty",
            LOG_FORMAT="xml",
            LOG_LEVEL="loud",
        )
    message = str(raised.value)
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_URL",
        "DATABASE_URL",
        "WEBHOOK_URL and WEBHOOK_SECRET",
        "HTTP_PORT",
        "LOG_FORMAT",
        "LOG_LEVEL",
    ):
        assert name in message
    assert "not a token" not in message  # a bad secret is not echoed either


def test_webhook_secret_characters() -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        settings(WEBHOOK_URL="https://x.example.org/h", WEBHOOK_SECRET="has spaces")


def test_the_token_is_required_to_run() -> None:
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        settings().require_token()


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nHTTP_PORT=9100\nLOG_LEVEL=WARNING\n")
    got = Settings.from_env({"HTTP_PORT": "9200"}, dotenv=dotenv)
    assert got.bot_token == TOKEN
    assert got.http_port == 9200
    assert got.log_level == logging.WARNING


def test_dotenv_alone_configures_the_database(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "DATABASE_URL=postgresql://app:pw@db:5433/nezuko\n"
        "DATABASE_ADMIN_URL=postgresql://owner:opw@db:5433/nezuko\n"
        "NEZUKO_DATA_DIR=/srv/nezuko\n"
        "NEZUKO_RUNTIME_ROLE=nezuko_app\n"
    )
    got = Settings.from_env({}, dotenv=dotenv)
    assert got.database_url == "postgresql://app:pw@db:5433/nezuko"
    assert got.database_admin_url == "postgresql://owner:opw@db:5433/nezuko"
    assert got.data_dir == Path("/srv/nezuko")
    assert got.runtime_role == "nezuko_app"
    assert {"pw", "opw"} <= set(got.secrets)  # redacted from logs like the environment's


def test_the_environment_overrides_dotenv_for_the_database(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "DATABASE_URL=postgresql://app:pw@dotenv/nezuko\n"
        "DATABASE_ADMIN_URL=postgresql://owner:opw@dotenv/nezuko\n"
        "NEZUKO_DATA_DIR=/from/dotenv\n"
        "NEZUKO_RUNTIME_ROLE=from_dotenv\n"
    )
    environ = {
        "DATABASE_URL": "postgresql://app:pw@env/nezuko",
        "DATABASE_ADMIN_URL": "postgresql://owner:opw@env/nezuko",
        "NEZUKO_DATA_DIR": "/from/env",
        "NEZUKO_RUNTIME_ROLE": "from_env",
    }
    got = Settings.from_env(environ, dotenv=dotenv)
    assert got.database_url == "postgresql://app:pw@env/nezuko"
    assert got.database_admin_url == "postgresql://owner:opw@env/nezuko"
    assert got.data_dir == Path("/from/env")
    assert got.runtime_role == "from_env"


def test_the_working_directorys_dotenv_is_read_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("NEZUKO_DATA_DIR=/srv/nezuko\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEZUKO_DATA_DIR", raising=False)
    assert Settings.from_env().data_dir == Path("/srv/nezuko")


def test_the_startup_timeout_defaults_to_a_minute_and_takes_seconds() -> None:
    assert settings().startup_timeout == 60.0
    assert settings(NEZUKO_STARTUP_TIMEOUT="2.5").startup_timeout == 2.5
    assert settings(NEZUKO_STARTUP_TIMEOUT="0").startup_timeout == 0.0


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "90000"])
def test_a_bad_startup_timeout_is_a_configuration_error(value: str) -> None:
    with pytest.raises(SettingsError, match="NEZUKO_STARTUP_TIMEOUT must be a number of seconds"):
        settings(NEZUKO_STARTUP_TIMEOUT=value)


def test_a_missing_token_is_one_of_the_problems_when_required() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"LOG_LEVEL": "loud"}, dotenv=None, require_token=True)
    assert "TELEGRAM_BOT_TOKEN is required" in str(raised.value)
    assert "LOG_LEVEL" in str(raised.value)


def test_an_http_webhook_is_accepted_with_a_self_hosted_bot_api_server() -> None:
    got = settings(
        TELEGRAM_API_URL="http://127.0.0.1:8081",
        WEBHOOK_URL="http://127.0.0.1:8443/telegram",
        WEBHOOK_SECRET="s",
    )
    assert got.webhook_url == "http://127.0.0.1:8443/telegram"


def test_an_http_webhook_is_refused_with_telegrams_own_servers() -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_URL must be an https://"):
        settings(WEBHOOK_URL="http://bot.example.org/h", WEBHOOK_SECRET="s")
    with pytest.raises(SettingsError, match="WEBHOOK_URL must be an https://"):
        settings(
            TELEGRAM_API_URL="https://API.telegram.org/",
            WEBHOOK_URL="http://bot.example.org/h",
            WEBHOOK_SECRET="s",
        )


def test_a_webhook_path_may_not_be_a_probes() -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_URL's path"):
        settings(WEBHOOK_URL="https://bot.example.org/health", WEBHOOK_SECRET="s")
    assert RESERVED_PATHS == PROBE_PATHS
