"""The fax service: the queues, the scheduler, receiving and routing, archives and events.

:class:`FaxService` is the facade the API exposes; everything else here serves it.
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
