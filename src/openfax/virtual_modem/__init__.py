"""A virtual Class 1 fax modem on a pseudo-terminal, for fax programs that drive modems.

:class:`PtyLine` is the serial port a program such as efax or HylaFAX opens;
:class:`ModemBridge` serves a :class:`~openfax.engine.t31.T31Modem` on it and connects the
call to an OpenFax :class:`~openfax.engine.AudioSession`, paced at real time or a multiple.
"""

from openfax.virtual_modem.bridge import CallReport, ModemBridge
from openfax.virtual_modem.pty_line import PtyLine

__all__ = ["CallReport", "ModemBridge", "PtyLine"]
