"""Receipt and logging fixtures: one openfaxd per test module whose failing calls fail at
once (an unknown number is not tried again) and whose receipts are retried within a second,
trusting the shared self-signed certificate for STARTTLS (the shared ``server`` fixture
connects to it); documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from openfax.client import FaxDocument, FaxServer
from openfax.model import ReceiptType, SmtpAuthenticationType
from tests.daemon import Daemon, running
from tests.factories import make_pdf

WAIT = 60.0
UNKNOWN = "1999"
"""A number no loopback line has: the call is not answered, and the job fails at once."""
T = TypeVar("T")


@pytest.fixture(scope="module")
def daemon(
    tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path]
) -> Iterator[Daemon]:
    with running(
        tmp_path_factory.mktemp("openfaxd"),
        trust=certificate[0],
        receipts={"retries": 8, "retry_delay_minutes": 0.005},
        incoming={"routing_retries": 3, "routing_retry_delay_minutes": 0.002},
        **{"outgoing.causes.no_answer": {"retryable": False}},
    ) as started:
        yield started


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pdf(tmp_path_factory.mktemp("docs") / "two.pdf", 2)


def allow_mail(server: FaxServer, port: int, **options: object) -> None:
    """Allow mail receipts through the SMTP server on 127.0.0.1:``port`` (anonymous, no
    TLS, unless ``options`` say otherwise)."""
    receipt_options = server.receipt_options
    receipt_options.allowed_receipts = ReceiptType.MAIL
    receipt_options.smtp_server = "127.0.0.1"
    receipt_options.smtp_port = port
    receipt_options.smtp_sender = "fax@example.com"
    receipt_options.authentication_type = SmtpAuthenticationType.ANONYMOUS
    receipt_options.starttls = False
    for name, value in options.items():
        setattr(receipt_options, name, value)
    receipt_options.save()


def submit(
    server: FaxServer,
    body: Path,
    *numbers: str,
    address: str = "sender@example.com",
    attach: bool = False,
    group: bool = False,
) -> list[str]:
    document = FaxDocument(body=body, subject="Quarterly figures")
    for number in numbers:
        document.recipients.add(number, f"Office {number}")
    document.receipt_type = ReceiptType.MAIL
    document.receipt_address = address
    document.attach_fax_to_receipt = attach
    document.group_broadcast_receipts = group
    return document.connected_submit(server)
