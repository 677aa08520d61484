"""Notices: what admins are told when the bot cannot work (rule 8), and members (rule 12)."""

import enum


class NoticeKind(enum.StrEnum):
    """Things group admins are told about."""

    CHECKS_FAILING = "checks_failing"
    """Telegram cannot answer membership questions for a channel; the failure policy applies."""
    CANNOT_RESTRICT = "cannot_restrict"
    """The bot lost the right to restrict members of the group."""
    RAID_STARTED = "raid_started"
    """Raid mode began (rule 13): newcomers are muted silently under one notice."""
    RAID_ENDED = "raid_ended"
    """Raid mode ended; the notice says how many members were muted during it."""
    MEMBER_FREED = "member_freed"
    """To the member, in private: joining the channels unmuted them in the group (rule 12).
    Only a member who started the private chat can receive it; Telegram refuses the others."""
