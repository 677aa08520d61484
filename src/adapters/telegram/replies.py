"""The bot's replies to commands and button presses, in HTML with every title escaped."""

import html

import attrs
from telegram.helpers import mention_html

from application.diagnosis import Finding, Problem
from application.errors import (
    ApplicationError,
    BotLacksRights,
    ChatNotFound,
    MessengerError,
    NotPermitted,
    StorageError,
)
from application.paging import Page
from application.targeting import Refusal, TargetRefused
from application.use_cases.change_settings import SettingsResult
from application.use_cases.check_rights import CheckReport
from application.use_cases.control_raid import RaidOutcome, RaidState
from application.use_cases.exempt_member import ExemptResult
from application.use_cases.explain_member import Explanation
from application.use_cases.list_muted import MutedList
from application.use_cases.press_verify import VerifyOutcome, VerifyResult
from application.use_cases.protect_group import ProtectOutcome, ProtectResult
from application.use_cases.set_log_channel import SetLogResult
from application.use_cases.show_status import StatusReport
from application.use_cases.unlink_channel import UnlinkResult
from application.use_cases.unprotect_group import UnprotectResult
from application.use_cases.verify_join_request import GateVerifyOutcome, GateVerifyResult
from domain.audit import AuditEvent, AuditKind
from domain.errors import DomainError, UnknownSetting
from domain.ids import UserId
from domain.membership import MemberStatus
from domain.policy import GroupSettings, RequiredChannel
from domain.raid import Raid

INVALID_BUTTON = "This button is not valid."
"""The answer to a press whose data none of the bot's buttons carries (forged, or outdated)."""


@attrs.frozen
class CommandHelp:
    """An admin command as the menu and the usage hints show it."""

    name: str
    usage: str
    description: str

    def __str__(self) -> str:
        return f"{self.usage} — {self.description}"


ADMIN_COMMANDS = (
    CommandHelp("protect", "/protect @channel [@more …]", "link channels and turn protection on"),
    CommandHelp(
        "unprotect", "/unprotect", "turn protection off and unmute everyone the bot muted"
    ),
    CommandHelp("unlink", "/unlink @channel", "stop requiring one channel"),
    CommandHelp("status", "/status", "how this group is protected"),
    CommandHelp("settings", "/settings [key value]", "show or change a setting"),
    CommandHelp("exempt", "/exempt", "(reply, @username or id) never mute this member"),
    CommandHelp("unexempt", "/unexempt", "(reply, @username or id) enforce the rules again"),
    CommandHelp("check", "/check", "check the bot's rights here and in every channel"),
    CommandHelp("why", "/why", "(reply, @username or id) why is this member muted?"),
    CommandHelp("muted", "/muted", "who the bot muted here, since when, and why"),
    CommandHelp("exempted", "/exempted", "the members never muted here"),
    CommandHelp("log", "/log", "what the bot and the admins did lately"),
    CommandHelp(
        "raid", "/raid [on [duration] | off]", "raid mode: mute newcomers silently, one notice"
    ),
    CommandHelp(
        "setlog", "/setlog @channel | off", "post what happens here to a channel, as it happens"
    ),
)
"""The group admins' command menu (setMyCommands) and the usage hints, from one table."""

USAGE = {command.name: str(command) for command in ADMIN_COMMANDS}

WORKS_IN_GROUPS = "This command works in groups."
ADD_TO_GROUP = "Add me to a group"

GROUP_HELP = (
    "I make members join this group's channels before they can talk here. "
    "Admins: /protect @channel to start; /status, /settings and /check for the rest."
)
CHOOSE_GROUP = "Choose a group to configure (I asked Telegram that you administer each one):"
NO_GROUP_TO_CONFIGURE = (
    "I know no group where you may change my settings. Write /settings in your group once "
    "(you must be its creator, or an admin who can ban users), then try again here."
)
NOT_MUTED_ANYWHERE = (
    "I have not muted you in any group. If you cannot write somewhere, an admin of that group "
    "muted you: only they can help. Send /start to see what I do."
)
PRIVATE_HELP = (
    "<b>Nezuko</b> makes members of your group join your channels before they can talk.\n\n"
    "1. Add me to your group as an admin who can <i>ban users</i> and <i>delete messages</i>.\n"
    "2. Make me an admin of each channel members must join.\n"
    "3. In the group, send /protect @yourchannel.\n\n"
    "Members who have not joined are muted, with a button to each channel and a "
    "<b>Verify</b> button; joining a channel unmutes them at once."
)

_PROBLEMS = {
    Problem.NOT_ADMIN_IN_GROUP: "Make me an administrator of this group.",
    Problem.CANNOT_RESTRICT: "Give me the <i>Ban users</i> right in this group.",
    Problem.CANNOT_DELETE: "Give me the <i>Delete messages</i> right in this group.",
    Problem.GATE_CANNOT_INVITE: "The join gate is on: give me the <i>Invite users via link</i> "
    "right in this group, so I can approve and decline join requests.",
    Problem.NOT_ADMIN_IN_CHANNEL: "Make me an administrator of the channel {ref}.",
    Problem.CANNOT_INVITE: "Give me the <i>Invite users via link</i> right in {ref}.",
    Problem.NOT_A_CHANNEL: "{ref} is not a channel.",
    Problem.NOT_FOUND: "I can't find {ref}: check the name, or add me to it first.",
    Problem.UNREACHABLE: "Telegram did not tell me my rights here; try /check again later.",
    Problem.CANNOT_POST_LOG: (
        "Make me an administrator of the log channel {ref} who may <i>post messages</i> "
        "(or /setlog off)."
    ),
}


def _channel(channel: RequiredChannel) -> str:
    title = html.escape(channel.title)
    url = channel.join_url
    return f'<a href="{html.escape(url)}">{title}</a>' if url else title


def finding_html(finding: Finding) -> str:
    """One problem as an instruction."""
    ref = html.escape(finding.reference or str(finding.chat_id))
    return _PROBLEMS[finding.problem].format(ref=f"<b>{ref}</b>")


def protect_html(result: ProtectResult) -> str:
    """The reply to /protect."""
    if result.outcome is ProtectOutcome.NO_CHANNELS:
        return f"Name the channels members must join:\n{USAGE['protect']}"
    if result.outcome is ProtectOutcome.NEEDS_FIXES:
        fixes = "\n".join(f"• {finding_html(f)}" for f in result.findings)
        return f"Nothing changed yet. Please fix this, then run /protect again:\n{fixes}"
    assert result.policy is not None
    channels = "\n".join(f"• {_channel(c)}" for c in result.policy.channels)
    return f"🛡 Protection is on. Members must join:\n{channels}"


def unprotect_html(result: UnprotectResult) -> str:
    """The reply to /unprotect."""
    if not result.was_enabled:
        return "Protection was already off."
    return (
        "Protection is off. "
        f"{result.lifting} member(s) I muted will be unmuted shortly. /protect turns it on again."
    )


def unlink_html(result: UnlinkResult) -> str:
    """The reply to /unlink."""
    remaining = ", ".join(_channel(c) for c in result.policy.channels) or "none"
    lifted = f" {result.lifting} member(s) will be unmuted." if result.lifting else ""
    return f"Channel unlinked. Still required: {remaining}.{lifted}"


def settings_html(settings: GroupSettings) -> str:
    """Every setting and its value."""
    lines = [f"<code>{k}</code> = <b>{v}</b>" for k, v in settings.shown().items()]
    return "\n".join(lines)


def status_html(report: StatusReport) -> str:
    """The reply to /status."""
    policy = report.policy
    if policy is None or not policy.channels:
        return f"This group is not protected.\n{USAGE['protect']}"
    state = "on" if report.is_protected else "off"
    channels = "\n".join(f"• {_channel(c)}" for c in policy.channels)
    raid = f"{raid_line(policy.raid)}\n" if policy.raid_on and policy.raid else ""
    return (
        f"Protection is <b>{state}</b>. Required channels:\n{channels}\n"
        f"Muted by me: {report.restricted}. Exempt: {report.exempt}.\n"
        f"{raid}{settings_html(policy.settings)}"
    )


def raid_line(raid: Raid) -> str:
    """The raid going on, in one line (UTC times)."""
    since = raid.started_at.strftime("%H:%M UTC")
    by = "started by an admin" if raid.by is not None else "started by the join rate"
    if raid.until is not None:
        end = f"ends at {raid.until.strftime('%Y-%m-%d %H:%M UTC')} or at /raid off"
    else:
        end = "ends after 10 quiet minutes or at /raid off"
    return f"🚨 <b>Raid mode is on</b> since {since} ({by}); {end}."


def raid_html(state: RaidState) -> str:
    """The reply to /raid."""
    threshold = (
        f"Raid mode starts by itself at {state.threshold} joins a minute of members who have "
        "not joined the channels (<code>raid_threshold</code>)."
        if state.threshold is not None
        else "Raid mode never starts by itself here (<code>raid_threshold</code> is off)."
    )
    match state.outcome:
        case RaidOutcome.NOT_PROTECTED:
            return f"Raid mode needs protection on first.\n{USAGE['protect']}"
        case RaidOutcome.ENDED:
            return f"Raid mode is off. {state.muted} member(s) were muted during the raid."
        case RaidOutcome.NONE_GOING_ON:
            return f"No raid is going on.\n{threshold}"
        case _:
            pass
    if state.raid is None:
        return f"No raid is going on.\n{threshold}\n{USAGE['raid']}"
    head = {
        RaidOutcome.STARTED: "Raid mode is on. ",
        RaidOutcome.EXTENDED: "Raid mode was already on; it now ends when you said. ",
    }.get(state.outcome, "")
    return (
        f"{head}{raid_line(state.raid)}\nMuted since it began: {state.muted}. "
        f"Newcomers who have not joined are muted silently, under one notice.\n{threshold}"
    )


SETTING_DESCRIPTIONS = {
    "failure_policy": "when Telegram cannot tell me whether a member joined: "
    "<i>open</i> lets them talk, <i>closed</i> mutes them",
    "warning_ttl": "how long my warnings stay before I delete them",
    "kick_after": "remove a member I muted who has not joined after this long (<i>off</i>: never)",
    "raid_threshold": "joins a minute, by members who have not joined the channels, that start "
    "raid mode: newcomers muted silently, under one notice (<i>off</i>: only by /raid on)",
    "join_gate": "with <i>on</i>, I approve join requests of people who joined every channel "
    "and tell the others in private what to join (needs the <i>Invite users</i> right)",
    "join_gate_timeout": "how long a requester may take to join before I decline the request "
    "(<i>off</i>: the admins decide)",
}
"""What each setting does, shown by `/settings` and its menu."""


def settings_result_html(result: SettingsResult) -> str:
    """The reply to /settings: each setting's value and what it does."""
    head = f"Changed <code>{html.escape(result.changed)}</code>.\n" if result.changed else ""
    lines = [_setting_line(k, v) for k, v in result.settings.shown().items()]
    return head + "\n".join(lines)


def private_settings_html(result: SettingsResult) -> str:
    """The settings menu in a private chat: it names the group it acts on."""
    title = html.escape(result.group_title or "your group")
    return f"Settings of <b>{title}</b>:\n{settings_result_html(result)}"


def _setting_line(key: str, value: str) -> str:
    line = f"<code>{html.escape(key)}</code> = <b>{html.escape(value)}</b>"
    what = SETTING_DESCRIPTIONS.get(key)
    return f"{line}: {what}" if what else line


def exempt_html(result: ExemptResult) -> str:
    """The reply to /exempt."""
    text = "Exempted." if result.added else "Already exempt."
    return text + (" Their mute will be lifted shortly." if result.lifting else "")


def unexempt_html(removed: bool) -> str:
    """The reply to /unexempt."""
    return "No longer exempt." if removed else "They were not exempt."


def setlog_html(result: SetLogResult) -> str:
    """The reply to /setlog."""
    if result.findings:
        fixes = "\n".join(f"• {finding_html(f)}" for f in result.findings)
        return f"Nothing was changed. Please fix:\n{fixes}"
    if result.channel is None:
        return "The log channel is off: nothing is posted anywhere."
    title = html.escape(result.channel.title)
    return f"From now on, what happens here is posted to <b>{title}</b>, a few events a message."


def check_html(report: CheckReport) -> str:
    """The reply to /check."""
    if report.healthy:
        gate = (
            " That includes approving join requests (the join gate)." if report.join_gate else ""
        )
        return f"✅ I have every right I need here and in {len(report.channels)} channel(s).{gate}"
    return "Please fix:\n" + "\n".join(f"• {finding_html(f)}" for f in report.findings)


def explanation_html(explanation: Explanation) -> str:
    """The reply to /why."""
    if explanation.unknown_user:
        return "Telegram knows no user with this id: check the number."
    if not explanation.protected:
        text = "This group is not protected, so nobody is muted by me."
        if explanation.restricted_by_someone_else:
            text += f" {_ADMINS_MUTE}"
        return text
    parts: list[str] = []
    if explanation.exemption is not None:
        parts.append(f"Never muted: {explanation.exemption.value.replace('_', ' ')}.")
    if explanation.missing:
        parts.append("Not joined: " + ", ".join(_channel(c) for c in explanation.missing) + ".")
    if explanation.unanswered:
        names = ", ".join(_channel(c) for c in explanation.unanswered)
        parts.append(f"Telegram would not tell me about: {names}.")
    parts.append(_mute_state(explanation))
    return " ".join(parts)


_ADMINS_MUTE = "Restricted by an admin, not by me: only an admin can lift it."


def _mute_state(explanation: Explanation) -> str:
    """Whether the member is muted, and by whom, as plainly as Telegram lets the bot tell."""
    standing = explanation.standing
    if explanation.restriction is not None:
        return f"Muted by me since {explanation.restriction.since:%Y-%m-%d %H:%M} UTC."
    if explanation.restricted_by_someone_else:
        return _ADMINS_MUTE
    if standing is None:
        return "Not muted by me."
    if standing.status is MemberStatus.KICKED:
        return "Banned from this group."
    if not standing.is_present:
        return "Not in this group."
    return "Not muted."


def verify_answer(result: VerifyResult) -> str:
    """The alert shown to whoever pressed Verify (plain text, at most 200 characters)."""
    match result.outcome:
        case VerifyOutcome.LIFTED:
            text = "Thanks! You can talk now."
        case VerifyOutcome.STILL_MISSING:
            text = "Join first: " + ", ".join(c.title for c in result.missing)
        case VerifyOutcome.NOT_YOURS:
            text = "This button is not for you."
        case VerifyOutcome.THROTTLED:
            text = "Please wait a few seconds before trying again."
        case VerifyOutcome.NOT_RESTRICTED_BY_BOT:
            text = "I did not mute you; only an admin can help."
        case VerifyOutcome.UNAVAILABLE:
            text = "Telegram did not answer. Please try again in a minute."
    return text[:200]


def saved_answer(key: str, settings: GroupSettings) -> str:
    """The toast after a `/settings` menu button changed a setting."""
    return f"Saved: {key} = {settings.shown()[key]}"


def error_text(error: Exception) -> str:
    """`error_html` as plain text for a button's alert (at most 200 characters)."""
    return html.unescape(error_html(error))[:200]


def error_html(error: Exception) -> str:
    """A failure explained to the person who ran the command."""
    match error:
        case NotPermitted():
            return "Only the group's creator, or an admin who can ban users, can do this."
        case ChatNotFound():
            return f"I can't find {html.escape(error.reference)}."
        case BotLacksRights():
            return "I don't have the rights for that here; /check tells what is missing."
        case MessengerError():
            return "Telegram did not answer. Please try again in a minute."
        case TargetRefused():
            return _refusal_html(error)
        case UnknownSetting():
            keys = ", ".join(f"<code>{html.escape(k)}</code>" for k in error.known)
            return f"Unknown setting <code>{html.escape(error.key)}</code>. Settings: {keys}."
        case StorageError():
            return "Something went wrong on my side; nothing was changed. Please try again."
        case DomainError() | ApplicationError():
            return html.escape(str(error)).capitalize() + "."
        case _:
            return "Something went wrong; nothing was changed."


_NAME_THEM = "reply to one of their own messages, or give their @username or id"
_REFUSALS = {
    Refusal.THE_BOT: f"That is me, not a member: to act on a member, {_NAME_THEM}.",
    Refusal.ANONYMOUS: (
        "That was sent on behalf of a chat (an anonymous admin or a channel), not by a member: "
        "there is nobody to act on."
    ),
    Refusal.ADMIN: "That member is an admin of this group: admins are never muted.",
    Refusal.SEVERAL_WARNED: f"That warning names several members: {_NAME_THEM}.",
    Refusal.UNKNOWN_USERNAME: (
        "I have never seen @{username} in this group: reply to one of their messages, or "
        "give their numeric id."
    ),
}


def _refusal_html(error: TargetRefused) -> str:
    return _REFUSALS[error.refusal].format(username=html.escape(error.username))


def _person(user_id: UserId | None, name: str = "") -> str:
    return "someone" if user_id is None else mention_html(user_id, name or str(user_id))


def _page_head[T](title: str, page: Page[T]) -> str:
    pages = f" (page {page.number} of {page.pages})" if page.pages > 1 else ""
    return f"<b>{title}</b>: {page.total}{pages}"


def muted_html(muted: MutedList) -> str:
    """The reply to /muted: each member as a mention, since when, the channels they miss."""
    page = muted.page
    if not page.total:
        return "Nobody is muted by me here."
    lines = [_page_head("Muted by me", page)]
    for n, restriction in enumerate(page.items, start=page.offset + 1):
        channels = (
            muted.policy.channels_of(restriction.missing) if muted.policy is not None else ()
        )
        missing = ", ".join(_channel(c) for c in channels) or "no channel any more"
        lines.append(
            f"{n}. {_person(restriction.user_id, restriction.name)}, since "
            f"{restriction.since:%Y-%m-%d %H:%M} UTC; not joined: {missing}"
        )
    return "\n".join(lines)


def gate_verify_answer(result: GateVerifyResult) -> str:
    """The alert shown to a requester who pressed the gate's Verify (at most 200 characters)."""
    match result.outcome:
        case GateVerifyOutcome.APPROVED:
            text = "Thanks! Your request is approved: welcome."
        case GateVerifyOutcome.STILL_MISSING:
            text = "Join first: " + ", ".join(c.title for c in result.missing)
        case GateVerifyOutcome.NO_REQUEST:
            text = "I hold no request of yours for this group any more."
        case GateVerifyOutcome.THROTTLED:
            text = "Please wait a few seconds before trying again."
        case GateVerifyOutcome.DEFERRED:
            text = "Telegram is busy: you will be let in shortly."
        case GateVerifyOutcome.REFUSED:
            text = "Telegram did not let me approve you; the group's admins will decide."
    return text[:200]


def exempted_html(page: Page[UserId]) -> str:
    """The reply to /exempted."""
    if not page.total:
        return f"Nobody is exempt here. {USAGE['exempt']}"
    lines = [_page_head("Never muted here", page)]
    lines += [
        f"{n}. {_person(user_id)}" for n, user_id in enumerate(page.items, start=page.offset + 1)
    ]
    return "\n".join(lines)


_LOGGED = {
    AuditKind.MUTED: "muted {subject}",
    AuditKind.UNMUTED: "unmuted {subject}",
    AuditKind.WARNED: "warned {subject}",
    AuditKind.MESSAGE_DELETED: "deleted a message",
    AuditKind.KICKED: "removed {subject}",
    AuditKind.CHECK_FAILED: "could not check a channel",
    AuditKind.ACTION_FAILED: "could not act on {subject}",
    AuditKind.PROTECTED: "turned protection on",
    AuditKind.UNPROTECTED: "turned protection off",
    AuditKind.CHANNEL_UNLINKED: "unlinked a channel",
    AuditKind.SETTING_CHANGED: "changed a setting",
    AuditKind.EXEMPTED: "exempted {subject}",
    AuditKind.UNEXEMPTED: "took {subject} off the exemption list",
    AuditKind.BOT_STATUS_CHANGED: "changed the bot's rights",
    AuditKind.JOIN_REQUESTED: "{subject} asked to join",
    AuditKind.JOIN_APPROVED: "let {subject} in",
    AuditKind.JOIN_DECLINED: "declined {subject}'s request to join",
    AuditKind.RAID_STARTED: "started raid mode",
    AuditKind.RAID_ENDED: "ended raid mode",
    AuditKind.LOG_CHANNEL_SET: "set the log channel",
    AuditKind.LOG_CHANNEL_OFF: "switched the log channel off",
}


def logged_html(event: AuditEvent) -> str:
    """One audit event as a line: when (UTC), who, what, why."""
    who = "I" if event.actor is None else _person(event.actor)
    what = _LOGGED[event.kind].format(subject=_person(event.subject))
    line = f"{event.at:%m-%d %H:%M} {who} {what}"
    if event.kind is AuditKind.JOIN_REQUESTED:
        line = f"{event.at:%m-%d %H:%M} {what}"
    reason = f": <i>{html.escape(event.reason)}</i>" if event.reason else ""
    return line + reason


def log_html(page: Page[AuditEvent]) -> str:
    """The reply to /log: newest first, times in UTC."""
    if not page.total:
        return "Nothing happened here yet."
    return "\n".join([_page_head("Lately (UTC)", page), *map(logged_html, page.items)])
