"""The dependency-injector containers: the one place that binds every port to an adapter.

`Container` builds every use case from a messenger, a clock and a persistence family;
`memory_container()` and `postgres_container()` choose the family.

Containers stay synchronous (no async resources): the engine and the bot are created and
disposed by the entry point, and passed in.
"""

from typing import cast

from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.caches import InMemoryGroupCache, InMemoryMembershipCache
from adapters.memory.throttle import InMemoryThrottle
from adapters.memory.unit_of_work import InMemoryTenantDirectory, InMemoryUnitOfWork
from adapters.postgres.directory import PostgresTenantDirectory
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from adapters.system_clock import SystemClock
from application.enforcement import Enforcer
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.unit_of_work import TenantDirectory, UnitOfWork
from application.use_cases.change_settings import ChangeSettings
from application.use_cases.channel_member_changed import ChannelMemberChanged
from application.use_cases.check_rights import CheckRights
from application.use_cases.enforce_on_message import EnforceOnMessage
from application.use_cases.exempt_member import ExemptMember
from application.use_cases.explain_member import ExplainMember
from application.use_cases.on_bot_status_changed import OnBotStatusChanged
from application.use_cases.on_group_member_updated import OnGroupMemberUpdated
from application.use_cases.on_join_request import OnJoinRequest
from application.use_cases.press_verify import PressVerify
from application.use_cases.protect_group import ProtectGroup
from application.use_cases.run_due_actions import RunDueActions
from application.use_cases.schedule_deletion import ScheduleDeletion
from application.use_cases.show_status import ShowStatus
from application.use_cases.unexempt_member import UnexemptMember
from application.use_cases.unlink_channel import UnlinkChannel
from application.use_cases.unprotect_group import UnprotectGroup


class Container(containers.DeclarativeContainer):
    """Every use case, built on the four adapters it is given and the in-process caches."""

    # Ports are Protocols, which `Dependency(instance_of=...)` cannot check at run time; the
    # casts give the providers their types for pyright.
    messenger = cast("providers.Dependency[Messenger]", providers.Dependency())
    clock = cast("providers.Dependency[Clock]", providers.Dependency())
    uow = cast("providers.Dependency[UnitOfWork]", providers.Dependency())
    directory = cast("providers.Dependency[TenantDirectory]", providers.Dependency())

    # In process whatever the persistence: DESIGN §5 keeps hot-path data here.
    memberships = providers.Singleton(InMemoryMembershipCache, clock=clock)
    groups = providers.Singleton(InMemoryGroupCache, clock=clock)
    throttle = providers.Singleton(InMemoryThrottle, clock=clock)

    enforcer = providers.Singleton(
        Enforcer,
        uow=uow,
        messenger=messenger,
        clock=clock,
        memberships=memberships,
        groups=groups,
        throttle=throttle,
    )

    # Events
    enforce_on_message = providers.Factory(EnforceOnMessage, enforcer=enforcer)
    on_group_member_updated = providers.Factory(OnGroupMemberUpdated, enforcer=enforcer)
    channel_member_changed = providers.Factory(
        ChannelMemberChanged, enforcer=enforcer, directory=directory
    )
    press_verify = providers.Factory(PressVerify, enforcer=enforcer, throttle=throttle)
    on_bot_status_changed = providers.Factory(
        OnBotStatusChanged, enforcer=enforcer, directory=directory
    )
    on_join_request = providers.Factory(OnJoinRequest, enforcer=enforcer)
    run_due_actions = providers.Factory(RunDueActions, enforcer=enforcer, directory=directory)
    schedule_deletion = providers.Factory(ScheduleDeletion, enforcer=enforcer)

    # Admin commands
    protect_group = providers.Factory(ProtectGroup, enforcer=enforcer)
    unprotect_group = providers.Factory(UnprotectGroup, enforcer=enforcer)
    unlink_channel = providers.Factory(UnlinkChannel, enforcer=enforcer)
    show_status = providers.Factory(ShowStatus, enforcer=enforcer)
    change_settings = providers.Factory(ChangeSettings, enforcer=enforcer)
    exempt_member = providers.Factory(ExemptMember, enforcer=enforcer)
    unexempt_member = providers.Factory(UnexemptMember, enforcer=enforcer)
    check_rights = providers.Factory(CheckRights, enforcer=enforcer)
    explain_member = providers.Factory(ExplainMember, enforcer=enforcer)


def memory_container(messenger: Messenger, clock: Clock | None = None) -> Container:
    """Persistence in process memory (tests, and a run that keeps nothing)."""
    uow = InMemoryUnitOfWork()
    return Container(
        messenger=messenger,
        clock=clock or SystemClock(),
        uow=uow,
        directory=InMemoryTenantDirectory(uow),
    )


def postgres_container(
    messenger: Messenger, engine: AsyncEngine, clock: Clock | None = None
) -> Container:
    """Persistence in PostgreSQL, through an engine connected as the runtime role."""
    return Container(
        messenger=messenger,
        clock=clock or SystemClock(),
        uow=PostgresUnitOfWork(engine),
        directory=PostgresTenantDirectory(engine),
    )
