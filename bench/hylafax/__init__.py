"""A private HylaFAX 6.0.7 instance, for the service benchmark and the virtual modem's tests.

The spool is built in a temporary directory from the installed layout: ``bin/`` (the
conversion and notify scripts) is copied from ``/var/spool/hylafax``, ``setup.cache``, the
dial rules, page sizes and tag-line font from ``/etc/hylafax``, and faxq's ``etc/config``
and hfaxd's ``etc/hosts.hfaxd`` from this folder. ``faxq -D`` and ``hfaxd -d`` run in the
foreground on a free port of 127.0.0.1, each in a session of its own, so stopping them ends
hfaxd's per-connection children too; ``faxgetty`` serves each modem added (``add_modem``),
with ``config.modem`` as its configuration. The Debian package's own service is not used.

HylaFAX's daemons refuse to start without a real uid of root (they switch to ``uucp``
themselves and keep the spool as that user), so this needs root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent
SYSTEM_SPOOL = Path("/var/spool/hylafax")
SYSTEM_ETC = Path("/etc/hylafax")
SPOOL_DIRS = (
    "archive", "bin", "client", "config", "dev", "docq", "doneq", "etc", "info", "log",
    "pollq", "recvq", "sendq", "status", "tmp",
)  # fmt: skip
SYSTEM_FILES = ("dialrules", "pagesizes", "lutRS18.pcf")
"""Copied from /etc/hylafax when present: the dial rules, page sizes and the tag line's font."""
FAX_USER = "uucp"
"""The user HylaFAX's daemons run as on Debian (compiled in); the spool belongs to it."""
PROGRAMS = ("faxq", "hfaxd", "faxgetty", "sendfax", "faxstat")
PROGRAM_PATH = "/usr/sbin:/usr/bin"
MODEM_IDLE = "Running and idle"
"""What ``faxstat`` says of a modem whose faxgetty has set it up and waits for calls."""


def missing_programs() -> list[str]:
    """HylaFAX's programs this module runs that are not installed."""
    return [tool for tool in PROGRAMS if shutil.which(tool, path=PROGRAM_PATH) is None]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop_process_groups(processes: list[subprocess.Popen[bytes]], *, timeout: float) -> None:
    """SIGTERM each process's group (a daemon's children too), wait up to ``timeout`` seconds
    for each, then SIGKILL a group that is still there."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class HylaFaxError(RuntimeError):
    """The private HylaFAX instance could not be set up or did not answer as expected."""


def system_hylafax_processes() -> list[str]:
    """``pid name`` of every faxq/hfaxd/faxgetty running now (to warn about a system one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if name in ("faxq", "hfaxd", "faxgetty"):
            found.append(f"{entry.name} {name}")
    return found


def device_id(device: Path) -> str:
    """HylaFAX's name for a modem device: its path below /dev with ``/`` as ``_``
    (``/dev/pts/3`` is ``pts_3``); faxsend turns it back into the path the same way, so
    only devices under /dev without ``_`` in their path can be used."""
    relative = device.relative_to("/dev")
    if "_" in str(relative):
        raise HylaFaxError(f"HylaFAX cannot name the modem {device} (its path has a '_')")
    return str(relative).replace("/", "_")


@dataclass(frozen=True)
class Transfer:
    """One record of HylaFAX's ``log/xferfaxlog`` (see xferfaxlog(5)): a fax sent or
    received, with the number of pages and the reason it failed (empty if it did not)."""

    kind: str
    modem: str
    file: str
    """The job id for SEND, the received file (``recvq/faxNNNNNNNNN.tif``) for RECV."""
    number: str
    station: str
    """The far end's CSI (SEND) or TSI (RECV)."""
    pages: int
    reason: str

    @classmethod
    def parse(cls, line: str) -> Transfer:
        fields = [field.strip('"') for field in line.rstrip("\n").split("\t")]
        return cls(
            kind=fields[1],
            modem=fields[3],
            file=fields[4],
            number=fields[7],
            station=fields[8],
            pages=int(fields[10]),
            reason=fields[13],
        )


class HylaFax:
    """faxq and hfaxd on a temporary spool and a free port of 127.0.0.1; faxgetty on each
    modem added. ``config`` is faxq's configuration (copied to ``etc/config``)."""

    def __init__(self, config: Path = TEMPLATES / "config") -> None:
        self.config = config
        self.spool = Path(tempfile.mkdtemp(prefix="openfax-hylafax-"))
        self.port = 0
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def host(self) -> str:
        """The ``-h`` argument of the HylaFAX clients."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        missing = missing_programs()
        if missing:
            raise HylaFaxError(
                f"{', '.join(missing)} missing: apt-get install hylafax-server hylafax-client"
            )
        if os.geteuid() != 0:
            raise HylaFaxError("the private HylaFAX instance needs root (its daemons run as uucp)")
        self._make_spool()
        self.port = free_port()
        self._spawn(["/usr/sbin/faxq", "-D", "-q", str(self.spool)])
        self._spawn(
            ["/usr/sbin/hfaxd", "-d", "-q", str(self.spool), "-l", "127.0.0.1",
             "-i", str(self.port)]
        )  # fmt: skip
        self._wait_ready()

    def _make_spool(self) -> None:
        for name in SPOOL_DIRS:
            (self.spool / name).mkdir()
        for script in (SYSTEM_SPOOL / "bin").iterdir():
            shutil.copy2(script, self.spool / "bin", follow_symlinks=False)
        etc = self.spool / "etc"
        try:
            cache = (SYSTEM_ETC / "setup.cache").read_text()
        except OSError as exc:
            raise HylaFaxError(
                f"no {SYSTEM_ETC}/setup.cache (faxq needs it; run faxsetup)"
            ) from exc
        (etc / "setup.cache").write_text(re.sub(r"(?m)^SPOOL=.*$", f"SPOOL='{self.spool}'", cache))
        for name in SYSTEM_FILES:
            if (SYSTEM_ETC / name).exists():
                shutil.copy2(SYSTEM_ETC / name, etc / name)
        shutil.copy2(self.config, etc / "config")
        shutil.copy2(TEMPLATES / "hosts.hfaxd", etc / "hosts.hfaxd")
        os.mkfifo(self.spool / "FIFO", 0o600)
        for path in [self.spool, *self.spool.rglob("*")]:
            self._give_to_fax_user(path)
        (etc / "hosts.hfaxd").chmod(0o600)
        (self.spool / "tmp").chmod(0o1777)
        self.spool.chmod(0o755)

    @staticmethod
    def _give_to_fax_user(path: Path) -> None:
        fax = pwd.getpwnam(FAX_USER)
        os.chown(path, fax.pw_uid, fax.pw_gid, follow_symlinks=False)

    def _spawn(self, command: list[str]) -> None:
        self._processes.append(
            subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    def _wait_ready(self, timeout: float = 10.0) -> None:
        """Until hfaxd greets on its port and faxq has opened its FIFO."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_running()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    greeting = sock.makefile("rb").readline()
                if greeting.startswith(b"220"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise HylaFaxError(f"hfaxd did not answer on port {self.port}")
            time.sleep(0.05)
        if not self.faxstat(check=True).startswith("HylaFAX scheduler on"):
            raise HylaFaxError("faxq is not running")

    def _check_running(self) -> None:
        for process in self._processes:
            if process.poll() is not None:
                raise HylaFaxError(f"{process.args[0]} exited with {process.returncode}")

    def add_modem(self, device: Path, config: Path = TEMPLATES / "config.modem") -> str:
        """Run faxgetty on ``device`` (a tty under /dev) with ``config``; returns the modem's
        name in HylaFAX (``device_id``). faxgetty sets the modem up and then tells faxq it is
        ready (``modem_status`` becomes ``MODEM_IDLE``)."""
        modem = device_id(device)
        shutil.copy2(config, self.spool / "etc" / f"config.{modem}")
        fifo = self.spool / f"FIFO.{modem}"
        os.mkfifo(fifo, 0o600)
        for path in (fifo, self.spool / "etc" / f"config.{modem}"):
            self._give_to_fax_user(path)
        self._spawn(["/usr/sbin/faxgetty", "-q", str(self.spool), str(device)])
        return modem

    def modem_status(self, modem: str) -> str:
        """What ``faxstat`` says of ``modem`` (empty until faxgetty has reported to faxq)."""
        self._check_running()
        wanted = re.compile(rf"^Modem {re.escape(modem.replace('_', '/'))} \(.*?\): (.*)$")
        for line in self.faxstat().splitlines():
            if found := wanted.match(line):
                return found[1]
        return ""

    def stop(self) -> None:
        """Stop the daemons (and hfaxd's children) and remove the spool."""
        stop_process_groups(self._processes, timeout=5)
        self._processes.clear()
        shutil.rmtree(self.spool, ignore_errors=True)

    def __enter__(self) -> HylaFax:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- clients and records

    def queued_jobs(self) -> int:
        """The job files in ``sendq`` (read from the spool, not through the server)."""
        return sum(1 for _ in (self.spool / "sendq").glob("q*"))

    def sendfax(self, document: Path, numbers: list[str], options: Sequence[str] = ()) -> int:
        """Run one ``sendfax`` for ``numbers`` (one job each, no cover page) with ``options``;
        the jobs it reports queued."""
        command = ["sendfax", "-n", "-h", self.host, *options]
        for number in numbers:
            command += ["-d", number]
        done = subprocess.run(
            [*command, str(document)], capture_output=True, text=True, check=False
        )
        queued = done.stdout.count("request id is")
        if done.returncode != 0 and queued == 0:
            raise HylaFaxError(f"sendfax failed: {done.stderr.strip() or done.stdout.strip()}")
        return queued

    def forget_destinations(self) -> None:
        """Remove what HylaFAX learnt of the numbers it called (``info/``, hylafax-info(5)):
        faxq prepares a document for the capabilities the last call to its number showed
        (a page for a receiver that offered only 98 lpi goes at 98 lpi even if it now offers
        196) and avoids a modulation that failed there, so each call starts unknown."""
        for path in (self.spool / "info").iterdir():
            path.unlink()

    def faxstat(self, check: bool = False) -> str:
        """The output of ``faxstat -s`` (server and modem status and the send queue)."""
        done = subprocess.run(
            ["faxstat", "-h", self.host, "-s"], capture_output=True, text=True, check=check
        )
        return done.stdout

    def transfers(self) -> list[Transfer]:
        """The faxes sent and received so far, from ``log/xferfaxlog``."""
        try:
            lines = (self.spool / "log" / "xferfaxlog").read_text().splitlines()
        except FileNotFoundError:
            return []
        return [Transfer.parse(line) for line in lines if "\tSEND\t" in line or "\tRECV\t" in line]
