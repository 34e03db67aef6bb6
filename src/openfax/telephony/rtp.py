"""RTP (RFC 3550) with G.711 for fax over audio: packets, codecs, a 20 ms sender and a
fixed-delay jitter buffer.

G.711 mu-law and A-law are computed once into lookup tables with numpy (``audioop`` is gone
from Python 3.13), from the segment rules of ITU-T G.711 as the classic Sun ``g711.c`` states
them. The jitter buffer plays out at a fixed delay, which is what fax modems want: a constant
delay keeps the carrier's phase, where an adaptive one would stretch or squeeze the signal.
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
_MAX_FRAMES = 500
"""Packets waiting for playout at most (10 s of 20 ms packets): more is a flood."""
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
    """What the jitter buffer saw: packets played, late, duplicate or of another payload type,
    samples filled for gaps (and the pops that had to fill some: underruns), changes of
    source, and packets dropped as a flood."""

    received: int = 0
    late: int = 0
    duplicates: int = 0
    other_payload: int = 0
    filled_samples: int = 0
    underruns: int = 0
    resyncs: int = 0
    malformed: int = 0
    overflow: int = 0


class JitterBuffer:
    """A fixed-delay playout buffer for G.711 over RTP, placed by RTP timestamp.

    The first packet is played ``delay`` seconds after it arrived, and every later sample at
    the same offset, whatever the packet sizes; ``pop`` is called every packet time by the
    caller's clock. Packets arriving after their playout time are dropped; a gap is filled
    with silence or, with ``fill="repeat"``, with the last audio played. A new SSRC or a
    timestamp jump beyond ``max_jump`` seconds starts the playout again at the fixed delay.
    Packets of other payload types (telephone events) are counted and left out.
    """

    def __init__(
        self,
        codec: Codec,
        *,
        delay: float = 0.06,
        fill: str = "silence",
        max_jump: float = 2.0,
    ) -> None:
        if fill not in ("silence", "repeat"):
            raise ValueError(f"fill must be 'silence' or 'repeat', not {fill!r}")
        self.codec = codec
        self.delay_samples = round(delay * SAMPLE_RATE)
        self.fill = fill
        self.max_jump_samples = round(max_jump * SAMPLE_RATE)
        self.statistics = JitterStatistics()
        self._ssrc: int | None = None
        self._playout: int | None = None
        self._first_timestamp: int | None = None
        self._frames: dict[int, Pcm] = {}
        self._last: Pcm = np.zeros(SAMPLES_PER_PACKET, dtype=np.int16)

    def put(self, datagram: bytes) -> None:
        """Take one received RTP datagram. A malformed one raises MediaPacketError and only
        counts as ``malformed``."""
        try:
            packet = RtpPacket.decode(datagram)
        except MediaPacketError:
            self.statistics.malformed += 1
            raise
        if packet.payload_type != int(self.codec):
            self.statistics.other_payload += 1
            return
        timestamp = self._extend(packet.timestamp)
        playout = self._playout
        if (
            packet.ssrc != self._ssrc
            or playout is None
            or abs(timestamp - playout) > self.max_jump_samples
        ):
            playout = self._resync(packet.ssrc, packet.timestamp)
            timestamp = packet.timestamp
        self.statistics.received += 1
        if timestamp + len(packet.payload) <= playout:
            self.statistics.late += 1
        elif timestamp in self._frames:
            self.statistics.duplicates += 1
        elif len(self._frames) >= _MAX_FRAMES:
            self.statistics.overflow += 1
        else:
            self._frames[timestamp] = self.codec.decode(packet.payload)

    def pop(self, n_samples: int = SAMPLES_PER_PACKET) -> Pcm:
        """The next ``n_samples`` of audio to play (silence before the first packet)."""
        out = np.zeros(n_samples, dtype=np.int16)
        if self._playout is None:
            return out
        start, end = self._playout, self._playout + n_samples
        covered = np.zeros(n_samples, dtype=bool)
        for timestamp in sorted(self._frames):
            frame = self._frames[timestamp]
            if timestamp + len(frame) <= start:
                del self._frames[timestamp]
                continue
            if timestamp >= end:
                break
            low, high = max(timestamp, start), min(timestamp + len(frame), end)
            out[low - start : high - start] = frame[low - timestamp : high - timestamp]
            covered[low - start : high - start] = True
            if timestamp + len(frame) <= end:
                del self._frames[timestamp]
        gaps = int(np.count_nonzero(~covered))
        if gaps and self._started(start):
            self.statistics.filled_samples += gaps
            self.statistics.underruns += 1
            if self.fill == "repeat":
                out[~covered] = np.resize(self._last, n_samples)[~covered]
        self._last = out.copy()
        self._playout = end
        return out

    def _started(self, position: int) -> bool:
        """True once playout has reached the first packet (the delay before it is no gap)."""
        return self._first_timestamp is not None and position >= self._first_timestamp

    def _resync(self, ssrc: int, timestamp: int) -> int:
        """Start the playout again at the fixed delay before ``timestamp``; return it."""
        if self._ssrc is not None:
            self.statistics.resyncs += 1
        self._ssrc = ssrc
        self._frames.clear()
        self._first_timestamp = timestamp
        self._playout = timestamp - self.delay_samples
        return self._playout

    def _extend(self, timestamp: int) -> int:
        """The 32-bit timestamp unwrapped near the playout position."""
        if self._playout is None:
            return timestamp
        diff = (timestamp - self._playout) % _TIMESTAMP_MODULO
        if diff < _TIMESTAMP_MODULO // 2:
            return self._playout + diff
        return self._playout + diff - _TIMESTAMP_MODULO
