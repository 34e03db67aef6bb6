"""The SIP transaction layer on asyncio: the sans-I/O transactions of
:mod:`~openfax.telephony.sip.transaction` driven by a :class:`SipTransport` and the loop's
clock.

Received messages are matched to their transaction (RFC 3261 17.1.3, 17.2.3); a request
that matches none starts a server transaction and goes to the user, as do the messages no
transaction takes (the ACK of a 2xx, a 2xx retransmitted after its transaction ended). Each
transaction's next timer is one ``loop.call_at``; whatever the machines return is sent.
Timeouts and transport errors end a client transaction with a response made here (408,
503) flagged ``local``, as RFC 3261 8.1.3.1 asks the user to treat them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from openfax.errors import SipTransactionError
from openfax.telephony.sip.message import Message, Request, Response, response_to
from openfax.telephony.sip.transaction import (
    AckReceived,
    ClientInviteTransaction,
    ClientTransaction,
    Event,
    ResponseReceived,
    ServerInviteTransaction,
    ServerTransaction,
    State,
    Terminated,
    Timeout,
    TimerValues,
    Transmit,
    client_key,
    client_transaction,
    server_key,
    server_transaction,
)
from openfax.telephony.sip.transport import Peer, SipTransport

log = logging.getLogger(__name__)

ResponseHandler = Callable[[Response], None]


@dataclass(eq=False)
class ClientRequest:
    """A request sent in a client transaction. ``on_response`` sees every response passed
    up (provisional ones, the final one, 2xx retransmissions of an INVITE); ``final`` is the
    first final response. ``local`` is set when that response was made here: ``"timeout"``
    or the transport error."""

    request: Request
    peer: Peer
    transaction: ClientInviteTransaction | ClientTransaction
    final: asyncio.Future[Response]
    on_response: ResponseHandler | None = None
    local: str | None = None
    handle: asyncio.TimerHandle | None = field(default=None, repr=False)

    @property
    def provisional_received(self) -> bool:
        """True once a response came from the peer: a CANCEL may then be sent (RFC 3261 9.1)."""
        return self.transaction.state not in (State.CALLING, State.TRYING) and self.local is None


@dataclass(eq=False)
class ServerRequest:
    """A request received in a server transaction; answer it with :meth:`respond`."""

    request: Request
    peer: Peer
    transaction: ServerInviteTransaction | ServerTransaction
    endpoint: SipEndpoint = field(repr=False)
    handle: asyncio.TimerHandle | None = field(default=None, repr=False)

    @property
    def answered(self) -> bool:
        """True once a final response was sent."""
        last = self.transaction.last_response
        return last is not None and last.status >= 200

    def respond(self, response: Response) -> None:
        """Send a response in the transaction (ignored, and logged, once it cannot take one:
        a CANCEL or a timeout ended it first)."""
        try:
            events = self.transaction.respond(response, self.endpoint.now())
        except SipTransactionError as error:
            log.info("SIP not sending %d for %s: %s", response.status, self.request.call_id, error)
            return
        self.endpoint._run(self, events)


RequestHandler = Callable[[ServerRequest], None]
StrayHandler = Callable[[Message, Peer], None]


class SipEndpoint:
    """Transactions over a transport. ``on_request`` receives each new request in its server
    transaction (the INVITE after the 100 Trying was sent); ``on_stray`` receives what no
    transaction takes: ACKs of 2xx responses and responses without a transaction."""

    def __init__(
        self,
        transport: SipTransport,
        *,
        on_request: RequestHandler,
        on_stray: StrayHandler,
        timers: TimerValues | None = None,
    ) -> None:
        self.transport = transport
        self.on_request = on_request
        self.on_stray = on_stray
        self.timers = timers or TimerValues()
        self._clients: dict[tuple[str, str], ClientRequest] = {}
        self._servers: dict[tuple[str, str, str], ServerRequest] = {}
        transport.on_message = self.receive
        transport.on_error = self._transport_error

    @staticmethod
    def now() -> float:
        """The loop's clock, which every transaction runs on."""
        return asyncio.get_running_loop().time()

    def request(
        self, request: Request, peer: Peer, on_response: ResponseHandler | None = None
    ) -> ClientRequest:
        """Send a request in a new client transaction to ``peer`` (an address)."""
        transaction = client_transaction(request, reliable=peer.reliable, timers=self.timers)
        final: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        client = ClientRequest(request, peer, transaction, final, on_response)
        self._clients[(request.top_via.branch or "", request.method)] = client
        self._run(client, transaction.start(self.now()))
        return client

    def send(self, message: Message, peer: Peer) -> None:
        """Send outside any transaction: the ACK of a 2xx, a 2xx retransmission."""
        self.transport.send(message, peer)

    def receive(self, message: Message, peer: Peer) -> None:
        """A message from the transport: to its transaction, or a new one, or the user."""
        now = self.now()
        if isinstance(message, Response):
            client = self._clients.get(client_key(message))
            if client is None:
                self.on_stray(message, peer)
            else:
                self._run(client, client.transaction.receive(message, now))
            return
        key = server_key(message)
        server = self._servers.get(key)
        if server is not None:
            self._run(server, server.transaction.receive(message, now))
            return
        if message.method == "ACK":
            self.on_stray(message, peer)
            return
        transaction = server_transaction(message, reliable=peer.reliable, timers=self.timers)
        server = ServerRequest(message, peer, transaction, self)
        self._servers[key] = server
        if isinstance(transaction, ServerInviteTransaction):
            self._run(server, transaction.start(now))
        self.on_request(server)

    def abandon(self, client: ClientRequest) -> None:
        """Stop waiting for the final response to a cancelled INVITE (RFC 3261 9.1): the
        transaction ends and ``final`` becomes a local 408."""
        if isinstance(client.transaction, ClientInviteTransaction):
            self._run(client, client.transaction.abandon())
        self._forget(client)
        self._fail(client, "abandoned", 408, "Request Timeout")

    def invite_server(self, cancel: Request) -> ServerRequest | None:
        """The INVITE server transaction a received CANCEL targets (RFC 3261 9.2)."""
        branch, sent_by, _ = server_key(cancel)
        return self._servers.get((branch, sent_by, "INVITE"))

    def close(self) -> None:
        """Stop every timer; the transactions are forgotten."""
        entries: list[ClientRequest | ServerRequest] = [*self._clients.values()]
        entries += self._servers.values()
        for entry in entries:
            if entry.handle is not None:
                entry.handle.cancel()
            if isinstance(entry, ClientRequest) and not entry.final.done():
                entry.final.cancel()
        self._clients.clear()
        self._servers.clear()

    def _run(self, entry: ClientRequest | ServerRequest, events: list[Event]) -> None:
        """Carry out a transaction's events, then arm its next timer."""
        for event in events:
            if isinstance(event, Transmit):
                self.transport.send(event.message, entry.peer)
            elif isinstance(event, ResponseReceived) and isinstance(entry, ClientRequest):
                self._pass_up(entry, event.response)
            elif isinstance(event, AckReceived):
                self.on_stray(event.request, entry.peer)
            elif isinstance(event, Timeout) and isinstance(entry, ClientRequest):
                log.info(
                    "SIP %s (Call-ID %s) to %s timed out (timer %s)",
                    entry.request.method,
                    entry.request.call_id,
                    entry.peer,
                    event.timer,
                )
                self._fail(entry, "timeout", 408, "Request Timeout")
            elif isinstance(event, Terminated):
                self._forget(entry)
        if entry.handle is not None:
            entry.handle.cancel()
            entry.handle = None
        deadline = entry.transaction.next_timer()
        if deadline is not None and not entry.transaction.terminated:
            entry.handle = asyncio.get_running_loop().call_at(deadline, self._fire, entry)

    def _fire(self, entry: ClientRequest | ServerRequest) -> None:
        entry.handle = None
        self._run(entry, entry.transaction.handle_timer(self.now()))

    def _pass_up(self, client: ClientRequest, response: Response) -> None:
        if response.status >= 200 and not client.final.done():
            client.final.set_result(response)
        if client.on_response is not None:
            client.on_response(response)

    def _fail(self, client: ClientRequest, why: str, status: int, reason: str) -> None:
        if client.final.done():
            return
        client.local = why
        self._pass_up(client, response_to(client.request, status, reason))

    def _forget(self, entry: ClientRequest | ServerRequest) -> None:
        if isinstance(entry, ClientRequest):
            key_c = (entry.request.top_via.branch or "", entry.request.method)
            if self._clients.get(key_c) is entry:
                del self._clients[key_c]
        else:
            key_s = server_key(entry.request)
            if self._servers.get(key_s) is entry:
                del self._servers[key_s]

    def _transport_error(self, peer: Peer, reason: str) -> None:
        for client in list(self._clients.values()):
            if client.peer == peer and not client.final.done():
                if client.handle is not None:
                    client.handle.cancel()
                self._forget(client)
                self._fail(client, f"transport error: {reason}", 503, "Service Unavailable")
