"""The "route through e-mail" inbound routing method: the fax as a PDF attachment, sent
through the shared SMTP sender (:mod:`openfax.smtp`, in a worker thread, the PDF read from
its file a block at a time), optionally over
STARTTLS and with a user name and password.

The SMTP keys a configuration leaves out are absent from it (not filled with defaults), so
that the service can give them from the receipt options when those are shared with inbound
routing (FAXCOMEX ``ReceiptOptions.UseForInboundRouting``)."""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from openfax.errors import MailError, RoutingError
from openfax.model import format_id
from openfax.routing.fax import RoutedFax
from openfax.routing.settings import Checker
from openfax.smtp import Attachment, SmtpSettings, default_sender, send_message

ROUTE_TO_EMAIL = "{6bbf7bfe-9af2-11d0-abf7-00c04fd91a4e}"
"""The Microsoft routing extension GUID of "route through e-mail" (faxroute.h)."""

SMTP_KEYS = ("sender", "smtp_host", "smtp_port", "starttls", "username", "password")
"""The keys that say how the e-mail is sent (the receipt options may give them)."""


def check(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """``recipients`` (required), ``sender``, ``smtp_host``, ``smtp_port``, ``starttls``,
    ``username``, ``password``, ``subject`` (``{called_number}``-style fields allowed); the
    SMTP keys not given stay absent."""
    given = Checker("e-mail", configuration)
    subject = given.text("subject", default="Fax from {caller_id} to {called_number}")
    values: dict[str, Any] = {
        "recipients": given.texts("recipients", required=True),
        "subject": subject,
    }
    smtp = {
        "sender": given.text("sender"),
        "smtp_host": given.text("smtp_host"),
        "smtp_port": given.integer("smtp_port", 25, 1, 65535),
        "starttls": given.flag("starttls", False),
        "username": given.text("username"),
        "password": given.text("password"),
    }
    values |= {key: smtp[key] for key in SMTP_KEYS if configuration.get(key) is not None}
    if smtp["password"] and not smtp["username"]:
        given.fail("password", "is set without a username")
    try:
        subject.format(**_fields_example())
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        given.fail("subject", f"has an unknown field {exc}")
    return given.done(values)


def _fields_example() -> dict[str, Any]:
    return dict.fromkeys(
        ("called_number", "caller_id", "device_name", "csid", "tsid", "pages", "message_id"), ""
    )


def route(fax: RoutedFax, configuration: Mapping[str, Any]) -> None:
    """Send the fax to the configured recipients (blocks: runs in a worker thread)."""
    message, attachments = compose(fax, configuration)
    settings = SmtpSettings(
        host=configuration.get("smtp_host") or "localhost",
        port=configuration.get("smtp_port") or 25,
        starttls=bool(configuration.get("starttls")),
        username=configuration.get("username") or "",
        password=configuration.get("password") or "",
    )
    try:
        send_message(message, settings, attachments, folder=fax.pdf.parent)
    except MailError as exc:
        raise RoutingError(str(exc), retryable=exc.retryable) from exc


def compose(
    fax: RoutedFax, configuration: Mapping[str, Any]
) -> tuple[EmailMessage, list[Attachment]]:
    """The e-mail of a fax: its details in the text, and the PDF to attach (read as it is
    sent)."""
    info = fax.routing_information
    fields = {
        "called_number": info.called_number,
        "caller_id": info.caller_id,
        "device_name": info.device_name,
        "csid": fax.csid,
        "tsid": fax.tsid,
        "pages": fax.pages,
        "message_id": format_id(fax.message_id),
    }
    message = EmailMessage()
    message["From"] = configuration.get("sender") or default_sender()
    message["To"] = ", ".join(configuration["recipients"])
    subject = configuration.get("subject") or "Fax from {caller_id} to {called_number}"
    message["Subject"] = subject.format(**fields)
    message["Date"] = formatdate(fax.received_at.timestamp(), localtime=True)
    message["Message-ID"] = make_msgid(f"fax-{fields['message_id']}")
    message["X-OpenFax-Event-Id"] = format_id(fax.event_id)
    lines = [
        f"A fax of {fax.pages} page{'s' if fax.pages != 1 else ''}"
        + (" (partly received)" if fax.partial else "")
        + f" arrived on {fax.received_at:%Y-%m-%d %H:%M:%S %Z}.",
        "",
        f"To number:  {info.called_number}",
        f"Caller id:  {info.caller_id}",
        f"Sender id:  {fax.tsid}",
        f"Line:       {info.device_name}",
        f"Message id: {fields['message_id']}",
    ]
    message.set_content("\n".join(lines) + "\n")
    pdf = Attachment(path=fax.pdf_file(), filename=f"fax-{fields['message_id']}.pdf")
    return message, [pdf]
