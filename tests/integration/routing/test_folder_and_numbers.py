"""Store in folder, print, and routing by the number dialled, through a real openfaxd."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from openfax.client import FaxServer
from openfax.documents import read_fax_tiff
from openfax.errors import MessageNotFoundError
from openfax.model import JobStatus
from openfax.routing import PRINT, STORE_IN_FOLDER
from tests.cups import NEEDS_CUPS, private_cupsd
from tests.integration.routing.conftest import WAIT, fax_to, settled, use_only
from tests.waiting import wait_until


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def gone_from_the_queue(server: FaxServer, message_id: str) -> bool:
    def gone() -> bool:
        try:
            server.folders.incoming_queue.get_job(message_id)
        except MessageNotFoundError:
            return True
        return False

    return wait_until(gone, f"fax {message_id} leaves the incoming queue", WAIT)


def test_a_fax_is_stored_in_the_folder_of_the_number_it_was_sent_to(
    server: FaxServer, one_page: Path, tmp_path: Path
) -> None:
    folder = server.inbound_routing.get_method(STORE_IN_FOLDER)
    sales = tmp_path / "sales"
    folder.set_configuration({"folder": str(sales), "called_numbers": ["1002"]})
    use_only(server, "loopback line 1001", STORE_IN_FOLDER)
    use_only(server, "loopback line 1002", STORE_IN_FOLDER)

    to_1001 = fax_to(server, "1001", one_page)
    assert gone_from_the_queue(server, to_1001)
    assert list(server.inbound_routing.get_deliveries(message_id=to_1001)) == []
    assert not sales.exists()

    to_1002 = fax_to(server, "1002", one_page)
    (delivery,) = settled(server, to_1002)
    assert delivery.status == "done"
    assert [p.name for p in sales.iterdir()] == [f"{to_1002}.tif"]
    assert len(read_fax_tiff(sales / f"{to_1002}.tif")) == 1
    # A folder the service made is its user's only, as the fax in it.
    assert (mode(sales), mode(sales / f"{to_1002}.tif")) == (0o700, 0o600)


def test_a_line_s_own_configuration_wins_over_every_line_s(
    server: FaxServer, one_page: Path, tmp_path: Path
) -> None:
    folder = server.inbound_routing.get_method(STORE_IN_FOLDER)
    receiver = server.get_devices()["loopback line 1002"]
    folder.set_configuration({"folder": str(tmp_path / "shared")})
    # An administrator's folder that its group reads: the group reads the faxes, not others.
    (tmp_path / "own").mkdir(mode=0o750)
    folder.set_configuration({"folder": str(tmp_path / "own"), "format": "pdf"}, receiver.id)
    use_only(server, receiver.device_name, STORE_IN_FOLDER)
    message_id = fax_to(server, "1002", one_page)
    assert settled(server, message_id)[0].status == "done"
    assert (tmp_path / "own" / f"{message_id}.pdf").read_bytes().startswith(b"%PDF")
    assert mode(tmp_path / "own" / f"{message_id}.pdf") == 0o640
    assert not (tmp_path / "shared").exists()
    folder.delete_configuration(receiver.id)
    assert folder.get_configuration(receiver.id) is None


@NEEDS_CUPS
def test_a_fax_is_printed_on_a_queue_of_a_cups_server(server: FaxServer, one_page: Path) -> None:
    """The method prints the fax's PDF with lp on the queue and server it names: a private
    cupsd whose queue keeps what it prints in a file."""
    with private_cupsd() as cups:
        paper = cups.paper_queue("office")
        settings = {"printer": "office", "server": str(cups.root / "cups.sock")}
        server.inbound_routing.get_method(PRINT).set_configuration(settings)
        use_only(server, "loopback line 1002", PRINT)
        assert settled(server, fax_to(server, "1002", one_page))[0].status == "done"
        wait_until(
            lambda: paper.exists() and paper.read_bytes().startswith(b"%PDF"),
            "the fax printed on office",
            WAIT,
        )


@pytest.mark.skipif(shutil.which("lp") is not None, reason="CUPS' lp is installed here")
def test_printing_without_cups_fails_at_once_saying_so_and_the_fax_stays_archived(
    server: FaxServer, one_page: Path
) -> None:
    server.inbound_routing.get_method(PRINT).set_configuration({"printer": "office"})
    use_only(server, "loopback line 1002", PRINT)
    message_id = fax_to(server, "1002", one_page)
    (delivery,) = settled(server, message_id)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "lp command is not installed" in delivery.last_error
    job = server.folders.incoming_queue.get_job(message_id)
    assert job.status == JobStatus.RETRIES_EXCEEDED
    assert server.folders.incoming_archive.get_message(message_id).pages == 1


def test_methods_run_in_priority_order_and_an_unconfigured_one_fails_visibly(
    server: FaxServer, one_page: Path, tmp_path: Path
) -> None:
    routing = server.inbound_routing
    folder = routing.get_method(STORE_IN_FOLDER)
    folder.set_configuration({"folder": str(tmp_path)})
    printing = routing.get_method(PRINT)
    printing.delete_configuration()
    printing.priority = 1
    printing.save()
    assert [m.priority for m in routing.get_methods()] == [1, 2, 3, 4]
    assert routing.get_methods()[1].guid == PRINT
    use_only(server, "loopback line 1002", STORE_IN_FOLDER, PRINT)
    message_id = fax_to(server, "1002", one_page)
    first, second = settled(server, message_id)
    assert (first.method, second.method) == (PRINT, STORE_IN_FOLDER)
    assert first.status == "failed"
    assert "not configured" in first.last_error
    assert second.status == "done"
    assert (tmp_path / f"{message_id}.tif").exists()
    printing.priority = 99
    printing.save()
    assert routing.get_methods()[4].guid == PRINT
