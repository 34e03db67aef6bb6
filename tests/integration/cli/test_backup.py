"""``openfax backup`` of a daemon that sends and receives while it is made, ``openfax
restore`` into a fresh data dir, and a daemon started there that gives back every fax
byte for byte; a damaged backup, a used data dir and a running daemon refused."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import PostgreSQLServer
from tests.daemon import Daemon, running
from tests.integration.cli.test_cli import SAMPLES
from tests.integration.cli.test_fax_commands import openfax
from tests.waiting import wait_until

COVER_PAGE = "Fax from the office\n"


@dataclass
class Backup:
    file: Path
    before: dict[str, bytes]
    """The faxes archived before the backup began (each in it), by kind and id."""
    after: set[str]
    """The faxes archived once it was made (none else can be in it)."""


def archived(daemon: Daemon, folder: Path) -> dict[str, bytes]:
    """Every archived fax's TIFF as ``openfax get`` saves it, by ``received ID``/``sent ID``."""
    faxes: dict[str, bytes] = {}
    folder.mkdir(exist_ok=True)
    for kind, listing, options in (("received", "inbox", ()), ("sent", "sent", ("--sent",))):
        listed = openfax(daemon, listing, "--json")
        assert listed.returncode == 0, listed.stderr
        for row in json.loads(listed.stdout):
            if row.get("status", "COMPLETED") != "COMPLETED":
                continue
            output = folder / f"{kind}-{row['id']}.tif"
            got = openfax(daemon, "get", row["id"], "-o", output, *options)
            assert got.returncode == 0, got.stderr
            faxes[f"{kind} {row['id']}"] = output.read_bytes()
    return faxes


@pytest.fixture(scope="module")
def backup(tmp_path_factory: pytest.TempPathFactory) -> Backup:
    """A backup made while the daemon sends a fax, after two were sent and received, and
    a cover page added."""
    folder = tmp_path_factory.mktemp("backup")
    template = folder / "office.txt"
    template.write_text(COVER_PAGE)
    with running(folder / "data") as daemon:
        added = openfax(daemon, "coverpages", "add", "office", template)
        assert added.returncode == 0, added.stderr
        for _ in range(2):
            sent = openfax(daemon, "send", SAMPLES / "letter.txt", "--to", "1002", "--wait")
            assert sent.returncode == 0, sent.stderr
        before = archived(daemon, folder / "before")
        busy = openfax(daemon, "send", SAMPLES / "letter.txt", "--to", "1002")
        assert busy.returncode == 0, busy.stderr
        made = openfax(daemon, "backup", folder / "openfax.tar", "--json")
        assert made.returncode == 0, made.stderr
        after = set(archived(daemon, folder / "after"))
    return Backup(folder / "openfax.tar", before, after)


def test_a_restored_daemon_gives_back_every_fax_identical(backup: Backup, tmp_path: Path) -> None:
    assert len(backup.before) == 4  # two sent, two received
    assert backup.file.stat().st_mode & 0o777 == 0o600
    fresh = Daemon(tmp_path / "data")
    restored = openfax(
        fresh,
        "restore",
        backup.file,
        "--config",
        fresh.config,
        "--data-dir",
        fresh.data_dir,
        "--json",
    )
    assert restored.returncode == 0, restored.stderr
    summary = json.loads(restored.stdout)
    assert summary["dialect"] == "sqlite"
    assert summary["spool_files"] > 0
    assert (tmp_path / "data" / "openfax.db").stat().st_mode & 0o777 == 0o600
    with running(tmp_path / "data") as daemon:
        faxes = archived(daemon, tmp_path / "restored")
        pages = openfax(daemon, "coverpages", "list", "--json")
        audit = openfax(daemon, "audit", "--since", "2000-01-01", "--json")
    assert "office" in {page["name"] for page in json.loads(pages.stdout)}
    (taken,) = [e for e in json.loads(audit.stdout) if e["action"] == "backed_up"]
    assert (taken["object_type"], taken["object_id"]) == ("server", "api-test")
    assert set(backup.before) <= set(faxes) <= backup.after
    for name, tiff in backup.before.items():
        assert faxes[name] == tiff, name


def restore_refused(backup_file: Path, data: Path, database: str | None = None) -> str:
    """The error of ``openfax restore`` into ``data`` (its daemon not running)."""
    daemon = Daemon(data, database=database)
    done = openfax(daemon, "restore", backup_file, "--config", daemon.config, "--data-dir", data)
    assert done.returncode == 1, done.stdout
    return done.stderr


def nothing_written(data: Path) -> bool:
    spool = data / "spool"
    return not (data / "openfax.db").exists() and not (
        spool.exists() and any(p.name != ".tmp" for p in spool.iterdir())
    )


def test_a_damaged_member_is_refused_naming_it(backup: Backup, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.tar"
    shutil.copyfile(backup.file, damaged)
    with tarfile.open(damaged) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("spool/"))
    with damaged.open("r+b") as file:
        file.seek(member.offset_data + member.size // 2)
        byte = file.read(1)
        file.seek(-1, 1)
        file.write(bytes([byte[0] ^ 0xFF]))
    error = restore_refused(damaged, tmp_path / "data")
    assert f"{member.name} in the backup is damaged" in error
    assert nothing_written(tmp_path / "data")


def test_a_backup_cut_short_is_refused(backup: Backup, tmp_path: Path) -> None:
    cut = tmp_path / "cut.tar"
    with backup.file.open("rb") as source, cut.open("wb") as target:
        target.write(source.read(backup.file.stat().st_size // 2))
    error = restore_refused(cut, tmp_path / "data")
    assert "cut short" in error or "not a readable backup" in error
    assert nothing_written(tmp_path / "data")


def test_a_used_data_dir_and_a_running_daemon_are_refused(backup: Backup, tmp_path: Path) -> None:
    with running(tmp_path / "data") as daemon:
        done = openfax(
            daemon, "restore", backup.file, "--config", daemon.config, "--data-dir", daemon.data_dir
        )
        assert done.returncode == 1
        assert "openfaxd runs" in done.stderr
    error = restore_refused(backup.file, tmp_path / "data")
    assert "exists: restore into an empty data dir" in error


def test_a_postgresql_store_is_backed_up_with_pg_dump_and_restored(
    tmp_path: Path, postgresql: PostgreSQLServer, postgresql_url: str
) -> None:
    with running(tmp_path / "a", database=postgresql_url) as daemon:
        sent = openfax(daemon, "send", SAMPLES / "letter.txt", "--to", "1002", "--wait")
        assert sent.returncode == 0, sent.stderr
        before = archived(daemon, tmp_path / "before")
        made = openfax(daemon, "backup", tmp_path / "openfax.tar")
        assert made.returncode == 0, made.stderr
    with tarfile.open(tmp_path / "openfax.tar") as tar:
        assert "database/openfax.pgdump" in tar.getnames()
    # A database that is not empty (the one backed up) is refused.
    error = restore_refused(tmp_path / "openfax.tar", tmp_path / "b", database=postgresql_url)
    assert "is not empty: restore into a new database" in error
    empty = f"restored_{uuid.uuid4().hex}"
    with postgresql.admin() as admin:
        admin.execute(f"CREATE DATABASE {empty}")
    fresh = Daemon(tmp_path / "c", database=postgresql.url(empty))
    restored = openfax(
        fresh,
        "restore",
        tmp_path / "openfax.tar",
        "--config",
        fresh.config,
        "--data-dir",
        fresh.data_dir,
    )
    assert restored.returncode == 0, restored.stderr
    try:
        with running(tmp_path / "c", database=postgresql.url(empty)) as daemon:
            faxes = archived(daemon, tmp_path / "restored")
    finally:
        with postgresql.admin() as admin:
            admin.execute(f"DROP DATABASE {empty} WITH (FORCE)")
    assert faxes == before
    assert len(before) == 2


STRESS_FILES = 128
STRESS_FILE_BYTES = 8 * 1024 * 1024
"""1 GiB of spool in all: far more than the daemon's memory may grow by."""


@pytest.mark.skipif(os.environ.get("OPENFAX_STRESS") != "1", reason="OPENFAX_STRESS=1 runs it")
def test_a_large_backup_streams_in_bounded_memory(tmp_path: Path) -> None:
    """A 1 GiB spool is backed up with the daemon's resident memory growing by less than
    64 MiB, and restored (the figures are printed)."""
    with running(tmp_path / "data") as daemon:
        bulk = tmp_path / "data" / "spool" / "ff"
        bulk.mkdir(mode=0o700)
        block = os.urandom(STRESS_FILE_BYTES)
        for index in range(STRESS_FILES):
            (bulk / f"bulk{index:04d}.tif").write_bytes(block[index:] + block[:index])
        before = daemon.peak_rss()
        started = time.monotonic()
        made = openfax(daemon, "backup", tmp_path / "big.tar", "--json")
        took = time.monotonic() - started
        assert made.returncode == 0, made.stderr
        peak = daemon.peak_rss()
    size = (tmp_path / "big.tar").stat().st_size
    fresh = Daemon(tmp_path / "fresh")
    started = time.monotonic()
    restored = openfax(
        fresh,
        "restore",
        tmp_path / "big.tar",
        "--config",
        fresh.config,
        "--data-dir",
        fresh.data_dir,
    )
    restore_took = time.monotonic() - started
    assert restored.returncode == 0, restored.stderr
    print(
        f"\nbackup of {size / 2**20:.0f} MiB in {took:.1f} s (checked by the command), "
        f"daemon peak RSS {before / 2**20:.0f} -> {peak / 2**20:.0f} MiB; "
        f"restore (check and write) in {restore_took:.1f} s"
    )
    assert peak - before < 64 * 2**20


def test_a_client_that_leaves_mid_backup_ends_it_and_the_next_one_works(tmp_path: Path) -> None:
    with running(tmp_path / "data") as daemon:
        bulk = tmp_path / "data" / "spool" / "ff"
        bulk.mkdir(mode=0o700)
        for index in range(4):  # beyond what the pipe and the buffers hold
            (bulk / f"bulk{index}.tif").write_bytes(os.urandom(4 * 2**20))
        transport = httpx.HTTPTransport(uds=str(daemon.socket))
        local = httpx.Client(base_url="http://openfaxd", transport=transport, timeout=60)
        with local, local.stream("GET", "/v1/backup") as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "application/x-tar"
            next(answer.iter_bytes())
        wait_until(
            lambda: any("backup abandoned" in line for line in daemon.log),
            lambda: "".join(daemon.log),
            30,
        )
        made = openfax(daemon, "backup", tmp_path / "second.tar", "--json")
        assert made.returncode == 0, made.stderr
        assert json.loads(made.stdout)["spool_files"] == 4
