"""Whether a node of the cluster runs, and whether another node's line is idle: read from
the heartbeats (``nodes``) and what each line last reported (``devices.status``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from openfax.model.records import NodeState
from openfax.store import Device, Node

_BUSY = ("sending", "receiving", "ringing", "powered_off")
"""What a line reports that keeps it from taking a call."""


def node_state(node: Node | None, now: datetime, lease: timedelta) -> NodeState:
    """``running`` while the node's heartbeat (every third of a lease) is less than a lease
    old, ``stopped`` once it stopped cleanly (or never ran), else ``lapsed``."""
    if node is None or node.heartbeat_at is None:
        return "stopped"
    return "running" if now - node.heartbeat_at <= lease else "lapsed"


def reported_idle(device: Device) -> bool:
    """Whether the line last reported itself idle (nothing since its node started: idle)."""
    status = device.status or {}
    return not any(status.get(flag) for flag in _BUSY)
