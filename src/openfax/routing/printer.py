"""The "print" inbound routing method: the fax's PDF handed to CUPS with ``lp``.

Where CUPS' client is not installed the method fails at once with a message saying so (no
retry can help), and the fax stays in the incoming archive.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from openfax.errors import RoutingError
from openfax.model import format_id
from openfax.routing.fax import RoutedFax
from openfax.routing.settings import Checker

PRINT = "{aec1b37c-9af2-11d0-abf7-00c04fd91a4e}"
"""The Microsoft routing extension GUID of "print" (faxroute.h)."""

LP_SECONDS = 60.0


def check(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """``printer``: a CUPS queue name, empty for the default printer; ``server``: the CUPS
    server that has it (``host[:port]`` or a socket path, as ``lp -h`` takes), empty for
    CUPS' own choice (``CUPS_SERVER``, client.conf, the local cupsd)."""
    given = Checker("print", configuration)
    return given.done({"printer": given.text("printer"), "server": given.text("server")})


def lp_command() -> str | None:
    """The path of CUPS' ``lp``, or None when it is not installed."""
    return shutil.which("lp")


def route(fax: RoutedFax, configuration: Mapping[str, Any]) -> None:
    """Print the fax (blocks: runs in a worker thread)."""
    lp = lp_command()
    if lp is None:
        raise RoutingError(
            "cannot print: CUPS' lp command is not installed (Debian package cups-client)",
            retryable=False,
        )
    command = [lp, "-t", f"fax {format_id(fax.message_id)}"]
    if configuration.get("server"):
        command += ["-h", configuration["server"]]
    if configuration.get("printer"):
        command += ["-d", configuration["printer"]]
    command.append(str(fax.pdf_file()))
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=LP_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RoutingError(f"lp failed: {exc}") from exc
    if done.returncode != 0:
        raise RoutingError(f"lp failed ({done.returncode}): {done.stderr.strip()}")
