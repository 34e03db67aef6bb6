"""Sending e-mail through an SMTP server: the one sender that the e-mail routing method and
delivery receipts share (the standard library's client, blocking: call it from a worker
thread), optionally over STARTTLS and with a login."""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from openfax.errors import MailError

SMTP_TIMEOUT = 60.0
"""Seconds one SMTP exchange may stall before the attempt counts as failed."""


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


def send_message(message: EmailMessage, settings: SmtpSettings) -> None:
    """Hand ``message`` to the SMTP server; MailError says why it could not be, and whether
    trying again later may help (4xx replies and connection errors) or not (5xx replies)."""
    where = f"{settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
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
