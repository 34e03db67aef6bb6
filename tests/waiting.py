"""Waiting in tests for a condition, never for a fixed time: the condition is asked again
and again until it holds, and a time-out fails the test naming what it waited for.

Where an event says the thing happened (the server's event stream, a progress callback),
wait for that event instead; this is for the state no event announces."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

WAIT_SECONDS = 60.0
"""How long a condition may take on a loaded machine before the test fails."""
POLL_SECONDS = 0.05
"""How often a condition is asked in a thread: mostly a request to openfaxd."""
ASYNC_POLL_SECONDS = 0.02
"""How often a coroutine asks: mostly a query of the service in the same process."""


def wait_until(
    condition: Callable[[], T | None],
    what: str | Callable[[], str],
    timeout: float = WAIT_SECONDS,
    *,
    poll: float = POLL_SECONDS,
) -> T:
    """``condition()``'s first true value; AssertionError saying ``what`` was awaited if
    none came within ``timeout`` seconds (a function ``what`` is asked then, to say what
    was seen). It is asked every ``poll`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise _timed_out(what, timeout)
        time.sleep(poll)
    return value


@overload
async def until(
    condition: Callable[[], Awaitable[T | None]],
    what: str | Callable[[], str],
    timeout: float = ...,
    *,
    poll: float = ...,
) -> T: ...


@overload
async def until(
    condition: Callable[[], T | None],
    what: str | Callable[[], str],
    timeout: float = ...,
    *,
    poll: float = ...,
) -> T: ...


async def until(
    condition: Callable[[], Any],
    what: str | Callable[[], str],
    timeout: float = WAIT_SECONDS,
    *,
    poll: float = ASYNC_POLL_SECONDS,
) -> Any:
    """:func:`wait_until` in a coroutine: the event loop runs between the asks (every
    ``poll`` seconds, or every turn of the loop with 0). ``condition`` may be a coroutine
    function."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise _timed_out(what, timeout)
        await asyncio.sleep(poll)


def _timed_out(what: str | Callable[[], str], timeout: float) -> AssertionError:
    return AssertionError(f"waited {timeout:g} s until {what if isinstance(what, str) else what()}")
