"""openfaxd under systemd: the notify protocol spoken to a real datagram socket standing
in for systemd (READY once the API answers, WATCHDOG repeated, STOPPING at SIGTERM), the
unit file as ``systemd-analyze verify`` reads it, and the daemon under ``systemd-run``
where systemd runs."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openfax.client import FaxServer
from openfax.errors import ConfigError, FaxError
from openfax.paths import SERVICE_SOCKET
from openfax.service.config_file import load_config
from openfax.systemd import READY, Notifier
from tests.daemon import Daemon
from tests.waiting import wait_until

ROOT = Path(__file__).parents[3]
UNIT = ROOT / "packaging" / "openfaxd.service"
WATCHDOG_USEC = 200_000
"""The test's watchdog interval: a ping every 0.1 s, so several come within a second."""


class FakeSystemd:
    """A Unix datagram socket where systemd would listen, and the notifications read from
    it in a thread. On READY=1 it asks the daemon's ``/readyz`` at once, so the answer
    says whether the API was up when READY was sent."""

    def __init__(self, address: str, api_socket: Path | None = None) -> None:
        self.address = address
        self.api_socket = api_socket
        self.messages: list[str] = []
        self.readiness_at_ready: int | str | None = None
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        target = "\0" + address[1:] if address.startswith("@") else address
        self._socket.bind(target)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                message = self._socket.recv(4096).decode()
            except OSError:  # closed at the end
                return
            if READY in message.splitlines() and self.api_socket is not None:
                self.readiness_at_ready = _readiness(self.api_socket)
            with self._lock:
                self.messages.append(message)

    def fields(self) -> list[str]:
        """Every ``KEY=value`` line received so far, in order."""
        with self._lock:
            return [line for message in self.messages for line in message.splitlines()]

    def close(self) -> None:
        self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._thread.join(timeout=10)


def _readiness(api_socket: Path) -> int | str:
    """``/readyz``'s status code over the daemon's socket, or why it could not be asked."""
    transport = httpx.HTTPTransport(uds=str(api_socket))
    try:
        with httpx.Client(base_url="http://openfaxd", transport=transport, timeout=30) as local:
            return local.get("/readyz").status_code
    except httpx.HTTPError as exc:
        return repr(exc)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: a Unix socket's path holds at most 107 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="ofx-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_openfaxd_tells_systemd_ready_watchdog_and_stopping(
    tmp_path: Path, short_dir: Path
) -> None:
    notify = short_dir / "notify"
    env = {"NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    daemon = Daemon(tmp_path / "data", env=env)
    systemd = FakeSystemd(str(notify), api_socket=daemon.socket)
    try:
        daemon.start()
        wait_until(lambda: READY in systemd.fields(), "READY=1 from openfaxd")
        # The daemon's API answered, ready, at the moment READY arrived.
        assert systemd.readiness_at_ready == 200
        first = systemd.fields()
        assert first[0] == READY, first  # nothing before it: no watchdog while it starts
        assert any(field.startswith("STATUS=serving the API on") for field in first)
        wait_until(
            lambda: systemd.fields().count("WATCHDOG=1") >= 3,
            lambda: f"three WATCHDOG=1 (got {systemd.fields()})",
        )
        assert daemon.stop() == 0
        fields = systemd.fields()
        assert "STOPPING=1" in fields, fields
        assert fields.index("STOPPING=1") > fields.index(READY)
        assert fields.count(READY) == 1
    finally:
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.kill()
        systemd.close()


def test_notifier_abstract_socket_and_watchdog_of_another_process() -> None:
    """An ``@name`` socket is the abstract namespace; a ``WATCHDOG_PID`` of another process
    (a parent that set it for itself) means no watchdog here; the variables are taken out
    of the environment, so the programs openfaxd starts do not inherit them."""
    address = f"@openfax-test-{os.getpid()}"
    systemd = FakeSystemd(address)
    try:
        environ = {
            "NOTIFY_SOCKET": address,
            "WATCHDOG_USEC": "1000000",
            "WATCHDOG_PID": str(os.getppid()),
            "PATH": "/usr/bin",
        }
        notifier = Notifier.from_environ(environ)
        assert environ == {"PATH": "/usr/bin"}
        assert notifier.watchdog_seconds is None
        notifier.notify(READY, "STATUS=up")
        wait_until(lambda: systemd.fields() == [READY, "STATUS=up"], "READY over @name")
        mine = Notifier.from_environ(
            {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}
        )
        assert mine.watchdog_seconds == 1.0
    finally:
        systemd.close()


def test_a_notification_that_cannot_be_sent_is_logged_not_raised(
    short_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(str(short_dir / "nobody-listens"))
    with caplog.at_level(logging.DEBUG, logger="openfax.systemd"):
        notifier.notify(READY)
        notifier.notify(READY)
    levels = [record.levelno for record in caplog.records]
    assert levels == [logging.WARNING, logging.DEBUG], caplog.text
    assert "nobody-listens" in caplog.records[0].getMessage()


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"NOTIFY_SOCKET": "relative/notify"}, "NOTIFY_SOCKET"),
        ({"NOTIFY_SOCKET": "/run/notify", "WATCHDOG_USEC": "30s"}, "WATCHDOG_USEC"),
        ({"NOTIFY_SOCKET": "/run/notify", "WATCHDOG_USEC": "0"}, "WATCHDOG_USEC"),
    ],
)
def test_bad_variables_are_named(variables: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Notifier.from_environ(variables)
    assert raised.value.key == named


def test_the_unit_file_verifies(tmp_path: Path) -> None:
    """``systemd-analyze verify`` finds nothing to say (an unknown or misspelt key is a
    warning it prints with status 0, so its output must be empty too). It checks that
    ExecStart's program exists: here the unit runs this checkout's openfaxd."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    openfaxd = Path(sys.executable).with_name("openfaxd")
    unit = tmp_path / "openfaxd.service"
    unit.write_text(UNIT.read_text().replace("/usr/bin/openfaxd", str(openfaxd)))
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout + done.stderr == ""
    # And it would find a misspelt option, so the empty output means something.
    unit.write_text(unit.read_text().replace("ProtectClock=", "ProtectClok="))
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, check=False
    )
    assert "Unknown key 'ProtectClok'" in done.stderr


def test_the_packaged_configuration_matches_the_unit() -> None:
    """/etc/openfax/openfaxd.toml loads, keeps its data where the unit lets the service
    write (StateDirectory=) and its socket in the unit's RuntimeDirectory=, where the
    clients look for the packaged service's socket."""
    config = load_config(ROOT / "packaging" / "openfaxd.toml", environ={})
    service = dict(line.split("=", 1) for line in _service_section(UNIT.read_text()))
    assert config.data_dir == Path("/var/lib") / service["StateDirectory"]
    assert config.api.socket == SERVICE_SOCKET
    assert SERVICE_SOCKET.parent == Path("/run") / service["RuntimeDirectory"]
    assert service["ExecStart"].endswith("--config /etc/openfax/openfaxd.toml")


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming another user needs root")
def test_a_user_outside_the_sockets_group_is_told_who_may_use_it(short_dir: Path) -> None:
    """The packaged socket is 0660 in a 0750 folder: a user outside the group openfax
    hears that and how to join, not a traceback. The client runs in a child process that
    has become the user nobody (this checkout's virtual environment may not be theirs to
    run)."""
    folder = short_dir / "run"
    folder.mkdir(mode=0o750)
    path = folder / "openfaxd.sock"
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(path))
        listening.listen()
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover (the child reports through the pipe)
            try:
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                os.environ["OPENFAX_SOCKET"] = str(path)
                try:
                    FaxServer().connect()
                except FaxError as exc:
                    os.write(write, f"{type(exc).__name__}: {exc}".encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            said = pipe.read()
        os.waitpid(child, 0)
    assert said.startswith("ServerUnavailableError: not allowed to use"), said
    assert "adduser" in said


NOBODY = 65534


SYSTEMD_RUNS = Path("/run/systemd/system").is_dir()
"""sd_booted(): systemd is PID 1 here (not in most containers)."""


@pytest.mark.skipif(not SYSTEMD_RUNS, reason="systemd is not this machine's init (PID 1)")
@pytest.mark.skipif(os.geteuid() != 0, reason="systemd-run --system needs root")
def test_openfaxd_under_systemd_run(tmp_path: Path) -> None:
    """The unit's [Service] settings given to ``systemd-run`` (but the user, whose account
    a test machine lacks, and ProtectHome/PrivateTmp, which would hide this checkout and
    the test's folders): systemd starts it as Type=notify (the start returns once READY
    came), it stays active past several watchdog intervals, and stops cleanly."""
    daemon = Daemon(tmp_path / "data")  # writes its configuration; not started here
    unit = f"openfax-test-{os.getpid()}"
    skipped = ("ExecStart", "User", "Group", "SupplementaryGroups", "ProtectHome", "PrivateTmp")
    skipped += ("StateDirectory", "RuntimeDirectory", "ConfigurationDirectory")
    properties = [
        line
        for line in _service_section(UNIT.read_text())
        if line.split("=", 1)[0].removesuffix("Mode") not in skipped
    ]
    properties += ["WatchdogSec=2s", f"ReadWritePaths={tmp_path} {daemon.socket.parent}"]
    command = [
        "systemd-run",
        f"--unit={unit}",
        "--quiet",
        f"--setenv=PYTHONPATH={os.environ.get('PYTHONPATH', '')}",
        f"--working-directory={ROOT}",
        *(f"--property={p}" for p in properties),
        *(sys.executable, "-m", "openfax.daemon"),
        *("--config", str(daemon.config), "--data-dir", str(daemon.data_dir)),
    ]
    try:
        subprocess.run(command, check=True, timeout=300)  # returns once READY=1 came
        assert _readiness(daemon.socket) == 200
        wait_until(
            lambda: (
                int(_unit_property(unit, "NRestarts")) == 0
                and _unit_property(unit, "WatchdogTimestampMonotonic") not in ("", "0")
            ),
            "a watchdog ping systemd recorded",
        )
        assert _unit_property(unit, "ActiveState") == "active"
    finally:
        subprocess.run(["systemctl", "stop", unit], timeout=120, check=False)
    assert _unit_property(unit, "Result") in ("success", "")
    subprocess.run(["systemctl", "reset-failed", unit], check=False, capture_output=True)


def _service_section(text: str) -> list[str]:
    """The ``KEY=value`` lines of a unit's [Service] section."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith("["):
            inside = line == "[Service]"
        elif inside and "=" in line and not line.startswith("#"):
            lines.append(line)
    return lines


def _unit_property(unit: str, name: str) -> str:
    done = subprocess.run(
        ["systemctl", "show", "--value", f"--property={name}", unit],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout.strip()
