"""Routing (FAXCOMEX ``InboundRouting`` and ``OutboundRouting``): where received faxes go,
and which lines send a fax."""

from __future__ import annotations

from dataclasses import dataclass

from openfax.service.inbound_routing import InboundRouting
from openfax.service.outbound_routing import OutboundRouting


@dataclass(frozen=True)
class Routing:
    """The running service's ``routing``."""

    inbound: InboundRouting
    """Extensions, methods, their configurations and the deliveries of received faxes."""
    outbound: OutboundRouting
    """The groups and rules that choose a job's lines."""
