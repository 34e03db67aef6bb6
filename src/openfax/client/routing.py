"""FAXCOMEX ``FaxInboundRouting``: the routing extensions and methods of received faxes, each
method's configuration per line, and the deliveries of received faxes (retried, failed,
resent)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from openfax.client._records import (
    Collection,
    Field,
    Record,
    Retried,
    Versioned,
    parse_time,
    segment,
)

if TYPE_CHECKING:
    from openfax.client._connection import Connection


def send_json(connection: Connection, method: str, path: str, value: Any = None) -> Any:
    """A request with a JSON body (or none); the JSON answer, None when it has no body."""
    body = None if value is None else json.dumps(value).encode()
    headers = {"Content-Type": "application/json"} if body is not None else None
    answer = connection.request(method, path, body=body, headers=headers)
    return json.loads(answer) if answer else None


def path_guid(guid: str) -> str:
    """A GUID as it goes in a path: without its braces."""
    return segment(guid.strip().strip("{}"))


class FaxInboundRoutingExtension(Versioned):
    """FAXCOMEX ``FaxInboundRoutingExtension``: as loaded at the server's last start
    (``image_name``: its entry point in the group ``openfax.routing_methods``)."""

    methods = Field[list[str]]()
    """The GUIDs of its methods."""


class FaxInboundRoutingMethod(Record):
    """FAXCOMEX ``FaxInboundRoutingMethod``: set ``priority`` then ``save()``; its
    configuration for a line (0: every line without its own) is read and set at once."""

    guid = Field[str]()
    name = Field[str]()
    friendly_name = Field[str]()
    function_name = Field[str]()
    extension_friendly_name = Field[str]()
    extension_image_name = Field[str]()
    extension_unique_name = Field[str]()

    def __init__(self, connection: Connection, data: dict[str, Any]) -> None:
        super().__init__(data)
        self._connection = connection

    @property
    def _path(self) -> str:
        return f"/inbound-routing/methods/{path_guid(self.guid)}"

    @property
    def priority(self) -> int:
        """1 runs first; ``save()`` moves the method there and the others close up."""
        value: int = self._data["priority"]
        return value

    @priority.setter
    def priority(self, value: int) -> None:
        self._data["priority"] = value

    def refresh(self) -> None:
        """FAXCOMEX ``Refresh()``."""
        self._data = self._connection.get(self._path)

    def save(self) -> None:
        """FAXCOMEX ``Save()``: send the priority."""
        self._data = self._connection.patch(self._path, {"priority": self.priority})

    def get_configuration(self, device_id: int = 0) -> dict[str, Any] | None:
        """The configuration for a line (secrets read as ``********``); None if none is set."""
        value: dict[str, Any] | None = self._connection.get(
            f"{self._path}/configurations/{device_id}"
        )["configuration"]
        return value

    def set_configuration(
        self, configuration: dict[str, Any], device_id: int = 0
    ) -> dict[str, Any]:
        """Check and store the configuration for a line; ConfigError names a wrong key. A
        secret given as ``********`` keeps its stored value."""
        path = f"{self._path}/configurations/{device_id}"
        value: dict[str, Any] = send_json(self._connection, "PUT", path, configuration)[
            "configuration"
        ]
        return value

    def delete_configuration(self, device_id: int = 0) -> None:
        """Forget the configuration for a line (it then uses the one of device 0)."""
        send_json(self._connection, "DELETE", f"{self._path}/configurations/{device_id}")

    def __repr__(self) -> str:
        return f"<FaxInboundRoutingMethod {self.guid} {self.name!r} priority {self.priority}>"


class FaxRoutingDelivery(Retried):
    """One routing method's work on one received fax: ``status`` is ``pending`` (to run,
    or waiting for its next attempt), ``done`` or ``failed`` (for good; ``resend()``)."""

    _path = "/inbound-routing/deliveries"

    message_id = Field[str]()
    device_id = Field[int]()
    method = Field[str]()
    method_name = Field[str]()
    priority = Field[int]()
    delivered_at = Field(parse_time)


class FaxInboundRouting:
    """FAXCOMEX ``FaxInboundRouting``."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get_extensions(self) -> Collection[FaxInboundRoutingExtension]:
        """FAXCOMEX ``GetExtensions()``: by 1-based position or unique name."""
        found = self._connection.get("/inbound-routing/extensions")
        extensions = [FaxInboundRoutingExtension(data) for data in found]
        return Collection(extensions, key=lambda extension: extension.unique_name)

    def get_methods(self) -> Collection[FaxInboundRoutingMethod]:
        """FAXCOMEX ``GetMethods()``: by priority; by 1-based position or GUID."""
        found = self._connection.get("/inbound-routing/methods")
        methods = [FaxInboundRoutingMethod(self._connection, data) for data in found]
        return Collection(methods, key=lambda method: method.guid)

    def get_method(self, guid: str) -> FaxInboundRoutingMethod:
        """One method by GUID (braces optional); NotSupportedError if none has it."""
        data = self._connection.get(f"/inbound-routing/methods/{path_guid(guid)}")
        return FaxInboundRoutingMethod(self._connection, data)

    def get_deliveries(
        self, *, status: str | None = None, message_id: str | None = None, limit: int = 100
    ) -> Collection[FaxRoutingDelivery]:
        """A received fax's deliveries (``message_id``) in the order its methods run, or the
        deliveries in a ``status`` (``"failed"``: those to inspect and resend), latest first."""
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            params["status"] = status
        if message_id is not None:
            params["message_id"] = message_id
        found = self._connection.get("/inbound-routing/deliveries", **params)
        deliveries = [FaxRoutingDelivery(self._connection, data) for data in found]
        return Collection(deliveries, key=lambda delivery: delivery.id)
