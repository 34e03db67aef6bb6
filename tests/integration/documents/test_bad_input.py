"""Bad input raises DocumentError naming the file and the reason: a PDF Ghostscript locked with a
password (the rest, without other programs: tests/unit/documents/test_bad_input.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from openfax.documents import render_documents
from openfax.errors import DocumentError
from tests.factories import make_pdf


def test_password_protected_pdf(tmp_path: Path) -> None:
    plain = make_pdf(tmp_path / "plain.pdf", 1)
    locked = tmp_path / "locked.pdf"
    subprocess.run(
        [
            "gs",
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-sDEVICE=pdfwrite",
            "-sUserPassword=secret",
            "-sOwnerPassword=owner",
            f"-sOutputFile={locked}",
            plain,
        ],
        check=True,
    )
    with pytest.raises(DocumentError, match=r"locked\.pdf: password-protected PDF"):
        render_documents([locked])
