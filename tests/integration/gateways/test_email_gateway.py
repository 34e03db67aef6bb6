"""The e-mail gateway end to end: a real openfaxd takes messages over SMTP (Python's smtplib,
and swaks where it is installed), faxes them between its loopback lines, and mails the
delivery receipt to a real SMTP server (aiosmtpd) in this process."""

from __future__ import annotations

import os
import re
import shutil
import smtplib
import ssl
import subprocess
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openfax.client import FaxServer
from openfax.client.messages import FaxIncomingMessage
from openfax.documents import read_fax_tiff, render_documents
from openfax.model import AccessRights2
from tests.daemon import Daemon, running
from tests.factories import make_pdf
from tests.integration.receipts.conftest import allow_mail
from tests.peers import Mailbox, smtp_server
from tests.waiting import wait_until

ALICE = "alice"
PASSWORD = "fax-by-mail-42"
RELAY = "relay@example.com"
STRANGER = "stranger@example.net"
BIG = "big@example.org"
UNKNOWN = "1999"
"""A number no loopback line has: the call is not answered, and the job fails at once."""
"""An allow-listed address: its messages are faxed as alice's without a login."""
LISTENING = re.compile(r"e-mail gateway listening on smtp://([\d.]+):(\d+)")
WAIT = 90.0
MB = 1024 * 1024
STRESS = os.environ.get("OPENFAX_STRESS") == "1"
STRESS_MB = 300
"""The attachment of the memory test with OPENFAX_STRESS=1, in MB (16 MB otherwise)."""


@pytest.fixture(scope="module")
def daemon(
    tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path]
) -> Iterator[Daemon]:
    cert, key = certificate
    gateway = {
        "enabled": True,
        "listen": "127.0.0.1:0",
        "tls_certificate": str(cert),
        "tls_key": str(key),
        "senders": [
            {"address": RELAY, "account": ALICE},
            {"address": "example.org", "account": ALICE},
        ],
        "max_message_mb": 1,
        "max_recipients": 5,
        "messages_per_minute": 5,
        "max_connections": 4,
    }
    with running(
        tmp_path_factory.mktemp("openfaxd"),
        email_gateway=gateway,
        # A server without LibreOffice (tests/integration/documents/test_office.py has one).
        office={"soffice": "no-libreoffice-here"},
        **{"outgoing.causes.no_answer": {"retryable": False}},
    ) as started:
        with started.connected() as server:
            server.fax_account_set.add_account(ALICE, PASSWORD)
        yield started


@pytest.fixture(scope="module")
def gateway(daemon: Daemon) -> tuple[str, int]:
    """The gateway's address, as openfaxd logged it."""
    found = LISTENING.search("".join(daemon.log))
    assert found, "openfaxd did not say where the e-mail gateway listens"
    return found[1], int(found[2])


@pytest.fixture(scope="module")
def mailbox(daemon: Daemon) -> Iterator[Mailbox]:
    """Where the delivery receipts go: an SMTP server the receipt options point at."""
    with smtp_server() as (box, port), daemon.connected() as server:
        allow_mail(server, port)
        yield box


@pytest.fixture
def smtp(gateway: tuple[str, int]) -> Iterator[smtplib.SMTP]:
    with smtplib.SMTP(*gateway, timeout=WAIT) as client:
        client.ehlo()
        yield client


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(tmp_path_factory.mktemp("docs") / "figures.pdf", 1)


@pytest.fixture(scope="module")
def png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("docs") / "chart.png"
    image = Image.new("L", (800, 600), 255)
    image.paste(0, (100, 100, 700, 200))
    image.save(path)
    return path


def mail(subject: str, text: str | None = None, sender: str = RELAY) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "1002@fax.example.com"
    message["Subject"] = subject
    if text is not None:
        message.set_content(text)
    return message


def receipt(mailbox: Mailbox, count: int) -> EmailMessage:
    """The ``count``-th e-mail the mailbox received (from 1), once it has."""
    return mailbox.wait_for(count, WAIT)[count - 1][1]


def receipt_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    text: str = body.get_content()  # type: ignore[attr-defined]
    return text


def received(
    server: FaxServer, known: set[str], tmp_path: Path, count: int = 1
) -> list[list[np.ndarray]]:
    """The pages (their pixels) of each of the ``count`` faxes the incoming archive holds
    besides those ``known`` (once it does), as they arrived on the line."""

    def arrived() -> list[FaxIncomingMessage] | None:
        archive = server.folders.incoming_archive.get_messages()
        new = [m for m in archive if m.id not in known]
        return new if len(new) >= count else None

    new = wait_until(arrived, f"{count} faxes arrive in the incoming archive", WAIT)
    faxes = []
    for message in new:
        tiff = tmp_path / f"{message.id}.tif"
        message.copy_tiff(tiff)
        faxes.append([np.asarray(page.image) for page in read_fax_tiff(tiff)])
    return faxes


def received_pages(server: FaxServer, known: set[str], tmp_path: Path, count: int = 1) -> list[int]:
    """How many pages each of the ``count`` new faxes (see ``received``) has."""
    return [len(fax) for fax in received(server, known, tmp_path, count)]


def rendered(*documents: Path) -> list[np.ndarray]:
    """The pages of ``documents`` as openfax renders them (what the fax should show)."""
    return [np.asarray(page.image) for page in render_documents(documents)]


def same_pages(got: list[np.ndarray], expected: list[np.ndarray]) -> bool:
    return len(got) == len(expected) and all(
        np.array_equal(a, b) for a, b in zip(got, expected, strict=True)
    )


def archived(server: FaxServer) -> set[str]:
    return {m.id for m in server.folders.incoming_archive.get_messages()}


def test_a_plain_message_from_an_allowed_sender_is_faxed_and_its_receipt_mailed(
    daemon: Daemon, mailbox: Mailbox, smtp: smtplib.SMTP, tmp_path: Path
) -> None:
    with daemon.connected() as server:
        known = archived(server)
        smtp.mail(RELAY)
        assert smtp.rcpt("1002@fax.example.com")[0] == 250
        text = "Please call me back today.\n.A line that begins with a dot\nGrüße\n"
        code, reply = smtp.data(mail("Call me back", text).as_bytes())  # its dot doubled
        assert code == 250, reply
        assert b"fax queued: submission" in reply
        dr = receipt(mailbox, len(mailbox.messages) + 1)
        assert dr["To"] == RELAY
        assert dr["X-OpenFax-Receipt"] == "DR"
        assert dr["Subject"] == 'Fax "Call me back" delivered to 1002'
        assert "Pages:              1 of 1" in receipt_text(dr)
        (fax,) = received(server, known, tmp_path)
        expected = tmp_path / "expected.txt"
        expected.write_text(text)
        assert same_pages(fax, rendered(expected))  # the text as written, its dot kept once
        sent = server.folders.outgoing_archive.get_messages()
        (job,) = [message for message in sent if message.subject == "Call me back"]
        assert job.sender.email == RELAY


def test_over_starttls_a_signed_in_account_faxes_a_pdf_and_a_png_with_the_text_as_cover_note(
    daemon: Daemon,
    mailbox: Mailbox,
    smtp: smtplib.SMTP,
    certificate: tuple[Path, Path],
    pdf: Path,
    png: Path,
    tmp_path: Path,
) -> None:
    with pytest.raises(smtplib.SMTPNotSupportedError):
        smtp.login(ALICE, PASSWORD)  # no password in clear: AUTH comes with STARTTLS
    smtp.starttls(context=ssl.create_default_context(cafile=certificate[0]))
    smtp.ehlo()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        smtp.login(ALICE, "wrong")
    smtp.login(ALICE, PASSWORD)
    message = mail("Quarterly figures", "The figures, as promised.", sender="alice@elsewhere.test")
    message.add_attachment(pdf.read_bytes(), "application", "pdf", filename="figures.pdf")
    message.add_attachment(png.read_bytes(), "image", "png", filename="chart.png")
    with daemon.connected() as server:
        known = archived(server)
        assert smtp.send_message(message) == {}
        dr = receipt(mailbox, len(mailbox.messages) + 1)
        assert dr["To"] == "alice@elsewhere.test"
        assert dr["X-OpenFax-Receipt"] == "DR"
        # The cover page with the note, the PDF's page, the PNG's page.
        assert "Pages:              3 of 3" in receipt_text(dr)
        ((cover, *attached),) = received(server, known, tmp_path)
        assert same_pages(attached, rendered(pdf, png))
        assert cover.min() == 0  # something is written on it


def test_a_signed_in_account_without_the_right_to_submit_is_refused(
    daemon: Daemon, smtp: smtplib.SMTP, certificate: tuple[Path, Path]
) -> None:
    with daemon.connected() as server:
        server.fax_account_set.add_account("viewer", PASSWORD)
        server.security2.grant("viewer", AccessRights2.QUERY_CONFIG)
    smtp.starttls(context=ssl.create_default_context(cafile=certificate[0]))
    smtp.ehlo()
    smtp.login("viewer", PASSWORD)
    code, reply = smtp.mail("viewer@elsewhere.test")
    assert code == 550
    assert b"account 'viewer' may not submit faxes" in reply


def test_a_fax_that_fails_brings_a_non_delivery_receipt_and_a_message_sent_again_is_queued_once(
    mailbox: Mailbox, smtp: smtplib.SMTP
) -> None:
    message = mail("Nobody", "Is anyone there?", sender="carol@example.org")
    message["Message-ID"] = "<nobody-1@example.org>"
    data = message.as_bytes()
    replies = []
    for _ in range(2):  # as a mail server does when the first 250 was lost
        assert smtp.mail("carol@example.org")[0] == 250
        assert smtp.rcpt(f"{UNKNOWN}@fax.example.com")[0] == 250
        replies.append(smtp.data(data))
    assert replies[0][0] == 250
    assert replies[1] == replies[0]  # the same submission: its Message-ID was seen
    ndr = receipt(mailbox, len(mailbox.messages) + 1)
    assert ndr["To"] == "carol@example.org"
    assert ndr["X-OpenFax-Receipt"] == "NDR"
    assert ndr["Subject"] == f'Fax "Nobody" NOT delivered to {UNKNOWN}'
    assert f"no line has number {UNKNOWN}" in receipt_text(ndr)


def test_an_html_only_message_is_faxed_as_its_text(
    daemon: Daemon, mailbox: Mailbox, smtp: smtplib.SMTP, tmp_path: Path
) -> None:
    message = mail("Menu", sender="html@example.org")
    message.set_content(
        "<html><head><style>p { color: red }</style></head>"
        "<body><p>Soup of the <b>day</b></p><script>alert(1)</script></body></html>",
        subtype="html",
    )
    with daemon.connected() as server:
        known = archived(server)
        assert smtp.send_message(message) == {}
        dr = receipt(mailbox, len(mailbox.messages) + 1)
        assert dr["X-OpenFax-Receipt"] == "DR"
        assert received_pages(server, known, tmp_path) == [1]


def test_a_message_for_three_numbers_is_one_broadcast_with_one_summary_receipt(
    daemon: Daemon, mailbox: Mailbox, smtp: smtplib.SMTP, tmp_path: Path
) -> None:
    numbers = ["1002@fax.example.com", "10-02@fax.example.com", '"10 02"@fax.example.com']
    with daemon.connected() as server:
        known = archived(server)
        refused = smtp.sendmail("bob@example.org", numbers, mail("Three", "To three.").as_bytes())
        assert refused == {}
        summary = receipt(mailbox, len(mailbox.messages) + 1)
        assert summary["To"] == "bob@example.org"
        assert summary["Subject"] == 'Broadcast fax "Three": 3 of 3 recipients received it'
        assert received_pages(server, known, tmp_path, 3) == [1, 1, 1]


def test_an_unknown_sender_and_a_recipient_that_is_no_number_are_refused_and_audited(
    daemon: Daemon, smtp: smtplib.SMTP
) -> None:
    # At start, before the test made alice's account, the allow-list's entries were checked.
    assert "senders maps relay@example.com to 'alice', which is no account" in "".join(daemon.log)
    code, reply = smtp.mail(STRANGER)
    assert code == 550
    assert b"may not fax through this gateway" in reply
    assert smtp.mail(RELAY)[0] == 250
    code, reply = smtp.rcpt("sales@fax.example.com")
    assert code == 550
    assert b"'sales' is not a fax number" in reply
    for _ in range(5):
        assert smtp.rcpt("1002@fax.example.com")[0] == 250
    code, reply = smtp.rcpt("1002@fax.example.com")
    assert code == 452  # max_recipients
    with daemon.connected() as server:

        def audited() -> list[tuple[str, str, str]] | None:
            found = [
                (entry.actor, entry.object_id, entry.details["reply"][:9])
                for entry in server.get_audit(limit=1000)
                if entry.action == "refused" and entry.object_id in (RELAY, STRANGER)
            ]
            return found if len(found) >= 3 else None

        refusals = wait_until(audited, "the three refusals in the audit trail")
    assert refusals == [
        ("openfaxd", STRANGER, "550 5.7.1"),
        (ALICE, RELAY, "550 5.1.1"),
        (ALICE, RELAY, "452 4.5.3"),
    ]


def test_a_sender_past_its_messages_per_minute_and_a_connection_past_the_most_wait(
    gateway: tuple[str, int], smtp: smtplib.SMTP
) -> None:
    for _ in range(5):
        assert smtp.mail("busy@example.org")[0] == 250
        smtp.rset()
    code, reply = smtp.mail("busy@example.org")
    assert code == 450
    assert b"5 messages in the last minute" in reply
    assert smtp.mail("calm@example.org")[0] == 250  # another sender goes on
    others = [smtplib.SMTP(*gateway, timeout=WAIT) for _ in range(3)]  # four with smtp
    try:
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP(*gateway, timeout=WAIT)
        assert refused.value.smtp_code == 421
        assert b"max_connections" in refused.value.smtp_error
    finally:
        for client in others:
            client.quit()


def test_a_message_too_large_is_refused_by_its_size_or_as_it_arrives(
    daemon: Daemon, smtp: smtplib.SMTP
) -> None:
    message = mail("Big", sender=BIG)
    message.set_content(("0123456789" * 7 + "\n") * 20_000)  # 1.4 MB, max_message_mb is 1
    data = message.as_bytes()
    with pytest.raises(smtplib.SMTPSenderRefused) as declared:
        smtp.sendmail(BIG, ["1002@fax.example.com"], data)  # smtplib announces SIZE
    assert declared.value.smtp_code == 552
    smtp.rset()
    assert smtp.mail(BIG)[0] == 250  # no SIZE given: refused while it arrives
    assert smtp.rcpt("1002@fax.example.com")[0] == 250
    code, reply = smtp.data(data)
    assert code == 552, reply
    assert b"larger than 1 MiB" in reply
    assert smtp.noop()[0] == 250  # the connection goes on


def test_an_office_attachment_is_refused_where_there_is_no_libreoffice(
    smtp: smtplib.SMTP, tmp_path: Path
) -> None:
    message = mail("Letter", "The letter.", sender="office@example.org")
    message.add_attachment(
        b"PK\x03\x04 not really a document",
        "application",
        "vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="letter.docx",
    )
    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtp.send_message(message)
    assert refused.value.smtp_code == 554
    assert b"'letter.docx' is an Office document" in refused.value.smtp_error
    assert b"install the Debian package libreoffice-writer-nogui" in refused.value.smtp_error


def test_an_attachment_that_cannot_be_rendered_is_refused_by_its_name(
    smtp: smtplib.SMTP, pdf: Path
) -> None:
    message = mail("Broken", "Two documents.", sender="broken@example.org")
    message.add_attachment(pdf.read_bytes(), "application", "pdf", filename="fine.pdf")
    message.add_attachment(b"%PDF-1.4 cut short", "application", "pdf", filename="Übersicht.pdf")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtp.send_message(message)
    assert refused.value.smtp_code == 554
    reply = refused.value.smtp_error.decode()
    assert reply.startswith("5.6.0 ?bersicht.pdf: ")  # the reply is ASCII
    assert "/" not in reply  # no path of the server's


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
def test_swaks_sends_a_pdf_through_the_gateway(
    gateway: tuple[str, int], mailbox: Mailbox, pdf: Path
) -> None:
    count = len(mailbox.messages)
    done = subprocess.run(
        [
            *("swaks", "--server", f"{gateway[0]}:{gateway[1]}", "--from", "swaks@example.org"),
            *("--to", "1002@fax.example.com", "--header", "Subject: From swaks"),
            *("--attach-type", "application/pdf", "--attach", f"@{pdf}"),
        ],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fax queued: submission" in done.stdout
    dr = receipt(mailbox, count + 1)
    assert dr["Subject"] == 'Fax "From swaks" delivered to 1002'


def test_the_memory_of_a_message_does_not_grow_with_its_size(tmp_path: Path) -> None:
    """A message of 22 MB (a 16 MB attachment, base64-coded) is spooled to disk as it
    arrives and split into its parts a line at a time: the daemon's peak memory grows by
    far less than the message (the attachment, random bytes named .docx, is then refused by
    its content)."""
    attachment = os.urandom(STRESS_MB * MB if STRESS else 16 * MB)
    message = mail("Large", "A large one.", sender="large@example.org")
    message.add_attachment(attachment, "application", "octet-stream", filename="large.docx")
    data = message.as_bytes(policy=SMTP)
    gateway = {
        "enabled": True,
        "listen": "127.0.0.1:0",
        "senders": [{"address": "example.org", "account": ALICE}],
        "max_message_mb": len(data) // MB + 1,
    }
    with running(tmp_path / "data", email_gateway=gateway) as daemon:
        with daemon.connected() as server:
            server.fax_account_set.add_account(ALICE, PASSWORD)
        found = LISTENING.search("".join(daemon.log))
        assert found
        assert daemon.process is not None
        # The peak so far is the start's: it is set back to the memory in use now.
        Path(f"/proc/{daemon.process.pid}/clear_refs").write_text("5")
        before = daemon.peak_rss()
        with smtplib.SMTP(found[1], int(found[2]), timeout=WAIT * 4) as client:
            client.ehlo()
            assert client.mail("large@example.org")[0] == 250
            assert client.rcpt("1002@fax.example.com")[0] == 250
            started = time.monotonic()
            code, reply = client.data(data)
            took = time.monotonic() - started
        grown = daemon.peak_rss() - before
    assert code == 554
    assert b"large.docx" in reply
    print(
        f"a {len(data) / MB:.0f} MB message taken and split in {took:.1f} s: "
        f"peak RSS {before / MB:.0f} MB + {grown / MB:.1f} MB"
    )
    assert grown < 12 * MB


def test_a_slow_sender_is_not_cut_off_while_its_message_arrives_and_a_silent_one_is(
    tmp_path: Path,
) -> None:
    gateway = {
        "enabled": True,
        "listen": "127.0.0.1:0",
        "senders": [{"address": "example.org", "account": ALICE}],
        "idle_timeout_seconds": 1.5,
    }
    with running(tmp_path / "data", email_gateway=gateway) as daemon:
        with daemon.connected() as server:
            server.fax_account_set.add_account(ALICE, PASSWORD)
        found = LISTENING.search("".join(daemon.log))
        assert found
        with smtplib.SMTP(found[1], int(found[2]), timeout=WAIT) as client:
            client.ehlo()
            assert client.mail("slow@example.org")[0] == 250
            assert client.rcpt("1002@fax.example.com")[0] == 250
            client.putcmd("data")
            assert client.getreply()[0] == 354
            client.send(b"Subject: Slow\r\n\r\n")
            for line in range(6):  # 3 s in all, twice the idle time, never 1.5 s quiet
                time.sleep(0.5)  # the sender's own pace: the behaviour under test
                client.send(b"line %d\r\n" % line)
            client.send(b".\r\n")
            code, reply = client.getreply()
            assert code == 250, reply
            assert client.sock is not None
            client.sock.settimeout(WAIT)
            assert client.sock.recv(1) == b""  # silent: closed after the idle time
