"""FAXCOMEX ``FaxDevice``: a line's settings (change them, then ``save()``) and state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openfax.client._records import Field, Record, Setting
from openfax.client.administration import get_extension_property, set_extension_property
from openfax.client.routing import send_json
from openfax.model import ReceiveMode

if TYPE_CHECKING:
    from openfax.client._connection import Connection


class FaxDevice(Record):
    """FAXCOMEX ``FaxDevice``. The state booleans are a snapshot; ``refresh()`` renews them."""

    id = Field[int]()
    device_name = Field[str]()
    provider_unique_name = Field[str]()
    number = Field[str]()
    """The line's own number (the loopback provider's lines call each other by it)."""
    used_routing_methods = Field[list[str]]()
    powered_off = Field[bool]()
    """No line in service, or its registration failed (it cannot be called)."""
    sending_now = Field[bool]()
    receiving_now = Field[bool]()
    ringing_now = Field[bool]()
    registration = Field[str]()
    """The registration the line depends on (a SIP trunk's): registering, registered or
    failed; "" for a line that needs none."""
    registration_error = Field[str]()
    """Why the last registration attempt failed ("" once registered)."""
    hardware = Field[str]()
    """What the line's hardware says of itself (a modem's probe); "" for virtual lines."""
    node_id = Field[str]()
    """The node of the cluster whose line it is."""
    node_state = Field[str]()
    """Whether that node is ``running``, ``stopped`` or ``lapsed`` (its heartbeat overdue);
    the lines of a node not running are powered off."""

    description = Setting()
    csid = Setting()
    tsid = Setting()
    rings_before_answer = Setting()
    send_enabled = Setting()
    receive_mode = Setting(ReceiveMode)

    def __init__(self, connection: Connection, data: dict[str, Any]) -> None:
        super().__init__(data)
        self._connection = connection
        self._changes: dict[str, Any] = {}

    def refresh(self) -> None:
        """FAXCOMEX ``Refresh()``: read again, dropping changes not saved."""
        self._data = self._connection.get(f"/devices/{self.id}")
        self._changes = {}

    def save(self) -> None:
        """FAXCOMEX ``Save()``: send the properties changed since the last read."""
        self._data = self._connection.patch(f"/devices/{self.id}", self._changes)
        self._changes = {}

    def use_routing_method(self, method_guid: str, use: bool) -> None:
        """FAXCOMEX ``UseRoutingMethod(guid, use)``: run (or stop running) an inbound routing
        method on the faxes this line receives; ``used_routing_methods`` follows."""
        body = {"method": method_guid, "use": use}
        self._data = send_json(
            self._connection, "POST", f"/devices/{self.id}/routing-methods", body
        )

    def get_extension_property(self, guid: str) -> bytes:
        """FAXCOMEX ``GetExtensionProperty``: this device's blob named by ``guid`` (empty
        when never set)."""
        return get_extension_property(self._connection, guid, self.id)

    def set_extension_property(self, guid: str, data: bytes) -> None:
        """FAXCOMEX ``SetExtensionProperty``: keep ``data`` under ``guid`` for this device;
        the plug-in owning the GUID is told."""
        set_extension_property(self._connection, guid, data, self.id)

    def answer_call(self) -> bool:
        """FAXCOMEX ``AnswerCall()``: answer the call ringing now; False if none rings.
        Acceptance says nothing about how the reception goes."""
        accepted: bool = self._connection.post(f"/devices/{self.id}/answer")["accepted"]
        return accepted

    def __repr__(self) -> str:
        return f"<FaxDevice {self.id} {self.device_name!r}>"
