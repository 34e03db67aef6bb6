"""``openfaxd``: the fax service as a process, with the loopback lines, until SIGTERM/SIGINT.

The composition root: it reads the configuration and starts the service and, above it, the
API; nothing imports it. Serves the API (``openfax.api``) on the same event loop, on the
Unix socket of the data folder and the configured TCP address, and the e-mail gateway
(``openfax.gateways.email``) when it is enabled. Logs to stderr, in plain lines or JSON
(``[log] format``, :mod:`openfax.log_format`). Stopping
hangs up the calls in progress; their jobs are sent again, from the first unconfirmed page,
when the service starts next. Under systemd (``Type=notify``) it says READY, STOPPING and
WATCHDOG (:mod:`openfax.systemd`; the unit is ``packaging/openfaxd.service``).

Everything it writes is its user's only (:mod:`openfax.file_modes`): it runs with the umask
077, and before serving it takes the group's and others' permissions off what an earlier
version left open in its data folder, spool and database, saying so in one line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import signal
import stat
import sys
from pathlib import Path

from openfax.errors import ConfigError, FaxError
from openfax.file_modes import FOLDER_MODE, PRIVATE_UMASK, make_private
from openfax.log_format import configure_logging, use_format
from openfax.service.config_file import ServiceConfig, load_config
from openfax.service.service import FaxService
from openfax.store.database import database_url
from openfax.systemd import READY, STOPPING, Notifier

_logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter: the size from which a block is mapped on its own."""
MMAP_THRESHOLD_BYTES = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    """Run the service until a signal; the exit status is 0, or 1 if it could not start."""
    parser = argparse.ArgumentParser(prog="openfaxd", description="The OpenFax fax service.")
    parser.add_argument("--config", help="TOML configuration file")
    parser.add_argument("--data-dir", help="data folder (database, spool); wins over the file")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    options = parser.parse_args(argv)
    _return_freed_memory()
    configure_logging(verbose=options.verbose)
    os.umask(PRIVATE_UMASK)
    try:
        config = load_config(options.config, data_dir=options.data_dir)
        use_format(config.log.format, config.node_id)
        _make_private(config)
        notifier = Notifier.from_environ(os.environ)
        asyncio.run(_serve(FaxService(config), notifier))
    except FaxError as exc:
        _logger.error("%s", exc)
        return 1
    return 0


def _return_freed_memory() -> None:
    """Have malloc map every block of ``MMAP_THRESHOLD_BYTES`` or more on its own, so that
    it goes back to the system when freed. glibc raises its threshold as large blocks are
    freed and then keeps such blocks in the heaps of the threads that used them: eight
    image submissions rendered in turn, each holding 0.4 GB at most, left 1.7 GB resident.
    Without glibc (no ``mallopt``) nothing changes."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def _make_private(config: ServiceConfig) -> None:
    """Create the data folder (0700) and make what the service keeps private, logging one
    line when something was open to others (and one when something could not be changed);
    warn when the configuration file, holding a SIP password, can be read by others."""
    try:
        config.data_dir.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    except OSError as exc:
        reason = f"cannot be made: {exc.strerror or exc}"
        raise ConfigError(config.source, "data_dir", reason) from None
    done = make_private(_kept_paths(config))
    if done.files or done.folders:
        _logger.warning(
            "made %d files (now 0600) and %d folders (now 0700) private in %s: "
            "their group or other users could read or change them",
            done.files,
            done.folders,
            ", ".join(map(str, done.roots)),
        )
    if done.failed:
        _logger.error(
            "%d files or folders could not be made private (first: %s)",
            done.failed,
            done.first_error,
        )
    source = Path(config.source)
    passwords = any(trunk.password for trunk in config.sip.trunks)
    if passwords and source.is_file() and source.stat().st_mode & stat.S_IROTH:
        _logger.warning(
            "%s holds SIP passwords and other users can read it: chmod o-r %s", source, source
        )


def _kept_paths(config: ServiceConfig) -> list[Path]:
    """The folders and files the service keeps: its data folder, the spool, and a SQLite
    database with its journal files (a PostgreSQL database keeps its own). A tokens file
    configured outside the data folder is the administrator's, as the configuration is."""
    paths = [config.data_dir, config.spool_dir]
    url = database_url(config.database)
    if url.get_backend_name() == "sqlite" and url.database:
        database = Path(url.database)
        paths += [database.with_name(database.name + end) for end in ("", "-wal", "-shm")]
    return [path.absolute() for path in paths]


async def _serve(service: FaxService, notifier: Notifier) -> None:
    """Serve until SIGTERM or SIGINT. systemd (:mod:`openfax.systemd`) hears READY once the
    store, the providers and the API are up, and STOPPING at the signal; the watchdog's
    pings start with READY (before it, ``TimeoutStartSec=`` covers a long migration) and
    go on until the service has stopped."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # Imported here: the API's web stack is needed only once the service runs, the SMTP
    # server only when the e-mail gateway is on.
    from openfax.api import serving

    gateway: contextlib.AbstractAsyncContextManager[object] = contextlib.nullcontext()
    if service.config.email_gateway.enabled:
        from openfax.gateways.email import serving_email_gateway

        gateway = serving_email_gateway(service)
    watchdog: asyncio.Task[None] | None = None
    try:
        async with service, serving(service) as api, gateway:
            # What start-up made (modules, the app, ~150,000 objects) lives as long as the
            # service: kept out of the garbage collector's full passes, which a listing of
            # thousands of jobs sets off, each walking all of it (~100 ms) otherwise.
            gc.freeze()
            _logger.info("openfaxd ready (data in %s, API on %s)", service.config.data_dir, api)
            notifier.notify(READY, f"STATUS=serving the API on {api}")
            watchdog = asyncio.create_task(notifier.watchdog())
            await stop.wait()
            _logger.info("openfaxd stopping")
            notifier.notify(STOPPING, "STATUS=stopping: hanging up the calls in progress")
            # Clients hear it on their event streams while the API still listens.
            await service.announce_shutdown()
    finally:
        if watchdog is not None:
            watchdog.cancel()


if __name__ == "__main__":
    sys.exit(main())
