"""A call's media over real UDP sockets: RTP G.711 or UDPTL T.38, bridged to an engine session.

:class:`MediaSession` owns two asyncio datagram endpoints, one for RTP and one for UDPTL
(separate ports, as Asterisk and FreeSWITCH use them, so that late audio never reaches the
T.38 decoder after a switch). It drives the sans-I/O cores of :mod:`.rtp` and :mod:`.udptl`
and one engine session (:class:`~openfax.engine.AudioSession` or
:class:`~openfax.engine.T38Session`). What we send is paced by a media clock of 20 ms
ticks at ``speed`` x real time: every tick the audio session gives 160 samples to send, or
the T.38 session's timers advance and its IFP packets go out. What we receive reaches the
session as it arrives, never on the clock: RTP audio in timestamp order through the
:class:`~openfax.telephony.rtp.JitterBuffer` (which only gives silence on the clock when
the far end sends nothing), UDPTL packets after recovery from redundancy or FEC. So an
event loop late on either side (a catch-up burst of ticks here, a burst of packets from
the far end) delays the signal but never cuts silence into it, which fax modems do not
survive; this is how Asterisk's ``res_fax_spandsp`` and FreeSWITCH's ``mod_spandsp`` run
fax over audio too.

A re-INVITE changes the stream with :meth:`MediaSession.connect`, which takes a *new*
engine session: spandsp keeps T.30 inside its audio (``fax_state_t``) and T.38
(``t38_terminal_state_t``) terminals and cannot move it from one to the other, so the
fax phase starts again on the new stream, as Asterisk's ``res_fax_spandsp`` and
FreeSWITCH's ``mod_spandsp`` do. The switch to T.38 happens before the first page (the
answering side asks at once; a far end's request comes at its V.21 preamble), so nothing
sent is lost; a switch after pages were confirmed would send them again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import cast

from openfax.engine import SAMPLE_RATE, AudioSession, Event, FaxSession, T38Session
from openfax.errors import MediaPacketError, TelephonyError
from openfax.pacing import LinePacer
from openfax.telephony.rtp import SAMPLES_PER_PACKET, Codec, JitterBuffer, RtpSender
from openfax.telephony.sdp import NegotiatedStream, StreamKind
from openfax.telephony.udptl import UdptlEncoder, UdptlReceiver

_logger = logging.getLogger(__name__)

TICK_SECONDS = SAMPLES_PER_PACKET / SAMPLE_RATE
"""The media clock's tick: one 20 ms RTP packet, and the step of the T.38 timers."""

EventSink = Callable[[FaxSession, Event], object]
"""Called on the event loop with each engine event, and the session that reported it."""


@dataclass(frozen=True)
class MediaOptions:
    """How a call's media behaves.

    ``jitter_delay`` is how much later audio (line seconds) a missing RTP packet is waited
    for before it counts as lost; ``max_lag`` how far received audio may trail the media
    clock before silence is given in its place (a far end that sends nothing); ``redundancy``
    the number of earlier IFP packets repeated in each UDPTL packet; ``fec_span`` and
    ``fec_entries`` shape FEC when it was agreed; ``reorder_hold`` how long a UDPTL gap waits
    for a late packet. ``speed`` runs the media clock faster than real time: only for two
    OpenFax ends that both do (tests); a real peer needs 1.0.
    """

    jitter_delay: float = 0.06
    max_lag: float = 2.0
    redundancy: int = 3
    fec_span: int = 3
    fec_entries: int = 3
    reorder_hold: float = 0.0
    speed: float = 1.0

    def __post_init__(self) -> None:
        if min(self.jitter_delay, self.max_lag, self.reorder_hold) < 0:
            raise ValueError("jitter_delay, max_lag and reorder_hold cannot be negative")
        if self.speed <= 0:
            raise ValueError(f"speed must be positive, not {self.speed}")
        UdptlEncoder(
            redundancy=self.redundancy, fec_span=self.fec_span, fec_entries=self.fec_entries
        )


@dataclass
class MediaStatistics:
    """What crossed the sockets of one call (datagrams; the cores keep the finer counts)."""

    sent: int = 0
    received: int = 0
    held: int = 0
    """Datagrams not sent because the far end put the call on hold (RFC 3264 8.4)."""
    rejected: int = 0
    """Datagrams refused as malformed (each logged), or for the stream not in use."""
    send_errors: int = 0
    ticks: int = 0
    """Ticks of the media clock run."""
    catch_up_ticks: int = 0
    """Ticks run in catch-up bursts because the event loop woke the clock late."""
    slipped_ticks: int = 0
    """Ticks given up because the loop fell too far behind (line time slipped)."""
    max_lateness: float = 0.0
    """The latest the loop woke the media clock after a tick was due (seconds)."""


class _Endpoint(asyncio.DatagramProtocol):
    """One bound UDP socket; what arrives goes to its session's handler."""

    def __init__(self, handle: Callable[[bytes], None]) -> None:
        self.handle = handle
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Python 3.11's selector transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.handle(data)

    def error_received(self, exc: Exception) -> None:
        # An ICMP port unreachable from a far end that went away: the call's deadlines end it.
        _logger.debug("media socket error: %s", exc)


async def _bind(
    host: str, ports: range | None, handle: Callable[[bytes], None], *, parity: int
) -> _Endpoint:
    """A datagram endpoint on ``host`` at a free port of ``ports`` (any port when None).

    Ports are tried from a random place in the range, so calls spread over it, keeping to
    those of ``parity``: RTP takes even ports, as its convention asks (RFC 3550 11), UDPTL
    odd ones, so that the sockets of one call never take the even ports other calls need.
    """
    loop = asyncio.get_running_loop()
    candidates: list[int] = [0]
    if ports is not None:
        usable = [port for port in ports if port % 2 == parity]
        start = random.randrange(len(usable)) if usable else 0
        candidates = usable[start:] + usable[:start]
    for port in candidates:
        try:
            _, endpoint = await loop.create_datagram_endpoint(
                lambda: _Endpoint(handle), local_addr=(host, port)
            )
        except OSError:
            continue
        return endpoint
    raise TelephonyError(f"no free UDP port for media on {host} in {ports}")


@dataclass
class _Stream:
    """The stream in use: where it goes and its protocol state."""

    kind: StreamKind
    negotiated: NegotiatedStream
    session: FaxSession
    rtp_sender: RtpSender | None = None
    jitter: JitterBuffer | None = None
    encoder: UdptlEncoder | None = None
    receiver: UdptlReceiver | None = None


class MediaSession:
    """The media of one call: an RTP and a UDPTL socket and the engine session they carry.

    Make it with :meth:`open`, give it a negotiated stream and a session with
    :meth:`connect` (again on a re-INVITE), and await :meth:`run` until the session ends.
    """

    def __init__(
        self,
        address: str,
        audio: _Endpoint,
        t38: _Endpoint,
        options: MediaOptions,
        on_event: EventSink,
        name: str,
    ) -> None:
        self.address = address
        self.options = options
        self.name = name
        self.statistics = MediaStatistics()
        self._audio = audio
        self._t38 = t38
        self._on_event = on_event
        self._stream: _Stream | None = None
        self._changed = asyncio.Event()
        self._closed = False

    @classmethod
    async def open(
        cls,
        address: str,
        ports: range | None = None,
        *,
        options: MediaOptions | None = None,
        on_event: EventSink | None = None,
        name: str = "media",
    ) -> MediaSession:
        """Bind the call's RTP (even port) and UDPTL (odd port) sockets on ``address`` within
        ``ports``."""
        holder: list[MediaSession] = []

        def audio_in(data: bytes) -> None:
            holder[0]._audio_received(data)

        def t38_in(data: bytes) -> None:
            holder[0]._t38_received(data)

        audio = await _bind(address, ports, audio_in, parity=0)
        try:
            t38 = await _bind(address, ports, t38_in, parity=1)
        except TelephonyError:
            assert audio.transport is not None
            audio.transport.close()
            raise
        media = cls(
            address,
            audio,
            t38,
            options or MediaOptions(),
            on_event or (lambda session, event: None),
            name,
        )
        holder.append(media)
        return media

    @property
    def audio_port(self) -> int:
        """The local RTP port, for the SDP."""
        return self._port(self._audio)

    @property
    def t38_port(self) -> int:
        """The local UDPTL port, for the SDP."""
        return self._port(self._t38)

    @property
    def kind(self) -> StreamKind | None:
        """The stream in use, None before the first :meth:`connect`."""
        return None if self._stream is None else self._stream.kind

    @property
    def session(self) -> FaxSession | None:
        """The engine session the media carries now."""
        return None if self._stream is None else self._stream.session

    @property
    def line_seconds(self) -> float:
        """Media clock time since the first :meth:`connect`."""
        return self.statistics.ticks * TICK_SECONDS

    @property
    def udptl_receiver(self) -> UdptlReceiver | None:
        """The UDPTL receiver of the T.38 stream in use (its statistics), if any."""
        return None if self._stream is None else self._stream.receiver

    @property
    def jitter_buffer(self) -> JitterBuffer | None:
        """The jitter buffer of the audio stream in use (its statistics), if any."""
        return None if self._stream is None else self._stream.jitter

    def connect(self, stream: NegotiatedStream, session: FaxSession) -> None:
        """Carry ``session`` over ``stream`` from the next tick, replacing any earlier stream.

        The caller has made ``session`` for the stream's kind (audio or T.38) and closes the
        session it replaces; protocol state (sequence numbers, jitter buffer, UDPTL history)
        starts afresh, as a re-INVITE starts a new media stream. The same session over a
        stream that differs only in where or whether to send (hold and resume, RFC 3264
        8.4) keeps that state. Nothing is sent while :attr:`NegotiatedStream.sends` is
        False (recvonly or inactive for us, or a held address); what comes in is taken.
        """
        remote = (stream.remote_address, stream.remote_port)
        current = self._stream
        if current is not None and current.session is session:
            old = current.negotiated
            moved = replace(
                old,
                remote_address=stream.remote_address,
                remote_port=stream.remote_port,
                direction=stream.direction,
            )
            if moved == stream:
                current.negotiated = stream
                what = "sending" if stream.sends else "on hold, not sending"
                _logger.info(
                    "[%s] media: %s (%s to %s:%d)", self.name, what, stream.direction, *remote
                )
                return
        if stream.kind is StreamKind.AUDIO:
            if not isinstance(session, AudioSession):
                raise TelephonyError("an audio stream carries an AudioSession")
            try:
                codec = Codec[stream.encoding or ""]
            except KeyError:
                raise TelephonyError(f"no G.711 codec called {stream.encoding!r}") from None
            self._stream = _Stream(
                stream.kind,
                stream,
                session,
                rtp_sender=RtpSender(codec),
                jitter=JitterBuffer(
                    codec, delay=self.options.jitter_delay, max_lag=self.options.max_lag
                ),
            )
        else:
            if not isinstance(session, T38Session):
                raise TelephonyError("a T.38 stream carries a T38Session")
            t38 = stream.t38
            assert t38 is not None
            self._stream = _Stream(
                stream.kind,
                stream,
                session,
                encoder=UdptlEncoder(
                    t38.error_correction,
                    redundancy=self.options.redundancy,
                    fec_span=self.options.fec_span,
                    fec_entries=self.options.fec_entries,
                    max_datagram=t38.max_datagram,
                ),
                receiver=UdptlReceiver(reorder_hold=self.options.reorder_hold),
            )
        if stream.kind is StreamKind.AUDIO:
            what = f"G.711 {stream.encoding}"
        else:
            what = f"T.38 with {stream.t38.error_correction if stream.t38 else None}"
        if not stream.sends:
            what += f", on hold ({stream.direction}), not sending"
        _logger.info("[%s] media: %s to %s:%d", self.name, what, *remote)
        self._changed.set()

    async def run(self) -> None:
        """Run the media clock until the session in use is done (or :meth:`close`).

        A :meth:`connect` while running takes effect at the next tick; the loop then waits
        for the new session. Engine events go to ``on_event`` after each tick.
        """
        pacer = LinePacer(self.options.speed, block_seconds=TICK_SECONDS)
        statistics = self.statistics
        while not self._closed:
            stream = self._stream
            if stream is None:
                self._changed.clear()
                await self._changed.wait()
                continue
            if stream.session.done:
                self._flush_events(stream)
                return
            for _ in range(await pacer.next_blocks()):
                if self._closed or self._stream is not stream or stream.session.done:
                    break
                self._tick(stream)
            statistics.catch_up_ticks = pacer.caught_up
            statistics.slipped_ticks = pacer.slipped
            statistics.max_lateness = pacer.max_lateness

    def close(self) -> None:
        """Close both sockets; a running :meth:`run` returns. The session is the caller's.

        The call's media statistics are logged once, for operators and ``bench/sip.py``.
        """
        if not self._closed and self._stream is not None:
            figures = " ".join(f"{key}={value}" for key, value in self.figures().items())
            _logger.info("[%s] media statistics: %s", self.name, figures)
        self._closed = True
        self._changed.set()
        for endpoint in (self._audio, self._t38):
            if endpoint.transport is not None:
                endpoint.transport.close()

    def figures(self) -> dict[str, int | float | str]:
        """The counters of the sockets, the media clock and the stream in use, flat."""
        out: dict[str, int | float | str] = {"kind": self.kind.value if self.kind else "none"}
        for key, value in asdict(self.statistics).items():
            out[key] = round(value, 3) if isinstance(value, float) else value
        stream = self._stream
        if stream is not None and stream.jitter is not None:
            out.update(("jitter_" + k, v) for k, v in asdict(stream.jitter.statistics).items())
        if stream is not None and stream.receiver is not None:
            out.update(("udptl_" + k, v) for k, v in asdict(stream.receiver.statistics).items())
        return out

    # --- the clock ------------------------------------------------------------------------

    def _tick(self, stream: _Stream) -> None:
        self.statistics.ticks += 1
        session = stream.session
        if isinstance(session, AudioSession):
            assert stream.rtp_sender is not None
            assert stream.jitter is not None
            for datagram in stream.rtp_sender.push(session.tx(SAMPLES_PER_PACKET)):
                self._send(self._audio, datagram, stream)
            for pcm in stream.jitter.tick(SAMPLES_PER_PACKET):
                session.rx(pcm.tobytes())
        else:
            assert isinstance(session, T38Session)
            assert stream.encoder is not None
            assert stream.receiver is not None
            receiver = stream.receiver
            timer = receiver.next_timer()
            if timer is not None and timer <= self._now():
                for seq_no, ifp in receiver.handle_timer(self._now()):
                    session.receive(ifp, seq_no)
            session.advance(SAMPLES_PER_PACKET)
            for packet in session.packets_to_send():
                try:
                    datagram = stream.encoder.encode(packet.data)
                except MediaPacketError as exc:
                    _logger.warning("[%s] T.38 packet not sent: %s", self.name, exc)
                    continue
                for _ in range(packet.count):
                    self._send(self._t38, datagram, stream)
        self._flush_events(stream)

    def _flush_events(self, stream: _Stream) -> None:
        for event in stream.session.pop_events():
            self._on_event(stream.session, event)

    def _send(self, endpoint: _Endpoint, datagram: bytes, stream: _Stream) -> None:
        transport = endpoint.transport
        if transport is None or transport.is_closing():
            return
        negotiated = stream.negotiated
        if not negotiated.sends:
            self.statistics.held += 1
            return
        try:
            transport.sendto(datagram, (negotiated.remote_address, negotiated.remote_port))
        except OSError as exc:
            self.statistics.send_errors += 1
            _logger.debug("[%s] media send failed: %s", self.name, exc)
            return
        self.statistics.sent += 1

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    # --- receiving ------------------------------------------------------------------------

    def _audio_received(self, data: bytes) -> None:
        stream = self._stream
        self.statistics.received += 1
        if stream is None or stream.jitter is None:
            self._unexpected("RTP")
            return
        session = stream.session
        assert isinstance(session, AudioSession)
        if session.done:
            return  # the far end sends until its own end: nothing to hear any more
        try:
            audio = stream.jitter.put(data)
        except MediaPacketError as exc:
            self._reject("RTP", exc)
            return
        for pcm in audio:
            session.rx(pcm.tobytes())
        self._flush_events(stream)

    def _t38_received(self, data: bytes) -> None:
        stream = self._stream
        self.statistics.received += 1
        if stream is None or stream.receiver is None:
            self._unexpected("UDPTL")
            return
        try:
            ready = stream.receiver.receive(data, self._now())
        except MediaPacketError as exc:
            self._reject("UDPTL", exc)
            return
        session = stream.session
        assert isinstance(session, T38Session)
        for seq_no, ifp in ready:
            session.receive(ifp, seq_no)

    def _unexpected(self, what: str) -> None:
        self.statistics.rejected += 1
        _logger.debug("[%s] %s datagram dropped: that stream is not in use", self.name, what)

    def _reject(self, what: str, exc: MediaPacketError) -> None:
        self.statistics.rejected += 1
        _logger.info("[%s] %s datagram rejected: %s", self.name, what, exc)

    @staticmethod
    def _port(endpoint: _Endpoint) -> int:
        assert endpoint.transport is not None
        port: int = endpoint.transport.get_extra_info("sockname")[1]
        return port
