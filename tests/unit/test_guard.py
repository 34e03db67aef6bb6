"""The unit half's guard (tests/unit/conftest.py) fails a unit test that binds or connects a
socket or starts a process, naming the test and the call, even when the test swallows the
error or makes the call from a thread it started; a thread that was running before the test
(an integration test's client in the same worker) is not the test's doing. The guard refuses
each call before it reaches the system, so the tests it runs here (in a nested pytest session)
do no I/O, but for the thread from before, which connects to a path that does not exist."""

from __future__ import annotations

import pytest

WRONG_TESTS = """
import socket
import subprocess
import threading


def connect_nowhere():
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect("/nonexistent/openfax.sock")
    except OSError:
        pass


go = threading.Event()
running_before = threading.Thread(target=lambda: go.wait() and connect_nowhere())
running_before.start()


def test_binds_a_socket():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))


def test_starts_a_process():
    subprocess.run(["true"], check=True)


def test_swallows_the_error():
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect("/nonexistent/openfax.sock")
    except Exception:
        pass


def test_connects_from_a_thread_it_starts():
    thread = threading.Thread(target=connect_nowhere)
    thread.start()
    thread.join()


def test_computes():
    assert sum(range(4)) == 6


def test_computes_while_a_thread_from_before_connects():
    go.set()
    running_before.join()
"""


def test_the_guard_fails_each_unit_test_that_opens_a_socket_or_starts_a_process(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_wrong=WRONG_TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "tests.unit.conftest", "-p", "no:cacheprovider", "-p", "no:timeout"
    )
    result.assert_outcomes(passed=2, failed=4)
    result.stdout.fnmatch_lines_random(
        [
            "*test_wrong.py::test_binds_a_socket called socket.bind(AF_INET, ('127.0.0.1', 0))*",
            "*test_wrong.py::test_starts_a_process called subprocess.Popen('true', *",
            "*test_wrong.py::test_swallows_the_error called socket.connect(AF_UNIX, "
            "'/nonexistent/openfax.sock')*move it to tests/integration*",
            "*test_wrong.py::test_connects_from_a_thread_it_starts called "
            "socket.connect(AF_UNIX, *",
        ]
    )
