"""The manual clock wakes sleepers in time order; the system clock sleeps until a time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from openfax.service.clock import ManualClock, SystemClock

pytestmark = pytest.mark.anyio

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


async def test_advance_wakes_sleepers_in_order_at_their_times() -> None:
    clock = ManualClock(START)
    woke: list[tuple[str, datetime]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep_until(START + timedelta(seconds=seconds))
        woke.append((name, clock.now()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in [("c", 30), ("a", 10), ("b", 20)]]
    await asyncio.sleep(0)  # one turn of the loop: the three start and sleep (no time passes)
    await clock.advance(25)
    assert [name for name, _ in woke] == ["a", "b"]
    assert woke[0][1] == START + timedelta(seconds=10)
    assert clock.now() == START + timedelta(seconds=25)
    await clock.advance(5)
    await asyncio.gather(*tasks)
    assert [name for name, _ in woke] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="does not go back"):
        await clock.set(START)


async def test_a_stall_wakes_every_sleeper_due_late_at_the_new_time() -> None:
    clock = ManualClock(START)
    woke: list[tuple[str, datetime]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep_until(START + timedelta(seconds=seconds))
        woke.append((name, clock.now()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in [("c", 30), ("a", 10), ("b", 20)]]
    await asyncio.sleep(0)
    await clock.stall(25)
    later = START + timedelta(seconds=25)
    assert woke == [("a", later), ("b", later)]
    assert clock.now() == later
    await clock.stall(5)
    await asyncio.gather(*tasks)
    assert woke[2] == ("c", START + timedelta(seconds=30))


async def test_system_clock_sleeps_until_a_wall_time() -> None:
    clock = SystemClock()
    target = clock.now() + timedelta(milliseconds=50)
    await clock.sleep_until(target)
    assert clock.now() >= target
    assert clock.now().tzinfo is UTC
