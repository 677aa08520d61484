"""The bot's replies to commands and button presses, in HTML with every title escaped."""

import html

import attrs
from telegram.helpers import mention_html

from adapters.telegram.i18n import N_, Texts
from adapters.telegram.texts import warning_html
from application.diagnosis import Finding, Problem
from application.errors import (
    BotLacksRights,
    ChatNotFound,
    MessengerError,
    NotPermitted,
    StorageError,
)
from application.paging import Page
from application.ports.messenger import MuteWarning
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
from domain.errors import (
    ChannelNotLinked,
    InvalidChannelReference,
    InvalidSetting,
    ReferenceProblem,
    SettingProblem,
    TooManyChannels,
    UnknownSetting,
)
from domain.ids import GroupId, UserId
from domain.membership import MemberStatus
from domain.policy import LANGUAGE_CHOICES, GroupSettings, RequiredChannel
from domain.raid import Raid
from domain.restriction import WarningReason
from domain.senders import Exemption, Person

INVALID_BUTTON = N_("This button is not valid.")
"""The answer to a press whose data none of the bot's buttons carries (forged, or outdated)."""


@attrs.frozen
class CommandHelp:
    """An admin command as the menu and the usage hints show it (translated where shown)."""

    name: str
    usage: str
    description: str

    def line(self, t: Texts) -> str:
        """`usage — description` in the reader's language."""
        return f"{t.gettext(self.usage)} — {t.gettext(self.description)}"


ADMIN_COMMANDS = (
    CommandHelp(
        "protect", N_("/protect @channel [@more …]"), N_("link channels and turn protection on")
    ),
    CommandHelp(
        "unprotect",
        "/unprotect",
        N_("turn protection off and unmute everyone the bot muted"),
    ),
    CommandHelp("unlink", N_("/unlink @channel"), N_("stop requiring one channel")),
    CommandHelp("status", "/status", N_("how this group is protected")),
    CommandHelp("settings", N_("/settings [key value]"), N_("show or change a setting")),
    CommandHelp("exempt", "/exempt", N_("(reply, @username or id) never mute this member")),
    CommandHelp("unexempt", "/unexempt", N_("(reply, @username or id) enforce the rules again")),
    CommandHelp("check", "/check", N_("check the bot's rights here and in every channel")),
    CommandHelp("why", "/why", N_("(reply, @username or id) why is this member muted?")),
    CommandHelp("muted", "/muted", N_("who the bot muted here, since when, and why")),
    CommandHelp("exempted", "/exempted", N_("the members never muted here")),
    CommandHelp("log", "/log", N_("what the bot and the admins did lately")),
    CommandHelp(
        "raid",
        N_("/raid [on [duration] | off]"),
        N_("raid mode: mute newcomers silently, one notice"),
    ),
    CommandHelp(
        "setlog",
        N_("/setlog @channel | off"),
        N_("post what happens here to a channel, as it happens"),
    ),
)
"""The group admins' command menu (setMyCommands) and the usage hints, from one table."""

_COMMANDS = {command.name: command for command in ADMIN_COMMANDS}


def usage(name: str, t: Texts) -> str:
    """How to write the admin command `name`, and what it does."""
    return _COMMANDS[name].line(t)


WORKS_IN_GROUPS = N_("This command works in groups.")
ADD_TO_GROUP = N_("Add me to a group")

GROUP_HELP = N_(
    "I make members join this group's channels before they can talk here. "
    "Admins: /protect @channel to start; /status, /settings and /check for the rest."
)
CHOOSE_GROUP = N_("Choose a group to configure (I asked Telegram that you administer each one):")
NO_GROUP_TO_CONFIGURE = N_(
    "I know no group where you may change my settings. Write /settings in your group once "
    "(you must be its creator, or an admin who can ban users), then try again here."
)
NOT_MUTED_ANYWHERE = N_(
    "I have not muted you in any group. If you cannot write somewhere, an admin of that group "
    "muted you: only they can help. Send /start to see what I do."
)
PRIVATE_HELP = N_(
    "<b>Nezuko</b> makes members of your group join your channels before they can talk.\n\n"
    "1. Add me to your group as an admin who can <i>ban users</i> and <i>delete messages</i>.\n"
    "2. Make me an admin of each channel members must join.\n"
    "3. In the group, send /protect @yourchannel.\n\n"
    "Members who have not joined are muted, with a button to each channel and a "
    "<b>Verify</b> button; joining a channel unmutes them at once."
)
NAME_THEM = N_("Reply to one of their messages, or give their @username or id.")
"""A command that acts on a member named nobody (the usage hint follows)."""

_PROBLEMS = {
    Problem.NOT_ADMIN_IN_GROUP: N_("Make me an administrator of this group."),
    Problem.CANNOT_RESTRICT: N_("Give me the <i>Ban users</i> right in this group."),
    Problem.CANNOT_DELETE: N_("Give me the <i>Delete messages</i> right in this group."),
    Problem.GATE_CANNOT_INVITE: N_(
        "The join gate is on: give me the <i>Invite users via link</i> "
        "right in this group, so I can approve and decline join requests."
    ),
    Problem.NOT_ADMIN_IN_CHANNEL: N_("Make me an administrator of the channel {ref}."),
    Problem.CANNOT_INVITE: N_("Give me the <i>Invite users via link</i> right in {ref}."),
    Problem.NOT_A_CHANNEL: N_("{ref} is not a channel."),
    Problem.NOT_FOUND: N_("I can't find {ref}: check the name, or add me to it first."),
    Problem.UNREACHABLE: N_("Telegram did not tell me my rights here; try /check again later."),
    Problem.CANNOT_POST_LOG: N_(
        "Make me an administrator of the log channel {ref} who may <i>post messages</i> "
        "(or /setlog off)."
    ),
}


def _channel(channel: RequiredChannel) -> str:
    title = html.escape(channel.title)
    url = channel.join_url
    return f'<a href="{html.escape(url)}">{title}</a>' if url else title


def _bullets(lines: list[str], t: Texts) -> str:
    return "\n".join(f"• {t.isolated(line)}" for line in lines)


def finding_html(finding: Finding, t: Texts) -> str:
    """One problem as an instruction."""
    ref = html.escape(finding.reference or str(finding.chat_id))
    return t.gettext(_PROBLEMS[finding.problem], ref=f"<b>{ref}</b>")


def protect_html(result: ProtectResult, t: Texts) -> str:
    """The reply to /protect."""
    if result.outcome is ProtectOutcome.NO_CHANNELS:
        return t.gettext(
            "Name the channels members must join:\n{usage}", usage=usage("protect", t)
        )
    if result.outcome is ProtectOutcome.NEEDS_FIXES:
        fixes = _bullets([finding_html(f, t) for f in result.findings], t)
        return t.gettext(
            "Nothing changed yet. Please fix this, then run /protect again:\n{fixes}",
            fixes=fixes,
        )
    assert result.policy is not None
    channels = _bullets([_channel(c) for c in result.policy.channels], t)
    return t.gettext("🛡 Protection is on. Members must join:\n{channels}", channels=channels)


def unprotect_html(result: UnprotectResult, t: Texts) -> str:
    """The reply to /unprotect."""
    if not result.was_enabled:
        return t.gettext("Protection was already off.")
    return t.ngettext(
        "Protection is off. {count} member I muted will be unmuted shortly. /protect turns it "
        "on again.",
        "Protection is off. {count} members I muted will be unmuted shortly. /protect turns it "
        "on again.",
        result.lifting,
    )


def unlink_html(result: UnlinkResult, t: Texts) -> str:
    """The reply to /unlink."""
    remaining = ", ".join(_channel(c) for c in result.policy.channels) or t.gettext("none")
    text = t.gettext("Channel unlinked. Still required: {channels}.", channels=remaining)
    if result.lifting:
        lifted = t.ngettext(
            "{count} member will be unmuted.", "{count} members will be unmuted.", result.lifting
        )
        text = f"{text} {lifted}"
    return text


def settings_html(settings: GroupSettings) -> str:
    """Every setting and its value (keys and values are command syntax: never translated)."""
    shown = settings.shown().items()
    lines = [f"<code>{k}</code> = <b>{_shown_value(k, v)}</b>" for k, v in shown]
    return "\n".join(lines)


def status_html(report: StatusReport, t: Texts) -> str:
    """The reply to /status."""
    policy = report.policy
    if policy is None or not policy.channels:
        return t.gettext("This group is not protected.\n{usage}", usage=usage("protect", t))
    channels = _bullets([_channel(c) for c in policy.channels], t)
    raid = f"{raid_line(policy.raid, t)}\n" if policy.raid_on and policy.raid else ""
    state = (
        t.gettext("Protection is <b>on</b>. Required channels:\n{channels}", channels=channels)
        if report.is_protected
        else t.gettext(
            "Protection is <b>off</b>. Required channels:\n{channels}", channels=channels
        )
    )
    counts = t.gettext(
        "Muted by me: {muted}. Exempt: {exempt}.", muted=report.restricted, exempt=report.exempt
    )
    return f"{state}\n{counts}\n{raid}{settings_html(policy.settings)}"


def raid_line(raid: Raid, t: Texts) -> str:
    """The raid going on, in one line (UTC times)."""
    since = raid.started_at.strftime("%H:%M UTC")
    if raid.until is not None:
        until = raid.until.strftime("%Y-%m-%d %H:%M UTC")
        if raid.by is not None:
            return t.gettext(
                "🚨 <b>Raid mode is on</b> since {since} (started by an admin); ends at {until} "
                "or at /raid off.",
                since=since,
                until=until,
            )
        return t.gettext(
            "🚨 <b>Raid mode is on</b> since {since} (started by the join rate); ends at "
            "{until} or at /raid off.",
            since=since,
            until=until,
        )
    if raid.by is not None:
        return t.gettext(
            "🚨 <b>Raid mode is on</b> since {since} (started by an admin); ends after 10 quiet "
            "minutes or at /raid off.",
            since=since,
        )
    return t.gettext(
        "🚨 <b>Raid mode is on</b> since {since} (started by the join rate); ends after 10 "
        "quiet minutes or at /raid off.",
        since=since,
    )


def raid_html(state: RaidState, t: Texts) -> str:
    """The reply to /raid."""
    threshold = (
        t.gettext(
            "Raid mode starts by itself at {threshold} joins a minute of members who have not "
            "joined the channels (<code>raid_threshold</code>).",
            threshold=state.threshold,
        )
        if state.threshold is not None
        else t.gettext(
            "Raid mode never starts by itself here (<code>raid_threshold</code> is off)."
        )
    )
    match state.outcome:
        case RaidOutcome.NOT_PROTECTED:
            return t.gettext(
                "Raid mode needs protection on first.\n{usage}", usage=usage("protect", t)
            )
        case RaidOutcome.ENDED:
            return t.ngettext(
                "Raid mode is off. {count} member was muted during the raid.",
                "Raid mode is off. {count} members were muted during the raid.",
                state.muted,
            )
        case RaidOutcome.NONE_GOING_ON:
            return t.gettext("No raid is going on.\n{threshold}", threshold=threshold)
        case _:
            pass
    if state.raid is None:
        none = t.gettext("No raid is going on.\n{threshold}", threshold=threshold)
        return f"{none}\n{usage('raid', t)}"
    head = {
        RaidOutcome.STARTED: t.gettext("Raid mode is on.") + " ",
        RaidOutcome.EXTENDED: t.gettext("Raid mode was already on; it now ends when you said.")
        + " ",
    }.get(state.outcome, "")
    muted = t.gettext(
        "Muted since it began: {count}. Newcomers who have not joined are muted silently, "
        "under one notice.",
        count=state.muted,
    )
    return f"{head}{raid_line(state.raid, t)}\n{muted}\n{threshold}"


SETTING_DESCRIPTIONS = {
    "failure_policy": N_(
        "when Telegram cannot tell me whether a member joined: "
        "<i>open</i> lets them talk, <i>closed</i> mutes them"
    ),
    "warning_ttl": N_("how long my warnings stay before I delete them"),
    "kick_after": N_(
        "remove a member I muted who has not joined after this long (<i>off</i>: never)"
    ),
    "raid_threshold": N_(
        "joins a minute, by members who have not joined the channels, that start "
        "raid mode: newcomers muted silently, under one notice (<i>off</i>: only by /raid on)"
    ),
    "join_gate": N_(
        "with <i>on</i>, I approve join requests of people who joined every channel "
        "and tell the others in private what to join (needs the <i>Invite users</i> right)"
    ),
    "join_gate_timeout": N_(
        "how long a requester may take to join before I decline the request "
        "(<i>off</i>: the admins decide)"
    ),
    "language": N_(
        "<i>auto</i>: each member's own language; or one language for everything I send "
        "here: {languages}"
    ),
    "warning_text": N_(
        "your own warning (<code>/settings warning_text …</code>) with {{member}}, "
        "{{channels}} and {{group}}; <i>default</i>: mine"
    ),
}
"""What each setting does, shown by `/settings` and its menu."""


def settings_result_html(result: SettingsResult, t: Texts) -> str:
    """The reply to /settings: each setting's value and what it does."""
    head = (
        t.gettext("Changed <code>{key}</code>.", key=html.escape(result.changed)) + "\n"
        if result.changed
        else ""
    )
    lines = [_setting_line(k, v, t) for k, v in result.settings.shown().items()]
    return head + "\n".join(lines)


def preview_html(result: SettingsResult, member: Person, t: Texts) -> str:
    """After `/settings warning_text`: the warning as a member will see it, `member` named."""
    warning = warning_html(
        MuteWarning(
            GroupId(0),
            member,
            result.channels,
            WarningReason.SPOKE,
            language=t.language,
            custom_text=result.settings.warning_text,
            group_title=result.group_title,
        ),
        t,
    )
    return t.gettext("Members will see:\n{warning}", warning=warning)


def private_settings_html(result: SettingsResult, t: Texts) -> str:
    """The settings menu in a private chat: it names the group it acts on."""
    title = html.escape(result.group_title) if result.group_title else t.gettext("your group")
    head = t.gettext("Settings of <b>{group}</b>:", group=title)
    return f"{head}\n{settings_result_html(result, t)}"


_SHOWN_TEXT = 80
"""A custom warning is shown in the settings up to this many characters."""


def _shown_value(key: str, value: str) -> str:
    if key == "warning_text" and len(value) > _SHOWN_TEXT:
        value = value[:_SHOWN_TEXT] + "…"
    return html.escape(value)


def _setting_line(key: str, value: str, t: Texts) -> str:
    line = f"<code>{html.escape(key)}</code> = <b>{_shown_value(key, value)}</b>"
    what = SETTING_DESCRIPTIONS.get(key)
    if what is None:
        return line
    return f"{line}: {t.gettext(what, languages=', '.join(LANGUAGE_CHOICES[1:]))}"


def exempt_html(result: ExemptResult, t: Texts) -> str:
    """The reply to /exempt."""
    text = t.gettext("Exempted.") if result.added else t.gettext("Already exempt.")
    if result.lifting:
        text += " " + t.gettext("Their mute will be lifted shortly.")
    return text


def unexempt_html(removed: bool, t: Texts) -> str:
    """The reply to /unexempt."""
    return t.gettext("No longer exempt.") if removed else t.gettext("They were not exempt.")


def setlog_html(result: SetLogResult, t: Texts) -> str:
    """The reply to /setlog."""
    if result.findings:
        fixes = _bullets([finding_html(f, t) for f in result.findings], t)
        return t.gettext("Nothing was changed. Please fix:\n{fixes}", fixes=fixes)
    if result.channel is None:
        return t.gettext("The log channel is off: nothing is posted anywhere.")
    return t.gettext(
        "From now on, what happens here is posted to <b>{channel}</b>, a few events a message.",
        channel=html.escape(result.channel.title),
    )


def check_html(report: CheckReport, t: Texts) -> str:
    """The reply to /check."""
    if report.healthy:
        text = t.ngettext(
            "✅ I have every right I need here and in {count} channel.",
            "✅ I have every right I need here and in {count} channels.",
            len(report.channels),
        )
        if report.join_gate:
            text += " " + t.gettext("That includes approving join requests (the join gate).")
        return text
    fixes = _bullets([finding_html(f, t) for f in report.findings], t)
    return t.gettext("Please fix:\n{fixes}", fixes=fixes)


_EXEMPTIONS = {
    Exemption.THE_BOT: N_("the bot"),
    Exemption.OTHER_BOT: N_("other bot"),
    Exemption.ADMIN: N_("admin"),
    Exemption.ANONYMOUS_ADMIN: N_("anonymous admin"),
    Exemption.LINKED_CHANNEL: N_("linked channel"),
    Exemption.OWN_CHANNEL: N_("own channel"),
    Exemption.EXEMPT_LIST: N_("exempt list"),
}


def explanation_html(explanation: Explanation, t: Texts) -> str:
    """The reply to /why."""
    if explanation.unknown_user:
        return t.gettext("Telegram knows no user with this id: check the number.")
    if not explanation.protected:
        text = t.gettext("This group is not protected, so nobody is muted by me.")
        if explanation.restricted_by_someone_else:
            text += " " + t.gettext(_ADMINS_MUTE)
        return text
    parts: list[str] = []
    if explanation.exemption is not None:
        why = t.gettext(_EXEMPTIONS[explanation.exemption])
        parts.append(t.gettext("Never muted: {why}.", why=why))
    if explanation.missing:
        channels = ", ".join(_channel(c) for c in explanation.missing)
        parts.append(t.gettext("Not joined: {channels}.", channels=channels))
    if explanation.unanswered:
        names = ", ".join(_channel(c) for c in explanation.unanswered)
        parts.append(t.gettext("Telegram would not tell me about: {channels}.", channels=names))
    parts.append(_mute_state(explanation, t))
    return " ".join(parts)


_ADMINS_MUTE = N_("Restricted by an admin, not by me: only an admin can lift it.")


def _mute_state(explanation: Explanation, t: Texts) -> str:
    """Whether the member is muted, and by whom, as plainly as Telegram lets the bot tell."""
    standing = explanation.standing
    if explanation.restriction is not None:
        since = f"{explanation.restriction.since:%Y-%m-%d %H:%M}"
        return t.gettext("Muted by me since {since} UTC.", since=since)
    if explanation.restricted_by_someone_else:
        return t.gettext(_ADMINS_MUTE)
    if standing is None:
        return t.gettext("Not muted by me.")
    if standing.status is MemberStatus.KICKED:
        return t.gettext("Banned from this group.")
    if not standing.is_present:
        return t.gettext("Not in this group.")
    return t.gettext("Not muted.")


def verify_answer(result: VerifyResult, t: Texts) -> str:
    """The alert shown to whoever pressed Verify (plain text, at most 200 characters)."""
    match result.outcome:
        case VerifyOutcome.LIFTED:
            text = t.gettext("Thanks! You can talk now.")
        case VerifyOutcome.STILL_MISSING:
            text = _join_first(result.missing, t)
        case VerifyOutcome.NOT_YOURS:
            text = t.gettext("This button is not for you.")
        case VerifyOutcome.THROTTLED:
            text = t.gettext(_WAIT)
        case VerifyOutcome.NOT_RESTRICTED_BY_BOT:
            text = t.gettext("I did not mute you; only an admin can help.")
        case VerifyOutcome.UNAVAILABLE:
            text = t.gettext(_NO_ANSWER)
    return text[:200]


_WAIT = N_("Please wait a few seconds before trying again.")
_NO_ANSWER = N_("Telegram did not answer. Please try again in a minute.")


def _join_first(missing: tuple[RequiredChannel, ...], t: Texts) -> str:
    """A plain-text alert: the channels still to join."""
    titles = ", ".join(t.isolated(c.title) for c in missing)
    return t.gettext("Join first: {channels}", channels=titles)


def saved_answer(key: str, settings: GroupSettings, t: Texts) -> str:
    """The toast after a `/settings` menu button changed a setting."""
    return t.gettext("Saved: {key} = {value}", key=key, value=settings.shown()[key])


def error_text(error: Exception, t: Texts) -> str:
    """`error_html` as plain text for a button's alert (at most 200 characters)."""
    return html.unescape(error_html(error, t))[:200]


def error_html(error: Exception, t: Texts) -> str:
    """A failure explained to the person who ran the command."""
    match error:
        case NotPermitted():
            return t.gettext(
                "Only the group's creator, or an admin who can ban users, can do this."
            )
        case ChatNotFound():
            return t.gettext("I can't find {chat}.", chat=html.escape(error.reference))
        case BotLacksRights():
            return t.gettext(
                "I don't have the rights for that here; /check tells what is missing."
            )
        case MessengerError():
            return t.gettext(_NO_ANSWER)
        case TargetRefused():
            return _refusal_html(error, t)
        case UnknownSetting():
            keys = ", ".join(f"<code>{html.escape(k)}</code>" for k in error.known)
            return t.gettext(
                "Unknown setting <code>{key}</code>. Settings: {keys}.",
                key=html.escape(error.key),
                keys=keys,
            )
        case InvalidSetting():
            return invalid_setting_html(error, t)
        case InvalidChannelReference():
            return _invalid_reference_html(error, t)
        case TooManyChannels():
            return t.gettext("A group can require at most {limit} channels.", limit=error.limit)
        case ChannelNotLinked():
            return t.gettext(
                "Channel {channel} is not linked to this group.",
                channel=html.escape(error.reference),
            )
        case StorageError():
            return t.gettext(
                "Something went wrong on my side; nothing was changed. Please try again."
            )
        case _:  # a DomainError or ApplicationError without words of its own
            return t.gettext("Something went wrong; nothing was changed.")


def invalid_setting_html(error: InvalidSetting, t: Texts) -> str:
    """Why the value was refused, naming the value and the setting."""
    why = _setting_problem(error, t)
    if error.problem is SettingProblem.VALUE_NEEDED:
        return t.gettext(
            "<code>{key}</code> needs a value: {why}.", key=html.escape(error.key), why=why
        )
    return t.gettext(
        "Invalid value <code>{value}</code> for <code>{key}</code>: {why}.",
        value=html.escape(error.value[:100]),
        key=html.escape(error.key),
        why=why,
    )


def _setting_problem(error: InvalidSetting, t: Texts) -> str:
    detail = html.escape(error.detail)
    match error.problem:
        case SettingProblem.CHOICES:
            return t.gettext("use {choices}", choices=t.or_list(list(error.choices)))
        case SettingProblem.NOT_A_DURATION:
            return t.gettext("use a duration such as 90s, 5m, 2h or 1d")
        case SettingProblem.OUT_OF_RANGE:
            return t.gettext("must be between {low} and {high}", low=error.low, high=error.high)
        case SettingProblem.DURATION_BETWEEN:
            return t.gettext(
                "use a duration between {low} and {high}", low=error.low, high=error.high
            )
        case SettingProblem.THRESHOLD:
            return t.gettext(
                "use off or a number of joins a minute, {low} to {high}",
                low=error.low,
                high=error.high,
            )
        case SettingProblem.VALUE_NEEDED:
            return t.gettext("write it after the setting's name")
        case SettingProblem.UNKNOWN_PLACEHOLDER:
            return t.gettext(
                "{detail} is not a placeholder; use {{member}}, {{channels}} and {{group}}",
                detail=detail,
            )
        case SettingProblem.MISSING_PLACEHOLDER:
            return t.gettext(
                "the text must contain {detail}, where the member's name goes",
                detail=detail,
            )
        case SettingProblem.MALFORMED:
            return t.gettext(
                "a lone {{ or }}: write a brace as {{{{ or }}}}, placeholders as {{member}}"
            )
        case SettingProblem.TOO_LONG:
            return t.gettext(
                "the warning would be longer than Telegram takes ({high} characters at most)",
                high=error.high,
            )


def _invalid_reference_html(error: InvalidChannelReference, t: Texts) -> str:
    match error.problem:
        case ReferenceProblem.NOT_A_CHANNEL_ID:
            why = t.gettext("channel ids start with -100")
        case ReferenceProblem.INVITE_LINK:
            why = t.gettext("invite links cannot be looked up; use the @username or the -100… id")
        case ReferenceProblem.NOT_A_USERNAME:
            why = t.gettext("not a channel username")
    return t.gettext(
        "Invalid channel reference <code>{reference}</code>: {why}.",
        reference=html.escape(error.reference[:100]),
        why=why,
    )


_NAME_THEM = N_("reply to one of their own messages, or give their @username or id")
_REFUSALS = {
    Refusal.THE_BOT: N_("That is me, not a member: to act on a member, {name_them}."),
    Refusal.ANONYMOUS: N_(
        "That was sent on behalf of a chat (an anonymous admin or a channel), not by a member: "
        "there is nobody to act on."
    ),
    Refusal.ADMIN: N_("That member is an admin of this group: admins are never muted."),
    Refusal.SEVERAL_WARNED: N_("That warning names several members: {name_them}."),
    Refusal.UNKNOWN_USERNAME: N_(
        "I have never seen @{username} in this group: reply to one of their messages, or "
        "give their numeric id."
    ),
}


def _refusal_html(error: TargetRefused, t: Texts) -> str:
    return t.gettext(
        _REFUSALS[error.refusal],
        username=html.escape(error.username),
        name_them=t.gettext(_NAME_THEM),
    )


def _person(user_id: UserId | None, t: Texts, name: str = "") -> str:
    if user_id is None:
        return t.gettext("someone")
    return mention_html(user_id, name or str(user_id))


def _page_head[T](title: str, page: Page[T], t: Texts) -> str:
    if page.pages > 1:
        return t.gettext(
            "<b>{title}</b>: {total} (page {number} of {pages})",
            title=title,
            total=page.total,
            number=page.number,
            pages=page.pages,
        )
    return t.gettext("<b>{title}</b>: {total}", title=title, total=page.total)


def muted_html(muted: MutedList, t: Texts) -> str:
    """The reply to /muted: each member as a mention, since when, the channels they miss."""
    page = muted.page
    if not page.total:
        return t.gettext("Nobody is muted by me here.")
    lines = [_page_head(t.gettext("Muted by me"), page, t)]
    for n, restriction in enumerate(page.items, start=page.offset + 1):
        channels = (
            muted.policy.channels_of(restriction.missing) if muted.policy is not None else ()
        )
        missing = ", ".join(_channel(c) for c in channels) or t.gettext("no channel any more")
        entry = t.gettext(
            "{member}, since {since} UTC; not joined: {channels}",
            member=_person(restriction.user_id, t, restriction.name),
            since=f"{restriction.since:%Y-%m-%d %H:%M}",
            channels=missing,
        )
        lines.append(f"{n}. {entry}")
    return "\n".join(lines)


def gate_verify_answer(result: GateVerifyResult, t: Texts) -> str:
    """The alert shown to a requester who pressed the gate's Verify (at most 200 characters)."""
    match result.outcome:
        case GateVerifyOutcome.APPROVED:
            text = t.gettext("Thanks! Your request is approved: welcome.")
        case GateVerifyOutcome.STILL_MISSING:
            text = _join_first(result.missing, t)
        case GateVerifyOutcome.NO_REQUEST:
            text = t.gettext("I hold no request of yours for this group any more.")
        case GateVerifyOutcome.THROTTLED:
            text = t.gettext(_WAIT)
        case GateVerifyOutcome.DEFERRED:
            text = t.gettext("Telegram is busy: you will be let in shortly.")
        case GateVerifyOutcome.REFUSED:
            text = t.gettext(
                "Telegram did not let me approve you; the group's admins will decide."
            )
    return text[:200]


def exempted_html(page: Page[UserId], t: Texts) -> str:
    """The reply to /exempted."""
    if not page.total:
        return t.gettext("Nobody is exempt here. {usage}", usage=usage("exempt", t))
    lines = [_page_head(t.gettext("Never muted here"), page, t)]
    lines += [
        f"{n}. {_person(user_id, t)}"
        for n, user_id in enumerate(page.items, start=page.offset + 1)
    ]
    return "\n".join(lines)


_LOGGED = {
    AuditKind.MUTED: N_("{when} {who} muted {subject}"),
    AuditKind.UNMUTED: N_("{when} {who} unmuted {subject}"),
    AuditKind.WARNED: N_("{when} {who} warned {subject}"),
    AuditKind.MESSAGE_DELETED: N_("{when} {who} deleted a message"),
    AuditKind.KICKED: N_("{when} {who} removed {subject}"),
    AuditKind.CHECK_FAILED: N_("{when} {who} could not check a channel"),
    AuditKind.ACTION_FAILED: N_("{when} {who} could not act on {subject}"),
    AuditKind.PROTECTED: N_("{when} {who} turned protection on"),
    AuditKind.UNPROTECTED: N_("{when} {who} turned protection off"),
    AuditKind.CHANNEL_UNLINKED: N_("{when} {who} unlinked a channel"),
    AuditKind.SETTING_CHANGED: N_("{when} {who} changed a setting"),
    AuditKind.EXEMPTED: N_("{when} {who} exempted {subject}"),
    AuditKind.UNEXEMPTED: N_("{when} {who} took {subject} off the exemption list"),
    AuditKind.BOT_STATUS_CHANGED: N_("{when} {who} changed the bot's rights"),
    AuditKind.JOIN_REQUESTED: N_("{when} {subject} asked to join"),
    AuditKind.JOIN_APPROVED: N_("{when} {who} let {subject} in"),
    AuditKind.JOIN_DECLINED: N_("{when} {who} declined {subject}'s request to join"),
    AuditKind.RAID_STARTED: N_("{when} {who} started raid mode"),
    AuditKind.RAID_ENDED: N_("{when} {who} ended raid mode"),
    AuditKind.LOG_CHANNEL_SET: N_("{when} {who} set the log channel"),
    AuditKind.LOG_CHANNEL_OFF: N_("{when} {who} switched the log channel off"),
}
"""Each audit event as a sentence: `{who}` is "I" (the bot) or the admin's mention."""


def logged_html(event: AuditEvent, t: Texts) -> str:
    """One audit event as a line: when (UTC), who, what, why.

    The reason is shown in italics, in the reader's language (`reason_html`).
    """
    who = t.pgettext("the bot, as the subject of an audit line", "I")
    if event.actor is not None:
        who = _person(event.actor, t)
    line = t.gettext(
        _LOGGED[event.kind],
        when=f"{event.at:%m-%d %H:%M}",
        who=who,
        subject=_person(event.subject, t),
    )
    reason = f": <i>{reason_html(event, t)}</i>" if event.reason else ""
    return line + reason


def reason_html(event: AuditEvent, t: Texts) -> str:
    """Why, in the reader's language, escaped.

    The translation of the reason's template (`domain.reasons`) with the recorded values filled
    in; a reason made from no template (an older row's free text, a setting as typed) is shown
    as recorded.
    """
    recognized = event.recognized_reason()
    if recognized is None:
        return html.escape(event.reason)
    template, values = recognized
    return t.gettext(template, **{name: html.escape(value) for name, value in values.items()})


def log_html(page: Page[AuditEvent], t: Texts) -> str:
    """The reply to /log: newest first, times in UTC."""
    if not page.total:
        return t.gettext("Nothing happened here yet.")
    head = _page_head(t.gettext("Lately (UTC)"), page, t)
    return "\n".join([head, *(logged_html(event, t) for event in page.items)])
