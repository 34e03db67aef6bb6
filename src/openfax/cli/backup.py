"""``openfax backup`` (the running server writes a backup file) and ``openfax restore``
(put one back into an empty data folder, the daemon stopped)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from openfax.cli.fax import connected, failure, print_result
from openfax.errors import BackupError, FaxError
from openfax.file_modes import FILE_MODE, FOLDER_MODE

if TYPE_CHECKING:
    from openfax.store.backup import Manifest

STORE_LOOK_SECONDS = 30.0
"""How long the restore may wait for the target database to say whether it is empty."""


def run_backup(output: Path, as_json: bool, server_name: str, token: str | None) -> None:
    """Have the server write a backup, into a private file beside ``output``, check it
    against its manifest, and only then give it its name."""
    from openfax.store.backup import verify_backup

    if output.exists():
        raise click.ClickException(f"{output} exists: give a new file's name")
    partial = output.with_name(output.name + ".part")
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE))
    try:
        with connected(server_name, token) as server:
            server.backup(partial)
        manifest = verify_backup(partial)
    except (FaxError, click.ClickException) as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, FaxError):
            raise click.ClickException(failure(exc)) from None
        raise
    os.replace(partial, output)
    row = _summary(output, manifest)
    print_result(
        row, f"{output}: {row['spool_files']} spool files, schema {row['schema']}", as_json
    )


def run_restore(
    backup: Path, config_path: Path | None, data_dir: Path | None, as_json: bool
) -> None:
    """Check the backup, then write it into the configured store and spool, refusing a
    running daemon or a store or spool that is not empty."""
    from openfax.doctor import daemon_answers
    from openfax.service.config_file import load_config
    from openfax.service.cover_pages import folder as cover_pages_folder
    from openfax.store.backup import restore_backup, verify_backup
    from openfax.store.database import database_url, stored_revision

    try:
        config = load_config(config_path, data_dir=data_dir)
        if daemon_answers(config.api.socket):
            raise BackupError(
                f"openfaxd runs (it answers on {config.api.socket}): stop it before a restore"
            )
        url = database_url(config.database)
        dialect = url.get_backend_name()
        if dialect == "sqlite":
            database = Path(url.database or "")
            if database.exists() and database.stat().st_size:
                raise BackupError(f"the database {database} exists: restore into an empty data dir")
        elif asyncio.run(stored_revision(config.database, STORE_LOOK_SECONDS)) is not None:
            where = url.render_as_string(hide_password=True)
            raise BackupError(f"the database {where} is not empty: restore into a new database")
        spool = config.spool_dir
        if spool.is_dir() and any(p.name != ".tmp" for p in spool.iterdir()):
            raise BackupError(f"the spool {spool} holds files: restore into an empty data dir")
        manifest = verify_backup(backup)
        if manifest.dialect != dialect:
            raise BackupError(
                f"the backup is of a {manifest.dialect} database and the configuration's is "
                f"{dialect}: restore it into a {manifest.dialect} database"
            )
        config.data_dir.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        restore_backup(backup, manifest, url, spool, cover_pages_folder(config.data_dir))
    except FaxError as exc:
        raise click.ClickException(failure(exc)) from None
    row = _summary(backup, manifest)
    text = f"restored {row['spool_files']} spool files and the database (schema {row['schema']})"
    print_result(row, text, as_json)


def _summary(path: Path, manifest: Manifest) -> dict[str, object]:
    """What a backup holds, as the commands print it."""
    return {
        "file": str(path),
        "dialect": manifest.dialect,
        "schema": manifest.schema_revision,
        "openfax": manifest.openfax,
        "created": manifest.created,
        "spool_files": manifest.spool_files,
        "bytes": sum(size for size, _ in manifest.files.values()),
    }
