"""A command that lost to a concurrent change runs again on what the winner left."""

import pytest

from application.errors import (
    CONFLICT_ATTEMPTS,
    StorageConflict,
    StorageError,
    again_on_conflict,
)


class Command:
    """Fails with the given errors, in order, then answers how many runs it took."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.runs = 0

    async def __call__(self) -> int:
        self.runs += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.runs


async def test_a_lost_race_runs_the_command_again() -> None:
    command = Command(StorageConflict("group -1 was changed by a concurrent transaction"))

    assert await again_on_conflict(command) == 2


async def test_a_command_that_keeps_losing_gives_up_with_the_conflict() -> None:
    command = Command(*(StorageConflict(f"lost {n}") for n in range(CONFLICT_ATTEMPTS)))

    with pytest.raises(StorageConflict, match=f"lost {CONFLICT_ATTEMPTS - 1}"):
        await again_on_conflict(command)
    assert command.runs == CONFLICT_ATTEMPTS


async def test_other_storage_failures_are_not_run_again_here() -> None:
    command = Command(StorageError("the database did not answer"))

    with pytest.raises(StorageError, match="did not answer"):
        await again_on_conflict(command)
    assert command.runs == 1
