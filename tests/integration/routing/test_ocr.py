"""Received faxes made searchable, against a real openfaxd on its loopback lines with the real
Tesseract: the text of a rendered page is found by ``openfax inbox --search``, by the API's
``?q=`` and in the PDF's text layer, a routing rule on a word sends the fax to its folder,
and a fax whose reading fails is archived and routed all the same."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from openfax.client import FaxServer
from openfax.routing import STORE_IN_FOLDER
from tests.daemon import Daemon, running
from tests.integration.cli.test_fax_commands import openfax
from tests.integration.routing.conftest import ROUTING, WAIT, fax_to, settled, use_only
from tests.waiting import wait_until

REFERRAL = "Referral form\nPatient: Jane Doe\nPlease book the cardiology clinic.\n"
INVOICE = "Invoice 2231\nTotal due: 140 EUR\n"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    ocr = {"enabled": True}
    with running(tmp_path_factory.mktemp("openfaxd"), incoming=ROUTING, ocr=ocr) as started:
        yield started


def page(tmp_path: Path, text: str) -> Path:
    body = tmp_path / "page.txt"
    body.write_text(text)
    return body


def route_referrals_to(server: FaxServer, folder: Path) -> None:
    """Line 1002 stores in ``folder``, as PDF, the faxes that say "referral"."""
    server.inbound_routing.get_method(STORE_IN_FOLDER).set_configuration(
        {"folder": str(folder), "format": "pdf", "words": ["REFERRAL"]}
    )
    use_only(server, "loopback line 1002", STORE_IN_FOLDER)


def pdf_text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True)
    return done.stdout


def api(daemon: Daemon, path: str, **params: str) -> httpx.Response:
    """A request on the daemon's local socket (an administrator's)."""
    transport = httpx.HTTPTransport(uds=str(daemon.socket))
    with httpx.Client(base_url="http://openfaxd", transport=transport, timeout=WAIT) as client:
        return client.get(path, params=params)


def test_a_received_fax_is_searchable_and_routed_on_its_words(
    daemon: Daemon, tmp_path: Path
) -> None:
    folder = tmp_path / "referrals"
    with daemon.connected() as server:
        route_referrals_to(server, folder)
        referral = fax_to(server, "1002", page(tmp_path, REFERRAL))
        (delivery,) = settled(server, referral)
        invoice = fax_to(server, "1002", page(tmp_path, INVOICE))
        # The invoice says no "referral": the folder does not take it, it leaves the queue.
        wait_until(
            lambda: server.folders.incoming_queue.get_jobs().count == 0,
            "both faxes leave the incoming queue",
            WAIT,
        )
        assert list(server.inbound_routing.get_deliveries(message_id=invoice)) == []
        text = server.folders.incoming_archive.get_message(referral).get_text()
    assert delivery.status == "done"
    assert text.splitlines() == REFERRAL.splitlines()
    assert [p.name for p in folder.iterdir()] == [f"{referral}.pdf"]
    assert pdf_text(folder / f"{referral}.pdf").split() == REFERRAL.split()

    found = openfax(daemon, "inbox", "--search", "Cardiology jane", "--json")
    assert found.returncode == 0, found.stderr
    assert [row["id"] for row in json.loads(found.stdout)] == [referral]
    found = openfax(daemon, "inbox", "--search", "invoice", "--json")
    assert [row["id"] for row in json.loads(found.stdout)] == [invoice]
    assert json.loads(openfax(daemon, "inbox", "--search", "dermatology", "--json").stdout) == []

    listed = api(daemon, "/v1/incoming-messages", q="total 140")
    assert [m["id"] for m in listed.json()["messages"]] == [invoice]
    refused = api(daemon, "/v1/incoming-messages", q="x" * 201)
    assert refused.status_code == 400
    message = refused.json()["error"]["message"]
    assert "q" in message
    assert "200" in message
    refused = api(daemon, "/v1/incoming-jobs", q="referral\x00")
    assert refused.status_code == 400
    assert "q" in refused.json()["error"]["message"]

    pdf = tmp_path / "got.pdf"
    got = openfax(daemon, "get", invoice, "-o", pdf)
    assert got.returncode == 0, got.stderr
    assert pdf_text(pdf).split() == INVOICE.split()


def test_a_fax_whose_reading_fails_is_archived_and_routed_all_the_same(tmp_path: Path) -> None:
    folder = tmp_path / "all"
    # Tesseract is killed a hundredth of a second in: no fax is read.
    ocr = {"enabled": True, "time_limit_seconds": 0.01}
    with running(tmp_path / "openfaxd", incoming=ROUTING, ocr=ocr) as daemon:
        with daemon.connected() as server:
            server.inbound_routing.get_method(STORE_IN_FOLDER).set_configuration(
                {"folder": str(folder), "format": "pdf"}
            )
            use_only(server, "loopback line 1002", STORE_IN_FOLDER)
            received = fax_to(server, "1002", page(tmp_path, REFERRAL))
            (delivery,) = settled(server, received)
            inbox = [m.id for m in server.folders.incoming_archive.get_messages()]
            searched = list(server.folders.incoming_archive.get_messages(search="referral"))
        read = api(daemon, f"/v1/incoming-messages/{received}/text").json()
        log = "".join(daemon.log)
    assert delivery.status == "done"
    assert inbox == [received]
    assert searched == []
    assert (folder / f"{received}.pdf").stat().st_size > 0
    assert pdf_text(folder / f"{received}.pdf").strip() == ""
    assert "its text could not be read: reading the text took longer than 0.01 s" in log
    assert read["text"] == ""
    assert read["error"].startswith("reading the text took longer than 0.01 s")
    assert read["read_at"] is not None


@pytest.mark.skipif(
    os.environ.get("OPENFAX_STRESS") != "1", reason="eight faxes read one by one: OPENFAX_STRESS=1"
)
def test_stress_faxes_arriving_faster_than_they_are_read_are_read_in_turn(
    tmp_path: Path,
) -> None:
    """Eight two-page letters received back to back (each archived before the next is
    sent), read one fax at a time (``workers`` 1): each is read once its turn comes and all
    end searchable; how long after its call each was read, and the daemon's peak memory,
    are printed."""
    letter = Path(__file__).parents[3] / "samples" / "letter.txt"
    ocr = {"enabled": True, "workers": 1}
    with running(tmp_path / "openfaxd", incoming=ROUTING, ocr=ocr) as daemon:
        with daemon.connected() as server:
            use_only(server, "loopback line 1002")
            received = [fax_to(server, "1002", letter) for _ in range(8)]

            def read_at() -> list[str] | None:
                texts = [
                    api(daemon, f"/v1/incoming-messages/{fax}/text").json() for fax in received
                ]
                times = [text["read_at"] for text in texts]
                return times if all(times) else None

            times = wait_until(read_at, "every fax read", WAIT * 8)
            ended = [
                server.folders.incoming_archive.get_message(f).transmission_end for f in received
            ]
            found = list(server.folders.incoming_archive.get_messages(search="Northwind"))
        peak = daemon.peak_rss()
    delays = [
        (datetime.fromisoformat(t) - e).total_seconds() for t, e in zip(times, ended, strict=True)
    ]
    print(f"\nread after the call ended: {', '.join(f'{d:.1f}' for d in delays)} s")
    print(f"openfaxd peak RSS {peak / 2**20:.0f} MiB")
    assert sorted(m.id for m in found) == sorted(received)
    assert all(delay > 0 for delay in delays)
