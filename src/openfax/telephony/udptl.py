"""UDPTL, the UDP transport of T.38 (ITU-T T.38 clause 9.1): packets, encoder and receiver.

A UDPTL packet is the ASN.1 PER (aligned) encoding of::

    UDPTLPacket ::= SEQUENCE {
        seq-number          INTEGER (0..65535),          -- two octets
        primary-ifp-packet  OPEN TYPE,                   -- length determinant + octets
        error-recovery      CHOICE {                     -- one octet: 0x00 or 0x80
            secondary-ifp-packets  SEQUENCE OF OPEN TYPE,   -- count, then each, newest first
            fec-info  SEQUENCE {
                fec-npackets  INTEGER,                      -- length octet + value (the span)
                fec-data      SEQUENCE OF OCTET STRING } } } -- count, then each

Length determinants are one octet below 128 and two (``10xxxxxx xxxxxxxx``) below 16384; the
fragmented form is refused, as no T.38 datagram comes near 16 KiB. The layout matches
spandsp's and Asterisk's ``udptl.c``. FEC entry ``m`` of packet ``n`` is the XOR (zero padded
to the longest) of packets ``n - span*entries + m + j*entries`` for ``j`` in ``0..span-1``.

:class:`UdptlEncoder` numbers IFP packets and adds redundancy or FEC within the far end's
T38FaxMaxDatagram; :class:`UdptlReceiver` recovers lost packets from redundancy and FEC,
drops duplicates, reorders, and gives IFP packets out in sequence order. Neither does I/O:
the receiver is given the time and says when it next needs to be woken.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from openfax.errors import MediaPacketError
from openfax.telephony.sdp import UdpErrorCorrection

SEQ_MODULO = 1 << 16
_MAX_LENGTH = 0x3FFF
_HISTORY = 128
"""Packets kept after delivery, for FEC repair of later losses (FEC spans far fewer)."""
_MAX_PENDING = 256
"""Packets held behind a gap at most; beyond this the gap is given up at once."""
MAX_RECOVERY_REACH = 64
"""How far back a packet's secondaries or FEC may reach. Real peers use a few packets
(spandsp and Asterisk keep 16); a datagram claiming more is refused rather than making the
receiver build thousands of groups."""


@dataclass(frozen=True)
class FecInfo:
    """The FEC part of a packet: how many packets each entry covers, and the XOR entries."""

    span: int
    entries: tuple[bytes, ...]


@dataclass(frozen=True)
class UdptlPacket:
    """One UDPTL packet: sequence number, primary IFP, and either secondaries or FEC.

    ``secondary`` holds the IFP packets ``seq_no - 1``, ``seq_no - 2`` ... (newest first).
    """

    seq_no: int
    primary: bytes
    secondary: tuple[bytes, ...] = ()
    fec: FecInfo | None = None

    def to_bytes(self) -> bytes:
        """The packet as it goes in a UDP datagram."""
        if not 0 <= self.seq_no < SEQ_MODULO:
            raise ValueError(f"UDPTL sequence number {self.seq_no} is outside 0..65535")
        out = bytearray(self.seq_no.to_bytes(2, "big"))
        _put_open_type(out, self.primary)
        if self.fec is None:
            out.append(0x00)
            _put_length(out, len(self.secondary))
            for ifp in self.secondary:
                _put_open_type(out, ifp)
        else:
            if not 0 <= self.fec.span <= 255:
                raise ValueError(f"FEC span {self.fec.span} does not fit one octet")
            out += bytes((0x80, 1, self.fec.span))
            _put_length(out, len(self.fec.entries))
            for entry in self.fec.entries:
                _put_open_type(out, entry)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> UdptlPacket:
        """Parse a datagram; anything malformed raises MediaPacketError saying what."""
        reader = _Reader(data)
        seq_no = int.from_bytes(reader.take(2, "sequence number"), "big")
        primary = reader.open_type("primary IFP")
        choice = reader.take(1, "error recovery choice")[0]
        if choice & 0x80:
            size = reader.take(1, "FEC span length")[0]
            if size not in (1, 2):
                raise MediaPacketError(f"UDPTL FEC span of {size} octets (1 or 2 expected)")
            span = int.from_bytes(reader.take(size, "FEC span"), "big")
            count = reader.length("FEC entry count")
            entries = tuple(reader.open_type(f"FEC entry {m}") for m in range(count))
            packet = cls(seq_no, primary, fec=FecInfo(span, entries))
        else:
            count = reader.length("secondary IFP count")
            secondary = tuple(reader.open_type(f"secondary IFP {i}") for i in range(count))
            packet = cls(seq_no, primary, secondary)
        if reader.left:
            raise MediaPacketError(f"UDPTL packet has {reader.left} bytes after its end")
        return packet


class _Reader:
    """Walks a datagram, raising MediaPacketError naming the field that does not fit."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    @property
    def left(self) -> int:
        return len(self.data) - self.position

    def take(self, size: int, what: str) -> bytes:
        if size > self.left:
            raise MediaPacketError(
                f"UDPTL packet too short: {what} needs {size} bytes, {self.left} left"
            )
        piece = self.data[self.position : self.position + size]
        self.position += size
        return piece

    def length(self, what: str) -> int:
        first = self.take(1, what)[0]
        if first & 0x80 == 0:
            return first
        if first & 0x40:
            raise MediaPacketError(f"UDPTL {what}: fragmented length (16 KiB or more) refused")
        return ((first & 0x3F) << 8) | self.take(1, what)[0]

    def open_type(self, what: str) -> bytes:
        return self.take(self.length(f"{what} length"), what)


def _put_length(out: bytearray, value: int) -> None:
    if value < 0x80:
        out.append(value)
    elif value <= _MAX_LENGTH:
        out += bytes((0x80 | (value >> 8), value & 0xFF))
    else:
        raise ValueError(f"UDPTL field of {value} bytes is over 16383")


def _put_open_type(out: bytearray, data: bytes) -> None:
    # X.691 10.1: an empty open type is written as one zero octet.
    payload = data or b"\x00"
    _put_length(out, len(payload))
    out += payload


def _xor(packets: list[bytes]) -> bytes:
    """The XOR of packets, each zero padded to the longest."""
    size = max((len(packet) for packet in packets), default=0)
    value = 0
    for packet in packets:
        value ^= int.from_bytes(packet.ljust(size, b"\x00"), "big")
    return value.to_bytes(size, "big")


def fec_groups(seq_no: int, span: int, entries: int) -> list[list[int]]:
    """The sequence numbers (not wrapped) each FEC entry of packet ``seq_no`` covers."""
    first = seq_no - span * entries
    return [[first + m + j * entries for j in range(span)] for m in range(entries)]


class UdptlEncoder:
    """Wraps outgoing IFP packets into UDPTL packets with redundancy or FEC.

    ``redundancy`` is how many earlier IFP packets each packet repeats; ``fec_span`` and
    ``fec_entries`` shape FEC. ``max_datagram`` is the far end's T38FaxMaxDatagram: the
    oldest repeats are left out, or FEC dropped from a packet, until the datagram fits.
    """

    def __init__(
        self,
        error_correction: UdpErrorCorrection | None = UdpErrorCorrection.REDUNDANCY,
        *,
        redundancy: int = 3,
        fec_span: int = 3,
        fec_entries: int = 3,
        max_datagram: int | None = None,
        first_seq_no: int = 0,
    ) -> None:
        if redundancy < 0 or fec_span < 1 or fec_entries < 1:
            raise ValueError("redundancy must be >= 0, FEC span and entries >= 1")
        if max(redundancy, fec_span * fec_entries) > MAX_RECOVERY_REACH:
            raise ValueError(f"redundancy and FEC may reach back {MAX_RECOVERY_REACH} packets")
        self.error_correction = error_correction
        self.redundancy = redundancy
        self.fec_span = fec_span
        self.fec_entries = fec_entries
        self.max_datagram = max_datagram
        self._sent = 0
        self._first_seq_no = first_seq_no % SEQ_MODULO
        self._history: deque[bytes] = deque(maxlen=max(redundancy, fec_span * fec_entries, 1))

    @property
    def next_seq_no(self) -> int:
        """The sequence number the next packet will carry."""
        return (self._first_seq_no + self._sent) % SEQ_MODULO

    def encode(self, ifp: bytes) -> bytes:
        """The datagram carrying ``ifp`` as the next packet."""
        if not ifp:
            raise MediaPacketError("an IFP packet cannot be empty")
        packet = self._build(ifp)
        data = packet.to_bytes()
        limit = self.max_datagram
        while limit is not None and len(data) > limit and (packet.secondary or packet.fec):
            if packet.fec is not None:
                packet = UdptlPacket(packet.seq_no, ifp, fec=FecInfo(0, ()))
                if len(packet.to_bytes()) > limit:
                    packet = UdptlPacket(packet.seq_no, ifp)
            else:
                packet = UdptlPacket(packet.seq_no, ifp, packet.secondary[:-1])
            data = packet.to_bytes()
        if limit is not None and len(data) > limit:
            raise MediaPacketError(
                f"IFP packet of {len(ifp)} bytes does not fit the far end's "
                f"T38FaxMaxDatagram of {limit}"
            )
        self._history.append(ifp)
        self._sent += 1
        return data

    def _build(self, ifp: bytes) -> UdptlPacket:
        seq_no = self.next_seq_no
        history = list(self._history)
        if self.error_correction is UdpErrorCorrection.FEC:
            # Wind up as spandsp and Asterisk do: no more groups than packets sent so far.
            span = self.fec_span
            entries = min(self.fec_entries, self._sent // span)
            if entries == 0:
                return UdptlPacket(seq_no, ifp, fec=FecInfo(0, ()))
            fec = []
            for group in fec_groups(self._sent, span, entries):
                fec.append(_xor([history[index - self._sent] for index in group]))
            return UdptlPacket(seq_no, ifp, fec=FecInfo(span, tuple(fec)))
        if self.error_correction is UdpErrorCorrection.REDUNDANCY:
            depth = min(self.redundancy, len(history))
            return UdptlPacket(seq_no, ifp, tuple(reversed(history[len(history) - depth :])))
        return UdptlPacket(seq_no, ifp)


@dataclass
class UdptlStatistics:
    """What the receiver saw: packets received, recovered, lost for good, duplicate, late."""

    received: int = 0
    recovered_by_redundancy: int = 0
    recovered_by_fec: int = 0
    lost: int = 0
    duplicates: int = 0
    late: int = 0
    malformed: int = 0


class UdptlReceiver:
    """Turns received UDPTL datagrams back into the IFP packets, in order, each once.

    Lost packets are rebuilt from the redundancy or FEC of later packets. FEC carries no
    lengths: a packet rebuilt from FEC has the length of the longest in its group, zero
    padded when it was shorter (as in spandsp and Asterisk). A gap nothing can
    fill holds later packets for ``reorder_hold`` seconds at most (the packet may come late);
    with the default 0 the gap is given up as soon as a later packet cannot fill it, which
    suits T.38's timing best. ``receive`` and ``handle_timer`` return ``(seq_no, ifp)`` pairs
    ready to hand to the T.38 engine; the gaps given up show as jumps in ``seq_no``.
    """

    def __init__(self, *, reorder_hold: float = 0.0) -> None:
        self.reorder_hold = reorder_hold
        self.statistics = UdptlStatistics()
        self._packets: dict[int, bytes] = {}
        self._fec: list[tuple[list[int], bytes]] = []
        self._next: int | None = None
        self._highest = 0
        self._gap_since: float | None = None

    def receive(self, datagram: bytes, now: float) -> list[tuple[int, bytes]]:
        """Take one datagram; return the IFP packets now deliverable. A malformed datagram
        raises MediaPacketError and changes nothing but the ``malformed`` count."""
        try:
            packet = UdptlPacket.decode(datagram)
        except MediaPacketError:
            self.statistics.malformed += 1
            raise
        span = 0 if packet.fec is None else packet.fec.span
        if packet.fec is not None and span * len(packet.fec.entries) > MAX_RECOVERY_REACH:
            self.statistics.malformed += 1
            raise MediaPacketError(
                f"UDPTL FEC of {len(packet.fec.entries)} entries spanning {span} packets "
                f"reaches further back than {MAX_RECOVERY_REACH}"
            )
        self.statistics.received += 1
        seq = self._extend(packet.seq_no)
        secondary = packet.secondary[:MAX_RECOVERY_REACH]
        if self._next is None:
            self._next = seq - sum(1 for ifp in secondary if ifp)
            self._highest = seq
        floor = self._next
        self._highest = max(self._highest, seq)
        if seq < floor:
            if seq in self._packets:
                self.statistics.duplicates += 1
            else:
                self.statistics.late += 1
            return []
        if seq in self._packets:
            self.statistics.duplicates += 1
        else:
            self._packets[seq] = packet.primary
        for age, ifp in enumerate(secondary, start=1):
            if ifp and seq - age >= floor and seq - age not in self._packets:
                self._packets[seq - age] = ifp
                self.statistics.recovered_by_redundancy += 1
        if packet.fec is not None and span:
            groups = fec_groups(seq, span, len(packet.fec.entries))
            self._fec += zip(groups, packet.fec.entries, strict=True)
            self._repair_with_fec(floor)
        return self._deliver(now)

    def next_timer(self) -> float | None:
        """When :meth:`handle_timer` must be called to give up a gap, or None."""
        if self._gap_since is None:
            return None
        return self._gap_since + self.reorder_hold

    def handle_timer(self, now: float) -> list[tuple[int, bytes]]:
        """Give up gaps held long enough; return the IFP packets that become deliverable."""
        return self._deliver(now)

    def _extend(self, seq_no: int) -> int:
        """The 16-bit sequence number unwrapped near the highest one seen."""
        if self._next is None:
            return seq_no
        diff = (seq_no - self._highest) % SEQ_MODULO
        return self._highest + diff if diff < SEQ_MODULO // 2 else self._highest + diff - SEQ_MODULO

    def _repair_with_fec(self, floor: int) -> None:
        """Rebuild every packet at or after ``floor`` that is the only one missing from an
        FEC group, again until nothing changes (a rebuilt packet may complete another)."""
        repaired = True
        while repaired:
            repaired = False
            kept: list[tuple[list[int], bytes]] = []
            for group, entry in self._fec:
                missing = [seq for seq in group if seq not in self._packets]
                if len(missing) == 1 and missing[0] >= floor:
                    others = [self._packets[seq] for seq in group if seq != missing[0]]
                    self._packets[missing[0]] = _xor([entry, *others])[: len(entry)]
                    self.statistics.recovered_by_fec += 1
                    repaired = True
                elif missing and max(missing) >= floor:
                    kept.append((group, entry))
            self._fec = kept

    def _deliver(self, now: float) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        while self._next is not None:
            while self._next in self._packets:
                out.append((self._next % SEQ_MODULO, self._packets[self._next]))
                self._next += 1
            waiting = [seq for seq in self._packets if seq > self._next]
            if not waiting:
                self._gap_since = None
                break
            if self._gap_since is None:
                self._gap_since = now
            held_long_enough = now >= self._gap_since + self.reorder_hold
            if not held_long_enough and len(waiting) < _MAX_PENDING:
                break
            resume = min(waiting)
            self.statistics.lost += resume - self._next
            self._next = resume
            self._gap_since = None
        self._forget()
        return out

    def _forget(self) -> None:
        if self._next is None:
            return
        horizon = self._next - _HISTORY
        for seq in [seq for seq in self._packets if seq < horizon]:
            del self._packets[seq]
        self._fec = [(group, entry) for group, entry in self._fec if max(group) >= self._next]
