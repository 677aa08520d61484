"""The intake journal over PostgreSQL (rule 10): what is kept stays until marked handled.

The runtime role (row-level security on, not the owner) keeps, marks and reads the updates; a
second bot's journal on the same database is apart; a closed server is a `StorageError`.
"""

import pytest
from sqlalchemy import text

from adapters.postgres.engine import create_engine
from adapters.postgres.journal import PostgresJournal
from application.errors import StorageError
from tests.integration.conftest import ThrowawayDatabase

BOT, OTHER_BOT = 7_000_000_001, 7_000_000_002


def _update(update_id: int, text_: str = "hi") -> dict[str, object]:
    return {"update_id": update_id, "message": {"message_id": 1, "text": text_}}


async def test_kept_updates_come_back_until_marked_handled_and_are_recognised_after(
    test_database: ThrowawayDatabase,
) -> None:
    engine = create_engine(test_database.runtime_url, pool_size=1, max_overflow=0)
    try:
        journal, other = PostgresJournal(engine, BOT), PostgresJournal(engine, OTHER_BOT)
        assert await journal.keep([_update(3), _update(1, "ünïcode <b>")]) == {1, 3}
        assert await journal.keep([_update(3), _update(4)]) == {4}  # 3 is known
        assert await other.keep([_update(3)]) == {3}  # another bot's 3 is another update
        assert [u["update_id"] for u in await journal.leftovers()] == [1, 3, 4]
        assert (await journal.leftovers())[0] == _update(1, "ünïcode <b>")

        await journal.mark_handled([1, 4])
        assert [u["update_id"] for u in await journal.leftovers()] == [3]
        assert await journal.keep([_update(1)]) == frozenset()  # handled, and still known
        assert [u["update_id"] for u in await other.leftovers()] == [3]
        async with engine.connect() as connection:  # a handled update's contents are gone
            payloads = await connection.execute(
                text("SELECT update_id FROM taken_updates WHERE payload IS NULL AND bot_id = :b"),
                {"b": BOT},
            )
            assert sorted(row[0] for row in payloads) == [1, 4]
    finally:
        await engine.dispose()


async def test_a_journal_that_cannot_reach_its_server_raises_storage_errors() -> None:
    engine = create_engine(
        "postgresql+asyncpg://nobody@127.0.0.1:9/none", pool_size=1, max_overflow=0
    )
    try:
        journal = PostgresJournal(engine, BOT)
        with pytest.raises(StorageError):
            await journal.keep([_update(1)])
        with pytest.raises(StorageError):
            await journal.mark_handled([1])
        with pytest.raises(StorageError):
            await journal.leftovers()
    finally:
        await engine.dispose()
