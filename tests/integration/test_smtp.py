"""The shared SMTP sender against a real SMTP server (aiosmtpd) in this process: a message
with a file attached arrives whole, plain and over STARTTLS with a login, its text lines
that begin with "." kept; the server's refusals become MailError; and sending a large
attachment from a file costs a sending process far less memory than the file's size."""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
import subprocess
import sys
import textwrap
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope, Session

import openfax
from openfax.errors import MailError
from openfax.smtp import BLOCK, Attachment, SmtpSettings, send_message
from tests.peers import Mailbox, smtp_server

TEXT = "The fax:\n.\n.. two dots\n.hidden\nend.\n"
"""Lines beginning with "." that the sender must stuff and the server unstuff."""


def write_random(path: Path, size: int) -> Path:
    """A file of ``size`` random bytes (written a megabyte at a time)."""
    with path.open("wb") as out:
        while size > 0:
            out.write(os.urandom(min(size, 1 << 20)))
            size -= 1 << 20
    return path


def message(to: str = "office@example.com") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "fax@example.com"
    mail["To"] = to
    mail["Subject"] = "A fax"
    mail.set_content(TEXT)
    return mail


def text(mail: EmailMessage) -> str:
    """The plain text of an e-mail as it arrived, with its line ends as Python writes them."""
    body = mail.get_body(("plain",))
    assert body is not None
    content: str = body.get_content()
    return content.replace("\r\n", "\n")


class Refusing(Mailbox):
    """Refuses every recipient at nowhere.example."""

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.endswith("@nowhere.example"):
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_message_with_attachments_of_a_few_megabytes_arrives_whole(tmp_path: Path) -> None:
    # Sizes not a multiple of a block or a line: the last lines of each are short.
    first = write_random(tmp_path / "first.pdf", 3 * 1024 * 1024 + 7)
    second = write_random(tmp_path / "second.bin", 100)
    attachments = [
        Attachment(path=first, filename="fax-1.pdf"),
        Attachment(path=second, filename="data.bin", maintype="application", subtype="x-fax"),
    ]
    with smtp_server() as (mailbox, port):
        send_message(message(), SmtpSettings(host="127.0.0.1", port=port), attachments)
        ((user, mail),) = mailbox.wait_for(1)

    assert user is None
    assert mail["Subject"] == "A fax"
    assert text(mail) == TEXT
    parts = list(mail.iter_attachments())
    assert [(p.get_filename(), p.get_content_type()) for p in parts] == [
        ("fax-1.pdf", "application/pdf"),
        ("data.bin", "application/x-fax"),
    ]
    assert parts[0].get_content() == first.read_bytes()
    assert parts[1].get_content() == second.read_bytes()


def test_a_message_goes_over_starttls_with_a_login_and_a_wrong_password_fails_for_good(
    tmp_path: Path, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(*certificate)
    pdf = write_random(tmp_path / "fax.pdf", 2 * 1024 * 1024)
    settings = SmtpSettings(
        host="127.0.0.1", starttls=True, username="fax", password="letmein", port=0
    )
    with smtp_server(users={"fax": "letmein"}, tls=tls) as (mailbox, port):
        attached = [Attachment(path=pdf, filename="fax.pdf")]
        send_message(message(), SmtpSettings(**{**settings.__dict__, "port": port}), attached)
        ((user, mail),) = mailbox.wait_for(1)
        wrong = SmtpSettings(**{**settings.__dict__, "port": port, "password": "guess"})
        with pytest.raises(MailError, match="535") as refused:
            send_message(message(), wrong, attached)

    assert user == "fax"
    assert text(mail) == TEXT
    (part,) = mail.iter_attachments()
    assert part.get_content() == pdf.read_bytes()
    assert not refused.value.retryable


def test_lines_beginning_with_a_dot_arrive_whole_wherever_a_block_ends() -> None:
    """Lines of 3 and 4 bytes with their CRLF, 7 a pair; a block is 2 more than a multiple
    of 7, so over 8 blocks one ends at every place of a pair: before a dot, between CR and
    LF, within a line."""
    assert BLOCK % 7 == 2
    long_text = ".\n.a\n" * (8 * BLOCK // 7 + 1)
    mail = message()
    mail.set_content(long_text)
    with smtp_server() as (mailbox, port):
        send_message(mail, SmtpSettings(host="127.0.0.1", port=port))
        ((_, arrived),) = mailbox.wait_for(1)

    assert text(arrived) == long_text


def test_a_message_without_attachments_still_goes_as_it_did(tmp_path: Path) -> None:
    with smtp_server() as (mailbox, port):
        send_message(message(), SmtpSettings(host="127.0.0.1", port=port), folder=tmp_path)
        ((_, mail),) = mailbox.wait_for(1)

    assert not mail.is_multipart()
    assert text(mail) == TEXT
    assert list(tmp_path.iterdir()) == []  # the message's file is gone


def test_refusals_become_mail_errors_saying_whether_to_try_again(tmp_path: Path) -> None:
    pdf = write_random(tmp_path / "fax.pdf", 64 * 1024)
    attached = [Attachment(path=pdf, filename="fax.pdf")]
    with smtp_server(mailbox=Refusing(), data_size_limit=10_000) as (mailbox, port):
        settings = SmtpSettings(host="127.0.0.1", port=port)
        with pytest.raises(MailError, match="552") as too_large:
            send_message(message(), settings, attached)
        with pytest.raises(MailError, match=r"refused.*no such mailbox"):
            send_message(message(to="someone@nowhere.example"), settings)
    assert not too_large.value.retryable
    with pytest.raises(MailError, match="cannot send through") as closed:
        send_message(message(), settings, attached)
    assert closed.value.retryable
    assert mailbox.messages == []


class Digest(Mailbox):
    """Keeps, of each message, the SHA-256 of its one attachment's decoded bytes: a large
    message is not parsed into parts."""

    def __init__(self) -> None:
        super().__init__()
        self.digests: list[str] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        _, _, rest = content.partition(b"Content-Disposition: attachment")
        body = rest.split(b"\r\n\r\n", 1)[1].split(b"\r\n--", 1)[0]
        with self.arrived:
            self.digests.append(hashlib.sha256(base64.b64decode(body)).hexdigest())
            self.messages.append((None, EmailMessage()))
            self.arrived.notify_all()
        return "250 OK"


SENDER = textwrap.dedent(
    """
    import sys
    from email.message import EmailMessage
    from pathlib import Path

    from openfax.smtp import BLOCK, Attachment, SmtpSettings, send_message

    def peak() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM")

    port, pdf, folder = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    mail = EmailMessage()
    mail["From"] = "fax@example.com"
    mail["To"] = "office@example.com"
    mail["Subject"] = "A large fax"
    mail.set_content("The fax is attached.\\n")
    before = peak()
    settings = SmtpSettings(host="127.0.0.1", port=port)
    send_message(mail, settings, [Attachment(path=pdf, filename="fax.pdf")], folder=folder)
    print(before, peak())
    """
)


def test_sending_a_large_attachment_from_a_file_keeps_the_memory_of_a_block(
    tmp_path: Path,
) -> None:
    """The sender runs in a process of its own, so that nothing this test process did
    before raises the high-water mark that is compared."""
    size = 50 * 1024 * 1024
    pdf = write_random(tmp_path / "large.pdf", size)
    folder = tmp_path / "spool"
    folder.mkdir()
    source = Path(openfax.__file__).parents[1]
    environment = {**os.environ, "PYTHONPATH": str(source)}
    with smtp_server(mailbox=Digest(), data_size_limit=None) as (digest, port):
        done = subprocess.run(
            [sys.executable, "-c", SENDER, str(port), str(pdf), str(folder)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        digest.wait_for(1)

    before, after = map(int, done.stdout.split())
    assert isinstance(digest, Digest)
    assert digest.digests == [hashlib.sha256(pdf.read_bytes()).hexdigest()]
    print(f"sender's VmHWM {before / 2**20:.1f} MiB before, {after / 2**20:.1f} MiB after")
    assert after - before < 20 * 1024 * 1024, f"grew {(after - before) / 2**20:.1f} MiB"
    assert list(folder.iterdir()) == []
