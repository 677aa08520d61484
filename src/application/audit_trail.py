"""Appending to a group's audit trail outside any other transaction (rule 9)."""

from application.ports.unit_of_work import UnitOfWork
from domain.audit import AuditEvent


async def record(uow: UnitOfWork, event: AuditEvent) -> None:
    """Append one audit event in its own short transaction."""
    async with uow.begin(event.group_id) as tx:
        await tx.audit.record(event)
        await tx.commit()
