"""The fault filter alone: a scripted T.31 conversation's bytes in, at hand-moved times,
and what each fault makes of them out."""

from __future__ import annotations

import random

from openfax.virtual_modem.faults import DLE, ETX, FaultFilter, Flow

DLE_ETX = bytes([DLE, ETX])
FRAME = bytes([0xFF, 0x13, 0x80, DLE, DLE, 0x42])
"""An HDLC frame as the modem sends it, with a stuffed DLE."""


def converse(
    faults: FaultFilter, dte: bytes, modem: bytes, now: float = 0.0
) -> tuple[bytes, bytes]:
    """The DTE says ``dte``, then the modem says ``modem``: what each of them gets."""
    faults.from_dte(dte, now)
    to_modem = faults.to_modem()
    faults.from_modem(modem, now)
    return to_modem, faults.to_dte(now)


def receiving(faults: FaultFilter) -> None:
    """Bring the conversation to the modem sending data: +FRH=3 answered by CONNECT."""
    converse(faults, b"AT+FRH=3\r", b"\r\nCONNECT\r\n")
    assert faults.flow is Flow.MODEM_DATA


def test_without_faults_every_byte_passes_both_ways() -> None:
    faults = FaultFilter()
    assert converse(faults, b"AT+FCLASS=1\r", b"\r\nOK\r\n") == (b"AT+FCLASS=1\r", b"\r\nOK\r\n")
    receiving(faults)
    _, said = converse(faults, b"", FRAME + DLE_ETX + b"\r\nOK\r\n")
    assert said == FRAME + DLE_ETX + b"\r\nOK\r\n"
    assert faults.flow is Flow.COMMAND


def test_an_error_answers_the_named_command_without_passing_it_on() -> None:
    faults = FaultFilter()
    faults.error_on(b"AT+FTM=146", times=1)
    assert converse(faults, b"at+ftm=146\r", b"") == (b"", b"\r\nERROR\r\n")
    to_modem, _ = converse(faults, b"AT+FTM=146\r", b"")
    assert to_modem == b"AT+FTM=146\r", "once only"
    faults.error_on(b"AT+FTM=146")
    for _ in range(3):
        assert converse(faults, b"AT+FTM=146\r", b"") == (b"", b"\r\nERROR\r\n")
    assert converse(faults, b"at+ftm=145\r", b"")[0] == b"at+ftm=145\r", "passed as it came"
    faults.clear_errors()
    assert converse(faults, b"AT+FTM=146\r", b"")[0] == b"AT+FTM=146\r"


def test_data_from_the_dte_is_never_read_as_a_command() -> None:
    faults = FaultFilter()
    converse(faults, b"AT+FTH=3\r", b"\r\nCONNECT\r\n")
    faults.echo()
    assert faults.flow is Flow.DTE_DATA
    faults.error_on(b"AT")
    data = b"AT\r" + bytes([DLE, DLE]) + b"\r" + DLE_ETX
    assert converse(faults, data, b"") == (data, b""), "passed as it is, not echoed"
    assert faults.flow is Flow.COMMAND


def test_a_lost_dle_etx_leaves_the_dte_reading_data() -> None:
    faults = FaultFilter()
    faults.drop_dle_etx()
    receiving(faults)
    _, said = converse(faults, b"", FRAME + DLE_ETX + b"\r\nOK\r\n")
    assert said == FRAME + b"\r\nOK\r\n"
    receiving(faults)
    _, said = converse(faults, b"", FRAME + DLE_ETX + b"\r\nOK\r\n")
    assert said == FRAME + DLE_ETX + b"\r\nOK\r\n", "once only"


def test_no_carrier_mid_data_cuts_it_aborts_the_modem_and_swallows_its_end() -> None:
    faults = FaultFilter()
    faults.no_carrier_mid_data(after=2)
    receiving(faults)
    to_modem, said = converse(faults, b"", bytes([0xFF, 0x13, 0x80]))
    assert said == bytes([0xFF, 0x13]) + DLE_ETX + b"\r\nNO CARRIER\r\n"
    assert to_modem == b""
    assert faults.to_modem() == b"\r", "the modem's reception is aborted"
    assert faults.flow is Flow.COMMAND
    # The modem's own end of the data and its result code never reach the DTE.
    _, said = converse(faults, b"", bytes([DLE, DLE, 0x42]) + DLE_ETX + b"\r\nOK\r\n")
    assert said == b""
    assert converse(faults, b"AT+FRH=3\r", b"\r\nCONNECT\r\n") == (
        b"AT+FRH=3\r",
        b"\r\nCONNECT\r\n",
    )


def test_a_modem_that_stops_answering_takes_nothing_and_says_nothing() -> None:
    faults = FaultFilter()
    faults.stop_answering()
    assert converse(faults, b"AT\r", b"\r\nOK\r\n") == (b"", b"")
    faults.resume()
    assert converse(faults, b"AT\r", b"\r\nOK\r\n") == (b"AT\r", b"\r\nOK\r\n")


def test_a_slow_modem_says_everything_late_in_order() -> None:
    faults = FaultFilter()
    faults.slow(0.5)
    faults.from_modem(b"\r\nOK\r\n", 10.0)
    faults.from_modem(b"\r\nCONNECT\r\n", 10.2)
    assert faults.to_dte(10.49) == b""
    assert faults.next_due() == 10.5
    assert faults.to_dte(10.5) == b"\r\nOK\r\n"
    assert faults.to_dte(10.7) == b"\r\nCONNECT\r\n"
    faults.slow(0)
    faults.from_modem(b"\r\nOK\r\n", 11.0)
    assert faults.to_dte(11.0) == b"\r\nOK\r\n"


def test_an_echoing_modem_repeats_command_lines() -> None:
    faults = FaultFilter()
    faults.echo()
    assert converse(faults, b"ATE0\r", b"\r\nOK\r\n") == (b"ATE0\r", b"ATE0\r\r\nOK\r\n")


def test_an_unsolicited_code_comes_at_its_moment_but_never_inside_data() -> None:
    faults = FaultFilter(random.Random(14))
    when = faults.unsolicited(b"RING", now=100.0, within=2.0)
    assert 100.0 <= when <= 102.0
    assert faults.next_due() == when
    receiving(faults)
    assert faults.to_dte(when - 0.001) == b""
    assert faults.to_dte(when + 1) == b"", "not inside the modem's data"
    faults.from_modem(FRAME + DLE_ETX + b"\r\nOK\r\n", when + 1)
    assert faults.to_dte(when + 1) == FRAME + DLE_ETX + b"\r\nOK\r\n\r\nRING\r\n"
    assert faults.next_due() is None


def test_a_new_program_on_the_port_starts_a_fresh_conversation() -> None:
    faults = FaultFilter()
    faults.error_on(b"ATI")
    receiving(faults)
    faults.hang_up()
    assert faults.flow is Flow.COMMAND
    assert converse(faults, b"ATI3\r", b"") == (b"", b"\r\nERROR\r\n"), "the faults stay"
