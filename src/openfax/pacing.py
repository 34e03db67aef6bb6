"""Pacing a virtual line inside asyncio: line time at ``speed`` x the loop's monotonic clock.

A virtual line (the T.31 modem bridge, a loopback call) advances in blocks of audio or
T.38 ticks. Paced, it runs each block when it is due on the monotonic clock, catching up
in bursts if the loop was late and letting line time slip if it fell too far behind.
Unpaced (``speed`` None), it runs as fast as the CPU allows, in small slices with a yield
to the loop between them, so other calls and the rest of the service keep running.
"""

from __future__ import annotations

import asyncio

DEFAULT_MAX_CATCH_UP = 50
"""A late loop runs at most this many blocks in one burst (1 s of line time at 20 ms)."""

DEFAULT_UNPACED_SLICE = 25
"""Blocks run between two yields when unpaced: half a second of line time at 20 ms, well
under a millisecond of CPU for two engine sessions."""


class LinePacer:
    """Tell a line loop how many blocks to run now, sleeping until at least one is due.

    The loop calls :meth:`next_blocks` and runs that many blocks (fewer only if the call
    ends). The pacer starts its clock at the first call.
    """

    def __init__(
        self,
        speed: float | None,
        *,
        block_seconds: float,
        max_catch_up: int = DEFAULT_MAX_CATCH_UP,
        unpaced_slice: int = DEFAULT_UNPACED_SLICE,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be positive or None (unpaced), not {speed}")
        self.speed = speed
        self.max_catch_up = max_catch_up
        self.unpaced_slice = unpaced_slice
        self._tick = block_seconds / speed if speed is not None else 0.0
        self._started: float | None = None
        self._blocks = 0
        self.max_lateness = 0.0
        """The longest a block was run after it was due (loop seconds): how late the loop was."""
        self.caught_up = 0
        """Blocks run in catch-up bursts: every block of a burst after its first."""
        self.slipped = 0
        """Blocks given up because the loop fell more than ``max_catch_up`` behind."""

    async def next_blocks(self) -> int:
        """Wait until a block is due; return how many blocks to run now (at least one)."""
        if self.speed is None:
            await asyncio.sleep(0)
            return self.unpaced_slice
        loop = asyncio.get_running_loop()
        if self._started is None:
            self._started = loop.time()
        # A sleep until the next block is due, again if a float rounding woke it a hair early.
        while (due := int((loop.time() - self._started) / self._tick) - self._blocks) <= 0:  # noqa: ASYNC110
            await asyncio.sleep(self._started + (self._blocks + 1) * self._tick - loop.time())
        lateness = loop.time() - self._started - (self._blocks + 1) * self._tick
        self.max_lateness = max(self.max_lateness, lateness)
        if due > self.max_catch_up:
            self.slipped += due - self.max_catch_up
            self._blocks += due - self.max_catch_up
            due = self.max_catch_up
        self.caught_up += due - 1
        self._blocks += due
        return due
