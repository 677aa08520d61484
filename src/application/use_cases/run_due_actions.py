"""Run the scheduled actions that fell due: warning deletions, kicks, bulk unmutes."""

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncGenerator
from datetime import timedelta

import attrs

from application.errors import (
    MessengerError,
    MessengerUnavailable,
    StorageError,
    TargetIsAdmin,
)
from application.join_gate import JoinGate
from application.lookups import Lookups
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.unit_of_work import TenantDirectory, UnitOfWork
from application.restrictions import Restrictions
from domain import reasons
from domain.audit import AuditEvent
from domain.ids import GroupId
from domain.schedule import PACED_KINDS, ActionKind, ScheduledAction, worth_reporting

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=5)
"""How long a claimed action is held by one worker before another may take it.

Each action is claimed on its own, just before it runs, and its lease is renewed every
`RENEW_EVERY` while it runs (a long 429 wait), so a worker that dies holds at most one action
per group, and only this long (issue 10: everything lifted within 10 s of a restart after
kill -9). Should a renewal come late, a second worker may run the action too; every action is
harmless to run twice."""
RENEW_EVERY = LEASE / 3
"""How often the lease of the action being run is pushed forward."""
BATCH = 50
"""Actions run per group in one run, so one busy group does not hold up the others."""


_KINDS = frozenset(ActionKind) - PACED_KINDS
"""What this loop runs; answers, invitations, warnings, the raid notice and notices are the
paced sender's (`background.Senders`)."""


class _Ending(enum.Enum):
    DONE = enum.auto()
    RETRIED = enum.auto()
    ABANDONED = enum.auto()


@attrs.frozen
class RunReport:
    """How the actions of one run ended.

    Attributes:
        done: Carried out (or found needless).
        retried: Failed for now and deferred to a later run.
        abandoned: Refused by Telegram, ended and audited.
    """

    done: int = 0
    retried: int = 0
    abandoned: int = 0


@attrs.frozen
class RunDueActions:
    """Rule 10: deferred work lives in the database and survives restarts.

    - Due actions are claimed one at a time per tenant for a short lease, so concurrent workers
      do not run one twice and a worker that dies leaves the one it held to the next within
      seconds (issue 10: a 2-minute lease on 50 claimed at once kept members muted for minutes).
    - A kick happens only if the bot's restriction is still in place and protection is on.
    - Rule 14: a join request still pending at its timeout is declined (or approved, if the
      requester joined meanwhile); an approval Telegram could not take is tried again.

    Rule 11: a failure past the immediate retries is deferred, never dropped.

    - A transient Telegram failure (`MessengerUnavailable`) defers the action, after Telegram's
      `retry_after` or a backoff capped at `RETRY_CAP`, as often as it takes. The first deferral
      is audited and logged with when it runs again; later ones are logged ever more rarely
      (`worth_reporting`), so an outage does not flood the log.
    - A refusal (any other `MessengerError`) ends the action, audited and logged.
    """

    lookups: Lookups
    restrictions: Restrictions
    messenger: Messenger
    uow: UnitOfWork
    clock: Clock
    directory: TenantDirectory
    gate: JoinGate
    renew_every: timedelta = RENEW_EVERY

    async def execute(self) -> RunReport:
        """Run everything due now, tenant by tenant."""
        ended: list[_Ending] = []
        for group_id in await self.directory.groups_with_due_actions(self.clock.now(), _KINDS):
            for _ in range(BATCH):
                action = await self._claim(group_id)
                if action is None:
                    break
                ended.append(await self._run(action))
        return RunReport(
            done=ended.count(_Ending.DONE),
            retried=ended.count(_Ending.RETRIED),
            abandoned=ended.count(_Ending.ABANDONED),
        )

    async def _claim(self, group_id: GroupId) -> ScheduledAction | None:
        async with self.uow.begin(group_id) as tx:
            claimed = await tx.actions.claim_due(group_id, self.clock.now(), LEASE, 1, _KINDS)
            await tx.commit()
        return claimed[0] if claimed else None

    async def _run(self, action: ScheduledAction) -> "_Ending":
        try:
            async with self._held(action):
                await self._perform(action)
        except MessengerUnavailable as error:
            await self._defer(action, error)
            return _Ending.RETRIED
        except MessengerError as error:
            await self._abandon(action, error)
            return _Ending.ABANDONED
        await self._complete(action.group_id, action)
        return _Ending.DONE

    @contextlib.asynccontextmanager
    async def _held(self, action: ScheduledAction) -> AsyncGenerator[None]:
        """Keep the action's lease while the block runs; stop renewing before leaving it.

        The renewal is over when the block is left, so the bookkeeping that follows (complete,
        defer) is never overwritten by a late renewal.
        """
        finished = asyncio.Event()
        renewal = asyncio.create_task(  # noqa: TID251 -- awaited on every exit path, below
            self._renew(action, finished), name=f"lease:{action.action_id}"
        )
        try:
            yield
        except asyncio.CancelledError:
            renewal.cancel()
            raise
        finally:
            finished.set()
            await asyncio.wait([renewal])

    async def _renew(self, action: ScheduledAction, finished: asyncio.Event) -> None:
        """Push the action's lease forward every `renew_every` until `finished` is set."""
        every = self.renew_every.total_seconds()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), every)
            if finished.is_set():
                return
            try:
                async with self.uow.begin(action.group_id) as tx:
                    held = attrs.evolve(action, due_at=self.clock.now() + LEASE)
                    await tx.actions.reschedule(held)
                    await tx.commit()
            except StorageError as error:  # the lease may run out: a second run is harmless
                log.warning(
                    "action.lease_not_renewed kind=%s group=%s error=%s",
                    action.kind,
                    action.group_id,
                    error,
                )

    async def _perform(self, action: ScheduledAction) -> None:
        match action.kind:
            case ActionKind.DELETE_MESSAGE:
                if action.message_id is not None:
                    await self.messenger.delete_message(action.group_id, action.message_id)
            case ActionKind.LIFT_RESTRICTION:
                if action.user_id is not None:
                    await self.restrictions.lift(
                        action.group_id, action.user_id, reason=reasons.PROTECTION_RELAXED
                    )
            case ActionKind.KICK_UNVERIFIED:
                await self._kick(action)
            case ActionKind.RESTRICT_MEMBER:
                await self._restrict(action)
            case ActionKind.APPROVE_JOIN_REQUEST:
                if action.user_id is not None:
                    await self.gate.approve_now(action.group_id, action.user_id, reasons.RETRIED)
            case ActionKind.DECLINE_JOIN_REQUEST:
                if action.user_id is not None:
                    await self.gate.decline_at_timeout(action.group_id, action.user_id)
            case (
                ActionKind.SEND_WARNING
                | ActionKind.SEND_NOTICE
                | ActionKind.SEND_ANSWER
                | ActionKind.SEND_GATE_INVITATION
                | ActionKind.RAID_NOTICE
            ):  # the paced sender's
                pass

    async def _restrict(self, action: ScheduledAction) -> None:
        """A deferred mute: applied if the bot still holds it and protection is on."""
        if action.user_id is None:
            return
        if (await self.lookups.snapshot(action.group_id)).is_protected:
            await self.restrictions.apply_deferred(action.group_id, action.user_id)

    async def _kick(self, action: ScheduledAction) -> None:
        group_id, user_id = action.group_id, action.user_id
        if user_id is None:
            return
        policy = (await self.lookups.snapshot(group_id)).protected_policy
        async with self.uow.begin(group_id) as tx:
            restriction = await tx.restrictions.get(group_id, user_id)
        if restriction is None or policy is None:
            return
        try:
            await self.messenger.kick(group_id, user_id)
        except TargetIsAdmin:
            log.info("kick.skipped group=%s user=%s: now an admin", group_id, user_id)
            return
        async with self.uow.begin(group_id) as tx:
            await tx.restrictions.delete(group_id, user_id)
            reason = reasons.NOT_VERIFIED_AFTER.format(duration=policy.settings.kick_after)
            await tx.audit.record(AuditEvent.kicked(group_id, self.clock.now(), user_id, reason))
            await tx.commit()

    async def _complete(self, group_id: GroupId, action: ScheduledAction) -> None:
        async with self.uow.begin(group_id) as tx:
            await tx.actions.complete(group_id, action.action_id)
            await tx.commit()

    async def _defer(self, action: ScheduledAction, error: MessengerUnavailable) -> None:
        """Rule 11: try again later; the first deferral is audited, later ones logged rarely."""
        failures, now = action.attempts + 1, self.clock.now()
        later = action.deferred(now, error.retry_after)
        at, wait = later.due_at, later.due_at - now
        first = action.attempts == 0
        async with self.uow.begin(action.group_id) as tx:
            await tx.actions.reschedule(later)
            if first:
                reason = reasons.ACTION_DEFERRED.format(
                    action=action.kind, seconds=f"{wait.total_seconds():g}", error=error
                )
                await tx.audit.record(
                    AuditEvent.action_failed(action.group_id, now, action.user_id, reason)
                )
            await tx.commit()
        level = logging.WARNING if worth_reporting(failures) else logging.DEBUG
        log.log(
            level,
            "action.deferred kind=%s group=%s user=%s failures=%s retry_in=%ss at=%s error=%s",
            action.kind,
            action.group_id,
            action.user_id,
            failures,
            f"{wait.total_seconds():g}",
            at.isoformat(timespec="seconds"),
            error,
        )

    async def _abandon(self, action: ScheduledAction, error: MessengerError) -> None:
        """A refusal: the action ends, audited."""
        log.warning(
            "action.refused kind=%s group=%s user=%s error=%s",
            action.kind,
            action.group_id,
            action.user_id,
            error,
        )
        async with self.uow.begin(action.group_id) as tx:
            await tx.actions.complete(action.group_id, action.action_id)
            reason = reasons.ACTION_REFUSED.format(
                action=action.kind, attempts=action.attempts + 1, error=error
            )
            await tx.audit.record(
                AuditEvent.action_failed(action.group_id, self.clock.now(), action.user_id, reason)
            )
            await tx.commit()
