"""The unit half's rule, enforced: a test under tests/unit opens no socket of any family, starts
no process and reaches no PostgreSQL, so the half runs in seconds without the Debian test
packages. A test that needs any of these belongs in tests/integration.

An audit hook (``sys.addaudithook``) watches the calls below while a unit test's setup, call or
teardown runs, in the test's thread and in any thread started meanwhile: the call raises
``UnitTestIOError`` naming the test and the call, and the test fails even if it caught that.
Threads that were running before (an integration test's client in the same xdist worker) are
not the unit test's doing, and the session's own teardown after the last test (stopping the
PostgreSQL server) is not either. libpq's connections do not pass through Python's
``socket`` module, so the ``postgresql`` fixture refuses unit tests itself.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest

WATCHED = frozenset(
    {
        "socket.bind",
        "socket.connect",
        "socket.sendmsg",
        "socket.sendto",
        "subprocess.Popen",
        "os.exec",
        "os.fork",
        "os.forkpty",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
    }
)
"""The audit events (https://docs.python.org/3/library/audit_events.html) a unit test may not
raise: reaching a peer through a socket, or starting a program."""


class UnitTestIOError(Exception):
    """A unit test opened a socket or started a process."""


class _Watch:
    """The unit test running now and the forbidden calls it made."""

    def __init__(self, test: str) -> None:
        self.test = test
        self.calls: list[str] = []
        self.others = {thread.ident for thread in threading.enumerate()} - {threading.get_ident()}
        """The threads already running besides the test's own: not the test's doing."""


_watch: _Watch | None = None


def _describe(event: str, args: tuple[object, ...]) -> str:
    """The call as a reader recognises it: the socket's family and address, or the program."""
    if event.startswith("socket.") and args and isinstance(args[0], socket.socket):
        return f"{event}({args[0].family.name}, {args[-1]!r})"
    if event == "subprocess.Popen" and args:
        return f"{event}({args[0]!r}, {args[1]!r})"
    return f"{event}{args!r}"


def _audit(event: str, args: tuple[object, ...]) -> None:
    watch = _watch
    if watch is None or event not in WATCHED or threading.get_ident() in watch.others:
        return
    call = _describe(event, args)
    watch.calls.append(call)
    raise UnitTestIOError(
        f"{watch.test} called {call}: a unit test opens no socket and starts no process "
        "(move it to tests/integration)"
    )


sys.addaudithook(_audit)


@contextmanager
def _watching(item: pytest.Item) -> Iterator[None]:
    """Watch ``item``'s calls for the while, then fail it if it made a forbidden one (even one
    whose exception it swallowed); a nested session's test (the guard's own test) has its own
    watch and gives the outer one back."""
    global _watch
    outer, watch = _watch, _Watch(item.nodeid)
    _watch = watch
    try:
        yield
    finally:
        _watch = outer
    if watch.calls:
        pytest.fail(
            f"{watch.test} called {', '.join(watch.calls)}: a unit test opens no socket and "
            "starts no process (move it to tests/integration)",
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with _watching(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with _watching(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, None, None]:
    if nextitem is None:
        return (yield)
    with _watching(item):
        return (yield)


@pytest.fixture
def postgresql(request: pytest.FixtureRequest) -> NoReturn:
    """Refuses: the session's PostgreSQL server is for tests/integration."""
    pytest.fail(
        f"{request.node.nodeid} asked for PostgreSQL: a unit test reaches no database server "
        "(move it to tests/integration)",
        pytrace=False,
    )
