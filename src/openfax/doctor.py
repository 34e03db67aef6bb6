"""``openfax doctor``: what a broken install gets wrong, and how to fix each finding.

It reads what ``openfaxd`` would read (the configuration file, the data folder, the database,
the native libraries, the fonts, the modem ports), so it works with the daemon stopped;
when the daemon runs (its socket answers), the ports and modems are its own, and it asks
it instead: ``/readyz`` and the state of every line (a SIP trunk's registration, a modem
port it could not open). Each check gives one :class:`Finding`: ok, warning or fault,
what was found, and for anything but ok how to fix it. Nothing is changed.
"""

from __future__ import annotations

import asyncio
import errno
import http.client
import json
import os
import shutil
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from openfax.errors import ConfigError, FaxError, ModemError
from openfax.file_modes import open_to_others
from openfax.service.config_file import ServiceConfig, listen_address, load_config

ASK_SECONDS = 10.0
"""How long the running daemon may take to answer one question."""
MAX_ANSWER_BYTES = 4 * 1024 * 1024
"""The most of one answer of the daemon read (a device list of thousands of lines fits)."""
OPEN_PATHS_SHOWN = 3
"""Paths open to others named in the finding (the fix covers them all)."""


class Level(StrEnum):
    """How bad a finding is; a fault makes ``openfax doctor`` exit with status 1."""

    OK = "ok"
    WARNING = "warning"
    FAULT = "fault"


@dataclass(frozen=True)
class Finding:
    """The outcome of one check: its name, its level, what was found, how to fix it."""

    check: str
    level: Level
    found: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "check": self.check,
            "level": self.level.value,
            "found": self.found,
            "fix": self.fix,
        }


def examine(
    config_path: str | Path | None,
    data_dir: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Run every check on the install that ``openfaxd --config config_path --data-dir
    data_dir`` would run; the findings in the order checked."""
    findings = [_spandsp(), _libtiff(), _fonts()]
    try:
        config = load_config(config_path, data_dir=data_dir, environ=environ)
    except ConfigError as exc:
        where = "the configuration file" if config_path is None else str(config_path)
        findings.append(
            Finding(
                "configuration",
                Level.FAULT,
                str(exc),
                f"correct {'' if exc.key == '(file)' else exc.key + ' in '}{where} "
                "(docs/design/*.md lists the keys); the checks that need the configuration "
                "were not run",
            )
        )
        return findings
    findings.append(Finding("configuration", Level.OK, f"{config.source} is valid"))
    findings += _data_dir(config)
    findings.append(_database(config))
    if _backend(config) == "postgresql":
        findings.append(_pg_dump())
    running, daemon = _daemon(config)
    findings.append(daemon)
    if running:
        findings += _lines(config)
    else:
        findings += _ports(config)
        findings += asyncio.run(_modems(config))
    return findings


def _spandsp() -> Finding:
    from openfax.errors import SpandspUnavailableError
    from openfax.native_library import loaded_file

    try:
        from openfax.engine import _spandsp  # noqa: F401 (loading it is the check)
    except SpandspUnavailableError as exc:
        return Finding("spandsp", Level.FAULT, str(exc), "apt-get install libspandsp2")
    return Finding("spandsp", Level.OK, f"found {loaded_file('spandsp') or 'libspandsp'}")


def _libtiff() -> Finding:
    from openfax.errors import DocumentError
    from openfax.native_library import loaded_file

    try:
        from openfax.documents import _libtiff
    except DocumentError as exc:
        return Finding("libtiff", Level.FAULT, str(exc), "apt-get install libtiff6")
    found = f"found {loaded_file('tiff') or 'libtiff'} ({_libtiff.version()})"
    return Finding("libtiff", Level.OK, found)


def _fonts() -> Finding:
    """The shipped faces load, as the package check finds them in the wheel."""
    from openfax.documents.fonts import FontStyle, font_file, load_font

    for style in FontStyle:
        try:
            load_font(style, 12)
        except OSError as exc:
            return Finding(
                "fonts",
                Level.FAULT,
                f"{font_file(style)} cannot be loaded: {exc}",
                "reinstall openfax (pip install --force-reinstall openfax): the package's "
                "font files are missing or damaged",
            )
    return Finding(
        "fonts", Level.OK, f"{len(FontStyle)} faces load from {font_file(FontStyle.SANS).parent}"
    )


def _data_dir(config: ServiceConfig) -> Iterator[Finding]:
    """The data folder exists (else its parent lets openfaxd make it), is writable, and
    nothing in it is open to other users."""
    folder = config.data_dir
    if not folder.exists():
        parent = next((p for p in folder.parents if p.exists()), Path("/"))
        if os.access(parent, os.W_OK | os.X_OK):
            yield Finding(
                "data dir", Level.OK, f"{folder} does not exist yet: openfaxd makes it (0700)"
            )
        else:
            yield Finding(
                "data dir",
                Level.FAULT,
                f"{folder} does not exist and {parent} does not let this user make it",
                f"mkdir -m 0700 {folder} and chown it to the service's user",
            )
        return
    if not folder.is_dir():
        yield Finding(
            "data dir", Level.FAULT, f"{folder} is not a folder", "set data_dir to a folder"
        )
        return
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        yield Finding(
            "data dir",
            Level.FAULT,
            f"{folder} is not readable and writable by this user (uid {os.getuid()})",
            f"chown -R the service's user {folder}, or run openfax doctor as that user",
        )
        return
    opened = open_to_others([folder, config.spool_dir], OPEN_PATHS_SHOWN)
    if opened:
        modes = ", ".join(f"{path} ({path.lstat().st_mode & 0o777:04o})" for path in opened)
        yield Finding(
            "data dir",
            Level.FAULT,
            f"open to their group or other users (faxes, the database, tokens): {modes}",
            f"chmod -R go-rwx {folder} (openfaxd also makes them private when it starts)",
        )
        return
    yield Finding("data dir", Level.OK, f"{folder} is private (0700) and writable")


def _database(config: ServiceConfig) -> Finding:
    """The database answers and its schema is at this version's migration; nothing is
    migrated or created (openfaxd does that when it starts)."""
    from sqlalchemy.exc import SQLAlchemyError

    from openfax.store.database import (
        database_url,
        head_revision,
        known_revision,
        stored_revision,
    )

    try:
        url = database_url(config.database)
    except FaxError as exc:
        return Finding("database", Level.FAULT, str(exc), "set database to a file or a URL")
    where = url.render_as_string(hide_password=True)
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and url.database and not Path(url.database).exists():
        return Finding(
            "database", Level.OK, f"{url.database} does not exist yet: openfaxd makes it"
        )
    try:
        revision = asyncio.run(stored_revision(config.database, ASK_SECONDS))
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fix = (
            f"check that the database file {url.database} is readable by this user"
            if sqlite
            else "check that PostgreSQL runs, and the host, user, password and database of "
            "the database URL (psql with the same URL tells why)"
        )
        return Finding("database", Level.FAULT, f"{where} cannot be reached: {reason}", fix)
    head = head_revision()
    if revision == head:
        return Finding("database", Level.OK, f"{where} answers, migrated to {head}")
    if revision is None or known_revision(revision):
        return Finding(
            "database",
            Level.WARNING,
            f"{where} is at migration {revision or '(none)'}, this version needs {head}",
            "start openfaxd: it migrates the database when it starts",
        )
    return Finding(
        "database",
        Level.FAULT,
        f"{where} is at migration {revision}, newer than this version of OpenFax knows ({head})",
        "upgrade openfax to the version that wrote it",
    )


def _backend(config: ServiceConfig) -> str:
    """``sqlite`` or ``postgresql`` (empty for a database setting the store refuses)."""
    from openfax.store.database import database_url

    try:
        return database_url(config.database).get_backend_name()
    except FaxError:
        return ""


def _pg_dump() -> Finding:
    """``openfax backup`` of a PostgreSQL store runs ``pg_dump`` in the daemon."""
    found = shutil.which("pg_dump")
    if found is None:
        return Finding(
            "pg_dump",
            Level.WARNING,
            "pg_dump is not installed: openfax backup of this PostgreSQL store would fail",
            "apt-get install postgresql-client (of the server's major version or newer)",
        )
    return Finding("pg_dump", Level.OK, f"found {found} (for openfax backup)")


class _UnixConnection(http.client.HTTPConnection):
    """HTTP to openfaxd over its Unix socket."""

    def __init__(self, path: Path) -> None:
        super().__init__("openfaxd", timeout=ASK_SECONDS)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(ASK_SECONDS)
        try:
            sock.connect(str(self._path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _ask(path: Path, target: str) -> tuple[int, Any]:
    """GET ``target`` from the daemon on the socket ``path``: the status and the JSON body."""
    connection = _UnixConnection(path)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        body = response.read(MAX_ANSWER_BYTES)
    finally:
        connection.close()
    try:
        return response.status, json.loads(body)
    except ValueError:
        return response.status, None


def _error_message(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))
    return ""


def daemon_answers(path: Path) -> bool:
    """Whether an openfaxd answers on the socket ``path`` (``openfax restore`` refuses to
    write beside a running one)."""
    try:
        _ask(path, "/healthz")
    except (FileNotFoundError, ConnectionRefusedError):
        return False
    except (OSError, http.client.HTTPException):
        return True  # something holds the socket: take it for a daemon
    return True


def _daemon(config: ServiceConfig) -> tuple[bool, Finding]:
    """Whether openfaxd answers on its socket, and how ready it says it is (``/readyz``)."""
    path = config.api.socket
    try:
        status, body = _ask(path, "/readyz")
    except (FileNotFoundError, ConnectionRefusedError):
        return False, Finding(
            "openfaxd",
            Level.WARNING,
            f"not running (nothing answers on {path}); the install was checked from its files",
            "start openfaxd (openfaxd --config FILE) to have its lines checked too",
        )
    except PermissionError:
        return False, Finding(
            "openfaxd",
            Level.WARNING,
            f"{path} may not be used by this user (uid {os.getuid()})",
            "run openfax doctor as the service's user or a member of the socket's group",
        )
    except (OSError, http.client.HTTPException) as exc:
        return False, Finding(
            "openfaxd",
            Level.FAULT,
            f"{path} does not answer as openfaxd should: {exc}",
            "restart openfaxd; its log says what keeps it",
        )
    if status == 200:
        return True, Finding("openfaxd", Level.OK, f"running on {path} and ready (/readyz)")
    reason = _error_message(body) or f"status {status}"
    return True, Finding(
        "openfaxd",
        Level.FAULT,
        f"running on {path} but {reason}",
        "read openfaxd's log for the provider or store named; fix it and restart openfaxd",
    )


def _lines(config: ServiceConfig) -> Iterator[Finding]:
    """The running daemon's lines: each one whose trunk is not registered or whose modem
    port could not be opened is a fault; the rest one ok line per provider."""
    try:
        status, devices = _ask(config.api.socket, "/v1/devices")
    except (OSError, http.client.HTTPException) as exc:
        yield Finding(
            "lines", Level.FAULT, f"the lines could not be read: {exc}", "restart openfaxd"
        )
        return
    if status != 200 or not isinstance(devices, list):
        reason = _error_message(devices) or f"status {status}"
        yield Finding(
            "lines",
            Level.WARNING,
            f"the lines could not be read: {reason}",
            "run openfax doctor as the service's user (an administrator on the socket)",
        )
        return
    healthy: dict[str, int] = {}
    for device in devices:
        provider = str(device.get("provider_unique_name", "?"))
        name = str(device.get("device_name", "?"))
        registration = device.get("registration", "")
        if registration == "failed":
            error = device.get("registration_error") or "registration failed"
            yield Finding(f"line {name}", Level.FAULT, f"{provider}: {error}", _line_fix(provider))
        elif registration == "registering":
            yield Finding(
                f"line {name}",
                Level.WARNING,
                f"{provider}: still registering",
                "run openfax doctor again in a minute; openfax devices shows the registration",
            )
        else:
            healthy[provider] = healthy.get(provider, 0) + 1
    for provider, count in healthy.items():
        lines = f"{count} line{'s' if count != 1 else ''}"
        yield Finding(f"provider {provider}", Level.OK, f"{lines} in service")
    if not devices:
        yield Finding(
            "lines", Level.WARNING, "openfaxd has no line", "configure [loopback], [sip] or [modem]"
        )


def _line_fix(provider: str) -> str:
    if "modem" in provider:
        return (
            "check the line's device in [modem.lines]: the modem plugged in, the path "
            "(ls -l /dev/serial/by-id/), and the service's user in the group dialout"
        )
    return (
        "check the trunk's host, username and password in [[sip.trunks]], and that the "
        "registrar is reachable (openfax devices shows the registration's last error)"
    )


def _ports(config: ServiceConfig) -> Iterator[Finding]:
    """The TCP and UDP ports openfaxd would listen on are free (its own are, when stopped)."""
    wanted: list[tuple[str, str, int, socket.SocketKind]] = []
    api = listen_address(config.api.listen)
    if api is not None:
        wanted.append(("[api] listen", api[0], api[1], socket.SOCK_STREAM))
    if config.email_gateway.enabled:
        smtp = listen_address(config.email_gateway.listen)
        if smtp is not None:
            wanted.append(("[email_gateway] listen", smtp[0], smtp[1], socket.SOCK_STREAM))
    for trunk in config.sip.trunks:
        key = f"trunk {trunk.name} local_port"
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            wanted.append((key, trunk.local_address, trunk.local_port, kind))
    for key, host, port, kind in wanted:
        if port == 0:
            continue
        protocol = "tcp" if kind == socket.SOCK_STREAM else "udp"
        check = f"port {host}:{port}/{protocol}"
        try:
            _bind(host, port, kind)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                yield Finding(
                    check,
                    Level.FAULT,
                    f"taken by another program ({key})",
                    f"stop it (ss -lnp 'sport = :{port}' names it) or change {key}",
                )
            else:
                yield Finding(
                    check,
                    Level.FAULT,
                    f"cannot be listened on ({key}): {exc.strerror or exc}",
                    f"change {key} (a port below 1024 needs CAP_NET_BIND_SERVICE)",
                )
        else:
            yield Finding(check, Level.OK, f"free ({key})")


def _bind(host: str, port: int, kind: socket.SocketKind) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as sock:
        if kind == socket.SOCK_STREAM:
            # As uvicorn binds: a port in TIME_WAIT after a restart is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))


async def _modems(config: ServiceConfig) -> list[Finding]:
    """Each modem line's port opens as the provider opens it (raw mode, its speed and flow
    control, exclusive), and is closed again at once."""
    from openfax.providers.modem.serial import SerialPort

    findings = []
    for line in config.modem.lines:
        check = f"line {line.device_name}"
        try:
            port = SerialPort.open(
                line.device,
                speed=line.speed,
                flow_control=line.flow_control,
                on_data=lambda data: None,
                on_lost=lambda reason: None,
            )
        except ModemError as exc:
            findings.append(Finding(check, Level.FAULT, str(exc), _line_fix("modem")))
            continue
        port.close()
        findings.append(Finding(check, Level.OK, f"{line.device} opens"))
    return findings
