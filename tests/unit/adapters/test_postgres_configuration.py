"""Which database the PostgreSQL adapter uses and says it uses; who gets the runtime rights."""

from pathlib import Path

import pytest

from adapters.postgres.embedded import provide_database
from adapters.postgres.migrations import runtime_role
from adapters.postgres.provisioning import DatabaseUrls
from adapters.postgres.urls import describe_url


def test_a_url_is_described_by_database_host_and_port_never_its_credentials() -> None:
    described = describe_url("postgresql://app:hunter2@db.example:5433/nezuko?sslmode=require")
    assert described == "database=nezuko host=db.example port=5433"
    assert describe_url("postgres://app@db.example/nezuko").endswith("port=5432")


async def test_a_configured_database_is_used_as_is_and_logged_without_its_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")
    async with provide_database(
        Path("/nonexistent"),
        "postgresql://app:hunter2@db.example:5433/nezuko",
        "postgresql://owner:swordfish@db.example:5433/nezuko",
    ) as urls:
        assert urls == DatabaseUrls(
            runtime="postgresql+asyncpg://app:hunter2@db.example:5433/nezuko",
            admin="postgresql+asyncpg://owner:swordfish@db.example:5433/nezuko",
        )
    [configured] = [r for r in caplog.records if r.getMessage() == "database.configured"]
    assert configured.__dict__["database"] == "database=nezuko host=db.example port=5433"
    assert "hunter2" not in caplog.text
    assert "swordfish" not in caplog.text


def test_the_runtime_role_is_the_requested_one_else_the_configured_else_the_urls_user() -> None:
    url = "postgresql://nezuko_app:pw@db/nezuko"
    assert runtime_role("chosen", configured="configured", database_url=url) == "chosen"
    assert runtime_role(None, configured="configured", database_url=url) == "configured"
    assert runtime_role(None, configured=None, database_url=url) == "nezuko_app"
    assert runtime_role("", configured="", database_url=None) is None
    assert runtime_role(None, configured=None, database_url="postgresql://db/nezuko") is None
