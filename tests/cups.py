"""A private CUPS server for the tests: ``cupsd`` in the foreground with its configuration,
spool, state, logs and socket in a fresh folder under /tmp, the system's filters and
backends, and no TCP port. It runs as root (cupsd runs backends as root)."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.waiting import wait_until

OPENFAX = Path(sys.executable).with_name("openfax")
CUPS_PROGRAMS = ("cupsd", "lp", "lpadmin", "lpstat", "ipptool")
WAIT = 90.0
GET_JOBS = Path(__file__).parent / "integration" / "gateways" / "get-jobs.test"
"""ipptool's test: IPP Get-Jobs of every job, with their state and last message."""
JOB_ATTRIBUTE = re.compile(r"^\s*(job-[a-z-]+) \([a-zA-Z]+\) = (.*)$", re.MULTILINE)
KEEP_BACKEND = """#!/bin/sh
[ $# -eq 0 ] && { echo 'direct keep "Unknown" "OpenFax tests: keep what is printed"'; exit 0; }
paper="${DEVICE_URI#keep:}"
if [ -n "$6" ]; then cat "$6" > "$paper"; else cat > "$paper"; fi
"""
"""A CUPS backend (run with no arguments it says what it is; otherwise it copies the job's
file, or its standard input, to the path of its ``keep:PATH`` device URI)."""
NEEDS_CUPS = pytest.mark.skipif(
    os.geteuid() != 0 or any(shutil.which(program) is None for program in CUPS_PROGRAMS),
    reason="needs root (cupsd runs its backends as root) and CUPS (apt-get install "
    "cups-daemon cups-client cups-filters cups-ipp-utils)",
)


@dataclass
class Cups:
    """A private cupsd: ``environ`` points CUPS' commands at it."""

    root: Path

    @property
    def backend_dir(self) -> Path:
        return self.root / "lib" / "backend"

    @property
    def environ(self) -> dict[str, str]:
        return {**os.environ, "CUPS_SERVER": str(self.root / "cups.sock")}

    def paper_queue(self, queue: str) -> Path:
        """Add ``queue``, a raw queue whose backend keeps what is printed in the file it
        returns, for a test to read (CUPS' own file: device printed nothing here)."""
        backend = self.backend_dir / "keep"
        backend.write_text(KEEP_BACKEND)
        backend.chmod(0o700)
        paper = self.root / f"{queue}.paper"
        added = self.run("lpadmin", "-p", queue, "-E", "-v", f"keep:{paper}", "-m", "raw")
        assert added.returncode == 0, added.stderr + self.log()
        return paper

    def log(self) -> str:
        """The end of cupsd's error log, for a failing test's message."""
        path = self.root / "log" / "error_log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        kept = [line for line in lines if not line.startswith("D ") and "Limiting" not in line]
        return "\n".join(kept[-40:])

    def run(self, *command: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
        """One of CUPS' commands (as ``user``, with only that user's groups, if given)."""
        identity = {}
        if user is not None:
            entry = pwd.getpwnam(user)
            identity = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        return subprocess.run(
            command,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=WAIT,
            **identity,  # type: ignore[call-overload]
        )

    def openfax(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``openfax ARGS`` (this checkout's) with CUPS_SERVER set."""
        return subprocess.run(
            [OPENFAX, *args], env=self.environ, capture_output=True, text=True, timeout=WAIT
        )

    def jobs(self, queue: str) -> dict[str, tuple[str, str]]:
        """Every job of ``queue`` (``QUEUE-ID``, as lp names it), with its state and the
        message the backend left last (its ERROR or INFO line): IPP Get-Jobs by ipptool."""
        socket = quote(str(self.root / "cups.sock"), safe="")
        uri = f"ipp://{socket}/printers/{queue}"
        done = self.run("ipptool", "-tv", uri, str(GET_JOBS))
        jobs: dict[str, tuple[str, str]] = {}
        for block in done.stdout.split("-- separator --"):
            found = dict(JOB_ATTRIBUTE.findall(block))
            if "job-id" in found:
                message = found.get("job-printer-state-message", "").replace("\\", "")
                jobs[f"{queue}-{found['job-id']}"] = (found["job-state"], message)
        return jobs


@contextmanager
def private_cupsd() -> Iterator[Cups]:
    """cupsd in the foreground on a socket of its own, its files in a fresh folder (0755:
    the printing user reaches the socket); filters and daemons are the system's, the backend
    folder is its own."""
    root = Path(tempfile.mkdtemp(prefix="ofcups-", dir="/tmp"))
    root.chmod(0o755)
    try:
        for folder in ("etc/ppd", "spool/tmp", "state", "cache", "log", "lib/backend"):
            (root / folder).mkdir(parents=True)
        for name in ("filter", "daemon", "driver", "notifier", "cgi-bin", "monitor"):
            if Path("/usr/lib/cups", name).exists():
                (root / "lib" / name).symlink_to(Path("/usr/lib/cups", name))
        (root / "etc/cups-files.conf").write_text(
            f"ServerRoot {root}/etc\nRequestRoot {root}/spool\nTempDir {root}/spool/tmp\n"
            f"StateDir {root}/state\nCacheDir {root}/cache\nServerBin {root}/lib\n"
            f"ErrorLog {root}/log/error_log\nAccessLog {root}/log/access_log\n"
            f"PageLog {root}/log/page_log\nPrintcap {root}/state/printcap\n"
            f"ServerKeychain {root}/etc/ssl\nUser lp\nGroup lp\nSystemGroup root\n"
        )
        # CUPS' stock policies: the queue uses "authenticated", as openfax cups install says.
        stock = Path("/etc/cups/cupsd.conf").read_text()
        policies = stock[stock.index("<Policy default>") :]
        (root / "etc/cupsd.conf").write_text(
            f"LogLevel info\nListen {root}/cups.sock\nBrowsing No\nWebInterface No\n"
            "DefaultAuthType Basic\n<Location />\n  Order allow,deny\n  Allow localhost\n"
            f"</Location>\n{policies}"
        )
        process = subprocess.Popen(
            ["cupsd", "-f", "-c", f"{root}/etc/cupsd.conf", "-s", f"{root}/etc/cups-files.conf"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        cups = Cups(root)
        try:

            def ready() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"cupsd stopped: {process.stderr.read()}{cups.log()}")  # type: ignore[union-attr]
                return "is running" in cups.run("lpstat", "-r").stdout

            wait_until(ready, "the private cupsd answers", WAIT)
            yield cups
        finally:
            process.terminate()
            process.wait(timeout=WAIT)
    finally:
        shutil.rmtree(root, ignore_errors=True)
