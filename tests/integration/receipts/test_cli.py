"""``openfax receipts``, ``openfax logging`` and ``openfax send --receipt`` run as a user runs
them, against the module's openfaxd and a real SMTP server."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from pathlib import Path

import pypdfium2 as pdfium

from tests.daemon import Daemon
from tests.integration.cli.test_cli import OPENFAX
from tests.integration.receipts.conftest import UNKNOWN
from tests.peers import free_port, smtp_server
from tests.waiting import wait_until


def openfax(daemon: Daemon, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENFAX_SOCKET": str(daemon.socket), "COLUMNS": "200"}
    return subprocess.run(
        [str(OPENFAX), *map(str, args)], capture_output=True, text=True, env=env, timeout=120
    )


def test_receipts_set_and_show_and_send_with_an_attached_receipt(
    daemon: Daemon, two_pages: Path
) -> None:
    with smtp_server() as (mailbox, port):
        changed = openfax(
            daemon,
            *("receipts", "set", "--allow", "mail", "--smtp-server", "127.0.0.1"),
            *("--smtp-port", port, "--sender", "fax@example.com", "--auth", "anonymous"),
            *("--no-starttls", "--json"),
        )
        assert changed.returncode == 0, changed.stderr
        assert json.loads(changed.stdout)["smtp_port"] == port
        shown = openfax(daemon, "receipts", "show")
        assert "127.0.0.1" in shown.stdout
        assert "mail" in shown.stdout

        sent = openfax(
            daemon,
            *("send", two_pages, "--to", "1002", "--receipt", "mail"),
            *("--receipt-address", "me@example.com", "--attach", "--json"),
        )
        assert sent.returncode == 0, sent.stderr
        (job,) = json.loads(sent.stdout)
        ((_, mail),) = mailbox.wait_for(1)
    assert mail["To"] == "me@example.com"
    assert job["id"] in mail.get_body(("plain",)).get_content()
    (part,) = list(mail.iter_attachments())
    assert len(pdfium.PdfDocument(part.get_content())) == 2
    listed = json.loads(openfax(daemon, "receipts", "list", "--json").stdout)
    assert job["id"] in [row["job"] for row in listed]


def test_ntlm_and_a_mail_receipt_not_allowed_are_refused_with_clear_errors(
    daemon: Daemon, two_pages: Path
) -> None:
    ntlm = openfax(daemon, "receipts", "set", "--auth", "ntlm")
    assert ntlm.returncode != 0
    assert "NTLM is Windows-only" in ntlm.stderr
    openfax(daemon, "receipts", "set", "--allow", "none")
    refused = openfax(
        daemon, "send", two_pages, "--to", "1002", "--receipt", "mail", "--receipt-address", "a@b"
    )
    assert refused.returncode != 0
    assert "receipt type mail is not allowed" in refused.stderr


def test_a_pending_receipt_is_cancelled(daemon: Daemon, two_pages: Path) -> None:
    # Nothing listens on the SMTP port: the receipt is tried again and again, pending.
    openfax(
        daemon,
        *("receipts", "set", "--allow", "mail", "--smtp-server", "127.0.0.1"),
        *("--smtp-port", free_port(), "--auth", "anonymous", "--no-starttls"),
    )
    # A number nobody answers: the job fails at once and its non-delivery receipt is queued.
    sent = openfax(
        daemon,
        *("send", two_pages, "--to", UNKNOWN, "--receipt", "mail"),
        *("--receipt-address", "late@example.com", "--json"),
    )
    assert sent.returncode == 0, sent.stderr
    (job,) = json.loads(sent.stdout)

    def pending() -> list[dict[str, str]]:
        rows = json.loads(openfax(daemon, "receipts", "list", "--pending", "--json").stdout)
        return [row for row in rows if row["job"] == job["id"]]

    (row,) = wait_until(pending, "the receipt is queued and waits for the SMTP server")
    cancelled = openfax(daemon, "receipts", "cancel", row["id"], "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    receipt = json.loads(cancelled.stdout)
    administrator = pwd.getpwuid(os.getuid()).pw_name
    assert receipt["status"] == "failed"
    assert receipt["last_error"] == f"cancelled by {administrator}"
    failed = json.loads(openfax(daemon, "receipts", "list", "--failed", "--json").stdout)
    assert row["id"] in [r["id"] for r in failed]
    again = openfax(daemon, "receipts", "cancel", row["id"])
    assert again.returncode == 1
    assert f"no pending receipt has the id {row['id']}" in again.stderr


def test_logging_set_and_show(daemon: Daemon, tmp_path: Path) -> None:
    changed = openfax(daemon, "logging", "set", "--outbound", "max", "--folder", tmp_path, "--json")
    assert changed.returncode == 0, changed.stderr
    values = json.loads(changed.stdout)
    assert values["outbound_events_level"] == "max"
    assert values["database_path"] == str(tmp_path)
    assert values["init_events_level"] == "med"
    shown = openfax(daemon, "logging", "show")
    assert "outbound_events_level" in shown.stdout
    assert "max" in shown.stdout
    openfax(daemon, "logging", "set", "--outbound", "med", "--folder", "")
