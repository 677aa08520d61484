"""FairSlots: the update processor's handling slots, admitted round-robin by chat (issue 10)."""

import asyncio

from adapters.telegram.update_processor import FairSlots


async def test_a_quiet_chat_is_admitted_before_a_busy_chats_backlog() -> None:
    slots = FairSlots(2)
    admitted: list[str] = []
    release = asyncio.Event()

    async def handle(chat: str, name: str) -> None:
        async with slots.slot(chat):
            admitted.append(name)
            await release.wait()

    async with asyncio.TaskGroup() as tasks:
        for n in range(6):  # a raid: the busy chat fills both slots and queues four more
            tasks.create_task(handle("raided", f"raid {n}"))
        await asyncio.sleep(0)
        tasks.create_task(handle("quiet", "status"))  # arrives last
        await asyncio.sleep(0)
        assert admitted == ["raid 0", "raid 1"]
        release.set()

    assert admitted.index("status") <= 3  # next after a slot or two frees, not after the raid
    assert [a for a in admitted if a.startswith("raid")] == [f"raid {n}" for n in range(6)]


async def test_at_most_size_hold_a_slot_and_every_waiter_gets_one() -> None:
    slots = FairSlots(3)
    holding = peak = 0

    async def handle(chat: int) -> None:
        nonlocal holding, peak
        async with slots.slot(chat):
            holding += 1
            peak = max(peak, holding)
            await asyncio.sleep(0.001)
            holding -= 1

    async with asyncio.TaskGroup() as tasks:
        for n in range(40):
            tasks.create_task(handle(n % 4))

    assert peak == 3
    assert holding == 0


async def test_a_waiter_cancelled_before_its_turn_gives_its_place_up() -> None:
    slots = FairSlots(1)
    done: list[str] = []
    release = asyncio.Event()

    async def handle(chat: str, name: str) -> None:
        async with slots.slot(chat):
            done.append(name)
            await release.wait()

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(handle("a", "first"))
        await asyncio.sleep(0)
        doomed = tasks.create_task(handle("b", "cancelled"))
        tasks.create_task(handle("c", "third"))
        await asyncio.sleep(0)
        doomed.cancel()
        await asyncio.sleep(0)
        release.set()

    assert done == ["first", "third"]
