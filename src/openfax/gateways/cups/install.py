"""``openfax cups install``: the backend file in CUPS' backend folder, and a fax queue that
uses it (``lpadmin``); ``openfax cups uninstall`` takes both away again.

CUPS runs the backend as root (it must be, to act as the printing user), so the file is
root's with mode 0700, and the Python it runs (the interpreter, the folders it imports from,
the openfax package) must be root's and not writable by others: whoever could change them
could run code as root by printing.
"""

from __future__ import annotations

import os
import shutil
import site
import stat
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import openfax
from openfax.errors import FaxError
from openfax.gateways.cups import SCHEME

DEFAULT_QUEUE = "fax"
DEFAULT_BACKEND_DIR = Path("/usr/lib/cups/backend")
"""Debian's (``cups-config --serverbin``/backend)."""
DEFAULT_POLICY = "authenticated"
"""The operation policy of CUPS' stock ``cupsd.conf`` that authenticates who prints
(``AuthType Default`` on Print-Job and Create-Job); the backend refuses jobs without it."""
BACKEND_MODE = 0o700
"""CUPS runs a backend as root only when neither group nor others may run it."""
MARKER = "# The OpenFax CUPS backend, written by `openfax cups install`."
COMMAND_SECONDS = 60.0
"""How long lpadmin or lpstat may take (they wait on cupsd)."""


class CupsSetupError(FaxError):
    """The fax queue or its backend cannot be installed or removed; says why and how to fix it."""


@dataclass(frozen=True)
class Installed:
    """What ``install`` set up."""

    queue: str
    uri: str
    backend: Path


def device_uri(socket: Path) -> str:
    """The device URI of a queue that faxes through the openfaxd listening on ``socket``."""
    return f"{SCHEME}:{quote(str(socket.absolute()))}"


def backend_script(python: str, package_root: Path) -> str:
    """The backend file: the interpreter that runs this openfax, isolated (``-I``: no
    ``PYTHONPATH`` or user site from CUPS' environment), importing this very package."""
    return (
        f"#!{python} -I\n"
        f"{MARKER}\n"
        f"# openfax {openfax.__version__}; `openfax cups uninstall` removes it.\n"
        "import sys\n\n"
        f"sys.path.insert(0, {str(package_root)!r})\n"
        "from openfax.gateways.cups.backend import main\n\n"
        "sys.exit(main())\n"
    )


def install(
    queue: str = DEFAULT_QUEUE,
    *,
    socket: Path,
    backend_dir: Path = DEFAULT_BACKEND_DIR,
    policy: str = DEFAULT_POLICY,
    description: str = "Fax (OpenFax)",
) -> Installed:
    """Write the backend into ``backend_dir`` and add (or change) the queue ``queue`` that
    faxes through the openfaxd on ``socket``; CupsSetupError says what stood in the way."""
    if os.geteuid() != 0:
        raise CupsSetupError(
            "openfax cups install must run as root: CUPS runs a backend as root (which it "
            "needs, to act as the printing user) only when root owns its file"
        )
    if not sys.executable.isprintable() or any(c.isspace() for c in sys.executable):
        raise CupsSetupError(
            f"{sys.executable!r} cannot be named on a script's #! line (it has spaces): "
            "install openfax with a Python whose path has none"
        )
    package_root = Path(openfax.__file__).parent.parent
    check_trusted(_imported_from(package_root))
    if not backend_dir.is_dir():
        raise CupsSetupError(
            f"{backend_dir} is not a folder: is CUPS installed (apt-get install cups)? "
            "--backend-dir names CUPS' backend folder (ServerBin/backend)"
        )
    backend = backend_dir / SCHEME
    _write_backend(backend, backend_script(sys.executable, package_root))
    uri = device_uri(socket)
    ppd = resources.files(__package__) / "openfax.ppd"
    with resources.as_file(ppd) as ppd_path:
        _run(
            "lpadmin",
            *("-p", queue, "-E", "-v", uri, "-P", str(ppd_path), "-D", description),
            *("-o", f"printer-op-policy={policy}", "-o", "printer-error-policy=abort-job"),
        )
    return Installed(queue, uri, backend)


def uninstall(queue: str = DEFAULT_QUEUE, *, backend_dir: Path = DEFAULT_BACKEND_DIR) -> list[str]:
    """Remove the queue, and the backend once no queue uses it; what was removed."""
    _run("lpadmin", "-x", queue)
    removed = [f"queue {queue}"]
    backend = backend_dir / SCHEME
    still = [name for name, uri in queues() if uri.startswith(f"{SCHEME}:")]
    if still:
        return removed
    try:
        if MARKER not in backend.read_text(errors="replace"):
            return removed  # someone else's file of that name
        backend.unlink()
    except FileNotFoundError:
        return removed
    except OSError as exc:
        raise CupsSetupError(f"cannot remove {backend}: {exc.strerror}") from None
    return [*removed, f"backend {backend}"]


def queues() -> list[tuple[str, str]]:
    """Every CUPS queue and its device URI (``lpstat -v``)."""
    found = []
    for line in _run("lpstat", "-v", check=False).splitlines():
        head, colon, uri = line.partition(": ")
        if colon and head.startswith("device for "):
            found.append((head.removeprefix("device for "), uri.strip()))
    return found


def check_trusted(paths: Iterable[Path]) -> None:
    """CupsSetupError unless each path, and every folder above it, is root's and writable
    by no one else (a folder with the sticky bit, such as /tmp, may be everyone's: what is
    root's in it stays root's)."""
    seen: set[Path] = set()
    for path in paths:
        for step in (path, *path.parents):
            if step in seen:
                continue
            seen.add(step)
            try:
                info = step.lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(info.st_mode):
                continue  # a link's own mode means nothing; its target is checked
            sticky = stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX
            if info.st_uid != 0 or (info.st_mode & 0o022 and not sticky):
                whose = "writable by others" if info.st_uid == 0 else f"uid {info.st_uid}'s"
                raise CupsSetupError(
                    f"{step} is {whose}: CUPS would run the backend as root with Python code "
                    "that others may change; install openfax where only root can write "
                    "(e.g. pip install as root into /opt)"
                )


def _imported_from(package_root: Path) -> Iterator[Path]:
    """What the backend's Python runs: the interpreter, the folders it imports from, and
    every file of the openfax package."""
    yield Path(sys.executable).resolve()
    yield Path(sys.base_prefix)
    for folder in site.getsitepackages():
        yield Path(folder)
    yield package_root
    for folder, _, files in os.walk(package_root / "openfax"):
        yield Path(folder)
        for name in files:
            yield Path(folder) / name


def _write_backend(backend: Path, script: str) -> None:
    """Write the backend file whole, mode 0700, in place of any earlier one."""
    partial = backend.with_name(f".{backend.name}.new")
    try:
        partial.unlink(missing_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKEND_MODE)
        with os.fdopen(descriptor, "w") as file:
            os.fchmod(descriptor, BACKEND_MODE)
            file.write(script)
        os.replace(partial, backend)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CupsSetupError(f"cannot write {backend}: {exc.strerror}") from None


def _run(program: str, *args: str, check: bool = True) -> str:
    """Run one of CUPS' commands; its output, or CupsSetupError with what it said."""
    if shutil.which(program) is None:
        raise CupsSetupError(f"{program} is not installed: apt-get install cups-client cups")
    try:
        done = subprocess.run(
            [program, *args], capture_output=True, text=True, timeout=COMMAND_SECONDS
        )
    except subprocess.TimeoutExpired:
        raise CupsSetupError(f"{program} did not finish in {COMMAND_SECONDS:.0f} s") from None
    if check and done.returncode != 0:
        # Without lpadmin's warning that PPD files are deprecated, said whatever happens.
        lines = [line for line in done.stderr.splitlines() if "are deprecated" not in line]
        said = "\n".join(lines).strip() or done.stdout.strip() or f"exit {done.returncode}"
        raise CupsSetupError(f"{program} {' '.join(args[:2])} failed: {said}")
    return done.stdout
