"""What stops the bot from protecting a group: missing rights in the group or in a channel."""

import enum

import attrs

from application.errors import MessengerError
from application.ports.messenger import Messenger
from domain.ids import GroupId
from domain.membership import MemberStatus


class Problem(enum.StrEnum):
    """One thing an admin must fix."""

    NOT_ADMIN_IN_GROUP = "not_admin_in_group"
    CANNOT_RESTRICT = "cannot_restrict"
    CANNOT_DELETE = "cannot_delete"
    GATE_CANNOT_INVITE = "gate_cannot_invite"
    """The join gate approves and declines requests, which needs this right in the group."""
    NOT_ADMIN_IN_CHANNEL = "not_admin_in_channel"
    CANNOT_INVITE = "cannot_invite"
    """A channel without a public username needs an invite link, which needs this right."""
    NOT_A_CHANNEL = "not_a_channel"
    NOT_FOUND = "not_found"
    CANNOT_POST_LOG = "cannot_post_log"
    """The group's log channel (`/setlog`): the bot must be an admin who may post there."""
    UNREACHABLE = "unreachable"


@attrs.frozen
class Finding:
    """A problem, and the chat (or the reference an admin typed) it concerns."""

    problem: Problem
    chat_id: int | None = None
    reference: str = ""


async def group_findings(
    messenger: Messenger, group_id: GroupId, *, join_gate: bool = False
) -> tuple[Finding, ...]:
    """The bot must be an admin of the group who can restrict members and delete messages.

    With the join gate on (rule 14), it must also be able to invite users: approving and
    declining join requests needs that right.
    """
    try:
        rights = await messenger.rights(group_id, messenger.bot_id)
    except MessengerError:
        return (Finding(Problem.UNREACHABLE, group_id),)
    if not rights.is_admin:
        return (Finding(Problem.NOT_ADMIN_IN_GROUP, group_id),)
    findings: list[Finding] = []
    if not rights.can_restrict_members:
        findings.append(Finding(Problem.CANNOT_RESTRICT, group_id))
    if not rights.can_delete_messages:
        findings.append(Finding(Problem.CANNOT_DELETE, group_id))
    if join_gate and not rights.can_invite_users:
        findings.append(Finding(Problem.GATE_CANNOT_INVITE, group_id))
    return tuple(findings)


async def channel_findings(
    messenger: Messenger, channel_id: int, *, has_username: bool, reference: str = ""
) -> tuple[Finding, ...]:
    """The bot must be an admin of each channel; one with no username also needs invite rights."""
    try:
        rights = await messenger.rights(channel_id, messenger.bot_id)
    except MessengerError:
        return (Finding(Problem.NOT_ADMIN_IN_CHANNEL, channel_id, reference),)
    if not rights.is_admin:
        return (Finding(Problem.NOT_ADMIN_IN_CHANNEL, channel_id, reference),)
    if not has_username and not rights.can_invite_users:
        return (Finding(Problem.CANNOT_INVITE, channel_id, reference),)
    return ()


async def log_channel_findings(
    messenger: Messenger, channel_id: int, reference: str = ""
) -> tuple[Finding, ...]:
    """The bot must be an admin of the log channel who may post messages there."""
    try:
        rights = await messenger.rights(channel_id, messenger.bot_id)
    except MessengerError:
        return (Finding(Problem.CANNOT_POST_LOG, channel_id, reference),)
    if rights.status is not MemberStatus.CREATOR and not (
        rights.is_admin and rights.can_post_messages
    ):
        return (Finding(Problem.CANNOT_POST_LOG, channel_id, reference),)
    return ()
