"""`/settings [key value]`: show or change a group's settings."""

import attrs

from application.authorization import Caller, ensure_can_configure
from application.ports.caches import GroupCache
from application.ports.clock import Clock
from application.ports.messenger import Messenger
from application.ports.unit_of_work import UnitOfWork
from domain import reasons
from domain.audit import AuditEvent, AuditKind
from domain.errors import InvalidSetting, SettingProblem
from domain.ids import GroupId
from domain.policy import GroupPolicy, GroupSettings, RequiredChannel


@attrs.frozen
class SettingsCommand:
    """With no key, show the settings; with a key and a value, change one."""

    group_id: GroupId
    caller: Caller
    key: str | None = None
    value: str | None = None


@attrs.frozen
class SettingsResult:
    """The settings after the command, and the key that changed, if any."""

    settings: GroupSettings
    changed: str | None = None
    group_title: str = ""
    """The group's title as stored (a menu in a private chat names the group)."""
    channels: tuple[RequiredChannel, ...] = ()
    """The group's required channels (the preview of a custom warning lists them)."""


@attrs.frozen
class ChangeSettings:
    """View or change settings, validated by the domain.

    - Settings can be changed before the group is protected; they apply once it is.
    - A change is audited with the admin who made it and takes effect at once.
    """

    uow: UnitOfWork
    messenger: Messenger
    clock: Clock
    groups: GroupCache

    async def execute(self, command: SettingsCommand) -> SettingsResult:
        """Show, or validate and store one change.

        Raises:
            UnknownSetting: the key is not a setting.
            InvalidSetting: the value is missing or not allowed.
        """
        group_id = command.group_id
        await ensure_can_configure(self.messenger, group_id, command.caller)
        if command.key is None:
            async with self.uow.begin(group_id) as tx:
                policy = await tx.groups.get(group_id)
            if policy is None:
                return SettingsResult(GroupSettings())
            return SettingsResult(policy.settings, None, policy.title, policy.channels)
        if command.value is None:
            raise InvalidSetting(command.key, "", SettingProblem.VALUE_NEEDED)
        async with self.uow.begin(group_id) as tx:
            policy = await tx.groups.get(group_id) or GroupPolicy(group_id)
            settings = policy.settings.changed(command.key, command.value)
            await tx.groups.save(policy.with_settings(settings))
            await tx.audit.record(
                AuditEvent.by(
                    command.caller.user_id,
                    AuditKind.SETTING_CHANGED,
                    group_id,
                    self.clock.now(),
                    reason=reasons.SETTING.format(key=command.key, value=command.value[:200]),
                )
            )
            await tx.commit()
        await self.groups.forget(group_id)
        return SettingsResult(settings, command.key, policy.title, policy.channels)
