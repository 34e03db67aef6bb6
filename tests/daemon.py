"""``openfaxd`` as a real process for the API and client tests: two unpaced loopback lines,
a Unix socket, a TCP port chosen by the system, and one API token."""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx

from openfax.api.tokens import TokenFile
from openfax.client import FaxServer
from openfax.model import ALL_RIGHTS

ROOT = Path(__file__).parents[1]
READY = re.compile(r"openfaxd ready .* and (https?)://([\d.]+):(\d+)")
START_SECONDS = 120.0
STOP_SECONDS = 90.0
"""How long a stop may take after SIGTERM: openfaxd's own waits add up to 20 s (2 s for
the shutdown notice, 3 s for requests in flight, 5 s for the lines, 10 s for its tasks);
three suites at once on two cores once took over 30 s."""
"""How long openfaxd may take to serve before it is killed (a loaded machine is slow)."""
TOKEN_HOLDER = "robot"


class Daemon:
    """An openfaxd with its data folder; ``start()`` again after ``kill()`` resumes it.
    ``trust`` is a CA certificate it trusts for TLS (``SSL_CERT_FILE``), e.g. a test SMTP
    server's; ``env`` are more environment variables of its own (systemd's)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        trust: Path | None = None,
        memory_limit: int | None = None,
        database: str | None = None,
        node_id: str = "api-test",
        spool_dir: Path | None = None,
        env: dict[str, str] | None = None,
        **tables: dict[str, Any],
    ) -> None:
        self.data_dir = data_dir
        self.node_id = node_id
        self.env = dict(env or {})
        if trust is not None:
            self.env["SSL_CERT_FILE"] = str(trust)
        self.memory_limit = memory_limit
        # A short folder: a Unix socket path holds at most 107 bytes.
        self.socket = Path(tempfile.mkdtemp(prefix="ofx-", dir="/tmp")) / "openfaxd.sock"
        self.tokens = data_dir / "api-tokens"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.token = TokenFile(self.tokens).add(TOKEN_HOLDER)
        settings: dict[str, dict[str, Any]] = {
            "loopback": {"lines": 2, "pace": "unpaced"},
            "outgoing": {"branding": False, "retries": 20, "max_attempts": 40},
            # Lines calling each other find them busy at times: try again soon.
            "outgoing.causes.busy": {"delay_minutes": 0.01},
            "api": {"socket": str(self.socket), "listen": "127.0.0.1:0"},
            # A Tesseract run per page received: on only where a test reads the text.
            "ocr": {"enabled": False},
        }
        for name, table in tables.items():
            settings[name] = {**settings.get(name, {}), **table}
        self.config = data_dir / "openfaxd.toml"
        top = f"node_id = {_toml(node_id)}\n"
        if database is not None:
            top += f"database = {_toml(database)}\n"
        if spool_dir is not None:
            top += f"spool_dir = {_toml(str(spool_dir))}\n"
        self.config.write_text(top + "".join(_table(k, v) for k, v in settings.items()))
        self.process: subprocess.Popen[str] | None = None
        self.address = ""
        self.url = ""
        """``http://`` or ``https://`` (the daemon speaks TLS) and the address."""
        self.log: deque[str] = deque(maxlen=200)
        self.log_bytes = 0
        """Characters openfaxd has logged so far (its log's end is ``log``)."""

    def start(self) -> None:
        """Start openfaxd and wait until it serves; ``address`` is its ``host:port``, ``url``
        says whether with TLS."""
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "openfax.daemon"),
                *("--config", str(self.config), "--data-dir", str(self.data_dir)),
            ],
            cwd=ROOT,
            env={**os.environ, **self.env} if self.env else None,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=None if self.memory_limit is None else self._limit_memory,
        )
        assert self.process.stderr is not None
        # A daemon that never gets ready is killed, so the test fails instead of hanging.
        watchdog = threading.Timer(START_SECONDS, self.process.kill)
        watchdog.start()
        try:
            for line in self.process.stderr:
                self.log.append(line)
                self.log_bytes += len(line)
                found = READY.search(line)
                if found:
                    self.address = f"{found[2]}:{found[3]}"
                    self.url = f"{found[1]}://{self.address}"
                    break
            else:
                code = self.process.wait()
                log = "".join(self.log)
                raise AssertionError(f"openfaxd did not start (exit code {code}):\n{log}")
        finally:
            watchdog.cancel()
        # Keep reading its log, or a full pipe would stop it; the end is kept for failures.
        threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True).start()
        self._make_robot_an_administrator()

    def _environment(self) -> dict[str, str] | None:
        """openfaxd's environment: the test's, with ``trust`` and ``environ`` if given."""
        if self.trust is None and not self.environ_overrides:
            return None
        trusted = {} if self.trust is None else {"SSL_CERT_FILE": str(self.trust)}
        return {**os.environ, **trusted, **self.environ_overrides}

    def _limit_memory(self) -> None:
        """In the child before it runs openfaxd: its private writable memory (the heap, anonymous
        mappings, stacks) may not pass ``memory_limit`` bytes, so a test that finds memory
        unbounded fails with a MemoryError or a dead daemon instead of taking the machine."""
        assert self.memory_limit is not None
        resource.setrlimit(resource.RLIMIT_DATA, (self.memory_limit, self.memory_limit))

    def peak_rss(self) -> int:
        """The most resident memory openfaxd has had so far, in bytes (VmHWM, from /proc)."""
        assert self.process is not None
        return proc_status_bytes(self.process.pid, "VmHWM")

    def rss(self) -> int:
        """The resident memory of openfaxd now, in bytes (VmRSS, from /proc)."""
        assert self.process is not None
        return proc_status_bytes(self.process.pid, "VmRSS")

    def _make_robot_an_administrator(self) -> None:
        """The token's holder may do everything the tests do remotely (the test process is
        root or the daemon's user: an administrator on the local socket)."""
        transport = httpx.HTTPTransport(uds=str(self.socket))
        timeout = httpx.Timeout(START_SECONDS)  # httpx's 5 s is too short on a loaded machine
        with httpx.Client(
            base_url="http://openfaxd", transport=transport, timeout=timeout
        ) as local:
            local.post("/v1/accounts", json={"account_name": TOKEN_HOLDER})  # 409 after a restart
            granted = local.put(
                f"/v1/security/grants/{TOKEN_HOLDER}", json={"rights": int(ALL_RIGHTS)}
            )
            assert granted.status_code == 204, granted.text

    def connected(self) -> FaxServer:
        """A FaxServer connected over TCP with the token (its holder may do everything);
        ``with daemon.connected() as server:`` disconnects it at the end."""
        server = FaxServer()
        server.connect(self.address, token=self.token)
        return server

    def _drain(self, stream: IO[str]) -> None:
        for line in stream:
            self.log.append(line)
            self.log_bytes += len(line)

    def kill(self) -> None:
        """``kill -9``: no chance to clean up."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM, and its exit status once it has stopped; a daemon still running after
        ``STOP_SECONDS`` is killed and the test fails with the end of its log."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            log = "".join(self.log)
            raise AssertionError(f"openfaxd did not stop in {STOP_SECONDS:.0f} s:\n{log}") from None

    @property
    def environ(self) -> dict[str, str]:
        """What a local client needs to find this daemon's socket."""
        return {"OPENFAX_SOCKET": str(self.socket)}


def proc_status_bytes(pid: int, field: str) -> int:
    """A memory field of ``/proc/PID/status`` (given there in kB), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) * 1024
    raise AssertionError(f"/proc/{pid}/status has no {field}")


def _table(name: str, values: dict[str, Any]) -> str:
    lines = "".join(f"{key} = {_toml(value)}\n" for key, value in values.items())
    return f"[{name}]\n{lines}"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + "}"
    return str(value)


@contextmanager
def running(
    data_dir: Path,
    *,
    trust: Path | None = None,
    memory_limit: int | None = None,
    database: str | None = None,
    node_id: str = "api-test",
    spool_dir: Path | None = None,
    env: dict[str, str] | None = None,
    **tables: dict[str, Any],
) -> Iterator[Daemon]:
    """A started daemon (trusting the CA certificate ``trust``, with its memory limited to
    ``memory_limit`` bytes, and on the ``database`` URL, if given; a node of a cluster names
    itself ``node_id`` and shares the spool folder ``spool_dir``; with the environment
    variables ``env`` too), stopped (or reaped, if a test killed it) at the end."""
    daemon = Daemon(
        data_dir,
        trust=trust,
        memory_limit=memory_limit,
        database=database,
        node_id=node_id,
        spool_dir=spool_dir,
        env=env,
        **tables,
    )
    try:
        daemon.start()  # inside: a daemon up but failing its first request is stopped too
        yield daemon
    finally:
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.stop()


@contextmanager
def running_paused(data_dir: Path) -> Iterator[Daemon]:
    """A started daemon whose outgoing queue is paused: every job submitted stays queued."""
    with running(data_dir) as daemon:
        with daemon.connected() as fax:
            queue = fax.folders.outgoing_queue
            queue.paused = True
            queue.save()
        yield daemon
