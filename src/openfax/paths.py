"""Where OpenFax keeps its files unless configured otherwise: known to ``openfaxd`` and to
the local clients that look for its socket, so it lives below both."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

SOCKET_NAME = "openfaxd.sock"
"""The API's Unix socket in the data folder."""
SERVICE_SOCKET = Path("/run/openfax") / SOCKET_NAME
"""The socket of the system's service as packaged (``packaging/openfaxd.toml``): its data
folder is private to its user, so the socket lives in systemd's ``RuntimeDirectory``."""


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """``$OPENFAX_DATA_DIR``, else ``$XDG_DATA_HOME/openfax``, else ``~/.local/share/openfax``."""
    if environ.get("OPENFAX_DATA_DIR"):
        return Path(environ["OPENFAX_DATA_DIR"])
    if environ.get("XDG_DATA_HOME"):
        return Path(environ["XDG_DATA_HOME"]) / "openfax"
    return Path.home() / ".local" / "share" / "openfax"
