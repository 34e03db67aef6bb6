"""Inbound routing: what happens to a received fax after it is archived.

Methods named by GUIDs (store in folder, e-mail, print, webhook, and third-party ones from
the entry point group ``openfax.routing_methods``) run in priority order for the line that
received the fax; each is given the fax and its routing information (called number, caller
id, line). The service (``openfax.service.inbound_routing``) keeps their priorities,
configurations, per-line use and deliveries in the store.
"""

from openfax.routing.fax import (
    RoutedFax,
    RouteFunction,
    RoutingInformation,
    normalize_guid,
    write_pdf,
)
from openfax.routing.folder import STORE_IN_FOLDER, FolderSettings, store_in_folder
from openfax.routing.mail import ROUTE_TO_EMAIL
from openfax.routing.printer import PRINT
from openfax.routing.registry import (
    BUILTIN_EXTENSION,
    ENTRY_POINT_GROUP,
    MethodSpec,
    Registration,
    Registry,
    RoutingExtension,
    RoutingMethod,
)
from openfax.routing.settings import CALLED_NUMBERS, WORDS
from openfax.routing.webhook import WEBHOOK

__all__ = [
    "BUILTIN_EXTENSION",
    "CALLED_NUMBERS",
    "ENTRY_POINT_GROUP",
    "PRINT",
    "ROUTE_TO_EMAIL",
    "STORE_IN_FOLDER",
    "WEBHOOK",
    "WORDS",
    "FolderSettings",
    "MethodSpec",
    "Registration",
    "Registry",
    "RouteFunction",
    "RoutedFax",
    "RoutingExtension",
    "RoutingInformation",
    "RoutingMethod",
    "normalize_guid",
    "store_in_folder",
    "write_pdf",
]
