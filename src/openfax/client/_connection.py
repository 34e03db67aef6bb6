"""One connection to openfaxd: HTTP/1.1 over the local Unix socket, or TCP (TLS when asked)
with a password or token, WebSockets for events, and errors raised as the classes the service
raised.

HTTP is spoken here on a plain socket, kept alive: the requests the client makes and the
responses uvicorn gives (a length or chunks) need a few lines, and a program's start stays
quick (``http.client`` alone would cost a one-job ``openfax send`` more time than all the
rest it imports). Only the standard library is imported up front.
"""

from __future__ import annotations

import _thread
import json
import os
import select
import socket
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from openfax import errors
from openfax.errors import AccessDeniedError, FaxError
from openfax.paths import SERVICE_SOCKET, SOCKET_NAME, default_data_dir

TYPE_CHECKING = False
"""Not ``typing.TYPE_CHECKING``: a quick start imports no ``typing`` (mypy reads any name
TYPE_CHECKING as true)."""
if TYPE_CHECKING:
    import ssl
    from collections.abc import AsyncIterator, Callable, Iterator, Sequence
    from typing import Any

CHUNK = 1 << 16
"""Bytes read at a time from a response body."""
MAX_LINE = 1 << 16
"""The longest status or header line accepted."""
NO_BODY = frozenset({204, 304})
NO_CREDENTIALS = (
    "no credentials given: set OPENFAX_USER and OPENFAX_PASSWORD, or OPENFAX_TOKEN "
    "(connect()'s user and password, or token)"
)
"""What a remote server's 401 means to a client that sent neither a password nor a token."""

Upload = tuple[str, Path]
"""A file part of a multipart request: its form field, and the file."""


class ServerUnavailableError(FaxError, ConnectionError):
    """The fax server could not be reached (not running, wrong address, connection lost)."""


class NotConnectedError(FaxError):
    """The FaxServer is not connected: call ``connect()`` first."""


class CertificateError(ServerUnavailableError):
    """The server's TLS certificate could not be verified (or the CA file given to verify it
    could not be used): nothing was sent."""


class PlainConnectionError(FaxError):
    """A password or token would have crossed the network in clear: the server is neither
    reached over TLS nor on a loopback address, and plain HTTP was not allowed."""


class _Closed(ConnectionError):
    """The server closed the connection where a response should have been."""


def local_socket() -> Path:
    """``$OPENFAX_SOCKET``, else the socket in the default data folder, else, when that
    holds none and the packaged service's folder (``/run/openfax``) exists, its socket."""
    if os.environ.get("OPENFAX_SOCKET"):
        return Path(os.environ["OPENFAX_SOCKET"])
    own = default_data_dir(os.environ) / SOCKET_NAME
    # The service's folder, not its socket: a user outside its group may not look inside,
    # and should hear that the service's socket refused them.
    if not own.exists() and SERVICE_SOCKET.parent.is_dir():
        return SERVICE_SOCKET
    return own


def error_from(status: int, body: bytes, *, credentials: bool = True) -> FaxError:
    """The exception an error response stands for: its ``class`` from ``openfax.errors`` with
    the message, HRESULT and attributes it carried; FaxError for an unknown class. A 401 to
    a client that gave no ``credentials`` says where they are given."""
    if status == 401 and not credentials:
        return AccessDeniedError(NO_CREDENTIALS)
    try:
        error = json.loads(body)["error"]
        name, hresult, message = error["class"], int(error["hresult"]), str(error["message"])
        details = dict(error.get("details") or {})
    except (ValueError, KeyError, TypeError):
        return FaxError(f"HTTP {status}: {body[:200].decode(errors='replace')}")
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, FaxError)):
        cls, details = FaxError, {}
    # The classes' constructors differ; the message and attributes are already made.
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    for key, value in details.items():
        setattr(exc, key, value)
    if hresult != cls.hresult:
        exc.hresult = hresult
    return exc


class _Http:
    """One HTTP/1.1 connection: a request written whole, a response read by its length, its
    chunks, or to the end of the connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._in = sock.makefile("rb")

    def close(self) -> None:
        self._in.close()
        self.sock.close()

    def exchange(self, request: bytes) -> tuple[int, dict[str, str], bool]:
        """Send ``request``; the response's status, headers (lower-case names) and whether
        the connection ends with it. A server that refuses a request before reading all
        of it (413, 403) answers and closes: the send then fails, and its answer is read."""
        try:
            self.sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError) as exc:
            refused: OSError | None = exc
        else:
            refused = None
        try:
            line = self._in.readline(MAX_LINE)
        except OSError:
            if refused is not None:
                raise refused from None
            raise
        if not line:
            if refused is not None:
                raise refused
            raise _Closed("the server closed the connection")
        version, status_text = line.split(None, 2)[:2]
        status = int(status_text)
        headers: dict[str, str] = {}
        while (line := self._in.readline(MAX_LINE)) not in (b"\r\n", b"\n"):
            if not line:
                raise _Closed("the server closed the connection in a response")
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        closing = headers.get("connection", "").lower() == "close" or version == b"HTTP/1.0"
        if status not in NO_BODY and "content-length" not in headers:
            closing = closing or "chunked" not in headers.get("transfer-encoding", "")
        return status, headers, closing

    def body(self, status: int, headers: dict[str, str], sink: Callable[[bytes], object]) -> None:
        """Pass the response's body to ``sink`` piece by piece."""
        if status in NO_BODY:
            return
        if "chunked" in headers.get("transfer-encoding", ""):
            while size := int(self._in.readline(MAX_LINE).split(b";")[0], 16):
                self._exactly(size, sink)
                self._in.readline(MAX_LINE)
            while self._in.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields
        elif "content-length" in headers:
            self._exactly(int(headers["content-length"]), sink)
        else:
            while chunk := self._in.read(CHUNK):
                sink(chunk)

    def _exactly(self, size: int, sink: Callable[[bytes], object]) -> None:
        while size > 0:
            chunk = self._in.read(min(size, CHUNK))
            if not chunk:
                raise _Closed("the server closed the connection in a response body")
            sink(chunk)
            size -= len(chunk)

    def idle_closed(self) -> bool:
        """Whether the kept connection reads as closed (or has stray bytes) while idle.
        ``poll``, not ``select``: a program holding over 1,024 files has descriptors
        ``select`` cannot take."""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(0))


class _SinkError(Exception):
    """What the receiver of a response body raised (a full disk, say), told apart from a
    failure of the connection."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _Sink:
    """A body receiver whose failures arrive as _SinkError."""

    def __init__(self, sink: Callable[[bytes], object]) -> None:
        self._sink = sink

    def __call__(self, chunk: bytes) -> None:
        try:
            self._sink(chunk)
        except Exception as exc:
            raise _SinkError(exc) from exc


def _credentials(token: str | None, user: str | None, password: str | None) -> dict[str, str]:
    """The Authorization header of a remote connection: an account's name and password
    (Basic), else a token (Bearer); each from the environment when not given
    (``$OPENFAX_USER`` and ``$OPENFAX_PASSWORD``, ``$OPENFAX_TOKEN``)."""
    if token is None and user is None:
        user = os.environ.get("OPENFAX_USER")
    if user:
        import base64

        if password is None:
            password = os.environ.get("OPENFAX_PASSWORD", "")
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    token = token or os.environ.get("OPENFAX_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def _loopback(host: str) -> bool:
    """Whether ``host`` is this machine by its address or name (127.0.0.0/8, ::1, localhost),
    so nothing sent to it crosses a network."""
    if host.lower() == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _client_context(ca_file: str | Path | None) -> ssl.SSLContext:
    """A context verifying the server's certificate and name against ``ca_file`` (PEM), or
    ``$OPENFAX_CA_FILE``, else the system's trust store (``SSL_CERT_FILE`` honoured)."""
    import ssl

    ca_file = ca_file or os.environ.get("OPENFAX_CA_FILE") or None
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise CertificateError(f"cannot use the CA file {ca_file}: {exc}") from None


class Connection:
    """The transport of a connected FaxServer; ``target`` is ``""`` (local) or ``host:port``
    (or a URL, ``https://`` for TLS). One HTTP connection, kept alive and reopened when the
    server closed it; a lock makes requests from several threads take turns on it.

    TLS (``tls`` or an ``https://`` target) verifies the server's certificate against
    ``ca_file`` (``$OPENFAX_CA_FILE``) or the system's trust store. Without it, credentials
    go only to a loopback address unless ``allow_plain`` (``$OPENFAX_ALLOW_PLAIN=1``) says
    the network is trusted: PlainConnectionError is raised before anything is sent."""

    def __init__(
        self,
        target: str,
        token: str | None,
        timeout: float,
        *,
        user: str | None = None,
        password: str | None = None,
        tls: bool = False,
        ca_file: str | Path | None = None,
        allow_plain: bool | None = None,
    ) -> None:
        self.headers: dict[str, str] = {}
        self.socket: Path | None = None
        self._timeout = timeout
        self._address: tuple[str, int] = ("", 0)
        self._context: ssl.SSLContext | None = None
        if target:
            from urllib.parse import urlsplit

            url = urlsplit(
                target if "://" in target else f"{'https' if tls else 'http'}://{target}"
            )
            if url.scheme not in ("http", "https") or (tls and url.scheme == "http"):
                raise ServerUnavailableError(
                    f"{target} is not a fax server's address: host:port, http://host:port "
                    "or https://host:port (http:// with tls=True contradicts itself)"
                )
            self.headers.update(_credentials(token, user, password))
            host = url.hostname or ""
            if allow_plain is None:
                allow_plain = _flag("OPENFAX_ALLOW_PLAIN")
            if url.scheme == "https":
                self._context = _client_context(ca_file)
            elif self.headers and not (allow_plain or _loopback(host)):
                raise PlainConnectionError(_PLAIN_REFUSED.format(host=host, netloc=url.netloc))
            self._address = (host, url.port or (443 if self._context else 80))
            self._host = url.netloc
            self.base_url = f"{url.scheme}://{url.netloc}"
        else:
            self.socket = local_socket()
            self._host = "openfaxd"
            self.base_url = "http://openfaxd"
        self._http: _Http | None = None
        self._lock = _thread.allocate_lock()
        self.request_hooks: list[Callable[[str, str], object]] = []
        """Called with the method and path (``/v1/...``) of every request before it is sent,
        to trace or count what a program asks of the server."""

    def close(self) -> None:
        with self._lock:
            self._drop()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        """Send a request to ``/v1{path}``; the response's body, or the error it stands for."""
        received: list[bytes] = []
        self._exchange(method, path, params, body, headers, received.append)
        return b"".join(received)

    def get(self, path: str, **params: Any) -> Any:
        return json.loads(self.request("GET", path, params=params or None))

    def post(
        self,
        path: str,
        *,
        fields: dict[str, str] | None = None,
        uploads: Sequence[Upload] = (),
        headers: dict[str, str] | None = None,
    ) -> Any:
        """POST a multipart form of ``fields`` and ``uploads`` (or nothing); the JSON answer."""
        body, extra = None, dict(headers or {})
        if fields or uploads:
            body, extra["Content-Type"] = multipart(fields or {}, uploads)
        return json.loads(self.request("POST", path, body=body, headers=extra))

    def patch(self, path: str, changes: dict[str, Any]) -> Any:
        body = json.dumps(changes).encode()
        headers = {"Content-Type": "application/json"}
        return json.loads(self.request("PATCH", path, body=body, headers=headers))

    def download(self, path: str, destination: str | Path) -> None:
        """Stream ``/v1{path}`` into the file ``destination`` (removed again if the server
        answers with an error)."""
        target = Path(destination)
        try:
            with target.open("wb") as out:
                self._exchange("GET", path, None, None, None, out.write)
        except FaxError:
            target.unlink(missing_ok=True)
            raise

    def _exchange(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: bytes | None,
        headers: dict[str, str] | None,
        sink: Callable[[bytes], object],
    ) -> None:
        """One request on the kept connection, its body passed to ``sink`` if it succeeded.
        A kept connection the server closed while idle is reopened, once; an error response
        is raised as its FaxError; any other failure is ServerUnavailableError."""
        for hook in self.request_hooks:
            hook(method, "/v1" + path)
        request = self._request_bytes(method, path, params, body, headers)
        with self._lock:
            reused = self._http is not None
            if self._http is not None and self._http.idle_closed():
                self._drop()
                reused = False
            try:
                try:
                    http = self._connect()
                    status, found, closing = http.exchange(request)
                except (_Closed, ConnectionResetError, BrokenPipeError):
                    if not reused:
                        raise
                    self._drop()
                    http = self._connect()
                    status, found, closing = http.exchange(request)
                failure: list[bytes] = []
                http.body(status, found, failure.append if status >= 400 else _Sink(sink))
            except _SinkError as exc:
                self._drop()
                raise exc.error from None
            except (OSError, ValueError, IndexError) as exc:
                self._drop()
                raise self._unavailable(exc) from exc
            if closing:
                self._drop()
        if status >= 400:
            raise error_from(status, b"".join(failure), credentials=bool(self.headers))

    def _request_bytes(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: bytes | None,
        headers: dict[str, str] | None,
    ) -> bytes:
        target = "/v1" + path
        if params:
            from urllib.parse import urlencode

            target += "?" + urlencode(params)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._host}"]
        lines += [f"{name}: {value}" for name, value in {**self.headers, **(headers or {})}.items()]
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")

    def _connect(self) -> _Http:
        if self._http is None:
            if self.socket is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self._timeout)
                try:
                    sock.connect(str(self.socket))
                except BaseException:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection(self._address, timeout=self._timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self._context is not None:
                    try:
                        sock = self._context.wrap_socket(sock, server_hostname=self._address[0])
                    except BaseException:
                        sock.close()
                        raise
            self._http = _Http(sock)
        return self._http

    def _drop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _unavailable(self, exc: Exception) -> ServerUnavailableError:
        """Say where the server was looked for, and, for the local one, how to start it."""
        if self.socket is None:
            hint = ""
            if isinstance(exc, _Closed) and self._context is None:
                hint = f" (if it speaks TLS, connect to https://{self._host})"
            return _certificate_error(exc, self.base_url) or ServerUnavailableError(
                f"cannot reach the fax server at {self.base_url}: {exc}{hint}"
            )
        if isinstance(exc, PermissionError):
            return ServerUnavailableError(
                f"not allowed to use the local fax server's socket {self.socket}: its owner, "
                "root and the members of its group are (e.g. sudo adduser $USER openfax)"
            )
        return ServerUnavailableError(
            f"cannot reach the local fax server at {self.socket} ({exc}); is openfaxd running? "
            "`make run` or `openfaxd` starts it, and OPENFAX_SOCKET points at another socket"
        )

    @property
    def _tls(self) -> dict[str, Any]:
        """The WebSocket client's TLS argument: this connection's context for ``wss://``."""
        return {} if self._context is None else {"ssl": self._context}

    def _events_uri(self, mask: int, after: int | None, account: str | None = None) -> str:
        from urllib.parse import urlencode

        fields: dict[str, Any] = {"mask": mask}
        if after is not None:
            fields["after"] = after
        if account is not None:
            fields["account"] = account
        query = urlencode(fields)
        base = "ws://openfaxd" if self.socket else self.base_url.replace("http", "ws", 1)  # wss
        return f"{base}/v1/events?{query}"

    @contextmanager
    def events_socket(
        self, mask: int, after: int | None, account: str | None = None
    ) -> Iterator[Any]:
        """A synchronous WebSocket to the event stream (``websockets.sync``), or to one
        account's events (``account``)."""
        from websockets.sync.client import connect, unix_connect

        uri = self._events_uri(mask, after, account)
        try:
            if self.socket:
                ws = unix_connect(str(self.socket), uri, open_timeout=10)
            else:
                ws = connect(uri, additional_headers=self.headers, open_timeout=10, **self._tls)
        except Exception as exc:  # websockets raises several unrelated types here
            raise _handshake_error(exc, self.base_url, bool(self.headers)) from exc
        with ws:
            yield ws

    @asynccontextmanager
    async def async_events_socket(self, mask: int, after: int | None) -> AsyncIterator[Any]:
        """An asyncio WebSocket to the event stream (``websockets.asyncio``)."""
        from websockets.asyncio.client import connect, unix_connect

        uri = self._events_uri(mask, after)
        try:
            if self.socket:
                ws = await unix_connect(str(self.socket), uri, open_timeout=10)
            else:
                ws = await connect(
                    uri, additional_headers=self.headers, open_timeout=10, **self._tls
                )
        except Exception as exc:  # websockets raises several unrelated types here
            raise _handshake_error(exc, self.base_url, bool(self.headers)) from exc
        async with ws:
            yield ws


def multipart(fields: dict[str, str], uploads: Sequence[Upload]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body of text ``fields`` and file ``uploads``, and its
    Content-Type (with the boundary)."""
    boundary = os.urandom(16).hex()
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(_part_head(boundary, name, None) + value.encode())
    for field, path in uploads:
        parts.append(_part_head(boundary, field, path.name) + path.read_bytes())
    body = b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _part_head(boundary: str, name: str, filename: str | None) -> bytes:
    disposition = f'form-data; name="{_quoted(name)}"'
    if filename is not None:
        disposition += f'; filename="{_quoted(filename)}"'
        kind = "Content-Type: application/octet-stream\r\n"
    else:
        kind = ""
    return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n{kind}\r\n".encode()


_FORM_ESCAPES = {'"': "%22", "\\": "\\\\"} | {chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}


def _quoted(value: str) -> str:
    """A quoted header parameter's value as HTML forms write it: quotes and control
    characters percent-escaped, backslashes doubled, everything else as UTF-8."""
    return "".join(_FORM_ESCAPES.get(char, char) for char in value)


def _handshake_error(exc: Exception, base_url: str, credentials: bool) -> FaxError:
    """A refused WebSocket handshake as the error its HTTP response carried (``credentials``:
    whether the client gave any)."""
    from websockets.exceptions import InvalidStatus

    if isinstance(exc, InvalidStatus):
        response = exc.response
        body = bytes(response.body or b"")
        return error_from(response.status_code, body, credentials=credentials)
    return _certificate_error(exc, base_url) or ServerUnavailableError(
        f"cannot reach the fax server's events: {exc}"
    )


def _certificate_error(exc: BaseException, base_url: str) -> CertificateError | None:
    """A failed verification of the server's certificate as the error saying how to trust
    it; None for any other failure."""
    if not base_url.startswith("https:"):
        return None
    import ssl

    if not isinstance(exc, ssl.SSLCertVerificationError):
        return None
    return CertificateError(
        f"the fax server at {base_url} is not trusted: {exc.verify_message}; give the "
        "certificate of the CA that signed its certificate (a self-signed server's own "
        "certificate) as ca_file= or $OPENFAX_CA_FILE"
    )


_PLAIN_REFUSED = (
    "refusing to send a password or token in clear to {host}, which is not this machine: "
    "connect with TLS (https://{netloc}, or tls=True) to a server with [api] tls_certificate, "
    "or allow plain HTTP on a network you trust (allow_plain=True or OPENFAX_ALLOW_PLAIN=1)"
)
