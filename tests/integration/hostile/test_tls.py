"""Finding 8 of the hardening review: passwords and tokens crossed the network in clear (a
fake server captured the Basic header). Now the TCP listener speaks TLS when given a
certificate, the client verifies it, and refuses to send credentials in clear to anything
but this machine. Real handshakes against a real openfaxd; the refusals need no network."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openfax import faxcomex
from openfax.api.server import HANDSHAKE_SECONDS
from openfax.client import (
    CertificateError,
    FaxDocument,
    FaxServer,
    PlainConnectionError,
    ServerEvents,
    ServerUnavailableError,
)
from openfax.client._connection import Connection
from openfax.tls import self_signed
from tests.daemon import Daemon, running
from tests.integration.hostile.conftest import LIMIT_BYTES
from tests.waiting import wait_until

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
OPENFAX = Path(sys.executable).with_name("openfax")
WAIT = 60.0
SILENT = 1000
"""Clients that connect to the TLS port and say nothing."""
NOT_LOCAL = "192.0.2.1"
"""TEST-NET-1 (RFC 5737): never routed; only used to trigger the refusal."""


@pytest.fixture(autouse=True)
def no_trust_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's trust and plain-HTTP switches come only from each test."""
    for name in ("OPENFAX_CA_FILE", "OPENFAX_ALLOW_PLAIN", "OPENFAX_USER", "OPENFAX_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def tls_daemon(
    tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path]
) -> Iterator[Daemon]:
    """An openfaxd whose TCP listener speaks TLS with the certificate for 127.0.0.1."""
    cert, key = certificate
    with running(
        tmp_path_factory.mktemp("openfaxd"),
        memory_limit=LIMIT_BYTES,
        api={
            "tls_certificate": str(cert),
            "tls_key": str(key),
            # The silent clients all come from 127.0.0.1: room for every one, so that what
            # each costs is measured (the connection caps would close most at once).
            "max_connections": 2 * SILENT,
            "max_connections_per_client": 2 * SILENT,
        },
    ) as started:
        yield started


def test_the_ready_line_says_https_and_the_unix_socket_stays_plain(
    tls_daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_daemon.url.startswith("https://127.0.0.1:")
    monkeypatch.setenv("OPENFAX_SOCKET", str(tls_daemon.socket))
    with FaxServer() as local:
        local.connect("")
        assert local.current_account.account_name


def test_a_client_with_the_ca_file_submits_lists_and_hears_events_over_wss(
    tls_daemon: Daemon, certificate: tuple[Path, Path]
) -> None:
    with FaxServer() as server:
        server.connect(tls_daemon.url, token=tls_daemon.token, ca_file=certificate[0])
        fax = FaxDocument(body=SAMPLES / "letter.txt", subject="over TLS")
        fax.recipients.add("1002", "Line two")
        deadline = time.monotonic() + WAIT
        with server.iter_events(ServerEvents.OUT_ARCHIVE, deadline=deadline) as events:
            (job_id,) = fax.connected_submit(server)
            listed = [message.id for message in server.folders.outgoing_archive.get_messages()]
            listed += [job.id for job in server.folders.outgoing_queue.get_jobs()]
            assert job_id in listed
            for event in events:  # the stream ends only by TimeoutError
                if event.message_id == job_id:
                    break
        assert server.folders.outgoing_archive.get_message(job_id).pages > 0

        async def replayed() -> None:  # the asyncio stream, from the first event kept
            async for event in server.events(ServerEvents.OUT_ARCHIVE, after=0):
                if event.message_id == job_id:
                    return

        asyncio.run(asyncio.wait_for(replayed(), WAIT))


def test_tls_true_and_the_environment_ca_file_reach_it_too(
    tls_daemon: Daemon, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENFAX_CA_FILE", str(certificate[0]))
    with FaxServer() as server:
        server.connect(tls_daemon.address, token=tls_daemon.token, tls=True)
        assert server.current_account.account_name == "robot"


def test_the_faxcomex_facade_connects_over_tls(
    tls_daemon: Daemon, certificate: tuple[Path, Path]
) -> None:
    server = faxcomex.Dispatch("FaxComEx.FaxServer")
    server.Connect(tls_daemon.url, Token=tls_daemon.token, CaFile=str(certificate[0]))
    assert server.GetDevices().Count == 2
    server.Disconnect()
    with pytest.raises(faxcomex.com_error, match="CertificateError"):
        server.Connect(tls_daemon.url, Token=tls_daemon.token)


def test_a_client_without_the_ca_file_is_refused_with_a_certificate_error(
    tls_daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(CertificateError, match=r"not trusted.*OPENFAX_CA_FILE"):
        FaxServer().connect(tls_daemon.url, token=tls_daemon.token)


def test_a_plain_http_client_to_the_tls_port_gets_no_answer(
    tls_daemon: Daemon, certificate: tuple[Path, Path]
) -> None:
    with pytest.raises(ServerUnavailableError, match="if it speaks TLS, connect to https://"):
        FaxServer().connect(tls_daemon.address, token=tls_daemon.token)
    host, port = tls_daemon.address.split(":")
    with socket.create_connection((host, int(port)), timeout=WAIT) as raw:
        raw.sendall(b"GET /v1/server HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"HTTP/" not in raw.recv(4096)
    with FaxServer() as server:  # and it goes on serving
        server.connect(tls_daemon.url, token=tls_daemon.token, ca_file=certificate[0])


def held_by_the_daemon(port: int, clients: list[socket.socket]) -> int:
    """How many of the ``clients``' connections to ``port`` the daemon has accepted and not
    yet let go: /proc/net/tcp's entries of that pair whose socket a process holds (an inode;
    one in the accept queue or closed has none)."""
    ours = {client.getsockname()[1] for client in clients}
    held = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) in ours:
            held += inode != "0"
    return held


def test_clients_that_never_finish_a_handshake_cost_little_and_are_closed(
    tls_daemon: Daemon, certificate: tuple[Path, Path]
) -> None:
    """asyncio keeps a 256 KiB buffer for every TLS connection from its accept and gives a
    handshake 60 s: 1,100 silent clients held 330 MB for a minute."""
    host, port = tls_daemon.address.split(":")
    memory = tls_daemon.rss()
    silent = [socket.create_connection((host, int(port)), timeout=WAIT) for _ in range(SILENT)]
    try:
        wait_until(
            lambda: held_by_the_daemon(int(port), silent) == SILENT, "the daemon accepts them"
        )
        # TLS clients are still served meanwhile; one served took its turn after every
        # silent connection's TLS layer was made (asyncio makes them in order of accept).
        with FaxServer() as server:
            server.connect(tls_daemon.url, token=tls_daemon.token, ca_file=certificate[0])
        grown = tls_daemon.rss() - memory
        assert grown < SILENT * 150 * 1024, f"{grown / SILENT / 1024:.0f} KiB a connection"
        for connection in silent:
            connection.settimeout(HANDSHAKE_SECONDS * 4)  # asyncio's own 60 s would fail
            assert connection.recv(1) == b""
        wait_until(lambda: held_by_the_daemon(int(port), silent) == 0, "the daemon lets go")
    finally:
        for connection in silent:
            connection.close()
    assert not [line for line in tls_daemon.log if "handshake" in line.lower()]


def test_an_impostor_with_an_untrusted_certificate_receives_no_credentials(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    """The capture of finding 8 again, by a server on 127.0.0.1 that is not ours: the
    handshake fails before the client writes a byte of its request."""
    cert_pem, key_pem = self_signed(["127.0.0.1"])
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    captured = bytearray()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)

    def impostor() -> None:
        connection, _ = listener.accept()
        try:
            with context.wrap_socket(connection, server_side=True) as tls:
                while chunk := tls.recv(4096):
                    captured.extend(chunk)
        except (ssl.SSLError, OSError):
            pass  # the client's alert ends the handshake

    thread = threading.Thread(target=impostor)
    thread.start()
    address = f"https://127.0.0.1:{listener.getsockname()[1]}"
    with pytest.raises(CertificateError):
        FaxServer().connect(address, user="alice", password="s3cret", ca_file=certificate[0])
    thread.join(WAIT)
    listener.close()
    assert not thread.is_alive()
    assert captured == b""


@pytest.fixture
def no_packets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to connect a socket fails the test: the refusals must come first."""

    def refuse(*_: object) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.mark.parametrize(
    "credentials",
    [{"token": "t0ken"}, {"user": "alice", "password": "s3cret"}],
    ids=["token", "password"],
)
def test_credentials_are_not_sent_in_clear_to_another_machine(
    no_packets: None, credentials: dict[str, str]
) -> None:
    with pytest.raises(PlainConnectionError, match=f"in clear to {NOT_LOCAL}.*https://"):
        FaxServer().connect(f"{NOT_LOCAL}:4560", **credentials)
    with pytest.raises(PlainConnectionError):
        FaxServer().connect(f"http://{NOT_LOCAL}:4560", **credentials)


def test_credentials_from_the_environment_are_refused_the_same(
    no_packets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENFAX_USER", "alice")
    monkeypatch.setenv("OPENFAX_PASSWORD", "s3cret")
    with pytest.raises(PlainConnectionError):
        FaxServer().connect(f"{NOT_LOCAL}:4560")


def test_plain_http_is_allowed_to_loopback_and_when_told(
    no_packets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the check is tried here (a Connection connects at its first request)."""
    for local in ("127.0.0.1:4560", "127.8.9.10:4560", "localhost:4560", "[::1]:4560"):
        Connection(local, "t0ken", 1.0)
    Connection(f"{NOT_LOCAL}:4560", None, 1.0)  # nothing secret to send
    Connection(f"{NOT_LOCAL}:4560", "t0ken", 1.0, allow_plain=True)
    monkeypatch.setenv("OPENFAX_ALLOW_PLAIN", "1")
    Connection(f"{NOT_LOCAL}:4560", "t0ken", 1.0)
    with pytest.raises(PlainConnectionError):
        Connection(f"{NOT_LOCAL}:4560", "t0ken", 1.0, allow_plain=False)


def test_tls_with_an_http_url_or_an_unknown_scheme_is_refused(no_packets: None) -> None:
    for target, tls in (("http://127.0.0.1:4560", True), ("ftp://127.0.0.1:4560", False)):
        with pytest.raises(ServerUnavailableError, match="not a fax server's address"):
            Connection(target, "t0ken", 1.0, tls=tls)


def test_a_ca_file_that_cannot_be_used_is_named(no_packets: None, tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    for ca_file in (tmp_path / "missing.pem", tmp_path / "junk.pem"):
        with pytest.raises(CertificateError, match=f"cannot use the CA file {ca_file}"):
            Connection("https://127.0.0.1:4560", "t0ken", 1.0, ca_file=ca_file)


@pytest.mark.parametrize(
    ("broken", "key", "reason"),
    [
        ("missing certificate", "api.tls_certificate", "cannot be read"),
        ("certificate not PEM", "api.tls_certificate", "holds no PEM certificate"),
        ("another key", "api.tls_key", "is not the private key of"),
    ],
)
def test_unusable_certificate_files_stop_the_daemon_naming_the_file(
    tmp_path: Path, certificate: tuple[Path, Path], broken: str, key: str, reason: str
) -> None:
    cert, private = certificate
    if broken == "missing certificate":
        cert = tmp_path / "missing.pem"
    elif broken == "certificate not PEM":
        cert = tmp_path / "garbage.pem"
        cert.write_text("-----BEGIN CERTIFICATE-----\nnonsense\n")
    else:
        private = tmp_path / "other.key"
        private.write_bytes(self_signed(["127.0.0.1"])[1])
    daemon = Daemon(tmp_path / "data", api={"tls_certificate": str(cert), "tls_key": str(private)})
    with pytest.raises(AssertionError, match="did not start") as failed:
        daemon.start()
    named = str(cert if key == "api.tls_certificate" else private)
    assert re.search(f"{re.escape(key)}: {re.escape(named)}.*{reason}", str(failed.value))


def test_openfax_tls_self_signed_serves_the_cli_over_https(tmp_path: Path) -> None:
    made = subprocess.run(
        [OPENFAX, "tls", "self-signed", "--folder", tmp_path / "tls"],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    settings = dict(re.findall(r'^(tls_certificate|tls_key) = "(.*)"$', made.stdout, re.M))
    cert, key = Path(settings["tls_certificate"]), Path(settings["tls_key"])
    assert cert.parent == key.parent == tmp_path / "tls"
    assert key.stat().st_mode & 0o777 == 0o600
    with running(tmp_path / "data", api=settings) as daemon:
        client = {
            **os.environ,
            "OPENFAX_SERVER": f"https://{daemon.address}",
            "OPENFAX_CA_FILE": str(cert),
            "OPENFAX_TOKEN": daemon.token,
        }

        def openfax(*args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [OPENFAX, *map(str, args)],
                capture_output=True,
                text=True,
                timeout=WAIT,
                env={**client, **env},
                check=False,
            )

        quick = openfax("send", SAMPLES / "letter.txt", "--to", "1002")  # no Click
        assert quick.returncode == 0, quick.stderr
        waited = openfax("send", SAMPLES / "letter.txt", "--to", "1002", "--wait")  # wss
        assert waited.returncode == 0, waited.stderr
        (job_id,) = re.findall(r"^([0-9a-f]{16}) ", waited.stdout, re.M)
        sent = openfax("sent", "--json")
        assert sent.returncode == 0, sent.stderr
        assert job_id in sent.stdout
        untrusted = openfax("jobs", OPENFAX_CA_FILE="")
        assert untrusted.returncode == 1
        assert "CertificateError" in untrusted.stderr
