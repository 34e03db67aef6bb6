"""``openfaxd``: the fax service as a process, with the loopback lines, until SIGTERM/SIGINT.

Serves the API (``openfax.api``) on the same event loop, on the Unix socket of the data
folder and the configured TCP address. Logs to stderr. Stopping hangs up the calls in
progress; their jobs are sent again, from the first unconfirmed page, when the service
starts next.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import logging
import signal
import sys

from openfax.errors import FaxError
from openfax.service.config import load_config
from openfax.service.service import FaxService

_logger = logging.getLogger("openfax.service.daemon")

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
    logging.basicConfig(
        level=logging.DEBUG if options.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = load_config(options.config, data_dir=options.data_dir)
        asyncio.run(_serve(FaxService(config)))
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


async def _serve(service: FaxService) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # Imported here: the API's web stack is needed only once the service runs.
    from openfax.api import serving

    async with service, serving(service) as api:
        _logger.info("openfaxd ready (data in %s, API on %s)", service.config.data_dir, api)
        await stop.wait()
        _logger.info("openfaxd stopping")


if __name__ == "__main__":
    sys.exit(main())
