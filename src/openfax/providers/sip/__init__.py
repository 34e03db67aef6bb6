"""The ``sip`` device provider: fax over SIP trunks with T.38 and G.711.

:class:`SipProvider` (in :mod:`.provider`) takes :class:`TrunkConfig` trunks (in
:mod:`.config`, read from ``[[sip.trunks]]`` by the service) and keeps what last worked per
destination in a :class:`DestinationMemory` (:mod:`.memory`).
"""

from openfax.providers.base import T38Policy
from openfax.providers.sip.config import SipConfig, TrunkConfig, parse_port_range
from openfax.providers.sip.memory import (
    DestinationMemory,
    InMemoryDestinations,
    Preference,
    destination_key,
)
from openfax.providers.sip.provider import SipChannel, SipProvider

__all__ = [
    "DestinationMemory",
    "InMemoryDestinations",
    "Preference",
    "SipChannel",
    "SipConfig",
    "SipProvider",
    "T38Policy",
    "TrunkConfig",
    "destination_key",
    "parse_port_range",
]
