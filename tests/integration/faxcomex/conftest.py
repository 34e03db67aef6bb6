"""What the FAXCOMEX tests share: an openfaxd whose line 1001 sends and whose lines 1002
and 1003 only receive, as the Windows scripts and Microsoft's samples expect."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.daemon import Daemon, running


@contextmanager
def one_sender_two_receivers(data_dir: Path) -> Iterator[Daemon]:
    """openfaxd with three loopback lines: 1001 sends to 1002 and 1003, which only receive."""
    with running(data_dir, loopback={"lines": 3}) as started:
        with started.connected() as fax:
            for name in ("loopback line 1002", "loopback line 1003"):
                line = fax.get_devices()[name]
                line.send_enabled = False
                line.save()
        yield started
