"""The ``openfax`` command as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from openfax.cli.commands import cli
from openfax.documents import read_fax_tiff, render_documents
from tests.factories import make_pdf

OPENFAX = Path(sys.executable).with_name("openfax")
SAMPLES = Path(__file__).resolve().parents[3] / "samples"


def openfax(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPENFAX), *map(str, args)], capture_output=True, text=True, timeout=300, check=False
    )


def tiffinfo(path: Path) -> str:
    return subprocess.run(
        ["tiffinfo", str(path)], capture_output=True, text=True, check=True
    ).stdout


def test_render_writes_a_tiff_class_f(tmp_path: Path) -> None:
    out = tmp_path / "fax.tif"
    done = openfax(
        "render", SAMPLES / "letter.txt", SAMPLES / "chart.png", "-o", out,
        "--resolution", "standard", "--page-size", "letter", "--compression", "mmr",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    pages = read_fax_tiff(out)
    assert len(pages) >= 3
    assert f"{out}: {len(pages)} pages" in done.stdout
    info = tiffinfo(out)
    assert "CCITT Group 4" in info
    assert "Image Width: 1728" in info
    assert "min-is-white" in info


def test_render_json_reports_the_file(tmp_path: Path) -> None:
    out = tmp_path / "fax.tif"
    done = openfax("render", SAMPLES / "chart.png", "-o", out, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report == {
        "output": str(out),
        "pages": len(read_fax_tiff(out)),
        "resolution": "fine",
        "page_size": "a4",
        "compression": "mr",
    }


def test_render_shares_pdf_pages_between_processes_as_asked(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "bars.pdf", 9)
    files = {}
    for workers in ("1", "2"):
        files[workers] = tmp_path / f"fax-{workers}.tif"
        done = openfax("render", pdf, "-o", files[workers], "--compression", "mmr",
                       "--workers", workers)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"{files[workers]}: 9 pages, fine, MMR" in done.stdout
    assert files["2"].read_bytes() == files["1"].read_bytes()
    assert read_fax_tiff(files["2"]) == render_documents([pdf])
    refused = openfax("render", pdf, "-o", tmp_path / "x.tif", "--workers", "0")
    assert refused.returncode == 2
    assert "Invalid value for '--workers': 0 is not in the range 1<=x<=64" in refused.stderr


def leaf_commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= leaf_commands(command, f"{prefix}{name} ")
        else:
            found[prefix + name] = command
    return found


def test_every_command_offers_json_output() -> None:
    commands = leaf_commands(cli)
    assert {"send", "cancel", "get", "render", "outbound rules add", "routing config"} <= set(
        commands
    )
    without = [
        name
        for name, command in commands.items()
        if not any("--json" in p.opts for p in command.params if isinstance(p, click.Option))
    ]
    assert without == []


@pytest.mark.parametrize(
    ("transport", "modem", "ecm_flag"), [("audio", "v29", "--no-ecm"), ("t38", "v17", None)]
)
def test_loopback_json_reports_the_transfer(
    tmp_path: Path, transport: str, modem: str, ecm_flag: str | None
) -> None:
    out = tmp_path / "received.tif"
    args: list[str | Path] = [
        "loopback", SAMPLES / "letter.txt", "-o", out, "--transport", transport,
        "--modem", modem, "--json",
    ]  # fmt: skip
    if ecm_flag:
        args.append(ecm_flag)
    done = openfax(*args)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert report["result"] == "OK"
    assert report["transport"] == transport
    assert report["modem"] == modem.upper()
    assert report["ecm"] is (ecm_flag is None)
    assert report["pages_sent"] == report["pages_received"] == report["pages_in_document"] >= 2
    assert report["cpu_seconds"] > 0
    assert len(read_fax_tiff(out)) == report["pages_in_document"]


def test_loopback_table_is_readable(tmp_path: Path) -> None:
    done = openfax("loopback", SAMPLES / "chart.png", "-o", tmp_path / "r.tif")
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout
    assert "V17 at 14400 bit/s" in done.stdout


@pytest.mark.parametrize("command", ["render", "loopback"])
def test_a_bad_document_is_named_in_a_clear_error(tmp_path: Path, command: str) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\n this is not really a pdf")
    done = openfax(command, bad, "-o", tmp_path / "out.tif")
    assert done.returncode != 0
    assert "broken.pdf" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out.tif").exists()
