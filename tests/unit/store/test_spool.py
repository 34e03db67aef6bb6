"""The document spool: files appear whole or not at all, and never outside the spool."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from openfax.errors import StoreError
from openfax.store import Spool


def test_stored_files_are_found_by_their_relative_path(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    source = tmp_path / "letter.tif"
    source.write_bytes(b"II*\x00" + bytes(5000))
    copied = spool.store_file(source)
    written = spool.write_bytes(b"%PDF-1.7", suffix=".pdf")
    assert copied.endswith(".tif")
    assert written.endswith(".pdf")
    assert copied != written
    assert spool.path(copied).read_bytes() == source.read_bytes()
    assert spool.path(written).read_bytes() == b"%PDF-1.7"
    assert spool.path(copied).is_relative_to(tmp_path / "spool")
    spool.delete(copied)
    spool.delete(copied)
    assert not spool.path(copied).exists()


def test_a_write_that_fails_leaves_no_file_behind(tmp_path: Path) -> None:
    spool = Spool(tmp_path)

    class Broken(Exception):
        pass

    def fail_half_way(target: Path) -> None:
        target.write_bytes(b"half a page")
        raise Broken

    with pytest.raises(Broken):
        spool.write_file(fail_half_way, suffix=".tif")
    left = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert left == []


def test_files_are_renamed_into_place_only_when_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path)
    renames: list[tuple[Path, Path, bool]] = []
    replace = os.replace

    def watch(source: Path, target: Path) -> None:
        renames.append((Path(source), Path(target), Path(source).stat().st_size == 3))
        replace(source, target)

    monkeypatch.setattr(os, "replace", watch)
    relative = spool.write_bytes(b"abc")
    ((source, target, complete),) = renames
    assert complete
    assert target == spool.path(relative)
    assert not source.exists()
    assert source.parent == tmp_path / ".tmp"


@pytest.mark.parametrize(
    "escape", ["../outside.tif", "/etc/passwd", "ab/../../outside", "", "ab\\..\\x"]
)
def test_paths_leaving_the_spool_are_refused(tmp_path: Path, escape: str) -> None:
    spool = Spool(tmp_path / "spool")
    with pytest.raises(StoreError, match="spool path"):
        spool.path(escape)
    with pytest.raises(StoreError):
        spool.delete(escape)


def test_a_symlink_out_of_the_spool_is_refused(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    (tmp_path / "spool" / "ab").symlink_to(tmp_path)
    with pytest.raises(StoreError, match="outside the spool"):
        spool.path("ab/secret.tif")


def test_a_suffix_cannot_smuggle_a_path(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="suffix"):
        Spool(tmp_path).write_bytes(b"x", suffix="/../../x")


def test_stale_files_are_the_spools_own_files_older_than_asked(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    old = spool.write_bytes(b"old", suffix=".tif")
    new = spool.write_bytes(b"new", suffix=".tif")
    half = spool.root / ".tmp" / "0123.part"
    half.write_bytes(b"half")
    other = spool.root / "in" / "received.tif"
    other.parent.mkdir()
    other.write_bytes(b"a reception")
    an_hour_ago = time.time() - 3600
    for path in (spool.path(old), half, other):
        os.utime(path, (an_hour_ago, an_hour_ago))
    assert sorted(spool.stale_files(time.time() - 60)) == sorted([old, ".tmp/0123.part"])
    assert new in spool.stale_files(time.time() + 60)


def test_deletions_held_for_a_backup_happen_when_the_last_hold_ends(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    first, second = spool.write_bytes(b"one"), spool.write_bytes(b"two")
    with spool.deletions_held():
        with spool.deletions_held():
            spool.delete(first)
        assert spool.path(first).exists()  # another hold remains
        spool.delete(second)
        assert spool.path(second).read_bytes() == b"two"
    assert not spool.path(first).exists()
    assert not spool.path(second).exists()
    third = spool.write_bytes(b"three")
    spool.delete(third)  # no hold: at once
    assert not spool.path(third).exists()
