"""Sending e-mail through an SMTP server: the one sender that the e-mail routing method and
delivery receipts share (the standard library's client, blocking: call it from a worker
thread), optionally over STARTTLS and with a login.

A message is written to a temporary file as it will be sent, its attachments base64-coded
from their files a block at a time, and sent from that file a block at a time: the memory
of sending does not grow with the size of what is attached."""

from __future__ import annotations

import base64
import re
import secrets
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import getaddresses
from pathlib import Path
from typing import BinaryIO

from openfax.errors import MailError

SMTP_TIMEOUT = 60.0
"""Seconds one SMTP exchange may stall before the attempt counts as failed."""

BLOCK = 57 * 1024
"""Bytes of an attachment coded at a time: a multiple of 57, so each block gives whole
76-character base64 lines (and the message is sent in blocks of about this size)."""

_EOLS = re.compile(rb"\r\n|\n|\r")


def default_sender() -> str:
    """The From: address when none is configured: ``openfax@<this host>``."""
    return f"openfax@{socket.gethostname()}"


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    """Where and how to hand over e-mail: the server, STARTTLS, and a login when
    ``username`` is set."""

    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    """Upgrade the connection with the system's trust store (``SSL_CERT_FILE`` honoured)."""
    username: str = ""
    password: str = ""


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A file to attach, read only while the message is written."""

    path: Path
    filename: str
    maintype: str = "application"
    subtype: str = "pdf"


def send_message(
    message: EmailMessage,
    settings: SmtpSettings,
    attachments: Sequence[Attachment] = (),
    *,
    folder: Path | None = None,
) -> None:
    """Hand ``message`` with ``attachments`` added (it is changed so) to the SMTP server,
    written first to a private temporary file in ``folder`` (the system's temporary folder
    by default); the envelope is taken from its From/Sender, To, Cc and Bcc (Bcc is not
    sent), as smtplib does. MailError says why it could not be, and whether trying again
    later may help (4xx replies and connection errors) or not (5xx replies)."""
    where = f"{settings.host}:{settings.port}"
    sender = getaddresses([str(message["Sender"] or message["From"])])[0][1]
    fields = [str(v) for field in ("To", "Cc", "Bcc") for v in message.get_all(field, [])]
    recipients = [address for _, address in getaddresses(fields)]
    del message["Bcc"]
    international = not all(a.isascii() for a in (sender, *recipients))
    try:
        with tempfile.TemporaryFile(dir=folder) as spooled:  # 0600, gone when closed
            write_message(message, attachments, spooled, utf8=international)
            spooled.seek(0)
            _send_file(spooled, sender, recipients, settings, international)
    except OSError as exc:  # the SMTP exchange's own are MailErrors already
        raise MailError(f"cannot write the e-mail for {where}: {exc}") from exc


def write_message(
    message: EmailMessage, attachments: Sequence[Attachment], out: BinaryIO, *, utf8: bool
) -> None:
    """Write ``message`` with ``attachments`` to ``out`` as it is sent (CRLF line ends): the
    headers and text made by the ``email`` package, each attachment's body coded from its
    file a block at a time where the package wrote a placeholder for it."""
    markers: list[bytes] = []
    for attachment in attachments:
        marker = secrets.token_bytes(12)  # codes to one line of 16 characters
        message.add_attachment(
            marker,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
        markers.append(base64.b64encode(marker))
    rest = message.as_bytes(policy=SMTPUTF8 if utf8 else SMTP)  # headers, text and markers: small
    for attachment, marker in zip(attachments, markers, strict=True):
        before, rest = rest.split(marker + b"\r\n", 1)
        out.write(before)
        with open(attachment.path, "rb") as source:
            while block := source.read(BLOCK):
                out.write(base64.encodebytes(block).replace(b"\n", b"\r\n"))
    out.write(rest)


def _send_file(
    message: BinaryIO,
    sender: str,
    recipients: list[str],
    settings: SmtpSettings,
    international: bool,
) -> None:
    where = f"{settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT) as smtp:
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, settings.password)
            options: list[str] = []
            if international:
                if not smtp.has_extn("smtputf8"):
                    raise smtplib.SMTPNotSupportedError(
                        "an address is not ASCII and the server does not support SMTPUTF8"
                    )
                options += ["SMTPUTF8", "BODY=8BITMIME"]
            _expect(smtp, smtp.mail(sender, options), 250, sender)
            refused = {}
            for recipient in recipients:
                answer = smtp.rcpt(recipient)
                if answer[0] not in (250, 251):
                    refused[recipient] = answer
            if len(refused) == len(recipients):
                smtp.rset()
                raise smtplib.SMTPRecipientsRefused(refused)
            smtp.putcmd("data")
            _expect(smtp, smtp.getreply(), 354, "")
            _send_data(smtp, message)
            _expect(smtp, smtp.getreply(), 250, "")
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"the SMTP server {where} refused {exc.recipients}") from exc
    except smtplib.SMTPResponseException as exc:
        # 4xx replies are temporary (try again later); 5xx ones will not change.
        error = exc.smtp_error
        reply = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        raise MailError(
            f"the SMTP server {where} answered {exc.smtp_code} {reply}",
            retryable=exc.smtp_code < 500,
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"cannot send through {where}: {exc}") from exc


def _expect(smtp: smtplib.SMTP, reply: tuple[int, bytes], code: int, sender: str) -> None:
    """Raise the exception smtplib raises for an unexpected reply (the connection reset
    first, as it does)."""
    if reply[0] == code:
        return
    if reply[0] != -1:  # -1: the connection is already closed
        smtp.close()
    if sender:
        raise smtplib.SMTPSenderRefused(reply[0], reply[1], sender)
    raise smtplib.SMTPDataError(*reply)


def _send_data(smtp: smtplib.SMTP, message: BinaryIO) -> None:
    """Send the message after DATA a block at a time: line ends made CRLF, a line beginning
    with "." given another (RFC 5321 4.5.2), then the ending "." line. A line may run over
    from one block to the next: a CR ending a block waits for the next, and whether the
    next block starts a line is remembered."""
    line_start = True
    carried = b""
    while block := message.read(BLOCK):
        data = carried + block
        carried = b""
        if data.endswith(b"\r"):
            data, carried = data[:-1], b"\r"
        data = _EOLS.sub(b"\r\n", data)
        if line_start and data.startswith(b"."):
            data = b"." + data
        data = data.replace(b"\r\n.", b"\r\n..")
        if data:
            line_start = data.endswith(b"\r\n")
            smtp.send(data)
    ending = b"\r\n" if carried or not line_start else b""
    smtp.send(ending + b".\r\n")
