"""The CUPS backend: ``cupsd`` runs it for each job printed to a queue whose device URI is
``openfax:/path/to/openfaxd.sock`` (or ``openfax://localhost``), and it submits the job's
document to ``openfaxd`` as a fax to the job's ``phone`` (or ``fax-number``) option, or to
the ``tel:`` URIs of an IPP FaxOut job's ``destination-uris``.

The fax is the printing user's: ``cupsd`` runs the backend as root (its file is root's and
mode 0700), and the backend becomes that Unix user before it connects to openfaxd's Unix
socket, so the daemon's ``SO_PEERCRED`` sees the user itself, as for ``openfax send``. The
user is the one CUPS authenticated for the job (``AUTH_USERNAME``, and ``AUTH_UID`` read with
``SO_PEERCRED`` on CUPS' own socket), never the job's ``requesting-user-name`` alone, which a
client may set to anyone. Every module it runs is imported at start, as root, before it
becomes the user. What went wrong is said on stderr in CUPS' protocol (``ERROR:``
lines, which ``lpstat`` shows) and by the exit status (``CUPS_BACKEND_*``).
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import BinaryIO, TextIO
from urllib.parse import unquote, urlsplit

from openfax.client._connection import ServerUnavailableError
from openfax.client.document import FaxDocument
from openfax.client.server import FaxServer
from openfax.errors import FaxError, QueueBlockedError, ServerOutOfMemoryError
from openfax.gateways.cups import SCHEME
from openfax.gateways.cups.ipp import IppError, destination_numbers
from openfax.model.records import MAX_DOCUMENT_NAME_LENGTH, MAX_SUBJECT_LENGTH

SYSTEM_SOCKET = Path("/run/openfax/openfaxd.sock")
"""``openfax://localhost``: the socket of openfaxd run as a system service
(``docs/design/security.md``)."""
NUMBER_OPTIONS = ("phone", "fax-number", "faxnumber")
"""The job options that carry the number, first found wins: ``phone`` is CUPS' fax queues'
convention (``lp -d fax -o phone=1002``)."""
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
"""The largest printed document taken: the upload is made in memory (openfaxd's own
``[api] max_upload_mb``, 64 by default, refuses a smaller one already)."""
COPY_BYTES = 1024 * 1024
MAX_OPTIONS = 64 * 1024
"""The most characters of job options read (CUPS itself sends a few hundred)."""


class BackendStatus(IntEnum):
    """The exit statuses CUPS gives meaning to (``cups/backend.h``)."""

    OK = 0
    FAILED = 1
    AUTH_REQUIRED = 2
    HOLD = 3
    STOP = 4
    """Stop the queue: it cannot work for anyone until an administrator acts."""
    CANCEL = 5
    """Cancel this job: it can never be faxed as it is."""
    RETRY = 6
    """Try the job again later (openfaxd not running)."""
    RETRY_CURRENT = 7


class PrintJobError(FaxError):
    """A print job that cannot become a fax now; ``status`` is what CUPS is told to do."""

    def __init__(self, message: str, status: BackendStatus = BackendStatus.CANCEL) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PrintJob:
    """What CUPS hands the backend: its arguments and environment, read."""

    job_id: str
    user: str
    title: str
    options: dict[str, str]
    file: Path | None
    """The document's file, or None: it comes on standard input."""
    socket: Path
    content_type: str
    environ: Mapping[str, str]

    @classmethod
    def from_cups(cls, argv: Sequence[str], environ: Mapping[str, str]) -> PrintJob:
        """Read ``backend job-id user title copies options [file]`` and ``DEVICE_URI``."""
        if len(argv) not in (6, 7):
            raise PrintJobError(
                f"usage: {SCHEME} job-id user title copies options [file] (as CUPS runs it)",
                BackendStatus.FAILED,
            )
        return cls(
            job_id=argv[1],
            user=argv[2],
            title=argv[3],
            options=parse_options(argv[5]),
            file=Path(argv[6]) if len(argv) == 7 else None,
            socket=socket_of(environ.get("DEVICE_URI", "")),
            content_type=environ.get("CONTENT_TYPE", ""),
            environ=environ,
        )

    def numbers(
        self, destinations: Callable[[Mapping[str, str], int], list[str]] = destination_numbers
    ) -> list[str]:
        """The fax numbers the job names: its ``phone`` (or ``fax-number``) option, else
        the ``tel:`` URIs of its ``destination-uris`` (IPP FaxOut: ``destinations`` asks
        cupsd for them); else PrintJobError saying how to give one."""
        for name in NUMBER_OPTIONS:
            number = self.options.get(name, "").strip()
            if number:
                return [number]
        try:
            numbers = destinations(self.environ, int(self.job_id))
        except (IppError, ValueError) as exc:
            raise PrintJobError(f"{NO_NUMBER} ({exc})") from None
        if not numbers:
            raise PrintJobError(NO_NUMBER)
        return numbers


NO_NUMBER = (
    "no fax number: print with the number in the phone option, e.g. lp -d QUEUE -o "
    "phone=5551234 FILE (or -o fax-number=..., or IPP FaxOut's destination-uris with tel: URIs)"
)


def parse_options(text: str) -> dict[str, str]:
    """CUPS' job options (``name=value`` separated by spaces, values quoted with ``'`` or
    ``"`` or escaped with ``\\``, a bare ``name`` is true): names lower case."""
    if len(text) > MAX_OPTIONS:
        raise PrintJobError(f"the job's options are longer than {MAX_OPTIONS} characters")
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise PrintJobError(f"the job's options cannot be read ({exc})") from None
    options: dict[str, str] = {}
    for word in words:
        name, equals, value = word.partition("=")
        options[name.lower()] = value if equals else "true"
    return options


def socket_of(uri: str) -> Path:
    """The openfaxd socket a device URI names: ``openfax:/path`` (or ``openfax:///path``),
    or ``openfax://localhost`` for the system service's."""
    parts = urlsplit(uri)
    if parts.scheme != SCHEME:
        raise PrintJobError(f"the device URI {uri!r} is not an {SCHEME}: URI", BackendStatus.STOP)
    if parts.netloc not in ("", "localhost"):
        raise PrintJobError(
            f"{uri}: the {SCHEME} backend reaches the openfaxd of this machine only "
            f"({SCHEME}:/path/to/openfaxd.sock or {SCHEME}://localhost)",
            BackendStatus.STOP,
        )
    path = unquote(parts.path)
    if not path or path == "/":
        if parts.netloc == "localhost":
            return SYSTEM_SOCKET
        raise PrintJobError(f"{uri}: no socket path", BackendStatus.STOP)
    if not path.startswith("/"):
        raise PrintJobError(f"{uri}: the socket path must be absolute", BackendStatus.STOP)
    return Path(path)


def printing_user(job: PrintJob) -> pwd.struct_passwd:
    """The Unix user the job is faxed as: the one CUPS authenticated for it.

    CUPS sets ``AUTH_USERNAME`` (and, for its local socket, ``AUTH_UID``) only for a job
    whose submitter it authenticated (``AUTH_INFO_REQUIRED=none``: not credentials a client
    handed in with the job); a queue that takes jobs without authentication would let anyone
    print as anyone, so such a job is refused."""
    environ = job.environ
    authenticated = environ.get("AUTH_USERNAME", "")
    if environ.get("AUTH_INFO_REQUIRED", "none") != "none" or authenticated != job.user:
        raise PrintJobError(
            f"CUPS did not authenticate {job.user!r} for this job: the queue must use an "
            "operation policy that authenticates who prints (lpadmin -p QUEUE -o "
            "printer-op-policy=authenticated; openfax cups install does this)"
        )
    try:
        user = pwd.getpwnam(job.user)
    except KeyError:
        raise PrintJobError(f"{job.user!r} is not a user of this machine") from None
    uid = environ.get("AUTH_UID")
    if uid is not None and uid != str(user.pw_uid):
        raise PrintJobError(f"CUPS authenticated uid {uid}, which is not {job.user!r}")
    return user


def become(user: pwd.struct_passwd) -> None:
    """Act as ``user`` from here on, for good (its groups too: the socket's group lets it
    in); PrintJobError when this process cannot (it is not root and not that user)."""
    if os.getuid() == user.pw_uid and os.geteuid() == user.pw_uid:
        return
    if os.geteuid() != 0:
        raise PrintJobError(
            f"the {SCHEME} backend runs as uid {os.geteuid()}, so it cannot act as "
            f"{user.pw_name!r}: CUPS runs a backend as root only when root owns its file and "
            "its mode is 0700 (openfax cups install makes it so)",
            BackendStatus.STOP,
        )
    os.initgroups(user.pw_name, user.pw_gid)
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
    if os.getuid() != user.pw_uid or os.geteuid() != user.pw_uid:  # pragma: no cover
        raise PrintJobError(f"could not become {user.pw_name!r}", BackendStatus.STOP)


def submit(job: PrintJob, numbers: list[str], document: BinaryIO, out: TextIO) -> list[str]:
    """Fax ``document`` to ``numbers`` as the current Unix user: its copy goes in a private
    folder of this user's for the upload, and is removed at once."""
    tempfile.tempdir = None  # chosen anew for this user: CUPS' TMPDIR is not theirs
    folder = Path(tempfile.mkdtemp(prefix="openfax-print-"))
    try:
        copy = folder / f"print-job-{job.job_id}"
        with copy.open("wb") as stream:
            while block := document.read(min(COPY_BYTES, MAX_DOCUMENT_BYTES + 1 - stream.tell())):
                stream.write(block)
            size = stream.tell()
        if size == 0:
            raise PrintJobError("the printed document is empty")
        if size > MAX_DOCUMENT_BYTES:
            raise PrintJobError(
                f"the printed document is larger than {MAX_DOCUMENT_BYTES >> 20} MB, "
                "the most a printed fax may be"
            )
        os.environ["OPENFAX_SOCKET"] = str(job.socket)
        # A title is a fax's subject and name as far as they may be long, not a refusal.
        title = job.title
        fax = FaxDocument(
            body=copy,
            subject=title[:MAX_SUBJECT_LENGTH],
            document_name=title[:MAX_DOCUMENT_NAME_LENGTH],
        )
        for number in numbers:
            fax.recipients.add(number)
        uuid = job.options.get("job-uuid")
        if uuid:  # a job CUPS runs again is the same fax, not a second one
            fax.idempotency_key = f"cups:{uuid}"
        print("STATE: +connecting-to-device", file=out, flush=True)
        if _shut_out(job.socket):
            # Not a matter of waiting (CUPS would retry for nothing): the user is not let in.
            raise PrintJobError(
                f"{job.user!r} may not connect to openfaxd's socket {job.socket}: the users "
                "who fax are those its group and mode let in (e.g. the group fax)"
            )
        with FaxServer() as server:
            server.connect("")
            return fax.connected_submit(server)
    except PrintJobError:
        raise
    except FaxError as exc:
        raise _refused(exc) from None
    finally:
        print("STATE: -connecting-to-device", file=out, flush=True)
        shutil.rmtree(folder, ignore_errors=True)


def _shut_out(socket: Path) -> bool:
    """Whether the current user may not connect to ``socket`` (a folder on its way it may
    not enter, or the socket's own mode and group); False when it is not there."""
    try:
        socket.stat()
    except FileNotFoundError:
        return False
    except PermissionError:
        return True
    return not os.access(socket, os.R_OK | os.W_OK)


def _refused(exc: FaxError) -> PrintJobError:
    """What CUPS is told of a fax openfaxd did not take: try again later when that passes
    (openfaxd not running, its queue blocked, short of memory), else cancel the job."""
    if isinstance(exc, ServerUnavailableError):
        return PrintJobError(str(exc), BackendStatus.RETRY)
    if isinstance(exc, QueueBlockedError | ServerOutOfMemoryError):
        return PrintJobError(f"openfaxd cannot take the fax now: {exc}", BackendStatus.RETRY)
    return PrintJobError(f"openfaxd refused the fax: {exc}")


def run(argv: Sequence[str], environ: Mapping[str, str], out: TextIO) -> BackendStatus:
    """The backend, with CUPS' arguments and environment; messages go to ``out`` (stderr)."""
    if len(argv) == 1:  # lpinfo -v: the device this backend offers
        print(f'direct {SCHEME}://localhost "OpenFax" "OpenFax fax server (openfaxd)"')
        return BackendStatus.OK
    try:
        job = PrintJob.from_cups(argv, environ)
        numbers = job.numbers()  # a job without one fails before anything else is done
        user = printing_user(job)
        document = job.file.open("rb") if job.file is not None else sys.stdin.buffer
        with document:
            become(user)
            job_ids = submit(job, numbers, document, out)
    except PrintJobError as exc:
        print(f"ERROR: {exc}", file=out, flush=True)
        return exc.status
    except OSError as exc:
        print(f"ERROR: {exc}", file=out, flush=True)
        return BackendStatus.FAILED
    ids = ", ".join(job_ids)
    to = ", ".join(numbers)
    print(f"INFO: faxing to {to} as {job.user}: openfax job {ids}", file=out, flush=True)
    return BackendStatus.OK


def main() -> int:
    """Entry point of the backend file ``openfax cups install`` writes."""
    with suppress(AttributeError):
        sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    return int(run(sys.argv, os.environ, sys.stderr))
