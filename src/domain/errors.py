"""Broken invariants of the domain. Texts shown to people live in the Telegram adapter."""

import attrs


class DomainError(Exception):
    """Base of every domain rule violation."""


@attrs.define(eq=False)
class InvalidChannelReference(DomainError):
    """A channel was named in a form that cannot identify a channel."""

    reference: str
    reason: str

    def __str__(self) -> str:
        return f"invalid channel reference {self.reference!r}: {self.reason}"


@attrs.define(eq=False)
class UnknownSetting(DomainError):
    """A setting key that groups do not have."""

    key: str
    known: tuple[str, ...] = ()
    """The keys groups do have."""

    def __str__(self) -> str:
        return f"unknown setting {self.key!r}"


@attrs.define(eq=False)
class InvalidSetting(DomainError):
    """A value a setting cannot take."""

    key: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"invalid value {self.value!r} for {self.key}: {self.reason}"


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
