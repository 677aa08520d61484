"""Join requests: audited for protected groups, left pending for the admins, never an error."""

from application.use_cases.on_join_request import JoinRequestCommand, JoinRequestOutcome
from domain.audit import AuditKind
from tests.unit.world import CAROL, GROUP, NEWS, World


async def test_a_request_to_a_protected_group_is_audited_and_costs_no_telegram_call(
    world: World,
) -> None:
    await world.protect()
    calls = len(world.messenger.calls)
    outcome = await world.on_join_request.execute(JoinRequestCommand(GROUP, CAROL))
    assert outcome is JoinRequestOutcome.RECORDED
    events = await world.audit()
    assert events[-1].kind is AuditKind.JOIN_REQUESTED
    assert events[-1].subject == CAROL
    assert len(world.messenger.calls) == calls


async def test_requests_to_unprotected_groups_and_channels_are_not_recorded(
    world: World,
) -> None:
    assert await world.on_join_request.execute(JoinRequestCommand(GROUP, CAROL)) is (
        JoinRequestOutcome.NOT_PROTECTED
    )
    assert await world.on_join_request.execute(
        JoinRequestCommand(NEWS, CAROL, is_channel=True)
    ) is (JoinRequestOutcome.NOT_PROTECTED)
    assert AuditKind.JOIN_REQUESTED not in await world.audit_kinds()
