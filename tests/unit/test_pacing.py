"""The line pacer counts how late the event loop woke it: catch-up bursts and slipped time."""

from __future__ import annotations

import asyncio
import time

from openfax.pacing import LinePacer


def test_a_late_loop_is_caught_up_in_a_bounded_burst_and_counted() -> None:
    async def late_wake() -> tuple[LinePacer, int]:
        pacer = LinePacer(1.0, block_seconds=0.01, max_catch_up=5)
        await pacer.next_blocks()
        time.sleep(0.2)  # noqa: ASYNC251 (the loop is held: about 20 blocks come due meanwhile)
        return pacer, await pacer.next_blocks()

    pacer, blocks = asyncio.run(late_wake())
    assert blocks == 5
    assert pacer.caught_up >= 4
    assert pacer.slipped >= 10
    assert pacer.max_lateness >= 0.15


def test_an_unpaced_line_is_never_late() -> None:
    async def unpaced() -> LinePacer:
        pacer = LinePacer(None, block_seconds=0.02, unpaced_slice=7)
        assert await pacer.next_blocks() == 7
        return pacer

    pacer = asyncio.run(unpaced())
    assert (pacer.caught_up, pacer.slipped, pacer.max_lateness) == (0, 0, 0.0)
