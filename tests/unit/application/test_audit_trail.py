"""The audit trail in the log: one structured line per committed enforcement action (issue 14)."""

import logging

import pytest

from application.audit_trail import EVENT_NAMES, LoggedUnitOfWork, record
from domain.audit import AuditEvent, AuditKind
from tests.unit.world import ALICE, BOB, GROUP, NEWS, NEWS_CHANNEL, TALK, TALK_CHANNEL, World


def _audit_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "nezuko.audit"]


async def test_rule_9_a_mute_is_one_info_line_with_group_user_and_missing_as_fields(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await world.protect(NEWS_CHANNEL, TALK_CHANNEL)

    await world.say(ALICE)

    lines = {r.getMessage(): r for r in _audit_lines(caplog)}
    muted = lines["member.muted"]
    assert muted.levelno == logging.INFO
    assert muted.__dict__["group"] == GROUP
    assert muted.__dict__["user"] == ALICE
    assert muted.__dict__["missing"] == [NEWS, TALK]
    assert "missing" in muted.__dict__["reason"]
    assert lines["warning.sent"].__dict__["user"] == ALICE
    assert lines["message.deleted"].__dict__["user"] == ALICE


async def test_rule_9_a_message_that_passes_logs_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await world.protect(NEWS_CHANNEL)
    world.join(NEWS, BOB)
    caplog.set_level(logging.DEBUG)

    await world.say(BOB)

    assert _audit_lines(caplog) == []


async def test_rule_9_a_failure_is_a_debug_line_since_its_code_logs_the_warning(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    failed = AuditEvent.action_failed(GROUP, world.clock.now(), ALICE, "restrict: refused")

    await record(world.container.uow(), failed)

    [line] = _audit_lines(caplog)
    assert (line.getMessage(), line.levelno) == ("action.failed", logging.DEBUG)
    assert line.__dict__["reason"] == "restrict: refused"


async def test_rule_9_an_event_rolled_back_is_not_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    uow = LoggedUnitOfWork(world.uow)

    async with uow.begin(GROUP) as tx:
        await tx.audit.record(AuditEvent.kicked(GROUP, world.clock.now(), ALICE, "late"))

    assert _audit_lines(caplog) == []
    assert await world.audit() == []


def test_every_audit_kind_has_an_event_name() -> None:
    assert set(EVENT_NAMES) == set(AuditKind)
    assert len(set(EVENT_NAMES.values())) == len(AuditKind)
