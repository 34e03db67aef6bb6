"""Office documents become fax pages through the daemon's LibreOffice, as a user meets it:
``openfax send letter.docx --to 1002 --wait`` on a real daemon with two loopback lines, and
an e-mail with a .docx attached. Each received page is compared with the PDF an independent
LibreOffice (``soffice --convert-to pdf``) makes of the same document, rendered by OpenFax.
LibreOffice starts once in the daemon and is kept (its pid is the same for the next
document); a document past the page limit or the time limit is refused saying so, and the
next one is converted by a new LibreOffice."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import smtplib
import subprocess
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import docx
import numpy as np
import openpyxl
import pytest

from openfax.client import FaxServer
from openfax.documents import read_fax_tiff, render_documents
from tests.daemon import Daemon, running
from tests.integration.cli.test_cli import OPENFAX
from tests.integration.cli.test_fax_commands import openfax
from tests.waiting import wait_until

libreoffice_running = pytest.mark.skipif(
    shutil.which("soffice") is None or not Path("/usr/lib/python3/dist-packages/uno.py").exists(),
    reason="LibreOffice and python3-uno are not installed (make system-packages)",
)
pytestmark = libreoffice_running

MAX_PAGES = 3
TIMEOUT = 10.0
"""The daemon's office.timeout_seconds: a normal document converts in well under a second
once LibreOffice runs; the large table below takes over a minute."""
WAIT = 120.0
ALICE, PASSWORD = "alice", "office-by-mail-1"
LISTENING = re.compile(r"e-mail gateway listening on smtp://([\d.]+):(\d+)")
CONVERTED = re.compile(r"LibreOffice \(pid \d+\) converted (\S+) in ([\d.]+) s")
STARTED = re.compile(r"LibreOffice started in ([\d.]+) s")
RTF = rb"{\rtf1\ansi{\fonttbl\f0\fswiss Liberation Sans;}\f0\fs32 Minutes of the meeting\par}"
HTML = b"""<!DOCTYPE html><html><body><h1>Price list</h1>
<table border="1"><tr><td>Paper</td><td>4.20</td></tr><tr><td>Toner</td><td>61.00</td></tr>
</table></body></html>"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    gateway = {
        "enabled": True,
        "listen": "127.0.0.1:0",
        "senders": [{"address": "example.org", "account": ALICE}],
    }
    office = {"max_pages": MAX_PAGES, "timeout_seconds": TIMEOUT}
    data = tmp_path_factory.mktemp("openfaxd")
    # What a service that died in a conversion left: removed at start.
    (data / "office" / "convert-left").mkdir(parents=True)
    (data / "office" / "convert-left" / "document.docx").write_text("left behind")
    with running(data, office=office, email_gateway=gateway) as started:
        with started.connected() as server:
            server.fax_account_set.add_account(ALICE, PASSWORD)
        yield started


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A .docx by python-docx, an .xlsx by openpyxl, an .odt and a .doc (Word 97) by
    LibreOffice itself (from HTML pages), an .rtf and an .html by hand."""
    folder = tmp_path_factory.mktemp("office")
    letter = docx.Document()
    letter.add_heading("Quarterly report", 1)
    letter.add_paragraph("Turnover rose by a tenth; the fax line carried 1,234 pages.")
    letter.save(folder / "letter.docx")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row, (item, price) in enumerate([("Item", "Price"), ("Paper", 4.2), ("Toner", 61)], 1):
        sheet.cell(row, 1, item)
        sheet.cell(row, 2, price)
    book.save(folder / "prices.xlsx")
    (folder / "minutes.rtf").write_bytes(RTF)
    (folder / "pricelist.html").write_bytes(HTML)
    (folder / "memo.html").write_text("<html><body><h2>Memo</h2><p>Meet at ten.</p></body></html>")
    soffice(folder, "odt", folder / "memo.html")
    (folder / "notes.html").write_text("<html><body><p>Notes: <b>call back</b></p></body></html>")
    soffice(folder, "doc:MS Word 97", folder / "notes.html", "--infilter=HTML (StarWriter)")
    return {path.name: path for path in folder.iterdir()}


@pytest.fixture(scope="module")
def expected(documents: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the PDFs an independent LibreOffice makes of the documents."""
    folder = tmp_path_factory.mktemp("expected")
    names = ("letter.docx", "prices.xlsx", "memo.odt", "notes.doc", "minutes.rtf")
    soffice(folder, "pdf", *(documents[name] for name in names))
    # An HTML page is laid out on pages as Writer prints it, not in Writer/Web's web view.
    soffice(folder, "pdf", documents["pricelist.html"], "--infilter=HTML (StarWriter)")
    return folder


def soffice(folder: Path, to: str, *sources: Path | str) -> None:
    """``soffice --convert-to`` with a profile of its own, into ``folder``."""
    profile = folder / "profile"
    subprocess.run(
        [
            *("soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless"),
            *("--norestore", "--convert-to", to, "--outdir", str(folder), *map(str, sources)),
        ],
        check=True,
        capture_output=True,
        timeout=WAIT,
    )
    shutil.rmtree(profile)


def libreoffice_pids(daemon: Daemon) -> set[int]:
    """The LibreOffice processes running with the daemon's private profile."""
    profile = str(daemon.data_dir / "office" / "profile")
    pids = set()
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = any(profile.encode() in part for part in command)
        if proc.name.isdigit() and command[0].endswith(b"soffice.bin") and ours:
            pids.add(int(proc.name))
    return pids


def archived(server: FaxServer) -> set[str]:
    return {m.id for m in server.folders.incoming_archive.get_messages()}


def received(server: FaxServer, known: set[str], tmp_path: Path) -> list[np.ndarray]:
    """The pages of the one new fax in the incoming archive, as they arrived on the line."""

    def arrived() -> list[str] | None:
        new = [m for m in server.folders.incoming_archive.get_messages() if m.id not in known]
        return [m.id for m in new] or None

    (message_id,) = wait_until(arrived, "the fax arrives in the incoming archive", WAIT)
    tiff = tmp_path / "received.tif"
    server.folders.incoming_archive.get_message(message_id).copy_tiff(tiff)
    return [np.asarray(page.image) for page in read_fax_tiff(tiff)]


def rendered(*pdfs: Path) -> list[np.ndarray]:
    return [np.asarray(page.image) for page in render_documents(pdfs)]


def assert_same_pages(got: list[np.ndarray], expected: list[np.ndarray]) -> None:
    """The received pages are those expected, each with ink on it (no blank page passes)."""
    assert len(got) == len(expected)
    for page, want in zip(got, expected, strict=True):
        assert (want == 0).sum() > 500, "the expected page is blank"
        assert page.shape == want.shape
        assert np.array_equal(page, want)


def send(daemon: Daemon, *files: Path) -> subprocess.CompletedProcess[str]:
    return openfax(daemon, "send", *files, "--to", "1002", "--wait", "--json")


def test_a_docx_and_an_xlsx_are_faxed_by_one_libreoffice_kept_warm(
    daemon: Daemon, documents: dict[str, Path], expected: Path, tmp_path: Path
) -> None:
    with daemon.connected() as server:
        for name in ("letter.docx", "prices.xlsx"):
            known = archived(server)
            sent = send(daemon, documents[name])
            assert sent.returncode == 0, sent.stderr
            (job,) = json.loads(sent.stdout)
            assert job["status"] == "COMPLETED"
            got = received(server, known, tmp_path)
            assert_same_pages(got, rendered(expected / f"{Path(name).stem}.pdf"))
            pids = libreoffice_pids(daemon)
            assert len(pids) == 1
            if name == "letter.docx":
                first = pids
    assert pids == first  # the second document was converted by the same LibreOffice
    log = "".join(daemon.log)
    print("LibreOffice start:", STARTED.findall(log), "conversions:", CONVERTED.findall(log))


def test_an_odt_and_a_doc_by_libreoffice_an_rtf_and_an_html_page_are_one_fax(
    daemon: Daemon, documents: dict[str, Path], expected: Path, tmp_path: Path
) -> None:
    assert documents["notes.doc"].read_bytes().startswith(b"\xd0\xcf\x11\xe0")  # OLE2
    names = ("memo.odt", "notes.doc", "minutes.rtf", "pricelist.html")
    with daemon.connected() as server:
        known = archived(server)
        sent = send(daemon, *(documents[name] for name in names))
        assert sent.returncode == 0, sent.stderr
        got = received(server, known, tmp_path)
    pdfs = [expected / f"{Path(name).stem}.pdf" for name in names]
    assert_same_pages(got, rendered(*pdfs))


def test_what_a_dead_service_left_in_its_office_folder_is_removed_at_start(
    daemon: Daemon,
) -> None:
    assert not (daemon.data_dir / "office" / "convert-left").exists()


def test_a_file_named_docx_that_is_not_one_is_refused(daemon: Daemon, tmp_path: Path) -> None:
    fake = tmp_path / "contract.docx"
    fake.write_text("Not a Word document at all.\n")
    sent = send(daemon, fake)
    assert sent.returncode != 0
    assert "contract.docx: body 0: named .docx but is no word-processing document" in sent.stderr
    assert "it is plain text" in sent.stderr


def test_past_the_page_limit_a_document_is_refused(daemon: Daemon, tmp_path: Path) -> None:
    long = docx.Document()
    for page in range(MAX_PAGES + 2):
        long.add_paragraph(f"Page {page + 1}")
        long.add_page_break()
    long.save(tmp_path / "long.docx")
    sent = send(daemon, tmp_path / "long.docx")
    assert sent.returncode != 0
    assert f"long.docx: body 0: has more than {MAX_PAGES} pages" in sent.stderr
    assert "(office.max_pages)" in sent.stderr


def test_past_the_time_limit_libreoffice_is_stopped_and_the_next_document_gets_a_new_one(
    daemon: Daemon, documents: dict[str, Path], tmp_path: Path
) -> None:
    send(daemon, documents["minutes.rtf"])  # LibreOffice runs (whatever ran before)
    before = libreoffice_pids(daemon)
    rows = "".join(
        "<tr>" + "".join(f"<td>r{r}c{c}</td>" for c in range(10)) + "</tr>" for r in range(20000)
    )
    (tmp_path / "huge.html").write_text(f"<html><body><table>{rows}</table></body></html>")
    sent = send(daemon, tmp_path / "huge.html")
    assert sent.returncode != 0
    assert (
        f"huge.html: body 0: LibreOffice took longer than the {TIMEOUT:g} s allowed" in sent.stderr
    )
    assert not (before & libreoffice_pids(daemon))  # killed
    sent = send(daemon, documents["minutes.rtf"])
    assert sent.returncode == 0, sent.stderr
    after = libreoffice_pids(daemon)
    assert len(after) == 1
    assert not before & after


def test_an_e_mail_with_a_docx_attached_is_faxed(
    daemon: Daemon, documents: dict[str, Path], expected: Path, tmp_path: Path
) -> None:
    found = LISTENING.search("".join(daemon.log))
    assert found, "openfaxd did not say where the e-mail gateway listens"
    message = EmailMessage()
    message["From"] = "clerk@example.org"
    message["To"] = "1002@fax.example.com"
    message["Subject"] = "Report"
    message.add_attachment(
        documents["letter.docx"].read_bytes(),
        "application",
        "vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="letter.docx",
    )
    with daemon.connected() as server:
        known = archived(server)
        with smtplib.SMTP(found[1], int(found[2]), timeout=WAIT) as client:
            client.send_message(message)
        got = received(server, known, tmp_path)
    assert_same_pages(got, rendered(expected / "letter.pdf"))


def test_libreoffice_fetches_nothing_a_document_links_to(daemon: Daemon, tmp_path: Path) -> None:
    """An HTML page's image on a web server of this test: LibreOffice, in a network namespace
    of its own, never asks for it (with the host's network it asks twice)."""
    asked: list[str] = []

    class Logo(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Logo) as web:
        threading.Thread(target=web.serve_forever, daemon=True).start()
        page = tmp_path / "linked.html"
        port = web.server_address[1]
        page.write_text(f'<html><body><h1>Logo</h1><img src="http://127.0.0.1:{port}/a.png">')
        sent = send(daemon, page)
        web.shutdown()
    assert sent.returncode == 0, sent.stderr
    assert asked == []
    assert "without network" in "".join(daemon.log)


def test_a_server_without_libreoffice_refuses_an_office_body_naming_the_packages(
    documents: dict[str, Path], tmp_path: Path
) -> None:
    """The API's error body (BodyError, E_INVALIDARG) as ``openfax send`` prints it."""
    with running(tmp_path / "data", office={"soffice": "no-libreoffice-here"}) as bare:
        sent = send(bare, documents["letter.docx"])
    assert sent.returncode != 0
    assert "BodyError" in sent.stderr
    assert "letter.docx: body 0: this server has no LibreOffice" in sent.stderr
    assert "install the Debian package libreoffice-writer-nogui" in sent.stderr


def test_openfax_render_without_libreoffice_names_the_packages(
    documents: dict[str, Path], tmp_path: Path
) -> None:
    """``openfax render`` where no ``soffice`` is on the PATH."""
    env = {**os.environ, "PATH": str(OPENFAX.parent)}
    done = subprocess.run(
        [str(OPENFAX), "render", str(documents["prices.xlsx"]), "-o", str(tmp_path / "x.tif")],
        capture_output=True,
        text=True,
        env=env,
        timeout=WAIT,
        check=False,
    )
    assert done.returncode != 0
    assert "prices.xlsx: this server has no LibreOffice to make spreadsheets" in done.stderr
    assert "install the Debian package libreoffice-calc-nogui" in done.stderr
