"""UDPTL packets, redundancy and FEC recovery, and a real T.38 fax carried over lossy UDPTL."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openfax.engine import CompletionCode, Role, T38Session
from openfax.errors import MediaPacketError
from openfax.telephony.sdp import UdpErrorCorrection
from openfax.telephony.udptl import FecInfo, UdptlEncoder, UdptlPacket, UdptlReceiver
from tests.fax_images import read_pages

MakeTiff = Callable[..., Path]

ifps = st.binary(min_size=1, max_size=300)


def test_packet_layout_matches_t38_per_encoding() -> None:
    # seq 0x0102, primary 2 bytes, redundancy choice, 2 secondaries newest first.
    packet = UdptlPacket(0x0102, b"\x06\x01", (b"\xaa", b"\xbb\xcc"))
    assert packet.to_bytes() == bytes.fromhex("0102 02 0601 00 02 01aa 02bbcc")
    # A 200-byte primary takes the two-octet length determinant 0x80C8.
    long = UdptlPacket(7, bytes(200)).to_bytes()
    assert long[:4] == bytes.fromhex("0007 80c8")
    assert long[204:] == b"\x00\x00"
    # FEC: choice bit, span as a one-octet unconstrained integer, entry count, entries.
    fec = UdptlPacket(1, b"\x01", fec=FecInfo(3, (b"\x10\x20", b"\x30")))
    assert fec.to_bytes() == bytes.fromhex("0001 0101 80 01 03 02 021020 0130")
    for sample in (packet, fec):
        assert UdptlPacket.decode(sample.to_bytes()) == sample


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 65535),
    ifps,
    st.one_of(
        st.tuples(st.lists(ifps, max_size=5), st.none()),
        st.tuples(st.just([]), st.builds(FecInfo, st.integers(0, 255), st.tuples(ifps, ifps))),
    ),
)
def test_any_packet_round_trips(
    seq_no: int, primary: bytes, recovery: tuple[list[bytes], FecInfo | None]
) -> None:
    secondary, fec = recovery
    packet = UdptlPacket(seq_no, primary, tuple(secondary), fec)
    assert UdptlPacket.decode(packet.to_bytes()) == packet


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"\x00", "sequence number needs 2"),
        (bytes.fromhex("0001 05 0102"), "primary IFP needs 5"),
        (bytes.fromhex("0001 01 06"), "error recovery choice"),
        (bytes.fromhex("0001 01 06 00 02 01aa"), "secondary IFP 1 length"),
        (bytes.fromhex("0001 01 06 80 05 00"), "FEC span of 5 octets"),
        (bytes.fromhex("0001 c1 06"), "fragmented"),
        (bytes.fromhex("0001 01 06 00 00 ff"), "1 bytes after its end"),
    ],
)
def test_malformed_packets_say_what_is_wrong(data: bytes, complaint: str) -> None:
    with pytest.raises(MediaPacketError, match=complaint):
        UdptlPacket.decode(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_random_datagrams_raise_only_media_packet_errors(data: bytes) -> None:
    receiver = UdptlReceiver()
    try:
        receiver.receive(data, 0.0)
    except MediaPacketError:
        assert receiver.statistics.malformed == 1


def test_redundancy_is_trimmed_to_the_far_ends_max_datagram() -> None:
    encoder = UdptlEncoder(redundancy=3, max_datagram=40)
    for _ in range(3):
        encoder.encode(bytes(10))
    packet = UdptlPacket.decode(encoder.encode(bytes(10)))
    assert len(packet.secondary) == 2
    assert len(packet.to_bytes()) <= 40
    with pytest.raises(MediaPacketError, match="T38FaxMaxDatagram of 40"):
        encoder.encode(bytes(60))


def _send(encoder: UdptlEncoder, payloads: list[bytes]) -> list[bytes]:
    return [encoder.encode(ifp) for ifp in payloads]


@st.composite
def losses_within(draw: st.DrawFn, count: int, depth: int) -> set[int]:
    """Lost packet indices: runs of at most ``depth``, never the last packet."""
    lost: set[int] = set()
    run = 0
    for index in range(count - 1):
        if run < depth and draw(st.booleans()):
            lost.add(index)
            run += 1
        else:
            run = 0
    return lost


@settings(max_examples=150, deadline=None)
@given(st.data(), st.integers(1, 4), st.integers(0, 65535))
def test_losses_up_to_the_redundancy_depth_lose_nothing(
    data: st.DataObject, depth: int, first_seq_no: int
) -> None:
    payloads = data.draw(st.lists(ifps, min_size=2, max_size=40))
    lost = data.draw(losses_within(len(payloads), depth))
    datagrams = _send(UdptlEncoder(redundancy=depth, first_seq_no=first_seq_no), payloads)
    receiver = UdptlReceiver()
    delivered = []
    for index, datagram in enumerate(datagrams):
        if index not in lost:
            delivered += receiver.receive(datagram, 0.0)
            if data.draw(st.booleans()):
                assert receiver.receive(datagram, 0.0) == []  # a duplicate changes nothing
    expected = [((first_seq_no + i) % 65536, ifp) for i, ifp in enumerate(payloads)]
    first_kept = min(set(range(len(payloads))) - lost)
    # Packets lost before the first one received are recovered from its redundancy only.
    assert delivered == expected[max(0, first_kept - depth) :]
    assert receiver.statistics.lost == 0
    recovered = len(lost) - max(0, first_kept - depth)
    assert receiver.statistics.recovered_by_redundancy == recovered


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_fec_rebuilds_isolated_losses_exactly(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 60))
    payloads = data.draw(
        st.lists(st.binary(min_size=size, max_size=size), min_size=12, max_size=60)
    )
    lost: set[int] = set()
    # From packet 2 on, the next packet's FEC covers each one (packet 1 waits for packet 3:
    # see the test below); packet 0 is never known to exist if it is lost.
    index = data.draw(st.integers(2, 9))
    while index < len(payloads) - 10:
        lost.add(index)
        index += data.draw(st.integers(10, 20))
    encoder = UdptlEncoder(UdpErrorCorrection.FEC, fec_span=3, fec_entries=3)
    receiver = UdptlReceiver()
    delivered = []
    for number, datagram in enumerate(_send(encoder, payloads)):
        if number not in lost:
            delivered += receiver.receive(datagram, 0.0)
    assert [ifp for _, ifp in delivered] == payloads
    assert receiver.statistics.recovered_by_fec == len(lost)


def test_a_reorder_hold_lets_later_fec_rebuild_a_packet() -> None:
    payloads = [bytes([n]) * 4 for n in range(6)]
    datagrams = _send(UdptlEncoder(UdpErrorCorrection.FEC, fec_span=3, fec_entries=1), payloads)
    receiver = UdptlReceiver(reorder_hold=1.0)
    delivered = [item for n, d in enumerate(datagrams) if n != 1 for item in receiver.receive(d, 0)]
    assert [ifp for _, ifp in delivered] == payloads
    assert receiver.statistics.recovered_by_fec == 1


def test_fec_pads_a_rebuilt_shorter_packet_to_its_groups_longest() -> None:
    payloads = [b"\x01\x02\x03", b"\x04", b"\x05\x06", b"\x07", b"\x08"]
    datagrams = _send(UdptlEncoder(UdpErrorCorrection.FEC, fec_span=3, fec_entries=1), payloads)
    receiver = UdptlReceiver(reorder_hold=1.0)
    delivered = [item for n, d in enumerate(datagrams) if n != 1 for item in receiver.receive(d, 0)]
    assert delivered[1] == (1, b"\x04\x00\x00")


def test_reordered_packets_are_held_until_the_gap_fills_or_the_hold_ends() -> None:
    datagrams = _send(UdptlEncoder(None), [bytes([n]) for n in range(6)])
    receiver = UdptlReceiver(reorder_hold=0.1)
    assert receiver.receive(datagrams[0], 0.00) == [(0, b"\x00")]
    assert receiver.receive(datagrams[2], 0.02) == []
    assert receiver.next_timer() == pytest.approx(0.12)
    assert receiver.receive(datagrams[1], 0.03) == [(1, b"\x01"), (2, b"\x02")]
    assert receiver.next_timer() is None
    assert receiver.receive(datagrams[4], 0.05) == []
    assert receiver.handle_timer(0.10) == []
    assert receiver.handle_timer(0.16) == [(4, b"\x04")]
    assert receiver.receive(datagrams[3], 0.17) == []
    assert receiver.receive(datagrams[5], 0.18) == [(5, b"\x05")]
    stats = receiver.statistics
    assert (stats.lost, stats.late, stats.duplicates) == (1, 1, 0)


def test_without_a_hold_a_gap_is_given_up_at_once() -> None:
    datagrams = _send(UdptlEncoder(None), [bytes([n]) for n in range(3)])
    receiver = UdptlReceiver()
    receiver.receive(datagrams[0], 0.0)
    assert receiver.receive(datagrams[2], 0.0) == [(2, b"\x02")]
    assert receiver.statistics.lost == 1


def _fax_over_udptl(
    send_file: Path,
    receive_file: Path,
    correction: UdpErrorCorrection | None,
    loss: float,
    seed: int,
    *,
    paced: bool = True,
) -> tuple[T38Session, T38Session, list[UdptlReceiver]]:
    """A T.38 fax between two engine sessions whose packets cross a lossy UDPTL link."""
    caller = T38Session(Role.CALL, send_file=send_file, paced=paced, name="caller")
    answerer = T38Session(Role.ANSWER, receive_file=receive_file, paced=paced, name="answerer")
    rng = random.Random(seed)
    ends = [
        (caller, UdptlEncoder(correction), UdptlReceiver()),
        (answerer, UdptlEncoder(correction), UdptlReceiver()),
    ]
    clock = 0.0
    while not (caller.done and answerer.done) and clock < 600:
        clock += 0.02
        for (session, encoder, _), (far, _, far_receiver) in zip(ends, ends[::-1], strict=True):
            session.advance(160)
            for packet in session.packets_to_send():
                datagram = encoder.encode(packet.data)
                for _ in range(packet.count):
                    if rng.random() >= loss:
                        for seq_no, ifp in far_receiver.receive(datagram, clock):
                            far.receive(ifp, seq_no)
    return caller, answerer, [receiver for _, _, receiver in ends]


@pytest.mark.parametrize(
    ("correction", "loss"),
    [(UdpErrorCorrection.REDUNDANCY, 0.10), (UdpErrorCorrection.FEC, 0.05)],
)
def test_a_real_t38_fax_completes_over_udptl_with_packet_loss(
    make_tiff: MakeTiff, tmp_path: Path, correction: UdpErrorCorrection, loss: float
) -> None:
    sent = make_tiff(pages=2)
    received = tmp_path / "received.tif"
    caller, answerer, receivers = _fax_over_udptl(sent, received, correction, loss, seed=5)
    assert caller.result is not None
    assert answerer.result is not None
    assert caller.result.code is CompletionCode.OK, caller.result.text
    assert answerer.result.code is CompletionCode.OK, answerer.result.text
    assert answerer.result.pages == 2
    sent_pages, received_pages = read_pages(sent), read_pages(received)
    assert all((a == b).all() for a, b in zip(sent_pages, received_pages, strict=True))
    stats = [receiver.statistics for receiver in receivers]
    recovered = sum(s.recovered_by_redundancy + s.recovered_by_fec for s in stats)
    assert recovered > 0
    assert sum(s.lost for s in stats) == 0
    # spandsp asks for indicator packets to be sent several times: the copies are dropped.
    assert sum(s.duplicates for s in stats) > 0


def test_fec_reaching_further_back_than_the_receiver_keeps_is_refused() -> None:
    receiver = UdptlReceiver()
    flood = UdptlPacket(100, b"\x01", fec=FecInfo(16, tuple(bytes([n]) for n in range(5))))
    with pytest.raises(MediaPacketError, match="reaches further back than 64"):
        receiver.receive(flood.to_bytes(), 0.0)
    assert (receiver.statistics.malformed, receiver.statistics.received) == (1, 0)
    with pytest.raises(ValueError, match="reach back 64"):
        UdptlEncoder(UdpErrorCorrection.FEC, fec_span=9, fec_entries=8)
