"""The Office converter on its own (documents/office.py), with a real LibreOffice: after
``restart_after`` conversions a new LibreOffice takes over, and the old one's process and
pipe are gone."""

from __future__ import annotations

import os
from pathlib import Path

from openfax.documents.office import OfficeConverter, OfficeSettings
from openfax.documents.pdf import count_pdf_pages
from tests.integration.documents.test_office import RTF, libreoffice_running

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


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
