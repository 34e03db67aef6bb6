"""T.30 HDLC control frames: their names, and what a DCS says was negotiated.

Frames reach us as spandsp sees them: address 0xFF, control 0x03 or 0x13, then the FCF with
spandsp's bit order (the X bit, set by the station that received DIS, is bit 0), then the FIF.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from openfax.engine.params import Compression, Modem, Resolution

_T = TypeVar("_T")

FCF_NAMES: dict[int, str] = {
    0x80: "DIS", 0x40: "CSI", 0x20: "NSF", 0x81: "DTC", 0x41: "CIG", 0x21: "NSC",
    0xC1: "PWD", 0xA1: "SEP", 0x61: "PSA", 0xE1: "CIA", 0x11: "ISP",
    0x82: "DCS", 0x42: "TSI", 0x22: "NSS", 0xC2: "SUB", 0xA2: "SID", 0x12: "CTC",
    0x62: "TSA", 0xE2: "IRA", 0x84: "CFR", 0x44: "FTT", 0xC4: "CTR", 0x24: "CSA",
    0x8E: "EOM", 0x4E: "MPS", 0x2E: "EOP", 0x1E: "EOS", 0xBE: "PPS", 0xCE: "EOR",
    0x6E: "RR", 0x8C: "MCF", 0xCC: "RTP", 0x4C: "RTN", 0xAC: "PIP", 0x2C: "PIN",
    0xBC: "PPR", 0xEC: "RNR", 0x1C: "ERR", 0xFC: "FDM", 0xFA: "DCN", 0x1A: "CRP",
    0xCA: "FNV", 0xEA: "TNR", 0x6A: "TR", 0x6C: "PID",
}  # fmt: skip

DCS = 0x82
_X_BIT = 0x01
_FIF_OFFSET = 3
_DIS_CLASS_FCFS = {0x80, 0x81}
"""DIS and DTC carry the X bit as part of their code, not as the X bit."""


def fcf_of(frame: bytes) -> int:
    """The frame's FCF with the X bit cleared (DIS and DTC keep theirs)."""
    if len(frame) < _FIF_OFFSET:
        return -1
    fcf = frame[2]
    return fcf if fcf in _DIS_CLASS_FCFS else fcf & ~_X_BIT


def frame_name(frame: bytes) -> str:
    """A short name for a T.30 frame ("DCS", "MCF"...), or its FCF in hex when unknown."""
    fcf = fcf_of(frame)
    if fcf < 0:
        return "short frame"
    return FCF_NAMES.get(fcf, f"FCF 0x{frame[2]:02X}")


def _bit(fif: bytes, number: int) -> bool:
    """T.30 bit ``number`` (1-based, as the standard's tables count) of a FIF."""
    index, offset = divmod(number - 1, 8)
    return index < len(fif) and bool(fif[index] >> offset & 1)


@dataclass(frozen=True)
class DcsSettings:
    """What a DCS frame commits both ends to for the next pages."""

    modem: Modem
    bit_rate: int
    ecm: bool
    compression: Compression
    resolution: Resolution


_V17_RATES = {(False, False): 14400, (False, True): 12000, (True, False): 9600, (True, True): 7200}
_V29_RATES = {False: 9600, True: 7200}
_V27TER_RATES = {False: 2400, True: 4800}
_CODING_BITS = ((31, Compression.MMR), (16, Compression.MR))
"""DCS coding bits, the strongest first (neither set: MH)."""
_RESOLUTION_BITS = ((41, Resolution.SUPERFINE), (15, Resolution.FINE))
"""DCS resolution bits, the finest first (neither set: standard)."""


def decode_dcs(frame: bytes) -> DcsSettings | None:
    """Decode a DCS frame (bits 11-14 data rate, 15 and 41 resolution, 16 and 31 coding, 27 ECM).

    Returns None for another frame or a FIF too short to hold those bits.
    """
    if fcf_of(frame) != DCS or len(frame) < _FIF_OFFSET + 2:
        return None
    fif = frame[_FIF_OFFSET:]
    b11, b12, b14 = _bit(fif, 11), _bit(fif, 12), _bit(fif, 14)
    if b14:
        modem, bit_rate = Modem.V17, _V17_RATES[(b11, b12)]
    elif b11:
        modem, bit_rate = Modem.V29, _V29_RATES[b12]
    else:
        modem, bit_rate = Modem.V27TER, _V27TER_RATES[b12]
    compression = _first_set(fif, _CODING_BITS, Compression.MH)
    resolution = _first_set(fif, _RESOLUTION_BITS, Resolution.STANDARD)
    return DcsSettings(modem, bit_rate, _bit(fif, 27), compression, resolution)


def _first_set(fif: bytes, choices: tuple[tuple[int, _T], ...], default: _T) -> _T:
    """The value of the first of ``choices`` (bit number, value) whose bit is set, else
    ``default``: the higher options of a DCS field outrank the lower ones."""
    return next((value for number, value in choices if _bit(fif, number)), default)
