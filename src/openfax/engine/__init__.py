"""The fax engine: T.30 sessions over audio and T.38, driven by spandsp, without I/O.

Feed a session what the line carried and take from it what to send; read what happened from
its events. See :class:`AudioSession` and :class:`T38Session`; :class:`T31Modem` is a Class 1
fax modem for programs that drive modems (efax, HylaFAX), with :mod:`openfax.virtual_modem`
putting it on a pseudo-terminal; :class:`Class1Session` is the other side, a fax end that
drives a Class 1 modem.
"""

from openfax.engine.class1 import Class1Session, Class1Settings
from openfax.engine.completion import CompletionCode, T30Failure
from openfax.engine.events import (
    Completed,
    Direction,
    Event,
    FrameExchanged,
    Negotiated,
    PageProgress,
    PageReceived,
    PageSent,
    TransferStatistics,
)
from openfax.engine.loopback import LinkResult, run_pair
from openfax.engine.params import (
    ALL_COMPRESSIONS,
    ALL_MODEMS,
    ALL_RESOLUTIONS,
    Compression,
    Modem,
    Resolution,
    Role,
    SessionOptions,
)
from openfax.engine.session import (
    PAGE_PROGRESS_SECONDS,
    SAMPLE_RATE,
    AudioSession,
    FaxSession,
    IfpPacket,
    T38Session,
)
from openfax.engine.t31 import CallEvent, T31Modem

__all__ = [
    "ALL_COMPRESSIONS",
    "ALL_MODEMS",
    "ALL_RESOLUTIONS",
    "PAGE_PROGRESS_SECONDS",
    "SAMPLE_RATE",
    "AudioSession",
    "CallEvent",
    "Class1Session",
    "Class1Settings",
    "Completed",
    "CompletionCode",
    "Compression",
    "Direction",
    "Event",
    "FaxSession",
    "FrameExchanged",
    "IfpPacket",
    "LinkResult",
    "Modem",
    "Negotiated",
    "PageProgress",
    "PageReceived",
    "PageSent",
    "Resolution",
    "Role",
    "SessionOptions",
    "T30Failure",
    "T31Modem",
    "T38Session",
    "TransferStatistics",
    "run_pair",
]
