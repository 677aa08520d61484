"""Broken invariants of the domain. Texts shown to people live in the Telegram adapter.

Each error carries what went wrong as values (a problem kind, the bounds), never a sentence: the
adapter words it in the reader's language. `str()` is for logs.
"""

import enum

import attrs


class DomainError(Exception):
    """Base of every domain rule violation."""


class ReferenceProblem(enum.StrEnum):
    """Why a channel reference names no channel."""

    NOT_A_CHANNEL_ID = "channel ids start with -100"
    INVITE_LINK = "invite links cannot be looked up; use the @username or the -100… id"
    NOT_A_USERNAME = "not a channel username"


@attrs.define(eq=False)
class InvalidChannelReference(DomainError):
    """A channel was named in a form that cannot identify a channel."""

    reference: str
    problem: ReferenceProblem

    def __str__(self) -> str:
        return f"invalid channel reference {self.reference!r}: {self.problem.value}"


@attrs.define(eq=False)
class UnknownSetting(DomainError):
    """A setting key that groups do not have."""

    key: str
    known: tuple[str, ...] = ()
    """The keys groups do have."""

    def __str__(self) -> str:
        return f"unknown setting {self.key!r}"


class SettingProblem(enum.StrEnum):
    """Why a setting cannot take a value."""

    CHOICES = "choices"
    """Not one of `InvalidSetting.choices`."""
    NOT_A_DURATION = "not_a_duration"
    """Not a duration such as 90s, 5m, 2h or 1d."""
    OUT_OF_RANGE = "out_of_range"
    """A duration outside `low`…`high`."""
    DURATION_BETWEEN = "duration_between"
    """Not a duration within `low`…`high` (either way)."""
    THRESHOLD = "threshold"
    """Neither off nor a whole number of joins a minute within `low`…`high`."""
    VALUE_NEEDED = "value_needed"
    """The key came without a value."""
    UNKNOWN_PLACEHOLDER = "unknown_placeholder"
    """A custom text names a placeholder the bot does not fill (`detail`)."""
    MISSING_PLACEHOLDER = "missing_placeholder"
    """A custom text lacks a placeholder it needs (`detail`)."""
    MALFORMED = "malformed"
    """A custom text's braces do not pair up (a lone `{` or `}`)."""
    TOO_LONG = "too_long"
    """A custom text would be longer than Telegram takes (`high` characters at most)."""


@attrs.define(eq=False)
class InvalidSetting(DomainError):
    """A value a setting cannot take."""

    key: str
    value: str
    problem: SettingProblem
    choices: tuple[str, ...] = ()
    low: str = ""
    high: str = ""
    detail: str = ""

    def __str__(self) -> str:
        return f"invalid value {self.value!r} for {self.key}: {self.problem.value}"


@attrs.define(eq=False)
class TooManyChannels(DomainError):
    """Linking would give the group more required channels than allowed."""

    limit: int

    def __str__(self) -> str:
        return f"a group can require at most {self.limit} channels"


@attrs.define(eq=False)
class ChannelNotLinked(DomainError):
    """The channel is not one of the group's required channels."""

    reference: str

    def __str__(self) -> str:
        return f"channel {self.reference} is not linked to this group"
