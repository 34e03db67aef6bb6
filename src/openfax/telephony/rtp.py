"""RTP (RFC 3550) with G.711 for fax over audio: packets, codecs, a 20 ms sender and a
jitter buffer driven by arrival.

G.711 mu-law and A-law are computed once into lookup tables with numpy (``audioop`` is gone
from Python 3.13), from the segment rules of ITU-T G.711 as the classic Sun ``g711.c`` states
them. The jitter buffer has no playout clock: it gives received audio to the modem in order
as it arrives, waiting a fixed window of later audio for a missing packet, so neither a
late far end nor a late event loop ever inserts silence into the modem's signal.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openfax.errors import MediaPacketError

SAMPLE_RATE = 8000
SAMPLES_PER_PACKET = 160
"""20 ms of G.711 at 8 kHz: the packet size of fax over RTP (RFC 3551 default ptime)."""

_RTP_VERSION = 2
_TIMESTAMP_MODULO = 1 << 32
_SEQ_MODULO = 1 << 16

Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True)
class RtpPacket:
    """One RTP packet (RFC 3550 5.1); padding is removed when decoding and never written."""

    payload_type: int
    seq_no: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: tuple[int, bytes] | None = None
    """The header extension's profile number and data (a multiple of 4 bytes)."""

    def to_bytes(self) -> bytes:
        """The packet as it goes in a UDP datagram."""
        if not 0 <= self.payload_type < 128:
            raise ValueError(f"RTP payload type {self.payload_type} is outside 0..127")
        if len(self.csrcs) > 15:
            raise ValueError("an RTP packet carries at most 15 CSRCs")
        first = (_RTP_VERSION << 6) | (0x10 if self.extension else 0) | len(self.csrcs)
        header = bytearray((first, (0x80 if self.marker else 0) | self.payload_type))
        header += (self.seq_no % _SEQ_MODULO).to_bytes(2, "big")
        header += (self.timestamp % _TIMESTAMP_MODULO).to_bytes(4, "big")
        header += self.ssrc.to_bytes(4, "big")
        for csrc in self.csrcs:
            header += csrc.to_bytes(4, "big")
        if self.extension is not None:
            profile, data = self.extension
            if len(data) % 4:
                raise ValueError("an RTP header extension is a whole number of 32-bit words")
            header += profile.to_bytes(2, "big") + (len(data) // 4).to_bytes(2, "big") + data
        return bytes(header) + self.payload

    @classmethod
    def decode(cls, data: bytes) -> RtpPacket:
        """Parse a datagram; anything malformed raises MediaPacketError saying what."""
        if len(data) < 12:
            raise MediaPacketError(f"RTP packet of {len(data)} bytes is shorter than its header")
        version = data[0] >> 6
        if version != _RTP_VERSION:
            raise MediaPacketError(f"RTP version {version} (2 expected)")
        end = len(data)
        if data[0] & 0x20:
            padding = data[-1]
            if padding == 0 or padding > end - 12:
                raise MediaPacketError(f"RTP padding of {padding} bytes does not fit the packet")
            end -= padding
        position = 12
        count = data[0] & 0x0F
        if position + 4 * count > end:
            raise MediaPacketError(f"RTP packet too short for its {count} CSRCs")
        csrcs = tuple(
            int.from_bytes(data[position + 4 * i : position + 4 * i + 4], "big")
            for i in range(count)
        )
        position += 4 * count
        extension = None
        if data[0] & 0x10:
            if position + 4 > end:
                raise MediaPacketError("RTP packet too short for its header extension")
            profile = int.from_bytes(data[position : position + 2], "big")
            size = 4 * int.from_bytes(data[position + 2 : position + 4], "big")
            if position + 4 + size > end:
                raise MediaPacketError(f"RTP header extension of {size} bytes overruns the packet")
            extension = (profile, bytes(data[position + 4 : position + 4 + size]))
            position += 4 + size
        return cls(
            payload_type=data[1] & 0x7F,
            seq_no=int.from_bytes(data[2:4], "big"),
            timestamp=int.from_bytes(data[4:8], "big"),
            ssrc=int.from_bytes(data[8:12], "big"),
            payload=bytes(data[position:end]),
            marker=bool(data[1] & 0x80),
            csrcs=csrcs,
            extension=extension,
        )


# --- G.711 ----------------------------------------------------------------------------------


def _ulaw_decode_table() -> Pcm:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((codes & 0x0F) << 3) + 0x84) << ((codes & 0x70) >> 4)
    return np.where(codes & 0x80, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


def _alaw_decode_table() -> Pcm:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (codes & 0x70) >> 4
    mantissa = (codes & 0x0F) << 4
    magnitude = np.where(
        segment == 0, mantissa + 8, (mantissa + 0x108) << np.maximum(segment - 1, 0)
    )
    return np.where(codes & 0x80, magnitude, -magnitude).astype(np.int16)


_ULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(pcm), 8159) + (0x84 >> 2)
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, magnitude)
    code = (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    return ((np.where(segment >= 8, 0x7F, code) ^ mask) & 0xFF).astype(np.uint8)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    magnitude = np.where(pcm >= 0, pcm, -pcm - 1)
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, magnitude)
    shift = np.where(segment < 2, 1, segment)
    code = (segment << 4) | ((magnitude >> shift) & 0x0F)
    return ((np.where(segment >= 8, 0x7F, code) ^ mask) & 0xFF).astype(np.uint8)


class Codec(enum.IntEnum):
    """The G.711 codecs, valued by their static RTP payload type (RFC 3551)."""

    PCMU = 0
    PCMA = 8

    def encode(self, pcm: Pcm) -> bytes:
        """16-bit linear samples to G.711 bytes, one per sample."""
        table = _ULAW_ENCODE if self is Codec.PCMU else _ALAW_ENCODE
        return table[np.asarray(pcm, dtype=np.int16).astype(np.int32) + 32768].tobytes()

    def decode(self, data: bytes) -> Pcm:
        """G.711 bytes to 16-bit linear samples."""
        table = _ULAW_DECODE if self is Codec.PCMU else _ALAW_DECODE
        return table[np.frombuffer(data, dtype=np.uint8)]

    @property
    def silence(self) -> int:
        """The code of a zero sample."""
        return 0xFF if self is Codec.PCMU else 0xD5


_ULAW_DECODE = _ulaw_decode_table()
_ALAW_DECODE = _alaw_decode_table()
_ULAW_ENCODE = _ulaw_encode_table()
_ALAW_ENCODE = _alaw_encode_table()


# --- Sending and receiving audio ------------------------------------------------------------


def random_ssrc() -> int:
    """A random SSRC, as RFC 3550 8.1 asks."""
    return secrets.randbits(32)


class RtpSender:
    """Cuts 16-bit audio into G.711 RTP packets of ``samples_per_packet`` samples.

    Sequence number and timestamp start where the caller says (random by RFC 3550 5.1, the
    defaults draw them); the first packet carries the marker bit (start of talkspurt).
    Samples short of a whole packet wait for the next ``push``.
    """

    def __init__(
        self,
        codec: Codec,
        ssrc: int | None = None,
        *,
        seq_no: int | None = None,
        timestamp: int | None = None,
        samples_per_packet: int = SAMPLES_PER_PACKET,
    ) -> None:
        self.codec = codec
        self.ssrc = random_ssrc() if ssrc is None else ssrc
        self.seq_no = secrets.randbits(16) if seq_no is None else seq_no % _SEQ_MODULO
        self.timestamp = secrets.randbits(32) if timestamp is None else timestamp
        self.samples_per_packet = samples_per_packet
        self._pending: Pcm = np.zeros(0, dtype=np.int16)
        self._first = True

    def push(self, pcm: Pcm | bytes) -> list[bytes]:
        """Add audio (an int16 array, or native-endian int16 bytes as the engine gives);
        return the datagrams of every whole packet now ready."""
        samples = np.frombuffer(pcm, dtype=np.int16) if isinstance(pcm, bytes) else pcm
        self._pending = np.concatenate((self._pending, samples.astype(np.int16, copy=False)))
        datagrams = []
        size = self.samples_per_packet
        while len(self._pending) >= size:
            frame, self._pending = self._pending[:size], self._pending[size:]
            packet = RtpPacket(
                payload_type=int(self.codec),
                seq_no=self.seq_no,
                timestamp=self.timestamp,
                ssrc=self.ssrc,
                payload=self.codec.encode(frame),
                marker=self._first,
            )
            datagrams.append(packet.to_bytes())
            self._first = False
            self.seq_no = (self.seq_no + 1) % _SEQ_MODULO
            self.timestamp = (self.timestamp + size) % _TIMESTAMP_MODULO
        return datagrams


@dataclass
class JitterStatistics:
    """What the jitter buffer saw: packets received, late, duplicate or of another payload
    type; gaps concealed (audio proven lost) and their samples; silence fed on the clock
    (before the first packet, and while the far end sent nothing); changes of source; and
    packets refused as a flood."""

    received: int = 0
    late: int = 0
    duplicates: int = 0
    other_payload: int = 0
    gaps: int = 0
    concealed_samples: int = 0
    silence_samples: int = 0
    resyncs: int = 0
    malformed: int = 0
    overflow: int = 0


class JitterBuffer:
    """Received G.711 audio put back in RTP timestamp order for a fax modem, without a
    playout clock.

    Fax modems do not survive inserted silence, and a playout clock inserts it whenever
    packets come later than its fixed delay: a far end's event loop late by 100 ms, or our
    own loop catching up on ticks. So audio goes to the modem as soon as it is in order:
    ``put`` returns it, however late or bursty the packets are. A missing packet is waited
    for until ``delay`` seconds of later audio have arrived (a reorder window counted in
    audio, not in time, so a late loop never shortens it); then it is lost, and its place
    is filled with silence or, with ``fill="repeat"``, the last audio given. The time the
    modem sees is the far end's, as with Asterisk's and FreeSWITCH's fax over audio.

    ``tick`` is called with the caller's clock every packet time: before the first packet,
    and while the audio given trails that clock by more than ``max_lag`` seconds (a far end
    that sends nothing, or stopped), it returns silence to give the modem, so the T.30
    timers run on. That silence stands for the far end's next gap (silence suppression
    resuming with a timestamp jump), which is then neither waited for nor filled: the
    modem's time never jumps ahead. A new SSRC or a timestamp jump beyond ``max_jump``
    seconds starts the sequence again at that packet. Far-end audio more than
    ``max_ahead`` seconds ahead of the clock is refused as a flood, so a peer cannot make
    us decode much faster than real time. Packets of other payload types (telephone
    events, comfort noise) are counted and left out.
    """

    def __init__(
        self,
        codec: Codec,
        *,
        delay: float = 0.06,
        fill: str = "silence",
        max_lag: float = 2.0,
        max_jump: float = 2.0,
        max_ahead: float = 10.0,
    ) -> None:
        if fill not in ("silence", "repeat"):
            raise ValueError(f"fill must be 'silence' or 'repeat', not {fill!r}")
        if delay < 0 or max_lag < 0:
            raise ValueError("delay and max_lag cannot be negative")
        self.codec = codec
        self.delay_samples = round(delay * SAMPLE_RATE)
        self.fill = fill
        self.max_lag_samples = round(max_lag * SAMPLE_RATE)
        self.max_jump_samples = round(max_jump * SAMPLE_RATE)
        self.max_ahead_samples = round(max_ahead * SAMPLE_RATE)
        self.statistics = JitterStatistics()
        self._ssrc: int | None = None
        self._next: int | None = None
        """The timestamp (unwrapped) of the next sample to give; None before any packet."""
        self._frames: dict[int, Pcm] = {}
        self._held = 0
        self._clock = 0
        self._given = 0
        """Samples given to the modem: audio, concealment and silence on the clock."""
        self._heard = 0
        """Samples of the far end's time given: audio and concealment."""
        self._covered = False
        """Silence was given on the clock since the last audio: it stands for the next gap."""
        self._last: Pcm = np.zeros(SAMPLES_PER_PACKET, dtype=np.int16)

    @property
    def lag(self) -> float:
        """How far (seconds) the audio given trails the caller's clock; negative when ahead."""
        return (self._clock - self._given) / SAMPLE_RATE

    def put(self, datagram: bytes) -> list[Pcm]:
        """Take one received RTP datagram; return the audio now in order, oldest first (gaps
        proven lost come filled). A malformed datagram raises MediaPacketError and only
        counts as ``malformed``."""
        try:
            packet = RtpPacket.decode(datagram)
        except MediaPacketError:
            self.statistics.malformed += 1
            raise
        if packet.payload_type != int(self.codec):
            self.statistics.other_payload += 1
            return []
        timestamp = self._extend(packet.timestamp)
        if (
            packet.ssrc != self._ssrc
            or self._next is None
            or abs(timestamp - self._next) > self.max_jump_samples
        ):
            timestamp = self._resync(packet.ssrc, packet.timestamp)
        self.statistics.received += 1
        assert self._next is not None
        frame = self.codec.decode(packet.payload)
        if timestamp + len(frame) <= self._next:
            self.statistics.late += 1
            return []
        if timestamp in self._frames:
            self.statistics.duplicates += 1
            return []
        if self._heard + self._held - self._clock > self.max_ahead_samples:
            self.statistics.overflow += 1
            return []
        self._frames[timestamp] = frame
        self._held += len(frame)
        return self._release(force=False)

    def tick(self, n_samples: int = SAMPLES_PER_PACKET) -> list[Pcm]:
        """The caller's clock moved ``n_samples``: the silence (and any audio held behind a
        gap given up) the modem needs now so that its time keeps up, usually nothing."""
        self._clock += n_samples
        if self._next is None:
            return [self._silence(n_samples)]
        if self._clock - self._given <= self.max_lag_samples:
            return []
        out = self._release(force=True)
        missing = self._clock - self._given - self.max_lag_samples
        if missing > 0:
            out.append(self._silence(missing))
            self._covered = True
        return out

    def _silence(self, n_samples: int) -> Pcm:
        self.statistics.silence_samples += n_samples
        self._given += n_samples
        return np.zeros(n_samples, dtype=np.int16)

    def _release(self, *, force: bool) -> list[Pcm]:
        """The audio in order from ``_next``: a gap is filled once ``delay`` of later audio
        waits behind it, or at once when ``force``; after silence on the clock it is
        skipped at once (the silence stood for it)."""
        out: list[Pcm] = []
        assert self._next is not None
        while self._frames:
            first = min(self._frames)
            if first > self._next:
                if self._covered:
                    self._next = first
                elif force or self._held >= self.delay_samples:
                    out.append(self._conceal(first - self._next))
                else:
                    break
            frame = self._frames.pop(first)
            self._held -= len(frame)
            frame = frame[self._next - first :]  # less any part that overlaps what was given
            if len(frame):
                out.append(frame)
                self._next += len(frame)
                self._given += len(frame)
                self._heard += len(frame)
                self._covered = False
                self._last = frame
        return out

    def _conceal(self, gap: int) -> Pcm:
        """Fill a gap of ``gap`` samples: audio proven lost."""
        assert self._next is not None
        self._next += gap
        self.statistics.gaps += 1
        self.statistics.concealed_samples += gap
        self._given += gap
        self._heard += gap
        if self.fill == "repeat":
            return np.resize(self._last, gap)
        return np.zeros(gap, dtype=np.int16)

    def _resync(self, ssrc: int, timestamp: int) -> int:
        """Start the sequence again at ``timestamp`` (a new source or a jump); return it."""
        if self._ssrc is not None:
            self.statistics.resyncs += 1
        self._ssrc = ssrc
        self._frames.clear()
        self._held = 0
        self._next = timestamp
        return timestamp

    def _extend(self, timestamp: int) -> int:
        """The 32-bit timestamp unwrapped near the next one to give."""
        if self._next is None:
            return timestamp
        diff = (timestamp - self._next) % _TIMESTAMP_MODULO
        if diff < _TIMESTAMP_MODULO // 2:
            return self._next + diff
        return self._next + diff - _TIMESTAMP_MODULO
