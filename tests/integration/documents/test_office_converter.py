"""The Office converter on its own (documents/office.py), with a real LibreOffice: after
``restart_after`` conversions a new LibreOffice takes over, and the old one's process and
pipe are gone; presentations (an .odp written by hand, a .pptx by LibreOffice) become PDFs
whose text poppler's pdftotext reads; a document LibreOffice cannot read is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import docx
import pytest

from openfax.documents.office import OfficeConverter, OfficeSettings
from openfax.documents.pdf import count_pdf_pages
from openfax.errors import DocumentError
from tests.daemon import proc_status_bytes
from tests.integration.documents.test_office import RTF, libreoffice_running, soffice
from tests.waiting import wait_until

pytestmark = libreoffice_running


def test_a_new_libreoffice_takes_over_after_restart_after_conversions(tmp_path: Path) -> None:
    (tmp_path / "minutes.rtf").write_bytes(RTF)
    converter = OfficeConverter(tmp_path / "office", OfficeSettings(restart_after=2))
    pids = []
    try:
        for _ in range(3):
            with converter.pdf_of(tmp_path / "minutes.rtf") as pdf:
                assert count_pdf_pages(pdf) == 1
                assert pdf.parent.stat().st_mode & 0o077 == 0  # private
            pids.append(converter.pid)
        # The first LibreOffice's pipe went with it; the second's goes with close().
        (pipe,) = Path("/tmp").glob(f"OSL_PIPE_{os.getuid()}_openfax-{os.getpid()}-*")
    finally:
        converter.close()
    assert pids[0] == pids[1] != pids[2]
    assert pids[0] is not None
    assert not Path(f"/proc/{pids[0]}").exists() or _zombie(pids[0])
    assert not pipe.exists()
    assert list((tmp_path / "office").iterdir()) == [tmp_path / "office" / "profile"]


def test_a_libreoffice_that_died_is_replaced_for_the_next_document(tmp_path: Path) -> None:
    (tmp_path / "minutes.rtf").write_bytes(RTF)
    converter = OfficeConverter(tmp_path / "office")
    try:
        with converter.pdf_of(tmp_path / "minutes.rtf"):
            pass
        first = converter.pid
        assert first is not None
        for child in _children(first):  # soffice.bin, as if it crashed
            os.kill(child, signal.SIGKILL)
        wait_until(lambda: _zombie(first), "LibreOffice's launcher ends with it", 30)
        with converter.pdf_of(tmp_path / "minutes.rtf") as pdf:
            assert count_pdf_pages(pdf) == 1
        assert converter.pid != first
    finally:
        converter.close()


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task").iterdir()  # any thread may have started a child
    return [int(child) for task in tasks for child in (task / "children").read_text().split()]


def _tree_rss(pid: int) -> int:
    """The resident memory of ``pid`` and its children (LibreOffice's launcher and soffice.bin)."""
    return proc_status_bytes(pid, "VmRSS") + sum(_tree_rss(child) for child in _children(pid))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


ODP_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.2">
<office:body><office:presentation><draw:page draw:name="one">
<draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm"><draw:text-box>
<text:p>Quarterly slides</text:p></draw:text-box></draw:frame></draw:page>
</office:presentation></office:body></office:document-content>"""

ODP_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
 manifest:version="1.2">
<manifest:file-entry manifest:full-path="/"
 manifest:media-type="application/vnd.oasis.opendocument.presentation"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""


def test_presentations_become_pdfs_with_their_text_and_a_broken_docx_is_refused(
    tmp_path: Path,
) -> None:
    slides = tmp_path / "slides.odp"
    with zipfile.ZipFile(slides, "w") as odp:
        odp.writestr("mimetype", "application/vnd.oasis.opendocument.presentation")
        odp.writestr("content.xml", ODP_CONTENT)
        odp.writestr("META-INF/manifest.xml", ODP_MANIFEST)
    soffice(tmp_path, "pptx", slides)
    converter = OfficeConverter(tmp_path / "office")
    try:
        for name in ("slides.odp", "slides.pptx"):
            with converter.pdf_of(tmp_path / name) as pdf:
                text = subprocess.run(
                    ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
                ).stdout
            assert text.split() == ["Quarterly", "slides"], name
        pid = converter.pid
        broken = tmp_path / "broken.docx"
        with zipfile.ZipFile(broken, "w") as docx:
            docx.writestr("[Content_Types].xml", "garbage")
            docx.writestr("word/document.xml", "not XML")
        refusal = pytest.raises(DocumentError, match=r"broken\.docx: LibreOffice")
        with refusal as refused, converter.pdf_of(broken):
            pass
        assert str(tmp_path / "office") not in str(refused.value)  # no path of its copy
        with converter.pdf_of(slides):
            assert converter.pid == pid  # the same LibreOffice goes on
    finally:
        converter.close()


def test_closing_stops_a_conversion_under_way_at_once_and_starts_none_after(
    tmp_path: Path,
) -> None:
    """What the service does when it stops: the conversion (of a table LibreOffice takes
    over a minute to lay out) fails at once instead of holding the stop up to its limit."""
    rows = "".join("<tr>" + "<td>cell</td>" * 10 + "</tr>" for _ in range(20000))
    (tmp_path / "huge.html").write_text(f"<html><body><table>{rows}</table></body></html>")
    converter = OfficeConverter(tmp_path / "office", OfficeSettings(timeout_seconds=200))
    failures: list[BaseException] = []

    def convert() -> None:
        try:
            with converter.pdf_of(tmp_path / "huge.html"):
                pass
        except DocumentError as error:
            failures.append(error)

    worker = threading.Thread(target=convert)
    worker.start()
    pid = wait_until(lambda: converter.pid, "LibreOffice starts", 90)
    converter.close()
    worker.join(30)
    assert not worker.is_alive(), "the conversion went on after close()"
    assert len(failures) == 1
    assert "LibreOffice stopped while converting it" in str(failures[0])
    assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
    with (
        pytest.raises(DocumentError, match="has stopped"),
        converter.pdf_of(tmp_path / "huge.html"),
    ):
        pass


@pytest.mark.skipif(os.environ.get("OPENFAX_STRESS") != "1", reason="OPENFAX_STRESS=1 runs it")
def test_stress_three_hundred_conversions_by_three_libreoffices(tmp_path: Path) -> None:
    """300 conversions of a .docx: a new LibreOffice every 100 (office.restart_after), and
    the memory of each stays bounded; the figures are printed."""
    letter = docx.Document()
    letter.add_paragraph("A letter converted again and again. " * 40)
    letter.save(tmp_path / "letter.docx")
    converter = OfficeConverter(tmp_path / "office")
    pids: list[int] = []
    rss: list[int] = []
    started = time.monotonic()
    try:
        for _ in range(300):
            with converter.pdf_of(tmp_path / "letter.docx"):
                pass
            assert converter.pid is not None
            if converter.pid not in pids:
                pids.append(converter.pid)
            rss.append(_tree_rss(converter.pid))
    finally:
        converter.close()
    took = time.monotonic() - started
    print(
        f"300 conversions in {took:.1f} s by {len(pids)} LibreOffices; LibreOffice's RSS "
        f"after the 1st {rss[0] / 2**20:.0f} MB, 100th {rss[99] / 2**20:.0f} MB, "
        f"peak {max(rss) / 2**20:.0f} MB"
    )
    assert len(pids) == 3
    assert max(rss) < 512 * 2**20
