"""What a fax session is asked to do: its role and the capabilities it offers in T.30."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Role(enum.Enum):
    """Which end of the call a session is: the caller sends CNG, the answerer sends CED."""

    CALL = 1
    ANSWER = 0


class Modem(enum.IntFlag):
    """Image-data modems, with spandsp's T30_SUPPORT_* bit values."""

    V27TER = 0x01
    V29 = 0x02
    V17 = 0x04


class Compression(enum.IntFlag):
    """T.4/T.6 image codings, with spandsp's T30_SUPPORT_* bit values."""

    MH = 0x02
    MR = 0x04
    MMR = 0x08


class Resolution(enum.IntFlag):
    """Vertical resolutions at 204 dpi across, with spandsp's T30_SUPPORT_* bit values."""

    STANDARD = 0x01
    FINE = 0x02
    SUPERFINE = 0x04


ALL_MODEMS = Modem.V27TER | Modem.V29 | Modem.V17

MODULATIONS: dict[int, tuple[Modem, int]] = {
    24: (Modem.V27TER, 2400),
    48: (Modem.V27TER, 4800),
    72: (Modem.V29, 7200),
    96: (Modem.V29, 9600),
    73: (Modem.V17, 7200),
    74: (Modem.V17, 7200),
    97: (Modem.V17, 9600),
    98: (Modem.V17, 9600),
    121: (Modem.V17, 12000),
    122: (Modem.V17, 12000),
    145: (Modem.V17, 14400),
    146: (Modem.V17, 14400),
}
"""The T.31 modulation codes of image data (``AT+FTM=n``, ``AT+FRM=n``, what ``=?`` lists):
the modem and bit rate of each; V.17's even codes are its short training."""


def modems_of(codes: Iterable[int]) -> Modem:
    """The image modems that a modem's ``+FTM=?`` or ``+FRM=?`` codes include (codes of
    no image modulation, such as V.34's, count for nothing)."""
    found = Modem(0)
    for code in codes:
        if code in MODULATIONS:
            found |= MODULATIONS[code][0]
    return found


ALL_COMPRESSIONS = Compression.MH | Compression.MR | Compression.MMR
ALL_RESOLUTIONS = Resolution.STANDARD | Resolution.FINE | Resolution.SUPERFINE

MAX_IDENT_LENGTH = 20
"""T.30 limits TSI/CSI to 20 characters of digits, '+' and space."""


@dataclass(frozen=True)
class SessionOptions:
    """The T.30 capabilities and identity one end offers.

    ``ident`` is the TSID when sending and the CSID when receiving. ``header_text`` is the
    text spandsp puts in the header line it draws on sent pages; leave it empty when the
    document already carries one. ECM requires MR or MMR pages to be re-encoded by spandsp,
    which it does itself, so every combination below is valid.
    """

    ident: str = ""
    header_text: str = ""
    ecm: bool = True
    modems: Modem = ALL_MODEMS
    compressions: Compression = ALL_COMPRESSIONS
    resolutions: Resolution = ALL_RESOLUTIONS

    def __post_init__(self) -> None:
        if len(self.ident) > MAX_IDENT_LENGTH:
            raise ValueError(
                f"ident {self.ident!r} is {len(self.ident)} characters; T.30 allows at most "
                f"{MAX_IDENT_LENGTH}"
            )
        if not self.ident.isascii():
            raise ValueError(f"ident {self.ident!r} must be ASCII")
        if not self.modems:
            raise ValueError("at least one modem must be allowed")
        if not self.compressions:
            raise ValueError("at least one compression must be allowed")
        if not self.resolutions:
            raise ValueError("at least one resolution must be allowed")
