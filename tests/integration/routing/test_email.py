"""The e-mail method end to end: a real openfaxd routes a received fax to a real SMTP
server (aiosmtpd) in this process, as a PDF attachment, over STARTTLS with a login too."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from openfax.client import FaxServer
from openfax.routing import ROUTE_TO_EMAIL
from tests.daemon import Daemon, running
from tests.integration.routing.conftest import ROUTING, fax_to, settled, use_only
from tests.peers import smtp_server

RECEIVER = "loopback line 1002"


@pytest.fixture(scope="module")
def daemon(
    tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path]
) -> Iterator[Daemon]:
    """openfaxd trusting the test SMTP server's certificate (``SSL_CERT_FILE``)."""
    with running(
        tmp_path_factory.mktemp("openfaxd"), trust=certificate[0], incoming=ROUTING
    ) as started:
        yield started


def attachment(message: object) -> bytes:
    """The one PDF attached to an e-mail."""
    (part,) = [p for p in message.iter_attachments()]  # type: ignore[attr-defined]
    assert part.get_content_type() == "application/pdf"
    content: bytes = part.get_content()
    return content


def test_a_fax_arrives_by_e_mail_as_a_pdf_naming_the_number_it_was_sent_to(
    server: FaxServer, one_page: Path
) -> None:
    with smtp_server() as (mailbox, port):
        method = server.inbound_routing.get_method(ROUTE_TO_EMAIL)
        method.set_configuration(
            {
                "recipients": ["fax@example.com", "office@example.com"],
                "sender": "openfax@example.com",
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
            }
        )
        use_only(server, RECEIVER, ROUTE_TO_EMAIL)
        message_id = fax_to(server, "1002", one_page)
        (delivery,) = settled(server, message_id)
        ((user, mail),) = mailbox.wait_for(1)

    assert delivery.status == "done"
    assert user is None
    assert mail["To"] == "fax@example.com, office@example.com"
    assert mail["Subject"] == "Fax from 1001 to 1002"
    assert mail["X-OpenFax-Event-Id"] == delivery.id
    assert message_id in mail.get_body(("plain",)).get_content()
    assert len(pdfium.PdfDocument(attachment(mail))) == 1


def test_e_mail_goes_over_starttls_with_a_login_and_a_wrong_password_fails_for_good(
    server: FaxServer, one_page: Path, certificate: tuple[Path, Path]
) -> None:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(*certificate)
    with smtp_server(users={"fax": "letmein"}, tls=tls) as (mailbox, port):
        method = server.inbound_routing.get_method(ROUTE_TO_EMAIL)
        config = {
            "recipients": ["fax@example.com"],
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "starttls": True,
            "username": "fax",
            "password": "letmein",
        }
        shown = method.set_configuration(config)
        assert shown["password"] == "********"
        assert method.get_configuration()["password"] == "********"
        use_only(server, RECEIVER, ROUTE_TO_EMAIL)
        (delivery,) = settled(server, fax_to(server, "1002", one_page))
        ((user, mail),) = mailbox.wait_for(1)
        assert (delivery.status, user) == ("done", "fax")
        assert len(pdfium.PdfDocument(attachment(mail))) == 1

        # The mask keeps the stored password; a wrong one is refused for good (535).
        method.set_configuration({**config, "password": "********", "subject": "{pages} pages"})
        (again,) = settled(server, fax_to(server, "1002", one_page))
        assert again.status == "done"
        assert mailbox.wait_for(2)[1][1]["Subject"] == "1 pages"
        method.set_configuration({**config, "password": "wrong"})
        (refused,) = settled(server, fax_to(server, "1002", one_page))
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert "535" in refused.last_error
    assert len(mailbox.messages) == 2
