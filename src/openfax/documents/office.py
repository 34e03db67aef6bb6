"""Office documents to PDF through one long-lived LibreOffice.

LibreOffice takes one to two seconds to start, longer with a new profile; so one headless
instance is started on the first Office document and kept. It is driven through UNO by a
small worker (`office_worker`) run by the Python that has LibreOffice's bindings (Debian's
python3-uno): the worker starts LibreOffice with a private profile, listening on a pipe, and
converts one document a request. The worker and LibreOffice run in a network namespace of
their own (``unshare -n``) where the system allows one, so a document's links to the
network (an HTML page's images, a linked picture) are never fetched.

Conversions are one at a time; each has a time limit, past which the worker and its
LibreOffice are killed (the next conversion starts a new one), and a page limit: only the
pages up to one past the limit are exported, so a document too long is known without
exporting all of it. The PDF then takes the PDF path to fax pages.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from openfax.documents.filetype import OFFICE_PACKAGES, OFFICE_SUFFIXES, FileType, detect
from openfax.documents.pdf import count_pdf_pages
from openfax.errors import DocumentError

_logger = logging.getLogger(__name__)
_WORKER = Path(__file__).with_name("office_worker.py")
_COMPONENTS = {
    FileType.WORD: "libswlo.so",
    FileType.SPREADSHEET: "libsclo.so",
    FileType.PRESENTATION: "libsdlo.so",
}
"""The library of each LibreOffice component, beside ``soffice``: there only when its
Debian package (writer, calc, impress) is installed."""
_SUFFIXES = {FileType.WORD: ".doc", FileType.SPREADSHEET: ".xls", FileType.PRESENTATION: ".ppt"}
"""A suffix of the kind for the copy LibreOffice reads when the original has none of its own
(LibreOffice detects the format from the content, the suffix only hints)."""
_TEXT_FORMATS = ((b"{\\rtf", ".rtf"), (b"", ".html"))
"""The suffix of a word-processing document that is text: RTF, else HTML."""
_START_SECONDS = 90.0
"""How long LibreOffice may take to start (a new profile is written on the first start)."""
_QUIT_SECONDS = 5.0
"""How long LibreOffice has to quit when asked (between documents, the service stopping)
before it is killed."""
_PIPES = Path("/tmp")
"""Where LibreOffice puts the socket of a named pipe (``OSL_PIPE_uid_name``), whatever
TMPDIR says; the one of a LibreOffice killed is removed here."""


@dataclass(frozen=True, kw_only=True)
class OfficeSettings:
    """Where LibreOffice and the Python with its UNO bindings are, the limits of one
    conversion, whether LibreOffice is kept off the network, and how many documents one
    LibreOffice converts."""

    soffice: str = "soffice"
    python: str = "/usr/bin/python3"
    timeout_seconds: float = 60.0
    max_pages: int = 200
    isolate_network: bool = True
    restart_after: int = 100
    """Conversions by one LibreOffice before a new one replaces it, so that what it keeps
    (caches, leaks) does not grow with the documents the service takes."""


class OfficeConverter:
    """One LibreOffice kept running to convert Office documents to PDF; `folder` holds its
    profile and the conversions' temporary files (private to the service's user)."""

    def __init__(self, folder: Path, settings: OfficeSettings | None = None) -> None:
        self.folder = folder
        self.settings = settings or OfficeSettings()
        self._lock = threading.Lock()
        self._worker: subprocess.Popen[bytes] | None = None
        self._pending = b""
        self._pipe = ""
        self._conversions = 0
        self._closed = False
        self.pid: int | None = None
        """LibreOffice's process id while it runs."""
        self.network_isolated = False
        """Whether the running LibreOffice has a network namespace of its own."""

    def remove_leftovers(self) -> None:
        """Remove the temporary folders of conversions a service that died left behind
        (called at start, before any conversion)."""
        for folder in self.folder.glob("convert-*"):
            shutil.rmtree(folder, ignore_errors=True)

    def missing(self, kind: FileType) -> str:
        """Why documents of `kind` cannot be converted here, naming the Debian packages to
        install; "" when they can."""
        need = []
        soffice = shutil.which(self.settings.soffice)
        if (
            soffice is None
            or not (Path(os.path.realpath(soffice)).parent / _COMPONENTS[kind]).exists()
        ):
            need.append(kind.package)
        python = shutil.which(self.settings.python)
        if python is None or not _has_uno(python):
            need.append("python3-uno")
        if not need:
            return ""
        return (
            f"this server has no LibreOffice to make {_plural(kind)} into fax pages: "
            f"install the Debian package{'s' if len(need) > 1 else ''} {' '.join(need)} "
            f"(for every kind: {' '.join((*OFFICE_PACKAGES, 'python3-uno'))}), "
            "or send the document as a PDF"
        )

    @contextlib.contextmanager
    def pdf_of(self, path: Path, kind: FileType | None = None) -> Iterator[Path]:
        """The document at `path` as a PDF in a private temporary folder, removed when the
        block ends; DocumentError (naming `path`) when it cannot be converted: LibreOffice
        missing, the document unreadable, past the time limit or the page limit."""
        kind = kind or detect(path)
        reason = self.missing(kind)
        if reason:
            raise DocumentError(path, reason)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.folder, prefix="convert-") as work:
            source = Path(work) / f"document{_suffix(path, kind)}"
            shutil.copyfile(path, source)
            target = Path(work) / "document.pdf"
            self._convert(path, source, target)
            pages = count_pdf_pages(target)
            if pages > self.settings.max_pages:
                raise DocumentError(
                    path,
                    f"has more than {self.settings.max_pages:,} pages, the most this server "
                    "converts from an Office document (office.max_pages)",
                )
            yield target

    def _convert(self, original: Path, source: Path, target: Path) -> None:
        """One request to the worker, started if it is not running; waited for within the
        time limit, past which the worker is killed."""
        limit = self.settings.timeout_seconds
        if not self._lock.acquire(timeout=limit):
            raise DocumentError(
                original, f"the Office converter stayed busy for {limit:g} s: try again later"
            )
        try:
            if self._conversions >= self.settings.restart_after:
                self._kill(_QUIT_SECONDS)
            worker = self._running()
            self._conversions += 1
            started = time.monotonic()
            request = {
                "source": str(source),
                "target": str(target),
                "max_pages": self.settings.max_pages,
            }
            assert worker.stdin is not None
            try:
                worker.stdin.write(json.dumps(request).encode() + b"\n")
                worker.stdin.flush()
                answer = self._answer(worker, time.monotonic() + limit)
            except (OSError, TimeoutError, ValueError) as error:
                self._kill()
                if isinstance(error, TimeoutError):
                    reason = (
                        f"LibreOffice took longer than the {limit:g} s allowed to convert it "
                        "(office.timeout_seconds): stopped"
                    )
                else:
                    reason = "LibreOffice stopped while converting it"
                raise DocumentError(original, reason) from None
        finally:
            self._lock.release()
        if "error" in answer:
            # LibreOffice's words may quote its copy, a path of the server's: the client's
            # file is named instead.
            reason = str(answer["error"]).replace(source.as_uri(), original.name)
            raise DocumentError(original, reason.replace(str(source), original.name))
        _logger.info(
            "LibreOffice (pid %s) converted %s in %.2f s",
            self.pid,
            original.name,
            time.monotonic() - started,
        )

    def _running(self) -> subprocess.Popen[bytes]:
        """The worker, started with its LibreOffice when none runs."""
        if self._worker is not None and self._worker.poll() is None and _alive(self.pid):
            return self._worker
        self._kill()
        if self._closed:
            raise DocumentError(None, "the Office converter has stopped (the service stops)")
        self._pipe = f"openfax-{os.getpid()}-{id(self):x}-{time.monotonic_ns():x}"
        self._conversions = 0
        profile = self.folder / "profile"
        command = [self.settings.python, str(_WORKER), self.settings.soffice, str(profile)]
        command.append(self._pipe)
        isolated = self.settings.isolate_network and _can_unshare()
        if isolated:
            command = ["unshare", "--net", *command]
        self._pending = b""
        started = time.monotonic()
        self._worker = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=_environment(),
        )
        try:
            ready = self._answer(self._worker, time.monotonic() + _START_SECONDS)
        except (OSError, TimeoutError, ValueError):
            self._kill()
            raise DocumentError(None, "LibreOffice did not start") from None
        if not ready.get("ready"):
            self._kill()
            raise DocumentError(None, f"LibreOffice did not start: {ready.get('error')}")
        self.pid = int(str(ready["pid"]))
        self.network_isolated = isolated
        _logger.info(
            "LibreOffice started in %.2f s (pid %d, %s)",
            time.monotonic() - started,
            self.pid,
            "without network" if isolated else "with the host's network: unshare --net failed",
        )
        return self._worker

    def _answer(self, worker: subprocess.Popen[bytes], deadline: float) -> dict[str, object]:
        """The next line of `worker` (the one the request went to: `close` may have let go
        of it meanwhile), read by `deadline` (TimeoutError); OSError if it ended, ValueError
        if its pipe is closed already."""
        assert worker.stdout is not None
        fd = worker.stdout.fileno()
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, 65536)
            if not chunk:
                raise OSError("the Office converter ended")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        answer = json.loads(line)
        if not isinstance(answer, dict):
            raise ValueError(line)
        return answer

    def _kill(self, grace: float = 0.0) -> None:
        """End the worker and its LibreOffice (one process group): asked to quit, when
        `grace` seconds are given, so that LibreOffice removes its pipes from /tmp; killed
        at once otherwise, or when they pass."""
        worker, self._worker, self.pid = self._worker, None, None
        if worker is None:
            return
        if grace and worker.stdin is not None:
            with contextlib.suppress(OSError):
                worker.stdin.close()  # the worker tells LibreOffice to quit, then ends
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        for stream in (worker.stdin, worker.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        with contextlib.suppress(OSError):
            (_PIPES / f"OSL_PIPE_{os.getuid()}_{self._pipe}").unlink(missing_ok=True)

    def close(self) -> None:
        """Stop LibreOffice at once (the service stopping): a conversion under way fails,
        and none starts any more."""
        self._closed = True
        self._kill(_QUIT_SECONDS)


def _alive(pid: int | None) -> bool:
    """Whether LibreOffice's process `pid` runs (not ended, nor a zombie its worker has not
    reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _suffix(path: Path, kind: FileType) -> str:
    """The suffix for LibreOffice's copy of `path`: its own when it names an Office document,
    else one of its `kind` (RTF and HTML by their content)."""
    suffix = path.suffix.lower()
    if suffix in OFFICE_SUFFIXES:
        return suffix
    with path.open("rb") as source:
        head = source.read(8)
    if kind is FileType.WORD and not head.startswith((b"PK", b"\xd0\xcf")):
        return next(ext for start, ext in _TEXT_FORMATS if head.startswith(start))
    return _SUFFIXES[kind]


def _plural(kind: FileType) -> str:
    return f"{kind.value}s"


@functools.cache
def _has_uno(python: str) -> bool:
    """Whether `python` imports LibreOffice's UNO bindings (asked once per interpreter)."""
    check = subprocess.run(
        [python, "-c", "import uno"], capture_output=True, check=False, timeout=30
    )
    return check.returncode == 0


@functools.cache
def _can_unshare() -> bool:
    """Whether this process may give a child a network namespace of its own (as root, or
    where user namespaces are allowed)."""
    command = shutil.which("unshare")
    if command is None:
        return False
    check = subprocess.run([command, "--net", "true"], capture_output=True, check=False, timeout=30)
    return check.returncode == 0


def _environment() -> dict[str, str]:
    """The worker's environment: the service's, without Python settings meant for the
    service's own interpreter (a virtual environment's path would hide python3-uno)."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
