"""FAXCOMEX ``FaxServer``: the connection to openfaxd and everything reached from it.

Events: ``listen_to_server_events(mask)`` starts one background thread that holds a
WebSocket to the server and calls each handler added with ``add_event_handler`` on that
thread, in the server's order; if the connection drops (the daemon restarts), it reconnects
and resumes after the last event delivered, so none is lost (each handler added with
``add_connection_handler`` hears when the stream is lost and when it is back). ``iter_events``
(blocking) and ``events`` (asyncio) give the same stream to a loop of one's own.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from openfax.client._connection import Connection, NotConnectedError
from openfax.client._records import Collection, Field, Record, VersionNumbers, segment
from openfax.client.accounts import FaxAccount, FaxAccountSet, FaxSecurity, FaxSecurity2
from openfax.client.address_book import AddressBooks
from openfax.client.administration import (
    FaxAuditEntry,
    FaxConfiguration,
    FaxCoverPage,
    FaxDeviceProvider,
    add_cover_page,
    get_audit,
    get_cover_pages,
    get_device_providers,
    get_extension_property,
    set_extension_property,
)
from openfax.client.devices import FaxDevice
from openfax.client.events import POLL_SECONDS, Listener, ServerEvent, call_handlers, decode
from openfax.client.folders import FaxFolders
from openfax.client.options import FaxLoggingOptions, FaxReceipt, FaxReceiptOptions, get_receipts
from openfax.client.outbound_routing import FaxOutboundRouting
from openfax.client.routing import FaxInboundRouting, send_json
from openfax.model import ServerApiVersion, ServerEvents

EventHandler = Callable[["FaxServer", ServerEvent], object]
"""A handler gets the server and the event (``event.name`` is the FAXCOMEX notification)."""
ConnectionHandler = Callable[["FaxServer", BaseException | None], object]
"""A handler gets the server and what broke the event stream (it then reconnects), or None
once the stream is back."""


class FaxActivity(Record):
    """FAXCOMEX ``FaxActivity``: faxes being received, routed, sent, and waiting."""

    incoming_messages = Field[int]()
    routing_messages = Field[int]()
    outgoing_messages = Field[int]()
    queued_messages = Field[int]()

    def __init__(self, server: FaxServer) -> None:
        # The counts are read when first looked at: a script may take the object before it
        # connects and ``refresh()`` it after, as Microsoft's sample does.
        super().__init__(self)
        self._server = server

    def read(self, key: object) -> dict[str, Any]:
        """The counts as the server has them now (the object is its own ``Source``)."""
        counts: dict[str, Any] = self._server._connected.get("/activity")
        return counts

    def refresh(self) -> None:
        """FAXCOMEX ``Refresh()``: read the counts now."""
        self._data = self.read(None)

    def __repr__(self) -> str:
        return f"<FaxActivity {self._fields}>"


class FaxServer(VersionNumbers):
    """FAXCOMEX ``FaxServer``: ``connect("")`` reaches the local openfaxd over its Unix socket
    (``$OPENFAX_SOCKET`` or the default data folder's) as the calling Unix user;
    ``connect("host:port", user=..., password=...)`` or ``connect("host:port", token=...)``
    reaches a remote one over HTTP as that account (``$OPENFAX_USER`` and
    ``$OPENFAX_PASSWORD``, or ``$OPENFAX_TOKEN``, when not given), over HTTPS with
    ``connect("https://host:port", ...)`` or ``tls=True``."""

    def __init__(self) -> None:
        self._connection: Connection | None = None
        self._info: dict[str, Any] = {}
        self._handlers: list[EventHandler] = []
        self._connection_handlers: list[ConnectionHandler] = []
        self._listener: Listener | None = None

    # --- connection -------------------------------------------------------------------------

    def connect(
        self,
        server_name: str = "",
        *,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        tls: bool = False,
        ca_file: str | Path | None = None,
        allow_plain: bool | None = None,
    ) -> None:
        """FAXCOMEX ``Connect``: open the connection (a second connect replaces the first).
        A remote server takes an account's ``user`` and ``password``, or an API ``token``;
        ``tls`` (or an ``https://`` address) speaks TLS, verifying the server against
        ``ca_file`` (``$OPENFAX_CA_FILE``) or the system's trust store. Credentials go in
        clear only to a loopback address, or when ``allow_plain`` (``$OPENFAX_ALLOW_PLAIN=1``)
        says the network is trusted: PlainConnectionError otherwise."""
        if self._connection is not None:
            self.disconnect()
        connection = Connection(
            server_name or "",
            token,
            timeout,
            user=user,
            password=password,
            tls=tls,
            ca_file=ca_file,
            allow_plain=allow_plain,
        )
        try:
            self._info = connection.get("/server")
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    def disconnect(self) -> None:
        """FAXCOMEX ``Disconnect``: stop listening and close; NotConnectedError if not connected."""
        connection = self._connected
        self.listen_to_server_events(ServerEvents.NONE)
        connection.close()
        self._connection = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._connection is not None:
            self.disconnect()

    @property
    def _connected(self) -> Connection:
        if self._connection is None:
            raise _not_connected()
        return self._connection

    # --- properties -------------------------------------------------------------------------

    def _property(self, name: str) -> Any:
        if self._connection is None:
            raise _not_connected()
        return self._info[name]

    @property
    def server_name(self) -> str:
        name: str = self._property("server_name")
        return name

    @property
    def version(self) -> str:
        """``Major.Minor.MajorBuild.MinorBuild`` as the service reports it."""
        version: str = self._property("version")
        return version

    @property
    def api_version(self) -> ServerApiVersion:
        return ServerApiVersion(self._property("api_version"))

    @property
    def folders(self) -> FaxFolders:
        if self._connection is None:
            raise _not_connected()
        return FaxFolders(self)

    @property
    def fax_account_set(self) -> FaxAccountSet:
        """FAXCOMEX ``FaxAccountSet``: the accounts (listing needs far2QUERY_CONFIG, changes
        far2MANAGE_CONFIG)."""
        if self._connection is None:
            raise _not_connected()
        return FaxAccountSet(self)

    @property
    def current_account(self) -> FaxAccount:
        """FAXCOMEX ``CurrentAccount``: the account this connection acts as; its
        ``granted_rights`` are the rights it holds."""
        return FaxAccount(self, self._connected.get("/account"))

    @property
    def security(self) -> FaxSecurity:
        """FAXCOMEX ``Security``: the caller's rights in the older FAX_ACCESS_RIGHTS_ENUM."""
        return FaxSecurity(self)

    @property
    def security2(self) -> FaxSecurity2:
        """FAXCOMEX ``Security2``: the caller's rights, the grants, the account settings."""
        return FaxSecurity2(self)

    @property
    def activity(self) -> FaxActivity:
        """FAXCOMEX ``Activity``: the counts are read when first looked at (NotConnectedError
        then, if the server is not connected)."""
        return FaxActivity(self)

    @property
    def configuration(self) -> FaxConfiguration:
        """FAXCOMEX ``Configuration``: read now; change properties, then ``save()``."""
        return FaxConfiguration(self._connected)

    def get_device_providers(self) -> Collection[FaxDeviceProvider]:
        """FAXCOMEX ``GetDeviceProviders()``: the built-in providers and the registered ones,
        as loaded at the server's last start."""
        return get_device_providers(self._connected)

    def register_device_provider(
        self,
        unique_name: str,
        friendly_name: str,
        image_name: str,
        tsp_name: str = "",
        fspi_version: int = 0x00010000,
    ) -> None:
        """FAXCOMEX ``RegisterDeviceProvider``: ``image_name`` is the provider's entry point
        in the group ``openfax.providers``; it loads at the server's next start."""
        body = {
            "unique_name": unique_name,
            "friendly_name": friendly_name,
            "image_name": image_name,
            "tsp_name": tsp_name,
            "version": fspi_version,
        }
        send_json(self._connected, "POST", "/device-providers", body)

    def unregister_device_provider(self, unique_name: str) -> None:
        """FAXCOMEX ``UnregisterDeviceProvider``: gone at the server's next start."""
        send_json(self._connected, "DELETE", f"/device-providers/{segment(unique_name)}")

    def get_extension_property(self, guid: str) -> bytes:
        """FAXCOMEX ``GetExtensionProperty``: the server-wide blob named by ``guid`` (empty
        when never set); only the plug-in owning the GUID knows what it means."""
        return get_extension_property(self._connected, guid, 0)

    def set_extension_property(self, guid: str, data: bytes) -> None:
        """FAXCOMEX ``SetExtensionProperty``: keep ``data`` under ``guid``; the plug-in
        owning the GUID is told."""
        set_extension_property(self._connected, guid, data, 0)

    def get_cover_pages(self) -> Collection[FaxCoverPage]:
        """The server's cover pages (by 1-based position or name), which a submission picks
        with ``cover_page_type=CoverPageType.SERVER`` and ``cover_page=name``."""
        return get_cover_pages(self._connected)

    def add_cover_page(self, name: str, template: str | Path) -> FaxCoverPage:
        """Upload the template file ``template`` as the server cover page ``name`` (replacing
        one so named); DocumentError if it does not draw."""
        return add_cover_page(self._connected, name, template)

    def remove_cover_page(self, name: str) -> None:
        """Remove a server cover page; faxes already submitted keep theirs."""
        send_json(self._connected, "DELETE", f"/cover-pages/{segment(name)}")

    def get_audit(
        self, since: datetime | None = None, limit: int = 100, *, after: int = 0
    ) -> Collection[FaxAuditEntry]:
        """The audit trail, oldest first: who submitted, viewed, downloaded, cancelled,
        deleted or purged which fax, who changed the configuration; entries at or after
        ``since``, after the entry numbered ``after`` (the last ``seq`` read), ``limit`` at
        most."""
        return get_audit(self._connected, since, limit, after)

    @property
    def inbound_routing(self) -> FaxInboundRouting:
        """FAXCOMEX ``InboundRouting``: routing extensions, methods and deliveries."""
        return FaxInboundRouting(self._connected)

    @property
    def address_book(self) -> AddressBooks:
        """The address books (an OpenFax extension): ``personal`` and ``shared``, their
        contacts and groups, CSV and vCard files."""
        return AddressBooks(self._connected)

    @property
    def outbound_routing(self) -> FaxOutboundRouting:
        """FAXCOMEX ``OutboundRouting``: the groups and rules that choose a fax's line."""
        return FaxOutboundRouting(self._connected)

    @property
    def receipt_options(self) -> FaxReceiptOptions:
        """FAXCOMEX ``ReceiptOptions``: read now; change, then ``save()``."""
        return FaxReceiptOptions(self._connected)

    @property
    def logging_options(self) -> FaxLoggingOptions:
        """FAXCOMEX ``LoggingOptions``: ``activity_logging`` and ``event_logging``."""
        return FaxLoggingOptions(self._connected)

    def get_receipts(self, status: str | None = None, limit: int = 100) -> Collection[FaxReceipt]:
        """The delivery receipts the server queued (``status``: ``pending``, ``done`` or
        ``failed``), the latest change first."""
        return get_receipts(self._connected, status, limit)

    def backup(self, destination: str | Path) -> None:
        """Save a backup of the server's store and archives (an OpenFax extension: a tar
        the server writes while it runs; ``openfax restore`` puts it back) to the file
        ``destination``, created private (0600) if it does not exist. Needs
        far2MANAGE_CONFIG."""
        os.close(os.open(destination, os.O_WRONLY | os.O_CREAT, 0o600))
        self._connected.download("/backup", destination)

    def register_inbound_routing_extension(
        self, extension_name: str, friendly_name: str, image_name: str, methods: list[str]
    ) -> None:
        """FAXCOMEX ``RegisterInboundRoutingExtension``: ``image_name`` is the extension's
        entry point in the group ``openfax.routing_methods``, each method
        ``"Name;FriendlyName;FunctionName;{GUID}"``; it loads at the server's next start."""
        body = {
            "unique_name": extension_name,
            "friendly_name": friendly_name,
            "image_name": image_name,
            "methods": list(methods),
        }
        send_json(self._connected, "POST", "/inbound-routing/extensions", body)

    def unregister_inbound_routing_extension(self, extension_unique_name: str) -> None:
        """FAXCOMEX ``UnregisterInboundRoutingExtension``: gone at the server's next start."""
        path = f"/inbound-routing/extensions/{segment(extension_unique_name)}"
        send_json(self._connected, "DELETE", path)

    def get_devices(self) -> Collection[FaxDevice]:
        """FAXCOMEX ``GetDevices()``: ``devices[1]`` is the first, ``devices["name"]`` by name,
        ``item_by_id(id)`` by id."""
        connection = self._connected
        devices = [FaxDevice(connection, d) for d in connection.get("/devices")]
        return _Devices(devices, key=lambda device: device.device_name)

    # --- events -----------------------------------------------------------------------------

    @property
    def registered_events(self) -> ServerEvents:
        """FAXCOMEX ``RegisteredEvents``: the mask set by ``listen_to_server_events``."""
        return ServerEvents.NONE if self._listener is None else self._listener.mask

    def listen_to_server_events(self, mask: ServerEvents | int) -> None:
        """FAXCOMEX ``ListenToServerEvents(mask)``: replace the subscription (NONE ends it).

        Returns once the server has confirmed it, so no event after this call is missed; a
        new mask resumes after the last event delivered under the old one.
        """
        mask = ServerEvents(mask)
        connection = self._connected
        after = None
        if self._listener is not None:
            after = self._listener.stop()
            self._listener = None
        if mask:
            self._listener = Listener(self, connection, mask, after)
            self._listener.started.wait()
            failure = self._listener.failure
            if failure is not None:
                self._listener = None
                raise failure

    def add_event_handler(self, handler: EventHandler) -> None:
        """Call ``handler(server, event)`` for every event listened to (on the listener thread)."""
        self._handlers.append(handler)

    def remove_event_handler(self, handler: EventHandler) -> None:
        self._handlers.remove(handler)

    def _dispatch(self, event: ServerEvent) -> None:
        call_handlers(self._handlers, self, event, "event handler")

    def add_connection_handler(self, handler: ConnectionHandler) -> None:
        """Call ``handler(server, error)`` when the event stream is lost (``error`` says how;
        the listener reconnects) and ``handler(server, None)`` when it is back; an ``error``
        the server answered a reconnection with (a FaxError other than
        ServerUnavailableError: the account was removed, its token revoked) ends the
        listening. An OpenFax addition: COM has no such notification."""
        self._connection_handlers.append(handler)

    def remove_connection_handler(self, handler: ConnectionHandler) -> None:
        self._connection_handlers.remove(handler)

    def _connection_changed(self, lost: BaseException | None) -> None:
        call_handlers(self._connection_handlers, self, lost, "connection handler")

    @contextmanager
    def iter_events(
        self,
        mask: ServerEvents | int,
        *,
        after: int | None = None,
        deadline: float | None = None,
    ) -> Iterator[Iterator[ServerEvent]]:
        """A blocking stream of events, subscribed when the ``with`` block starts::

            with server.iter_events(ServerEvents.OUT_QUEUE) as events:
                for event in events: ...

        ``after`` resumes after that ``seq``; past ``deadline`` (``time.monotonic()``) the
        stream raises TimeoutError.
        """
        with self._connected.events_socket(int(mask), after) as ws:
            decode(ws.recv())  # the subscription is in place

            def stream() -> Iterator[ServerEvent]:
                while True:
                    wait = POLL_SECONDS
                    if deadline is not None:
                        wait = min(wait, deadline - time.monotonic())
                        if wait <= 0:
                            raise TimeoutError("no final event before the deadline")
                    try:
                        text = ws.recv(timeout=wait)
                    except TimeoutError:
                        continue
                    yield ServerEvent.from_wire(decode(text))

            yield stream()

    async def events(
        self, mask: ServerEvents | int, *, after: int | None = None
    ) -> AsyncIterator[ServerEvent]:
        """The events as an async iterator (``async for event in server.events(mask)``);
        it ends when the server closes the stream."""
        from websockets.exceptions import ConnectionClosed

        async with self._connected.async_events_socket(int(mask), after) as ws:
            decode(await ws.recv())
            while True:
                try:
                    text = await ws.recv()
                except ConnectionClosed:
                    return
                yield ServerEvent.from_wire(decode(text))


def _not_connected() -> NotConnectedError:
    return NotConnectedError("the FaxServer is not connected: call connect() first")


class _Devices(Collection[FaxDevice]):
    def item_by_id(self, device_id: int) -> FaxDevice:
        """FAXCOMEX ``ItemById(id)``."""
        for device in self:
            if device.id == device_id:
                return device
        raise KeyError(device_id)
