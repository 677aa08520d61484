"""Notices: to a group's admins when the bot cannot do its job, to a member in private.

HTML, with every title escaped.
"""

import html

from adapters.telegram.replies import logged_html
from application.ports.messenger import AdminNotice, LogBatch, MemberNotice
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
        case NoticeKind.MEMBER_FREED:  # a member's notice (`member_notice_html`), never theirs
            return "A member joined every channel and can write again."


def member_notice_html(notice: MemberNotice) -> str:
    """The message to a member in their private chat with the bot (rule 12)."""
    group = f"<b>{html.escape(notice.group_title or 'the group')}</b>"
    # MEMBER_FREED is the one notice members get.
    return f"✅ You joined every channel {group} requires: you can write there again."


def log_batch_html(batch: LogBatch) -> str:
    """Audit events posted to a group's log channel: the group named, members as mentions."""
    group = html.escape(batch.group_title or "a group")
    return "\n".join([f"📋 <b>{group}</b> (UTC)", *map(logged_html, batch.events)])
