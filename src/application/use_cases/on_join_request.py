"""A request to join a chat (chat_join_request): recorded for protected groups; no gate yet."""

import enum

import attrs

from application.audit_trail import record
from application.lookups import Lookups
from application.ports.clock import Clock
from application.ports.unit_of_work import UnitOfWork
from domain.audit import AuditEvent, AuditKind
from domain.ids import GroupId, UserId


@attrs.frozen
class JoinRequestCommand:
    """`user_id` asked to join `chat_id` (a group, or a channel when `is_channel`)."""

    chat_id: int
    user_id: UserId
    is_channel: bool = False


class JoinRequestOutcome(enum.StrEnum):
    """What the request came to."""

    RECORDED = "recorded"
    NOT_PROTECTED = "not_protected"


@attrs.frozen
class OnJoinRequest:
    """Record a join request to a protected group in its audit trail.

    The request itself is left pending for the group's admins, as if the bot were not there:
    approving or declining it by the required channels is the join gate of a later issue.
    Requests to channels or unprotected groups are not the bot's business yet.
    """

    lookups: Lookups
    uow: UnitOfWork
    clock: Clock

    async def execute(self, command: JoinRequestCommand) -> JoinRequestOutcome:
        """Audit the request when the chat is a protected group."""
        if command.is_channel:
            return JoinRequestOutcome.NOT_PROTECTED
        group_id = GroupId(command.chat_id)
        if not (await self.lookups.snapshot(group_id)).is_protected:
            return JoinRequestOutcome.NOT_PROTECTED
        requested = AuditEvent(
            group_id, AuditKind.JOIN_REQUESTED, self.clock.now(), subject=command.user_id
        )
        await record(self.uow, requested)
        return JoinRequestOutcome.RECORDED
