"""The fax service: the queues, the scheduler, receiving and routing, archives and events.

:class:`FaxService` starts and stops a node; the API calls its parts (``outgoing_queue``,
``archives``, ``devices``, ``options``, ...), each a module here.
"""

from openfax.model.records import Recipient, Sender
from openfax.routing import STORE_IN_FOLDER, FolderSettings
from openfax.service.clock import Clock, ManualClock, SystemClock
from openfax.service.config import ServiceConfig, load_config
from openfax.service.events import EventType, ServerEvent
from openfax.service.service import FaxService
from openfax.service.submission import SubmitRequest

__all__ = [
    "STORE_IN_FOLDER",
    "Clock",
    "EventType",
    "FaxService",
    "FolderSettings",
    "ManualClock",
    "Recipient",
    "Sender",
    "ServerEvent",
    "ServiceConfig",
    "SubmitRequest",
    "SystemClock",
    "load_config",
]
