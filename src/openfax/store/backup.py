"""The backup file: a tar of the database's snapshot and the spool's files, then a manifest.

Members, in order: ``database/openfax.db`` (a SQLite database made with SQLite's online
backup) or ``database/openfax.pgdump`` (``pg_dump --format=custom``), ``spool/XX/NAME``
for every finished file of the spool, and last ``manifest.json``: the format, the OpenFax
version, the schema's migration, the database's dialect, and each member's name, size and
SHA-256. The manifest comes last so the tar is written in one pass, streamed, its memory
bounded whatever the size of the archive; a restore reads the file twice, first checking
every member against the manifest, and writes nothing before that check has passed.

:class:`BackupWriter` makes the snapshot inside the running service (it holds the spool's
deletions from the snapshot to the end of the tar, so every file the snapshot names is
there); :func:`verify_backup` and :func:`restore_backup` are the offline side.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlalchemy.engine import URL

from openfax import __version__
from openfax.errors import BackupError
from openfax.file_modes import FILE_MODE, FOLDER_MODE
from openfax.store.database import known_revision
from openfax.store.spool import Spool

FORMAT = 1
"""The backup format's version, written in the manifest; a restore refuses any other."""
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/openfax.db"
POSTGRESQL_MEMBER = "database/openfax.pgdump"
SPOOL_PREFIX = "spool/"
COVER_PAGES_PREFIX = "coverpages/"
CHUNK = 256 * 1024
"""The bytes read or written at a time."""
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
"""The largest manifest read (about a million files); a larger one is refused as damaged."""
PG_DUMP_SECONDS = 3600.0
"""How long ``pg_dump`` or ``pg_restore`` may take at most."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds: its format, version, schema, dialect and files (name: size,
    SHA-256)."""

    format: int
    openfax: str
    schema_revision: str | None
    dialect: str
    created: str
    node_id: str
    files: dict[str, tuple[int, str]]

    def to_json(self) -> bytes:
        files = [{"name": n, "size": s, "sha256": h} for n, (s, h) in self.files.items()]
        body: dict[str, Any] = {
            "format": self.format,
            "openfax": self.openfax,
            "schema_revision": self.schema_revision,
            "dialect": self.dialect,
            "created": self.created,
            "node_id": self.node_id,
            "files": files,
        }
        return json.dumps(body, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            body = json.loads(data)
            files = {f["name"]: (int(f["size"]), str(f["sha256"])) for f in body["files"]}
            return cls(
                format=int(body["format"]),
                openfax=str(body["openfax"]),
                schema_revision=body["schema_revision"],
                dialect=str(body["dialect"]),
                created=str(body["created"]),
                node_id=str(body["node_id"]),
                files=files,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"the backup's {MANIFEST} cannot be read: {exc!r}") from None

    @property
    def spool_files(self) -> int:
        """The spool's files in the backup (the faxes, their documents, cached PDFs)."""
        return sum(1 for name in self.files if name.startswith(SPOOL_PREFIX))


class _Hashing(io.RawIOBase):
    """A file read through, its bytes counted and hashed."""

    def __init__(self, source: io.BufferedReader) -> None:
        self._source = source
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._source.readinto(buffer)
        self.sha256.update(memoryview(buffer)[:count])
        self.size += count
        return count


class BackupWriter:
    """A consistent backup of a running service: :meth:`snapshot` copies the database and
    starts holding the spool's deletions, :meth:`write` streams the tar, :meth:`close`
    (always) lets the deletions go and removes the snapshot. Blocking: call them from a
    worker thread."""

    def __init__(self, url: URL, spool: Spool, cover_pages: Path, node_id: str) -> None:
        self._url = url
        self._spool = spool
        self._cover_pages = cover_pages
        self._node_id = node_id
        self._held = contextlib.ExitStack()
        self._folder = ""
        self._database: Path | None = None

    @property
    def dialect(self) -> str:
        return self._url.get_backend_name()

    def snapshot(self) -> None:
        """Hold the spool's deletions, then copy the database (SQLite's online backup, or
        ``pg_dump``) into the spool's temporary folder."""
        self._held.enter_context(self._spool.deletions_held())
        self._folder = self._held.enter_context(
            tempfile.TemporaryDirectory(prefix="backup-", dir=self._spool.temporary)
        )
        if self.dialect == "sqlite":
            self._database = Path(self._folder, "openfax.db")
            _sqlite_snapshot(Path(self._url.database or ""), self._database)
        else:
            self._database = Path(self._folder, "openfax.pgdump")
            _pg_dump(self._url, self._database)

    def write(self, out: IO[bytes], revision: str | None) -> Manifest:
        """Stream the tar to ``out`` (the snapshot, the spool's files, the manifest);
        ``revision`` is the schema's migration the snapshot was taken at."""
        assert self._database is not None, "snapshot() first"
        files: dict[str, tuple[int, str]] = {}
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            member = SQLITE_MEMBER if self.dialect == "sqlite" else POSTGRESQL_MEMBER
            files[member] = _add(tar, member, self._database)
            folders = ((SPOOL_PREFIX, self._spool.root), (COVER_PAGES_PREFIX, self._cover_pages))
            for prefix, root in folders:
                for relative in _files(root):
                    name = prefix + relative
                    # A file gone since it was listed is one the snapshot does not name (a
                    # PDF cache): the spool's deletions are held.
                    with contextlib.suppress(FileNotFoundError):
                        files[name] = _add(tar, name, root / relative)
            manifest = Manifest(
                format=FORMAT,
                openfax=__version__,
                schema_revision=revision,
                dialect=self.dialect,
                created=datetime.now(UTC).isoformat(timespec="seconds"),
                node_id=self._node_id,
                files=files,
            )
            data = manifest.to_json()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(data), FILE_MODE, int(datetime.now().timestamp())
            tar.addfile(info, io.BytesIO(data))
        return manifest

    def close(self) -> None:
        self._held.close()


def _files(root: Path) -> Iterator[str]:
    """The relative paths of the files under ``root``, in name order, leaving out what
    starts with a dot: the spool's temporary folder, a cover page being uploaded."""
    for folder, folders, names in os.walk(root):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        relative = Path(folder).relative_to(root)
        for name in sorted(names):
            path = Path(folder, name)
            if not name.startswith(".") and path.is_file() and not path.is_symlink():
                yield (relative / name).as_posix()


def _add(tar: tarfile.TarFile, name: str, path: Path) -> tuple[int, str]:
    """Add the file ``path`` as ``name``; its size and SHA-256."""
    with path.open("rb") as source:
        status = os.fstat(source.fileno())
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = status.st_size, FILE_MODE, int(status.st_mtime)
        reader = _Hashing(source)
        tar.addfile(info, reader)
    return info.size, reader.sha256.hexdigest()


def _sqlite_snapshot(database: Path, target: Path) -> None:
    """Copy the SQLite database with its online backup: one consistent view, written by
    others meanwhile without waiting (WAL)."""
    source = sqlite3.connect(database)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    except sqlite3.Error as exc:
        raise BackupError(f"the database {database} cannot be copied: {exc}") from None
    finally:
        source.close()
    os.chmod(target, FILE_MODE)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The database URL as libpq's tools take it, and the environment with its password
    (``PGPASSWORD``: never on a command line, which ``ps`` shows)."""
    environ = dict(os.environ)
    if url.password is not None:
        environ["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), environ


def _run(command: list[str], environ: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(
            command, env=environ, capture_output=True, text=True, timeout=PG_DUMP_SECONDS
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(
            f"{what} failed: {exc} (install the Debian package postgresql-client)"
        ) from None
    if done.returncode:
        error = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise BackupError(f"{what} failed: {error[0]}")


def _pg_dump(url: URL, target: Path) -> None:
    dbname, environ = _libpq(url)
    command = ["pg_dump", "--format=custom", "--no-owner", "--file", str(target), dbname]
    _run(command, environ, "pg_dump")
    os.chmod(target, FILE_MODE)


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A tar that ends early or is garbled, while its members are read, is a BackupError."""
    try:
        yield
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"{path} is not a readable backup (a tar file): {exc}") from None


def _members(path: Path) -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
    """The members of the backup file at ``path`` with their data, in order (read them
    inside :func:`_reading`); a member that is not a regular file or whose name could leave
    the folder it is restored into is refused."""
    with tarfile.open(path, mode="r|") as tar:
        for info in tar:
            name = PurePosixPath(info.name)
            if name.is_absolute() or ".." in name.parts or not info.isreg():
                raise BackupError(f"the backup's member {info.name!r} is not a plain file")
            data = tar.extractfile(info)
            assert data is not None  # a regular file
            yield info, data


def verify_backup(path: Path) -> Manifest:
    """Read the whole backup at ``path`` and check each member against its manifest (size
    and SHA-256), the format and the schema; the manifest, or BackupError naming what is
    wrong."""
    with _reading(path):
        manifest, found = _read_through(path)
    if manifest is None:
        raise BackupError(f"the backup has no {MANIFEST}: it is cut short or not a backup")
    if manifest.format != FORMAT:
        raise BackupError(
            f"the backup's format is {manifest.format}, this version of OpenFax reads {FORMAT}"
        )
    for name, (size, sha256) in manifest.files.items():
        if name not in found:
            raise BackupError(f"the backup lacks {name}, which its manifest lists")
        if found[name][0] != size:
            raise BackupError(f"{name} in the backup is {found[name][0]} bytes, not {size}")
        if found[name][1] != sha256:
            raise BackupError(f"{name} in the backup is damaged: its SHA-256 is not the manifest's")
    extra = sorted(set(found) - set(manifest.files))
    if extra:
        raise BackupError(f"the backup holds {extra[0]}, which its manifest does not list")
    revision = manifest.schema_revision
    if revision is not None and not known_revision(revision):
        raise BackupError(
            f"the backup's schema is at migration {revision}, newer than this version of "
            f"OpenFax knows: restore it with OpenFax {manifest.openfax} or later"
        )
    return manifest


def _read_through(path: Path) -> tuple[Manifest | None, dict[str, tuple[int, str]]]:
    """The manifest of the backup at ``path`` (None: it has none), and each other member's
    size and SHA-256 as read."""
    found: dict[str, tuple[int, str]] = {}
    manifest: Manifest | None = None
    for info, data in _members(path):
        if manifest is not None:
            raise BackupError(f"the backup has a member after its {MANIFEST}: {info.name}")
        if info.name == MANIFEST:
            if info.size > MAX_MANIFEST_BYTES:
                raise BackupError(f"the backup's {MANIFEST} is larger than any OpenFax writes")
            manifest = Manifest.from_json(data.read())
            continue
        if info.name in found:
            raise BackupError(f"the backup holds {info.name} twice")
        digest = hashlib.sha256()
        while chunk := data.read(CHUNK):
            digest.update(chunk)
        found[info.name] = (info.size, digest.hexdigest())
    return manifest, found


def restore_backup(
    path: Path, manifest: Manifest, url: URL, spool_dir: Path, cover_pages: Path
) -> None:
    """Write the backup at ``path`` (checked: ``manifest``) into the empty store at ``url``,
    the spool folder ``spool_dir`` and the cover pages' folder; each member is hashed again
    as it is written."""
    spool = Spool(spool_dir)
    with tempfile.TemporaryDirectory(prefix="restore-", dir=spool.temporary) as folder:
        database = Path(folder, "database")
        with _reading(path):
            for info, data in _members(path):
                if info.name == MANIFEST:
                    continue
                if info.name.startswith(SPOOL_PREFIX):
                    target = spool.path(info.name.removeprefix(SPOOL_PREFIX))
                elif info.name.startswith(COVER_PAGES_PREFIX):
                    relative = PurePosixPath(info.name.removeprefix(COVER_PAGES_PREFIX))
                    target = cover_pages.joinpath(*relative.parts)
                elif info.name in (SQLITE_MEMBER, POSTGRESQL_MEMBER):
                    target = database
                else:
                    raise BackupError(f"the backup's member {info.name} belongs nowhere")
                _write(data, target, manifest.files[info.name])
        if manifest.dialect == "sqlite":
            final = Path(url.database or "")
            final.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
            os.replace(database, final)
        else:
            dbname, environ = _libpq(url)
            command = ["pg_restore", "--exit-on-error", "--single-transaction", "--no-owner"]
            _run([*command, "--dbname", dbname, str(database)], environ, "pg_restore")


def _write(data: IO[bytes], target: Path, expected: tuple[int, str]) -> None:
    target.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE), "wb") as out:
        while chunk := data.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if (size, digest.hexdigest()) != expected:
        raise BackupError(f"{target.name} changed in the backup file since it was checked")
