"""The fax store: schema and queries on SQLite or PostgreSQL, and the document spool.

``open_database`` opens and migrates the database; ``openfax.store.queries`` lists every
question the service asks of it; ``Spool`` keeps the documents that rows refer to.
"""

from openfax.store.database import Database, open_database
from openfax.store.records import (
    Account,
    AccountToken,
    AuditEntry,
    CallAttempt,
    Contact,
    ContactGroup,
    DeliveryStatus,
    Device,
    Direction,
    Event,
    GroupGrant,
    IncomingJob,
    Message,
    MessageText,
    Node,
    OutboundGroup,
    OutboundRule,
    OutgoingJob,
    Receipt,
    RoutingDelivery,
    Submission,
)
from openfax.store.spool import Spool

__all__ = [
    "Account",
    "AccountToken",
    "AuditEntry",
    "CallAttempt",
    "Contact",
    "ContactGroup",
    "Database",
    "DeliveryStatus",
    "Device",
    "Direction",
    "Event",
    "GroupGrant",
    "IncomingJob",
    "Message",
    "MessageText",
    "Node",
    "OutboundGroup",
    "OutboundRule",
    "OutgoingJob",
    "Receipt",
    "RoutingDelivery",
    "Spool",
    "Submission",
    "open_database",
]
