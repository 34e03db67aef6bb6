"""The FaxServer object model for Python programs, over the wire protocol of openfaxd.

Names mirror FAXCOMEX in snake_case (``FaxServer().connect("")``,
``server.folders.outgoing_queue.get_jobs()``, ``FaxDocument().connected_submit(server)``);
errors are the classes of ``openfax.errors`` the service raised. It imports neither the
service nor the web server, and its names are imported when first used (the quick path of
``openfax send`` imports only the connection), so programs using it start quickly.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False
"""Not ``typing.TYPE_CHECKING``: the quick path of ``openfax send`` imports no ``typing``."""
if TYPE_CHECKING:
    from typing import Any

    from openfax.client._connection import (
        CertificateError,
        NotConnectedError,
        PlainConnectionError,
        ServerUnavailableError,
    )
    from openfax.client._records import Collection
    from openfax.client.accounts import FaxAccount, FaxAccountSet, FaxSecurity, FaxSecurity2
    from openfax.client.administration import (
        FaxAuditEntry,
        FaxConfiguration,
        FaxCoverPage,
        FaxDeviceProvider,
    )
    from openfax.client.devices import FaxDevice
    from openfax.client.document import FaxDocument, FaxRecipient, FaxRecipients, FaxSender
    from openfax.client.events import ServerEvent
    from openfax.client.folders import FaxFolders, FaxIncomingQueue, FaxOutgoingQueue
    from openfax.client.jobs import FaxIncomingJob, FaxOutgoingJob
    from openfax.client.messages import (
        FaxIncomingArchive,
        FaxIncomingMessage,
        FaxMessageIterator,
        FaxOutgoingArchive,
        FaxOutgoingMessage,
    )
    from openfax.client.options import (
        FaxActivityLogging,
        FaxEventLogging,
        FaxLoggingOptions,
        FaxReceipt,
        FaxReceiptOptions,
    )
    from openfax.client.outbound_routing import (
        FaxDeviceIds,
        FaxOutboundRouting,
        FaxOutboundRoutingGroup,
        FaxOutboundRoutingGroups,
        FaxOutboundRoutingRule,
        FaxOutboundRoutingRules,
    )
    from openfax.client.routing import (
        FaxInboundRouting,
        FaxInboundRoutingExtension,
        FaxInboundRoutingMethod,
        FaxRoutingDelivery,
    )
    from openfax.client.server import FaxActivity, FaxServer
    from openfax.model import ServerEvents

_HOMES = {
    "openfax.client._connection": (
        "AddressBook",
        "AddressBooks",
        "CertificateError",
        "NotConnectedError",
        "PlainConnectionError",
        "ServerUnavailableError",
    ),
    "openfax.client._records": ("Collection",),
    "openfax.client.address_book": ("AddressBook", "AddressBooks"),
    "openfax.client.accounts": ("FaxAccount", "FaxAccountSet", "FaxSecurity", "FaxSecurity2"),
    "openfax.client.administration": (
        "FaxAuditEntry",
        "FaxConfiguration",
        "FaxCoverPage",
        "FaxDeviceProvider",
    ),
    "openfax.client.devices": ("FaxDevice",),
    "openfax.client.document": ("FaxDocument", "FaxRecipient", "FaxRecipients", "FaxSender"),
    "openfax.client.events": ("ServerEvent",),
    "openfax.client.jobs": ("FaxIncomingJob", "FaxOutgoingJob"),
    "openfax.client.messages": (
        "FaxIncomingArchive",
        "FaxIncomingMessage",
        "FaxMessageIterator",
        "FaxOutgoingArchive",
        "FaxOutgoingMessage",
    ),
    "openfax.client.outbound_routing": (
        "FaxDeviceIds",
        "FaxOutboundRouting",
        "FaxOutboundRoutingGroup",
        "FaxOutboundRoutingGroups",
        "FaxOutboundRoutingRule",
        "FaxOutboundRoutingRules",
    ),
    "openfax.client.options": (
        "FaxActivityLogging",
        "FaxEventLogging",
        "FaxLoggingOptions",
        "FaxReceipt",
        "FaxReceiptOptions",
    ),
    "openfax.client.routing": (
        "FaxInboundRouting",
        "FaxInboundRoutingExtension",
        "FaxInboundRoutingMethod",
        "FaxRoutingDelivery",
    ),
    "openfax.client.folders": ("FaxFolders", "FaxIncomingQueue", "FaxOutgoingQueue"),
    "openfax.client.server": ("FaxActivity", "FaxServer"),
    "openfax.model": ("ServerEvents",),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'openfax.client' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CertificateError",
    "Collection",
    "FaxAccount",
    "FaxAccountSet",
    "FaxActivity",
    "FaxActivityLogging",
    "FaxAuditEntry",
    "FaxConfiguration",
    "FaxCoverPage",
    "FaxDevice",
    "FaxDeviceIds",
    "FaxDeviceProvider",
    "FaxDocument",
    "FaxEventLogging",
    "FaxFolders",
    "FaxInboundRouting",
    "FaxInboundRoutingExtension",
    "FaxInboundRoutingMethod",
    "FaxIncomingArchive",
    "FaxIncomingJob",
    "FaxIncomingMessage",
    "FaxIncomingQueue",
    "FaxLoggingOptions",
    "FaxMessageIterator",
    "FaxOutboundRouting",
    "FaxOutboundRoutingGroup",
    "FaxOutboundRoutingGroups",
    "FaxOutboundRoutingRule",
    "FaxOutboundRoutingRules",
    "FaxOutgoingArchive",
    "FaxOutgoingJob",
    "FaxOutgoingMessage",
    "FaxOutgoingQueue",
    "FaxReceipt",
    "FaxReceiptOptions",
    "FaxRecipient",
    "FaxRecipients",
    "FaxRoutingDelivery",
    "FaxSecurity",
    "FaxSecurity2",
    "FaxSender",
    "FaxServer",
    "NotConnectedError",
    "PlainConnectionError",
    "ServerEvent",
    "ServerEvents",
    "ServerUnavailableError",
]
