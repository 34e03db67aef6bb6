"""The far ends routed faxes go to, run for real in the test process: an HTTP server that
receives webhooks (answering with the statuses a test queues) and an SMTP server (aiosmtpd)
that keeps what it is sent."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class Delivery:
    """One webhook request as it arrived."""

    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        """Whether ``X-OpenFax-Signature`` is the HMAC-SHA256 of the body with ``secret``."""
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("x-openfax-signature", ""), expected)


class WebhookReceiver:
    """A local HTTP server recording every POST; it answers each with the next status of
    ``statuses`` (200 once they are used up). A request is recorded as it arrives but
    answered only while ``answering`` is set (it is, unless a test clears it to hold a
    delivery in progress)."""

    def __init__(self) -> None:
        self.received: list[Delivery] = []
        self.statuses: deque[int] = deque()
        self.arrived = threading.Condition()
        self.answering = threading.Event()
        self.answering.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.arrived:
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                    receiver.received.append(Delivery(headers, body))
                    receiver.arrived.notify_all()
                receiver.answering.wait()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fax"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Delivery]:
        """The first ``count`` requests, once they have arrived."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"{len(self.received)} webhook requests, not {count}")
            return self.received[:count]


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.answering.set()  # a request still held is answered, not left hanging
        receiver.server.shutdown()
        receiver.server.server_close()


class Mailbox:
    """aiosmtpd's handler: keeps each message with the user that logged in to send it."""

    def __init__(self) -> None:
        self.messages: list[tuple[str | None, EmailMessage]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        user = session.auth_data if isinstance(session.auth_data, str) else None
        with self.arrived:
            self.messages.append((user, message))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 60.0) -> list[tuple[str | None, EmailMessage]]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"{len(self.messages)} e-mails arrived, not {count}")
            return self.messages[:count]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server(
    *,
    users: dict[str, str] | None = None,
    tls: Any = None,
    port: int | None = None,
    data_size_limit: int | None = 33554432,
    mailbox: Mailbox | None = None,
) -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on 127.0.0.1 (on ``port``, or a free one); with ``users`` it wants a
    login (over STARTTLS when ``tls``, an ``ssl.SSLContext``, is given); it refuses messages
    larger than ``data_size_limit`` (aiosmtpd's default; None: any size); yields its
    handler (a new :class:`Mailbox` unless ``mailbox`` is given) and port."""
    mailbox = Mailbox() if mailbox is None else mailbox

    def authenticate(
        server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            users is not None
            and isinstance(data, LoginPassword)
            and users.get(data.login.decode()) == data.password.decode()
        )
        return AuthResult(success=ok, handled=False, auth_data=data.login.decode() if ok else None)

    options: dict[str, Any] = {}
    if users is not None:
        options |= {"authenticator": authenticate, "auth_required": True}
        options["auth_require_tls"] = tls is not None
    if tls is not None:
        options |= {"tls_context": tls, "require_starttls": True}
    options["data_size_limit"] = data_size_limit
    controller = Controller(mailbox, hostname="127.0.0.1", port=port or free_port(), **options)
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
