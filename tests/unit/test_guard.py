"""The unit half's guard (tests/unit/conftest.py) fails a unit test that binds or connects a
socket or starts a process, naming the test and the call, even when the test swallows the
error. The guard refuses each call before it reaches the system, so the tests it runs here
(in a nested pytest session) do no I/O either."""

from __future__ import annotations

import pytest

WRONG_TESTS = """
import socket
import subprocess


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


def test_computes():
    assert sum(range(4)) == 6
"""


def test_the_guard_fails_each_unit_test_that_opens_a_socket_or_starts_a_process(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_wrong=WRONG_TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "tests.unit.conftest", "-p", "no:cacheprovider", "-p", "no:timeout"
    )
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "*test_wrong.py::test_binds_a_socket called socket.bind(AF_INET, ('127.0.0.1', 0))*",
            "*test_wrong.py::test_starts_a_process called subprocess.Popen('true', *",
            "*test_wrong.py::test_swallows_the_error called socket.connect(AF_UNIX, "
            "'/nonexistent/openfax.sock')*move it to tests/integration*",
        ]
    )
