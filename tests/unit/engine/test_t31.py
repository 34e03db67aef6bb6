"""The T.31 modem on its own: AT bytes in, responses and events out, no pty and no clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openfax.engine.t31 import (
    AT_RX_PIECE,
    Answer,
    CallEvent,
    Circuit,
    CircuitChanged,
    Dial,
    T31Modem,
)
from openfax.errors import ModemError

BLOCK = 160
DLE_ETX = b"\x10\x03"


@pytest.fixture
def modem() -> Iterator[T31Modem]:
    with T31Modem(name="test") as modem:
        yield modem


def command(modem: T31Modem, line: bytes) -> bytes:
    """Send one command line and return everything the modem answered (echo included)."""
    assert modem.at_rx(line + b"\r") == len(line) + 1
    return modem.data_to_send()


def run_line(modem: T31Modem, blocks: int) -> None:
    """Let ``blocks`` x 20 ms of silent line pass, taking the modem's audio."""
    for _ in range(blocks):
        modem.rx(bytes(2 * BLOCK))
        modem.tx(BLOCK)


def off_hook_in_data_mode(modem: T31Modem) -> None:
    """Dial in command mode (ATD...;), let the far end answer, and start V.29 at 9600 bit/s."""
    command(modem, b"AT+FCLASS=1")
    command(modem, b"ATD123;")
    modem.call_event(CallEvent.CONNECTED)
    assert modem.data_to_send() == b"\r\nOK\r\n"
    assert command(modem, b"AT+FTM=96").endswith(b"CONNECT\r\n")
    modem.pop_events()


def test_ati_identifies_spandsp(modem: T31Modem) -> None:
    assert command(modem, b"ATI") == b"ATI\r\r\nspandsp\r\n\r\nOK\r\n"


def test_fclass_query_offers_class_1(modem: T31Modem) -> None:
    answer = command(modem, b"AT+FCLASS=?").split(b"\r\n")
    assert b"0,1,1.0" in answer
    assert answer[-2] == b"OK"


def test_fclass_1_is_accepted(modem: T31Modem) -> None:
    assert command(modem, b"AT+FCLASS=1").endswith(b"\r\nOK\r\n")


def test_ftm_query_lists_the_fax_modems(modem: T31Modem) -> None:
    command(modem, b"AT+FCLASS=1")
    rates = command(modem, b"AT+FTM=?").split(b"\r\n")[1].split(b",")
    assert {b"24", b"48", b"72", b"96", b"145", b"146"} <= set(rates)


def test_a_command_split_in_odd_fragments_is_understood(modem: T31Modem) -> None:
    for fragment in (b"A", b"T+FC", b"LASS", b"=1\r"):
        modem.at_rx(fragment)
    assert modem.data_to_send().endswith(b"\r\nOK\r\n")


def test_atd_asks_to_dial_the_number_and_waits_for_the_line(modem: T31Modem) -> None:
    command(modem, b"AT+FCLASS=1")
    assert command(modem, b"ATDT5551234") == b"ATDT5551234\r"
    assert modem.pop_events() == [Dial("5551234")]
    run_line(modem, 10)
    assert modem.data_to_send() == b""


def test_alerting_presents_ring_and_ata_asks_to_answer(modem: T31Modem) -> None:
    command(modem, b"AT+FCLASS=1")
    modem.call_event(CallEvent.ALERTING)
    assert modem.data_to_send() == b"\r\nRING\r\n"
    assert modem.pop_events() == [CircuitChanged(Circuit.RNG, True)]
    command(modem, b"ATA")
    assert modem.pop_events() == [Answer()]


def test_answered_call_starts_with_ced_then_connect_for_v21(modem: T31Modem) -> None:
    command(modem, b"AT+FCLASS=1")
    modem.call_event(CallEvent.ALERTING)
    command(modem, b"ATA")
    modem.call_event(CallEvent.ANSWERED)
    first_second = b"".join(modem.tx(BLOCK) for _ in range(50))
    assert first_second != bytes(len(first_second)), "CED should be on the line"
    run_line(modem, 200)
    assert modem.data_to_send() == b"\r\nCONNECT\r\n"


def test_busy_line_is_reported_to_the_dte(modem: T31Modem) -> None:
    command(modem, b"AT+FCLASS=1")
    command(modem, b"ATD5551234")
    modem.call_event(CallEvent.BUSY)
    assert modem.data_to_send() == b"\r\nBUSY\r\n"


def test_data_beyond_the_modem_buffer_is_held_back_by_cts(modem: T31Modem) -> None:
    off_hook_in_data_mode(modem)
    data = bytes(range(32, 128)) * 100
    taken = modem.at_rx(data)
    assert AT_RX_PIECE <= taken < len(data)
    assert not modem.clear_to_send
    assert modem.pop_events() == [CircuitChanged(Circuit.CTS, False)]
    assert modem.at_rx(data[taken:]) == 0, "nothing is taken while CTS is off"
    blocks = 0
    while not modem.clear_to_send:
        modem.tx(BLOCK)
        blocks += 1
        assert blocks < 500, "sending on the line must drain the buffer"
    assert modem.pop_events() == [CircuitChanged(Circuit.CTS, True)]
    assert modem.at_rx(data[taken:]) > 0


def test_a_command_right_after_the_end_of_data_is_not_lost(modem: T31Modem) -> None:
    """spandsp drops whatever follows DLE ETX in the same buffer; the modem splits there."""
    off_hook_in_data_mode(modem)
    modem.at_rx(b"\xaa" * 300 + DLE_ETX + b"AT\r")
    assert modem.data_to_send() == b"AT\r\r\nOK\r\n"
    blocks = 0
    while not modem.data_to_send():
        run_line(modem, 1)
        blocks += 1
        assert blocks < 200, "the modem must say OK once the data has been sent"


def test_an_escaped_dle_does_not_end_the_data(modem: T31Modem) -> None:
    off_hook_in_data_mode(modem)
    modem.at_rx(b"\x10\x10\x03" * 10)
    assert modem.at_rx(b"AT\r") == 3
    assert modem.data_to_send() == b"", "still in data mode: AT is image data"


def test_tx_gives_full_blocks_of_audio_even_when_idle(modem: T31Modem) -> None:
    assert modem.tx(BLOCK) == bytes(2 * BLOCK)
    modem.rx(bytes(2 * BLOCK))
    assert modem.samples == BLOCK
    assert modem.line_seconds == pytest.approx(0.02)


def test_a_closed_modem_refuses_commands_and_stays_silent() -> None:
    modem = T31Modem()
    modem.close()
    modem.close()
    assert modem.closed
    assert modem.tx(BLOCK) == bytes(2 * BLOCK)
    with pytest.raises(ModemError, match="closed"):
        modem.at_rx(b"AT\r")
    with pytest.raises(ModemError, match="closed"):
        modem.call_event(CallEvent.HANGUP)
