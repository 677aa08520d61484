"""The dependency-injector containers: the one place that binds every port to an adapter.

`Container` builds the shared collaborators, every use case and the two groups of use cases the
Telegram handlers take (`events`, `commands`) from a messenger, a clock and a persistence
family. The family is a container of its own, swapped whole (as in dependency-injector's
`miniapps/use-cases` example): `MemoryPersistence` or `PostgresPersistence`.
`memory_container()` and `postgres_container()` put the pieces together.

Containers stay synchronous (no async resources): the engine and the bot are created and
disposed by the entry point, and passed in.
"""

from typing import ClassVar, cast

from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.caches import (
    InMemoryGroupCache,
    InMemoryMembershipCache,
    InMemoryUsernameCache,
)
from adapters.memory.invalidations import InMemoryInvalidations
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.throttle import InMemoryThrottle
from adapters.memory.unit_of_work import InMemoryTenantDirectory, InMemoryUnitOfWork
from adapters.metrics import count_audit_event
from adapters.postgres.directory import PostgresTenantDirectory
from adapters.postgres.notifications import PostgresInvalidations
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from adapters.system_clock import SystemClock
from adapters.telegram.handlers import Commands, Events
from application.admin_notices import AdminNotices
from application.audit_trail import LoggedUnitOfWork
from application.background import Senders
from application.join_gate import JoinGate
from application.lookups import Lookups
from application.ports.clock import Clock
from application.ports.invalidations import Invalidations
from application.ports.messenger import Messenger
from application.ports.unit_of_work import TenantDirectory, UnitOfWork
from application.raids import Raids
from application.restrictions import Restrictions
from application.shared_caches import CacheInvalidation, SharedGroupCache, SharedMembershipCache
from application.targeting import Targets
from application.use_cases.answer_in_group import AnswerInGroup
from application.use_cases.change_settings import ChangeSettings
from application.use_cases.channel_member_changed import ChannelMemberChanged
from application.use_cases.check_rights import CheckRights
from application.use_cases.choose_language import ChooseLanguage
from application.use_cases.control_raid import ControlRaid
from application.use_cases.enforce_membership import EnforceMembership
from application.use_cases.exempt_member import ExemptMember
from application.use_cases.explain_member import ExplainMember
from application.use_cases.gate_member_command import GateMemberCommand
from application.use_cases.list_configurable_groups import ListConfigurableGroups
from application.use_cases.list_exempted import ListExempted
from application.use_cases.list_muted import ListMuted
from application.use_cases.on_bot_status_changed import OnBotStatusChanged
from application.use_cases.on_group_member_updated import OnGroupMemberUpdated
from application.use_cases.on_join_request import OnJoinRequest
from application.use_cases.post_audit_log import PostAuditLog
from application.use_cases.press_verify import PressVerify
from application.use_cases.protect_group import ProtectGroup
from application.use_cases.refresh_raid import RefreshRaid
from application.use_cases.remember_username import RememberUsername
from application.use_cases.retire_stale_warning import RetireStaleWarning
from application.use_cases.run_due_actions import RunDueActions
from application.use_cases.schedule_deletion import ScheduleDeletion
from application.use_cases.send_answers import SendAnswers
from application.use_cases.send_gate_invitations import SendGateInvitations
from application.use_cases.send_notices import SendNotices
from application.use_cases.send_warnings import SendWarnings
from application.use_cases.set_log_channel import SetLogChannel
from application.use_cases.show_log import ShowLog
from application.use_cases.show_my_mutes import ShowMyMutes
from application.use_cases.show_status import ShowStatus
from application.use_cases.unexempt_member import UnexemptMember
from application.use_cases.unlink_channel import UnlinkChannel
from application.use_cases.unprotect_group import UnprotectGroup
from application.use_cases.verify_join_request import VerifyJoinRequest


class MemoryPersistence(containers.DeclarativeContainer):
    """State in process memory: tests, and a run that keeps nothing (`nezuko run --memory`)."""

    uow = providers.Singleton(InMemoryUnitOfWork)
    directory = providers.Singleton(InMemoryTenantDirectory, uow)
    invalidations = providers.Singleton(InMemoryInvalidations)  # one process: nobody to tell


class PostgresPersistence(containers.DeclarativeContainer):
    """State in PostgreSQL, through an engine connected as the runtime role."""

    engine = providers.Dependency(instance_of=AsyncEngine)
    uow = providers.Singleton(PostgresUnitOfWork, engine)
    directory = providers.Singleton(PostgresTenantDirectory, engine)
    # Other workers on the same database hear what this one changes (LISTEN/NOTIFY).
    invalidations = providers.Singleton(PostgresInvalidations, engine)


class Container(containers.DeclarativeContainer):
    """Every use case, built on the adapters it is given and the in-process caches."""

    persistence = providers.DependenciesContainer()
    # Ports are Protocols, which `Dependency(instance_of=...)` cannot check at run time; the
    # casts give the providers their types for pyright (a family's providers are untyped).
    messenger = cast("providers.Dependency[Messenger]", providers.Dependency())
    clock = cast("providers.Dependency[Clock]", providers.Dependency())
    # Every audit event committed is also a log line (application.audit_trail).
    uow = providers.Singleton(
        LoggedUnitOfWork,
        cast("providers.Provider[UnitOfWork]", persistence.uow),  # pyright: ignore[reportUnknownMemberType]
        observers=providers.Object((count_audit_event,)),
    )
    directory = cast("providers.Provider[TenantDirectory]", persistence.directory)  # pyright: ignore[reportUnknownMemberType]

    invalidations = cast("providers.Provider[Invalidations]", persistence.invalidations)  # pyright: ignore[reportUnknownMemberType]

    # In process whatever the persistence: DESIGN §5 keeps hot-path data here. What this
    # process changes, the others drop (issue 15); `cache_invalidation` applies what they
    # changed to the local caches.
    local_memberships = providers.Singleton(InMemoryMembershipCache, clock=clock)
    local_groups = providers.Singleton(InMemoryGroupCache, clock=clock)
    memberships = providers.Singleton(
        SharedMembershipCache, local=local_memberships, invalidations=invalidations
    )
    groups = providers.Singleton(SharedGroupCache, local=local_groups, invalidations=invalidations)

    throttle = providers.Singleton(InMemoryThrottle, clock=clock)
    outbox = providers.Singleton(InMemoryOutbox)
    usernames = providers.Singleton(InMemoryUsernameCache, clock=clock)

    # Collaborators shared by the use cases; singletons, since they hold the in-flight locks.
    lookups = providers.Singleton(
        Lookups, uow=uow, messenger=messenger, memberships=memberships, groups=groups
    )
    targets = providers.Singleton(Targets, uow=uow, messenger=messenger)
    notices = providers.Singleton(
        AdminNotices, uow=uow, clock=clock, throttle=throttle, outbox=outbox
    )
    raids = providers.Singleton(
        Raids, uow=uow, clock=clock, groups=groups, outbox=outbox, invalidations=invalidations
    )
    cache_invalidation = providers.Singleton(
        CacheInvalidation, memberships=local_memberships, groups=local_groups, raids=raids
    )
    restrictions = providers.Singleton(
        Restrictions,
        uow=uow,
        messenger=messenger,
        clock=clock,
        memberships=memberships,
        throttle=throttle,
        notices=notices,
        outbox=outbox,
    )
    gate = providers.Singleton(
        JoinGate, lookups=lookups, messenger=messenger, uow=uow, clock=clock
    )

    # Events
    enforce_membership = providers.Factory(
        EnforceMembership,
        lookups=lookups,
        restrictions=restrictions,
        notices=notices,
        messenger=messenger,
        raids=raids,
    )
    on_group_member_updated = providers.Factory(
        OnGroupMemberUpdated,
        enforce=enforce_membership,
        memberships=memberships,
        messenger=messenger,
        uow=uow,
        clock=clock,
    )
    channel_member_changed = providers.Factory(
        ChannelMemberChanged,
        lookups=lookups,
        restrictions=restrictions,
        memberships=memberships,
        messenger=messenger,
        uow=uow,
        directory=directory,
        gate=gate,
    )
    retire_stale_warning = providers.Factory(
        RetireStaleWarning, uow=uow, messenger=messenger, clock=clock
    )
    press_verify = providers.Factory(
        PressVerify,
        lookups=lookups,
        restrictions=restrictions,
        throttle=throttle,
        uow=uow,
        stale_warnings=retire_stale_warning,
    )
    on_bot_status_changed = providers.Factory(
        OnBotStatusChanged,
        notices=notices,
        lookups=lookups,
        memberships=memberships,
        messenger=messenger,
        uow=uow,
        clock=clock,
        directory=directory,
    )
    on_join_request = providers.Factory(
        OnJoinRequest, lookups=lookups, gate=gate, uow=uow, clock=clock, outbox=outbox
    )
    send_gate_invitations = providers.Factory(
        SendGateInvitations, lookups=lookups, gate=gate, messenger=messenger, uow=uow, clock=clock
    )
    verify_join_request = providers.Factory(
        VerifyJoinRequest, lookups=lookups, gate=gate, throttle=throttle
    )
    run_due_actions = providers.Factory(
        RunDueActions,
        lookups=lookups,
        restrictions=restrictions,
        messenger=messenger,
        uow=uow,
        clock=clock,
        directory=directory,
        gate=gate,
    )
    schedule_deletion = providers.Factory(ScheduleDeletion, uow=uow, clock=clock)
    answer_in_group = providers.Factory(AnswerInGroup, messenger=messenger, uow=uow, clock=clock)
    send_answers = providers.Factory(SendAnswers, messenger=messenger, uow=uow, clock=clock)
    remember_username = providers.Factory(RememberUsername, uow=uow, recorded=usernames)
    send_warnings = providers.Factory(
        SendWarnings, lookups=lookups, messenger=messenger, uow=uow, clock=clock, raids=raids
    )
    send_notices = providers.Factory(
        SendNotices, lookups=lookups, messenger=messenger, uow=uow, clock=clock
    )
    refresh_raid = providers.Factory(
        RefreshRaid, raids=raids, lookups=lookups, messenger=messenger, uow=uow, clock=clock
    )
    senders = providers.Factory(
        Senders,
        answers=send_answers,
        invitations=send_gate_invitations,
        warnings=send_warnings,
        raid=refresh_raid,
        notices=send_notices,
    )
    post_audit_log = providers.Factory(PostAuditLog, uow=uow, messenger=messenger, clock=clock)

    # Admin commands (those that change a group's configuration take the same four)
    _configures: ClassVar = {"uow": uow, "messenger": messenger, "clock": clock, "groups": groups}
    protect_group = providers.Factory(ProtectGroup, **_configures)
    unprotect_group = providers.Factory(UnprotectGroup, **_configures)
    unlink_channel = providers.Factory(UnlinkChannel, **_configures)
    show_status = providers.Factory(ShowStatus, uow=uow, messenger=messenger)
    change_settings = providers.Factory(ChangeSettings, **_configures)
    exempt_member = providers.Factory(ExemptMember, **_configures, targets=targets)
    unexempt_member = providers.Factory(UnexemptMember, **_configures, targets=targets)
    set_log_channel = providers.Factory(SetLogChannel, **_configures)
    list_configurable_groups = providers.Factory(
        ListConfigurableGroups, directory=directory, uow=uow, messenger=messenger
    )
    check_rights = providers.Factory(CheckRights, uow=uow, messenger=messenger)
    explain_member = providers.Factory(
        ExplainMember, lookups=lookups, uow=uow, messenger=messenger, targets=targets
    )
    list_muted = providers.Factory(ListMuted, uow=uow, messenger=messenger)
    show_my_mutes = providers.Factory(ShowMyMutes, directory=directory, uow=uow)
    gate_member_command = providers.Factory(
        GateMemberCommand, messenger=messenger, throttle=throttle
    )
    list_exempted = providers.Factory(ListExempted, uow=uow, messenger=messenger)
    show_log = providers.Factory(ShowLog, uow=uow, messenger=messenger)
    control_raid = providers.Factory(
        ControlRaid, raids=raids, lookups=lookups, uow=uow, messenger=messenger
    )
    choose_language = providers.Factory(ChooseLanguage, lookups=lookups)

    # What the Telegram handlers take
    events = providers.Factory(
        Events,
        enforce=enforce_membership,
        group_member=on_group_member_updated,
        channel_member=channel_member_changed,
        verify=press_verify,
        stale_warning=retire_stale_warning,
        answer=answer_in_group,
        member_command=gate_member_command,
        my_mutes=show_my_mutes,
        bot_status=on_bot_status_changed,
        join_request=on_join_request,
        gate_verify=verify_join_request,
        usernames=remember_username,
        language=choose_language,
    )
    commands = providers.Factory(
        Commands,
        protect=protect_group,
        unprotect=unprotect_group,
        unlink=unlink_channel,
        status=show_status,
        settings=change_settings,
        exempt=exempt_member,
        unexempt=unexempt_member,
        check=check_rights,
        explain=explain_member,
        muted=list_muted,
        exempted=list_exempted,
        log=show_log,
        raid=control_raid,
        setlog=set_log_channel,
        configurable=list_configurable_groups,
        language=choose_language,
    )


def memory_container(messenger: Messenger, clock: Clock | None = None) -> Container:
    """Persistence in process memory (tests, and a run that keeps nothing)."""
    return Container(
        persistence=MemoryPersistence(), messenger=messenger, clock=clock or SystemClock()
    )


def postgres_container(
    messenger: Messenger, engine: AsyncEngine, clock: Clock | None = None
) -> Container:
    """Persistence in PostgreSQL, through an engine connected as the runtime role."""
    return Container(
        persistence=PostgresPersistence(engine=engine),
        messenger=messenger,
        clock=clock or SystemClock(),
    )
