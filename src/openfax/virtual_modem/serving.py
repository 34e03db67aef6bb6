"""How a virtual device (a modem pair, a faulty modem) is served: its ``run`` coroutine in a
task of the running event loop, or in a thread of its own for code that has no loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self


class Serving:
    """A device served by its :meth:`run` coroutine until cancelled, then closed.

    ``async with device:`` serves it in a task of the running loop for the block;
    ``with device.in_thread():`` in a thread of its own. Either way, an error that stopped
    it is raised at the end of the block, and the device is closed.
    """

    _task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Serve the device until cancelled."""
        raise NotImplementedError

    def close(self) -> None:
        """Free what the device holds (idempotent)."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self.run(), name=type(self).__name__)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        task, self._task = self._task, None
        outcome: BaseException | None = None
        if task is not None:
            task.cancel()
            (outcome,) = await asyncio.gather(task, return_exceptions=True)
        self.close()
        if isinstance(outcome, Exception):
            raise outcome

    @contextmanager
    def in_thread(self) -> Iterator[Self]:
        """Serve the device from a thread of its own for the ``with`` block."""
        loop = asyncio.new_event_loop()
        task = loop.create_task(self.run())
        failure: list[BaseException] = []

        def serve() -> None:
            try:
                loop.run_until_complete(task)
            except asyncio.CancelledError:
                pass
            except BaseException as exc:  # handed to the thread that owns the device
                failure.append(exc)

        thread = threading.Thread(target=serve, name=type(self).__name__, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(task.cancel)
            thread.join()
            loop.close()
            self.close()
        if failure:
            raise failure[0]
