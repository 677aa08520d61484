"""Translation of driver and SQLAlchemy failures into the application's storage errors."""

from collections.abc import Generator
from contextlib import contextmanager

import asyncpg
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from application.errors import StorageConflict, StorageError

CONFLICT_SQLSTATES = frozenset({"23505", "40001", "40P01"})
"""unique_violation, serialization_failure, deadlock_detected: a concurrent change won."""

_DRIVER_ERRORS = (
    SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE code PostgreSQL reported for `error`, if any."""
    candidates: list[object] = [error]
    if isinstance(error, DBAPIError):
        candidates.append(error.orig)
    candidates.append(error.__cause__)
    for candidate in candidates:
        code = getattr(candidate, "sqlstate", None)
        if isinstance(code, str):
            return code
    return None


def _describe(error: BaseException) -> str:
    detail = error.orig if isinstance(error, DBAPIError) else error
    text = str(detail).strip().splitlines()
    return f"{type(detail).__name__}: {text[0]}" if text else type(detail).__name__


def translate(error: BaseException) -> StorageError:
    """The storage error for a driver failure: `StorageConflict` when a concurrent change won."""
    code = sqlstate(error)
    message = f"database error ({code or 'no sqlstate'}): {_describe(error)}"
    if code in CONFLICT_SQLSTATES:
        return StorageConflict(message)
    return StorageError(message)


@contextmanager
def storage_errors() -> Generator[None]:
    """Re-raise database failures inside the block as `StorageError` (`raise … from e`)."""
    try:
        yield
    except StorageError:
        raise
    except _DRIVER_ERRORS as error:
        raise translate(error) from error


class DatabaseSetupError(RuntimeError):
    """The database could not be chosen, started or prepared; the message says why."""


class DatabaseInUse(DatabaseSetupError):
    """Another process runs the embedded database in this data directory."""
