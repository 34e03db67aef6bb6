"""Device providers: the lines the fax service dials out on and receives calls from.

:mod:`openfax.providers.base` says what every provider offers the service;
:class:`LoopbackProvider` is the first provider: virtual lines inside the server, with real
T.30 between them over audio or T.38. What the built-in providers share (listener plumbing,
line bookkeeping, numbers) is in :mod:`openfax.providers.common`.
"""

from openfax.model.enums import ProviderStatus, ReceiveMode
from openfax.providers.base import (
    Answered,
    CallCause,
    CallDirection,
    CallEnded,
    CallOutcome,
    CallProgress,
    DeviceListener,
    DeviceProvider,
    DeviceState,
    Dialing,
    IncomingCall,
    Line,
    LineRegistration,
    ProgressSink,
    ReceiveSetup,
    Ringing,
    SendRequest,
    T38Policy,
    TranscriptEntry,
    carried_by,
)
from openfax.providers.loopback import LineFaults, LoopbackLine, LoopbackProvider, Transport
from openfax.telephony.sip.registration import RegistrationState

__all__ = [
    "Answered",
    "CallCause",
    "CallDirection",
    "CallEnded",
    "CallOutcome",
    "CallProgress",
    "DeviceListener",
    "DeviceProvider",
    "DeviceState",
    "Dialing",
    "IncomingCall",
    "Line",
    "LineFaults",
    "LineRegistration",
    "LoopbackLine",
    "LoopbackProvider",
    "ProgressSink",
    "ProviderStatus",
    "ReceiveMode",
    "ReceiveSetup",
    "RegistrationState",
    "Ringing",
    "SendRequest",
    "T38Policy",
    "TranscriptEntry",
    "Transport",
    "carried_by",
]
