"""Notices: to a group's admins when the bot cannot do its job, to a member in private.

HTML, with every title escaped.
"""

import html

from adapters.telegram.i18n import Texts
from adapters.telegram.replies import logged_html
from adapters.telegram.texts import group_html
from application.ports.messenger import AdminNotice, LogBatch, MemberNotice
from domain.notices import NoticeKind


def notice_html(notice: AdminNotice, t: Texts) -> str:
    """The notice as one short message for the group's admins."""
    match notice.kind:
        case NoticeKind.CHECKS_FAILING:
            if notice.channel is None:
                return t.gettext(
                    "⚠️ <b>Admins:</b> I cannot check who joined a required channel. Make me "
                    "an administrator there; until then the group's failure policy decides "
                    "(see /settings)."
                )
            return t.gettext(
                "⚠️ <b>Admins:</b> I cannot check who joined <b>{channel}</b>. Make me an "
                "administrator there; until then the group's failure policy decides "
                "(see /settings).",
                channel=html.escape(notice.channel.title),
            )
        case NoticeKind.CANNOT_RESTRICT:
            return t.gettext(
                "⚠️ <b>Admins:</b> I cannot mute members here. Make me an administrator with "
                "the <b>Ban users</b> and <b>Delete messages</b> rights, then run /check."
            )
        case NoticeKind.RAID_STARTED:
            if notice.count is None:
                return t.gettext(
                    "🚨 <b>Admins:</b> raid mode is on (an admin turned it on). I mute "
                    "newcomers silently and keep one notice up to date. It ends when the time "
                    "given runs out, or with /raid off."
                )
            return t.ngettext(
                "🚨 <b>Admins:</b> raid mode is on ({count} member who has not joined the "
                "channels joined in a minute). I mute newcomers silently and keep one notice "
                "up to date. It ends after 10 quiet minutes, or with /raid off.",
                "🚨 <b>Admins:</b> raid mode is on ({count} members who have not joined the "
                "channels joined in a minute). I mute newcomers silently and keep one notice "
                "up to date. It ends after 10 quiet minutes, or with /raid off.",
                notice.count,
            )
        case NoticeKind.RAID_ENDED:
            muted = notice.count if notice.count is not None else 0
            return t.ngettext(
                "✅ <b>Admins:</b> raid mode is over. {count} member was muted during it.",
                "✅ <b>Admins:</b> raid mode is over. {count} members were muted during it.",
                muted,
            )
        case NoticeKind.MEMBER_FREED:  # a member's notice (`member_notice_html`), never theirs
            return t.gettext("A member joined every channel and can write again.")


def member_notice_html(notice: MemberNotice, t: Texts) -> str:
    """The message to a member in their private chat with the bot (rule 12)."""
    # MEMBER_FREED is the one notice members get.
    return t.gettext(
        "✅ You joined every channel <b>{group}</b> requires: you can write there again.",
        group=group_html(notice.group_title, t),
    )


def log_batch_html(batch: LogBatch, t: Texts) -> str:
    """Audit events posted to a group's log channel: the group named, members as mentions."""
    group = html.escape(batch.group_title) if batch.group_title else t.gettext("a group")
    head = t.gettext("📋 <b>{group}</b> (UTC)", group=group)
    return "\n".join([head, *(logged_html(event, t) for event in batch.events)])
