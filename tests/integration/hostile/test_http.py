"""Findings 2 and 3 of the hardening review replayed against a real openfaxd: request bodies
read whole before any check, uploads without a cap, and half-open TCP connections that
starved every client (the Unix socket's too) and filled the log."""

from __future__ import annotations

import base64
import http.client
import json
import os
import resource
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import pytest
from PIL import Image

from openfax.client import FaxDocument, FaxServer
from openfax.errors import RequestTooLargeError
from tests.daemon import Daemon, running
from tests.integration.hostile.conftest import LIMIT_BYTES

MB = 1024 * 1024
ATTACKER = "127.0.0.2"
"""The attacker's source address: 127.0.0.0/8 is all loopback, so it reaches the daemon
from another address than the well-behaved client's 127.0.0.1."""
WAIT_SECONDS = 30.0
"""How long a test waits for the daemon to do what it must before it fails."""


def connect(daemon: Daemon, source: str = "127.0.0.1") -> socket.socket:
    host, port = daemon.address.split(":")
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(WAIT_SECONDS)
    sock.connect((host, int(port)))
    return sock


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: openfaxd",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def response(sock: socket.socket) -> tuple[int, dict[str, str], dict[str, Any]]:
    """The status, headers (lower-case names) and JSON body of the response on ``sock``."""
    answer = http.client.HTTPResponse(sock)
    answer.begin()
    body = answer.read()
    headers = {name.lower(): value for name, value in answer.getheaders()}
    return answer.status, headers, json.loads(body) if body else {}


def bearer(daemon: Daemon) -> dict[str, str]:
    return {"Authorization": f"Bearer {daemon.token}"}


def local(daemon: Daemon) -> httpx.Client:
    transport = httpx.HTTPTransport(uds=str(daemon.socket))
    return httpx.Client(base_url="http://openfaxd", transport=transport, timeout=WAIT_SECONDS)


def open_files_under(pid: int, folder: Path) -> list[str]:
    """The files under ``folder`` that process ``pid`` holds open, deleted ones included."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


def stream(sock: socket.socket, total: int, sent: list[int]) -> None:
    """Send one chunked multipart file part of ``total`` bytes, until done or the server
    stops taking it; ``sent[0]`` is how much went out."""
    part = (
        b'--B\r\nContent-Disposition: form-data; name="bodies"; filename="big.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
    )
    chunk = b"x" * (256 * 1024)
    try:
        sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        while sent[0] < total:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent[0] += len(chunk)
    except OSError:
        return  # the server closed the connection: it read no further


# --- finding 2: bodies checked as they arrive, rights before the body ---------------------------


def test_a_large_upload_is_refused_as_it_arrives_and_nothing_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # the daemon's temporary files go there
    with running(tmp_path / "d", memory_limit=LIMIT_BYTES, api={"max_upload_mb": 1}) as daemon:
        assert daemon.process is not None
        spool = sorted((daemon.data_dir / "spool").rglob("*"))
        rss, peak = daemon.rss(), daemon.peak_rss()
        sock = connect(daemon)
        headers = {
            **bearer(daemon),
            "Content-Type": "multipart/form-data; boundary=B",
            "Transfer-Encoding": "chunked",
        }
        sock.sendall(head("POST", "/v1/submissions", headers))
        sent = [0]
        sender = threading.Thread(target=stream, args=(sock, 200 * MB, sent))
        sender.start()
        status, answer_headers, body = response(sock)
        sender.join(WAIT_SECONDS)
        sock.close()
        assert status == 413, body
        assert body["error"]["class"] == "RequestTooLargeError"
        assert "api.max_upload_mb" in body["error"]["message"]
        assert answer_headers["connection"] == "close"
        assert sent[0] < 200 * MB, "the server read the whole body"
        print(
            f"\nRSS before {rss / MB:.0f} MB, after {daemon.rss() / MB:.0f} MB (peak "
            f"{peak / MB:.0f} -> {daemon.peak_rss() / MB:.0f} MB), {sent[0] / MB:.0f} MB sent"
        )
        assert daemon.peak_rss() - peak < 50 * MB
        assert open_files_under(daemon.process.pid, scratch) == []
        assert list(scratch.iterdir()) == []
        assert sorted((daemon.data_dir / "spool").rglob("*")) == spool
        with daemon.connected() as server:  # and it serves on
            assert server.get_devices()


@pytest.mark.parametrize("remote", [True, False])
def test_the_client_is_told_its_upload_is_too_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, remote: bool
) -> None:
    """The server answers 413 and closes while the client still sends: the client reads the
    answer instead of reporting a broken connection."""
    body = tmp_path / "long.txt"
    body.write_text("a line of a long letter\n" * 200_000)  # 4.8 MB
    with running(tmp_path / "d", memory_limit=LIMIT_BYTES, api={"max_upload_mb": 1}) as daemon:
        monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
        fax = FaxDocument(body=body, subject="long")
        fax.recipients.add("1002", "Recipient")
        with FaxServer() as server:
            if remote:
                server.connect(daemon.address, token=daemon.token)
            else:
                server.connect()
            with pytest.raises(RequestTooLargeError, match=r"api\.max_upload_mb"):
                fax.connected_submit(server)
            assert server.get_devices()  # and the connection is made again


def test_an_upload_declaring_too_many_bytes_is_refused_before_its_body(daemon: Daemon) -> None:
    sock = connect(daemon)
    headers = {
        **bearer(daemon),
        "Content-Type": "multipart/form-data; boundary=B",
        "Content-Length": str(3 * 1024 * MB),
    }
    sock.sendall(head("POST", "/v1/submissions", headers))
    status, _, body = response(sock)
    assert status == 413
    assert body["error"]["class"] == "RequestTooLargeError"


def test_a_json_body_past_its_limit_is_refused(daemon: Daemon) -> None:
    sock = connect(daemon)
    headers = {**bearer(daemon), "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    sock.sendall(head("PATCH", "/v1/configuration", headers))
    chunk = b" " * (64 * 1024)
    try:
        for _ in range(64):  # 4 MB of blanks, more than the 2 MB a JSON body may have
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    except OSError:
        pass  # refused before the end
    status, _, body = response(sock)
    assert status == 413
    assert "api.max_json_kb" in body["error"]["message"]


@pytest.mark.parametrize("who", ["bob", None])
def test_a_big_patch_without_the_right_is_refused_before_its_body(
    daemon: Daemon, who: str | None
) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(400 * MB)}
    if who is not None:
        with local(daemon) as admin:
            added = admin.post("/v1/accounts", json={"account_name": who, "password": "pw-of-bob"})
            assert added.status_code == 201, added.text
        headers["Authorization"] = "Basic " + base64.b64encode(f"{who}:pw-of-bob".encode()).decode()
    sock = connect(daemon)
    sock.sendall(head("PATCH", "/v1/configuration", headers) + b"{" + b" " * (64 * 1024))
    status, _, body = response(sock)  # answered with 400 MB still to send
    assert status == (403 if who else 401), body
    assert body["error"]["class"] == "AccessDeniedError"
    if who:
        assert "far2MANAGE_CONFIG" in body["error"]["message"]


def test_uploads_being_processed_are_capped(tmp_path: Path) -> None:
    """With one slot, an upload whose body has arrived waits while another renders, then is
    told to come back; a slow sender holds no slot."""
    png = tmp_path / "canvas.png"
    Image.new("RGB", (4000, 4000), "white").save(png, optimize=True)
    api = {"max_concurrent_uploads": 1, "upload_wait_seconds": 0.5}
    with running(tmp_path / "d", memory_limit=LIMIT_BYTES, api=api) as daemon:
        upload = {**bearer(daemon), "Content-Type": "multipart/form-data; boundary=B"}
        with connect(daemon) as slow:  # a body begun and never finished takes no slot
            slow.sendall(head("POST", "/v1/submissions", {**upload, "Content-Length": "100000"}))
            slow.sendall(b"--B\r\n")
            assert until_status(daemon, upload, lambda status: status != 503)[0] == 400
        stop = threading.Event()

        def render() -> None:  # keeps the one slot busy until told to stop
            fax = FaxDocument(body=png, subject="canvas")
            fax.recipients.add("1002", "Recipient")
            with FaxServer() as server:
                server.connect(daemon.address, token=daemon.token, timeout=WAIT_SECONDS)
                while not stop.is_set():
                    fax.connected_submit(server)

        renderer = threading.Thread(target=render)
        renderer.start()
        try:
            status, headers, body = until_status(daemon, upload, lambda status: status == 503)
        finally:
            stop.set()
            renderer.join(WAIT_SECONDS)
        assert body["error"]["class"] == "ServerBusyError"
        assert "api.max_concurrent_uploads" in body["error"]["message"]
        assert int(headers["retry-after"]) >= 1
        status, _, body = until_status(daemon, upload, lambda status: status != 503)
        assert status == 400, body  # served again (refused as incomplete)


def until_status(
    daemon: Daemon, headers: dict[str, str], wanted: Any
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Send a small, incomplete upload until its answer's status is ``wanted``."""
    payload = b'--B\r\nContent-Disposition: form-data; name="document"\r\n\r\n{}\r\n--B--\r\n'
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        with connect(daemon) as sock:
            sock.sendall(
                head("POST", "/v1/submissions", {**headers, "Content-Length": str(len(payload))})
                + payload
            )
            found = response(sock)
        if wanted(found[0]):
            return found
        assert time.monotonic() < deadline, f"still {found[0]} after {WAIT_SECONDS} s: {found}"


def test_concurrent_image_submissions_do_not_multiply_memory(tmp_path: Path) -> None:
    """Four 200 KB PNGs of 64 megapixels each, submitted at once (the finding sent eight):
    Pillow held each several times over (3.8 GB for eight, so about 1.9 GB for four); now an
    image holds its decoded pixels and two grey copies, and the images being rendered share
    one budget."""
    png = tmp_path / "canvas.png"
    Image.new("RGB", (8000, 8000), "white").save(png, optimize=True)
    assert png.stat().st_size < 300 * 1024
    api = {"upload_wait_seconds": 600}  # all four are served, in turn
    with running(tmp_path / "d", memory_limit=LIMIT_BYTES, api=api) as daemon:
        with daemon.connected() as server:
            queue = server.folders.outgoing_queue
            queue.paused = True  # only the submissions are measured
            queue.save()
        peak = daemon.peak_rss()
        failures: list[BaseException] = []

        def submit() -> None:
            try:
                fax = FaxDocument(body=png, subject="canvas")
                fax.recipients.add("1002", "Recipient")
                with FaxServer() as server:
                    server.connect(daemon.address, token=daemon.token, timeout=600)
                    fax.connected_submit(server)
            except BaseException as exc:  # reported below, in the test's thread
                failures.append(exc)

        threads = [threading.Thread(target=submit) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        assert not failures, failures
        print(f"\npeak RSS {peak / MB:.0f} MB before, {daemon.peak_rss() / MB:.0f} MB after")
        assert daemon.peak_rss() - peak < 768 * MB


# --- finding 3: slow and half-open connections ------------------------------------------------


@contextmanager
def file_limit(soft: int) -> Iterator[None]:
    """This process's soft RLIMIT_NOFILE set to ``soft`` (a child started within inherits it)."""
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, before[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)


def test_half_open_connections_starve_no_one(tmp_path: Path) -> None:
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 2400:
        pytest.skip("needs a hard file limit of 2,400 for 1,100 connections on both ends")
    daemon = Daemon(tmp_path, memory_limit=LIMIT_BYTES)
    with file_limit(1024):  # openfaxd starts with the usual limit, as in the finding
        daemon.start()
    try:
        with file_limit(2400), ExitStack() as stack:
            logged = daemon.log_bytes
            for _ in range(1100):
                sock = stack.enter_context(connect(daemon, ATTACKER))
                sock.sendall(b"GET /v1/server HTTP/1.1\r\nHost: openfaxd\r\n")
            start = time.monotonic()
            with local(daemon) as client:
                assert client.get("/v1/server").status_code == 200
            print(f"\nthe Unix socket answered in {time.monotonic() - start:.3f} s")
            good = connect(daemon)
            good.sendall(head("GET", "/v1/server", bearer(daemon)))
            assert response(good)[0] == 200
            assert daemon.log_bytes - logged < 64 * 1024, "".join(daemon.log)
    finally:
        daemon.stop()


def test_a_connection_without_a_request_is_closed(tmp_path: Path) -> None:
    api = {"header_timeout_seconds": 1}
    with running(tmp_path, memory_limit=LIMIT_BYTES, api=api) as daemon, connect(daemon) as sock:
        sock.sendall(b"GET /v1/server HTTP/1.1\r\n")  # and never the rest
        assert sock.recv(1024) == b""  # closed by the server, not by this timeout


def test_one_client_address_holds_a_few_connections_at_most(tmp_path: Path) -> None:
    api = {"max_connections_per_client": 3}
    with running(tmp_path, memory_limit=LIMIT_BYTES, api=api) as daemon, ExitStack() as stack:
        busy = {**bearer(daemon), "Content-Type": "application/json", "Content-Length": "10"}
        for _ in range(3):  # requests begun, their bodies still to come
            sock = stack.enter_context(connect(daemon, ATTACKER))
            sock.sendall(head("PATCH", "/v1/configuration", busy))
        one_more = stack.enter_context(connect(daemon, ATTACKER))
        assert one_more.recv(1024) == b""  # closed at once
        with connect(daemon) as good:  # another address is served
            good.sendall(head("GET", "/v1/server", bearer(daemon)))
            assert response(good)[0] == 200


def test_a_connection_that_sent_no_request_makes_room_for_one_that_does(tmp_path: Path) -> None:
    api = {"max_connections_per_client": 3}
    with running(tmp_path, memory_limit=LIMIT_BYTES, api=api) as daemon, ExitStack() as stack:
        idle = [stack.enter_context(connect(daemon)) for _ in range(3)]
        for sock in idle:
            sock.sendall(b"GET /v1/server HTTP/1.1\r\n")  # and never the rest
        deadline = time.monotonic() + WAIT_SECONDS
        while True:  # until the oldest has waited long enough to give way
            with connect(daemon) as good:
                good.sendall(head("GET", "/v1/server", bearer(daemon)))
                try:
                    if response(good)[0] == 200:
                        break
                except ConnectionError:
                    pass
            assert time.monotonic() < deadline, "no connection gave way"
        assert idle[0].recv(1024) == b""  # the oldest was closed for it


def test_tls_connections_are_counted_from_their_accept(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    """A TLS connection that never shakes hands counts against its address's cap: the
    guard sees it at the accept, not once its handshake is done."""
    cert, key = certificate
    api = {"tls_certificate": str(cert), "tls_key": str(key), "max_connections_per_client": 3}
    with running(tmp_path, memory_limit=LIMIT_BYTES, api=api) as daemon, ExitStack() as stack:
        held = [stack.enter_context(connect(daemon, ATTACKER)) for _ in range(3)]  # silent
        one_more = stack.enter_context(connect(daemon, ATTACKER))
        assert one_more.recv(1024) == b""
        held[0].setblocking(False)  # the older ones are open still: not the handshake's end
        with pytest.raises(BlockingIOError):
            held[0].recv(1024)


@pytest.mark.skipif(not os.environ.get("OPENFAX_STRESS"), reason="a long run: OPENFAX_STRESS=1")
@pytest.mark.timeout(900)
def test_a_minute_of_slow_connections_from_many_addresses(tmp_path: Path) -> None:
    """64 addresses each keep 40 connections open for a minute, sending their headers a
    byte a second and opening a new one for each the server closes, while a local and a
    remote client ask every half second."""
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 4096:
        pytest.skip("needs a hard file limit of 4,096")
    daemon = Daemon(tmp_path, memory_limit=LIMIT_BYTES)
    with file_limit(1024):
        daemon.start()
    stop = threading.Event()
    opened = [0]

    def attack() -> None:
        held: list[socket.socket] = []
        sources = [f"127.0.1.{n}" for n in range(1, 65)]
        while not stop.is_set():
            live = []
            for sock in held:
                try:
                    sock.send(b"X")
                    live.append(sock)
                except OSError:
                    sock.close()
            held = live
            count = Counter(sock.getsockname()[0] for sock in held)
            for source in sources:
                for _ in range(40 - count[source]):
                    try:
                        sock = connect(daemon, source)
                        sock.setblocking(False)
                        sock.send(b"GET /v1/server HTTP/1.1\r\n")
                    except OSError:
                        continue
                    held.append(sock)
                    opened[0] += 1
            stop.wait(1.0)
        for sock in held:
            sock.close()

    local_times: list[float] = []
    remote_times: list[float] = []
    try:
        with file_limit(4096):
            logged = daemon.log_bytes
            attacker = threading.Thread(target=attack)
            attacker.start()
            end = time.monotonic() + 60
            with local(daemon) as client:
                while time.monotonic() < end:
                    start = time.monotonic()
                    assert client.get("/v1/server").status_code == 200
                    local_times.append(time.monotonic() - start)
                    start = time.monotonic()
                    with connect(daemon) as good:
                        good.sendall(head("GET", "/v1/server", bearer(daemon)))
                        assert response(good)[0] == 200
                    remote_times.append(time.monotonic() - start)
                    time.sleep(0.5)  # pacing the well-behaved clients, not waiting for anything
            stop.set()
            attacker.join(WAIT_SECONDS)
            print(
                f"\n{opened[0]} attacking connections opened; Unix socket answered in "
                f"{median(local_times):.3f} s (median), {max(local_times):.3f} s (most), TCP "
                f"in {median(remote_times):.3f} s / {max(remote_times):.3f} s; "
                f"{daemon.log_bytes - logged} bytes logged"
            )
            assert daemon.log_bytes - logged < 1024 * 1024
    finally:
        stop.set()
        daemon.stop()
