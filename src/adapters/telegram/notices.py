"""What the bot tells a group's admins when it cannot do its job there (HTML, titles escaped)."""

import html

from application.ports.messenger import AdminNotice
from domain.notices import NoticeKind


def notice_html(notice: AdminNotice) -> str:
    """The notice as one short message for the group's admins."""
    match notice.kind:
        case NoticeKind.CHECKS_FAILING:
            channel = (
                f"<b>{html.escape(notice.channel.title)}</b>"
                if notice.channel is not None
                else "a required channel"
            )
            return (
                f"⚠️ <b>Admins:</b> I cannot check who joined {channel}. Make me an "
                "administrator there; until then the group's failure policy decides "
                "(see /settings)."
            )
        case NoticeKind.CANNOT_RESTRICT:
            return (
                "⚠️ <b>Admins:</b> I cannot mute members here. Make me an administrator with "
                "the <b>Ban users</b> and <b>Delete messages</b> rights, then run /check."
            )
        case NoticeKind.RAID_STARTED:
            if notice.count is None:
                why, ends = "an admin turned it on", "when the time given runs out"
            else:
                why = f"{notice.count} members who have not joined the channels joined in a minute"
                ends = "after 10 quiet minutes"
            return (
                f"🚨 <b>Admins:</b> raid mode is on ({why}). I mute newcomers silently and keep "
                f"one notice up to date. It ends {ends}, or with /raid off."
            )
        case NoticeKind.RAID_ENDED:
            muted = notice.count if notice.count is not None else 0
            return f"✅ <b>Admins:</b> raid mode is over. {muted} member(s) were muted during it."
