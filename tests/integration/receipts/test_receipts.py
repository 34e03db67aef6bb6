"""Delivery receipts end to end: a real openfaxd sends faxes between its loopback lines and
mails delivery and non-delivery receipts to a real SMTP server (aiosmtpd) in this process."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from openfax.client import FaxDocument, FaxServer
from openfax.errors import ConfigError, InvalidOperationError, SubmissionError
from openfax.model import ReceiptType, SmtpAuthenticationType
from openfax.routing import ROUTE_TO_EMAIL
from tests.integration.receipts.conftest import UNKNOWN, allow_mail, submit
from tests.integration.routing.conftest import fax_to, settled, use_only
from tests.peers import free_port, smtp_server
from tests.waiting import wait_until


def body_of(mail: EmailMessage) -> str:
    text: str = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return text


def attached_pages(mail: EmailMessage) -> int:
    (part,) = list(mail.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    return len(pdfium.PdfDocument(part.get_content()))


def test_a_sent_fax_brings_a_delivery_receipt_and_a_failed_one_a_non_delivery_receipt(
    server: FaxServer, two_pages: Path
) -> None:
    with smtp_server() as (mailbox, port):
        allow_mail(server, port)
        (delivered,) = submit(server, two_pages, "1002", address="helen@example.com")
        ((_, dr),) = mailbox.wait_for(1)
        (failed,) = submit(server, two_pages, UNKNOWN, address="helen@example.com")
        ((_, ndr),) = mailbox.wait_for(2)[1:]

    assert dr["To"] == "helen@example.com"
    assert dr["From"] == "fax@example.com"
    assert dr["X-OpenFax-Receipt"] == "DR"
    assert dr["Subject"] == 'Fax "Quarterly figures" delivered to Office 1002 (1002)'
    text = body_of(dr)
    for expected in ("Status:             COMPLETED", "Pages:              2 of 2", delivered):
        assert expected in text
    assert "CSID:               1002" in text
    assert "TSID:               1001" in text
    assert not list(dr.iter_attachments())

    assert ndr["X-OpenFax-Receipt"] == "NDR"
    assert (
        ndr["Subject"] == f'Fax "Quarterly figures" NOT delivered to Office {UNKNOWN} ({UNKNOWN})'
    )
    text = body_of(ndr)
    assert "Status:             FAILED" in text
    assert "Pages:              0 of 2" in text
    assert "Extended status:    no answer: no line has number 1999 (9)" in text
    assert failed in text
    # Marked sent just after the SMTP server took it.
    sent = wait_until(
        lambda: (
            {r.job_id: r for r in server.get_receipts(status="done")}.keys() >= {delivered, failed}
            and {r.job_id: r for r in server.get_receipts(status="done")}
        ),
        "both receipts marked sent",
    )
    assert (sent[delivered].delivered, sent[failed].delivered) == (True, False)


def test_a_broadcast_gets_one_summary_with_the_fax_attached_or_one_receipt_per_recipient(
    server: FaxServer, two_pages: Path
) -> None:
    with smtp_server() as (mailbox, port):
        allow_mail(server, port)
        jobs = submit(server, two_pages, "1002", UNKNOWN, attach=True, group=True)
        ((_, summary),) = mailbox.wait_for(1)
        submit(server, two_pages, "1002", UNKNOWN, group=False)
        separate = [mail for _, mail in mailbox.wait_for(3)[1:]]

    assert summary["Subject"] == 'Broadcast fax "Quarterly figures": 1 of 2 recipients received it'
    assert summary["X-OpenFax-Receipt"] == "NDR"
    text = body_of(summary)
    assert all(job in text for job in jobs)
    assert "Recipient:          Office 1002 (1002)" in text
    assert f"Recipient:          Office {UNKNOWN} ({UNKNOWN})" in text
    assert attached_pages(summary) == 2

    assert sorted(m["X-OpenFax-Receipt"] for m in separate) == ["DR", "NDR"]
    assert all(len(body_of(m).split("Recipient:")) == 2 for m in separate)


def test_a_receipt_goes_over_starttls_with_a_login_and_the_password_reads_masked(
    server: FaxServer, two_pages: Path, certificate: tuple[Path, Path]
) -> None:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(*certificate)
    with smtp_server(users={"fax": "letmein"}, tls=tls) as (mailbox, port):
        allow_mail(
            server,
            port,
            authentication_type=SmtpAuthenticationType.BASIC,
            starttls=True,
            smtp_user="fax",
            smtp_password="letmein",
        )
        options = server.receipt_options
        assert options.smtp_password == "********"
        options.save()  # the mask saved back keeps the password
        (job,) = submit(server, two_pages, "1002", attach=True)
        ((user, mail),) = mailbox.wait_for(1)
    assert user == "fax"
    assert mail["X-OpenFax-Receipt"] == "DR"
    assert job in body_of(mail)
    assert attached_pages(mail) == 2


def test_a_receipt_the_smtp_server_could_not_take_is_delivered_once_when_it_is_back(
    server: FaxServer, two_pages: Path
) -> None:
    port = free_port()
    allow_mail(server, port)
    (job,) = submit(server, two_pages, "1002")

    def failing() -> bool:
        found = [r for r in server.get_receipts() if r.job_id == job]
        return bool(found) and found[0].attempts >= 2 and found[0].status == "pending"

    wait_until(failing, "two failed attempts")
    (receipt,) = [r for r in server.get_receipts() if r.job_id == job]
    assert "cannot send through 127.0.0.1" in receipt.last_error
    with smtp_server(port=port) as (mailbox, _):
        ((_, mail),) = mailbox.wait_for(1)
        wait_until(
            lambda: [r for r in server.get_receipts(status="done") if r.job_id == job],
            "the receipt marked sent",
        )
        assert len(mailbox.messages) == 1
    assert job in body_of(mail)


def test_a_receipt_queued_before_a_crash_is_sent_after_the_restart(
    server: FaxServer, two_pages: Path, daemon: object
) -> None:
    from tests.daemon import Daemon

    assert isinstance(daemon, Daemon)
    port = free_port()
    allow_mail(server, port)
    (job,) = submit(server, two_pages, "1002")
    wait_until(
        lambda: [r for r in server.get_receipts() if r.job_id == job and r.attempts >= 1],
        "a failed attempt",
    )
    daemon.kill()
    with smtp_server(port=port) as (mailbox, _):
        daemon.start()
        ((_, mail),) = mailbox.wait_for(1)
        with daemon.connected() as again:
            wait_until(
                lambda: [r for r in again.get_receipts(status="done") if r.job_id == job],
                "the receipt marked sent",
            )
        assert len(mailbox.messages) == 1
    assert job in body_of(mail)


def test_receipts_the_options_do_not_allow_are_refused_at_submission(
    server: FaxServer, two_pages: Path
) -> None:
    options = server.receipt_options
    options.allowed_receipts = ReceiptType.NONE
    options.save()
    with pytest.raises(SubmissionError, match="receipt type mail is not allowed"):
        submit(server, two_pages, "1002")
    document = FaxDocument(body=two_pages)
    document.recipients.add("1002")
    document.receipt_type = ReceiptType.MSGBOX
    with pytest.raises(SubmissionError, match="message-box receipts"):
        document.connected_submit(server)
    allow_mail(server, 25)
    document.receipt_type = ReceiptType.MAIL
    with pytest.raises(SubmissionError, match="needs an e-mail address"):
        document.connected_submit(server)


def test_windows_only_options_are_refused_with_a_clear_error(server: FaxServer) -> None:
    options = server.receipt_options
    options.authentication_type = SmtpAuthenticationType.NTLM
    with pytest.raises(ConfigError, match="NTLM is Windows-only"):
        options.save()
    options.refresh()
    options.allowed_receipts = ReceiptType.MAIL | ReceiptType.MSGBOX
    with pytest.raises(ConfigError, match="message-box receipts are Windows-only"):
        options.save()


def test_basic_authentication_saved_without_a_user_fails_the_receipt_naming_it(
    server: FaxServer, two_pages: Path
) -> None:
    # FAXCOMEX's receipt-options sample saves basic authentication and no SMTPUser.
    allow_mail(server, free_port(), authentication_type=SmtpAuthenticationType.BASIC, smtp_user="")
    (job,) = submit(server, two_pages, "1002")
    (failed,) = wait_until(
        lambda: [r for r in server.get_receipts(status="failed") if r.job_id == job],
        "the receipt failed for good",
    )
    assert failed.attempts == 1
    assert "smtp_user: is required with basic authentication" in failed.last_error


def test_e_mail_routing_takes_the_smtp_settings_it_leaves_out_from_the_receipt_options(
    server: FaxServer, two_pages: Path
) -> None:
    with smtp_server() as (mailbox, port):
        allow_mail(server, port, use_for_inbound_routing=True)
        method = server.inbound_routing.get_method(ROUTE_TO_EMAIL)
        shown = method.set_configuration({"recipients": ["office@example.com"]})
        assert "smtp_host" not in shown
        use_only(server, "loopback line 1002", ROUTE_TO_EMAIL)
        try:
            (delivery,) = settled(server, fax_to(server, "1002", two_pages))
            ((_, mail),) = mailbox.wait_for(1)
        finally:
            use_only(server, "loopback line 1002")
            options = server.receipt_options
            options.use_for_inbound_routing = False
            options.save()
    assert delivery.status == "done"
    assert mail["To"] == "office@example.com"
    assert mail["From"] == "fax@example.com"


def test_a_receipt_refused_for_good_is_listed_failed_and_sent_again_once_put_right(
    server: FaxServer, two_pages: Path
) -> None:
    with smtp_server(users={"fax": "letmein"}) as (mailbox, port):
        allow_mail(
            server,
            port,
            authentication_type=SmtpAuthenticationType.BASIC,
            smtp_user="fax",
            smtp_password="wrong",
        )
        (job,) = submit(server, two_pages, "1002")
        (failed,) = wait_until(
            lambda: [r for r in server.get_receipts(status="failed") if r.job_id == job],
            "the receipt failed for good",
        )
        # A 535 (failed login) is not tried again.
        assert failed.attempts == 1
        assert "535" in failed.last_error
        options = server.receipt_options
        options.smtp_password = "letmein"
        options.save()
        failed.resend()
        assert failed.status == "pending"
        assert failed.attempts == 0
        with pytest.raises(InvalidOperationError, match="only failed ones"):
            failed.resend()
        ((user, mail),) = mailbox.wait_for(1)
    assert user == "fax"
    assert job in body_of(mail)
