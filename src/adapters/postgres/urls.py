"""Database URLs as operators write them, turned into what SQLAlchemy's asyncpg dialect expects."""

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ASYNC_DRIVER = "postgresql+asyncpg"
_ACCEPTED = frozenset({"postgres", "postgresql", "postgresql+asyncpg"})


class InvalidDatabaseUrl(ValueError):
    """A database URL that is not a PostgreSQL URL."""


def parse_url(url: str) -> URL:
    """The URL with the asyncpg driver: `postgres://` and `postgresql://` are accepted.

    Raises:
        InvalidDatabaseUrl: not a PostgreSQL URL (the message never repeats the password).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        msg = "not a database URL (expected postgresql://user:password@host:port/database)"
        raise InvalidDatabaseUrl(msg) from error
    if parsed.drivername not in _ACCEPTED:
        msg = f"unsupported database URL scheme {parsed.drivername!r}: use postgresql://"
        raise InvalidDatabaseUrl(msg)
    return parsed.set(drivername=ASYNC_DRIVER)


def async_url(url: str) -> str:
    """The URL as a `postgresql+asyncpg://` string (with the password, for engines)."""
    return parse_url(url).render_as_string(hide_password=False)


def url_user(url: str) -> str | None:
    """The user name in the URL, if any."""
    return parse_url(url).username


def describe_url(url: str) -> str:
    """Which database the URL names, for a log line: database, host and port, never credentials."""
    parsed = parse_url(url)
    return f"database={parsed.database} host={parsed.host} port={parsed.port or 5432}"
