"""Virtual Class 1 fax modems on pseudo-terminals, for fax programs that drive modems.

:class:`PtyLine` is the serial port a program such as efax or HylaFAX opens;
:class:`ModemPort` serves a :class:`~openfax.engine.t31.T31Modem` on it. :class:`ModemBridge`
connects one modem's call to an OpenFax :class:`~openfax.engine.AudioSession`;
:class:`ModemPair` connects two modems' lines back to back. Both are paced at real time or
a multiple. :class:`FaultyModem` stands in front of a modem's port and misbehaves on
command, as real modems do.
"""

from openfax.virtual_modem.bridge import CallReport, ModemBridge
from openfax.virtual_modem.faults import FaultFilter, FaultyModem
from openfax.virtual_modem.pair import ModemPair, PairCall
from openfax.virtual_modem.port import ModemPort
from openfax.virtual_modem.pty_line import PtyLine

__all__ = [
    "CallReport",
    "FaultFilter",
    "FaultyModem",
    "ModemBridge",
    "ModemPair",
    "ModemPort",
    "PairCall",
    "PtyLine",
]
