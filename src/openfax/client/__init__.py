"""The FaxServer object model for Python programs, over the wire protocol of openfaxd.

Names mirror FAXCOMEX in snake_case (``FaxServer().connect("")``,
``server.folders.outgoing_queue.get_jobs()``, ``FaxDocument().connected_submit(server)``);
errors are the classes of ``openfax.errors`` the service raised. It imports neither the
service nor the web server, so programs using it start quickly.
"""

from openfax.client._connection import NotConnectedError, ServerUnavailableError
from openfax.client._records import Collection
from openfax.client.devices import FaxDevice
from openfax.client.document import FaxDocument, FaxRecipient, FaxRecipients, FaxSender
from openfax.client.events import ServerEvent
from openfax.client.jobs import FaxIncomingJob, FaxOutgoingJob, FaxPerson
from openfax.client.messages import (
    FaxIncomingArchive,
    FaxIncomingMessage,
    FaxMessageIterator,
    FaxOutgoingArchive,
    FaxOutgoingMessage,
)
from openfax.client.server import (
    FaxActivity,
    FaxFolders,
    FaxIncomingQueue,
    FaxOutgoingQueue,
    FaxServer,
)
from openfax.model import ServerEvents

__all__ = [
    "Collection",
    "FaxActivity",
    "FaxDevice",
    "FaxDocument",
    "FaxFolders",
    "FaxIncomingArchive",
    "FaxIncomingJob",
    "FaxIncomingMessage",
    "FaxIncomingQueue",
    "FaxMessageIterator",
    "FaxOutgoingArchive",
    "FaxOutgoingJob",
    "FaxOutgoingMessage",
    "FaxOutgoingQueue",
    "FaxPerson",
    "FaxRecipient",
    "FaxRecipients",
    "FaxSender",
    "FaxServer",
    "NotConnectedError",
    "ServerEvent",
    "ServerEvents",
    "ServerUnavailableError",
]
