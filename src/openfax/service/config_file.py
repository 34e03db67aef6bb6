"""The service configuration: a TOML file read into frozen dataclasses with defaults.

Every key is optional. Unknown keys and values of the wrong type or range raise
:class:`~openfax.errors.ConfigError` naming the file and the key, so a typo is caught at start
instead of silently ignored. Paths default under the data folder, which defaults to
``$OPENFAX_DATA_DIR``, else ``$XDG_DATA_HOME/openfax``, else ``~/.local/share/openfax``.

Example::

    data_dir = "/var/lib/openfax"
    node_id = "fax-1"

    [loopback]
    lines = 4
    pace = "unpaced"

    [outgoing]
    retries = 5
    discount_start = "20:00"
    discount_end = "07:00"

    [outgoing.causes.busy]
    delay_minutes = 2

    [api]
    listen = "0.0.0.0:4560"
    tls_certificate = "tls/openfax.crt"
    tls_key = "tls/openfax.key"
    metrics_from = ["unix", "127.0.0.1", "10.0.0.0/8"]

    [log]
    format = "json"

    [sip]
    dns_servers = ["192.0.2.53"]

    [[sip.trunks]]
    name = "carrier"
    host = "sip.carrier.example"
    register = true
    username = "4930123456"
    password = "secret"
    numbers = ["+4930123456"]
    channels = 4
    t38 = "request"
    media_ports = "20000-20999"

    [[modem.lines]]
    device = "/dev/serial/by-id/usb-Conexant_USB_Modem-if00"
    number = "+4930123457"
    rings_before_answer = 2
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import socket
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from openfax.documents.office import OfficeSettings
from openfax.engine.params import MODULATIONS
from openfax.errors import ConfigError
from openfax.paths import SOCKET_NAME, default_data_dir
from openfax.providers.modem.config import DIAL_CHARACTERS, SPEEDS, ModemConfig
from openfax.providers.sip.config import SipConfig, parse_port_range
from openfax.store.database import BUSY_TIMEOUT_SECONDS
from openfax.telephony.sip.resolver import parse_dns_server


class RetryCause(StrEnum):
    """The failure classes of an outgoing call the retry policy distinguishes."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    LINE_DROPPED = "line_dropped"
    PROTOCOL = "protocol"
    REMOTE_INCAPABLE = "remote_incapable"
    DOCUMENT = "document"
    INTERNAL = "internal"


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """What to do after a call failed for one cause: retry or not, and after how long."""

    retryable: bool = True
    delay_minutes: float = 5.0


@dataclass(frozen=True, kw_only=True)
class RetryPolicies:
    """One :class:`RetryPolicy` per :class:`RetryCause` (the keys are the cause names)."""

    busy: RetryPolicy = RetryPolicy(delay_minutes=5)
    no_answer: RetryPolicy = RetryPolicy(delay_minutes=10)
    line_dropped: RetryPolicy = RetryPolicy(delay_minutes=2)
    protocol: RetryPolicy = RetryPolicy(delay_minutes=5)
    remote_incapable: RetryPolicy = RetryPolicy(retryable=False)
    document: RetryPolicy = RetryPolicy(retryable=False)
    internal: RetryPolicy = RetryPolicy(delay_minutes=5)

    def __getitem__(self, cause: RetryCause) -> RetryPolicy:
        policy: RetryPolicy = getattr(self, cause.value)
        return policy


@dataclass(frozen=True, kw_only=True)
class LoopbackConfig:
    """The loopback provider's virtual lines."""

    lines: int = 2
    base_number: str = "100"
    """Line k (from 1) has the number ``base_number`` followed by k."""
    name: str = "loopback"
    """The provider's name, which begins its lines' names (``loopback line 1001``): nodes on
    one database each need their own, their lines being devices of one table, for their
    lines to have the same numbers (a job another node takes over dials the same number)."""
    transport: Literal["audio", "t38"] = "audio"
    pace: float | None = 1.0
    """Line speed as a multiple of real time; ``"unpaced"`` (None) runs as fast as the CPU."""


@dataclass(frozen=True, kw_only=True)
class OutgoingConfig:
    """The outgoing queue: retries, kill time, discount period, identity and branding."""

    retries: int = 3
    """Retransmission attempts after the first failure (FAXCOMEX ``Retries``)."""
    max_attempts: int = 12
    """Calls made for one job at most, whatever their outcome (busy lines included)."""
    max_pages: int = 1000
    """Pages one fax may have at most, cover page included: a longer document is refused at
    submission, before it is rendered."""
    kill_time_minutes: float = 24 * 60
    """A job not sent this long after its first scheduled time gives up."""
    discount_start: time = time(20, 0)
    discount_end: time = time(7, 0)
    """The daily cheap-rate window (may wrap midnight), local time of the server."""
    tsid: str = ""
    """The TSID sent when neither the sender nor the device gives one; a new line's own TSID
    when set, else the line takes its number."""
    use_device_tsid: bool = False
    """Send with the TSID of the device making the call (FAXCOMEX ``UseDeviceTSID``) rather
    than the sender's; a fax without a TSID of its own takes the device's anyway."""
    branding: bool = True
    """Draw the header line (TSID, date and time of sending, page x of y) at the top of every
    page sent."""
    allow_personal_cover_pages: bool = True
    """Accept a cover page template sent by the client (FAXCOMEX ``AllowPersonalCoverPages``);
    off, only the server's cover pages may be used."""
    max_recipients: int = 1000
    """Recipients one submission may have at most (each is a job, with its own cover page):
    a broadcast to more is refused (FAXCOMEX ``FAX_E_RECIPIENTS_LIMIT``)."""
    age_limit_days: int = 0
    """Days a failed job stays in the queue; 0 keeps it until deleted."""
    country_code: int = 0
    """The server's own country code, for outbound routing of national numbers (without
    ``+`` or the international prefix); 0: unknown, such numbers follow the default rule."""
    international_prefix: str = "00"
    """What a number dialled abroad begins with, besides ``+`` (outbound routing)."""
    causes: RetryPolicies = RetryPolicies()


@dataclass(frozen=True, kw_only=True)
class IncomingConfig:
    """Defaults of the lines when they first appear, and the routing of received faxes."""

    csid: str = ""
    """The CSID of a new line; empty: the line's own number, as a fax machine shows."""
    rings_before_answer: int = 1
    routing_retries: int = 5
    routing_retry_delay_minutes: float = 5.0


@dataclass(frozen=True, kw_only=True)
class ArchiveConfig:
    """The archives: whether sent faxes are kept, for how long (days; 0 keeps them until
    deleted), and the size above which a warning is logged."""

    archive_sent_items: bool = True
    """Keep completed sent faxes in the outgoing archive (FAXCOMEX ``UseArchive``)."""
    outgoing_age_limit_days: int = 0
    incoming_age_limit_days: int = 0
    size_quota_warning: bool = False
    """Log a warning once both archives together grow beyond ``high_quota_water_mark_mb``
    (again only after they have shrunk below ``low_quota_water_mark_mb``)."""
    high_quota_water_mark_mb: int = 1024
    low_quota_water_mark_mb: int = 768


@dataclass(frozen=True, kw_only=True)
class ReceiptConfig:
    """How a delivery receipt the SMTP server did not take is tried again: after
    ``retry_delay_minutes``, doubled at each failure (at most six hours), ``retries`` times."""

    retries: int = 10
    retry_delay_minutes: float = 1.0


@dataclass(frozen=True, kw_only=True)
class DeadlineConfig:
    """How long each step may take before it is abandoned and counted as a failure."""

    render_seconds: float = 300.0
    call_setup_seconds: float = 120.0
    """From dialling to the far end answering."""
    routing_step_seconds: float = 120.0
    lease_seconds: float = 60.0
    """How long a node's claim on a running job lasts unless renewed; a dead node's jobs
    return to the queue once it lapses."""


@dataclass(frozen=True, kw_only=True)
class StoreConfig:
    """How the service uses its database."""

    busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS
    """SQLite: how long a write waits for the write lock before it fails (and is logged,
    and retried where it must not be lost)."""
    cluster_poll_seconds: float = 5.0
    """PostgreSQL: how often a node looks at the event log even without a NOTIFY from the
    other nodes (the safety net of LISTEN/NOTIFY) and checks its LISTEN connection."""


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """Where the API listens (see ``docs/design/api.md``) and who may use it remotely."""

    socket: Path
    """The Unix socket of local clients, who act as their Unix user (default
    ``data_dir/openfaxd.sock``)."""
    listen: str = "127.0.0.1:4560"
    """``host:port`` of the HTTP API for remote clients with a token; empty turns it off;
    port 0 picks a free port (the daemon logs which)."""
    tls_certificate: Path | None = None
    """A PEM certificate (its chain after it) the TCP listener presents: with ``tls_key``
    set, it speaks HTTPS only. Relative to the configuration file's folder."""
    tls_key: Path | None = None
    """The certificate's PEM private key (not encrypted)."""
    tokens_file: Path
    """The hashes of the remote clients' bearer tokens, one ``sha256:<hex> name`` a line
    (default ``data_dir/api-tokens``; ``python -m openfax.api.tokens`` adds one)."""
    max_upload_mb: int = 64
    """The largest request body of a route that takes files (a submission, a cover page),
    in MiB; a larger one is refused with 413 as it arrives."""
    max_json_kb: int = 2048
    """The largest request body of every other route, in KiB."""
    max_concurrent_uploads: int = 4
    """Requests to routes that take files processed at once (from the end of their body to
    their answer: parsing, rendering); one more waits for a free slot."""
    upload_wait_seconds: float = 10.0
    """How long an upload waits for a slot before it is answered 503 with Retry-After."""
    header_timeout_seconds: float = 10.0
    """How long a connection may take to send a request's headers, from its opening or
    from the end of the response before; it is closed after that."""
    idle_timeout_seconds: float = 30.0
    """How long a request's body may stall (no byte arriving) before its connection is
    closed."""
    keep_alive_seconds: float = 5.0
    """How long an idle connection is kept open for the client's next request."""
    max_connections: int = 512
    """Connections open on the TCP listener at most; one more is closed at once. The Unix
    socket has no such limit: its clients are the machine's own users."""
    max_connections_per_client: int = 32
    """Connections one client address may hold open on the TCP listener."""
    sign_in_delay_seconds: float = 1.0
    """How long an account or a client address waits before its next password is checked,
    after five failed sign-ins in a row; it doubles with each further failure, up to five
    minutes."""
    metrics_from: tuple[str, ...] = ("unix", "127.0.0.0/8", "::1")
    """Who may read ``/metrics``, ``/healthz`` and ``/readyz`` without an account: client
    addresses or networks (``10.0.0.0/8``), and ``unix`` for the local socket. Anyone else
    needs an account holding far2QUERY_CONFIG."""


LOCAL_SOCKET = "unix"
"""The ``metrics_from`` entry that stands for the API's Unix socket."""


def metrics_networks(
    allowed: tuple[str, ...],
) -> tuple[bool, tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]]:
    """Whether ``metrics_from`` allows the local socket, and the networks it allows;
    ValueError naming an entry that is neither ``unix`` nor an address or a network."""
    networks = tuple(
        ipaddress.ip_network(entry, strict=False) for entry in allowed if entry != LOCAL_SOCKET
    )
    return LOCAL_SOCKET in allowed, networks


@dataclass(frozen=True, kw_only=True)
class LogConfig:
    """How ``openfaxd`` writes its log to stderr (journald, a container runtime or a
    terminal reads it there)."""

    format: Literal["plain", "json"] = "plain"
    """``plain``: one line of text per record; ``json``: one JSON object per record, with
    the node's, the job's and the call's ids where known (for a log collector)."""


@dataclass(frozen=True, kw_only=True)
class SenderAccount:
    """A sender the e-mail gateway takes faxes from without a login, and the account they
    are submitted as."""

    address: str
    """``alice@example.com`` (that address) or ``example.com`` (every address of the
    domain); compared without regard to case."""
    account: str
    """The OpenFax account whose fax it is (it must exist and may submit)."""


@dataclass(frozen=True, kw_only=True)
class EmailGatewayConfig:
    """The SMTP e-mail-to-fax gateway (``docs/design/email-gateway.md``): a message to
    ``NUMBER@any-domain`` becomes a fax submitted as the sender's account."""

    enabled: bool = False
    listen: str = "127.0.0.1:2525"
    """``host:port`` of the SMTP listener; port 0 picks a free port (the daemon logs which)."""
    hostname: str = ""
    """The name the gateway greets with (default: this machine's)."""
    tls_certificate: Path | None = None
    """A PEM certificate (its chain after it) offered with STARTTLS; with ``tls_key`` set,
    senders may sign in (AUTH) with an account's password, never in clear. Relative to
    the configuration file's folder."""
    tls_key: Path | None = None
    """The certificate's PEM private key (not encrypted)."""
    senders: tuple[SenderAccount, ...] = ()
    """Senders taken without a login (a site's own mail server relaying for them): each
    address or domain with its account; anyone else must sign in."""
    max_message_mb: int = 25
    """The largest message in MiB (announced with SIZE, enforced as it arrives)."""
    max_attachments: int = 10
    """Attachments of one message at most."""
    max_recipients: int = 50
    """Fax numbers (RCPT TO) of one message at most."""
    messages_per_minute: int = 10
    """Messages one sender (address, or signed-in account) may send in any minute."""
    max_connections: int = 32
    """SMTP connections open at once at most; one more is told to come back later."""
    max_concurrent_messages: int = 2
    """Messages turned into faxes at once (their rendering); one more waits its turn."""
    idle_timeout_seconds: float = 300.0
    """How long a connection may stay silent before it is closed."""


@dataclass(frozen=True, kw_only=True)
class ConsoleConfig:
    """The web console served on the API's TCP listener (``docs/design/console.md``)."""

    enabled: bool = True
    """Serve the console at ``/console/`` (and send browsers from ``/`` there)."""
    session_idle_minutes: float = 30.0
    """How long a signed-in browser may stay idle before it must sign in again."""
    session_hours: float = 12.0
    """How long a session lasts at most, however busy, before a new sign-in."""
    max_sessions: int = 1000
    """Sessions kept at once; one more sign-in ends the one idle longest."""


@dataclass(frozen=True, kw_only=True)
class OcrConfig:
    """Reading the text of received faxes with Tesseract (``docs/design/ocr.md``): stored
    with the fax, searched, routed on, and laid invisibly over its PDF's pages."""

    enabled: bool = True
    """Read each received fax when Tesseract is installed (without it, the daemon says so
    once and archives faxes without their text)."""
    command: str = "tesseract"
    """The Tesseract command (a name on PATH or a path)."""
    languages: tuple[str, ...] = ("eng",)
    """Tesseract's language data to read with (Debian's ``tesseract-ocr-LANG`` packages)."""
    workers: int = 1
    """Faxes read at once (a Tesseract process each, reading a page at a time on one core)."""
    page_limit: int = 20
    """The first pages of a fax that are read; the rest has no text."""
    time_limit_seconds: float = 120.0
    """How long the reading of one fax may take (Tesseract is killed then, and the fax has
    no text); routing waits for the text at most this long."""


@dataclass(frozen=True, kw_only=True)
class AddressBookConfig:
    """The limits of the address books (``docs/design/address-book.md``)."""

    max_contacts: int = 10_000
    """Contacts one book (an account's, or the shared one) holds at most."""
    max_groups: int = 1_000
    """Groups one book holds at most."""
    max_import_kb: int = 4096
    """The largest CSV or vCard file an import takes (KiB)."""


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """The whole configuration of one ``openfaxd``."""

    data_dir: Path
    database: str
    """A SQLite file path or a database URL (``postgresql://...``)."""
    spool_dir: Path
    node_id: str
    server_name: str
    api: ApiConfig
    loopback: LoopbackConfig = LoopbackConfig()
    sip: SipConfig = field(default_factory=SipConfig)
    modem: ModemConfig = field(default_factory=ModemConfig)
    outgoing: OutgoingConfig = OutgoingConfig()
    incoming: IncomingConfig = IncomingConfig()
    archive: ArchiveConfig = ArchiveConfig()
    receipts: ReceiptConfig = ReceiptConfig()
    deadlines: DeadlineConfig = DeadlineConfig()
    store: StoreConfig = StoreConfig()
    email_gateway: EmailGatewayConfig = EmailGatewayConfig()
    office: OfficeSettings = field(default_factory=OfficeSettings)
    """LibreOffice, which makes Office documents PDF (:mod:`openfax.documents.office`)."""
    log: LogConfig = LogConfig()
    ocr: OcrConfig = OcrConfig()
    address_book: AddressBookConfig = AddressBookConfig()
    console: ConsoleConfig = ConsoleConfig()
    source: str = field(default="<defaults>", compare=False)
    """Where the configuration was read from, for messages."""


def load_config(
    path: str | Path | None = None,
    *,
    data_dir: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ServiceConfig:
    """Read the configuration from ``path`` (all defaults when None).

    ``data_dir`` (the ``--data-dir`` option) wins over the file; ``overrides`` are top-level
    tables or keys applied over the file, as a test or the daemon's options would.
    """
    environ = os.environ if environ is None else environ
    source = "<defaults>" if path is None else str(path)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as file:
                raw = tomllib.load(file)
        except OSError as exc:
            raise ConfigError(source, "(file)", f"cannot be read: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source, "(file)", f"not valid TOML: {exc}") from None
    for key, value in (overrides or {}).items():
        if isinstance(value, Mapping) and isinstance(raw.get(key), Mapping):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    if data_dir is not None:
        raw["data_dir"] = str(data_dir)
    raw.setdefault("data_dir", str(default_data_dir(environ)))
    folder: Path = _convert(source, "data_dir", raw["data_dir"], Path)
    raw.setdefault("database", str(folder / "openfax.db"))
    raw.setdefault("spool_dir", str(folder / "spool"))
    api = raw.setdefault("api", {})
    if isinstance(api, Mapping):
        defaults = {
            "socket": str(folder / SOCKET_NAME),
            "tokens_file": str(folder / "api-tokens"),
        }
        raw["api"] = {**defaults, **api}
        if path is not None:
            _relative_to(Path(path).parent, raw["api"], ("tls_certificate", "tls_key"))
    gateway = raw.get("email_gateway")
    if path is not None and isinstance(gateway, Mapping):
        raw["email_gateway"] = dict(gateway)
        _relative_to(Path(path).parent, raw["email_gateway"], ("tls_certificate", "tls_key"))
    host = socket.gethostname()
    raw.setdefault("node_id", host)
    raw.setdefault("server_name", host)
    config: ServiceConfig = _build(source, "", ServiceConfig, raw, exclude=frozenset({"source"}))
    return dataclasses.replace(config, source=source)


def _relative_to(folder: Path, table: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Make the paths of ``keys`` in ``table`` that are relative start from ``folder`` (the
    configuration file's), so a certificate beside the file is found wherever the daemon
    runs; values that are not strings are left for the type check to name."""
    for key in keys:
        if isinstance(table.get(key), str) and table[key]:
            table[key] = str(folder / Path(table[key]).expanduser())


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _build(
    source: str, prefix: str, cls: type, raw: Any, exclude: frozenset[str] = frozenset()
) -> Any:
    """An instance of the dataclass ``cls`` from the TOML table ``raw``, checked key by key."""
    if not isinstance(raw, Mapping):
        raise ConfigError(source, prefix.rstrip(".") or "(file)", "must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in exclude}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(
            source, prefix + unknown[0], f"unknown key (known: {', '.join(sorted(fields))})"
        )
    hints = _hints(cls)
    values = {
        name: _convert(source, prefix + name, value, hints[name]) for name, value in raw.items()
    }
    try:
        instance = cls(**values)
    except TypeError as exc:
        raise ConfigError(source, prefix.rstrip(".") or "(file)", str(exc)) from None
    _check_ranges(source, prefix, instance)
    return instance


def _convert(source: str, key: str, value: Any, hint: Any) -> Any:
    """``value`` as the annotated type ``hint``, or a ConfigError saying what was expected."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(source, key + ".", hint, value)
    origin = typing.get_origin(hint)
    if origin is tuple:
        (inner, _) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(source, key, f"must be a list, not {value!r}")
        return tuple(_convert(source, f"{key}[{i}]", item, inner) for i, item in enumerate(value))
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            choices = ", ".join(repr(a) for a in typing.get_args(hint))
            raise ConfigError(source, key, f"must be one of {choices}, not {value!r}")
        return value
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        if hint == float | None and value == "unpaced":
            return None
        (inner,) = (o for o in options if o is not type(None))
        return _convert(source, key, value, inner)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(source, key, f"must be true or false, not {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(source, key, f"must be a whole number, not {value!r}")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        what = 'a number or "unpaced"' if key.endswith("pace") else "a number"
        raise ConfigError(source, key, f"must be {what}, not {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(source, key, f"must be a string, not {value!r}")
    if hint is Path:
        if isinstance(value, str) and value:
            return Path(value).expanduser()
        raise ConfigError(source, key, f"must be a path, not {value!r}")
    if hint is time:
        return time_of_day(source, key, value)
    raise AssertionError(f"no conversion for {key}: {hint}")


def time_of_day(source: str, key: str, value: Any) -> time:
    """``value`` as a time of day (a ``time`` or an ISO string such as ``"20:00"``)."""
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(source, key, f'must be a time of day like "20:00", not {value!r}')


_POSITIVE = {
    "max_contacts",
    "max_groups",
    "max_import_kb",
    "lease_seconds",
    "cluster_poll_seconds",
    "max_pages",
    "max_recipients",
    "render_seconds",
    "call_setup_seconds",
    "channels",
    "media_speed",
    "ring_timeout",
    "ring_seconds",
    "max_call_seconds",
    "dns_timeout",
    "register_retry",
    "register_backoff_max",
    "max_upload_mb",
    "max_json_kb",
    "max_concurrent_uploads",
    "header_timeout_seconds",
    "idle_timeout_seconds",
    "keep_alive_seconds",
    "max_connections",
    "max_connections_per_client",
    "sign_in_delay_seconds",
    "dial_timeout",
    "answer_timeout",
    "command_timeout",
    "reopen_seconds",
    "max_message_mb",
    "max_attachments",
    "messages_per_minute",
    "max_concurrent_messages",
    "timeout_seconds",
    "restart_after",
    "workers",
    "page_limit",
    "time_limit_seconds",
}
_NON_NEGATIVE = {
    "retries",
    "not_found_window",
    "delay_minutes",
    "kill_time_minutes",
    "age_limit_days",
    "outgoing_age_limit_days",
    "incoming_age_limit_days",
    "routing_retries",
    "routing_retry_delay_minutes",
    "routing_step_seconds",
    "high_quota_water_mark_mb",
    "low_quota_water_mark_mb",
    "retry_delay_minutes",
    "upload_wait_seconds",
    "lines",
    "jitter_delay",
    "session_expires",
    "rings_before_answer",
    "silence_before_send",
    "pause_between_carriers",
    "silence_before_receive",
    "abort_wait",
    "connect_delay",
    "reset_quiet",
}
MAX_DAYS = 36_500
"""The longest age limit in days (a century): dates that far back stay computable."""
MAX_DELAY_MINUTES = 7 * 24 * 60
"""The longest delay before a retry (a week)."""
MAX_RETRIES = 99
MAX_SECONDS = 366 * 24 * 60 * 60
"""The longest deadline or timer in seconds (a year)."""
_MOST: dict[str, float] = {
    "max_contacts": 1_000_000,
    "max_groups": 100_000,
    "max_import_kb": 1024 * 1024,
    "timeout_seconds": 3600,
    "workers": 64,
    "page_limit": 1000,
    "time_limit_seconds": 3600,
    "retries": MAX_RETRIES,
    "routing_retries": MAX_RETRIES,
    "max_attempts": 1000,
    "max_recipients": 100_000,
    "delay_minutes": MAX_DELAY_MINUTES,
    "retry_delay_minutes": MAX_DELAY_MINUTES,
    "routing_retry_delay_minutes": MAX_DELAY_MINUTES,
    "kill_time_minutes": MAX_SECONDS / 60,
    "age_limit_days": MAX_DAYS,
    "outgoing_age_limit_days": MAX_DAYS,
    "incoming_age_limit_days": MAX_DAYS,
    "high_quota_water_mark_mb": 2**40,
    "low_quota_water_mark_mb": 2**40,
    "rings_before_answer": 99,
    "lines": 1000,
    "pace": 1000,
    "render_seconds": MAX_SECONDS,
    "call_setup_seconds": MAX_SECONDS,
    "routing_step_seconds": MAX_SECONDS,
    "lease_seconds": MAX_SECONDS,
    "busy_timeout_seconds": 3600,
    "cluster_poll_seconds": 3600,
    "channels": 1000,
    "media_speed": 1000,
    "ring_timeout": 3600,
    "ring_seconds": 60,
    "session_expires": 24 * 60 * 60,
    "max_call_seconds": 24 * 60 * 60,
    "jitter_delay": 10,
    "dns_timeout": 60,
    "register_retry": 3600,
    "register_backoff_max": 24 * 60 * 60,
    "not_found_window": 24 * 60 * 60,
    "max_upload_mb": 65_536,
    "max_json_kb": 1 << 20,
    "max_concurrent_uploads": 1000,
    "upload_wait_seconds": 3600,
    "header_timeout_seconds": 3600,
    "idle_timeout_seconds": 3600,
    "keep_alive_seconds": 3600,
    "max_connections": 1_000_000,
    "max_connections_per_client": 1_000_000,
    "sign_in_delay_seconds": 300,
    "dial_timeout": 600,
    "answer_timeout": 600,
    "command_timeout": 60,
    "reopen_seconds": 3600,
    "silence_before_send": 255,
    "pause_between_carriers": 255,
    "silence_before_receive": 255,
    "abort_wait": 5,
    "connect_delay": 5,
    "reset_quiet": 30,
    "max_message_mb": 4096,
    "max_attachments": 1000,
    "messages_per_minute": 1_000_000,
    "max_concurrent_messages": 1000,
}
"""The largest value of each numeric key: every number a site sets has a limit that keeps
the times and sizes made from it computable (no date past year 9999, no integer past 64
bits)."""
_PORTS = {"port", "local_port"}
_DIAL_NUMBER = re.compile(r"\+?[0-9*#]+")
_IDENTS = {"tsid", "csid", "ident"}
_COMMANDS = {
    "init",
    "reset_command",
    "caller_id_command",
    "hard_flow_command",
    "soft_flow_command",
    "no_flow_command",
    "adaptive_receive_command",
    "adaptive_answer_command",
    "class_command",
}
"""Keys holding an AT command line sent to a modem."""
_MODULATION_LISTS = {"transmit_modulations", "receive_modulations"}
"""Keys holding T.31 image modulation codes."""
MAX_COMMAND_LENGTH = 120
_LANGUAGE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
"""A Tesseract language (its traineddata file's name)."""
MAX_IDENT_LENGTH = 20
MAX_SOCKET_PATH = 107
"""Bytes of a Unix socket path at most (``sun_path`` holds 108 with the final NUL)."""


def _check_ranges(source: str, prefix: str, instance: Any) -> None:
    """The checks on values a type cannot express: signs, identities, numbers."""
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        key = prefix + f.name
        if isinstance(value, int | float) and not isinstance(value, bool):
            check_number(source, key, f.name, value)
        if f.name == "max_attempts" and value < 1:
            raise ConfigError(source, key, f"must be at least 1, not {value}")
        if f.name == "pace" and value is not None and value <= 0:
            raise ConfigError(source, key, f'must be greater than 0 or "unpaced", not {value}')
        if f.name in _IDENTS and (len(value) > MAX_IDENT_LENGTH or not value.isascii()):
            raise ConfigError(source, key, f"must be at most 20 ASCII characters: {value!r}")
        if f.name == "country_code" and not 0 <= value <= 999:
            raise ConfigError(source, key, f"must be an ITU country code (1-999) or 0, not {value}")
        if f.name == "international_prefix" and not value.isdigit():
            raise ConfigError(source, key, f"must be digits, not {value!r}")
        if f.name == "base_number" and not value.isdigit():
            raise ConfigError(source, key, f"must be digits, not {value!r}")
        if f.name == "name" and prefix == "loopback." and not value.strip():
            raise ConfigError(source, key, "must not be empty")
        if f.name == "low_quota_water_mark_mb" and value > instance.high_quota_water_mark_mb:
            raise ConfigError(source, key, f"must not exceed high_quota_water_mark_mb, not {value}")
        if f.name == "languages" and (
            not value or not all(_LANGUAGE.fullmatch(language) for language in value)
        ):
            raise ConfigError(
                source, key, f'must name Tesseract languages ("eng", "chi_sim"), not {value!r}'
            )
        if f.name == "command" and prefix == "ocr." and not value.strip():
            raise ConfigError(source, key, "must name the Tesseract command")
        if f.name == "node_id" and not value:
            raise ConfigError(source, key, "must not be empty")
        if f.name == "socket" and len(os.fsencode(value)) > MAX_SOCKET_PATH:
            raise ConfigError(source, key, f"must be at most {MAX_SOCKET_PATH} bytes long")
        if f.name in _PORTS and value is not None and not 0 <= value <= 65535:
            raise ConfigError(source, key, f"must be a port (0-65535), not {value}")
        if f.name == "dns_servers":
            for server in value:
                try:
                    parse_dns_server(server)
                except ValueError as exc:
                    raise ConfigError(source, key, str(exc)) from None
        if f.name == "media_ports":
            try:
                parse_port_range(value)
            except ValueError as exc:
                raise ConfigError(source, key, str(exc)) from None
        if f.name == "numbers":
            for number in value:
                if not _DIAL_NUMBER.fullmatch(re.sub(r"[\s().-]", "", number)):
                    raise ConfigError(source, key, f"must be phone numbers, not {number!r}")
        if f.name in _COMMANDS and value:
            printable = value.isascii() and value.isprintable()
            if not printable or not value[:2].upper() == "AT" or len(value) > MAX_COMMAND_LENGTH:
                raise ConfigError(
                    source, key, f"must be one AT command line (printable ASCII), not {value!r}"
                )
        if f.name in _MODULATION_LISTS and value:
            if len(set(value)) != len(value):
                raise ConfigError(source, key, f"must list each code once, not {list(value)}")
            for code in value:
                if code not in MODULATIONS:
                    raise ConfigError(
                        source,
                        key,
                        f"must be T.31 modulation codes ({', '.join(map(str, MODULATIONS))}), "
                        f"not {code}",
                    )
        if f.name == "device" and prefix.startswith("modem.") and not value:
            raise ConfigError(source, key, "must name the modem's serial port")
        if f.name == "speed" and value not in SPEEDS:
            raise ConfigError(source, key, f"must be one of {SPEEDS}, not {value}")
        if f.name == "dial_prefix" and not set(value) <= set(DIAL_CHARACTERS):
            raise ConfigError(source, key, f"must hold only {DIAL_CHARACTERS!r}, not {value!r}")
        if (
            f.name == "number"
            and value
            and not _DIAL_NUMBER.fullmatch(re.sub(r"[\s().-]", "", value))
        ):
            raise ConfigError(source, key, f"must be a phone number, not {value!r}")
        if f.name == "redundancy" and not 0 <= value <= 16:
            raise ConfigError(source, key, f"must be 0-16 packets, not {value}")
        if f.name == "host" and not value:
            raise ConfigError(source, key, "must name the registrar, proxy or peer")
        if f.name == "listen" and value and listen_address(value) is None:
            raise ConfigError(source, key, f'must be "host:port" or empty, not {value!r}')
        if f.name == "address" and prefix.startswith("email_gateway.") and not _mail_domain(value):
            raise ConfigError(
                source, key, f'must be an address or a domain ("example.com"), not {value!r}'
            )
        if f.name == "account" and not value.strip():
            raise ConfigError(source, key, "must name an OpenFax account")
        if f.name == "metrics_from":
            try:
                metrics_networks(value)
            except ValueError as exc:
                raise ConfigError(source, key, f"{exc} (nor {LOCAL_SOCKET!r})") from None
        if f.name == "tls_key" and (value is None) != (instance.tls_certificate is None):
            missing = "missing" if value is None else "set without tls_certificate"
            raise ConfigError(source, key, f"{missing}: TLS needs a certificate and its key")


_DOMAIN = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
)


def _mail_domain(value: str) -> str:
    """The domain of an allow-list entry (``local@domain`` or ``domain``), "" if it is no
    address or domain."""
    local, at, domain = value.rpartition("@")
    if at and (not local or any(c.isspace() or c in '<>,;"' for c in local)):
        return ""
    return domain if _DOMAIN.fullmatch(domain) else ""


def check_number(source: str, key: str, name: str, value: float) -> None:
    """Refuse a value the numeric key ``name`` cannot take: not finite, negative or 0 where
    it must be more, or beyond its largest (ConfigError naming ``key``)."""
    if not math.isfinite(value):
        raise ConfigError(source, key, f"must be a finite number, not {value}")
    if name in _POSITIVE and value <= 0:
        raise ConfigError(source, key, f"must be greater than 0, not {value}")
    if name in _NON_NEGATIVE and value < 0:
        raise ConfigError(source, key, f"must not be negative, not {value}")
    most = _MOST.get(name)
    if most is not None and value > most:
        raise ConfigError(source, key, f"must be at most {most:,}, not {value:,}")


def listen_address(value: str) -> tuple[str, int] | None:
    """``(host, port)`` from ``"host:port"`` (``"[::1]:4560"`` for IPv6), or None if malformed."""
    host, colon, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        return None
    return host, int(port)
